"""TOMTOM-like motif comparison against a database, with q-values.

The alignment scores and p-values come from memelite's implementation of TOMTOM (Gupta et al. 2007,
"complete" scoring; column similarity = negative Euclidean distance; p-values from the distribution
of scores of the query's columns against all target columns). This module adds names, the
orientation, E-values and Benjamini–Hochberg q-values, and returns a tidy table.

memelite compiles its kernels with numba on first use (about a minute once per environment; the
compiled code is cached beside the package afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from genodeep._validate import require
from genodeep.io.motifs import read_motifs

__all__ = ["compare", "benjamini_hochberg"]

_COLUMNS = [
    "query",
    "target",
    "offset",
    "overlap",
    "orientation",
    "score",
    "p_value",
    "e_value",
    "q_value",
]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values (step-up, monotone, capped at 1).

    Parameters
    ----------
    p_values : array, shape (n,)

    Returns
    -------
    q_values : np.ndarray float64, shape (n,)
        ``q_(i) = min_{j >= i} p_(j) * n / j`` over the sorted p-values, in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64).reshape(-1)
    n = p.size
    if n == 0:
        return p.copy()
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p_values must lie in [0, 1] without NaN")
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(ranked, 1.0)
    return q


def _named_motifs(motifs, argument: str) -> dict[str, np.ndarray]:
    if isinstance(motifs, (str, os.PathLike)):
        motifs = read_motifs(motifs)
    if isinstance(motifs, Mapping):
        items = dict(motifs)
    elif (isinstance(motifs, np.ndarray) or hasattr(motifs, "detach")) and motifs.ndim == 2:
        items = {"motif": motifs}
    elif isinstance(motifs, Sequence) or (
        (isinstance(motifs, np.ndarray) or hasattr(motifs, "detach")) and motifs.ndim == 3
    ):
        items = {str(i): m for i, m in enumerate(motifs)}
    else:
        raise TypeError(
            f"{argument} must be a mapping name -> (4, w) array, a list of (4, w) arrays, one (4, w) "
            f"array or a motif file path; got {type(motifs).__name__}"
        )
    if not items:
        raise ValueError(f"{argument} is empty; give at least one motif")
    out = {}
    for name, m in items.items():
        arr = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
            raise ValueError(
                f"{argument}: motif {name!r} had shape {arr.shape} while it should have had (4, w) "
                "(rows A, C, G, T)"
            )
        if not np.all(np.isfinite(arr)) or np.all(arr == 0):
            raise ValueError(f"{argument}: motif {name!r} is all zero or has NaN/infinite values")
        out[str(name)] = arr
    return out


def compare(
    queries: Mapping[str, np.ndarray] | Sequence[np.ndarray] | np.ndarray | str | os.PathLike,
    targets: Mapping[str, np.ndarray] | Sequence[np.ndarray] | str | os.PathLike,
    *,
    n_nearest: int | None = None,
    max_q: float | None = None,
    reverse_complement: bool = True,
    n_score_bins: int = 100,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Compare query motifs with a motif database (TOMTOM-like).

    Parameters
    ----------
    queries : Mapping[str, array (4, w)], list or stack (K, 4, w) of arrays, one array, or a path
        Query motifs (probabilities or other non-negative matrices such as CWMs), rows A, C, G, T.
    targets : Mapping[str, array (4, w)], list of arrays, or a motif file path
        The database, e.g. ``read_motifs("JASPAR2024_CORE_insects.meme")``. The p-values use the
        target columns as background: give a full database (>= 25 targets; memelite warns below).
    n_nearest : int, optional
        Keep only the best ``n_nearest`` targets of each query (q-values are still computed over all
        targets).
    max_q : float, optional
        Keep only matches with q-value <= ``max_q``.
    reverse_complement : bool
        Also align each query with the reverse complement of every target.
    n_score_bins : int
        Score discretisation of TOMTOM's p-value computation (memelite's default 100).
    n_jobs : int
        numba threads (-1: all).

    Returns
    -------
    matches : pandas.DataFrame
        One row per (query, target), queries in input order, each sorted by p-value:
        ``query``, ``target`` (names); ``offset``: column of the target (in the orientation used)
        aligned with the query's first column (negative when the query overhangs the target's left
        end); ``overlap``: aligned columns; ``orientation``: ``+`` the target as given, ``-`` its
        reverse complement; ``score`` (TOMTOM's integerised alignment score); ``p_value``;
        ``e_value`` (p-value x number of targets); ``q_value`` (Benjamini–Hochberg over the
        query's p-values against all targets).
    """
    require("memelite", "interpret")
    from memelite import tomtom

    q = _named_motifs(queries, "queries")
    t = _named_motifs(targets, "targets")
    if n_nearest is not None and (isinstance(n_nearest, bool) or int(n_nearest) < 1):
        raise ValueError(f"n_nearest must be a positive integer or None, got {n_nearest!r}")
    if max_q is not None and not 0 < max_q <= 1:
        raise ValueError(f"max_q must lie in (0, 1], got {max_q!r}")
    if n_score_bins < 2:
        raise ValueError(f"n_score_bins must be >= 2, got {n_score_bins!r}")
    q_names, t_names = list(q), list(t)
    res = tomtom(
        [np.asarray(q[k], dtype=np.float64) for k in q_names],
        [np.asarray(t[k], dtype=np.float64) for k in t_names],
        n_nearest=None,
        n_score_bins=n_score_bins,
        reverse_complement=reverse_complement,
        n_jobs=n_jobs,
    )
    p, score, offset, overlap, strand = res[:5]
    n_q, n_t = p.shape
    p = np.clip(p, 0.0, 1.0)
    qvals = np.vstack([benjamini_hochberg(p[i]) for i in range(n_q)])
    table = pd.DataFrame(
        {
            "query": np.repeat(np.asarray(q_names, dtype=object), n_t),
            "target": np.tile(np.asarray(t_names, dtype=object), n_q),
            "offset": offset.reshape(-1).astype(np.int64),
            "overlap": overlap.reshape(-1).astype(np.int64),
            "orientation": np.where(strand.reshape(-1) > 0.5, "-", "+"),
            "score": score.reshape(-1),
            "p_value": p.reshape(-1),
            "e_value": p.reshape(-1) * n_t,
            "q_value": qvals.reshape(-1),
            "_q": np.repeat(np.arange(n_q), n_t),
        }
    )
    table = table.sort_values(
        ["_q", "p_value", "score"], ascending=[True, True, False], kind="stable"
    )
    if n_nearest is not None:
        table = table.groupby("_q", sort=False).head(int(n_nearest))
    if max_q is not None:
        table = table[table["q_value"] <= max_q]
    return table.drop(columns="_q").reset_index(drop=True)[_COLUMNS]
