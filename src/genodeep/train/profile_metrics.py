"""Metrics for base-resolution signal models: BPNet/ChromBPNet count profiles and Basenji-style coverage.

Everything is numpy in float64; inputs may be numpy arrays or torch tensors.

* :func:`jensen_shannon_distance` — JS *distance* (square root of the divergence) with log base 2, so it
  lies in [0, 1]; equal to ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` row by row.
* :func:`per_window_jsd` — one JS distance per (window, task), for plots and tables.
* :func:`profile_metrics` — per-task table for a profile model (probabilities over positions plus a
  predicted total): median JSD with a shuffled (upper) and a pseudo-replicate (lower) reference,
  the normalised JSD, count correlations and position-level correlations.
* :func:`coverage_metrics` — per-task table for binned coverage (Basenji/Enformer-style): bin-level
  Pearson/Spearman (raw and log1p), window-total Pearson and MSE.

How the profile metrics relate to the reference implementations
---------------------------------------------------------------
*ChromBPNet* (kundajelab/chrombpnet, ``chrombpnet/training/metrics.py`` and ``utils/metrics_utils.py``)
reports the median over regions of ``scipy.spatial.distance.jensenshannon`` between the observed profile
and the predicted probabilities, with scipy's default natural log (so its values lie in
[0, sqrt(ln 2)] ≈ [0, 0.83]); ours uses base 2 (values in [0, 1]; multiply ours by sqrt(ln 2) to compare).
Like ChromBPNet we compare each observed profile with a random permutation of its own positions
("shuffled labels vs labels") as the no-information reference; ours is seeded (``random_state``).
ChromBPNet's *normalised* JSD is per region, ``(jsd - max) / (0 - max)`` clipped to [0, 1] with
``max`` = JSD(observed, uniform) and ``min`` = 0, then the median; 1 is perfect. Ours differs on purpose: it is computed from the medians,
``(jsd - jsd_ideal) / (jsd_shuffled - jsd_ideal)``, 0 = as good as a pseudo-replicate, 1 = no better
than shuffled, not clipped. The pseudo-replicate reference follows the older ChromBPNet/BPNet scoring
scripts, which compared two pseudo-replicate bigWigs; we make the pseudo-replicates from the observed
reads themselves by binomial thinning (each read to one half with p = 0.5).
Count metrics follow both ChromBPNet and bpnet-lite (``bpnetlite/performance.py``): Pearson and
Spearman between log(1 + observed total) and the predicted log total, over all regions including those
without reads. bpnet-lite's ``jensen_shannon_distance`` actually returns the natural-log divergence (no
square root) and its profile Pearson/Spearman are per profile; our ``bin_pearson``/``bin_spearman``
instead pool all positions of a task and compare counts with predicted counts (probability × total).

The pseudo-replicate bound is a half-depth bound, not a floor
-------------------------------------------------------------
``jsd_ideal`` compares two halves of the reads, each at half the depth, both noisy. A model that predicts
the true expected profile compares a full-depth noisy profile with a noise-free one and therefore scores
*below* ``jsd_ideal``: on simulated Gaussian peaks (200 bp, 100 to 10,000 reads) the true distribution
gets ``jsd_norm`` between about -0.4 and -0.1 (about half of ``jsd_ideal`` at high depth). A negative
``jsd_norm`` is thus possible and means "at least as good as a half-depth replicate". With very few reads
per profile (tens over hundreds of bp) both references approach 1 and stop being separated, and for
profiles without positional structure (flat coverage) a permutation barely changes the profile, so
``jsd_shuffled`` falls below ``jsd_ideal``; in both cases ``jsd_norm`` is NaN (see ``MIN_BOUND_GAP``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import rel_entr

from genodeep.train.metrics import _pearson_1d, _spearman_1d, _to_numpy

__all__ = [
    "jensen_shannon_distance",
    "per_window_jsd",
    "profile_metrics",
    "coverage_metrics",
    "PROFILE_METRICS",
    "COVERAGE_METRICS",
    "MIN_BOUND_GAP",
]

PROFILE_METRICS = (
    "jsd",
    "jsd_shuffled",
    "jsd_ideal",
    "jsd_norm",
    "count_pearson",
    "count_spearman",
    "bin_pearson",
    "bin_spearman",
)
COVERAGE_METRICS = ("bin_pearson", "bin_spearman", "bin_pearson_log", "window_pearson", "mse")

#: ``jsd_norm`` is NaN when ``jsd_shuffled - jsd_ideal`` is below this (references not separated or inverted).
MIN_BOUND_GAP = 0.01

_LN2 = np.log(2.0)
_PROB_SUM_TOL = 1e-3


# ------------------------------------------------------------------------------------- inputs
def _float(a, name: str) -> np.ndarray:
    return _to_numpy(a, name).astype(np.float64, copy=False)


def _check_nonnegative(a: np.ndarray, name: str, fix: str) -> None:
    neg = a < 0  # NaN compares False
    if neg.any():
        raise ValueError(
            f"{name} has {int(neg.sum())} negative value(s) (min {np.nanmin(a):.4g}); it must be "
            f"non-negative. Fix: {fix}"
        )


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf); predictions must be finite. "
            "Fix: check the model outputs (NaN in y_true is allowed and means missing)"
        )


def _check_3d(a: np.ndarray, name: str, what: str) -> None:
    if a.ndim != 3:
        raise ValueError(
            f"{name} had shape {a.shape} while it should have had 3 axes (N, T, {what}). "
            f"Fix: add the task axis, e.g. {name}[:, None, :] for one task"
        )


def _check_same(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} had shape {b.shape} while it should have had {name_a}'s shape {a.shape}. "
            f"Fix: pass {name_a} and {name_b} for the same windows, tasks and positions"
        )


def _task_index(task_names: Sequence[str] | None, n_tasks: int) -> pd.Index:
    names = (
        [f"task_{i}" for i in range(n_tasks)]
        if task_names is None
        else [str(t) for t in task_names]
    )
    if len(names) != n_tasks:
        raise ValueError(
            f"task_names has {len(names)} names but the arrays have {n_tasks} tasks (axis 1). "
            "Fix: give one name per task"
        )
    if "mean" in names:
        raise ValueError(
            "task_names must not contain 'mean'. Fix: rename it ('mean' is the summary row)"
        )
    return pd.Index(names, name="task")


def _with_mean_row(df: pd.DataFrame, metric_cols: Sequence[str]) -> pd.DataFrame:
    """Append the NaN-skipping macro mean over tasks (``n`` is summed)."""
    row: dict[str, float] = {}
    for c in df.columns:
        vals = df[c].to_numpy(dtype=float)
        if c in metric_cols:
            row[c] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
        else:
            row[c] = float(vals.sum())
    df.loc["mean"] = pd.Series(row)
    df["n"] = df["n"].astype(np.int64)
    return df


def _pearson(y: np.ndarray, p: np.ndarray) -> float:
    # metrics._pearson_1d alone can return ~0 or ±1 for a constant vector (rounding in the mean)
    if y.size < 2 or np.ptp(y) == 0 or np.ptp(p) == 0:
        return np.nan
    return _pearson_1d(y, p)


def _spearman(y: np.ndarray, p: np.ndarray) -> float:
    if y.size < 2 or np.ptp(y) == 0 or np.ptp(p) == 0:
        return np.nan
    return _spearman_1d(y, p)


# ------------------------------------------------------------------------------------- JSD
def jensen_shannon_distance(p, q, axis: int = -1) -> np.ndarray:
    """Jensen-Shannon distance (log base 2, in [0, 1]) between distributions along ``axis``.

    Each input is normalised to sum 1 along ``axis`` first, so counts and probabilities are both fine.
    The result equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` applied row by row:
    ``sqrt((KL(p || m) + KL(q || m)) / 2)`` with ``m = (p + q) / 2``.

    Parameters
    ----------
    p, q : array-like, broadcastable to one shape (..., L, ...)
        Non-negative counts or probabilities.
    axis : int
        The axis that holds the distribution (default the last).

    Returns
    -------
    distance : np.ndarray float64, the broadcast shape without ``axis``
        NaN where either input sums to 0 along ``axis`` or holds NaN/inf. A 1-D input gives a 0-d
        value (a numpy float).
    """
    p, q = _float(p, "p"), _float(q, "q")
    fix = "pass counts or probabilities (apply softmax to logits first)"
    _check_nonnegative(p, "p", fix)
    _check_nonnegative(q, "q", fix)
    try:
        p, q = np.broadcast_arrays(p, q)
    except ValueError as err:
        raise ValueError(
            f"p had shape {p.shape} while q had {q.shape}; they must broadcast to one shape. "
            "Fix: give both the same shape"
        ) from err
    if p.ndim == 0:
        raise ValueError("p and q are scalars; they must have at least one axis (the distribution)")
    axis = _axis(axis, p.ndim)
    sp = p.sum(axis=axis, keepdims=True)
    sq = q.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pn, qn = p / sp, q / sq
        m = 0.5 * (pn + qn)
        js = 0.5 * (rel_entr(pn, m).sum(axis=axis) + rel_entr(qn, m).sum(axis=axis)) / _LN2
    valid = (np.squeeze(sp, axis) > 0) & (np.squeeze(sq, axis) > 0) & np.isfinite(js)
    out = np.where(valid, np.sqrt(np.clip(js, 0.0, 1.0)), np.nan)
    return out[()]


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for arrays with {ndim} axes")
    return axis % ndim


def _profiles(y_true, profile_pred) -> tuple[np.ndarray, np.ndarray]:
    yt = _float(y_true, "y_true")
    pp = _float(profile_pred, "profile_pred")
    _check_3d(yt, "y_true", "L")
    _check_same(yt, pp, "y_true", "profile_pred")
    _check_nonnegative(yt, "y_true", "pass observed read counts, not a log or centred signal")
    _check_finite(pp, "profile_pred")
    _check_nonnegative(
        pp, "profile_pred", "pass probabilities: apply softmax over the last axis to logits"
    )
    return yt, pp


def per_window_jsd(y_true, profile_pred) -> np.ndarray:
    """JS distance (base 2) between each observed profile and its predicted profile.

    Parameters
    ----------
    y_true : array-like, shape (N, T, L)
        Observed counts; NaN = missing (a profile with any NaN gets NaN).
    profile_pred : array-like, shape (N, T, L)
        Predicted probabilities over positions (or any non-negative profile; it is normalised).

    Returns
    -------
    jsd : np.ndarray float64, shape (N, T)
        NaN for profiles with no reads or with a NaN.
    """
    yt, pp = _profiles(y_true, profile_pred)
    return np.asarray(jensen_shannon_distance(yt, pp, axis=-1))


# ------------------------------------------------------------------------------------- profiles
def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else np.nan


def _is_integer_valued(y: np.ndarray) -> bool:
    return bool(np.all(y == np.round(y)))


def _jsd_bounds(y: np.ndarray, rng: np.random.Generator, name: str) -> tuple[float, float]:
    """(median shuffled JSD, median pseudo-replicate JSD) over the profiles ``y`` (n, L), all with reads."""
    shuffled = _median(jensen_shannon_distance(y, rng.permuted(y, axis=-1)))
    if not _is_integer_valued(y):
        warnings.warn(
            f"task {name!r}: y_true is not integer-valued, so reads cannot be split into "
            "pseudo-replicates; jsd_ideal and jsd_norm are NaN",
            stacklevel=3,
        )
        return shuffled, np.nan
    half = rng.binomial(y.astype(np.int64), 0.5).astype(np.float64)
    # profiles where one half got no reads have an undefined JSD and are left out of the median
    ideal = _median(jensen_shannon_distance(half, y - half))
    return shuffled, ideal


def _normalised(jsd: float, shuffled: float, ideal: float) -> float:
    gap = shuffled - ideal
    if not gap >= MIN_BOUND_GAP:
        return np.nan
    return float((jsd - ideal) / gap)


def _profile_task(
    yt: np.ndarray, pp: np.ndarray, cp: np.ndarray, rng: np.random.Generator, name: str
) -> dict[str, float]:
    """Metrics of one task: ``yt``/``pp`` (N, L), ``cp`` (N,)."""
    keep = ~np.isnan(yt).any(axis=-1)
    yt, pp, cp = yt[keep], pp[keep], cp[keep]
    totals = yt.sum(axis=-1)
    has = totals > 0
    out: dict[str, float] = {"n": int(has.sum())}
    if has.any():
        out["jsd"] = _median(jensen_shannon_distance(yt[has], pp[has]))
        out["jsd_shuffled"], out["jsd_ideal"] = _jsd_bounds(yt[has], rng, name)
        out["jsd_norm"] = _normalised(out["jsd"], out["jsd_shuffled"], out["jsd_ideal"])
    else:
        out.update(jsd=np.nan, jsd_shuffled=np.nan, jsd_ideal=np.nan, jsd_norm=np.nan)
    log_true, log_pred = np.log1p(totals), np.log1p(cp)
    out["count_pearson"] = _pearson(log_true, log_pred)
    out["count_spearman"] = _spearman(log_true, log_pred)
    bins_true, bins_pred = yt.ravel(), (pp * cp[:, None]).ravel()
    out["bin_pearson"] = _pearson(bins_true, bins_pred)
    out["bin_spearman"] = _spearman(bins_true, bins_pred)
    return out


def profile_metrics(
    y_true,
    profile_pred,
    counts_pred,
    *,
    task_names: Sequence[str] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Per-task metrics of a count-profile model (BPNet, ChromBPNet) and their macro mean.

    See the module docstring for how these follow and differ from ChromBPNet and bpnet-lite, and for why
    ``jsd_norm`` can be negative.

    Parameters
    ----------
    y_true : array-like, shape (N, T, L)
        Observed read counts per position. A profile (window, task) with any NaN is left out of every
        column of that task.
    profile_pred : array-like, shape (N, T, L)
        Predicted probabilities over the ``L`` positions (each profile sums to 1; softmax of the
        profile head's logits).
    counts_pred : array-like, shape (N, T)
        Predicted total counts per profile, not log. For a head trained on ``log(1 + total)`` (as
        :class:`genodeep.train.losses.BPNetLoss`) pass ``np.expm1(log_counts)``.
    task_names : sequence of str (T,), optional
        Row names; default ``task_0 .. task_{T-1}``.
    random_state : int, numpy Generator or None
        Seeds the position permutation and the binomial thinning (default 0: reproducible).

    Returns
    -------
    table : pandas.DataFrame
        One row per task (index ``task``) plus a final ``"mean"`` row (NaN-skipping macro mean over
        tasks; ``n`` summed). Columns:

        - ``n``: profiles with reads (total > 0) and no NaN; the JSD columns use these.
        - ``jsd``: median JS distance (base 2) between observed and predicted profiles.
        - ``jsd_shuffled``: median JS distance between each observed profile and a random permutation
          of its positions — the no-information (upper) reference.
        - ``jsd_ideal``: median JS distance between two pseudo-replicates made by giving each read to
          one half with p = 0.5 (binomial thinning) — a replicate-like (lower) reference at *half*
          depth. Profiles where a half gets no reads are skipped. NaN (with a warning) when ``y_true``
          is not integer-valued.
        - ``jsd_norm``: ``(jsd - jsd_ideal) / (jsd_shuffled - jsd_ideal)``: 0 = as good as a half-depth
          pseudo-replicate, 1 = no better than shuffled; not clipped (a model of the expected profile
          scores below 0). NaN unless ``jsd_shuffled`` exceeds ``jsd_ideal`` by ``MIN_BOUND_GAP``.
        - ``count_pearson``, ``count_spearman``: between ``log1p(observed total)`` and
          ``log1p(counts_pred)`` over all profiles without NaN, including those with no reads.
        - ``bin_pearson``, ``bin_spearman``: over all N × L positions of the task's kept profiles,
          observed counts against predicted counts ``profile_pred * counts_pred``.
    """
    yt, pp = _profiles(y_true, profile_pred)
    cp = _float(counts_pred, "counts_pred")
    n, t, _ = yt.shape
    if cp.shape != (n, t):
        raise ValueError(
            f"counts_pred had shape {cp.shape} while it should have had (N, T) = {(n, t)}. "
            "Fix: pass one predicted total per window and task"
        )
    _check_finite(cp, "counts_pred")
    _check_nonnegative(
        cp, "counts_pred", "pass totals, not log totals (np.expm1 of a log(1 + total) head)"
    )
    index = _task_index(task_names, t)
    _check_probabilities(pp)
    rng = np.random.default_rng(random_state)
    rows = [_profile_task(yt[:, i], pp[:, i], cp[:, i], rng, index[i]) for i in range(t)]
    df = pd.DataFrame(rows, index=index, columns=["n", *PROFILE_METRICS])
    return _with_mean_row(df, PROFILE_METRICS)


def _check_probabilities(pp: np.ndarray) -> None:
    sums = pp.sum(axis=-1)
    off = np.abs(sums - 1.0) > _PROB_SUM_TOL
    if off.any():
        worst = float(sums[off].flat[np.argmax(np.abs(sums[off] - 1.0))])
        raise ValueError(
            f"profile_pred has {int(off.sum())} profile(s) whose probabilities do not sum to 1 over the "
            f"last axis (e.g. {worst:.4g}). Fix: apply softmax over the last axis to the logits"
        )


# ------------------------------------------------------------------------------------- coverage
def _coverage_task(yt: np.ndarray, yp: np.ndarray) -> dict[str, float]:
    """Metrics of one task: ``yt``/``yp`` (N, B); NaN in ``yt`` marks a missing bin."""
    keep = ~np.isnan(yt)
    y, p = yt[keep], yp[keep]
    out: dict[str, float] = {"n": int(keep.sum())}
    out["bin_pearson"] = _pearson(y, p)
    out["bin_spearman"] = _spearman(y, p)
    if (y >= 0).all() and (p >= 0).all():
        out["bin_pearson_log"] = _pearson(np.log1p(y), np.log1p(p))
    else:
        out["bin_pearson_log"] = np.nan
    whole = keep.all(axis=-1)
    out["window_pearson"] = _pearson(yt[whole].sum(axis=-1), yp[whole].sum(axis=-1))
    out["mse"] = float(np.mean((y - p) ** 2)) if y.size else np.nan
    return out


def coverage_metrics(y_true, y_pred, *, task_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-task metrics of binned coverage predictions (Basenji, Enformer, Borzoi style) and their mean.

    Parameters
    ----------
    y_true : array-like, shape (N, T, B)
        Observed coverage per bin (counts or any value). NaN = missing bin: it is left out of the bin
        columns, and a window with any NaN bin is left out of ``window_pearson``.
    y_pred : array-like, shape (N, T, B)
        Predicted coverage (rates or values), finite.
    task_names : sequence of str (T,), optional
        Row names; default ``task_0 .. task_{T-1}``.

    Returns
    -------
    table : pandas.DataFrame
        One row per task (index ``task``) plus a final ``"mean"`` row (NaN-skipping macro mean over
        tasks; ``n`` summed). Columns:

        - ``n``: bins used (not NaN).
        - ``bin_pearson``, ``bin_spearman``: over all N × B bins of the task.
        - ``bin_pearson_log``: Pearson of ``log1p`` of both; NaN when a task has a negative value.
        - ``window_pearson``: Pearson of the per-window totals (sum over ``B``), windows without NaN.
        - ``mse``: mean squared error over the bins.

        Correlations are NaN when undefined (fewer than 2 values, or a constant vector).
    """
    yt = _float(y_true, "y_true")
    yp = _float(y_pred, "y_pred")
    _check_3d(yt, "y_true", "B")
    _check_same(yt, yp, "y_true", "y_pred")
    _check_finite(yp, "y_pred")
    index = _task_index(task_names, yt.shape[1])
    rows = [_coverage_task(yt[:, i], yp[:, i]) for i in range(yt.shape[1])]
    df = pd.DataFrame(rows, index=index, columns=["n", *COVERAGE_METRICS])
    return _with_mean_row(df, COVERAGE_METRICS)
