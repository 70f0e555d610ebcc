"""Stream per-base or per-bin values into a bigWig, in coordinate order, with bounded memory.

>>> with BigWigWriter("pred.bw", {"chr1": 1000}) as bw:      # doctest: +SKIP
...     bw.add("chr1", 0, values)              # values (n,) per base from 0
...     bw.add("chr1", 500, binned, span=32)   # one value per 32-bp bin from 500

The file is written through a temporary file and moved into place when the block ends without an
error, so a failed run never leaves a half-written bigWig.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

import numpy as np

from genodeep._io_utils import atomic_path
from genodeep._validate import require

__all__ = ["BigWigWriter"]


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal, finite values in ``values`` (n,): ``(first index, end index, value)``."""
    n = len(values)
    change = np.ones(n, dtype=bool)
    change[1:] = values[1:] != values[:-1]  # NaN != NaN: NaNs are single runs, dropped below
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    vals = values[starts]
    keep = np.isfinite(vals)
    return starts[keep], ends[keep], vals[keep]


class BigWigWriter:
    """A bigWig opened for writing; add values chromosome by chromosome, left to right.

    Parameters
    ----------
    path : str or os.PathLike
        The bigWig to write.
    chrom_sizes : Mapping[str, int]
        The header: chromosome names and sizes, in the order entries must follow.

    Notes
    -----
    Runs of equal values are stored as one entry, NaN values are left out (no data). Entries must come
    in header order and, within a chromosome, must not overlap the previous one; both are checked
    and refused with a message, since pyBigWig would otherwise write a corrupt file.
    """

    def __init__(self, path: str | os.PathLike, chrom_sizes: Mapping[str, int]) -> None:
        self.path = os.fspath(path)
        self.chrom_sizes = {str(c): int(s) for c, s in chrom_sizes.items()}
        if not self.chrom_sizes:
            raise ValueError("chrom_sizes is empty; a bigWig needs at least one chromosome")
        self._order = {c: i for i, c in enumerate(self.chrom_sizes)}
        self._stack: contextlib.ExitStack | None = None
        self._bw = None
        self._chrom_rank = -1
        self._end = 0

    def __enter__(self) -> BigWigWriter:
        pyBigWig = require("pyBigWig", "bigwig")
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_path(self.path))
        self._bw = pyBigWig.open(tmp, "w")
        self._bw.addHeader(list(self.chrom_sizes.items()))
        self._stack = stack
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        bw, stack = self._bw, self._stack
        self._bw = self._stack = None
        if bw is not None:
            bw.close()
        if stack is not None:
            return bool(stack.__exit__(exc_type, exc, tb))
        return False

    def add(
        self, chrom: str, start: int, values: np.ndarray, *, span: int = 1, end: int | None = None
    ) -> None:
        """Write ``values`` (n,) from ``start``: value ``i`` covers ``[start + i*span, start + (i+1)*span)``.

        Values past the chromosome end, or past ``end`` when given, are cut off (a last span that
        crosses it is shortened). Raises ``ValueError`` for an unknown chromosome, a chromosome out of
        header order, or a start before the end of the previous entry.
        """
        if self._bw is None:
            raise RuntimeError("BigWigWriter.add outside its `with` block")
        chrom = str(chrom)
        if chrom not in self._order:
            raise ValueError(
                f"chromosome {chrom!r} is not in the bigWig header ({', '.join(self.chrom_sizes)})"
            )
        rank = self._order[chrom]
        if rank < self._chrom_rank:
            raise ValueError(
                f"{chrom!r} comes after {list(self.chrom_sizes)[self._chrom_rank]!r} in the header; "
                "add chromosomes in header order"
            )
        if rank > self._chrom_rank:
            self._chrom_rank, self._end = rank, 0
        start, span = int(start), int(span)
        if span < 1:
            raise ValueError(f"span must be >= 1, got {span}")
        if start < self._end:
            raise ValueError(
                f"{chrom}:{start} starts before the end of the previous entry ({self._end}); add "
                "non-overlapping values left to right"
            )
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        size = self.chrom_sizes[chrom] if end is None else min(int(end), self.chrom_sizes[chrom])
        n_fit = max(0, min(len(values), -(-(size - start) // span)))
        if n_fit == 0:
            return
        values = values[:n_fit]
        n_whole = n_fit if start + n_fit * span <= size else n_fit - 1  # spans that end in bounds
        if (
            n_whole >= 64
            and np.isfinite(values).all()
            and np.count_nonzero(np.diff(values)) > n_fit // 4
        ):
            # few equal neighbours (predictions): one fixed-step entry, much faster than runs
            self._bw.addEntries(chrom, start, values=values[:n_whole], span=span, step=span)
            self._end = start + n_whole * span
            if n_whole < n_fit:  # the last span, shortened at the end
                self._bw.addEntries([chrom], [self._end], ends=[size], values=[float(values[-1])])
                self._end = size
            return
        first, last, vals = _runs(values)
        if len(first) == 0:
            self._end = min(size, start + n_fit * span)
            return
        starts = start + first * span
        ends = np.minimum(start + last * span, size)
        self._bw.addEntries([chrom] * len(starts), starts.tolist(), ends=ends.tolist(),
                            values=vals.tolist())  # fmt: skip
        self._end = min(size, start + n_fit * span)
