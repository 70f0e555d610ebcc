"""The one LightningModule of genodeep: any ``nn.Module`` + a loss + an optimizer.

Batch contract (what a DataLoader may yield)
--------------------------------------------
- ``(X, y)`` or ``(X, y, mask)``: ``X`` (B, 4, L) (any numeric dtype; cast to float32), or a tuple/list
  of input tensors passed as ``model(*X)`` (multimodal models); ``y`` (B, T) or (B, T, L) targets
  (NaN = missing label); ``mask`` bool/0-1, broadcastable to the loss elements, true = keep.
- a dict with keys ``"X"`` (or ``"x"``), ``"y"`` and optionally ``"mask"`` (same meaning), or
- anything at all when ``loss=None``: the batch is passed unchanged to ``model.loss(batch)``.

Models with their own objective (``loss=None``)
------------------------------------------------
``model.loss(batch)`` returns a scalar tensor, or a dict with a scalar ``"loss"`` (minimised) and
optional scalar extras (logged as ``train_<key>`` / ``valid_<key>`` epoch means). Validation calls
the same method under ``torch.no_grad()`` in eval mode.

Models that alternate objectives (GANs) additionally define ``loss_steps`` (a sequence of step names,
e.g. ``("discriminator", "generator")``) and ``parameters_for(step) -> iterable of Parameters``; each
training batch then runs, for each step in order, ``model.loss(batch, step=name)`` followed by a
step of that step's own optimizer (same type, ``lr`` and ``weight_decay``). Validation calls
``model.loss(batch, step=None)``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from genodeep._validate import check_choice, check_positive
from genodeep.train import metrics as _metrics
from genodeep.train.losses import LOSSES, get_loss

__all__ = ["GenodeepTask", "OPTIMIZERS", "SCHEDULERS", "METRIC_MODES", "metric_mode"]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
"""Optimizer name -> class."""

SCHEDULERS = (None, "plateau", "cosine")
"""``None`` (constant rate), ``"plateau"`` (halve the rate after 2 epochs without improvement of the
monitored value) or ``"cosine"`` (cosine annealing to 0 over ``max_epochs``)."""

METRIC_MODES: dict[str, str] = {
    "loss": "min",
    "mse": "min",
    "auroc": "max",
    "auprc": "max",
    "accuracy": "max",
    "pearson": "max",
    "spearman": "max",
}
"""Metric (without the ``train_``/``valid_`` prefix) -> whether bigger (``"max"``) or smaller is better."""

# loss name -> (metric kind, transform of the model output for metrics)
_AUTO_METRICS: dict[str, str | None] = {
    "bce": "binary",
    "mse": "regression",
    "poisson": "regression",
    "bpnet": "regression",
    "multinomial": None,
    "nb": None,
    "zinb": None,
}


def metric_mode(name: str) -> Literal["min", "max"]:
    """``"max"`` when larger values of the logged metric ``name`` are better, else ``"min"``.

    Parameters
    ----------
    name : str
        A logged name such as ``"valid_loss"``, ``"valid_auroc"`` or ``"train_loss"``.
    """
    base = name.split("_", 1)[1] if name.startswith(("train_", "valid_")) else name
    return METRIC_MODES.get(base, "min")  # type: ignore[return-value]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _float_input(x: Tensor) -> Tensor:
    return x if x.is_floating_point() else x.float()


def _batch_size(batch: Any) -> int:
    if isinstance(batch, Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, Mapping):
        for v in batch.values():
            n = _batch_size(v)
            if n:
                return n
    if isinstance(batch, (tuple, list)):
        for v in batch:
            n = _batch_size(v)
            if n:
                return n
    return 0


class GenodeepTask(L.LightningModule):
    """Wrap any ``nn.Module`` with a loss, an optimizer, a schedule and validation metrics.

    Parameters
    ----------
    model : nn.Module
        Tensors in, tensors out (see the module docstring for the batch contract).
    loss : str, callable or None
        A name in :data:`genodeep.train.losses.LOSSES` (``"bce"``, ``"mse"``, ``"poisson"``,
        ``"multinomial"``, ``"bpnet"``, ``"nb"``, ``"zinb"``), a callable
        ``(y_hat, y, mask) -> scalar``, or ``None`` to train with ``model.loss(batch)``.
    loss_kwargs : dict, optional
        Keyword arguments of the named loss (e.g. ``{"pos_weight": [3.0, 1.5]}``).
    optimizer : {"adam", "adamw", "rmsprop", "sgd"}
        ``"sgd"`` uses momentum 0.9 unless ``optimizer_kwargs`` says otherwise.
    lr : float
        Learning rate.
    weight_decay : float
        L2 penalty (decoupled for AdamW).
    scheduler : {None, "plateau", "cosine"}
        Learning-rate schedule, stepped once per epoch.
    metrics : {"auto", "binary", "regression", None}
        Validation metrics computed at each epoch end from the collected predictions: ``"binary"`` logs
        ``valid_auroc``, ``valid_auprc``, ``valid_accuracy`` (macro means over tasks); ``"regression"``
        logs ``valid_pearson``, ``valid_spearman``, ``valid_mse``. ``"auto"`` picks from the loss
        (bce -> binary; mse, poisson, bpnet counts -> regression; others none).
    task_names : sequence of str, optional
        Names of the output tasks, kept in the hyperparameters and used by evaluation tables.
    monitor : str
        The logged value that the ``"plateau"`` scheduler watches (``"valid_loss"`` by default;
        :func:`genodeep.train.fit` sets ``"train_loss"`` when there is no validation data).
    optimizer_kwargs : dict, optional
        Extra keyword arguments for the optimizer (e.g. ``{"momentum": 0.0}``).

    Attributes
    ----------
    model : nn.Module
        The wrapped module (its state dict keys are prefixed ``model.`` in checkpoints).
    history : list of dict
        One record per finished epoch: ``epoch``, ``train_loss``, ``valid_loss``, validation metrics,
        ``lr``; saved in and restored from checkpoints (so a resumed run keeps its whole history).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str | Callable | None = "bce",
        loss_kwargs: Mapping[str, Any] | None = None,
        optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        scheduler: Literal["plateau", "cosine"] | None = None,
        metrics: Literal["auto", "binary", "regression"] | None = "auto",
        task_names: Sequence[str] | None = None,
        monitor: str = "valid_loss",
        optimizer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        check_choice("optimizer", optimizer, list(OPTIMIZERS))
        check_choice("scheduler", scheduler, list(SCHEDULERS))
        check_choice("metrics", metrics, ["auto", "binary", "regression", None])
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        self.model = model
        self.loss_steps: tuple[str, ...] = tuple(getattr(model, "loss_steps", None) or ())
        if loss is None:
            if not callable(getattr(model, "loss", None)):
                raise ValueError(
                    f"loss=None needs a model with a loss(batch) method; {type(model).__name__} has none. "
                    f"Fix: pass loss= one of {list(LOSSES)} or a callable"
                )
            self.loss_fn = None
        elif isinstance(loss, str):
            self.loss_fn = get_loss(loss, **dict(loss_kwargs or {}))
        elif callable(loss):
            if loss_kwargs:
                raise ValueError(
                    "loss_kwargs applies to a named loss only; configure your callable directly"
                )
            self.loss_fn = loss
        else:
            raise TypeError(f"loss must be a name, a callable or None, got {type(loss).__name__}")
        if self.loss_steps and loss is not None:
            raise ValueError(
                f"{type(model).__name__} defines loss_steps, so it must be trained with loss=None"
            )
        if self.loss_steps and scheduler is not None:
            raise ValueError(
                "scheduler is not supported with alternating loss_steps; use scheduler=None"
            )
        if self.loss_steps and not callable(getattr(model, "parameters_for", None)):
            raise ValueError(
                f"{type(model).__name__} defines loss_steps but no parameters_for(step) method"
            )
        self.automatic_optimization = not self.loss_steps
        self.loss_name = (
            loss if isinstance(loss, str) else (None if loss is None else type(loss).__name__)
        )
        if metrics == "auto":
            metrics = _AUTO_METRICS.get(loss, None) if isinstance(loss, str) else None
        self.metric_kind = metrics
        self.task_names = None if task_names is None else [str(t) for t in task_names]
        self.monitor = monitor
        self.optimizer_name = optimizer
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.scheduler_name = scheduler
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        hp = {
            "loss": self.loss_name,
            "loss_kwargs": _jsonable(dict(loss_kwargs or {})),
            "optimizer": optimizer,
            "optimizer_kwargs": _jsonable(self.optimizer_kwargs),
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "scheduler": scheduler,
            "metrics": metrics,
            "task_names": self.task_names,
            "monitor": monitor,
            "model_class": type(model).__name__,
            "model_config": _jsonable(getattr(model, "config", None)),
        }
        self.save_hyperparameters(hp)
        self.history: list[dict[str, float]] = []
        self._sums: dict[str, dict[str, Tensor]] = {"train": {}, "valid": {}}
        self._counts: dict[str, int] = {"train": 0, "valid": 0}
        self._val_pred: list[Tensor] = []
        self._val_true: list[Tensor] = []
        self._val_mask: list[Tensor] = []
        self._pending: dict[str, float] = {}
        self._epoch_lr = math.nan

    # ------------------------------------------------------------------ forward and loss
    def forward(self, X: Tensor | Sequence[Tensor]) -> Any:
        """Model output for inputs ``X`` (B, 4, L) (or a tuple of inputs, passed as ``model(*X)``)."""
        if isinstance(X, (tuple, list)):
            return self.model(*[_float_input(x) for x in X])
        return self.model(_float_input(X))

    @staticmethod
    def unpack_batch(batch: Any) -> tuple[Any, Tensor | None, Tensor | None]:
        """Split a supervised batch into ``(X, y, mask)`` (see the module docstring)."""
        if isinstance(batch, Mapping):
            X = batch["X"] if "X" in batch else batch.get("x")
            if X is None:
                raise KeyError(
                    f"a dict batch needs an 'X' (or 'x') entry; got keys {sorted(batch)}"
                )
            return X, batch.get("y"), batch.get("mask")
        if isinstance(batch, (tuple, list)):
            if len(batch) == 2:
                return batch[0], batch[1], None
            if len(batch) == 3:
                return batch[0], batch[1], batch[2]
            raise ValueError(
                f"a batch must be (X, y) or (X, y, mask); got a sequence of {len(batch)} items"
            )
        raise TypeError(
            f"a supervised batch must be a tuple (X, y[, mask]) or a dict; got {type(batch).__name__}"
        )

    def _metric_view(self, y_hat: Any, y: Tensor) -> tuple[Tensor, Tensor] | None:
        """Predictions and targets on the scale the validation metrics use."""
        if self.metric_kind is None:
            return None
        name = self.loss_name
        if name == "bpnet":
            log_counts = y_hat[1]
            totals = y[1] if isinstance(y, (tuple, list)) else y.sum(-1)
            return log_counts.detach().float(), torch.log1p(totals.float())
        if isinstance(y_hat, (tuple, list)):
            return None
        y_hat = y_hat.detach().float()
        if name == "bce":
            y_hat = torch.sigmoid(y_hat)
        elif name == "poisson":
            y_hat = torch.exp(y_hat)
        if y_hat.ndim == 3:  # per-position outputs (N, T, L): every position a sample of its track
            return y_hat.transpose(1, 2).reshape(-1, y_hat.shape[1]), (
                y.float().transpose(1, 2).reshape(-1, y.shape[1])
            )
        return y_hat, y

    def _objective(
        self, batch: Any, stage: str, step: str | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Loss (and scalar extras) of one batch; collects predictions for validation metrics."""
        if self.loss_fn is None:
            out = self.model.loss(batch, step=step) if self.loss_steps else self.model.loss(batch)
            if isinstance(out, Mapping):
                if "loss" not in out:
                    raise KeyError(
                        f"{type(self.model).__name__}.loss(batch) returned a dict without 'loss': {sorted(out)}"
                    )
                extras = {
                    k: v
                    for k, v in out.items()
                    if k != "loss" and isinstance(v, Tensor) and v.numel() == 1
                }
                return out["loss"], extras
            return out, {}
        X, y, mask = self.unpack_batch(batch)
        y_hat = self(X)
        loss = self.loss_fn(y_hat, y, mask) if mask is not None else self.loss_fn(y_hat, y)
        if stage == "valid" and self.metric_kind is not None:
            view = self._metric_view(y_hat, y)
            if view is not None:
                self._val_pred.append(view[0])
                self._val_true.append(view[1].detach().float())
                if mask is not None:
                    self._val_mask.append(torch.broadcast_to(mask.bool(), view[1].shape))
        return loss, {}

    def _accumulate(self, stage: str, values: Mapping[str, Tensor], n: int) -> None:
        sums = self._sums[stage]
        for k, v in values.items():
            v = v.detach() * n
            sums[k] = v if k not in sums else sums[k] + v
        self._counts[stage] += n

    def _epoch_means(self, stage: str) -> dict[str, float]:
        sums, n = self._sums[stage], self._counts[stage]
        if not sums:
            return {}
        keys = sorted(sums)
        stacked = torch.stack(
            [sums[k].float().reshape(()) for k in keys]
            + [sums[keys[0]].new_tensor(float(n)).float()]
        )
        if self.trainer is not None and self.trainer.world_size > 1:
            stacked = self.trainer.strategy.reduce(stacked, reduce_op="sum")
        total = float(stacked[-1])
        vals = stacked[:-1].tolist()
        self._sums[stage] = {}
        self._counts[stage] = 0
        return {f"{stage}_{k}": (v / total if total > 0 else math.nan) for k, v in zip(keys, vals)}

    # ------------------------------------------------------------------ Lightning hooks
    def training_step(self, batch: Any, batch_idx: int) -> Tensor | None:
        n = _batch_size(batch)
        if self.loss_steps:
            return self._alternating_step(batch, n)
        loss, extras = self._objective(batch, "train")
        extras["loss"] = loss
        self._accumulate("train", extras, n)
        return loss

    def _alternating_step(self, batch: Any, n: int) -> None:
        opts = self.optimizers()
        opts = opts if isinstance(opts, (list, tuple)) else [opts]
        logged: dict[str, Tensor] = {}
        total = None
        for name, opt in zip(self.loss_steps, opts):
            loss, extras = self._objective(batch, "train", step=name)
            opt.zero_grad()
            self.manual_backward(loss)
            opt.step()
            logged[f"loss_{name}"] = loss
            for k, v in extras.items():
                logged[f"{name}_{k}"] = v
            total = loss.detach() if total is None else total + loss.detach()
        logged["loss"] = total
        self._accumulate("train", logged, n)
        return None

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        loss, extras = (
            self._objective(batch, "valid", step=None)
            if self.loss_steps
            else self._objective(batch, "valid")
        )
        extras["loss"] = loss
        self._accumulate("valid", extras, _batch_size(batch))

    def on_validation_epoch_start(self) -> None:
        self._sums["valid"] = {}
        self._counts["valid"] = 0
        self._val_pred, self._val_true, self._val_mask = [], [], []

    def on_validation_epoch_end(self) -> None:
        values = self._epoch_means("valid")
        values.update(self._validation_metrics())
        self._val_pred, self._val_true, self._val_mask = [], [], []
        sync = (
            self.trainer.world_size > 1
        )  # values are already reduced; syncing identical values is a no-op
        for k, v in values.items():
            self.log(
                k, v, prog_bar=k in ("valid_loss", "valid_auroc", "valid_pearson"), sync_dist=sync
            )
        if not self.trainer.sanity_checking:
            self._pending = values

    def _validation_metrics(self) -> dict[str, float]:
        if self.metric_kind is None or not self._val_pred:
            return {}
        pred = torch.cat(self._val_pred)
        true = torch.cat(self._val_true)
        mask = torch.cat(self._val_mask) if len(self._val_mask) == len(self._val_pred) else None
        if self.trainer.world_size > 1:
            pred = self.all_gather(pred).flatten(0, 1)
            true = self.all_gather(true).flatten(0, 1)
            if mask is not None:
                mask = self.all_gather(mask).flatten(0, 1)
        if self.metric_kind == "binary":
            fns = {
                "auroc": _metrics.auroc,
                "auprc": _metrics.auprc,
                "accuracy": _metrics.binary_accuracy,
            }
        else:
            fns = {"pearson": _metrics.pearson, "spearman": _metrics.spearman, "mse": _metrics.mse}
        out = {}
        for name, fn in fns.items():
            per_task = fn(true, pred, mask)
            out[f"valid_{name}"] = (
                float(np.nanmean(per_task)) if np.isfinite(per_task).any() else math.nan
            )
        return out

    def on_train_epoch_start(self) -> None:
        self._sums["train"] = {}
        self._counts["train"] = 0
        # the learning rate used during this epoch (schedulers step at the epoch's end)
        opts = self.trainer.optimizers
        self._epoch_lr = float(opts[0].param_groups[0]["lr"]) if opts else math.nan

    def on_train_epoch_end(self) -> None:
        values = self._epoch_means("train")
        if not values:  # e.g. an epoch end replayed right after resuming
            return
        lr = self._epoch_lr
        sync = self.trainer.world_size > 1
        for k, v in values.items():
            self.log(k, v, prog_bar=k == "train_loss", sync_dist=sync)
        self.log("lr", lr, sync_dist=sync)
        record: dict[str, float] = {
            "epoch": int(self.current_epoch),
            **values,
            **self._pending,
            "lr": float(lr),
        }
        self._pending = {}
        self.history.append(record)
        _check_finite_losses(record, type(self.model).__name__)

    def configure_optimizers(self):
        cls = OPTIMIZERS[self.optimizer_name]
        kwargs = dict(self.optimizer_kwargs)
        if self.optimizer_name == "sgd":
            kwargs.setdefault("momentum", 0.9)
        if self.loss_steps:
            return [
                cls(
                    [p for p in self.model.parameters_for(s) if p.requires_grad],
                    lr=self.lr,
                    weight_decay=self.weight_decay,
                    **kwargs,
                )
                for s in self.loss_steps
            ]
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ValueError(f"{type(self.model).__name__} has no trainable parameters")
        opt = cls(params, lr=self.lr, weight_decay=self.weight_decay, **kwargs)
        if self.scheduler_name is None:
            return opt
        if self.scheduler_name == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode=metric_mode(self.monitor), factor=0.5, patience=2
            )
            return {
                "optimizer": opt,
                "lr_scheduler": {"scheduler": sched, "monitor": self.monitor, "interval": "epoch"},
            }
        max_epochs = self.trainer.max_epochs if self.trainer is not None else None
        t_max = max_epochs if max_epochs is not None and max_epochs > 0 else 100
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["genodeep"] = {"history": [dict(r) for r in self.history], "rng": _rng_states()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("genodeep")
        if not state:
            return
        self.history = [dict(r) for r in state.get("history", [])]
        if "rng" in state:
            _set_rng_states(state["rng"])


def _rng_states() -> dict[str, Any]:
    """Global RNG states (torch, CUDA, numpy, random) in a form that loads with ``weights_only=True``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (global state)
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: Mapping[str, Any]) -> None:
    if "torch" in states:
        torch.set_rng_state(states["torch"].cpu())
    if "numpy" in states:
        s = states["numpy"]
        np.random.set_state(  # noqa: NPY002 (restoring the global state)
            ("MT19937", s["keys"].numpy().astype(np.uint32), s["pos"], s["has_gauss"], s["cached"])
        )
    if "python" in states:
        v = states["python"]
        random.setstate((v[0], tuple(v[1]), v[2]))
    if (
        "cuda" in states
        and torch.cuda.is_available()
        and len(states["cuda"]) == torch.cuda.device_count()
    ):
        torch.cuda.set_rng_state_all(states["cuda"])


def _check_finite_losses(record: Mapping[str, float], model_name: str) -> None:
    """Stop a run whose training or validation loss became NaN or infinite, with what to change.

    A diverged run must not go on to save NaN weights and report NaN metrics as if it had finished."""
    bad = {k: v for k, v in record.items() if k.endswith("loss") and not math.isfinite(v)}
    if bad:
        what = ", ".join(f"{k} = {v}" for k, v in bad.items())
        raise FloatingPointError(
            f"training diverged in epoch {record['epoch']} of {model_name}: {what}. Lower the "
            f"learning rate (training.lr, now {record.get('lr', float('nan')):g}), use a bounded "
            "first-layer activation (relu rather than exp), or check the inputs and labels for "
            "NaN or extreme values; no model was saved from this run."
        )
