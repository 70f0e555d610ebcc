"""Simulated base-resolution footprints written as files: genome, read tracks, peaks and a config.

:func:`write_footprints` simulates a genome with :func:`genodeep.data.footprints.iter_footprints`
one chromosome at a time and streams each chromosome into the FASTA and the bigWigs before the next
is drawn, so a 100 Mb genome needs memory for one chromosome only. It writes::

    genome.fa            chr1 ... chrN, 80 bases a line
    plus.bw, minus.bw    read 5'-end counts per base (chip-exo), or cuts.bw (atac)
    peaks.narrowPeak     merged windows around the planted sites, summit at the strongest site
    sites.bed            the planted motif sites (name = motif, score = expected reads, strand)
    bias_sites.bed       the planted bias words (only with bias=True)
    motifs.meme          the planted PWMs, the bias motif last (named "Tn5_bias")
    profile.yaml         a config whose ``data:`` section reads the files above (kind: profile)

Every file is written through a temporary file and moved into place when complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml

from genodeep import example_data
from genodeep._io_utils import atomic_write
from genodeep._progress import log
from genodeep.data.bundle import DataBundle
from genodeep.data.footprints import FOOTPRINT_TRACKS, default_bias_motif, iter_footprints
from genodeep.data.profile import load_profile_data
from genodeep.io.bed import write_bed
from genodeep.io.bigwig_writer import BigWigWriter
from genodeep.io.meme import write_meme
from genodeep.io.motifs import read_motifs, select_motifs
from genodeep.seq.encode import _CODE_TO_BYTE

__all__ = [
    "write_footprints",
    "load_simulated_profile_data",
    "DEFAULT_FOOTPRINT_MOTIFS",
    "BIAS_MOTIF_NAME",
]

#: Shipped motifs planted by default (JASPAR ID -> name used in the outputs): long, distinct words.
DEFAULT_FOOTPRINT_MOTIFS = {"MA0139.2": "CTCF", "MA0080.7": "Spi1", "MA0148.5": "FOXA1"}
#: Name of the bias motif in ``motifs.meme``.
BIAS_MOTIF_NAME = "Tn5_bias"
_LINE = 80
_FASTA_CHUNK_LINES = 1 << 16  # FASTA lines formatted at a time
_BIGWIG_CHUNK = 1 << 20  # bases handed to the bigWig writer at a time
_HELD_OUT = 0.15  # fraction of the genome in each of valid and test


def _chrom_sizes(genome_size: int, n_chroms: int) -> dict[str, int]:
    for name, value, low in (("genome_size", genome_size, 1), ("n_chroms", n_chroms, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be a positive integer, got {value!r}. Fix: e.g. 2")
    if genome_size < 1000 * n_chroms:
        raise ValueError(
            f"genome_size={genome_size} is too small for {n_chroms} chromosomes. Fix: give at least "
            f"{1000 * n_chroms} bases"
        )
    size = genome_size // n_chroms
    sizes = {f"chr{i + 1}": size for i in range(n_chroms)}
    sizes["chr1"] += genome_size - size * n_chroms
    return sizes


def _motifs(motifs: Mapping[str, np.ndarray] | str | os.PathLike | None) -> dict[str, np.ndarray]:
    if motifs is None:
        shipped = select_motifs(read_motifs(example_data.motifs()), DEFAULT_FOOTPRINT_MOTIFS)
        return {DEFAULT_FOOTPRINT_MOTIFS[k.split(" ", 1)[0]]: v for k, v in shipped.items()}
    if isinstance(motifs, (str, os.PathLike)):
        return read_motifs(motifs)
    if isinstance(motifs, Mapping):
        return dict(motifs)
    raise TypeError(
        f"motifs must be None, a motif file or a mapping name -> (4, w) PWM, got "
        f"{type(motifs).__name__}"
    )


def _write_fasta_record(fh, chrom: str, codes: np.ndarray) -> None:
    """Write one FASTA record of base codes (size,) as 80-base lines, a block of lines at a time."""
    fh.write(f">{chrom}\n".encode())
    step = _LINE * _FASTA_CHUNK_LINES
    for s in range(0, codes.shape[0], step):
        letters = _CODE_TO_BYTE[codes[s : s + step]]
        n_full = letters.shape[0] // _LINE
        block = np.empty((n_full, _LINE + 1), dtype=np.uint8)
        block[:, :_LINE] = letters[: n_full * _LINE].reshape(n_full, _LINE)
        block[:, _LINE] = ord("\n")
        fh.write(block.tobytes())
        rest = letters[n_full * _LINE :]
        if rest.size:
            fh.write(rest.tobytes() + b"\n")


def _split_config(sizes: dict[str, int]) -> dict:
    names = list(sizes)
    if len(names) >= 3:
        return {"split": "chrom", "valid": [names[-2]], "test": [names[-1]]}
    held = int(round(_HELD_OUT * sum(sizes.values())))
    if len(names) == 2:
        a, b = names
        return {"split": "region", "valid": f"{a}:{sizes[a] - held}-{sizes[a]}",
                "test": f"{b}:{sizes[b] - held}-{sizes[b]}"}  # fmt: skip
    (a,) = names
    return {"split": "region", "valid": f"{a}:{sizes[a] - 2 * held}-{sizes[a] - held}",
            "test": f"{a}:{sizes[a] - held}-{sizes[a]}"}  # fmt: skip


def _config(sizes: dict[str, int], track_names: tuple[str, ...]) -> dict:
    data = {
        "kind": "profile",
        "genome": "genome.fa",
        "tracks": {t: f"{t}.bw" for t in track_names},
        "strand_pairs": [["plus", "minus"]] if track_names == ("plus", "minus") else [],
        "peaks": "peaks.narrowPeak",
        "input_length": 1000,
        "output_length": 800,
        "background_ratio": 0.5,
    }
    data.update(_split_config(sizes))
    return {"data": data}


def write_footprints(
    out_dir: str | os.PathLike,
    *,
    genome_size: int = 1_000_000,
    n_chroms: int = 2,
    motifs: Mapping[str, np.ndarray] | str | os.PathLike | None = None,
    shapes: str = "chip-exo",
    bias: bool = False,
    sites_per_mb: float = 200.0,
    depth: float = 100.0,
    random_state: int | None = 0,
) -> dict[str, Path]:
    """Simulate a footprint genome and write it as files a profile model trains on.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder (created).
    genome_size : int, default 1_000_000
        Total bases, split evenly over the chromosomes (the remainder goes to ``chr1``).
    n_chroms : int, default 2
        Chromosomes ``chr1 ... chrN``. With 3 or more, the config holds out the last two as valid
        and test chromosomes; with 1 or 2 it holds out regions of 15 % of the genome each (the ends
        of ``chr1`` and ``chr2``, or the last 30 % of ``chr1``).
    motifs : Mapping[str, np.ndarray (4, w)], motif file, or None
        The motifs to plant; default: CTCF (MA0139.2), Spi1 (MA0080.7) and FOXA1 (MA0148.5) from
        the shipped motifs (:data:`DEFAULT_FOOTPRINT_MOTIFS`).
    shapes : {"chip-exo", "atac"}, default "chip-exo"
        Profile kind: ``plus.bw`` + ``minus.bw``, or ``cuts.bw``.
    bias : bool, default False
        Plant the Tn5-like bias 6-mer (:func:`genodeep.data.footprints.default_bias_motif`)
        genome-wide.
    sites_per_mb : float, default 200
        Planted motif sites per megabase.
    depth : float, default 100
        Mean expected reads per site.
    random_state : int or None, default 0
        Seed; the files are identical to :func:`genodeep.data.footprints.simulate_footprints` with
        the same arguments.

    Returns
    -------
    paths : dict[str, pathlib.Path]
        ``genome``, one entry per track (``plus``, ``minus`` or ``cuts``), ``peaks``, ``sites``,
        ``motifs``, ``config`` and, with ``bias``, ``bias_sites``.
    """
    sizes = _chrom_sizes(genome_size, n_chroms)
    pwms = _motifs(motifs)
    if shapes not in FOOTPRINT_TRACKS:
        raise ValueError(
            f"shapes={shapes!r} is not valid; choose one of: {', '.join(FOOTPRINT_TRACKS)}"
        )
    track_names = FOOTPRINT_TRACKS[shapes]
    bias_pwm = default_bias_motif() if bias else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"genome": out / "genome.fa"}
    paths.update({t: out / f"{t}.bw" for t in track_names})
    paths.update(
        peaks=out / "peaks.narrowPeak", sites=out / "sites.bed", motifs=out / "motifs.meme"
    )
    if bias:
        paths["bias_sites"] = out / "bias_sites.bed"
    paths["config"] = out / "profile.yaml"
    sites, peaks, bias_sites = [], [], []
    parts = iter_footprints(sizes, pwms, bias_motif=bias_pwm, shapes=shapes,
                            sites_per_mb=sites_per_mb, depth=depth, random_state=random_state)  # fmt: skip
    with contextlib.ExitStack() as stack:
        fasta = stack.enter_context(atomic_write(paths["genome"], "wb"))
        writers = {t: stack.enter_context(BigWigWriter(paths[t], sizes)) for t in track_names}
        for part in parts:
            ((chrom, codes),) = part.sequences.items()
            log(f"footprints: {chrom} ({len(codes):,} bases, {len(part.sites)} sites)")
            _write_fasta_record(fasta, chrom, codes)
            for t, writer in writers.items():
                arr = part.tracks[t][chrom]
                for s in range(0, arr.shape[0], _BIGWIG_CHUNK):
                    writer.add(chrom, s, arr[s : s + _BIGWIG_CHUNK])
            sites.append(part.sites)
            peaks.append(part.peaks)
            bias_sites.append(part.bias_sites)
            del part, codes, arr  # free this chromosome before the next one is drawn
    site_table = pd.concat(sites, ignore_index=True)
    write_bed(paths["sites"], site_table.assign(name=site_table["motif"],
                                                 score=np.round(site_table["strength"]).astype(np.int64)))  # fmt: skip
    write_bed(paths["peaks"], pd.concat(peaks, ignore_index=True))
    if bias:
        write_bed(paths["bias_sites"], pd.concat(bias_sites, ignore_index=True))
    write_meme(paths["motifs"], {**pwms, **({BIAS_MOTIF_NAME: bias_pwm} if bias else {})})
    with atomic_write(paths["config"], "w") as fh:
        yaml.safe_dump(_config(sizes, track_names), fh, sort_keys=False, default_flow_style=None)
    return paths


def load_simulated_profile_data(
    *,
    genome_size: int = 1_000_000,
    n_chroms: int = 2,
    shapes: Literal["chip-exo", "atac"] = "chip-exo",
    bias: bool = False,
    sites_per_mb: float = 200.0,
    depth: float = 100.0,
    input_length: int = 1000,
    output_length: int = 800,
    background_ratio: float = 0.5,
    max_jitter: int = 64,
    rc_augment: bool = True,
    cache_dir: str | None = None,
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Simulated footprints (:func:`write_footprints`) read back as profile data (``kind: simulate_profile``).

    The files are written once per set of simulation arguments into ``cache_dir`` (default: a
    ``genodeep_footprints`` folder in the temporary directory) and then read by
    :func:`genodeep.data.profile.load_profile_data` exactly as real files are: genome FASTA, bigWig
    tracks and narrowPeak peaks, held out by region (2 chromosomes) or chromosome (3 or more).

    Parameters
    ----------
    genome_size, n_chroms, shapes, bias, sites_per_mb, depth, random_state
        The simulation (see :func:`write_footprints`).
    input_length, output_length, background_ratio, max_jitter, rc_augment
        The windows (see :func:`genodeep.data.profile.load_profile_data`).
    cache_dir : str, optional
        Where the simulated files are kept (created if missing; relative to the current folder).

    Returns
    -------
    DataBundle
        ``kind="profile"``; the files' folder is ``bundle.output["files"]``.
    """
    sim = dict(genome_size=genome_size, n_chroms=n_chroms, shapes=shapes, bias=bias,
               sites_per_mb=sites_per_mb, depth=depth, random_state=random_state)  # fmt: skip
    key = hashlib.sha1(json.dumps(sim, sort_keys=True).encode()).hexdigest()[:12]
    root = (
        Path(cache_dir)
        if cache_dir is not None
        else Path(tempfile.gettempdir()) / "genodeep_footprints"
    )
    folder = root / key
    if not (folder / "profile.yaml").exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        try:
            write_footprints(tmp, **sim)
            with contextlib.suppress(OSError):  # another process finished first: keep theirs
                os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    data = yaml.safe_load((folder / "profile.yaml").read_text())["data"]
    for k in ("kind", "input_length", "output_length", "background_ratio"):  # ours win
        data.pop(k, None)
    for key_ in ("genome", "peaks"):
        data[key_] = str(folder / data[key_])
    data["tracks"] = {t: str(folder / p) for t, p in data["tracks"].items()}
    bundle = load_profile_data(
        **data, input_length=input_length, output_length=output_length,
        background_ratio=background_ratio, max_jitter=max_jitter, rc_augment=rc_augment,
        random_state=random_state, verbose=verbose,
    )  # fmt: skip
    bundle.output["files"] = str(folder)
    return bundle
