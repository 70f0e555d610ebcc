"""Metrics against scikit-learn/scipy, undefined cases, tables and plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    mean_squared_error,
    roc_auc_score,
)

from genodeep.train.metrics import (
    auprc,
    auroc,
    binary_accuracy,
    evaluate_predictions,
    mse,
    pearson,
    spearman,
)
from genodeep.train.plots import (
    metrics_to_markdown,
    plot_pr_curves,
    plot_roc_curves,
    plot_training_curves,
    write_metrics_table,
)


def _binary_data(rng, n=300, t=4):
    y = (rng.random((n, t)) < rng.uniform(0.1, 0.6, size=t)).astype(float)
    # rounded scores create many ties, the tricky case for both areas
    score = np.round(y * 0.8 + rng.normal(size=(n, t)), 1)
    return y, score


def test_auroc_auprc_accuracy_match_sklearn(rng):
    y, s = _binary_data(rng)
    p = 1 / (1 + np.exp(-s))
    for t in range(y.shape[1]):
        assert auroc(y, s)[t] == pytest.approx(roc_auc_score(y[:, t], s[:, t]), abs=1e-12)
        assert auprc(y, s)[t] == pytest.approx(average_precision_score(y[:, t], s[:, t]), abs=1e-12)
        assert binary_accuracy(y, p)[t] == pytest.approx(accuracy_score(y[:, t], p[:, t] >= 0.5))


def test_masks_and_nan_labels_select_rows(rng):
    y, s = _binary_data(rng)
    mask = rng.random(y.shape) < 0.6
    y_nan = np.where(mask, y, np.nan)
    for t in range(y.shape[1]):
        k = mask[:, t]
        ref_roc = roc_auc_score(y[k, t], s[k, t])
        ref_pr = average_precision_score(y[k, t], s[k, t])
        assert auroc(y, s, mask)[t] == pytest.approx(ref_roc, abs=1e-12)
        assert auroc(y_nan, s)[t] == pytest.approx(ref_roc, abs=1e-12)
        assert auprc(y_nan, s)[t] == pytest.approx(ref_pr, abs=1e-12)


def test_regression_metrics_match_scipy_and_sklearn(rng):
    y = rng.normal(size=(200, 3))
    pred = y + rng.normal(scale=[0.2, 1.0, 3.0], size=(200, 3))
    pred[:, 2] = np.round(pred[:, 2])  # ties for Spearman
    yt, pt = torch.from_numpy(y).float(), torch.from_numpy(pred).float()  # torch input works too
    for t in range(3):
        assert pearson(y, pred)[t] == pytest.approx(
            stats.pearsonr(y[:, t], pred[:, t])[0], abs=1e-10
        )
        assert spearman(y, pred)[t] == pytest.approx(
            stats.spearmanr(y[:, t], pred[:, t])[0], abs=1e-10
        )
        assert mse(y, pred)[t] == pytest.approx(mean_squared_error(y[:, t], pred[:, t]), rel=1e-10)
        assert pearson(yt, pt)[t] == pytest.approx(stats.pearsonr(y[:, t], pred[:, t])[0], abs=1e-5)


def test_profiles_are_pooled_over_positions(rng):
    y = rng.normal(size=(10, 2, 7))
    pred = y + rng.normal(size=(10, 2, 7))
    flat_y = np.moveaxis(y, 1, -1).reshape(-1, 2)
    flat_p = np.moveaxis(pred, 1, -1).reshape(-1, 2)
    np.testing.assert_allclose(
        pearson(y, pred), [stats.pearsonr(flat_y[:, t], flat_p[:, t])[0] for t in range(2)]
    )


def test_undefined_tasks_are_nan_with_a_note(rng):
    y, s = _binary_data(rng, n=50, t=3)
    y[:, 1] = 0.0  # one class only
    y[:, 2] = np.nan  # no labels
    table = evaluate_predictions(y, 1 / (1 + np.exp(-s)), kind="binary", task_names=["a", "b", "c"])
    assert list(table.index) == ["a", "b", "c", "mean"]
    assert np.isnan(table.loc["b", "auroc"]) and np.isnan(table.loc["b", "auprc"])
    assert "one class" in table.loc["b", "note"]
    assert "no labels" in table.loc["c", "note"]
    assert table.loc["a", "note"] == ""
    assert table.loc["mean", "auroc"] == pytest.approx(
        table.loc["a", "auroc"]
    )  # NaN-skipping macro mean
    assert table.loc["c", "n"] == 0 and table.loc["mean", "n"] == 100
    assert table.loc["b", "accuracy"] == pytest.approx(
        accuracy_score(y[:, 1], 1 / (1 + np.exp(-s[:, 1])) >= 0.5)
    )

    y_reg = rng.normal(size=(30, 2))
    y_reg[:, 1] = 3.0
    reg = evaluate_predictions(y_reg, rng.normal(size=(30, 2)), kind="regression")
    assert list(reg.columns) == ["pearson", "spearman", "mse", "n", "note"]
    assert np.isnan(reg.loc["task_1", "pearson"]) and "constant" in reg.loc["task_1", "note"]
    assert np.isfinite(reg.loc["task_1", "mse"])


def test_evaluate_predictions_macro_mean_and_errors(rng):
    y, s = _binary_data(rng)
    table = evaluate_predictions(y, s, kind="binary", threshold=0.0)
    per_task = [roc_auc_score(y[:, t], s[:, t]) for t in range(y.shape[1])]
    assert table.loc["mean", "auroc"] == pytest.approx(np.mean(per_task), abs=1e-12)
    with pytest.raises(ValueError, match="kind="):
        evaluate_predictions(y, s, kind="multiclass")
    with pytest.raises(ValueError, match="task_names has 2 names"):
        evaluate_predictions(y, s, task_names=["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        evaluate_predictions(y, s[:, :2])


# ------------------------------------------------------------------------------------------- plots
def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_and_tables(tmp_path, rng):
    y, s = _binary_data(rng, n=120, t=3)
    y[:, 2] = 1.0  # a task with one class is skipped, not a crash
    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "train_loss": [0.7, 0.5, 0.4],
            "valid_loss": [0.72, 0.6, 0.58],
            "valid_auroc": [0.6, 0.7, 0.75],
        }
    )
    assert _is_png(plot_training_curves(history, tmp_path / "curves.png"))
    history.to_csv(tmp_path / "history.tsv", sep="\t", index=False)
    assert _is_png(plot_training_curves(tmp_path / "history.tsv", tmp_path / "curves2.png"))
    assert _is_png(plot_roc_curves(y, s, tmp_path / "roc.png", task_names=["a", "b", "c"]))
    assert _is_png(plot_pr_curves(y, s, tmp_path / "pr.png"))
    assert not list(tmp_path.glob(".tmp-*"))  # atomic writes leave nothing behind

    table = evaluate_predictions(y, s, task_names=["a", "b", "c"], threshold=0.0)
    tsv, md = write_metrics_table(table, tmp_path / "metrics.tsv")
    back = pd.read_csv(tsv, sep="\t", index_col=0)
    np.testing.assert_allclose(
        back["auroc"].to_numpy(), table["auroc"].to_numpy(dtype=float), rtol=1e-5
    )
    text = md.read_text()
    assert text == metrics_to_markdown(table)
    lines = text.strip().splitlines()
    assert len(lines) == 2 + len(table)
    assert lines[0].startswith("| task | auroc | auprc")
    assert "NaN" in lines[4]  # task c: undefined auROC
