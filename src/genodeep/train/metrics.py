"""Evaluation metrics per task and summarised: auROC, auPRC, accuracy, Pearson, Spearman, MSE.

All functions take ``y_true`` and ``y_pred`` as numpy arrays or torch tensors of shape (N, T) (a 1-D
array is one task; a 3-D (N, T, L) profile array is evaluated per task over all N × L positions) and an
optional boolean ``mask`` of the same shape (true = keep). ``NaN`` in ``y_true`` means a missing label
and is skipped. A task whose metric is undefined (one class only, a constant vector, no labels) gets
``NaN`` — never an exception — and :func:`evaluate_predictions` says why in its ``note`` column.

The implementations are vectorised numpy (ranks via ``scipy.stats.rankdata``); tests check them against
scikit-learn's ``roc_auc_score``/``average_precision_score`` and scipy's ``pearsonr``/``spearmanr``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = [
    "auroc",
    "auprc",
    "binary_accuracy",
    "pearson",
    "spearman",
    "mse",
    "evaluate_predictions",
    "BINARY_METRICS",
    "REGRESSION_METRICS",
]

BINARY_METRICS = ("auroc", "auprc", "accuracy")
REGRESSION_METRICS = ("pearson", "spearman", "mse")


# ------------------------------------------------------------------------------------- inputs
def _to_numpy(a, name: str) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().float().cpu().numpy() if a.is_floating_point() else a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype == bool:
        return arr
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim == 1:
        return a[:, None]
    if a.ndim == 2:
        return a
    if a.ndim == 3:  # (N, T, L) -> (N * L, T)
        return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
    raise ValueError(f"{name} must have shape (N,), (N, T) or (N, T, L); got {a.shape}")


def _prepare(y_true, y_pred, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (y_true, y_pred, keep) as 2-D (n, T) arrays; keep excludes NaN labels and mask==False."""
    yt = _to_numpy(y_true, "y_true").astype(np.float64, copy=False)
    yp = _to_numpy(y_pred, "y_pred").astype(np.float64, copy=False)
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true had shape {yt.shape} while y_pred had {yp.shape}; they must have the same shape"
        )
    keep = ~np.isnan(yt)
    if mask is not None:
        m = _to_numpy(mask, "mask")
        try:
            m = np.broadcast_to(m.astype(bool), yt.shape)
        except ValueError as err:
            raise ValueError(
                f"mask had shape {m.shape} while it should broadcast to y_true's {yt.shape}"
            ) from err
        keep = keep & m
    return _as_2d(yt, "y_true"), _as_2d(yp, "y_pred"), _as_2d(keep, "mask")


def _per_task(fn, y_true, y_pred, mask) -> np.ndarray:
    yt, yp, keep = _prepare(y_true, y_pred, mask)
    out = np.full(yt.shape[1], np.nan)
    for t in range(yt.shape[1]):
        k = keep[:, t]
        out[t] = fn(yt[k, t], yp[k, t])
    return out


# ------------------------------------------------------------------------------- single task
def _auroc_1d(y: np.ndarray, s: np.ndarray) -> float:
    pos = y > 0.5
    n_pos = int(pos.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0 or np.isnan(s).any():
        return np.nan
    ranks = rankdata(s)  # average ranks handle ties like sklearn
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _auprc_1d(y: np.ndarray, s: np.ndarray) -> float:
    pos = y > 0.5
    n_pos = int(pos.sum())
    if n_pos == 0 or n_pos == y.size or np.isnan(s).any():
        return np.nan
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    tp = np.cumsum(pos[order])
    # one point per distinct threshold: the last index of each tied group
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tp = tp[last]
    precision = tp / (last + 1.0)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _accuracy_1d(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    if y.size == 0 or np.isnan(p).any():
        return np.nan
    return float(np.mean((p >= threshold) == (y > 0.5)))


def _pearson_1d(y: np.ndarray, p: np.ndarray) -> float:
    if (
        y.size < 2 or np.ptp(y) == 0 or np.ptp(p) == 0
    ):  # constant: undefined (not a rounding residue)
        return np.nan
    yc = y - y.mean()
    pc = p - p.mean()
    denom = np.sqrt(np.dot(yc, yc) * np.dot(pc, pc))
    if not denom > 0:
        return np.nan
    return float(np.clip(np.dot(yc, pc) / denom, -1.0, 1.0))


def _spearman_1d(y: np.ndarray, p: np.ndarray) -> float:
    if y.size < 2 or np.isnan(p).any():
        return np.nan
    return _pearson_1d(rankdata(y), rankdata(p))


def _mse_1d(y: np.ndarray, p: np.ndarray) -> float:
    if y.size == 0:
        return np.nan
    return float(np.mean((y - p) ** 2))


# ------------------------------------------------------------------------------- public API
def auroc(y_true, y_score, mask=None) -> np.ndarray:
    """Area under the ROC curve per task (ties averaged, as scikit-learn's ``roc_auc_score``).

    Parameters
    ----------
    y_true : array-like (N, T) or (N,)
        Binary labels in {0, 1}; NaN = missing.
    y_score : array-like, same shape
        Scores (probabilities or logits — any monotone transform gives the same value).
    mask : array-like of bool, broadcastable to ``y_true``, optional
        True = use the entry.

    Returns
    -------
    auroc : np.ndarray float64 (T,)
        NaN for a task with only one class among its kept labels.
    """
    return _per_task(_auroc_1d, y_true, y_score, mask)


def auprc(y_true, y_score, mask=None) -> np.ndarray:
    """Area under the precision-recall curve per task, as average precision (scikit-learn's definition).

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over distinct score thresholds, highest first.

    Parameters
    ----------
    y_true, y_score, mask : see :func:`auroc`

    Returns
    -------
    auprc : np.ndarray float64 (T,)
        NaN for a task with only one class among its kept labels.
    """
    return _per_task(_auprc_1d, y_true, y_score, mask)


def binary_accuracy(y_true, y_prob, mask=None, *, threshold: float = 0.5) -> np.ndarray:
    """Fraction of correct calls per task, calling positive when ``y_prob >= threshold``.

    Parameters
    ----------
    y_true : array-like (N, T)
        Binary labels; NaN = missing.
    y_prob : array-like (N, T)
        Probabilities (use ``threshold=0`` for logits).
    mask : array-like of bool, optional
    threshold : float

    Returns
    -------
    accuracy : np.ndarray float64 (T,)
    """
    return _per_task(lambda y, p: _accuracy_1d(y, p, threshold), y_true, y_prob, mask)


def pearson(y_true, y_pred, mask=None) -> np.ndarray:
    """Pearson correlation per task; NaN for a constant vector or fewer than 2 values.

    Parameters
    ----------
    y_true, y_pred : array-like (N, T) (or (N,), or (N, T, L) pooled over positions)
    mask : array-like of bool, optional

    Returns
    -------
    r : np.ndarray float64 (T,)
    """
    return _per_task(_pearson_1d, y_true, y_pred, mask)


def spearman(y_true, y_pred, mask=None) -> np.ndarray:
    """Spearman rank correlation per task (Pearson of average ranks); NaN when undefined.

    Parameters
    ----------
    y_true, y_pred, mask : see :func:`pearson`

    Returns
    -------
    rho : np.ndarray float64 (T,)
    """
    return _per_task(_spearman_1d, y_true, y_pred, mask)


def mse(y_true, y_pred, mask=None) -> np.ndarray:
    """Mean squared error per task.

    Parameters
    ----------
    y_true, y_pred, mask : see :func:`pearson`

    Returns
    -------
    mse : np.ndarray float64 (T,)
    """
    return _per_task(_mse_1d, y_true, y_pred, mask)


def _notes_binary(yt: np.ndarray, keep: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    notes, n, n_pos = [], keep.sum(0), np.zeros(yt.shape[1], dtype=np.int64)
    for t in range(yt.shape[1]):
        y = yt[keep[:, t], t]
        n_pos[t] = int((y > 0.5).sum())
        if y.size == 0:
            notes.append("no labels: all metrics undefined")
        elif n_pos[t] == 0 or n_pos[t] == y.size:
            cls = "1" if n_pos[t] else "0"
            notes.append(f"only one class ({cls}) in y_true: auROC/auPRC undefined")
        else:
            notes.append("")
    return notes, n, n_pos


def _notes_regression(
    yt: np.ndarray, yp: np.ndarray, keep: np.ndarray
) -> tuple[list[str], np.ndarray]:
    notes, n = [], keep.sum(0)
    for t in range(yt.shape[1]):
        k = keep[:, t]
        if k.sum() < 2:
            notes.append("fewer than 2 values: correlations undefined")
        elif np.ptp(yt[k, t]) == 0:
            notes.append("y_true is constant: correlations undefined")
        elif np.ptp(yp[k, t]) == 0:
            notes.append("y_pred is constant: correlations undefined")
        else:
            notes.append("")
    return notes, n


def evaluate_predictions(
    y_true,
    y_pred,
    kind: Literal["binary", "regression"] = "binary",
    task_names: Sequence[str] | None = None,
    *,
    mask=None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Per-task metrics and their macro mean as a table.

    Parameters
    ----------
    y_true : array-like (N, T), (N,) or (N, T, L)
        Labels (binary) or targets (regression); NaN = missing.
    y_pred : array-like, same shape
        Probabilities (binary; for logits set ``threshold=0``) or predicted values (regression).
    kind : {"binary", "regression"}
        ``"binary"``: auroc, auprc, accuracy, n, n_pos. ``"regression"``: pearson, spearman, mse, n.
    task_names : sequence of str (T,), optional
        Row names; default ``task_0 .. task_{T-1}``.
    mask : array-like of bool, optional
        True = use the entry.
    threshold : float
        Decision threshold for accuracy.

    Returns
    -------
    table : pandas.DataFrame
        One row per task (index = task name) plus a final ``"mean"`` row (NaN-skipping macro mean over
        tasks); a ``note`` column explains undefined (NaN) metrics.
    """
    if kind not in ("binary", "regression"):
        raise ValueError(f"kind={kind!r} is not valid; choose one of: 'binary', 'regression'")
    yt, yp, keep = _prepare(y_true, y_pred, mask)
    n_tasks = yt.shape[1]
    if task_names is None:
        task_names = [f"task_{i}" for i in range(n_tasks)]
    task_names = [str(t) for t in task_names]
    if len(task_names) != n_tasks:
        raise ValueError(
            f"task_names has {len(task_names)} names but the predictions have {n_tasks} tasks; "
            "give one name per column"
        )
    if "mean" in task_names:
        raise ValueError("task_names must not contain 'mean' (reserved for the summary row)")

    def col(fn):
        out = np.full(n_tasks, np.nan)
        for t in range(n_tasks):
            k = keep[:, t]
            out[t] = fn(yt[k, t], yp[k, t])
        return out

    if kind == "binary":
        notes, n, n_pos = _notes_binary(yt, keep)
        df = pd.DataFrame(
            {
                "auroc": col(_auroc_1d),
                "auprc": col(_auprc_1d),
                "accuracy": col(lambda y, p: _accuracy_1d(y, p, threshold)),
                "n": n.astype(np.int64),
                "n_pos": n_pos,
            },
            index=pd.Index(task_names, name="task"),
        )
        metric_cols = list(BINARY_METRICS)
    else:
        notes, n = _notes_regression(yt, yp, keep)
        df = pd.DataFrame(
            {
                "pearson": col(_pearson_1d),
                "spearman": col(_spearman_1d),
                "mse": col(_mse_1d),
                "n": n.astype(np.int64),
            },
            index=pd.Index(task_names, name="task"),
        )
        metric_cols = list(REGRESSION_METRICS)
    df["note"] = notes
    mean_row: dict[str, object] = {}
    for c in df.columns:
        if c in metric_cols:
            vals = df[c].to_numpy(dtype=float)
            mean_row[c] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
        elif c == "note":
            n_undef = sum(1 for s in notes if s)
            mean_row[c] = (
                f"macro mean over tasks; {n_undef} task(s) undefined"
                if n_undef
                else "macro mean over tasks"
            )
        else:
            mean_row[c] = int(df[c].sum())
    df.loc["mean"] = pd.Series(mean_row)
    for c in df.columns:
        if c in ("n", "n_pos"):
            df[c] = df[c].astype(np.int64)
    return df
