"""Shared pieces of the motif readers and writers: letters, number tokens, matrix checks.

:func:`counts_to_probabilities` and :func:`background_frequencies` are public (exported by
:mod:`genodeep.io`); they sit here, below the MEME (:mod:`genodeep.io.meme`) and JASPAR/PFM
(:mod:`genodeep.io.jaspar`) modules that use them, so that no two motif modules import each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from genodeep._validate import check_positive

__all__ = ["background_frequencies", "counts_to_probabilities"]

_LETTERS = "ACGT"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token)) or token.lower() in ("nan", "inf", "-inf", "+inf")


def _key(text: str) -> str:
    return " ".join(text.split())


def counts_to_probabilities(
    counts: np.ndarray, *, pseudocount: float = 0.0, background: Sequence[float] | None = None
) -> np.ndarray:
    """Turn a count (or unnormalised) matrix into column probabilities.

    Parameters
    ----------
    counts : np.ndarray, shape (4, w)
        Non-negative counts, rows A, C, G, T.
    pseudocount : float
        Total pseudocount added to each column, spread over the letters by ``background``:
        ``p[b, j] = (counts[b, j] + pseudocount * background[b]) / (sum_b counts[b, j] + pseudocount)``
        (the MEME suite's convention). 0 keeps the observed frequencies.
    background : sequence of 4 floats, optional
        Letter frequencies A, C, G, T; uniform by default.

    Returns
    -------
    probs : np.ndarray float64, shape (4, w)
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != 4:
        raise ValueError(
            f"counts had shape {counts.shape} while it should have had (4, w) (rows A, C, G, T)"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and >= 0; got negative, NaN or infinite values")
    check_positive("pseudocount", pseudocount, allow_zero=True)
    bg = background_frequencies(background)
    totals = counts.sum(axis=0) + pseudocount
    if np.any(totals <= 0):
        bad = int(np.flatnonzero(totals <= 0)[0])
        raise ValueError(
            f"column {bad} of the count matrix sums to 0; give pseudocount > 0 or fix the counts"
        )
    return (counts + pseudocount * bg[:, None]) / totals


def background_frequencies(
    background: Sequence[float] | Mapping[str, float] | None,
) -> np.ndarray:
    """Background letter frequencies as a float64 array (4,), validated and normalised.

    Parameters
    ----------
    background : sequence of 4 floats, mapping ``{"A": .., "C": .., "G": .., "T": ..}`` or None
        Positive frequencies for A, C, G, T (normalised to sum to 1); ``None`` gives uniform 0.25.

    Returns
    -------
    bg : np.ndarray float64, shape (4,)
    """
    if background is None:
        return np.full(4, 0.25)
    if isinstance(background, Mapping):
        missing = [b for b in _LETTERS if b not in background]
        if missing:
            raise ValueError(f"background is missing letters {missing}; give A, C, G and T")
        background = [background[b] for b in _LETTERS]
    bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise ValueError(
            f"background must be 4 positive frequencies for A, C, G, T, got {background!r}"
        )
    return bg / bg.sum()


def _check_motifs(
    motifs: Mapping[str, np.ndarray], argument: str = "motifs"
) -> dict[str, np.ndarray]:
    """Validate a mapping of motif name -> (4, w) matrix; return float64 copies."""
    if not isinstance(motifs, Mapping):
        raise TypeError(
            f"{argument} must be a mapping of name -> (4, w) array, got {type(motifs).__name__}"
        )
    if len(motifs) == 0:
        raise ValueError(f"{argument} is empty; give at least one motif")
    out: dict[str, np.ndarray] = {}
    for name, pwm in motifs.items():
        if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
            raise ValueError(f"motif name {name!r} must be a non-empty single-line string")
        arr = np.asarray(pwm.detach().cpu() if hasattr(pwm, "detach") else pwm, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
            raise ValueError(
                f"motif {name!r} had shape {arr.shape} while it should have had (4, w) with w >= 1 "
                "(rows A, C, G, T; transpose a (w, 4) matrix)"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"motif {name!r} has negative, NaN or infinite values")
        out[name] = arr
    return out


def _normalise_columns(pwm: np.ndarray, name: str) -> np.ndarray:
    sums = pwm.sum(axis=0)
    if np.any(sums <= 0):
        raise ValueError(f"motif {name!r} has a column summing to 0; it cannot be written")
    return pwm / sums
