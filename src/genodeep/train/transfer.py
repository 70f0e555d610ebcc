"""Transfer learning (the review's Fig. 4): reuse a trained trunk with a new head, frozen or fine-tuned.

::

    from genodeep.train.transfer import load_pretrained, replace_head, freeze, fine_tune
    model = replace_head(load_pretrained("pretrained_run/"), n_tasks=1)   # new output layer
    freeze(model, depth=2)                      # first two parametrised layers fixed
    result = fine_tune(model, train, valid, lr=1e-3, pretrained_lr_scale=0.1)

- :func:`load_pretrained`: a model object, a model package (:func:`genodeep.zoo.load`), or a model plus a
  ``fit`` checkpoint / safetensors file of its weights.
- :func:`output_layers` finds a model's output layer(s): the last ``Linear``/``Conv1d``/``GCNLayer``
  whose output size is ``model.n_tasks`` (both heads of a BPNet profile+count model).
- :func:`replace_head` swaps them for freshly initialised layers with ``n_tasks`` outputs
  (``mode="replace"``) or appends new outputs after the old ones (``mode="add"``, old weights kept), and
  updates ``model.config["n_tasks"]`` so the model still rebuilds (and packages) from its config.
- :func:`freeze` / :func:`unfreeze` set ``requires_grad`` by parameter-name pattern (``fnmatch`` globs;
  a plain name matches that module and everything under it) or by depth (the first ``depth``
  parametrised layers in registration order; a negative depth means all but the last ``|depth|``).
  Frozen batch-norm layers also stop updating their running statistics and normalise with them
  (they run in eval mode), so a frozen trunk computes the same function during fine-tuning.
- :func:`param_groups` splits trainable parameters into the new layers (learning rate ``lr``) and the
  pretrained ones (``lr * pretrained_lr_scale``); :class:`TransferTask` is a
  :class:`~genodeep.train.lightning.GenodeepTask` whose optimizer uses those groups, and
  :func:`fine_tune` runs :func:`genodeep.train.fit` with it.
- :func:`prepare_transfer` does load + head + freeze in one call from config-style arguments (what
  ``genodeep train`` needs for a ``model: {pretrained: ...}`` section).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.gcn import GCNLayer
from genodeep.train.fit import fit, read_checkpoint
from genodeep.train.freeze import (
    _out_size,
    freeze,
    frozen_parameters,
    output_layers,
    param_groups,
    unfreeze,
)
from genodeep.train.freeze import (
    freeze as _freeze,  # prepare_transfer's argument ``freeze`` shadows the function
)
from genodeep.train.lightning import OPTIMIZERS, GenodeepTask, metric_mode
from genodeep.zoo.resolve import load

__all__ = [
    "load_pretrained",
    "output_layers",
    "replace_head",
    "freeze",
    "unfreeze",
    "frozen_parameters",
    "param_groups",
    "TransferTask",
    "fine_tune",
    "prepare_transfer",
]


# --------------------------------------------------------------------------------------------------
# loading


def load_pretrained(
    source: nn.Module | str | os.PathLike,
    *,
    checkpoint: str | os.PathLike | None = None,
    strict: bool = True,
) -> nn.Module:
    """A trained model from an object, a model package, or an architecture plus a weights file.

    Parameters
    ----------
    source : nn.Module or path
        A model (used as is: not copied), a model package folder / ``.tar.gz``, or a run folder of
        ``genodeep train`` (its ``model/`` package).
    checkpoint : path, optional
        Weights to load into the model: a ``fit`` checkpoint (``best.ckpt``/``last.ckpt``; keys
        prefixed ``model.``), a ``.safetensors`` file, or a ``torch.save`` state dict.
    strict : bool, default True
        Require the checkpoint's keys to match the model's exactly.

    Returns
    -------
    nn.Module
        The model, in eval mode, on the CPU.
    """
    if isinstance(source, nn.Module):
        model = source
    elif isinstance(source, (str, os.PathLike)):
        model = load(source).model
    else:
        raise TypeError(f"source must be a model or a package path, got {type(source).__name__}")
    if checkpoint is not None:
        model.load_state_dict(_read_state(checkpoint), strict=strict)
    return model.cpu().eval()


def _read_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = read_checkpoint(path)
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds no state dict (got {type(state).__name__})")
    keys = list(state)
    if keys and all(k.startswith("model.") for k in keys):
        state = {k[len("model.") :]: v for k, v in state.items()}
    return dict(state)


# --------------------------------------------------------------------------------------------------
# heads


def _new_layer(old: nn.Module, n_out: int) -> nn.Module:

    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, n_out, bias=old.bias is not None)
    elif isinstance(old, nn.Conv1d):
        new = nn.Conv1d(
            old.in_channels,
            n_out,
            old.kernel_size,
            stride=old.stride,
            padding=old.padding,
            dilation=old.dilation,
            bias=old.bias is not None,
        )
    elif isinstance(old, GCNLayer):
        new = GCNLayer(old.in_features, n_out, bias=old.bias is not None)
    else:  # pragma: no cover - output_layers only returns the types above
        raise TypeError(f"cannot replace a {type(old).__name__}")
    return new.to(device=old.weight.device, dtype=old.weight.dtype)


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def replace_head(
    model: nn.Module,
    n_tasks: int,
    *,
    mode: Literal["replace", "add"] = "replace",
    init: Literal["default", "zeros"] = "default",
    copy_model: bool = True,
    random_state: int | None = None,
) -> nn.Module:
    """Give a model a new output layer for ``n_tasks`` tasks (the trunk's weights are kept).

    Parameters
    ----------
    model : nn.Module
        A genodeep model (see :func:`output_layers`).
    n_tasks : int
        ``mode="replace"``: the number of outputs of the new head. ``mode="add"``: the number of new
        outputs appended after the existing ones.
    mode : {"replace", "add"}, default "replace"
        ``"replace"``: freshly initialised output layer(s). ``"add"``: a layer with ``old + n_tasks``
        outputs whose first ``old`` rows are the trained ones (so the old tasks' predictions are
        unchanged) and the rest new.
    init : {"default", "zeros"}, default "default"
        Initialisation of the new outputs: the layer type's default (random), or all-zero weights and
        biases, so that training starts from uninformative predictions (0.5 after a sigmoid) instead
        of a random projection of the trunk's features, which may rank examples backwards at first
        (useful with few examples and a frozen or slowly trained trunk).
    copy_model : bool, default True
        Work on a deep copy (the given model is left as it was); ``False`` edits it in place.
    random_state : int, optional
        Seed of the new layers' initialisation.

    Returns
    -------
    nn.Module
        The model with ``n_tasks`` (replace) or ``old + n_tasks`` (add) outputs; ``model.n_tasks`` and
        ``model.config["n_tasks"]`` updated.
    """
    check_positive("n_tasks", n_tasks)
    check_choice("mode", mode, ("replace", "add"))
    check_choice("init", init, ("default", "zeros"))
    names = output_layers(model)
    if copy_model:
        model = copy.deepcopy(model)
    old_n = int(getattr(model, "n_tasks", 0) or 0)
    total = int(n_tasks) + (old_n if mode == "add" else 0)
    gen_state = None
    if random_state is not None:
        gen_state = torch.get_rng_state()
        torch.manual_seed(int(random_state))
    try:
        for name in names:
            old = model.get_submodule(name)
            new = _new_layer(old, total)
            if init == "zeros":
                with torch.no_grad():
                    new.weight.zero_()
                    if new.bias is not None:
                        new.bias.zero_()
            if mode == "add":
                with torch.no_grad():
                    new.weight[: _out_size(old)] = old.weight
                    if old.bias is not None:
                        new.bias[: _out_size(old)] = old.bias
            _set_module(model, name, new)
    finally:
        if gen_state is not None:
            torch.set_rng_state(gen_state)
    if hasattr(model, "n_tasks"):
        model.n_tasks = total
    cfg = getattr(model, "config", None)
    if isinstance(cfg, dict) and "n_tasks" in cfg:
        cfg["n_tasks"] = total
    return model


# --------------------------------------------------------------------------------------------------
# freezing


class TransferTask(GenodeepTask):
    """A :class:`GenodeepTask` whose optimizer gives pretrained layers a smaller learning rate.

    Parameters
    ----------
    model : nn.Module
    pretrained_lr_scale : float, default 0.1
        Learning-rate multiplier of the pretrained parameters (see :func:`param_groups`).
    new : str or list of str, optional
        Name patterns of the new layers (default: the output layers).
    **kwargs
        Every other :class:`GenodeepTask` argument (``loss``, ``lr``, ``optimizer``, ...).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        pretrained_lr_scale: float = 0.1,
        new: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, **kwargs)
        check_positive("pretrained_lr_scale", pretrained_lr_scale, allow_zero=True)
        self.pretrained_lr_scale = float(pretrained_lr_scale)
        self.new_layers = None if new is None else ([new] if isinstance(new, str) else list(new))
        param_groups(model, self.lr, self.pretrained_lr_scale, new=self.new_layers)  # validate now
        self.hparams["pretrained_lr_scale"] = self.pretrained_lr_scale
        self.hparams["new_layers"] = self.new_layers

    def configure_optimizers(self):
        cls = OPTIMIZERS[self.optimizer_name]
        kwargs = dict(self.optimizer_kwargs)
        if self.optimizer_name == "sgd":
            kwargs.setdefault("momentum", 0.9)
        groups = param_groups(self.model, self.lr, self.pretrained_lr_scale, new=self.new_layers)
        opt = cls(groups, lr=self.lr, weight_decay=self.weight_decay, **kwargs)
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


_TASK_ARGS = (
    "loss",
    "loss_kwargs",
    "optimizer",
    "lr",
    "weight_decay",
    "scheduler",
    "metrics",
    "task_names",
)


def fine_tune(
    model: nn.Module,
    train_data: Any,
    valid_data: Any = None,
    *,
    pretrained_lr_scale: float = 0.1,
    new: str | Sequence[str] | None = None,
    optimizer_kwargs: Mapping[str, Any] | None = None,
    **fit_kwargs: Any,
):
    """Train a pretrained model with a lower learning rate for its pretrained layers.

    Parameters
    ----------
    model : nn.Module
        Usually the output of :func:`replace_head` (and :func:`freeze`).
    train_data, valid_data
        As in :func:`genodeep.train.fit`.
    pretrained_lr_scale : float, default 0.1
        Learning-rate multiplier of the pretrained parameters.
    new : str or list of str, optional
        Name patterns of the new layers (default: the output layers).
    optimizer_kwargs : dict, optional
        Extra optimizer arguments.
    **fit_kwargs
        Any other :func:`genodeep.train.fit` argument (``loss``, ``lr``, ``max_epochs``, ``out_dir``...).

    Returns
    -------
    FitResult
    """

    task_kwargs = {k: fit_kwargs.pop(k) for k in _TASK_ARGS if k in fit_kwargs}
    task = TransferTask(
        model,
        pretrained_lr_scale=pretrained_lr_scale,
        new=new,
        optimizer_kwargs=optimizer_kwargs,
        **task_kwargs,
    )  # fit() sets the monitored value from early_stopping
    return fit(task, train_data, valid_data, **fit_kwargs)


# --------------------------------------------------------------------------------------------------
# one call for configs


def prepare_transfer(
    pretrained: nn.Module | str | os.PathLike,
    *,
    n_tasks: int | None = None,
    head: Literal["replace", "add", "keep"] = "replace",
    freeze: str | Sequence[str] | None = None,
    freeze_depth: int | None = None,
    head_init: Literal["default", "zeros"] = "default",
    checkpoint: str | os.PathLike | None = None,
    random_state: int | None = None,
) -> nn.Module:
    """Load a pretrained model, give it a head for the new tasks and freeze part of it.

    Parameters
    ----------
    pretrained : nn.Module or path
        Model, or model package (see :func:`load_pretrained`).
    n_tasks : int, optional
        Tasks of the new data (``head="replace"``: the new head's outputs; ``"add"``: outputs added).
        Required unless ``head="keep"``.
    head : {"replace", "add", "keep"}, default "replace"
        What to do with the output layer (``"keep"``: continue training the same tasks).
    freeze : str or list of str, optional
        Parameter-name patterns (layer names or globs) to freeze (see :func:`freeze`).
    freeze_depth : int, optional
        Freeze the first ``freeze_depth`` parametrised layers (negative: all but the last ``|n|``).
    head_init : {"default", "zeros"}, default "default"
        Initialisation of the new outputs (see :func:`replace_head`).
    checkpoint : path, optional
        Weights to load into ``pretrained`` first.
    random_state : int, optional
        Seed of the new head's initialisation.

    Returns
    -------
    nn.Module
        A new model (the pretrained one is not modified), in train-ready state.
    """
    check_choice("head", head, ("replace", "add", "keep"))
    model = load_pretrained(pretrained, checkpoint=checkpoint)
    if head == "keep":
        model = copy.deepcopy(model)
    else:
        if n_tasks is None:
            raise ValueError(f"head={head!r} needs n_tasks (the number of new tasks)")
        model = replace_head(
            model, int(n_tasks), mode=head, init=head_init, random_state=random_state
        )
    if freeze is not None or freeze_depth is not None:
        _freeze(model, freeze, depth=freeze_depth)
    return model.train()
