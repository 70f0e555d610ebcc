"""Position weight matrix utilities: information content, trimming, reverse complement, log-odds.

Matrices are ``(4, w)`` arrays, rows A, C, G, T: a *PFM* holds counts, a *PWM* here holds column
probabilities (as motif databases store them), and :func:`log_odds` gives the scoring matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from genodeep.io import background_frequencies, counts_to_probabilities

__all__ = [
    "information_content",
    "trim",
    "reverse_complement_pwm",
    "pfm_to_pwm",
    "log_odds",
    "consensus",
]

_LETTERS = "ACGT"


def _as_matrix(pwm, argument: str = "pwm") -> np.ndarray:
    arr = np.asarray(pwm.detach().cpu() if hasattr(pwm, "detach") else pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4:
        raise ValueError(
            f"{argument} had shape {arr.shape} while it should have had (4, w) (rows A, C, G, T; "
            "transpose a (w, 4) matrix)"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argument} has NaN or infinite values")
    return arr


def _as_probabilities(pwm, argument: str = "pwm") -> np.ndarray:
    arr = _as_matrix(pwm, argument)
    if np.any(arr < 0):
        raise ValueError(f"{argument} has negative values; give probabilities (or counts)")
    sums = arr.sum(axis=0)
    if np.any(sums <= 0):
        raise ValueError(f"{argument} has a column summing to 0; give probabilities (or counts)")
    return arr / sums


def information_content(
    pwm: np.ndarray,
    background: Sequence[float] | Mapping[str, float] | None = None,
    *,
    total: bool = False,
) -> np.ndarray | float:
    """Information content (relative entropy to the background, in bits) of each motif position.

    ``IC_j = sum_b p[b, j] * log2(p[b, j] / background[b])`` with ``0 log 0 = 0``; with a uniform
    background this is ``2 - H_j``.

    Parameters
    ----------
    pwm : array, shape (4, w)
        Probabilities (counts are normalised per column), rows A, C, G, T.
    background : sequence of 4 floats or mapping letter -> float, optional
        Letter frequencies; uniform by default.
    total : bool
        Return the motif's total (sum over positions) instead of the per-position array.

    Returns
    -------
    ic : np.ndarray float64, shape (w,), or float when ``total``
    """
    p = _as_probabilities(pwm)
    bg = background_frequencies(background)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg[:, None]), 0.0)
    ic = terms.sum(axis=0)
    return float(ic.sum()) if total else ic


def trim(
    pwm: np.ndarray,
    min_ic: float = 0.2,
    *,
    background: Sequence[float] | None = None,
    return_offset: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """Drop the low-information positions at both ends of a motif.

    Parameters
    ----------
    pwm : array, shape (4, w)
        Probabilities, rows A, C, G, T.
    min_ic : float
        Leading and trailing positions with information content below this (bits) are removed;
        inner positions are kept whatever their information.
    background : sequence of 4 floats, optional
        For the information content; uniform by default.
    return_offset : bool
        Also return the index of the first kept position in the input.

    Returns
    -------
    trimmed : np.ndarray float64, shape (4, w')
        A copy (normalised), ``w' <= w``.
    offset : int
        Only with ``return_offset``.

    Raises
    ------
    ValueError
        No position reaches ``min_ic`` (lower ``min_ic``).
    """
    p = _as_probabilities(pwm)
    ic = information_content(p, background)
    keep = np.flatnonzero(ic >= min_ic)
    if keep.size == 0:
        raise ValueError(
            f"no position of the motif has information content >= min_ic={min_ic} bits "
            f"(maximum {ic.max():.3f}); lower min_ic"
        )
    out = p[:, keep[0] : keep[-1] + 1].copy()
    return (out, int(keep[0])) if return_offset else out


def reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    """Reverse complement of a motif: positions reversed, A<->T and C<->G swapped.

    Parameters
    ----------
    pwm : array, shape (..., 4, w)
        Any matrix with rows A, C, G, T (probabilities, counts, log-odds or attributions).

    Returns
    -------
    rc : np.ndarray, shape (..., 4, w)
        A new array.
    """
    arr = np.asarray(pwm.detach().cpu() if hasattr(pwm, "detach") else pwm)
    if arr.ndim < 2 or arr.shape[-2] != 4:
        raise ValueError(f"pwm had shape {arr.shape} while it should have had (..., 4, w)")
    return arr[..., ::-1, ::-1].copy()


def pfm_to_pwm(
    pfm: np.ndarray,
    *,
    pseudocount: float = 0.0,
    background: Sequence[float] | None = None,
) -> np.ndarray:
    """Counts to column probabilities, with an optional pseudocount.

    ``p[b, j] = (n[b, j] + pseudocount * background[b]) / (sum_b n[b, j] + pseudocount)``: the
    pseudocount is the total added per column, spread by the background (MEME suite convention).

    Parameters
    ----------
    pfm : array, shape (4, w)
        Non-negative counts, rows A, C, G, T.
    pseudocount : float
        Total pseudocount per column (0 keeps the observed frequencies).
    background : sequence of 4 floats, optional
        Letter frequencies; uniform by default.

    Returns
    -------
    pwm : np.ndarray float64, shape (4, w)
    """
    return counts_to_probabilities(
        _as_matrix(pfm, "pfm"), pseudocount=pseudocount, background=background
    )


def log_odds(
    pwm: np.ndarray,
    background: Sequence[float] | Mapping[str, float] | None = None,
    *,
    pseudocount: float = 0.1,
) -> np.ndarray:
    """Log-odds scoring matrix ``log2(p' / background)`` in bits.

    The probabilities are smoothed first, ``p' = (p + pseudocount * background) / (1 + pseudocount)``,
    so that a zero probability gives a finite penalty.

    Parameters
    ----------
    pwm : array, shape (4, w)
        Probabilities (counts are normalised per column), rows A, C, G, T.
    background : sequence of 4 floats or mapping, optional
        Letter frequencies; uniform by default.
    pseudocount : float
        Smoothing weight (>= 0; 0 may give ``-inf``).

    Returns
    -------
    scores : np.ndarray float64, shape (4, w)
        The score of a word is the sum of ``scores[letter_j, j]``.
    """
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount!r}")
    p = _as_probabilities(pwm)
    bg = background_frequencies(background)[:, None]
    smoothed = (p + pseudocount * bg) / (1.0 + pseudocount)
    with np.errstate(divide="ignore"):
        return np.log2(smoothed / bg)


# IUPAC codes for sets of letters
_IUPAC = {
    frozenset("A"): "A",
    frozenset("C"): "C",
    frozenset("G"): "G",
    frozenset("T"): "T",
    frozenset("AG"): "R",
    frozenset("CT"): "Y",
    frozenset("CG"): "S",
    frozenset("AT"): "W",
    frozenset("GT"): "K",
    frozenset("AC"): "M",
    frozenset("CGT"): "B",
    frozenset("AGT"): "D",
    frozenset("ACT"): "H",
    frozenset("ACG"): "V",
    frozenset("ACGT"): "N",
}


def consensus(pwm: np.ndarray, *, iupac: bool = False) -> str:
    """Consensus sequence of a motif.

    Parameters
    ----------
    pwm : array, shape (4, w)
        Probabilities or counts, rows A, C, G, T.
    iupac : bool
        False: the most probable letter per position (ties -> the first of A, C, G, T).
        True: Cavener's rules (Nucleic Acids Res 1987): a single letter when its probability is
        > 0.5 and more than twice the second; else a two-letter code (R, Y, S, W, K, M) when the two
        most probable letters together exceed 0.75; else a three-letter code (B, D, H, V) when one
        letter is below 0.05 (our extension for near-absent letters); else N.

    Returns
    -------
    consensus : str
        ``w`` letters.
    """
    p = _as_probabilities(pwm)
    if not iupac:
        return "".join(_LETTERS[i] for i in p.argmax(axis=0))
    out = []
    for col in p.T:
        order = np.argsort(-col, kind="stable")
        first, second = col[order[0]], col[order[1]]
        if first > 0.5 and first > 2 * second:
            letters = order[:1]
        elif first + second > 0.75:
            letters = order[:2]
        elif col[order[3]] < 0.05:
            letters = order[:3]
        else:
            letters = order
        out.append(_IUPAC[frozenset(_LETTERS[i] for i in letters)])
    return "".join(out)
