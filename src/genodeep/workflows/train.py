"""Config-driven training: the job behind ``genodeep train``.

:func:`train_from_config` reads a config (see :mod:`genodeep.workflows.config`), builds the data through the
loader of its ``data.kind`` (:data:`genodeep.data.sources.DATA_KINDS`), the model through
:func:`genodeep.workflows.assemble.model_for_data`, trains it with :func:`genodeep.train.fit`, evaluates it on
the held-out test split next to the k-mer baselines, and writes everything into one run folder::

    RUN/
      config.yaml            the resolved config (absolute paths, filled-in n_tasks / input_length)
      metrics.tsv, .md       one row per (model, task): the deep model and every baseline
      predictions.tsv, .npz  test-split labels and predictions of every model
      history.tsv            per-epoch training curves
      plots/                 training_curves.png, roc.png, pr.png
      model/                 the trained model package (weights, config, model spec, checksums)
      checkpoints/           Lightning checkpoints (best, last) used by --resume

Re-score a run with :func:`genodeep.workflows.predict.evaluate_run`; predict files with
:func:`genodeep.workflows.predict.predict_file`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genodeep._io_utils import atomic_write
from genodeep._progress import log
from genodeep._signature import plain
from genodeep.data.bundle import (
    DataBundle,
)
from genodeep.data.sources import build_data
from genodeep.models.chrombpnet import ChromBPNet
from genodeep.models.spec import ModelSpec
from genodeep.train.fit import fit
from genodeep.train.plots import plot_pr_curves, plot_roc_curves, plot_training_curves
from genodeep.train.transfer import fine_tune
from genodeep.workflows.assemble import model_for_data
from genodeep.workflows.auto import is_auto, recommended_training, train_auto
from genodeep.workflows.config import OutputOptions, dump_config, load_config
from genodeep.workflows.predict import (
    baseline_predictions,
    default_loss,
    predict_outputs,
    write_split_predictions,
)
from genodeep.workflows.profile import (
    bias_check,
    check_geometry,
    check_profile_setup,
    default_count_weight,
    init_output_bias,
    mean_profile_baseline,
    pretrain_bias,
    profile_loss,
    profile_metrics_table,
    profile_model_section,
    profile_predictions,
    write_profile_plots,
)
from genodeep.workflows.run_folder import check_fresh_run, check_resume_settings
from genodeep.workflows.tables import (
    _summary,
    markdown_table,
    metrics_table,
    summary_table,
    write_metrics,
    write_table,
)
from genodeep.zoo import save_package


def save_model(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    data_spec: ModelSpec | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a trained model as a package folder: ``weights.safetensors`` + ``config.json`` (+ spec).

    Parameters
    ----------
    model : genodeep model
        A model with a JSON-serialisable ``config`` of its constructor arguments.
    path : path
        Output folder (replaced if it exists).
    data_spec : ModelSpec or mapping, optional
        What the model reads and predicts (see :class:`genodeep.models.spec.ModelSpec`).
    metadata : mapping, optional
        Training settings and metrics.

    Returns
    -------
    Path of the folder. Load it again with :func:`genodeep.zoo.load`.
    """

    return save_package(
        model,
        path,
        data_spec=data_spec if isinstance(data_spec, ModelSpec) else plain(dict(data_spec or {})),
        metadata=plain(dict(metadata or {})),
        overwrite=True,
    )


@dataclass
class TrainResult:
    """What :func:`train_from_config` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (best checkpoint when early stopping kept one).
    metrics : pandas.DataFrame
        Test-split metrics, one row per (model, task) — the deep model and the baselines.
    predictions : dict[str, np.ndarray (N_test, T)]
        Test-split predictions per model.
    history : pandas.DataFrame
        Per-epoch training curves.
    out_dir : Path
        The run folder.
    config : dict
        The resolved config.
    data : DataBundle
        The splits used.
    """

    model: torch.nn.Module
    metrics: pd.DataFrame
    predictions: dict[str, np.ndarray]
    history: pd.DataFrame
    out_dir: Path
    config: dict
    data: DataBundle = field(repr=False)


def _write_plots(out_dir: Path, y_true, predictions, task_names, history, kind, name) -> list[Path]:
    """Training curves, and ROC/PR curves on the test split (binary tasks).

    With one task, every model (deep and baselines) is a curve of the same plot; with several, the
    curves are the deep model's tasks. A plotting problem never fails a finished run (warning).
    """
    import warnings

    plots_dir = out_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    calls: list[tuple[Callable, tuple, dict, Path]] = []
    if history is not None and len(history):
        calls.append(
            (plot_training_curves, (history,), {"title": name}, plots_dir / "training_curves.png")
        )
    if kind == "binary" and len(y_true):
        y_true = np.asarray(y_true)
        if y_true.shape[1] == 1 and len(predictions) > 1:
            names = list(predictions)
            yt = np.repeat(y_true, len(names), axis=1)
            ys = np.concatenate([np.asarray(predictions[m]) for m in names], axis=1)
        else:
            names, yt, ys = list(task_names), y_true, np.asarray(predictions[name])
        for fn, fname in ((plot_roc_curves, "roc.png"), (plot_pr_curves, "pr.png")):
            calls.append((fn, (yt, ys), {"task_names": names}, plots_dir / fname))
    written = []
    for fn, args, kw, path in calls:
        try:
            written.append(fn(*args, path, **kw))
        except Exception as err:  # noqa: BLE001 - a plot must not lose a trained model
            warnings.warn(f"could not write {path}: {err}", stacklevel=2)
    return written


def _is_global_zero(result) -> bool:
    """Whether this process is rank 0 of the (possibly distributed) training run."""
    trainer = getattr(getattr(result, "task", None), "_trainer", None)
    if trainer is not None:
        return bool(trainer.is_global_zero)
    rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))
    return int(rank) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0


def _history_frame(history) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame()
    if isinstance(history, pd.DataFrame):
        return history
    return pd.DataFrame(history)


def train_from_config(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    out_dir: str | os.PathLike | None = None,
    baselines: bool | None = None,
    resume: bool = False,
    overwrite: bool = False,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    callbacks: Sequence[Any] | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Train, evaluate and save a model described by a config file (the API of ``genodeep train``).

    Parameters
    ----------
    config : path to a YAML file, or a mapping
        Sections ``data``, ``model``, ``training``, ``baselines``, ``output``
        (see :mod:`genodeep.workflows.config`).
    out_dir : path, optional
        Run folder; default ``output.dir`` of the config, else ``runs/<config name>``.
    baselines : bool, optional
        ``True`` runs the k-mer baselines even when the config has no ``baselines:`` section (with
        its defaults); ``False`` skips them; ``None`` follows the config.
    resume : bool
        Continue an interrupted run from the last checkpoint in ``out_dir``, with the settings it
        started with: a changed setting other than ``training.max_epochs``, the hardware, the baselines
        or the outputs is an error (see :mod:`genodeep.workflows.run_folder`).
    overwrite : bool
        Replace a run that ``out_dir`` already holds. Without it (and without ``resume``) such a
        folder is an error, so that no finished or interrupted run is lost by accident.
    overrides : mapping or list of "KEY=VALUE", optional
        Dotted config keys to override, e.g. ``{"training.max_epochs": 2}``.
    callbacks : sequence of lightning callbacks, optional
        Passed to :func:`genodeep.train.fit` (``genodeep tune`` uses one to prune trials).
    verbose : bool
        Status lines and progress bars.

    Returns
    -------
    TrainResult
    """

    cfg = load_config(config, overrides=overrides)
    output = OutputOptions(**cfg["output"])
    if out_dir is None:
        if output.dir is not None:
            out_dir = output.dir
        else:
            stem = Path(config).stem if isinstance(config, (str, os.PathLike)) else "run"
            out_dir = Path("runs") / stem
    out_dir = Path(out_dir)
    if not resume:
        check_fresh_run(out_dir, overwrite=overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    if baselines is True and cfg["baselines"] is None:
        cfg["baselines"] = {}
    elif baselines is False:
        cfg["baselines"] = None

    auto = is_auto(cfg["model"])
    training = dict(cfg["training"])
    seed = int(training.get("random_state", 0))
    torch.manual_seed(seed)  # the model's initial weights
    data = build_data(cfg["data"], verbose=verbose)
    if auto:  # the default path: recommended settings where the config gives none
        training = {**recommended_training(data.kind), **training}
    profile = data.kind == "profile"
    if profile:  # per-position targets: one profile/coverage architecture, no candidates
        cfg["model"] = profile_model_section(cfg["model"], data)
        auto = False
        training.setdefault("loss", profile_loss(cfg["model"].get("name")))
        if training["loss"] == "bpnet" and "count_weight" not in (
            training.get("loss_kwargs") or {}
        ):
            training["loss_kwargs"] = {**(training.get("loss_kwargs") or {}),
                                       "count_weight": default_count_weight(data)}  # fmt: skip
    training.setdefault("loss", default_loss(data.kind))
    if verbose:
        log(
            f"{len(data.task_names)} task(s), {data.kind}; train {len(data.train)}, valid "
            f"{len(data.valid)}, test {len(data.test)}"
        )
    candidates = None
    if auto:
        candidates = train_auto(
            cfg["model"], data, training, out_dir=out_dir, resume=resume, callbacks=callbacks,
            verbose=verbose,
        )  # fmt: skip
        result, name = candidates.best.result, candidates.best.name
        resolved_model = dict(candidates.best.section)
        write_table(candidates.table, out_dir / "candidates")
    else:
        model, name = model_for_data(cfg["model"], data, random_state=seed)
        if cfg["model"].get("pretrained"):  # the architecture comes from the pretrained model
            resolved_model = {
                "name": name,
                **{k: v for k, v in cfg["model"].items() if k != "name"},
            }
        else:
            resolved_model = {"name": name, **model.config}
        if verbose:
            log(f"{resolved_model['name']}: {model.n_params:,} parameters")
        if profile:
            check_geometry(model, data)
            check_profile_setup(name, training["loss"], data)
            if not cfg["model"].get("pretrained") and not resume:
                init_output_bias(model, data, training["loss"])
    resolved = {**cfg, "model": resolved_model, "training": training}
    resolved["output"] = {**cfg["output"], "dir": str(out_dir.resolve())}
    if resume and not auto:
        check_resume_settings(out_dir, resolved)
    dump_config(resolved, out_dir / "config.yaml")
    if not auto and isinstance(model, ChromBPNet) and not cfg["model"].get("pretrained"):
        pretrain_bias(model, data, training, out_dir=out_dir, verbose=verbose)
    if not auto:
        trainer = fine_tune if cfg["model"].get("pretrained") else fit
        result = trainer(
            model,
            data.train.as_fit_data(),
            data.valid.as_fit_data() if len(data.valid) else None,
            out_dir=out_dir / "checkpoints",
            resume=resume,
            verbose=verbose,
            task_names=data.task_names,
            callbacks=callbacks,
            **training,
        )
    model = result.model
    history = _history_frame(getattr(result, "history", None))
    if not _is_global_zero(result):
        # a DDP worker (plain "ddp" re-runs this command per process): rank 0 evaluates and writes
        return TrainResult(
            model=model,
            metrics=pd.DataFrame(),
            predictions={},
            history=history,
            out_dir=out_dir,
            config=resolved,
            data=data,
        )
    if len(history):
        with atomic_write(out_dir / "history.tsv") as fh:
            history.to_csv(fh, sep="\t", index=False, float_format="%.6g")

    if profile:
        return _finish_profile(
            model, name, data, cfg, resolved, training, history, out_dir, output, verbose
        )
    preds = {
        name: predict_outputs(
            model,
            data.test.X,
            rows=data.test.rows,
            kind=data.kind,
            loss=training.get("loss"),
            batch_size=training.get("batch_size", 256),
        )
    }
    for other in candidates.candidates if candidates is not None else ():
        if other is not candidates.best:  # chosen on validation; the test rows are for the record
            preds[f"candidate:{other.name}"] = predict_outputs(
                other.result.model,
                data.test.X,
                rows=data.test.rows,
                kind=data.kind,
                loss=training.get("loss"),
                batch_size=training.get("batch_size", 256),
            )
    if cfg["baselines"] is not None:
        preds.update(baseline_predictions(data, data.test, cfg["baselines"], verbose=verbose))
    metrics = metrics_table(data.test.y, preds, kind=data.kind, task_names=data.task_names)
    write_metrics(metrics, out_dir / "metrics")
    if output.predictions:
        write_split_predictions(out_dir, data.test, data.task_names, preds)
    if output.plots:
        _write_plots(out_dir, data.test.y, preds, data.task_names, history, data.kind, name)
    if output.save_model:
        save_model(
            model,
            out_dir / "model",
            data_spec=ModelSpec(
                input_kind=data.input_kind,
                inputs=data.inputs,
                input_length=data.input_length,
                task_names=data.task_names,
                kind=data.kind,
                loss=training.get("loss"),
                model_name=name,
                genome=data.genome,
            ),
            metadata={
                "description": cfg.get("description", ""),
                "training": training,
                "metrics": _summary(metrics, name),
                **({"auto": plain(candidates.table.to_dict("records"))} if candidates else {}),
            },
        )
    if verbose:
        log(f"wrote {out_dir}/metrics.md")
        log(markdown_table(summary_table(metrics)))
    return TrainResult(
        model=model,
        metrics=metrics,
        predictions=preds,
        history=history,
        out_dir=out_dir,
        config=resolved,
        data=data,
    )


def _finish_profile(model, name, data, cfg, resolved, training, history, out_dir, output, verbose):
    """Evaluate, plot and save a profile/coverage run (``data.kind: profile``)."""
    spec = ModelSpec(
        input_kind=data.input_kind, inputs=data.inputs, input_length=data.input_length,
        task_names=data.task_names, kind="profile", loss=training.get("loss"), model_name=name,
        genome=data.genome, extra=dict(data.output),
    )  # fmt: skip
    batch = int(training.get("batch_size", 64))
    preds = {name: profile_predictions(model, data.test.X, link=spec.link, batch_size=batch)}
    preds["mean_profile"] = mean_profile_baseline(data.train.y, len(data.test))  # the floor
    bin_size = int(data.output["bin_size"])
    metrics = profile_metrics_table(data.test.y, preds, task_names=data.task_names,
                                    bin_size=bin_size)  # fmt: skip
    write_metrics(metrics, out_dir / "metrics")
    if isinstance(model, ChromBPNet) and len(data.test):
        check = bias_check(model, data.test.X)
        write_table(check, out_dir / "bias_check")
        if verbose:
            c = dict(zip(check["model"], check["bias_corr"]))
            log(f"chrombpnet bias check: correlation of attributions with the bias model's: combined "
                f"{c['combined']:.2f}, accessibility (bias-free) {c['accessibility']:.2f}")  # fmt: skip
    if output.predictions:
        with atomic_write(out_dir / "predictions.npz", mode="wb") as fh:
            np.savez_compressed(
                fh, y_true=data.test.y, **{k.replace(":", "_"): v for k, v in preds.items()}
            )
        with atomic_write(out_dir / "predictions_windows.tsv") as fh:
            data.test.ids.to_csv(fh, sep="\t", index=False)
    if output.plots:
        _write_plots(out_dir, [], {}, data.task_names, history, "profile", name)
        if len(data.test):
            offset = (data.input_length - data.output["output_length"]) // 2
            write_profile_plots(out_dir, data.test.y, preds[name], data.test.ids, data.task_names,
                                bin_size=bin_size, offset=offset)  # fmt: skip
    if output.save_model:
        save_model(model, out_dir / "model", data_spec=spec, metadata={
            "description": cfg.get("description", ""), "training": training,
            "metrics": _summary(metrics, name),
        })  # fmt: skip
    if verbose:
        log(f"wrote {out_dir}/metrics.md")
        log(markdown_table(summary_table(metrics)))
    return TrainResult(model=model, metrics=metrics, predictions=preds, history=history,
                       out_dir=out_dir, config=resolved, data=data)  # fmt: skip
