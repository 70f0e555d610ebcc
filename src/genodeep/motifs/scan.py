"""FIMO-like motif scanning: log-odds scores of every window, with exact p-values.

Every motif is turned into a log-odds matrix (:func:`genodeep.motifs.pwm.log_odds`, bits). All
sequences are scored at once by a 1-D convolution (torch) on both strands. A window's p-value is the
probability that a random word drawn from the background scores at least as high; it is computed
exactly by dynamic programming over the motif's log-odds rounded to multiples of ``bin_size`` bits,
as FIMO and the MEME suite do (Grant, Bailey & Noble 2011). Windows containing N are not scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from genodeep._device import resolve_device
from genodeep._progress import progress
from genodeep.io import background_frequencies
from genodeep.motifs.pwm import log_odds, reverse_complement_pwm
from genodeep.seq.encode import one_hot

__all__ = ["scan"]

_HIT_COLUMNS = ["seq", "motif", "start", "end", "strand", "score", "p_value"]


def _integer_log_odds(
    pwm: np.ndarray, background: np.ndarray, pseudocount: float, bin_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """Real and integerised log-odds of a motif.

    Returns
    -------
    scores : np.ndarray float64, shape (4, w)
        Log-odds in bits.
    ints : np.ndarray int64, shape (4, w)
        ``round(scores / bin_size)`` shifted per column so that each column's minimum is 0; the
        integer score of a word is the sum of its entries.
    """
    scores = log_odds(pwm, background, pseudocount=pseudocount)
    if not np.all(np.isfinite(scores)):
        raise ValueError(
            "a motif has zero probabilities and pseudocount=0 gives -inf log-odds; use pseudocount > 0"
        )
    ints = np.rint(scores / bin_size).astype(np.int64)
    ints -= ints.min(axis=0, keepdims=True)
    return scores, ints


def _score_sf(ints: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Exact null distribution of the integer score of a word of i.i.d. background letters.

    Parameters
    ----------
    ints : np.ndarray int64, shape (4, w)
        Non-negative integer score matrix.
    background : np.ndarray, shape (4,)
        Letter probabilities.

    Returns
    -------
    sf : np.ndarray float64, shape (max_score + 1,)
        ``sf[k] = P(score >= k)``.
    """
    pmf = np.ones(1)
    for col in ints.T:
        new = np.zeros(pmf.size + int(col.max()))
        for b in range(4):
            new[col[b] : col[b] + pmf.size] += background[b] * pmf
        pmf = new
    sf = np.cumsum(pmf[::-1])[::-1]
    return np.minimum(sf, 1.0)


def _as_one_hot(X) -> torch.Tensor:
    """Sequences (str, list of str, array or tensor) -> float32 tensor (N, 4, L)."""
    if isinstance(X, (str, bytes)):
        X = [X]
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], (str, bytes)):
        lengths = {len(s) for s in X}
        if len(lengths) > 1:  # pad with N (all-zero columns, never scored)
            width = max(lengths)
            X = [s + ("N" if isinstance(s, str) else b"N") * (width - len(s)) for s in X]
        return one_hot(list(X), dtype=torch.float32)
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(X)
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            "X must be a str, a list of str, or a one-hot array/tensor of shape (N, 4, L); "
            f"got {type(X).__name__}"
        )
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[1] != 4:
        raise ValueError(
            f"X had shape {tuple(X.shape)} while it should have had (N, 4, L) (channels A, C, G, T)"
        )
    return X


def _as_motif_dict(motifs) -> dict[str, np.ndarray]:
    if isinstance(motifs, Mapping):
        items = dict(motifs)
    elif isinstance(motifs, (np.ndarray, torch.Tensor)) and motifs.ndim == 2:
        items = {"motif": motifs}
    elif isinstance(motifs, (np.ndarray, torch.Tensor)) and motifs.ndim == 3:
        items = {str(i): m for i, m in enumerate(motifs)}
    elif isinstance(motifs, Sequence) and not isinstance(motifs, str):
        items = {str(i): m for i, m in enumerate(motifs)}
    else:
        raise TypeError(
            "motifs must be a mapping name -> (4, w) array, a list of (4, w) arrays or one (4, w) "
            f"array; got {type(motifs).__name__}"
        )
    if not items:
        raise ValueError("motifs is empty; give at least one motif")
    out = {}
    for name, m in items.items():
        arr = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
            raise ValueError(
                f"motif {name!r} had shape {arr.shape} while it should have had (4, w) "
                "(rows A, C, G, T)"
            )
        out[str(name)] = arr
    return out


def scan(
    X: str | Sequence[str] | np.ndarray | torch.Tensor,
    motifs: Mapping[str, np.ndarray] | Sequence[np.ndarray] | np.ndarray,
    *,
    threshold: float = 1e-4,
    background: Sequence[float] | Mapping[str, float] | None = None,
    pseudocount: float = 0.1,
    both_strands: bool = True,
    bin_size: float = 0.01,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Find motif matches with p-values (FIMO-like).

    Parameters
    ----------
    X : str, list of str, or array/tensor of shape (N, 4, L) or (4, L)
        Sequences. Strings of different lengths are padded with N. One-hot input: channels A, C, G,
        T; an all-zero column (N) makes every window containing it unscored.
    motifs : Mapping[str, array (4, w)], list of arrays, array (K, 4, w), or one array (4, w)
        Probabilities (counts are normalised), rows A, C, G, T. List/stack items are named "0",
        "1", ..., a single array "motif".
    threshold : float
        Report windows with p-value <= threshold (FIMO's default 1e-4).
    background : sequence of 4 floats or mapping, optional
        Letter frequencies for the log-odds and the null model; uniform by default.
    pseudocount : float
        Smoothing of the motif probabilities before the log (see :func:`log_odds`).
    both_strands : bool
        Also score the reverse complement of each motif (hits on the ``-`` strand).
    bin_size : float
        Resolution (bits) of the integerised scores used for the exact p-values; the p-value of a
        window is exact for its score rounded column by column to this grid.
    batch_size : int, optional
        Sequences per convolution; by default chosen so that one batch's scores take ~64 MB.
    device : str or torch.device, optional
        ``None``: CUDA when available.
    verbose : bool
        Progress bar over batches.

    Returns
    -------
    hits : pandas.DataFrame
        One row per window passing the threshold, sorted by p-value: ``seq`` (row of ``X``),
        ``motif`` (name), ``start``, ``end`` (0-based, end exclusive, on the + strand of the
        sequence, for both strands), ``strand`` (``+``: the motif matches as given; ``-``: its
        reverse complement matches), ``score`` (log-odds, bits), ``p_value``.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a p-value in (0, 1], got {threshold!r}")
    if not bin_size > 0:
        raise ValueError(f"bin_size must be > 0 (bits), got {bin_size!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    bg = background_frequencies(background)
    named = _as_motif_dict(motifs)
    X = _as_one_hot(X)
    names = list(named)
    strands = ("+", "-") if both_strands else ("+",)
    n_str = len(strands)
    widths = np.array([named[k].shape[1] for k in names])

    # One channel per (motif m, strand s): index m * n_str + s. Channels are grouped by motif width
    # so that each group is one matrix product over the unfolded windows, with no padding waste.
    n_ch = len(names) * n_str
    ch_width = np.repeat(widths, n_str)
    int_mats: list[np.ndarray] = []
    real_mats: list[np.ndarray] = []
    sf_parts, sf_offsets, k_thr = [], [], np.zeros(n_ch, dtype=np.int64)
    offset = 0
    for m, name in enumerate(names):
        for s, strand in enumerate(strands):
            pwm = named[name] if strand == "+" else reverse_complement_pwm(named[name])
            scores, ints = _integer_log_odds(pwm, bg, pseudocount, bin_size)
            sf = _score_sf(ints, bg)
            if sf.size > 2**24:
                raise ValueError(
                    f"motif {name!r} spans {sf.size} score bins at bin_size={bin_size}; use a "
                    "larger bin_size"
                )
            passing = np.flatnonzero(sf <= threshold)
            k_thr[m * n_str + s] = passing[0] if passing.size else sf.size
            int_mats.append(ints)
            real_mats.append(scores)
            sf_parts.append(sf)
            sf_offsets.append(offset)
            offset += sf.size
    sf_all = np.concatenate(sf_parts)
    sf_off = np.asarray(sf_offsets, dtype=np.int64)

    n, _, length = X.shape
    if n == 0 or length < int(widths.min()):
        return _empty_hits()
    dev = resolve_device(device)
    # Integer scores must be exact: float32 is exact for integers < 2**24 on the CPU, but CUDA
    # matmuls may run in TF32 (torch.set_float32_matmul_precision), so use float64 there.
    cdtype = torch.float64 if dev.type == "cuda" else torch.float32
    groups = []
    for w in np.unique(ch_width):
        if w > length:
            continue
        chans = np.flatnonzero(ch_width == w)
        # (4 * w, C_g) with row index b * w + j, matching the unfolded window layout below
        I_g = np.stack([int_mats[c].reshape(-1) for c in chans], axis=1).astype(np.float32)
        S_g = np.stack([real_mats[c].reshape(-1) for c in chans], axis=1).astype(np.float32)
        groups.append(
            (
                int(w),
                torch.from_numpy(chans).to(dev),
                torch.from_numpy(I_g).to(dev, cdtype),
                torch.from_numpy(S_g).to(dev, cdtype),
                torch.from_numpy(k_thr[chans].astype(np.float64) - 0.5).to(dev, cdtype),
            )
        )
    if batch_size is None:
        per_seq = length * (4 * int(widths.max()) + n_ch)
        batch_size = max(1, int(2**23 // max(per_seq, 1)))
    seq_idx, ch_idx, pos_idx, real, ints_hit = [], [], [], [], []
    starts = range(0, n, batch_size)
    with torch.no_grad():
        for start in progress(starts, total=len(starts), desc="scan", verbose=verbose):
            xb = X[start : start + batch_size].to(dev).to(cdtype)
            b = xb.shape[0]
            # prefix sums of the per-position coverage (1 for A/C/G/T, 0 for N)
            cov = torch.nn.functional.pad(xb.sum(dim=1).cumsum(dim=1), (1, 0))
            for w, chans, I_g, S_g, thr in groups:
                n_pos = length - w + 1
                U = xb.unfold(2, w, 1).permute(0, 2, 1, 3).reshape(b * n_pos, 4 * w)
                ints_b = U @ I_g  # (b * n_pos, C_g) integer scores, exact
                above = ints_b > thr
                rows_any = above.any(dim=1).nonzero(as_tuple=True)[0]  # hits are rare
                if rows_any.numel() == 0:
                    continue
                sub, col = above[rows_any].nonzero(as_tuple=True)
                row = rows_any[sub]
                seq_b, pos = row // n_pos, row % n_pos
                full = (cov[seq_b, pos + w] - cov[seq_b, pos]) > w - 0.5  # no N in the window
                row, col, seq_b, pos = row[full], col[full], seq_b[full], pos[full]
                if row.numel() == 0:
                    continue
                seq_idx.append((seq_b + start).cpu().numpy())
                ch_idx.append(chans[col].cpu().numpy())
                pos_idx.append(pos.cpu().numpy())
                real.append((U[row] * S_g[:, col].T).sum(dim=1).double().cpu().numpy())
                ints_hit.append(torch.round(ints_b[row, col]).long().cpu().numpy())
    if not seq_idx:
        return _empty_hits()
    seq_a = np.concatenate(seq_idx)
    ch_a = np.concatenate(ch_idx)
    pos_a = np.concatenate(pos_idx)
    p = sf_all[sf_off[ch_a] + np.concatenate(ints_hit)]
    motif_a = ch_a // n_str
    hits = pd.DataFrame(
        {
            "seq": seq_a.astype(np.int64),
            "motif": np.asarray(names, dtype=object)[motif_a],
            "start": pos_a.astype(np.int64),
            "end": (pos_a + widths[motif_a]).astype(np.int64),
            "strand": np.asarray(strands)[ch_a % n_str],
            "score": np.concatenate(real),
            "p_value": p,
        },
        columns=_HIT_COLUMNS,
    )
    hits = hits.sort_values(["p_value", "seq", "start"], kind="stable").reset_index(drop=True)
    return hits


def _empty_hits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "seq": pd.Series(dtype=np.int64),
            "motif": pd.Series(dtype=object),
            "start": pd.Series(dtype=np.int64),
            "end": pd.Series(dtype=np.int64),
            "strand": pd.Series(dtype=object),
            "score": pd.Series(dtype=np.float64),
            "p_value": pd.Series(dtype=np.float64),
        }
    )
