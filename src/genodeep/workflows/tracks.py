"""Genome-wide tracks from a profile/coverage model: predictions (and attributions) streamed to bigWig.

The output positions of consecutive windows tile each region exactly: window ``k`` predicts bases
``[lo + k*S, lo + (k+1)*S)`` (``S`` = the model's output span), reading the input window centred on
them (N beyond the chromosome ends). Windows are read, predicted and written in chunks, so memory does
not grow with the genome (:func:`stream_tracks`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genodeep._device import resolve_device
from genodeep._progress import log, progress
from genodeep._validate import InputFileError
from genodeep.data.profile import TRANSFORMS
from genodeep.data.splits import parse_region
from genodeep.interpret.api import attribute
from genodeep.io import Genome, read_bed
from genodeep.io.bigwig_writer import BigWigWriter
from genodeep.models.spec import LINKS, ModelSpec
from genodeep.seq import one_hot_codes
from genodeep.zoo import load

__all__ = [
    "Geometry",
    "attribution_tracks",
    "predict_tracks",
    "profile_target",
    "stream_tracks",
    "tile_starts",
    "track_paths",
    "track_regions",
]


@dataclass(frozen=True)
class Geometry:
    """Where a profile model's outputs lie: input ``length``, first output base ``offset``, ``span``
    output bases in ``bin_size`` bins."""

    length: int
    offset: int
    span: int
    bin_size: int

    @classmethod
    def from_spec(cls, spec: ModelSpec, what: str) -> Geometry:
        if spec.kind != "profile" or "output_length" not in spec.extra:
            raise ValueError(
                f"{what} is a {spec.kind} model with one value per window; genome-wide tracks need a "
                "profile or coverage model (trained with data.kind: profile). Fix: for a window model, "
                "predict BED intervals with --bed and write .bw"
            )
        length, span = int(spec.input_length), int(spec.extra["output_length"])
        return cls(length, (length - span) // 2, span, int(spec.extra.get("bin_size", 1)))


def track_regions(
    genome: Genome, *, chroms: Sequence[str] | None = None, regions: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The stretches to predict, merged and in genome order: chromosomes (or ``chr:start-end``
    strings), a BED file, or the whole genome.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end`` (genome spelling), non-overlapping, in the genome's order.
    """
    sizes = genome.chrom_sizes
    if regions is not None:
        df = read_bed(regions, genome=genome)[["chrom", "start", "end"]]
        if len(df) == 0:
            raise InputFileError("no regions in the file", path=os.fspath(regions),
                                 fix="give at least one BED record")  # fmt: skip
    elif chroms:
        rows = []
        for text in chroms:
            c, lo, hi = parse_region(text)
            c = genome.resolve(c)
            lo, hi = lo or 0, min(hi or sizes[c], sizes[c])
            if lo >= hi:
                raise ValueError(
                    f"{text!r} holds no base of {c} ({sizes[c]:,} bp). Fix: a stretch inside the "
                    "chromosome"
                )
            rows.append((c, lo, hi))
        df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    else:
        df = pd.DataFrame({"chrom": list(sizes), "start": 0, "end": list(sizes.values())})
    order = {c: i for i, c in enumerate(sizes)}
    df = df.assign(_o=df["chrom"].map(order)).sort_values(["_o", "start", "end"])
    merged: list[list] = []
    for c, s, e in df[["chrom", "start", "end"]].itertuples(index=False):
        if merged and merged[-1][0] == c and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], int(e))
        elif e > s:
            merged.append([c, int(s), int(e)])
    return pd.DataFrame(merged, columns=["chrom", "start", "end"])


def tile_starts(start: int, end: int, span: int) -> np.ndarray:
    """First output base of each window tiling ``[start, end)`` with outputs of ``span`` bases."""
    return np.arange(start, end, span, dtype=np.int64)


def _chunks(regions: pd.DataFrame, span: int, chunk: int) -> Iterator[tuple[str, np.ndarray, int]]:
    for c, s, e in regions.itertuples(index=False):
        starts = tile_starts(s, e, span)
        for i in range(0, len(starts), chunk):
            yield c, starts[i : i + chunk], int(e)


def stream_tracks(
    fn: Callable[[torch.Tensor], np.ndarray],
    genome: Genome,
    regions: pd.DataFrame,
    geometry: Geometry,
    paths: Sequence[str | os.PathLike],
    *,
    chunk: int = 512,
    verbose: bool = True,
) -> list[Path]:
    """Run ``fn`` over windows tiling ``regions`` and write its per-position values to bigWigs.

    Parameters
    ----------
    fn : callable
        One-hot windows ``(B, 4, L)`` float32 -> values ``(B, T, n_out)`` (one channel per path).
    genome, regions, geometry
        Where to read and what each window's outputs cover.
    paths : sequence of paths, length T
        One bigWig per channel (written atomically: all or nothing for each file).
    chunk : int
        Windows per chunk: memory is O(chunk * L), whatever the genome's size.

    Returns
    -------
    list of Path
    """
    g = geometry
    n_windows = int(
        sum(len(tile_starts(s, e, g.span)) for _, s, e in regions.itertuples(index=False))
    )
    with _Writers(paths, genome.chrom_sizes) as writers:
        bar = progress(_chunks(regions, g.span, chunk), total=-(-n_windows // chunk),
                       desc="windows", verbose=verbose)  # fmt: skip
        for chrom, starts, end in bar:
            codes = genome.window_codes(chrom, starts - g.offset, g.length)
            values = fn(one_hot_codes(codes, dtype=torch.float32))
            values = np.asarray(values, dtype=np.float32)
            flat = values.transpose(1, 0, 2).reshape(values.shape[1], -1)  # (T, B * n_out)
            for t, w in enumerate(writers):  # cut at the stretch's end (a last bin is shortened)
                w.add(chrom, int(starts[0]), flat[t], span=g.bin_size, end=end)
            genome.release()  # the genome pages read so far leave the resident set
    return [Path(p) for p in paths]


class _Writers:
    """Several :class:`BigWigWriter` opened and closed together."""

    def __init__(self, paths, chrom_sizes) -> None:
        self.writers = [BigWigWriter(p, chrom_sizes) for p in paths]

    def __enter__(self) -> list[BigWigWriter]:
        opened = []
        try:
            for w in self.writers:
                opened.append(w.__enter__())
        except BaseException as err:
            for w in opened:
                w.__exit__(type(err), err, None)
            raise
        return opened

    def __exit__(self, *exc) -> bool:
        for w in self.writers:
            w.__exit__(*exc)
        return False


def track_paths(out: str | os.PathLike, names: Sequence[str]) -> list[Path]:
    """``OUT`` for one track, else ``OUT.<name>.bw`` (``.bw``/``.bigwig`` suffix kept)."""
    out = Path(out)
    if out.suffix.lower() not in (".bw", ".bigwig"):
        raise ValueError(
            f"--out {out}: genome-wide tracks are bigWig. Fix: end the name in .bw or .bigwig"
        )
    if len(names) == 1:
        return [out]
    return [out.with_name(f"{out.stem}.{n}{out.suffix}") for n in names]


def predict_tracks(
    model: str | os.PathLike,
    genome: str | os.PathLike,
    out: str | os.PathLike,
    *,
    chroms: Sequence[str] | None = None,
    regions: str | os.PathLike | None = None,
    task: str | None = None,
    batch_size: int = 64,
    chunk: int = 512,
    device: str | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Predicted signal of a profile/coverage model over chromosomes, regions or a whole genome, as bigWig.

    Parameters
    ----------
    model : path or zoo name
        A package, run folder or archive (see :func:`genodeep.zoo.load`) of a ``kind: profile`` model.
    genome : path
        FASTA of the genome to read.
    out : path
        ``OUT.bw`` (one track), or ``OUT.<track>.bw`` per track for several.
    chroms : list of str, optional
        Chromosomes or ``chr:start-end`` stretches (default: the whole genome, unless ``regions``).
    regions : path, optional
        A BED file of stretches.
    task : str, optional
        Write this track only (default: every track).
    batch_size, chunk : int
        Forward-pass batch and windows per chunk.

    Returns
    -------
    list of Path
        The bigWigs written: expected counts per base (BPNet), or per-base rates or values of binned
        models (each bin's predicted total divided by ``bin_size``, so the track reads in the same
        units as the per-base signal it was trained on; ``target_transform`` undone).
    """
    pkg = load(model)
    geo = Geometry.from_spec(pkg.spec, os.fspath(model))
    g = Genome(genome)
    todo = track_regions(g, chroms=chroms, regions=regions)
    names = list(pkg.spec.task_names)
    keep = list(range(len(names)))
    if task is not None:
        if task not in names:
            raise ValueError(
                f"task {task!r} is not one of the model's tracks. Fix: one of {', '.join(names)}"
            )
        keep = [names.index(task)]
    paths = track_paths(out, [names[i] for i in keep])
    net = pkg.model.eval()
    dev = resolve_device(device)
    net.to(dev)
    link = LINKS[pkg.spec.link]
    transform = pkg.spec.extra.get("target_transform")
    inverse = TRANSFORMS[transform][1] if transform else None

    def fn(x: torch.Tensor) -> np.ndarray:
        outs = []
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                y = net(x[i : i + batch_size].to(dev))
                y = tuple(t.float().cpu() for t in y) if isinstance(y, tuple) else y.float().cpu()
                outs.append(link(y).numpy())
        out = np.concatenate(outs)
        out = inverse(np.maximum(out, 0)) if inverse is not None else out
        return out[:, keep] / geo.bin_size  # a bin's total spread over its bases: per-base units

    if verbose:
        total = int((todo["end"] - todo["start"]).sum())
        log(f"predicting {total:,} bases in {len(todo)} stretch(es) into {len(paths)} bigWig(s)")
    return stream_tracks(fn, g, todo, geo, paths, chunk=chunk, verbose=verbose)


def profile_target(tasks: Sequence[int] | None = None) -> Callable:
    """BPNet's profile attribution target: ``sum_p softmax(l)_p * (l_p - mean(l))`` over positions and
    the chosen tracks, the softmax weights held constant (detached), so that the score follows the
    profile's shape rather than its total. ``l`` = profile logits (the first head's output)."""

    def target(y) -> torch.Tensor:
        logits = y[0] if isinstance(y, (tuple, list)) else y
        if tasks is not None:
            logits = logits[:, list(tasks)]
        centred = logits - logits.mean(dim=-1, keepdim=True)
        weights = torch.softmax(logits, dim=-1).detach()
        return (centred * weights).sum(dim=(1, 2))

    return target


def attribution_tracks(
    model: str | os.PathLike,
    genome: str | os.PathLike,
    out: str | os.PathLike,
    *,
    head: str = "counts",
    task: str | None = None,
    method: str = "deepliftshap",
    n_shuffles: int = 10,
    chroms: Sequence[str] | None = None,
    regions: str | os.PathLike | None = None,
    batch_size: int = 64,
    chunk: int = 128,
    random_state: int = 0,
    device: str | None = None,
    verbose: bool = True,
) -> list[Path]:
    """Per-base attribution scores of a profile model over chromosomes or regions, as one bigWig.

    Each base gets the contribution of its observed nucleotide in the window whose outputs cover it
    (the same tiling as :func:`predict_tracks`).

    Parameters
    ----------
    head : {"counts", "profile"}
        Explain the total counts (the count head; for binned models the sum over bins) or the profile
        shape (:func:`profile_target`; profile + count models only).
    task : str, optional
        One track to explain (default: all tracks together).
    method : str
        An attribution method of :func:`genodeep.interpret.attribute` (``deepliftshap`` by default,
        with ``n_shuffles`` dinucleotide-shuffled references; ``ixg`` is the fast choice).

    Notes
    -----
    A ChromBPNet is explained through its accessibility model alone, so the track shows what the
    sequence contributes beyond the enzyme's bias.

    Returns
    -------
    list of Path
        ``[out]``.
    """
    pkg = load(model)
    geo = Geometry.from_spec(pkg.spec, os.fspath(model))
    names = list(pkg.spec.task_names)
    tasks = None
    if task is not None:
        if task not in names:
            raise ValueError(
                f"task {task!r} is not one of the model's tracks. Fix: one of {', '.join(names)}"
            )
        tasks = [names.index(task)]
    net = pkg.model.eval()
    if callable(getattr(net, "accessibility_only", None)):
        net.accessibility_only(True)
    if head == "profile":
        if pkg.spec.link != "bpnet":
            raise ValueError("head='profile' needs a profile + count model (bpnet, chrombpnet); "
                             "use head='counts' for binned coverage models")  # fmt: skip
        target = profile_target(tasks)
    elif head == "counts":
        target = tasks if tasks is not None else None
    else:
        raise ValueError(f"head must be 'counts' or 'profile', got {head!r}")
    options = {"n_shuffles": n_shuffles} if method == "deepliftshap" else {}
    lo, hi = geo.offset, geo.offset + geo.span

    def fn(x: torch.Tensor) -> np.ndarray:
        with warnings.catch_warnings():
            if (
                head == "profile"
            ):  # its softmax weights are per input, so completeness is approximate
                warnings.filterwarnings("ignore", message="deep_lift_shap: attributions differ")
            res = attribute(net, x, method=method, target=target, batch_size=batch_size,
                            device=device, random_state=random_state, **options)  # fmt: skip
        return res.attributions.sum(dim=1)[:, None, lo:hi].numpy()

    todo = track_regions(Genome(genome), chroms=chroms, regions=regions)
    if verbose:
        log(
            f"{method} attributions of the {head} head over {int((todo['end'] - todo['start']).sum()):,} bases"
        )
    per_base = Geometry(geo.length, geo.offset, geo.span, 1)
    return stream_tracks(fn, Genome(genome), todo, per_base, [out], chunk=chunk, verbose=verbose)
