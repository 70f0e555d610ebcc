"""Genomic windows: resizing intervals, tiling a genome, and negative examples.

Windows are pandas DataFrames with columns ``chrom`` (str), ``start``, ``end`` (int64, 0-based,
end exclusive), as returned by :func:`genodeep.io.read_bed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive, near_matches
from genodeep.io.bed import chrom_sizes_of, match_chroms
from genodeep.seq import dinucleotide_shuffle

__all__ = [
    "resize",
    "tile_genome",
    "sample_gc_matched",
    "shuffled_negatives",
    "sample_negatives",
    "overlaps_any",
]

GC_BIN_WIDTH = 0.02


# --------------------------------------------------------------------------------------------------
# helpers shared with labels/splits/datasets


def check_windows(df: object, argument: str = "windows") -> pd.DataFrame:
    """Raise unless ``df`` is a DataFrame with chrom/start/end and 0 <= start <= end."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{argument} must be a pandas DataFrame with columns chrom, start, end (e.g. from "
            f"genodeep.io.read_bed), got {type(df).__name__}"
        )
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{argument} lacks the column(s) {missing}; it needs chrom, start, end "
            f"(has {list(df.columns)})"
        )
    for c in ("start", "end"):
        if df[c].dtype.kind not in "iu":
            raise TypeError(
                f"{argument}[{c!r}] must hold integers, got dtype {df[c].dtype}; convert with "
                f"{argument}.astype({{{c!r}: 'int64'}})"
            )
    bad = np.flatnonzero(df["start"].to_numpy() > df["end"].to_numpy())
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{argument} row {i} has start={df['start'].iat[i]} > end={df['end'].iat[i]}; "
            "intervals need start <= end"
        )
    return df


def window_width(df: pd.DataFrame, argument: str = "windows") -> int:
    """The common width of the windows; ValueError when they differ."""
    widths = (df["end"] - df["start"]).to_numpy()
    if widths.size == 0:
        raise ValueError(f"{argument} is empty; give at least one window")
    if (widths != widths[0]).any():
        i = int(np.flatnonzero(widths != widths[0])[0])
        raise ValueError(
            f"{argument} must all have the same width, but row 0 is {widths[0]} bp and row {i} is "
            f"{widths[i]} bp. Fix: genodeep.data.resize({argument}, width)"
        )
    if widths[0] < 1:
        raise ValueError(f"{argument} have width 0; give windows of at least 1 bp")
    return int(widths[0])


def overlaps_any(
    chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray, intervals: pd.DataFrame
) -> np.ndarray:
    """Whether each query ``[start, end)`` overlaps at least one interval (vectorised).

    Parameters
    ----------
    chroms, starts, ends : array-like, shape (N,)
        Query intervals.
    intervals : pandas.DataFrame
        chrom/start/end columns; the chromosome names must be spelled as in ``chroms``.

    Returns
    -------
    hit : np.ndarray of bool, shape (N,)
    """
    chroms = np.asarray(chroms, dtype=object)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    hit = np.zeros(len(starts), dtype=bool)
    for chrom, group in intervals.groupby("chrom", sort=False):
        sel = np.flatnonzero(chroms == chrom)
        if not sel.size:
            continue
        order = np.argsort(group["start"].to_numpy(), kind="stable")
        s = group["start"].to_numpy()[order]
        e_max = np.maximum.accumulate(group["end"].to_numpy()[order])
        # intervals starting before the query's end; any of them ending after its start overlaps
        k = np.searchsorted(s, ends[sel], side="left") - 1
        ok = k >= 0
        hit[sel[ok]] = e_max[k[ok]] > starts[sel[ok]]
    return hit


def _rng(random_state: object) -> np.random.Generator:
    return np.random.default_rng(random_state)


# --------------------------------------------------------------------------------------------------
# resize and tile


def resize(df: pd.DataFrame, width: int, *, anchor: str = "center") -> pd.DataFrame:
    """Intervals of a fixed width around their centre or summit.

    Parameters
    ----------
    df : pandas.DataFrame
        Intervals with chrom/start/end (other columns are kept).
    width : int
        New width in bases.
    anchor : {"center", "summit"}, default "center"
        ``"center"``: centred on ``(start + end) // 2``. ``"summit"``: centred on the narrowPeak
        summit ``start + peak`` (rows with ``peak == -1`` use the centre); needs a ``peak`` column.

    Returns
    -------
    df : pandas.DataFrame
        A copy with ``start = anchor - width // 2`` and ``end = start + width``. Windows may extend
        past the chromosome ends (and start below 0); :class:`~genodeep.io.Genome` reads those
        positions as N.
    """
    check_windows(df, "df")
    check_choice("anchor", anchor, ("center", "summit"))
    width = int(width)
    check_positive("width", width)
    start = df["start"].to_numpy(dtype=np.int64)
    end = df["end"].to_numpy(dtype=np.int64)
    mid = (start + end) // 2
    if anchor == "summit":
        if "peak" not in df.columns:
            raise ValueError(
                "anchor='summit' needs a 'peak' column (narrowPeak summit offsets), but df has "
                f"{list(df.columns)}. Fix: read a narrowPeak file, or use anchor='center'"
            )
        peak = df["peak"].to_numpy(dtype=np.int64)
        mid = np.where(peak >= 0, start + peak, mid)
    out = df.copy()
    out["start"] = mid - width // 2
    out["end"] = out["start"] + width
    return out


def tile_genome(
    genome: object,
    width: int,
    *,
    stride: int | None = None,
    chroms: Iterable[str] | None = None,
    max_n_fraction: float | None = None,
) -> pd.DataFrame:
    """Windows tiling the genome.

    Parameters
    ----------
    genome : Genome or Mapping[str, int]
        A :class:`~genodeep.io.Genome` or ``{chrom: size}``.
    width : int
        Window width.
    stride : int, optional
        Step between window starts (default ``width``: adjacent windows).
    chroms : iterable of str, optional
        Chromosomes to tile (default all), in the given order.
    max_n_fraction : float, optional
        Drop windows whose fraction of N bases exceeds this (needs a Genome, not sizes).

    Returns
    -------
    windows : pandas.DataFrame
        Columns chrom, start, end; starts ``0, stride, 2*stride, ...`` while the window fits inside
        the chromosome (a chromosome shorter than ``width`` gives no window). RangeIndex.
    """
    width = int(width)
    check_positive("width", width)
    stride = width if stride is None else int(stride)
    check_positive("stride", stride)
    sizes = chrom_sizes_of(genome)
    names = _resolve_chroms(chroms, sizes)
    parts = []
    for name in names:
        n = (sizes[name] - width) // stride + 1 if sizes[name] >= width else 0
        if n > 0:
            starts = np.arange(n, dtype=np.int64) * stride
            parts.append(pd.DataFrame({"chrom": name, "start": starts, "end": starts + width}))
    if not parts:
        raise ValueError(
            f"no window of width {width} fits on chromosomes {names}; choose a smaller width"
        )
    df = pd.concat(parts, ignore_index=True)
    df["chrom"] = df["chrom"].astype(object)
    if max_n_fraction is not None:
        if not hasattr(genome, "window_codes"):
            raise TypeError("max_n_fraction needs a genodeep.io.Genome, not a mapping of sizes")
        n_frac = _n_fraction(genome, df, width)
        df = df.loc[n_frac <= max_n_fraction].reset_index(drop=True)
    return df


def _resolve_chroms(chroms: Iterable[str] | None, sizes: dict[str, int]) -> list[str]:
    if chroms is None:
        return list(sizes)
    wanted = [chroms] if isinstance(chroms, str) else [str(c) for c in chroms]
    mapping = match_chroms(wanted, sizes)
    missing = [c for c, m in mapping.items() if m is None]
    if missing:
        raise ValueError(
            f"chroms: {missing[0]!r} is not in the genome (near matches: "
            f"{near_matches(missing[0], sizes)}); the genome has {list(sizes)[:10]}"
        )
    return [mapping[c] for c in wanted]


def _window_stats(
    genome: object, chroms: Sequence[str], starts: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """(GC fraction among A/C/G/T, N fraction) per window, in batches."""
    gc = np.empty(len(starts), dtype=np.float64)
    nf = np.empty(len(starts), dtype=np.float64)
    step = max(1, (1 << 24) // width)
    chroms = np.asarray(chroms, dtype=object)
    for a in range(0, len(starts), step):
        codes = genome.window_codes(list(chroms[a : a + step]), starts[a : a + step], width)
        n_n = (codes == 4).sum(axis=1)
        n_gc = ((codes == 1) | (codes == 2)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gc[a : a + step] = n_gc / (width - n_n)
        nf[a : a + step] = n_n / width
    return gc, nf


def _n_fraction(genome: object, df: pd.DataFrame, width: int) -> np.ndarray:
    return _window_stats(genome, df["chrom"].to_numpy(), df["start"].to_numpy(), width)[1]


# --------------------------------------------------------------------------------------------------
# negatives


def _gc_bin(gc: np.ndarray) -> np.ndarray:
    n_bins = int(round(1 / GC_BIN_WIDTH))
    return np.clip((gc / GC_BIN_WIDTH).astype(np.int64), 0, n_bins - 1)


def sample_gc_matched(
    genome: object,
    positives: pd.DataFrame,
    *,
    n: int | None = None,
    exclude: pd.DataFrame | None = None,
    chroms: Iterable[str] | None = None,
    max_n_fraction: float = 0.1,
    max_rounds: int = 50,
    random_state: int | np.random.Generator | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Random genomic windows whose GC content matches the positives' (negative examples).

    Windows of the positives' width are drawn uniformly from the chromosomes, rejecting those that
    overlap ``exclude`` or hold more than ``max_n_fraction`` N, and kept so that their histogram of
    GC fraction (bins of 0.02) matches the positives'. Bins that cannot be filled after
    ``max_rounds`` rounds of drawing take the leftover windows of nearest GC (the number is logged).

    Parameters
    ----------
    genome : Genome
        The genome (:class:`genodeep.io.Genome`).
    positives : pandas.DataFrame
        Windows (chrom/start/end) all of the same width L, spelled as in the genome.
    n : int, optional
        Number of negatives (default: as many as positives).
    exclude : pandas.DataFrame, optional
        Intervals negatives must not overlap (default: ``positives``). Pass all peaks to stay away
        from every bound region.
    chroms : iterable of str, optional
        Chromosomes to draw from (default: those of the positives, so negatives respect a split by
        chromosome).
    max_n_fraction : float, default 0.1
        Skip windows with a larger fraction of N.
    max_rounds : int, default 50
        Rounds of drawing before falling back to nearest-GC windows.
    random_state : int or np.random.Generator, optional
    verbose : bool, default False

    Returns
    -------
    negatives : pandas.DataFrame, n rows
        Columns chrom, start, end, gc (GC fraction among A/C/G/T), sorted by chrom and start.
    """
    check_windows(positives, "positives")
    width = window_width(positives, "positives")
    if not hasattr(genome, "window_codes"):
        raise TypeError(f"genome must be a genodeep.io.Genome, got {type(genome).__name__}")
    sizes = chrom_sizes_of(genome)
    rng = _rng(random_state)
    n = len(positives) if n is None else int(n)
    check_positive("n", n)
    exclude = positives if exclude is None else check_windows(exclude, "exclude")
    exclude = _rename_to(exclude, sizes)
    pos = _rename_to(positives, sizes)
    names = _resolve_chroms(list(dict.fromkeys(pos["chrom"])) if chroms is None else chroms, sizes)
    room = np.array([max(sizes[c] - width + 1, 0) for c in names], dtype=np.float64)
    if room.sum() <= 0:
        raise ValueError(f"no window of width {width} fits on chromosomes {names}")

    gc_pos, _ = _window_stats(genome, pos["chrom"].to_numpy(), pos["start"].to_numpy(), width)
    gc_pos = np.nan_to_num(gc_pos, nan=0.5)
    n_bins = int(round(1 / GC_BIN_WIDTH))
    hist = np.bincount(_gc_bin(gc_pos), minlength=n_bins).astype(np.float64)
    want = _largest_remainder(hist / hist.sum() * n)

    got_chrom: list[np.ndarray] = []
    got_start: list[np.ndarray] = []
    got_gc: list[np.ndarray] = []
    spare = {"chrom": [], "start": [], "gc": []}
    need = want.copy()
    batch = int(min(max(4 * n, 2048), max(1, (1 << 24) // width)))
    rounds = 0
    while need.sum() > 0 and rounds < max_rounds:
        rounds += 1
        which = rng.choice(len(names), size=batch, p=room / room.sum())
        starts = (rng.random(batch) * room[which]).astype(np.int64)
        chrom_arr = np.asarray(names, dtype=object)[which]
        ok = ~overlaps_any(chrom_arr, starts, starts + width, exclude)
        gc, nf = _window_stats(genome, chrom_arr[ok], starts[ok], width)
        chrom_arr, starts = chrom_arr[ok], starts[ok]
        good = nf <= max_n_fraction
        chrom_arr, starts, gc = chrom_arr[good], starts[good], gc[good]
        bins = _gc_bin(gc)
        order = np.argsort(bins, kind="stable")
        bins_sorted = bins[order]
        # the first need[b] candidates of each bin are taken
        first = np.searchsorted(bins_sorted, bins_sorted, side="left")
        rank = np.arange(len(order)) - first
        take_sorted = rank < need[bins_sorted]
        take = order[take_sorted]
        rest = order[~take_sorted]
        got_chrom.append(chrom_arr[take])
        got_start.append(starts[take])
        got_gc.append(gc[take])
        need -= np.bincount(bins[take], minlength=n_bins)
        if len(spare["start"]) < 64:  # keep some leftovers for the fallback
            spare["chrom"].append(chrom_arr[rest])
            spare["start"].append(starts[rest])
            spare["gc"].append(gc[rest])
    short = int(need.sum())
    if short:
        chrom_left = np.concatenate(spare["chrom"]) if spare["chrom"] else np.array([], object)
        start_left = np.concatenate(spare["start"]) if spare["start"] else np.array([], np.int64)
        gc_left = np.concatenate(spare["gc"]) if spare["gc"] else np.array([])
        centres = (np.repeat(np.arange(n_bins), need) + 0.5) * GC_BIN_WIDTH
        if len(gc_left) < short:
            raise ValueError(
                f"could only find {len(gc_left) + n - short} of {n} negative windows of width "
                f"{width} with <= {max_n_fraction:.0%} N that avoid the excluded intervals; "
                "lower n, raise max_n_fraction or add chromosomes"
            )
        used = np.zeros(len(gc_left), dtype=bool)
        pick = []
        for c in centres:  # at most `short` iterations, only in the rare fallback
            d = np.abs(gc_left - c)
            d[used] = np.inf
            j = int(np.argmin(d))
            used[j] = True
            pick.append(j)
        pick = np.asarray(pick, dtype=np.int64)
        got_chrom.append(chrom_left[pick])
        got_start.append(start_left[pick])
        got_gc.append(gc_left[pick])
        log(
            f"sample_gc_matched: {short} of {n} negatives taken from the nearest GC bin (not "
            f"enough windows in their own bin after {rounds} rounds)"
        )
    elif verbose:
        log(f"sample_gc_matched: {n} negatives in {rounds} round(s)")
    start = np.concatenate(got_start)
    out = pd.DataFrame(
        {
            "chrom": np.concatenate(got_chrom).astype(object),
            "start": start,
            "end": start + width,
            "gc": np.concatenate(got_gc),
        }
    )
    return out.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)


def _largest_remainder(x: np.ndarray) -> np.ndarray:
    """Integers summing to round(x.sum()) closest to x."""
    base = np.floor(x).astype(np.int64)
    left = int(round(x.sum())) - int(base.sum())
    if left > 0:
        base[np.argsort(-(x - base), kind="stable")[:left]] += 1
    return base


def _rename_to(df: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """Chromosome names of ``df`` spelled as in ``sizes`` (unknown names kept as they are)."""
    mapping = match_chroms(list(dict.fromkeys(df["chrom"])), sizes)
    renamed = {c: m for c, m in mapping.items() if m is not None and m != c}
    if not renamed:
        return df
    df = df.copy()
    df["chrom"] = df["chrom"].map(lambda c: renamed.get(c, c))
    return df


def shuffled_negatives(
    genome: object,
    positives: pd.DataFrame,
    *,
    n: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> torch.Tensor:
    """Dinucleotide shuffles of the positive windows' sequences (negative examples).

    Parameters
    ----------
    genome : Genome
        The genome the windows are read from.
    positives : pandas.DataFrame
        Windows (chrom/start/end) all of the same width L.
    n : int, default 1
        Shuffles per positive.
    random_state : int or np.random.Generator, optional

    Returns
    -------
    X_neg : torch.Tensor int8, shape (N * n, 4, L)
        One-hot sequences with exactly the dinucleotide counts of their positive; the ``n``
        shuffles of positive ``i`` are rows ``i * n`` to ``i * n + n - 1``.
    """

    check_windows(positives, "positives")
    width = window_width(positives, "positives")
    X = genome.one_hot(list(positives["chrom"]), positives["start"].to_numpy(), width)
    X_shuf = dinucleotide_shuffle(X, n=n, random_state=random_state)
    return X_shuf.reshape(-1, 4, width)


def sample_negatives(
    genome: object,
    positives: pd.DataFrame,
    *,
    n: int | None = None,
    method: str = "gc",
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame | torch.Tensor:
    """Negative examples for a set of positive windows, by one of two methods.

    A thin dispatcher over :func:`sample_gc_matched` and :func:`shuffled_negatives`; call those
    directly for their extra options.

    Parameters
    ----------
    genome : Genome
    positives : pandas.DataFrame
        Windows of equal width L.
    n : int, optional
        ``"gc"``: number of windows (default len(positives)). ``"shuffle"``: shuffles per positive
        (default 1).
    method : {"gc", "shuffle"}, default "gc"
    random_state : int or np.random.Generator, optional

    Returns
    -------
    negatives : pandas.DataFrame or torch.Tensor
        ``"gc"``: a DataFrame of genomic windows (chrom, start, end, gc) that avoid the positives.
        ``"shuffle"``: an int8 tensor (N * n, 4, L) of dinucleotide-shuffled positive sequences.
    """
    check_choice("method", method, ("gc", "shuffle"))
    if method == "gc":
        return sample_gc_matched(genome, positives, n=n, random_state=random_state)
    return shuffled_negatives(genome, positives, n=1 if n is None else n, random_state=random_state)
