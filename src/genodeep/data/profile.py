"""Base-resolution and binned signal targets: windows around peaks (plus GC-matched background) or tiled
over regions, with per-position targets read from signal tracks, and the training dataset that jitters
and reverse-complements sequence and profile together.

The data kind ``profile`` of a config (:func:`load_profile_data`) returns a
:class:`~genodeep.data.bundle.DataBundle` whose labels are ``(N, T, n_out)``: ``T`` tracks, ``n_out`` output
positions (bases, or bins of ``bin_size`` bases) centred in the ``input_length`` window.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import InputFileError, check_choice, check_positive
from genodeep.data.augment import AugmentRng
from genodeep.data.bundle import DataBundle, Split
from genodeep.data.intervals import sample_gc_matched, tile_genome
from genodeep.data.splits import parse_region, split_by_chrom, split_by_region
from genodeep.io import Genome, read_bed
from genodeep.io.reads import open_track
from genodeep.seq import one_hot_codes

__all__ = [
    "ProfileDataset",
    "load_profile_data",
    "peak_windows",
    "profile_targets",
    "strand_permutation",
]


def strand_permutation(names: Sequence[str], pairs: Sequence[Sequence[str]] | None) -> np.ndarray:
    """Channel order after a reverse complement: the two tracks of each strand pair swap places.

    Parameters
    ----------
    names : sequence of str, length T
        Track names in channel order.
    pairs : sequence of (plus, minus) name pairs, optional

    Returns
    -------
    np.ndarray int64, shape (T,)
        ``perm`` such that ``y_rc = y[:, perm, ::-1]``.
    """
    names = [str(n) for n in names]
    perm = np.arange(len(names))
    seen: set[str] = set()
    for pair in pairs or ():
        if len(pair) != 2:
            raise ValueError(
                f"strand_pairs entries must be [plus, minus] pairs; got {list(pair)!r}"
            )
        a, b = (str(p) for p in pair)
        for name in (a, b):
            if name not in names:
                raise ValueError(
                    f"strand_pairs names track {name!r}, which is not one of the tracks "
                    f"({', '.join(names)}). Fix: use the names given under tracks:"
                )
            if name in seen:
                raise ValueError(f"track {name!r} appears in two strand pairs")
            seen.add(name)
        i, j = names.index(a), names.index(b)
        perm[i], perm[j] = j, i
    return perm


def peak_windows(genome: Genome, peaks: str | os.PathLike, width: int) -> pd.DataFrame:
    """Windows of ``width`` centred on each peak's summit (narrowPeak column 10) or centre.

    Peaks on contigs the genome lacks are dropped (counted in the log); windows that would run past a
    chromosome end are dropped too. Duplicate windows are kept once.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end`` (genome spelling), sorted.
    """
    df = read_bed(peaks, genome=genome, drop_unknown=True)
    if len(df) == 0:
        raise InputFileError(
            "no peak lies on a chromosome of the genome",
            path=os.fspath(peaks),
            fix="use the genome the peaks were called on (same assembly and chromosome names)",
        )
    start = df["start"].to_numpy(np.int64)
    centre = (start + df["end"].to_numpy(np.int64)) // 2
    if "peak" in df.columns:
        off = pd.to_numeric(df["peak"], errors="coerce").to_numpy()
        has = np.isfinite(off) & (off >= 0)
        centre = np.where(has, start + np.nan_to_num(off, nan=0).astype(np.int64), centre)
    w_start = centre - width // 2
    sizes = genome.chrom_sizes
    size = df["chrom"].map(sizes).to_numpy(np.int64)
    inside = (w_start >= 0) & (w_start + width <= size)
    if (~inside).any():
        log(
            f"{os.fspath(peaks)}: {int((~inside).sum())} peak window(s) run past a chromosome end; dropped"
        )
    out = pd.DataFrame({"chrom": df["chrom"].to_numpy()[inside], "start": w_start[inside]})
    out["end"] = out["start"] + width
    return out.drop_duplicates().sort_values(["chrom", "start"]).reset_index(drop=True)


def _tiles(genome: Genome, width: int, stride: int, regions, chroms) -> pd.DataFrame:
    """Windows of ``width`` every ``stride`` bases inside ``regions`` (or the chromosomes)."""
    if regions is None:
        return tile_genome(genome, width, stride=stride, chroms=chroms)[["chrom", "start", "end"]]
    parts = []
    for region in [regions] if isinstance(regions, str) else regions:
        chrom, lo, hi = parse_region(region)
        chrom = genome.resolve(chrom)
        size = genome.chrom_sizes[chrom]
        lo, hi = lo or 0, min(hi or size, size)
        starts = np.arange(lo, hi - width + 1, stride, dtype=np.int64)
        parts.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + width}))
    out = pd.concat(parts, ignore_index=True)
    if len(out) == 0:
        raise ValueError(f"no window of {width} bp fits in regions={regions!r}")
    return out


def profile_targets(
    tracks: Mapping[str, Any], windows: pd.DataFrame, *, offset: int, span: int
) -> np.ndarray:
    """Per-base target values of each track over ``[start + offset, start + offset + span)``.

    Parameters
    ----------
    tracks : mapping name -> SignalTrack
    windows : pandas.DataFrame
        chrom/start/end of ``N`` windows.
    offset, span : int
        Where the targets start inside each window, and how many bases they cover.

    Returns
    -------
    np.ndarray float32, shape (N, T, span)
        Missing data reads as 0 (see :meth:`genodeep.io.SignalTrack.values`).
    """
    chroms = windows["chrom"].tolist()
    starts = windows["start"].to_numpy(np.int64) + int(offset)
    out = np.empty((len(windows), len(tracks), int(span)), dtype=np.float32)
    for t, track in enumerate(tracks.values()):
        out[:, t] = track.values(chroms, starts, int(span))
    return out


def _bin(y: np.ndarray | torch.Tensor, bin_size: int):
    """Sum ``(..., S)`` into ``(..., S // bin_size)``."""
    if bin_size == 1:
        return y
    return y.reshape(*y.shape[:-1], -1, bin_size).sum(-1)


#: target transforms and their inverses (applied to binned values)
TRANSFORMS = {"sqrt": (np.sqrt, np.square), "log1p": (np.log1p, np.expm1)}


def squash(y: np.ndarray, transform: str | None) -> np.ndarray:
    """``y`` through :data:`TRANSFORMS` ``[transform]`` (float32); unchanged for None."""
    if transform is None:
        return y
    return TRANSFORMS[transform][0](y).astype(np.float32, copy=False)


class ProfileDataset(torch.utils.data.Dataset):
    """Training windows with per-position targets, jittered and reverse-complemented on the fly.

    Each window is stored with ``max_jitter`` extra bases on both sides, so that a shift ``s`` in
    ``[-max_jitter, max_jitter]`` (a multiple of ``bin_size``) moves sequence and targets together
    and reads real flanking bases and signal.

    Parameters
    ----------
    codes : np.ndarray uint8, shape (N, L + 2J)
        Base codes (A C G T N = 0..4) of each window with its margins.
    targets : np.ndarray float32, shape (N, T, S + 2J)
        Per-base targets with the same margins (``S = n_out * bin_size`` bases of output).
    input_length : int
        ``L``.
    bin_size : int
        Bases per output position; targets are summed within a bin.
    max_jitter : int
        ``J``.
    transform : {"sqrt", "log1p"}, optional
        Applied to the binned targets (:func:`squash`).
    rc_augment : bool
        Reverse-complement half of each batch: positions flipped, strand-pair channels swapped
        (``channel_perm``).
    channel_perm : np.ndarray int64, shape (T,), optional
        See :func:`strand_permutation`.
    random_state : int, optional
    """

    def __init__(
        self,
        codes: np.ndarray,
        targets: np.ndarray,
        *,
        input_length: int,
        bin_size: int = 1,
        transform: str | None = None,
        max_jitter: int = 0,
        rc_augment: bool = True,
        channel_perm: np.ndarray | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.codes, self.targets = codes, targets
        self.input_length, self.bin_size, self.max_jitter = input_length, bin_size, max_jitter
        self.transform = transform
        self.span = targets.shape[-1] - 2 * max_jitter
        self.rc_augment = bool(rc_augment)
        self.channel_perm = (
            np.arange(targets.shape[1]) if channel_perm is None else np.asarray(channel_perm)
        )
        self._rng = AugmentRng(random_state)
        self.y = torch.from_numpy(
            squash(_bin(targets[..., max_jitter : max_jitter + self.span], bin_size), transform)
        )

    def __len__(self) -> int:
        return len(self.codes)

    def get_batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X (B, 4, L) float32, y (B, T, n_out) float32)``."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        rng = self._rng.get()
        j, b = self.max_jitter, self.bin_size
        shift = rng.integers(-(j // b), j // b + 1, size=len(idx)) * b + j
        cols = np.arange(self.input_length)[None, :] + shift[:, None]
        X = one_hot_codes(self.codes[idx[:, None], cols], dtype=torch.float32)
        tcols = np.arange(self.span)[None, :] + shift[:, None]
        y = self.targets[idx[:, None, None], np.arange(self.targets.shape[1])[None, :, None],
                         tcols[:, None, :]]  # fmt: skip
        y = torch.from_numpy(np.ascontiguousarray(squash(_bin(y, b), self.transform)))
        if self.rc_augment:
            flip = rng.random(len(idx)) < 0.5
            if flip.any():
                rows = torch.from_numpy(flip)
                X[rows] = X[rows].flip(1).flip(-1)
                y[rows] = y[rows][:, torch.from_numpy(self.channel_perm)].flip(-1)
        return X, y

    def __getitem__(self, index: int):
        X, y = self.get_batch([int(index)])
        return X[0], y[0]

    def __getitems__(self, indices):
        X, y = self.get_batch(indices)
        return list(zip(X.unbind(0), y.unbind(0)))

    def __repr__(self) -> str:
        return (
            f"ProfileDataset({len(self)} windows of {self.input_length} bp, "
            f"{self.targets.shape[1]} track(s), jitter {self.max_jitter}, rc {self.rc_augment})"
        )


def _split_rows(windows: pd.DataFrame, split: str, valid, test) -> dict[str, np.ndarray]:
    df = windows.assign(_row=np.arange(len(windows)))
    if split == "region":
        parts = split_by_region(df, valid=valid, test=test, boundary="drop")
    else:
        kw = {}
        if valid is not None:
            kw["valid"] = [valid] if isinstance(valid, str) else list(valid)
        if test is not None:
            kw["test"] = [test] if isinstance(test, str) else list(test)
        parts = split_by_chrom(df, **kw)
    out = {
        k: np.sort(np.asarray(parts[k]["_row"], dtype=np.int64)) for k in ("train", "valid", "test")
    }
    for name, rows in out.items():
        if len(rows) == 0:
            raise ValueError(
                f"the {name} split of the profile windows is empty: check valid={valid!r} and "
                f"test={test!r} against where the peaks/regions are"
            )
    return out


def _check_targets(y: np.ndarray, names: Sequence[str]) -> None:
    for t, name in enumerate(names):
        vals = y[:, t]
        if not np.isfinite(vals).all():
            raise ValueError(f"track {name!r} has non-finite values in the training windows")
        if (vals < 0).any():
            raise ValueError(
                f"track {name!r} has negative values ({float(vals.min()):g}); profile targets are "
                "counts or coverage. Fix: give raw (not log or fold-change) signal"
            )


def load_profile_data(
    genome: str | os.PathLike,
    *,
    tracks: Mapping[str, str | os.PathLike | Mapping[str, Any]],
    strand_pairs: Sequence[Sequence[str]] | None = None,
    peaks: str | os.PathLike | None = None,
    regions: str | Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    input_length: int = 2114,
    output_length: int = 1000,
    bin_size: int = 1,
    target_transform: Literal["sqrt", "log1p"] | None = None,
    background_ratio: float = 0.1,
    stride: int | None = None,
    split: Literal["region", "chrom"] = "chrom",
    valid: str | Sequence[str] | None = None,
    test: str | Sequence[str] | None = None,
    max_jitter: int = 128,
    rc_augment: bool = True,
    max_n_fraction: float = 0.1,
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Sequence windows with base-resolution (or binned) signal targets, for profile and coverage models.

    Parameters
    ----------
    genome : path
        FASTA (plain, gzip or bgzip).
    tracks : mapping name -> track
        Target tracks, one output channel each: a bigWig/wig/bedGraph path, a BAM (read 5' ends; needs
        an index), a fragments file, or a mapping ``{path: ..., strand: "+", atac: true, ...}`` (see
        :func:`genodeep.io.reads.open_track`).
    strand_pairs : list of [plus, minus], optional
        Track names that are the two strands of one signal: a reverse complement swaps them.
    peaks : path, optional
        BED/narrowPeak: windows centred on the summits (column 10) or centres, plus
        ``background_ratio`` times as many GC-matched background windows away from the peaks.
        Without peaks, windows tile ``regions`` (or ``chroms``, or the whole genome) every ``stride``
        bases (default: the output span, so outputs tile the regions).
    input_length, output_length : int
        Sequence length ``L`` and the centred stretch of bases the targets cover (``output_length``
        must be a multiple of ``bin_size``, and ``L - output_length`` even and >= 0).
    bin_size : int
        Bases per output position (1 = base resolution); target values are summed per bin.
    target_transform : {"sqrt", "log1p"}, optional
        Squash binned targets with a large dynamic range (RNA-seq, CAGE coverage) before training a
        coverage model (Poisson or MSE); predicted tracks are transformed back (square, expm1). Not
        for profile + count models, which need raw counts.
    split, valid, test
        Held-out chromosomes (``split: chrom``) or regions (``split: region``, ``"chr:start-end"``).
    max_jitter : int
        Training windows are shifted by up to this many bases (sequence and targets together).
    rc_augment : bool
        Reverse-complement half of each training batch (profiles flipped, strand pairs swapped).
    max_n_fraction : float
        Windows with more N bases are dropped.
    random_state : int, optional
        Seed of the background sampling and augmentation.

    Returns
    -------
    DataBundle
        ``kind="profile"``; splits with ``y`` of shape ``(N, T, output_length // bin_size)`` and
        ``ids`` columns ``chrom, start, end, peak`` (``peak``: centred on a peak, else background or
        tile). ``output`` carries ``output_length``, ``bin_size`` and ``strand_pairs``.
    """
    input_length, output_length = int(input_length), int(output_length)
    for name, v in (("input_length", input_length), ("output_length", output_length),
                    ("bin_size", bin_size)):  # fmt: skip
        check_positive(name, v)
    check_positive("max_jitter", max_jitter, allow_zero=True)
    check_positive("background_ratio", background_ratio, allow_zero=True)
    if stride is not None:
        check_positive("stride", stride)
    check_choice("split", split, ("region", "chrom"))
    check_choice("target_transform", target_transform, [None, *TRANSFORMS])
    if output_length > input_length or (input_length - output_length) % 2:
        raise ValueError(
            f"output_length={output_length} must be <= input_length={input_length} with an even "
            "difference (the output is centred in the input)"
        )
    if (
        output_length % bin_size
        or max_jitter % bin_size
        or (input_length - output_length) // 2 % bin_size
    ):
        raise ValueError(
            f"output_length={output_length}, max_jitter={max_jitter} and the flank "
            f"(input_length - output_length) / 2 = {(input_length - output_length) // 2} must be "
            f"multiples of bin_size={bin_size}"
        )
    if not tracks:
        raise ValueError("tracks: give at least one signal track (name: path)")
    names = [str(k) for k in tracks]
    perm = strand_permutation(names, strand_pairs)
    opened = {name: open_track(spec) for name, spec in tracks.items()}
    g = Genome(genome)
    if peaks is not None:
        fg = peak_windows(g, peaks, input_length)
        n_bg = int(round(background_ratio * len(fg)))
        bg = (
            sample_gc_matched(
                g,
                fg,
                n=n_bg,
                exclude=read_bed(peaks, genome=g, drop_unknown=True),
                chroms=chroms or list(g.chrom_sizes),
                max_n_fraction=max_n_fraction,
                random_state=random_state,
            )[["chrom", "start", "end"]]  # fmt: skip
            if n_bg > 0
            else fg.iloc[:0]
        )
        windows = pd.concat(
            [fg.assign(peak=True), bg.assign(peak=False)], ignore_index=True
        ).sort_values(["chrom", "start"], kind="stable")
    else:
        step = int(stride or output_length)
        windows = _tiles(g, input_length, step, regions, chroms).assign(peak=False)
    windows = windows.reset_index(drop=True)
    codes = g.window_codes(windows["chrom"].tolist(), windows["start"].to_numpy(), input_length)
    keep = (codes >= 4).mean(axis=1) <= max_n_fraction
    windows = windows[keep].reset_index(drop=True)
    if len(windows) == 0:
        raise ValueError(f"no window left with at most {max_n_fraction:.0%} N bases")
    rows = _split_rows(windows, split, valid, test)
    offset = (input_length - output_length) // 2
    splits = {}
    for name in ("valid", "test"):
        w = windows.iloc[rows[name]].reset_index(drop=True)
        y = squash(_bin(profile_targets(opened, w, offset=offset, span=output_length), bin_size),
                   target_transform)  # fmt: skip
        X = one_hot_codes(g.window_codes(w["chrom"].tolist(), w["start"].to_numpy(), input_length))
        splits[name] = Split(X=X, y=np.ascontiguousarray(y), ids=w)
    w = windows.iloc[rows["train"]].reset_index(drop=True)
    j = int(max_jitter)
    t_codes = g.window_codes(w["chrom"].tolist(), w["start"].to_numpy() - j, input_length + 2 * j)
    targets = profile_targets(opened, w, offset=offset - j, span=output_length + 2 * j)
    _check_targets(targets, names)
    ds = ProfileDataset(t_codes, targets, input_length=input_length, bin_size=int(bin_size),
                        transform=target_transform,
                        max_jitter=j, rc_augment=rc_augment, channel_perm=perm,
                        random_state=random_state)  # fmt: skip
    X_train = one_hot_codes(t_codes[:, j : j + input_length])
    splits["train"] = Split(X=X_train, y=ds.y.numpy(), ids=w, dataset=ds)
    if verbose:
        n_peak = int(windows["peak"].sum())
        log(
            f"profile windows of {input_length} bp ({n_peak} on peaks, {len(windows) - n_peak} "
            f"background/tiles): train {len(rows['train'])}, valid {len(rows['valid'])}, test "
            f"{len(rows['test'])}; {len(names)} track(s), output {output_length // bin_size} x "
            f"{bin_size} bp"
        )
    return DataBundle(
        train=splits["train"], valid=splits["valid"], test=splits["test"], task_names=names,
        kind="profile", input_length=input_length, genome=os.fspath(genome),
        model_args={"trim": offset, "crop_bins": offset // bin_size, "bin_size": int(bin_size)},
        output={"output_length": output_length, "bin_size": int(bin_size),
                "target_transform": target_transform,
                "strand_pairs": [list(p) for p in strand_pairs or ()]},
    )  # fmt: skip
