"""Profile and coverage runs (``data.kind: profile``): the model for the data, the ChromBPNet bias step,
predictions as expected counts per output position, the metrics table and the example-locus plots.

``genodeep train`` calls these where a profile run differs from a classification/regression run; the
rest (fit, checkpoints, packages) is shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genodeep._batching import predict
from genodeep._progress import log
from genodeep.data.bundle import DataBundle
from genodeep.interpret.api import attribute
from genodeep.models import build_model
from genodeep.models.chrombpnet import ChromBPNet
from genodeep.models.spec import LINKS
from genodeep.train.fit import fit
from genodeep.train.plots import plot_profiles
from genodeep.train.profile_metrics import coverage_metrics, profile_metrics

__all__ = [
    "PROFILE_MODELS",
    "profile_model_section",
    "profile_loss",
    "profile_predictions",
    "profile_metrics_table",
    "pretrain_bias",
    "check_profile_setup",
    "default_count_weight",
    "init_output_bias",
    "write_profile_plots",
    "bias_check",
]

#: architectures with per-position outputs, and the loss each trains with by default
PROFILE_MODELS: dict[str, str] = {"bpnet": "bpnet", "chrombpnet": "bpnet", "basenji": "poisson"}


def profile_model_section(section: Mapping[str, Any], data: DataBundle) -> dict[str, Any]:
    """The ``model:`` section for profile data: ``auto`` (or none) becomes BPNet at base resolution
    and Basenji for binned outputs; any other name must be a profile architecture."""
    section = dict(section)
    name = section.get("name")
    if name in (None, "auto"):
        name = "bpnet" if data.output.get("bin_size", 1) == 1 else "basenji"
        if section.get("candidates"):
            log("model: auto on profile data trains one model (no candidates); ignoring candidates")
        return {"name": name}
    if name not in PROFILE_MODELS and not section.get("pretrained"):
        raise ValueError(
            f"model {name!r} has no per-position output, but data.kind profile has targets "
            f"(N, T, {data.train.y.shape[-1]}). Fix: use one of {', '.join(PROFILE_MODELS)}"
        )
    return section


def profile_loss(name: str) -> str:
    """The default loss of a profile architecture: multinomial + counts (``bpnet``) or ``poisson``."""
    return PROFILE_MODELS.get(name, "bpnet")


def check_geometry(model: torch.nn.Module, data: DataBundle) -> None:
    """Refuse a model whose outputs do not cover the data's target positions."""
    want = (
        (data.input_length - data.output["output_length"]) // 2,
        data.output["output_length"] // data.output["bin_size"],
        data.output["bin_size"],
    )
    got = tuple(int(v) for v in model.output_geometry(data.input_length))
    if got != want:
        raise ValueError(
            f"the model's outputs (offset {got[0]}, {got[1]} positions of {got[2]} bp) do not cover "
            f"the data's targets (offset {want[0]}, {want[1]} x {want[2]} bp). Fix: remove trim / "
            "crop_bins / bin_size from the model section so the data sets them"
        )


def default_count_weight(data: DataBundle) -> float:
    """ChromBPNet's rule for the weight of the count term: the median total reads per training window
    over 10 (at least 1), so that the count MSE is not drowned by the multinomial term."""
    totals = np.nan_to_num(np.asarray(data.train.y, dtype=np.float64)).sum(axis=(1, 2))
    return float(max(1.0, np.median(totals) / 10.0)) if len(totals) else 1.0


def check_profile_setup(name: str, loss: str, data: DataBundle) -> None:
    """Refuse a squashed target (``target_transform``) for a model that needs raw counts."""
    transform = data.output.get("target_transform")
    if transform and loss in ("bpnet", "multinomial"):
        raise ValueError(
            f"target_transform: {transform} changes the counts, but {name} trains a multinomial "
            "profile on raw counts. Fix: remove target_transform, or use basenji (poisson/mse)"
        )


def init_output_bias(model: torch.nn.Module, data: DataBundle, loss: str) -> None:
    """Start the output layer at the training targets' mean level, so that the first epochs learn
    shape rather than scale: log of the mean rate (Poisson), the mean (MSE), the mean log(1 + total)
    of a BPNet count head."""
    y = np.nan_to_num(np.asarray(data.train.y, dtype=np.float64))
    head = getattr(model, "head", None)
    with torch.no_grad():
        out = getattr(head, "out", None)
        if isinstance(out, torch.nn.Conv1d) and out.bias is not None and loss in ("poisson", "mse"):
            mean = y.mean(axis=(0, 2))
            level = np.log(np.maximum(mean, 1e-6)) if loss == "poisson" else mean
            out.bias.copy_(torch.as_tensor(level, dtype=out.bias.dtype))
        linear = getattr(head, "linear", None)
        if isinstance(linear, torch.nn.Linear) and loss == "bpnet":
            level = np.log1p(y.sum(axis=2)).mean(axis=0)
            linear.bias.copy_(torch.as_tensor(level, dtype=linear.bias.dtype))


def pretrain_bias(
    model: ChromBPNet,
    data: DataBundle,
    training: Mapping[str, Any],
    *,
    out_dir: Path,
    verbose: bool = True,
) -> pd.DataFrame:
    """ChromBPNet step 1: train the bias model alone on the background windows, load it, freeze it.

    The background windows are those not centred on a peak (``ids.peak`` false); without any, every
    training window is used (and a warning says the bias model then also sees peaks).

    Returns
    -------
    pandas.DataFrame
        The bias model's training history.
    """

    def rows(split):
        bg = ~split.ids["peak"].to_numpy(bool) if "peak" in split.ids else np.ones(len(split), bool)
        return np.flatnonzero(bg)

    train_rows, valid_rows = rows(data.train), rows(data.valid)
    if len(train_rows) == 0:
        log(
            "chrombpnet: no background windows (background_ratio: 0?); the bias model trains on peaks too"
        )
        train_rows = np.arange(len(data.train))
    bias = build_model("bpnet", **model.bias_config())
    valid = None
    if len(valid_rows):
        t = torch.as_tensor(valid_rows)
        valid = (data.valid.X[t], torch.from_numpy(data.valid.y[valid_rows]))
    settings = {k: v for k, v in training.items() if k != "loss"}
    if verbose:
        log(f"chrombpnet: training the bias model on {len(train_rows)} background windows")
    result = fit(
        bias, torch.utils.data.Subset(data.train.dataset, train_rows.tolist()), valid,
        out_dir=out_dir / "bias_checkpoints", loss="bpnet", verbose=verbose, **settings,
    )  # fmt: skip
    model.load_bias(result.model)
    model.freeze_bias()
    return result.history


def profile_predictions(
    model: torch.nn.Module, X: torch.Tensor, *, link: str, batch_size: int = 64
) -> np.ndarray:
    """Expected counts per output position, shape ``(N, T, n_out)`` (the spec's ``link`` applied)."""
    if len(X) == 0:
        return np.zeros((0, 0, 0), dtype=np.float32)
    out = predict(model, X, batch_size=batch_size)
    return LINKS[link](out).float().numpy()


def profile_metrics_table(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    task_names: Sequence[str],
    bin_size: int,
    random_state: int = 0,
) -> pd.DataFrame:
    """One metrics table for several models' expected counts ``(N, T, n_out)`` on the same targets.

    Base-resolution outputs are scored as profiles (Jensen-Shannon distance with its shuffled and
    pseudo-replicate bounds, count and per-base correlations); binned outputs as coverage.
    """
    tables = []
    for name, pred in predictions.items():
        if bin_size == 1:
            totals = pred.sum(-1)
            shape = pred / np.maximum(totals[..., None], 1e-12)
            df = profile_metrics(y_true, shape, totals, task_names=list(task_names),
                                 random_state=random_state)  # fmt: skip
        else:
            df = coverage_metrics(y_true, pred, task_names=list(task_names))
        df = df.reset_index() if "task" not in df.columns else df
        df = df.rename(columns={"index": "task"})
        df.insert(0, "model", name)
        tables.append(df)
    return pd.concat(tables, ignore_index=True)


def mean_profile_baseline(train_y: np.ndarray, n: int) -> np.ndarray:
    """The honest floor: every window predicted as the mean training profile ``(n, T, n_out)``."""
    mean = np.nan_to_num(train_y).mean(axis=0, dtype=np.float64).astype(np.float32)
    return np.broadcast_to(mean, (n, *mean.shape)).copy()


def write_profile_plots(
    out_dir: Path,
    y_true: np.ndarray,
    pred: np.ndarray,
    ids: pd.DataFrame,
    task_names: Sequence[str],
    *,
    bin_size: int,
    offset: int,
    n_loci: int = 6,
) -> list[Path]:
    """Predicted against observed profiles at the ``n_loci`` test windows with the most signal."""
    totals = np.nan_to_num(y_true).sum(axis=(1, 2))
    top = np.argsort(-totals, kind="stable")[:n_loci]
    labels = [f"{ids['chrom'].iloc[i]}:{int(ids['start'].iloc[i]) + offset:,}" for i in top]
    path = out_dir / "plots" / "profiles.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_profiles(y_true[top], pred[top], labels=labels, task_names=list(task_names),
                  bin_size=bin_size, path=path)  # fmt: skip
    return [path]


def bias_check(
    model: ChromBPNet, X: torch.Tensor, *, n: int = 256, batch_size: int = 64
) -> pd.DataFrame:
    """Is the enzyme's bias gone from the accessibility model? Compare attributions (input x gradient of
    the count head) of the frozen bias model with those of the combined model and of the bias-free
    accessibility model, on up to ``n`` test windows.

    Returns
    -------
    pandas.DataFrame
        One row per model (``combined``, ``accessibility``): ``bias_corr``, the Pearson correlation of
        its per-base |attribution| with the bias model's over all positions. Near the combined model's
        value: the accessibility model still explains bias; near 0: the bias is factored out.
    """
    X = X[:n].float()
    mode = model.mode

    def per_base(net) -> np.ndarray:
        return (
            attribute(net, X, method="ixg", batch_size=batch_size).attributions.abs().sum(1).numpy()
        )

    try:
        bias = per_base(model.bias)
        model.accessibility_only(False)
        combined = per_base(model)
        model.accessibility_only(True)
        access = per_base(model)
    finally:
        model.mode = mode
    rows = [
        {"model": name, "bias_corr": float(np.corrcoef(bias.ravel(), a.ravel())[0, 1])}
        for name, a in (("combined", combined), ("accessibility", access))
    ]
    return pd.DataFrame(rows)
