"""Metrics tables: one table for a deep model and its baselines, written as TSV + markdown."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_write
from genodeep.data.bundle import Kind
from genodeep.train.metrics import evaluate_predictions


def metrics_table(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    kind: Kind,
    task_names: Sequence[str],
) -> pd.DataFrame:
    """One metrics table for several models on the same labels.

    Parameters
    ----------
    y_true : np.ndarray (N, T)
        Labels (NaN = missing; masked per task).
    predictions : mapping model name -> np.ndarray (N, T)
        The deep model's and the baselines' predictions.

    Returns
    -------
    pandas.DataFrame
        :func:`genodeep.train.evaluate_predictions`' table per model, with a leading ``model`` column.
    """

    tables = []
    for name, y_pred in predictions.items():
        df = evaluate_predictions(
            np.asarray(y_true), np.asarray(y_pred), kind=kind, task_names=list(task_names)
        )
        df = df.reset_index() if df.index.name is not None else df
        df.insert(0, "model", name)
        tables.append(df)
    return pd.concat(tables, ignore_index=True)


def markdown_table(df: pd.DataFrame, *, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table of ``df`` (floats formatted with ``floatfmt``)."""

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "nan" if np.isnan(v) else format(float(v), floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``df`` as ``PATH.tsv`` and ``PATH.md`` (``path`` without or with either suffix)."""

    base = Path(path)
    if base.suffix in (".tsv", ".md"):
        base = base.with_suffix("")
    tsv, md = base.with_suffix(".tsv"), base.with_suffix(".md")
    with atomic_write(tsv) as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    with atomic_write(md) as fh:
        fh.write(markdown_table(df))
    return tsv, md


def write_metrics(metrics: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a :func:`metrics_table` as ``PATH.tsv`` (every row) and ``PATH.md``.

    The markdown leaves out the ``mean`` rows when every model has a single task (they repeat it).
    """
    tsv, md = write_table(metrics, path)
    if (
        "task" in metrics.columns
        and (metrics["task"] != "mean").groupby(metrics["model"]).sum().max() == 1
    ):
        with atomic_write(md) as fh:
            fh.write(markdown_table(metrics[metrics["task"] != "mean"]))
    return tsv, md


def _metric_columns(metrics: pd.DataFrame) -> list[str]:
    skip = {"model", "task", "n", "n_pos", "note"}
    return [
        c for c in metrics.columns if c not in skip and pd.api.types.is_numeric_dtype(metrics[c])
    ]


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model: its macro mean over tasks (the ``mean`` rows of :func:`metrics_table`)."""
    cols = _metric_columns(metrics)
    if "task" in metrics.columns and (metrics["task"] == "mean").any():
        out = metrics[metrics["task"] == "mean"]
    else:
        out = metrics.groupby("model", sort=False)[cols].mean().reset_index()
    return out[["model", *cols]].reset_index(drop=True)


def _summary(metrics: pd.DataFrame, name: str) -> dict[str, float]:
    row = summary_table(metrics)
    row = row[row["model"] == name]
    if row.empty:
        return {}
    return {c: float(row[c].iloc[0]) for c in _metric_columns(metrics)}
