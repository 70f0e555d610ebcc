"""``fit``: train any module with Lightning (checkpoints, early stopping, resume, DDP), and batched prediction.

Reproducibility: ``fit`` seeds everything with ``random_state``, shuffles with a sampler whose order
depends only on ``(random_state, epoch)``, runs deterministically on the CPU and stores the global RNG
states and the history in every checkpoint. ``resume=True`` therefore continues a killed run from
``out_dir/last.ckpt`` and ends with the same weights as an uninterrupted run (single process).

Files written into ``out_dir``: ``best.ckpt`` (weights of the best epoch by the monitored value),
``last.ckpt`` (full state for resuming), ``history.tsv`` (one row per epoch) and Lightning's CSV logs
under ``logs/version_N/``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from genodeep._batching import batched_apply, forward
from genodeep._device import model_on, resolve_device
from genodeep._io_utils import atomic_write
from genodeep._progress import is_quiet, log, progress
from genodeep._validate import InputFileError, check_positive
from genodeep.train.lightning import METRIC_MODES, GenodeepTask, metric_mode
from genodeep.train.loaders import (
    as_dataset,
    make_dataloader,
)

__all__ = ["FitResult", "fit", "predict_dataset", "make_dataloader", "as_dataset", "ACTIVATIONS"]

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": torch.sigmoid,
    "exp": torch.exp,
    "softmax": lambda t: torch.softmax(t, dim=-1),
}
"""Output activations for :func:`predict_dataset` (``None`` = raw outputs)."""


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : nn.Module
        The trained module, with the weights of the best epoch loaded (on the CPU, eval mode).
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``train_loss``, ``valid_loss``, validation metrics, ``lr``.
    best_checkpoint : Path or None
        ``out_dir/best.ckpt`` (weights only); ``None`` without ``out_dir``.
    last_checkpoint : Path or None
        ``out_dir/last.ckpt`` (full training state, for ``resume=True``); ``None`` without ``out_dir``.
    monitor : str
        The value that chose the best epoch (and drove early stopping).
    best_score : float or None
        Its best value.
    best_epoch : int or None
        The epoch (0-based) whose weights were loaded.
    task : GenodeepTask
        The LightningModule that trained ``model`` (loss, optimizer settings, hyperparameters).
    """

    model: nn.Module
    history: pd.DataFrame
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    monitor: str
    best_score: float | None = None
    best_epoch: int | None = None
    task: Any = field(default=None, repr=False)


# --------------------------------------------------------------------------------------- data
def _monitor_for(early_stopping: str | None, has_valid: bool) -> str:

    name = early_stopping or "valid_loss"
    if not name.startswith(("valid_", "train_")):
        name = f"valid_{name}"
    base = name.split("_", 1)[1]
    known = [*METRIC_MODES]
    if base not in known and not name.startswith("train_"):
        valid = ", ".join(repr(f"valid_{k}") for k in known)
        raise ValueError(
            f"early_stopping={early_stopping!r} is not a logged value; choose one of: {valid}, 'train_loss' or None"
        )
    if name.startswith("valid_") and not has_valid:
        if name == "valid_loss":
            return "train_loss"
        raise ValueError(
            f"early_stopping={early_stopping!r} needs valid_data; pass valid_data or early_stopping='train_loss'"
        )
    return name


def _is_cpu_run(accelerator: str) -> bool:
    return accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())


def _world_size(devices: Any, num_nodes: int, strategy: Any, accelerator: str) -> int:
    if isinstance(devices, int):
        n = (
            devices
            if devices > 0
            else (torch.cuda.device_count() if not _is_cpu_run(accelerator) else 1)
        )
    elif isinstance(devices, (list, tuple)):
        n = len(devices)
    elif isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        n = int(devices)
        if n < 0:
            n = torch.cuda.device_count() if not _is_cpu_run(accelerator) else 1
    elif devices == "auto":
        n = 1 if _is_cpu_run(accelerator) else max(1, torch.cuda.device_count())
    else:
        n = 1
    return max(1, n) * max(1, int(num_nodes))


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Silence Lightning's info lines (device banners, advertising tips; genodeep prints its own
    summary) and its warnings that do not apply here."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [lg.level for lg in loggers]
    det = torch.are_deterministic_algorithms_enabled()
    det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    # deterministic mode would also fill every new tensor with NaN (a large cost per step on the CPU);
    # genodeep never reads uninitialised memory, so that safety net is switched off during training
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        with warnings.catch_warnings():
            for pattern in (
                ".*does not have many workers.*",
                ".*smaller than the logging interval.*",
                ".*exists and is not empty.*",
                ".*is an invalid version and will be removed.*",
                ".*`srun` command is available.*",
                ".*Consider setting `persistent_workers=True`.*",
                ".*The `batch_size` could not be inferred.*",
                ".*but have no `val_dataloader`.*",
                ".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
                ".*module\\(s\\) in eval mode at the start of training.*",  # frozen parts (ChromBPNet bias)
            ):
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, lvl in zip(loggers, levels):
            lg.setLevel(lvl)
        torch.use_deterministic_algorithms(det, warn_only=det_warn)
        torch.utils.deterministic.fill_uninitialized_memory = fill


def read_checkpoint(path: Path, fix: str | None = None) -> dict[str, Any]:
    """A checkpoint's contents; a cut or damaged file is an :class:`InputFileError` naming it."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError ...
        raise InputFileError(
            f"cannot read the checkpoint ({type(err).__name__}: {err})",
            path=path,
            fix=fix
            or "the file is truncated or damaged (a run killed while writing it?); delete it and "
            "train again",
        ) from None


def _warn_if_flat(
    history: pd.DataFrame, monitor: str, best_epoch: int | None, stopped: bool
) -> None:
    """Say so when the monitored value never improved after the first epoch: a run that stops on a flat
    start has learned nothing, and the metrics alone do not tell why."""
    if history.empty or best_epoch is None or len(history) < 3:
        return
    if best_epoch == int(history["epoch"].iloc[0]):
        how = "early stopping ended training" if stopped else "training ended"
        warnings.warn(
            f"{monitor} never improved after epoch {best_epoch} and {how} after {len(history)} epochs: "
            "the model kept its first-epoch weights and may not have learned. Fix: try a smaller learning "
            "rate (training.lr), more patience (training.patience), another model, or check that the "
            "labels match the sequences",
            stacklevel=3,
        )


def fit(
    model: nn.Module,
    train_data: Dataset | tuple,
    valid_data: Dataset | tuple | None = None,
    *,
    loss: str | Callable | None = "bce",
    loss_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam",
    weight_decay: float = 0.0,
    scheduler: Literal["plateau", "cosine"] | None = None,
    metrics: Literal["auto", "binary", "regression"] | None = "auto",
    task_names: Sequence[str] | None = None,
    early_stopping: str | None = "valid_loss",
    patience: int = 5,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    callbacks: Sequence[Any] | None = None,
    devices: int | str | Sequence[int] = "auto",
    num_nodes: int = 1,
    strategy: str | Any = "auto",
    accelerator: str = "auto",
    precision: str | int | None = None,
    num_workers: int = 0,
    random_state: int = 0,
    verbose: bool = True,
) -> FitResult:
    """Train ``model`` with Lightning; keep the best and last checkpoints; return the best model.

    Parameters
    ----------
    model : nn.Module or GenodeepTask
        Any module (tensors in, tensors out), or a ready :class:`GenodeepTask` (then ``loss``,
        ``loss_kwargs``, ``lr``, ``optimizer``, ``weight_decay``, ``scheduler``, ``metrics`` and
        ``task_names`` are taken from it).
    train_data : Dataset or tuple (X, y[, mask])
        Training examples. Datasets yield ``(X (4, L), y (T,))`` (or any batch the model's
        ``loss(batch)`` accepts when ``loss=None``); tuples hold tensors/arrays with ``N`` rows.
    valid_data : Dataset or tuple, optional
        Validation examples, evaluated after every epoch (loss and metrics).
    loss : str, callable or None
        See :class:`GenodeepTask`; ``None`` trains with ``model.loss(batch)``.
    loss_kwargs : dict, optional
        Keyword arguments of the named loss.
    max_epochs : int
        Upper bound on epochs (including those done before a resume).
    batch_size : int
    lr : float
    optimizer : {"adam", "adamw", "rmsprop", "sgd"}
    weight_decay : float
    scheduler : {None, "plateau", "cosine"}
    metrics : {"auto", "binary", "regression", None}
        Validation metrics (see :class:`GenodeepTask`).
    task_names : sequence of str, optional
    early_stopping : str or None
        Value to monitor: ``"valid_loss"`` (default; ``"train_loss"`` when there is no validation data),
        or a validation metric (``"valid_auroc"``, ``"auprc"``, ``"pearson"``, …; the ``valid_`` prefix is
        optional). Training stops after ``patience`` epochs without improvement. ``None`` disables
        early stopping (the best checkpoint still follows ``valid_loss``).
    patience : int
    out_dir : path, optional
        Folder for ``best.ckpt``, ``last.ckpt``, ``history.tsv`` and ``logs/``; a temporary folder
        (deleted afterwards) when ``None``. Without ``resume``, checkpoints left there by an earlier
        run are removed first.
    resume : bool
        Continue from ``out_dir/last.ckpt`` when it exists (starts fresh, with a message, otherwise).
    callbacks : sequence of lightning Callbacks, optional
        Extra callbacks.
    devices, num_nodes, strategy, accelerator, precision
        Passed to ``lightning.Trainer`` (e.g. ``devices=2, strategy="ddp"`` for two GPUs;
        ``precision="bf16-mixed"``). ``precision=None`` keeps Lightning's default (32-bit).
    num_workers : int
        DataLoader worker processes.
    random_state : int
        Seed of shuffling, dropout and every other random draw during training
        (``lightning.seed_everything``); the initial weights are those of ``model`` as passed.
    verbose : bool
        Progress bar and Lightning's summary (also off when genodeep is quiet).

    Returns
    -------
    result : FitResult
        ``model`` with the best weights loaded, ``history``, checkpoint paths, ``monitor``,
        ``best_score``, ``best_epoch``.
    """
    import lightning as L

    check_positive("max_epochs", max_epochs)
    check_positive("batch_size", batch_size)
    check_positive("patience", patience, allow_zero=True)
    check_positive("num_workers", num_workers, allow_zero=True)
    check_positive("num_nodes", num_nodes)
    verbose = bool(verbose) and not is_quiet()
    train_ds = as_dataset(train_data, "train_data")
    valid_ds = None if valid_data is None else as_dataset(valid_data, "valid_data")
    if resume and out_dir is None:
        raise ValueError(
            "resume=True needs out_dir (the folder holding last.ckpt from the earlier run)"
        )
    monitor = _monitor_for(early_stopping, valid_ds is not None)
    mode = metric_mode(monitor)

    L.seed_everything(int(random_state), workers=True, verbose=False)
    if isinstance(model, GenodeepTask):
        task = model
        task.monitor = monitor
    else:
        task = GenodeepTask(
            model,
            loss=loss,
            loss_kwargs=loss_kwargs,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            scheduler=scheduler,
            metrics=metrics,
            task_names=task_names,
            monitor=monitor,
        )

    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="genodeep-fit-")
        root = Path(tmp.name)
    else:
        root = Path(out_dir)
        root.mkdir(parents=True, exist_ok=True)
    try:
        return _run(
            task, train_ds, valid_ds, root, keep=tmp is None, monitor=monitor, mode=mode,
            early_stopping=early_stopping, patience=patience, max_epochs=max_epochs,
            batch_size=batch_size, resume=resume, callbacks=callbacks, devices=devices,
            num_nodes=num_nodes, strategy=strategy, accelerator=accelerator, precision=precision,
            num_workers=num_workers, random_state=random_state, verbose=verbose,
        )  # fmt: skip
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(
    task: Any,
    train_ds: Dataset,
    valid_ds: Dataset | None,
    root: Path,
    *,
    keep: bool,
    monitor: str,
    mode: str,
    early_stopping: str | None,
    patience: int,
    max_epochs: int,
    batch_size: int,
    resume: bool,
    callbacks: Sequence[Any] | None,
    devices: Any,
    num_nodes: int,
    strategy: Any,
    accelerator: str,
    precision: Any,
    num_workers: int,
    random_state: int,
    verbose: bool,
) -> FitResult:
    """The body of :func:`fit` once arguments are checked; ``keep``: ``root`` is the user's out_dir."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    world = _world_size(devices, num_nodes, strategy, accelerator)
    distributed = world > 1
    pin = not _is_cpu_run(accelerator) and torch.cuda.is_available()
    train_loader = make_dataloader(
        train_ds, batch_size=batch_size, shuffle=True, random_state=random_state,
        num_workers=num_workers, pin_memory=pin, distributed=distributed,
    )  # fmt: skip
    valid_loader = None
    if valid_ds is not None:
        valid_loader = make_dataloader(
            valid_ds, batch_size=batch_size, shuffle=False, random_state=random_state,
            num_workers=num_workers, pin_memory=pin, distributed=distributed,
        )  # fmt: skip

    best_cb = ModelCheckpoint(
        dirpath=root, filename="best", monitor=monitor, mode=mode, save_top_k=1,
        save_weights_only=True, save_on_train_epoch_end=True, enable_version_counter=False,
    )  # fmt: skip
    last_cb = ModelCheckpoint(
        dirpath=root, filename="last", monitor=None, save_top_k=1,
        save_on_train_epoch_end=True, enable_version_counter=False,
    )  # fmt: skip
    cbs: list[Any] = [best_cb, last_cb]
    if early_stopping is not None:
        cbs.append(
            EarlyStopping(
                monitor=monitor, mode=mode, patience=int(patience), check_on_train_epoch_end=True
            )
        )
    cbs.extend(callbacks or [])

    last_path = root / "last.ckpt"
    ckpt_path = None
    if resume:
        if last_path.exists():
            ckpt_path = str(last_path)
            read_checkpoint(  # a cut last.ckpt: a clear error before Lightning's traceback
                last_path,
                fix="the file is truncated or damaged (a run killed while writing it?); delete it "
                "and start without --resume (resume=False): training restarts from epoch 0",
            )
            log(f"resuming from {last_path}")
        else:
            log(f"resume=True but {last_path} does not exist: starting a new run")
    elif last_path.exists():
        # a fresh run must not mix with an earlier one's best checkpoint
        for name in ("best.ckpt", "last.ckpt"):
            with contextlib.suppress(FileNotFoundError):
                (root / name).unlink()

    n_batches = max(1, (len(train_ds) + batch_size - 1) // batch_size)
    with _quiet_lightning():
        trainer = L.Trainer(
            max_epochs=int(max_epochs),
            accelerator=accelerator,
            devices=devices,
            num_nodes=int(num_nodes),
            strategy=strategy,
            precision=precision,
            callbacks=cbs,
            logger=CSVLogger(save_dir=str(root), name="logs"),
            default_root_dir=str(root),
            deterministic=True if _is_cpu_run(accelerator) else None,
            enable_progress_bar=verbose,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=min(50, n_batches),
        )
        trainer.fit(task, train_loader, valid_loader, ckpt_path=ckpt_path, weights_only=True)

    best_path = root / "best.ckpt"
    best_score, best_epoch = None, None
    history_records = task.history
    if last_path.exists():
        state = read_checkpoint(last_path)
        history_records = state.get("genodeep", {}).get("history", history_records)
    if best_path.exists():
        state = read_checkpoint(best_path)
        task.load_state_dict(state["state_dict"])
        best_epoch = int(state.get("epoch", -1))
    history = pd.DataFrame.from_records(history_records)
    if not history.empty:
        history = history.drop_duplicates("epoch", keep="last").reset_index(drop=True)
        history["epoch"] = history["epoch"].astype(int)
        if monitor in history:
            col = history[monitor].to_numpy(dtype=float)
            if best_epoch is not None and (history["epoch"] == best_epoch).any():
                best_score = float(col[int(np.flatnonzero(history["epoch"] == best_epoch)[0])])
            elif np.isfinite(col).any():
                i = int(np.nanargmax(col) if mode == "max" else np.nanargmin(col))
                best_score, best_epoch = float(col[i]), int(history["epoch"].iloc[i])
    if keep:
        with atomic_write(root / "history.tsv") as fh:
            history.to_csv(fh, sep="\t", index=False)
    _warn_if_flat(history, monitor, best_epoch, early_stopping is not None)
    model = task.model.cpu().eval()
    return FitResult(
        model=model,
        history=history,
        best_checkpoint=best_path if (keep and best_path.exists()) else None,
        last_checkpoint=last_path if (keep and last_path.exists()) else None,
        monitor=monitor,
        best_score=best_score,
        best_epoch=best_epoch,
        task=task,
    )


# -------------------------------------------------------------------------------------- predict
@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    dataset: Dataset | tuple,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    *,
    activation: str | Callable[[Tensor], Tensor] | None = None,
    num_workers: int = 0,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> tuple[Tensor | None, Tensor | tuple[Tensor, ...]]:
    """Predictions of ``model`` over a whole dataset, with the targets, in order.

    Parameters
    ----------
    model : nn.Module or GenodeepTask
        Maps ``X`` (B, 4, L) to ``(B, T)`` (or a tuple of heads).
    dataset : Dataset or tuple (X, y[, mask])
        Yields ``(X, y)``, ``(X, y, mask)``, dicts with ``"X"``/``"y"``, or ``X`` alone.
    batch_size : int
    device : str or torch.device, optional
        ``None`` = CUDA when available. The model's device and mode are restored afterwards.
    activation : {"sigmoid", "exp", "softmax"}, callable or None
        Applied to tensor outputs (e.g. ``"sigmoid"`` for a model trained with ``loss="bce"``).
    num_workers : int
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward under autocast.
    verbose : bool

    Returns
    -------
    y_true : Tensor (N, ...) or None
        Targets as float32 on the CPU (``None`` when the dataset has none).
    y_pred : Tensor (N, T) / (N, T, L), or a tuple of them
        Model outputs as float32 on the CPU.
    """
    check_positive("batch_size", batch_size)
    if hasattr(model, "model") and type(model).__name__ == "GenodeepTask":
        model = model.model
    if activation is None or callable(activation):
        act = activation
    elif activation in ACTIVATIONS:
        act = ACTIVATIONS[activation]
    else:
        raise ValueError(
            f"activation={activation!r} is not valid; choose one of: {list(ACTIVATIONS)}, None or a callable"
        )
    dev = resolve_device(device)
    if isinstance(dataset, (tuple, list)):
        dataset = as_dataset(dataset, "dataset")
    with model_on(model, dev) as m:
        if isinstance(dataset, TensorDataset):
            X = dataset.tensors[0]
            y_pred = batched_apply(
                m, X, batch_size=batch_size, device=dev, dtype=dtype, verbose=verbose
            )
            y_true = dataset.tensors[1].float() if len(dataset.tensors) > 1 else None
        else:
            y_true, y_pred = _predict_loader(
                m, dataset, batch_size, dev, dtype, num_workers, verbose
            )
    if act is not None:
        if isinstance(y_pred, tuple):
            raise ValueError(
                "activation applies to single-output models; this model returns a tuple of heads"
            )
        y_pred = act(y_pred)
    return y_true, y_pred


def _predict_loader(m, dataset, batch_size, dev, dtype, num_workers, verbose):
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    preds, trues = [], []
    for batch in progress(loader, total=len(loader), desc="predict", verbose=verbose):
        if isinstance(batch, Tensor):
            X, y = batch, None
        else:
            X, y, _ = GenodeepTask.unpack_batch(batch)
        out = forward(m, X if isinstance(X, (tuple, list)) else (X,), device=dev, dtype=dtype)
        preds.append(
            tuple(t.float().cpu() for t in out)
            if isinstance(out, (tuple, list))
            else out.float().cpu()
        )
        if y is not None:
            trues.append(y.float().cpu() if isinstance(y, Tensor) else y)
    if not preds:
        raise ValueError("dataset is empty (0 examples)")
    y_pred = (
        tuple(torch.cat(p) for p in zip(*preds))
        if isinstance(preds[0], tuple)
        else torch.cat(preds)
    )
    y_true = torch.cat(trues) if trues and isinstance(trues[0], Tensor) else None
    return y_true, y_pred
