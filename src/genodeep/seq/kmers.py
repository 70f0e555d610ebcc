"""k-mer counting (k <= 8) with optional reverse-complement collapsing to canonical k-mers.

k-mers are indexed in base 4 with the first base most significant, so column order is the
lexicographic order of :func:`kmer_names` (``AA..A``, ``AA..C``, ...). Counting runs a rolling base-4
index over each sequence in one compiled pass; a k-mer that contains N (or another IUPAC code) is
skipped.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numba
import numpy as np
import torch

from genodeep.seq.encode import codes_from_one_hot, encode

__all__ = ["kmer_counts", "kmer_names"]

_MAX_K = 8


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer between 1 and {_MAX_K}, got {k!r}")
    if not 1 <= int(k) <= _MAX_K:
        raise ValueError(f"k must be between 1 and {_MAX_K}, got {k}. Fix: choose a smaller k")
    return int(k)


def _rc_index(idx: np.ndarray, k: int) -> np.ndarray:
    """Index of the reverse complement of each k-mer index."""
    rc = np.zeros_like(idx)
    rest = idx.copy()
    for _ in range(k):
        rc = (rc << 2) | (3 - (rest & 3))
        rest >>= 2
    return rc


@functools.lru_cache(maxsize=2 * _MAX_K)
def _column_map(k: int, collapse_rc: bool) -> np.ndarray:
    """int64 (4**k,): column of each k-mer index (its canonical k-mer's column when collapsing)."""
    idx = np.arange(4**k, dtype=np.int64)
    if not collapse_rc:
        out = idx
    else:
        canonical = np.minimum(idx, _rc_index(idx, k))
        _, out = np.unique(canonical, return_inverse=True)
        out = out.astype(np.int64)
    out.flags.writeable = False
    return out


def kmer_names(k: int, *, collapse_rc: bool = False) -> list[str]:
    """Names of the columns of :func:`kmer_counts`.

    Parameters
    ----------
    k : int
        k-mer length, 1 to 8.
    collapse_rc : bool, default False
        Name only canonical k-mers: of a k-mer and its reverse complement, the lexicographically
        smaller one.

    Returns
    -------
    names : list of str, length ``4**k`` (fewer when collapsing: ``(4**k + 4**(k//2)) / 2`` for even k)
    """
    k = _check_k(k)
    names = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    if not collapse_rc:
        return names
    idx = np.arange(4**k, dtype=np.int64)
    keep = np.flatnonzero(idx <= _rc_index(idx, k))
    return [names[i] for i in keep]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _count_kernel(codes, k, colmap, collapse, out):  # pragma: no cover - compiled
    n, length = codes.shape
    mask = (1 << (2 * k)) - 1
    shift = 2 * (k - 1)
    for i in range(n):
        fwd = 0
        rc = 0
        run = 0
        for j in range(length):
            c = np.int64(codes[i, j])
            if c > 3:
                run = 0
                fwd = 0
                rc = 0
                continue
            fwd = ((fwd << 2) | c) & mask
            rc = (rc >> 2) | ((3 - c) << shift)
            run += 1
            if run >= k:
                idx = fwd
                if collapse and rc < fwd:
                    idx = rc
                out[i, colmap[idx]] += 1


def _as_codes(seqs_or_X: object) -> np.ndarray:
    if isinstance(seqs_or_X, (torch.Tensor, np.ndarray)) and not (
        isinstance(seqs_or_X, np.ndarray) and seqs_or_X.dtype.kind in "US"
    ):
        codes = codes_from_one_hot(seqs_or_X)
    else:
        codes = encode(seqs_or_X)  # type: ignore[arg-type]
    if codes.ndim == 1:
        codes = codes[None]
    return np.ascontiguousarray(codes)


def kmer_counts(
    seqs_or_X: str | Sequence[str] | torch.Tensor | np.ndarray,
    k: int,
    *,
    collapse_rc: bool = False,
    normalize: bool = False,
) -> np.ndarray:
    """Count k-mers in each sequence.

    Parameters
    ----------
    seqs_or_X : str, list of str (equal length), or one-hot torch.Tensor / np.ndarray (N, 4, L) or (4, L)
        The sequences. In a one-hot input an all-zero column is N.
    k : int
        k-mer length, 1 to 8.
    collapse_rc : bool, default False
        Count a k-mer and its reverse complement together under the canonical (lexicographically
        smaller) one. A reverse-complement palindrome is counted once per occurrence.
    normalize : bool, default False
        Divide each row by its total (rows with no valid k-mer stay zero).

    Returns
    -------
    counts : np.ndarray of float32, shape (N, n_kmers)
        Columns in the order of ``kmer_names(k, collapse_rc=collapse_rc)``; k-mers containing N or
        another IUPAC code are skipped. Memory is N x n_kmers x 4 bytes (65,536 columns for k=8).
    """
    k = _check_k(k)
    codes = _as_codes(seqs_or_X)
    colmap = _column_map(k, bool(collapse_rc))
    n_cols = int(colmap.max()) + 1
    out = np.zeros((codes.shape[0], n_cols), dtype=np.float32)
    _count_kernel(codes, np.int64(k), colmap, bool(collapse_rc), out)
    if normalize:
        totals = out.sum(axis=1, keepdims=True)
        np.divide(out, totals, out=out, where=totals > 0)
    return out
