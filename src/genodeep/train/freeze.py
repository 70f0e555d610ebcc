"""Freezing layers for transfer learning: by name pattern or depth, with frozen BatchNorm statistics, and
optimizer parameter groups that give pretrained layers a smaller learning rate."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from torch import nn

from genodeep._validate import check_positive
from genodeep.models.gcn import GCNLayer


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
