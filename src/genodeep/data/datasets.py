"""torch Datasets of one-hot sequences and targets.

- :class:`GenomeDataset` reads windows of a :class:`~genodeep.io.Genome` on the fly, with
  reverse-complement and random-shift augmentation and optional signal-track targets.
- :class:`SequenceDataset` wraps in-memory one-hot sequences (e.g. from :func:`read_fasta_dataset`),
  with the same reverse-complement and random-shift augmentation (a shifted sequence is padded with
  N, never with invented bases).

Both yield ``(X, y)`` with ``X`` float32 ``(4, L)`` (channels A, C, G, T) and ``y`` float32 ``(T,)``
or ``(T, L_out)``. Both define ``__getitems__``, which PyTorch's ``DataLoader`` calls with the
indices of a whole batch, so a batch of a GenomeDataset costs one gather from the genome, not one
call per window.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from genodeep._io_utils import open_text
from genodeep._validate import InputFileError, check_choice, check_positive
from genodeep.data.augment import AugmentRng, random_shifts, rc_flip, shift_pad
from genodeep.data.intervals import check_windows, window_width
from genodeep.data.labels import labels_from_table
from genodeep.io.fasta import read_fasta
from genodeep.io.signal import SignalTrack
from genodeep.seq import one_hot

__all__ = ["GenomeDataset", "SequenceDataset", "read_fasta_dataset"]


def _as_float_tensor(values: object, argument: str) -> torch.Tensor:
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy(dtype=np.float32)
    t = (
        values.detach().cpu()
        if isinstance(values, torch.Tensor)
        else torch.from_numpy(np.asarray(values, dtype=np.float32))
    )
    if not torch.is_floating_point(t):
        t = t.float()
    return t.to(torch.float32).contiguous()


class GenomeDataset(torch.utils.data.Dataset):
    """Windows of a genome as one-hot sequences with targets, read on the fly.

    Parameters
    ----------
    genome : Genome
        A :class:`genodeep.io.Genome` (picklable: DataLoader workers reopen its memory map).
    windows : pandas.DataFrame, N rows
        chrom/start/end windows, all of the same width L (use :func:`genodeep.data.resize`).
        Chromosome names are resolved to the genome's once, here.
    targets : array-like, optional
        ``(N,)``, ``(N, T)`` labels or ``(N, T, L_out)`` profiles, row i for window i (e.g. from
        :func:`genodeep.data.multitask_labels`); a DataFrame is taken as ``(N, T)``. NaN (missing)
        is kept.
    rc_augment : bool, default False
        Reverse-complement each sample with probability 1/2 (channels and positions flipped;
        profile targets flipped along their length; strand-specific signals are not swapped).
    max_shift : int, default 0
        Shift each window by a random offset in ``[-max_shift, max_shift]`` before reading
        (positions past the chromosome ends read as N). Not allowed with ``(N, T, L_out)``
        ``targets``, which are tied to the unshifted windows: use ``signal`` instead.
    signal : SignalTrack, sequence of SignalTrack or Mapping[str, SignalTrack], optional
        Read profile targets on the fly from signal tracks over the (shifted) window: ``y`` of shape
        ``(T, L // bin_size)``, one row per track. Exclusive with ``targets``.
    bin_size : int, default 1
        Bases per signal bin.
    agg : {"mean", "sum", "max"}, default "mean"
        Signal aggregation within a bin (see :meth:`SignalTrack.values`).
    random_state : int or np.random.Generator, optional
        Seed of the augmentations (reseeded per DataLoader worker).

    Notes
    -----
    ``dataset[i]`` returns ``(X (4, L) float32, y float32)``; without targets or signal ``y`` is an
    empty tensor ``(0,)``. :meth:`get_batch` returns a whole batch from one genome gather, and is
    what a ``DataLoader`` uses (through ``__getitems__``).
    """

    def __init__(
        self,
        genome: object,
        windows: pd.DataFrame,
        targets: object = None,
        *,
        rc_augment: bool = False,
        max_shift: int = 0,
        signal: object = None,
        bin_size: int = 1,
        agg: str = "mean",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        check_windows(windows, "windows")
        if not hasattr(genome, "one_hot"):
            raise TypeError(f"genome must be a genodeep.io.Genome, got {type(genome).__name__}")
        self.genome = genome
        self.length = window_width(windows, "windows")
        self.windows = windows.reset_index(drop=True)[["chrom", "start", "end"]]
        uniq = list(dict.fromkeys(self.windows["chrom"]))
        names = {c: genome.resolve(c) for c in uniq}
        self._chroms = self.windows["chrom"].map(names).to_numpy(dtype=object)
        self._starts = self.windows["start"].to_numpy(dtype=np.int64)
        self.rc_augment = bool(rc_augment)
        self.max_shift = int(max_shift)
        check_positive("max_shift", self.max_shift, allow_zero=True)
        n = len(self.windows)
        self.targets: torch.Tensor | None = None
        self.tracks: list = []
        self.task_names: list[str] | None = None
        if targets is not None and signal is not None:
            raise ValueError("give targets or signal, not both")
        if targets is not None:
            if isinstance(targets, pd.DataFrame):
                self.task_names = [str(c) for c in targets.columns]
            t = _as_float_tensor(targets, "targets")
            if t.ndim == 1:
                t = t[:, None]
            if t.ndim not in (2, 3) or t.shape[0] != n:
                raise ValueError(
                    f"targets had shape {tuple(t.shape)} while it should have had ({n}, T) or "
                    f"({n}, T, L_out): one row per window"
                )
            if t.ndim == 3 and self.max_shift:
                raise ValueError(
                    "max_shift > 0 moves the windows, but profile targets (N, T, L_out) are fixed "
                    "to the unshifted windows. Fix: pass signal= tracks (read over the shifted "
                    "window) or max_shift=0"
                )
            self.targets = t
        if signal is not None:
            if isinstance(signal, SignalTrack):
                signal = [signal]
            if isinstance(signal, Mapping):
                self.task_names = [str(k) for k in signal]
                signal = list(signal.values())
            self.tracks = list(signal)
            if not self.tracks or not all(isinstance(s, SignalTrack) for s in self.tracks):
                raise TypeError("signal must be a SignalTrack, a list of them or a dict of them")
            check_positive("bin_size", int(bin_size))
            check_choice("agg", agg, ("mean", "sum", "max"))
            if self.length % int(bin_size):
                raise ValueError(f"bin_size={bin_size} must divide the window width {self.length}")
        self.bin_size = int(bin_size)
        self.agg = agg
        self._rng = AugmentRng(random_state)

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def n_tasks(self) -> int:
        """Number of targets per window (0 without targets)."""
        if self.targets is not None:
            return int(self.targets.shape[1])
        return len(self.tracks)

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of samples, gathered from the genome in one call.

        Parameters
        ----------
        indices : sequence of int, length B

        Returns
        -------
        X : torch.Tensor float32, shape (B, 4, L)
        y : torch.Tensor float32, shape (B, T), (B, T, L_out) or (B, 0)
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"index out of range for a dataset of {n} windows")
        idx = idx % n if n else idx
        b = len(idx)
        chroms = self._chroms[idx]
        starts = self._starts[idx]
        rng = self._rng.get() if (self.max_shift or self.rc_augment) else None
        if self.max_shift:
            starts = starts + random_shifts(rng, b, self.max_shift)
        # int8 gather, flips and the float conversion in numpy: several times faster than in torch
        x = self.genome.one_hot(list(chroms), starts, self.length).numpy()
        if self.targets is not None:
            y = self.targets[torch.from_numpy(idx)]
        elif self.tracks:
            y = torch.from_numpy(
                np.stack(
                    [
                        t.values(
                            list(chroms), starts, self.length, bin_size=self.bin_size, agg=self.agg
                        )
                        for t in self.tracks
                    ],
                    axis=1,
                )
            )
        else:
            y = torch.zeros((b, 0), dtype=torch.float32)
        if self.rc_augment:
            x, y = rc_flip(rng, x, y)
        return torch.from_numpy(x.astype(np.float32)), y

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = self.get_batch([int(index)])
        return X[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        X, y = self.get_batch(indices)
        return list(zip(X.unbind(0), y.unbind(0)))

    def __repr__(self) -> str:
        extra = []
        if self.rc_augment:
            extra.append("rc_augment")
        if self.max_shift:
            extra.append(f"max_shift={self.max_shift}")
        return (
            f"GenomeDataset({len(self)} windows of {self.length} bp, {self.n_tasks} targets"
            + "".join(", " + e for e in extra)
            + ")"
        )


class SequenceDataset(torch.utils.data.Dataset):
    """In-memory one-hot sequences with optional targets.

    Parameters
    ----------
    X : torch.Tensor or np.ndarray, shape (N, 4, L)
        One-hot sequences in any dtype (int8 storage is compact); samples are returned as float32.
    y : array-like, optional
        ``(N,)``, ``(N, T)`` or ``(N, T, L_out)`` targets (returned as float32; NaN kept).
    rc_augment : bool, default False
        Reverse-complement each sample with probability 1/2 (profile targets flipped too).
    max_shift : int, default 0
        Shift each sample by a random offset ``s`` in ``[-max_shift, max_shift]`` (drawn by
        :func:`genodeep.data.augment.random_shifts`, before the flips): position ``i`` of the
        shifted sequence is position ``i - s`` of the original, and the ``|s|`` positions that
        fall outside it are N (all-zero columns). Unlike :class:`GenomeDataset`, which reads the
        flanking bases from the genome, an in-memory sequence has no flanks, so nothing is
        invented: the model sees the window moved and padded with N, as at a chromosome end. The
        length stays ``L``. Not allowed with ``(N, T, L_out)`` targets (tied to the unshifted
        positions).
    random_state : int or np.random.Generator, optional
        Seed of the augmentations (reseeded per DataLoader worker).
    """

    def __init__(
        self,
        X: object,
        y: object = None,
        *,
        rc_augment: bool = False,
        max_shift: int = 0,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        X = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.asarray(X))
        if X.ndim != 3 or X.shape[1] != 4:
            raise ValueError(f"X had shape {tuple(X.shape)} while it should have had (N, 4, L)")
        self.X = X
        if y is None:
            self.y = torch.zeros((X.shape[0], 0), dtype=torch.float32)
        else:
            t = _as_float_tensor(y, "y")
            if t.ndim == 1:
                t = t[:, None]
            if t.shape[0] != X.shape[0]:
                raise ValueError(
                    f"y had shape {tuple(t.shape)} while it should have had ({X.shape[0]}, ...): "
                    "one row per sequence"
                )
            self.y = t
        self.rc_augment = bool(rc_augment)
        if isinstance(max_shift, bool) or int(max_shift) != max_shift:
            raise ValueError(f"max_shift must be a whole number of bases, got {max_shift!r}")
        self.max_shift = int(max_shift)
        check_positive("max_shift", self.max_shift, allow_zero=True)
        if self.max_shift >= int(X.shape[2]) and self.max_shift:
            raise ValueError(
                f"max_shift={self.max_shift} must be smaller than the sequence length "
                f"{int(X.shape[2])}; a shift that large leaves nothing of the sequence. Fix: "
                "max_shift of a few percent of the length"
            )
        if self.max_shift and self.y.ndim == 3:
            raise ValueError(
                "max_shift > 0 moves the sequences, but profile targets (N, T, L_out) are fixed to "
                "the unshifted positions. Fix: max_shift=0"
            )
        self._rng = AugmentRng(random_state)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X (B, 4, L) float32, y (B, ...) float32)`` for the given indices."""
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64).reshape(-1))
        X = self.X[idx].to(torch.float32)
        y = self.y[idx].clone()
        rng = self._rng.get() if (self.max_shift or self.rc_augment) else None
        if self.max_shift:
            X = shift_pad(X, random_shifts(rng, X.shape[0], self.max_shift))
        if self.rc_augment:
            X, y = rc_flip(rng, X, y)
        return X, y

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = self.get_batch([int(index)])
        return X[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        X, y = self.get_batch(indices)
        return list(zip(X.unbind(0), y.unbind(0)))

    def __repr__(self) -> str:
        extra = (", rc_augment" if self.rc_augment else "") + (
            f", max_shift={self.max_shift}" if self.max_shift else ""
        )
        return (
            f"SequenceDataset({len(self)} sequences of {self.X.shape[2]} bp, "
            f"{self.y.shape[1] if self.y.ndim > 1 else 0} targets{extra})"
        )


# --------------------------------------------------------------------------------------------------
# FASTA data sets

_LABEL_KEYS = ("label", "labels", "y")
_HEADER_FIX = (
    "label records as '>name label=1' (or labels=1,0,1 for several tasks), or '>name|1|0|1', "
    "or pass labels= a table with a name column"
)


def _num(text: str) -> float:
    return float("nan") if text.strip().lower() in ("na", "nan", "") else float(text)


def _parse_header(header: str) -> tuple[str, list[float] | None]:
    """(name, labels or None) of one FASTA header (without '>')."""
    tokens = header.split()
    first = tokens[0]
    for tok in tokens[1:]:
        key, sep, value = tok.partition("=")
        if sep and key.lower() in _LABEL_KEYS:
            return first, [_num(v) for v in value.split(",")]
    if "|" in first:
        name, *rest = first.split("|")
        try:
            return name, [_num(v) for v in rest]
        except ValueError:
            return first, None
    return first, None


def _header_line(path: str, header: str) -> int | None:
    """Line number of a header (slow path, only to name the line in an error)."""

    with open_text(path, "FASTA file") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith(">") and line[1:].strip() == header:
                return lineno
    return None


def read_fasta_dataset(
    path: str | os.PathLike,
    labels: str | os.PathLike | pd.DataFrame | None = None,
) -> tuple[torch.Tensor, np.ndarray | None, list[str]]:
    """Read equal-length sequences and their labels from a FASTA file.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA (plain or gzip) whose records all have the same length L.
    labels : path or pandas.DataFrame, optional
        A table keyed by record name (see :func:`genodeep.data.labels_from_table`; a DataFrame needs a
        ``name`` column and numeric task columns). Every record must be in it; rows are reordered to
        the FASTA's order. Without a table, labels are read from the headers when present, in one of
        these forms (the name is what precedes the labels):

        - ``>name label=1`` (also ``labels=`` or ``y=``; several tasks comma-separated:
          ``>name labels=1,0,1``); other words of the header are ignored;
        - ``>name|1|0|1``: fields after the first ``|`` of the first word, all numbers.

        ``NA``/``nan`` is a missing label (NaN). Either every record carries the same number of labels
        or none does.

    Returns
    -------
    X : torch.Tensor int8, shape (N, 4, L)
        One-hot sequences (A, C, G, T; N and other IUPAC codes all-zero).
    y : np.ndarray float32, shape (N, T), or None
        Labels, or None when there are none.
    names : list[str], length N
        Record names in file order.

    Raises
    ------
    InputFileError
        Naming the file and the record's line: sequences of different lengths, inconsistent header
        labels, records missing from the label table (plus the FASTA reader's own errors).
    """

    path = os.fspath(path)
    records = read_fasta(path, full_header=True)
    headers = list(records)
    seqs = list(records.values())
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    bad = np.flatnonzero(lengths != lengths[0])
    if bad.size:
        k = int(bad[0])
        raise InputFileError(
            f"record {headers[k].split()[0]!r} is {lengths[k]} bp but the first record is "
            f"{lengths[0]} bp; a data set needs sequences of one length",
            path=path,
            line=_header_line(path, headers[k]),
            fix="trim or pad the sequences to one length",
        )
    parsed = []
    for h in headers:
        try:
            parsed.append(_parse_header(h))
        except ValueError:
            raise InputFileError(
                f"cannot read the labels in header {h!r}",
                path=path,
                line=_header_line(path, h),
                fix=_HEADER_FIX,
            ) from None
    names = [p[0] for p in parsed]
    if labels is not None:
        names = [h.split()[0] for h in headers]
        table = labels if isinstance(labels, pd.DataFrame) else labels_from_table(labels)
        if "name" not in table.columns:
            raise ValueError(
                f"the label table needs a 'name' column to match FASTA records; it has "
                f"{list(table.columns)}"
            )
        tasks = table.attrs.get("tasks") or [
            c for c in table.columns if c not in ("name", "chrom", "start", "end")
        ]
        keyed = table.set_index(table["name"].astype(str))
        missing = [n for n in names if n not in keyed.index]
        if missing:
            k = names.index(missing[0])
            raise InputFileError(
                f"{len(missing)} record(s) have no row in the label table, e.g. {missing[:3]}",
                path=path,
                line=_header_line(path, headers[k]),
                fix="add them to the table, or remove them from the FASTA",
            )
        y = keyed.loc[names, tasks].to_numpy(dtype=np.float32)
    else:
        counts = [None if p[1] is None else len(p[1]) for p in parsed]
        if all(c is None for c in counts):
            y = None
        else:
            ref = next(c for c in counts if c is not None)
            for k, c in enumerate(counts):
                if c != ref:
                    raise InputFileError(
                        f"record {names[k]!r} has {c or 0} header label(s) but others have {ref}",
                        path=path,
                        line=_header_line(path, headers[k]),
                        fix=_HEADER_FIX,
                    )
            y = np.array([p[1] for p in parsed], dtype=np.float32)
    dups = pd.Index(names).duplicated()
    if dups.any():
        k = int(np.flatnonzero(dups)[0])
        dup = names[k]
        raise InputFileError(
            f"record name {dup!r} appears twice",
            path=path,
            line=_header_line(path, headers[k]),
            fix="give each record a unique name",
        )
    X = one_hot(seqs)
    return X, y, names
