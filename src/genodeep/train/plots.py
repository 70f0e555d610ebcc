"""Training curves, ROC/PR curves and metrics tables (PNG, TSV, markdown), all written atomically.

Figures are drawn with matplotlib's object API (``Figure`` + Agg canvas): no pyplot state, no global
backend switch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_path, atomic_write
from genodeep.train.metrics import _prepare, auprc, auroc

__all__ = [
    "plot_training_curves",
    "plot_roc_curves",
    "plot_pr_curves",
    "write_metrics_table",
    "metrics_to_markdown",
    "plot_profiles",
]


def _figure(n_panels: int, *, width: float = 4.2, height: float = 3.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = min(n_panels, 3)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows), dpi=100)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(n_panels)]
    return fig, axes


def _save(fig, path: str | os.PathLike) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def plot_training_curves(
    history: pd.DataFrame | str | os.PathLike, path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Loss curves (train and validation) and one panel per validation metric, against epochs.

    Parameters
    ----------
    history : pandas.DataFrame or path
        :attr:`FitResult.history` (or its ``history.tsv``): columns ``epoch``, ``train_loss``,
        ``valid_loss``, ``valid_<metric>``…
    path : path
        PNG to write (atomically).
    title : str, optional

    Returns
    -------
    path : Path
    """
    if not isinstance(history, pd.DataFrame):
        history = pd.read_csv(history, sep="\t")
    if history.empty or "epoch" not in history:
        raise ValueError("history must have an 'epoch' column and at least one row (one per epoch)")
    epochs = history["epoch"].to_numpy() + 1
    loss_cols = [
        c for c in history.columns if c.endswith("loss") and c.startswith(("train_", "valid_"))
    ]
    metric_cols = [
        c
        for c in history.columns
        if c.startswith("valid_") and c not in loss_cols and history[c].notna().any()
    ]
    fig, axes = _figure(1 + len(metric_cols))
    ax = axes[0]
    for c in loss_cols:
        ax.plot(epochs, history[c].to_numpy(dtype=float), marker="o", ms=3, label=c)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    ax.set_title(title or "training curves")
    for ax, c in zip(axes[1:], metric_cols):
        ax.plot(epochs, history[c].to_numpy(dtype=float), marker="o", ms=3, color="C2")
        ax.set_xlabel("epoch")
        ax.set_ylabel(c)
        ax.set_title(c)
    return _save(fig, path)


def _curves(kind: str, y_true, y_score, task_names, mask):
    from sklearn.metrics import precision_recall_curve, roc_curve

    yt, ys, keep = _prepare(y_true, y_score, mask)
    n_tasks = yt.shape[1]
    names = (
        [f"task_{i}" for i in range(n_tasks)]
        if task_names is None
        else [str(t) for t in task_names]
    )
    if len(names) != n_tasks:
        raise ValueError(f"task_names has {len(names)} names but there are {n_tasks} tasks")
    areas = (auroc if kind == "roc" else auprc)(yt, ys, keep)
    out = []
    for t in range(n_tasks):
        k = keep[:, t]
        y, s = yt[k, t], ys[k, t]
        if not np.isfinite(areas[t]):
            continue
        if kind == "roc":
            x, yv, _ = roc_curve(y, s)
        else:
            prec, rec, _ = precision_recall_curve(y, s)
            x, yv = rec, prec
        out.append((names[t], x, yv, areas[t], float(np.mean(y > 0.5))))
    return out


def _plot_curves(kind: str, y_true, y_score, path, task_names, mask, title) -> Path:
    curves = _curves(kind, y_true, y_score, task_names, mask)
    fig, (ax,) = _figure(1, width=5.2, height=4.6)
    many = len(curves) > 12
    for name, x, y, area, _ in curves:
        label = None if many else f"{name} ({area:.3f})"
        step = "post" if kind == "pr" else None
        if step:
            ax.step(x, y, where=step, lw=0.8 if many else 1.4, label=label)
        else:
            ax.plot(x, y, lw=0.8 if many else 1.4, label=label)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    else:
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if curves:
        mean_area = float(np.mean([c[3] for c in curves]))
        metric = "auROC" if kind == "roc" else "auPRC"
        ax.set_title(
            title
            or f"{'ROC' if kind == 'roc' else 'precision-recall'}: mean {metric} {mean_area:.3f}"
        )
        if not many:
            ax.legend(
                frameon=False, fontsize=7, loc="lower right" if kind == "roc" else "lower left"
            )
    else:
        ax.set_title("no task has both classes")
    return _save(fig, path)


def plot_roc_curves(
    y_true,
    y_score,
    path: str | os.PathLike,
    *,
    task_names: Sequence[str] | None = None,
    mask=None,
    title: str | None = None,
) -> Path:
    """ROC curve of every task in one PNG, with each task's auROC in the legend (up to 12 tasks).

    Parameters
    ----------
    y_true : array-like (N, T)
        Binary labels; NaN = missing.
    y_score : array-like (N, T)
        Scores or probabilities.
    path : path
        PNG to write (atomically).
    task_names : sequence of str (T,), optional
    mask : array-like of bool, optional
    title : str, optional

    Returns
    -------
    path : Path
    """
    return _plot_curves("roc", y_true, y_score, path, task_names, mask, title)


def plot_pr_curves(
    y_true,
    y_score,
    path: str | os.PathLike,
    *,
    task_names: Sequence[str] | None = None,
    mask=None,
    title: str | None = None,
) -> Path:
    """Precision-recall curve of every task in one PNG, with each task's auPRC in the legend.

    Parameters
    ----------
    y_true, y_score, path, task_names, mask, title : see :func:`plot_roc_curves`

    Returns
    -------
    path : Path
    """
    return _plot_curves("pr", y_true, y_score, path, task_names, mask, title)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "NaN"
        return f"{v:.4f}"
    return str(v)


def metrics_to_markdown(table: pd.DataFrame, *, index_name: str | None = None) -> str:
    """A metrics table as a GitHub markdown table (floats to 4 decimals, NaN shown as ``NaN``).

    Parameters
    ----------
    table : pandas.DataFrame
        E.g. from :func:`genodeep.train.evaluate_predictions`; the index becomes the first column.
    index_name : str, optional
        Header of the index column (default: the index's name or ``"task"``).

    Returns
    -------
    markdown : str
    """
    head = [index_name or table.index.name or "task", *map(str, table.columns)]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|",
    ]
    for idx, row in table.iterrows():
        cells = [str(idx)] + [_fmt(v).replace("|", "\\|") for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_metrics_table(
    table: pd.DataFrame, path: str | os.PathLike, *, markdown: bool = True
) -> list[Path]:
    """Write a metrics table as TSV (``path``) and, with ``markdown``, beside it as ``.md``.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows are tasks (+ ``"mean"``), as from :func:`genodeep.train.evaluate_predictions`.
    path : path
        The TSV file; the markdown file is ``path`` with suffix ``.md``.
    markdown : bool

    Returns
    -------
    paths : list of Path
        The files written.
    """
    path = Path(path)
    with atomic_write(path) as fh:
        table.to_csv(fh, sep="\t", index=True, na_rep="NaN", float_format="%.6g")
    out = [path]
    if markdown:
        md = path.with_suffix(".md")
        with atomic_write(md) as fh:
            fh.write(metrics_to_markdown(table))
        out.append(md)
    return out


def plot_profiles(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    labels: Sequence[str],
    task_names: Sequence[str],
    path: str | os.PathLike,
    bin_size: int = 1,
) -> Path:
    """Observed (filled) against predicted (line) signal at a few loci: one panel per locus and track.

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (K, T, n_out)
        Observed and predicted counts per output position at ``K`` loci.
    labels : sequence of str, length K
        Locus names (``chrom:start`` of the first output base).
    task_names : sequence of str, length T
    path : path
        PNG to write (atomically).
    bin_size : int
        Bases per output position (the x axis is in bases).
    """
    k, t = y_true.shape[:2]
    fig, axes = _figure(k * t, width=4.6, height=2.4)
    x = np.arange(y_true.shape[-1]) * bin_size
    for i in range(k):
        for j in range(t):
            ax = axes[i * t + j]
            ax.fill_between(x, np.nan_to_num(y_true[i, j]), step="post", color="0.7",
                            label="observed")  # fmt: skip
            ax.plot(x, y_pred[i, j], color="C3", lw=1, label="predicted")
            ax.set_title(f"{labels[i]}  {task_names[j]}", fontsize=9)
            ax.set_xlabel("bases from the first output base", fontsize=8)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, frameon=False)
    return _save(fig, path)
