"""Dinucleotide-preserving shuffles (Altschul & Erickson 1985, via random Eulerian paths).

A sequence is a walk through the graph whose vertices are the letters and whose edges are its
dinucleotides. Every walk that starts at the first letter and uses each edge once spells a sequence
with exactly the same dinucleotide counts (and the same first and last letter). A uniformly random
such walk is drawn by (1) choosing, for every letter other than the last one, which of its exits is
used last, among the choices that form a tree leading to the last letter (drawn with the exact
probabilities, by enumerating the at most 5**4 choices), (2) shuffling the other exits of every
letter, (3) walking. All of it runs in one compiled loop per sequence; its random numbers come from
a splitmix64 stream seeded from ``random_state`` (a numpy seed or ``Generator``), so results are
reproducible.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from genodeep.seq.encode import _onehot_to_array, codes_from_one_hot, one_hot_codes

__all__ = ["dinucleotide_shuffle"]

_N_LETTERS = 5  # A, C, G, T and N (an all-zero column is shuffled as a fifth letter)


_U53 = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(inline="always")
def _splitmix64(state):  # pragma: no cover - compiled
    """One step of splitmix64: (new state, 64 random bits). Inlined; ~1 ns a draw."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _shuffle_kernel(codes, seed, out):  # pragma: no cover - compiled
    """Write ``out[i, r]`` = a random dinucleotide shuffle of ``codes[i]``.

    codes (N, L) uint8 in 0..4; out (N, n, L) uint8. Random numbers come from a splitmix64 stream
    started at ``seed`` (uint64), so the result depends on the seed only.
    """
    state = np.uint64(seed)
    n_seq, length = codes.shape
    n_shuf = out.shape[1]
    A = 5
    n_edges = max(length - 1, 1)
    succ = np.empty(n_edges, np.uint8)
    work = np.empty(n_edges, np.uint8)
    cnt = np.zeros(A, np.int64)
    off = np.zeros(A + 1, np.int64)
    fill = np.zeros(A, np.int64)
    mult = np.zeros((A, A), np.int64)
    verts = np.zeros(A, np.int64)
    parent = np.zeros(A, np.int64)
    ptr = np.zeros(A, np.int64)
    max_comb = A**A
    combs = np.zeros(max_comb, np.int64)
    cumw = np.zeros(max_comb, np.float64)
    for i in range(n_seq):
        seq = codes[i]
        if length < 3:  # nothing can move
            for r in range(n_shuf):
                for p in range(length):
                    out[i, r, p] = seq[p]
            continue
        cnt[:] = 0
        mult[:, :] = 0
        for j in range(length - 1):
            cnt[seq[j]] += 1
            mult[seq[j], seq[j + 1]] += 1
        off[0] = 0
        for v in range(A):
            off[v + 1] = off[v] + cnt[v]
            fill[v] = off[v]
        for j in range(length - 1):
            v = seq[j]
            succ[fill[v]] = seq[j + 1]
            fill[v] += 1
        first = seq[0]
        last = np.int64(seq[length - 1])
        m = 0
        for v in range(A):
            if cnt[v] > 0 and v != last:
                verts[m] = v
                m += 1
        # Enumerate the last-exit choices that form a tree towards `last`, with their weights
        # (the number of labelled edges giving that choice); depends on the sequence only.
        n_valid = 0
        total = 0.0
        n_comb = A**m
        for comb in range(n_comb):
            x = comb
            w = 1.0
            for a in range(m):
                t = x % A
                x //= A
                mm = mult[verts[a], t]
                if mm == 0:
                    w = 0.0
                    break
                parent[verts[a]] = t
                w *= mm
            if w == 0.0:
                continue
            ok = True
            for a in range(m):
                v = verts[a]
                steps = 0
                while v != last and steps <= m:
                    v = parent[v]
                    steps += 1
                if v != last:
                    ok = False
                    break
            if not ok:
                continue
            total += w
            combs[n_valid] = comb
            cumw[n_valid] = total
            n_valid += 1
        for r in range(n_shuf):
            if m > 0:
                state, z = _splitmix64(state)
                target = np.float64(z >> np.uint64(11)) * _U53 * total
                pick = n_valid - 1
                for q in range(n_valid):
                    if cumw[q] > target:
                        pick = q
                        break
                x = combs[pick]
                for a in range(m):
                    parent[verts[a]] = x % A
                    x //= A
            for v in range(A):
                a = off[v]
                b = off[v + 1]
                if b == a:
                    continue
                for t in range(a, b):
                    work[t] = succ[t]
                end = b
                if v != last:
                    p = parent[v]
                    for t in range(a, b):
                        if work[t] == p:
                            work[t] = work[b - 1]
                            work[b - 1] = p
                            break
                    end = b - 1
                for t in range(end - 1, a, -1):
                    state, z = _splitmix64(state)
                    jj = a + np.int64(np.float64(z >> np.uint64(11)) * _U53 * (t - a + 1))
                    if jj > t:
                        jj = t
                    tmp = work[t]
                    work[t] = work[jj]
                    work[jj] = tmp
            for v in range(A):
                ptr[v] = off[v]
            cur = first
            o = out[i, r]
            o[0] = cur
            for p in range(1, length):
                nxt = work[ptr[cur]]
                ptr[cur] += 1
                o[p] = nxt
                cur = nxt


def _check_one_hot(x: np.ndarray) -> None:
    if x.dtype == np.bool_:
        return
    binary = (x == 0) | (x == 1)
    if not binary.all():
        raise ValueError(
            "X must be one-hot (values 0 or 1), but it holds other values. Fix: pass one-hot "
            "sequences (genodeep.seq.one_hot), not attributions or probabilities"
        )
    if x.size and x.sum(axis=1, dtype=np.int64).max() > 1:
        raise ValueError(
            "X must be one-hot (at most one 1 per column), but a column has several 1s. "
            "Fix: pass one-hot sequences (genodeep.seq.one_hot)"
        )


def dinucleotide_shuffle(
    X: torch.Tensor | np.ndarray,
    *,
    n: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> torch.Tensor:
    """Shuffle one-hot sequences preserving their dinucleotide counts exactly.

    Draws uniformly among all sequences with the same dinucleotide counts, first and last letter
    (Altschul & Erickson 1985). An all-zero (N) column is shuffled as a fifth letter, so N runs keep
    their dinucleotides too.

    Parameters
    ----------
    X : torch.Tensor or np.ndarray, shape (N, 4, L) or (4, L)
        One-hot sequences, channels A, C, G, T.
    n : int, default 1
        Shuffles per sequence.
    random_state : int, np.random.Generator or None
        Seed or generator; the same seed gives the same shuffles.

    Returns
    -------
    X_shuf : torch.Tensor, shape (N, n, 4, L), or (n, 4, L) for a (4, L) input
        Same dtype (and device) as ``X``. Sequences shorter than 3 are returned unchanged.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (shuffles per sequence), got {n!r}")
    n = int(n)
    x, single = _onehot_to_array(X)
    _check_one_hot(x)
    codes = np.ascontiguousarray(codes_from_one_hot(x))
    n_seq, length = codes.shape
    rng = np.random.default_rng(random_state)
    out = np.empty((n_seq, n, length), dtype=np.uint8)
    _shuffle_kernel(codes, np.uint64(rng.integers(0, 2**63)), out)
    if isinstance(X, torch.Tensor):
        dtype, device = X.dtype, X.device
    else:
        dtype, device = torch.from_numpy(np.empty(0, dtype=x.dtype)).dtype, None
    X_shuf = one_hot_codes(out.reshape(n_seq * n, length), dtype=dtype)
    X_shuf = X_shuf.reshape(n_seq, n, 4, length)
    if device is not None and device.type != "cpu":
        X_shuf = X_shuf.to(device)
    return X_shuf[0] if single else X_shuf
