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
import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.gcn import GCNLayer
from genodeep.train.fit import fit
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
    state = torch.load(path, map_location="cpu", weights_only=True)
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


def _out_size(module: nn.Module) -> int | None:

    if isinstance(module, nn.Linear):
        return module.out_features
    if isinstance(module, nn.Conv1d):
        return module.out_channels
    if isinstance(module, GCNLayer):
        return module.out_features
    return None


def output_layers(model: nn.Module) -> list[str]:
    """Names of the model's output layer(s) (as in ``model.named_modules()``).

    The output layer is the last ``Linear``, ``Conv1d`` or ``GCNLayer`` whose output size equals
    ``model.n_tasks``; a model with several heads (BPNet's profile and count heads) has one per head.
    A model can name its own output layers with an ``output_layer_names`` attribute.

    Parameters
    ----------
    model : nn.Module
        A genodeep model (it needs ``n_tasks`` unless it defines ``output_layer_names``).

    Returns
    -------
    list of str
    """
    names = getattr(model, "output_layer_names", None)
    if names:
        return list(names)
    n_tasks = getattr(model, "n_tasks", None)
    if n_tasks is None:
        raise ValueError(
            f"{type(model).__name__} has no n_tasks; cannot tell its output layer. Give the layer "
            "names with new= / set model.output_layer_names"
        )
    layers = [(name, m) for name, m in model.named_modules() if _out_size(m) is not None]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear/Conv1d/GCNLayer layer to replace")
    last_name, last = layers[-1]
    heads = [last_name] if _out_size(last) == n_tasks else []
    # a second head: the last such layer in a different branch (e.g. BPNet's head.profile / head.linear)
    # (a sibling of the last layer of another type, with n_tasks outputs too)
    parent = last_name.rpartition(".")[0]
    for name, m in reversed(layers[:-1]):
        if (
            heads
            and _out_size(m) == n_tasks
            and name.rpartition(".")[0] == parent
            and type(m) is not type(last)
        ):
            heads.insert(0, name)
            break
    if not heads:
        raise ValueError(
            f"the last layer of {type(model).__name__} ({last_name}) has {_out_size(last)} outputs, "
            f"not n_tasks={n_tasks}; set model.output_layer_names"
        )
    return heads


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


def _parametrised_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own parameters directly, in registration order (shared modules once)."""
    out, seen = [], set()
    for name, m in model.named_modules():
        if id(m) in seen:
            continue
        if any(True for _ in m.parameters(recurse=False)):
            out.append((name, m))
            seen.add(id(m))
    return out


def _matches(name: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return name == pattern or name.startswith(pattern + ".")


def _select(model: nn.Module, names: str | Iterable[str] | None, depth: int | None) -> list[str]:
    if names is None and depth is None:
        return [n for n, _ in model.named_parameters()]
    chosen: dict[str, None] = {}
    if names is not None:
        patterns = [names] if isinstance(names, str) else list(names)
        params = [n for n, _ in model.named_parameters()]
        for pattern in patterns:
            hit = [n for n in params if _matches(n, str(pattern))]
            if not hit:
                layers = sorted({n.rsplit(".", 1)[0] for n in params})
                raise ValueError(
                    f"names={pattern!r} matches no parameter of {type(model).__name__}; layers are: "
                    f"{', '.join(layers[:30])}{' ...' if len(layers) > 30 else ''}"
                )
            chosen.update(dict.fromkeys(hit))
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int):
            raise TypeError(f"depth must be an integer, got {depth!r}")
        layers = _parametrised_layers(model)
        pick = layers[:depth] if depth >= 0 else layers[: len(layers) + depth]
        if depth >= 0 and depth > len(layers):
            raise ValueError(
                f"depth={depth} exceeds the {len(layers)} parametrised layers of the model"
            )
        for lname, m in pick:
            for pname, _ in m.named_parameters(recurse=False):
                chosen[f"{lname}.{pname}" if lname else pname] = None
    return list(chosen)


def _bn_eval_hook(module: nn.Module, args: Any) -> None:
    """Forward pre-hook of a frozen batch-norm layer: always run it in eval mode."""
    if getattr(module, "_genodeep_frozen", False):
        module.training = False


def _sync_batchnorm(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            frozen = bool(params) and not any(p.requires_grad for p in params)
            m._genodeep_frozen = frozen
            has_hook = any(h is _bn_eval_hook for h in m._forward_pre_hooks.values())
            if frozen and not has_hook:
                m.register_forward_pre_hook(_bn_eval_hook)
            if not frozen and has_hook:
                for key in [k for k, h in m._forward_pre_hooks.items() if h is _bn_eval_hook]:
                    del m._forward_pre_hooks[key]


def freeze(
    model: nn.Module, names: str | Iterable[str] | None = None, *, depth: int | None = None
) -> list[str]:
    """Stop training the chosen parameters (``requires_grad = False``), in place.

    Parameters
    ----------
    model : nn.Module
    names : str or list of str, optional
        Parameter-name patterns: ``fnmatch`` globs (``"local.*"``, ``"*.bias"``) or plain prefixes
        (``"local"`` = that module and all below it). See ``[n for n, _ in model.named_parameters()]``.
    depth : int, optional
        Freeze the first ``depth`` parametrised layers (modules owning parameters, in registration
        order: e.g. conv, batch norm, ..., dense); negative: all but the last ``|depth|`` (``-1`` =
        everything except the output layer, i.e. linear probing).
        With neither ``names`` nor ``depth`` the whole model is frozen.

    Returns
    -------
    list of str
        Names of the parameters frozen by this call.
    """
    chosen = _select(model, names, depth)
    params = dict(model.named_parameters())
    for n in chosen:
        params[n].requires_grad_(False)
    _sync_batchnorm(model)
    return chosen


_freeze = freeze  # prepare_transfer's argument ``freeze`` shadows the function


def unfreeze(
    model: nn.Module, names: str | Iterable[str] | None = None, *, depth: int | None = None
) -> list[str]:
    """Train the chosen parameters again (``requires_grad = True``); arguments as in :func:`freeze`.

    Returns
    -------
    list of str
        Names of the parameters unfrozen.
    """
    chosen = _select(model, names, depth)
    params = dict(model.named_parameters())
    for n in chosen:
        params[n].requires_grad_(True)
    _sync_batchnorm(model)
    return chosen


def frozen_parameters(model: nn.Module) -> list[str]:
    """Names of the parameters with ``requires_grad = False``."""
    return [n for n, p in model.named_parameters() if not p.requires_grad]


# --------------------------------------------------------------------------------------------------
# learning rates


def param_groups(
    model: nn.Module,
    lr: float,
    pretrained_lr_scale: float = 0.1,
    *,
    new: str | Iterable[str] | None = None,
    weight_decay: float | None = None,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups: new layers at ``lr``, pretrained layers at ``lr * pretrained_lr_scale``.

    Parameters
    ----------
    model : nn.Module
    lr : float
        Learning rate of the new layers.
    pretrained_lr_scale : float, default 0.1
        Multiplier of ``lr`` for the pretrained (all other) parameters; 0 keeps them fixed (better:
        :func:`freeze` them).
    new : str or list of str, optional
        Name patterns (as in :func:`freeze`) of the newly initialised layers; default the output
        layer(s) (:func:`output_layers`), as left by :func:`replace_head`.
    weight_decay : float, optional
        Put in both groups when given.

    Returns
    -------
    list of dict
        ``[{"params": [...], "lr": lr, "name": "new"}, {"params": [...], "lr": lr * scale, "name":
        "pretrained"}]`` with frozen parameters left out and empty groups dropped; pass it to any
        ``torch.optim`` optimizer.
    """
    check_positive("lr", lr)
    check_positive("pretrained_lr_scale", pretrained_lr_scale, allow_zero=True)
    patterns = (
        output_layers(model) if new is None else ([new] if isinstance(new, str) else list(new))
    )
    new_names = set(_select(model, patterns, None))
    groups = {"new": [], "pretrained": []}
    for n, p in model.named_parameters():
        if p.requires_grad:
            groups["new" if n in new_names else "pretrained"].append(p)
    out = []
    for name, scale in (("new", 1.0), ("pretrained", float(pretrained_lr_scale))):
        if groups[name]:
            g: dict[str, Any] = {"params": groups[name], "lr": float(lr) * scale, "name": name}
            if weight_decay is not None:
                g["weight_decay"] = float(weight_decay)
            out.append(g)
    if not out:
        raise ValueError(
            f"{type(model).__name__} has no trainable parameters (everything is frozen)"
        )
    return out


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
