"""The file-level jobs of ``genodeep motifs``: filters -> PWMs, TF-MoDISco discovery, scanning, comparison.

Each function reads its inputs (model package, sequences, ``attributions.npz``, motif files), calls the
array-level code of :mod:`genodeep.interpret` and :mod:`genodeep.motifs`, and writes TSV, MEME, NPZ and
PNG outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import InputFileError, check_file_exists
from genodeep.interpret.filters import filter_matches, filters_to_pwms
from genodeep.io import read_fasta, read_motifs, write_meme
from genodeep.io.jaspar_db import describe_jaspar_spec, is_jaspar_spec
from genodeep.motifs.compare import compare
from genodeep.motifs.discover import DiscoveryResult, discover_motifs
from genodeep.motifs.logo import save_motif_logo
from genodeep.motifs.scan import scan
from genodeep.workflows.interpret import _model_length, as_package, load_sequences

__all__ = [
    "compare_to_file",
    "discover_to_files",
    "filters_to_files",
    "scan_to_file",
    "write_discovery",
]


def _write_tsv(table: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_write(path) as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g")


#: what motif matching uses when no database is given: every taxonomic group of JASPAR CORE (pyjaspar)
DEFAULT_DATABASE = "jaspar"


def resolve_database(database: str | os.PathLike | None) -> str | os.PathLike | None:
    """The motif database to match against, with a line saying which one.

    The given file or JASPAR spec; without one, :data:`DEFAULT_DATABASE` (all of JASPAR CORE, newest
    release pyjaspar ships) — never a taxon guessed for the user's organism. ``None`` (no matching, said
    so) when pyjaspar is not installed.
    """
    if database is not None:
        what = describe_jaspar_spec(database) if is_jaspar_spec(database) else os.fspath(database)
        log(f"matching motifs against {what}")
        return database
    try:
        what = describe_jaspar_spec(DEFAULT_DATABASE)
    except ImportError:
        log(
            "no --database given and pyjaspar is not installed: motifs are not matched to known ones; "
            "give --database FILE.meme, or pip install pyjaspar for --database jaspar:GROUP"
        )
        return None
    log(
        f"no --database given: matching motifs against {what} (choose with --database "
        "jaspar:vertebrates, jaspar:insects, ... or a MEME/JASPAR file)"
    )
    return DEFAULT_DATABASE


def filters_to_files(
    model: str | os.PathLike | nn.Module,
    sequences: str | os.PathLike,
    out: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    database: str | os.PathLike | None = None,
    layer: str | None = None,
    threshold: float = 0.5,
    min_sites: int = 10,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """:func:`~genodeep.interpret.filters_to_pwms` + :func:`~genodeep.interpret.filter_matches` on files; the API of ``genodeep motifs filters``.

    Writes into ``out``: ``filters.meme`` (the PWMs, ``nsites`` = sites), ``filters.tsv`` (the
    :func:`~genodeep.interpret.filter_matches` table) and ``logos/<filter>.png`` (information logos).

    Parameters
    ----------
    model : path or torch.nn.Module
        Model package (or a ``genodeep train`` run folder).
    sequences : path
        FASTA, or BED intervals with ``genome`` (see :func:`genodeep.workflows.interpret.load_sequences`).
    out : path
        Output folder.
    genome : path, optional
        Genome FASTA for BED input.
    database : path or JASPAR spec, optional
        Motifs to match against: a MEME/JASPAR file or ``jaspar:GROUP`` (see :func:`resolve_database`).
    layer, threshold, min_sites, batch_size, device, verbose
        As in :func:`genodeep.interpret.filters_to_pwms`.

    Returns
    -------
    pandas.DataFrame
        The table written to ``filters.tsv``.
    """
    pkg = as_package(model)
    X, _ = load_sequences(sequences, genome=genome, length=_model_length(pkg))
    res = filters_to_pwms(
        pkg.model,
        X,
        layer=layer,
        threshold=threshold,
        min_sites=min_sites,
        batch_size=batch_size,
        device=device,
        verbose=verbose,
    )
    table = filter_matches(res, resolve_database(database))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "filters.tsv") as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    if res.pwms:
        write_meme(out / "filters.meme", res.pwms)
        for key, pwm in res.pwms.items():
            row = table[table["filter"] == key].iloc[0]
            title = f"{key} ({row['n_sites']} sites)"
            if row["best_match"]:
                title += f"  ~ {row['best_match']} (q={row['q_value']:.2g})"
            save_motif_logo(out / "logos" / f"{key}.png", pwm, title=title)
    log(
        f"{len(res.pwms)} of {len(res.counts)} filters have >= {min_sites} sites; wrote "
        f"filters.tsv{', filters.meme and logos/' if res.pwms else ''} to {out}"
    )
    return table


def write_discovery(result: DiscoveryResult, out: str | os.PathLike) -> Path:
    """Write a :class:`DiscoveryResult` into a folder.

    Files: ``patterns.meme`` (trimmed PFMs), ``patterns.npz`` (``<pattern>.pfm``, ``.cwm``,
    ``.hcwm`` arrays (4, w)), ``summary.tsv`` (:meth:`~genodeep.motifs.DiscoveryResult.summary`), ``matches.tsv``
    (database matches), ``seqlets.tsv``, and ``logos/<pattern>.pfm.png`` (information logo) and
    ``logos/<pattern>.cwm.png`` (CWM logo).

    Parameters
    ----------
    result : DiscoveryResult
    out : path
        Output folder (created).

    Returns
    -------
    Path
        The folder.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    with atomic_write(out / "summary.tsv") as fh:
        summary.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    with atomic_write(out / "matches.tsv") as fh:
        result.matches.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    with atomic_write(out / "seqlets.tsv") as fh:
        result.seqlets.to_csv(fh, sep="\t", index=False)
    if not result.patterns:
        return out
    write_meme(out / "patterns.meme", result.patterns)
    arrays = {}
    for name in result.patterns:
        arrays[f"{name}.pfm"] = result.patterns[name]
        arrays[f"{name}.cwm"] = result.cwms[name]
        arrays[f"{name}.hcwm"] = result.hypothetical_cwms[name]
    with atomic_path(out / "patterns.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    for _, row in summary.iterrows():
        name = row["pattern"]
        title = f"{name} ({row['n_seqlets']} seqlets)"
        if row["best_match"]:
            title += f"  ~ {row['best_match']} (q={row['q_value']:.2g})"
        save_motif_logo(out / "logos" / f"{name}.pfm.png", result.patterns[name], title=title)
        save_motif_logo(
            out / "logos" / f"{name}.cwm.png", result.cwms[name], mode="weight", title=f"{name} CWM"
        )
    return out


def discover_to_files(
    attributions: str | os.PathLike,
    out: str | os.PathLike,
    *,
    database: str | os.PathLike | None = None,
    **kwargs,
) -> DiscoveryResult:
    """:func:`~genodeep.motifs.discover_motifs` on an ``attributions.npz`` written by ``genodeep interpret``, written
    with :func:`write_discovery`; the API of ``genodeep motifs discover``.

    Parameters
    ----------
    attributions : path
        NPZ with ``X`` (N, 4, L) and ``hypothetical`` and/or ``attributions`` (N, 4, L).
    out : path
        Output folder.
    database : path or JASPAR spec, optional
        Motifs to match against: a MEME/JASPAR file or ``jaspar:GROUP`` (see :func:`resolve_database`).
    **kwargs
        Further :func:`~genodeep.motifs.discover_motifs` keywords.

    Returns
    -------
    DiscoveryResult
    """
    check_file_exists(attributions, "attributions file")
    try:
        data = np.load(attributions, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputFileError(
            f"not a readable NPZ file ({err})",
            path=attributions,
            fix="give the attributions.npz written by `genodeep interpret`",
        ) from err
    with data:
        keys = set(data.files)
        if "X" not in keys or not ({"hypothetical", "attributions"} & keys):
            raise InputFileError(
                f"needs arrays X and hypothetical (or attributions); found {sorted(keys)}",
                path=attributions,
                fix="give the attributions.npz written by `genodeep interpret`",
            )
        X = data["X"]
        hyp = data["hypothetical"] if "hypothetical" in keys else None
        attr = data["attributions"] if "attributions" in keys else None
    if hyp is None:
        log(
            "no hypothetical scores in the file (method without them): the attributions are used "
            "as hypothetical scores; use --method deepliftshap, ixg or ism for better patterns"
        )
    res = discover_motifs(X, attr, hyp, database=resolve_database(database), **kwargs)
    write_discovery(res, out)
    log(f"wrote {len(res.patterns)} pattern(s) to {out}")
    return res


def scan_to_file(
    motifs: str | os.PathLike,
    sequences: str | os.PathLike,
    out: str | os.PathLike,
    *,
    threshold: float = 1e-4,
    pseudocount: float = 0.1,
    both_strands: bool = True,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """:func:`genodeep.motifs.scan` of the sequences of a FASTA file, written as a TSV; the API of
    ``genodeep motifs scan``.

    Parameters
    ----------
    motifs : path
        MEME, JASPAR or PFM file.
    sequences : path
        FASTA file.
    out : path
        Output TSV (written atomically); ``seq`` holds the FASTA record names.
    threshold, pseudocount, both_strands, device, verbose
        As in :func:`genodeep.motifs.scan`.

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    pwms = read_motifs(motifs)
    records = read_fasta(sequences)
    if not records:
        raise ValueError(f"{sequences}: no sequences")
    names = list(records)
    hits = scan(
        [records[k] for k in names],
        pwms,
        threshold=threshold,
        pseudocount=pseudocount,
        both_strands=both_strands,
        device=device,
        verbose=verbose,
    )
    hits["seq"] = np.asarray(names, dtype=object)[hits["seq"].to_numpy()]
    _write_tsv(hits, out)
    log(f"{len(hits)} match(es) with p <= {threshold:g} written to {out}")
    return hits


def compare_to_file(
    query: str | os.PathLike,
    database: str | os.PathLike,
    out: str | os.PathLike,
    *,
    n_nearest: int | None = None,
    max_q: float | None = None,
) -> pd.DataFrame:
    """:func:`genodeep.motifs.compare` of two motif files, written as a TSV; the API of
    ``genodeep motifs compare``.

    Parameters
    ----------
    query, database : path
        Motif files (MEME, JASPAR or PFM).
    out : path
        Output TSV (written atomically).
    n_nearest, max_q
        As in :func:`genodeep.motifs.compare`.

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    table = compare(query, database, n_nearest=n_nearest, max_q=max_q)
    _write_tsv(table, out)
    log(f"{len(table)} comparison(s) written to {out}")
    return table
