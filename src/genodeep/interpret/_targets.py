"""Output selection shared by every attribution method: reduce a model's output to one number per example.

Every attribution explains a scalar per example. ``target`` says which one:

- ``None`` (default): the sum of all outputs of the explained tensor. A model with one output gives that
  output; a multitask model ``(N, T)`` gives the sum over its tasks; a profile ``(N, T, L_out)`` the sum
  over tasks and positions.
- ``int`` ``t``: task ``t`` (``y[:, t]``; for a profile ``(N, T, L_out)``, ``y[:, t].sum(-1)``, the
  total over positions).
- list of ints: the sum of those tasks.
- callable: ``target(output) -> (N,)`` receives the model's raw output (a tensor, or the tuple for a
  multi-head model) and returns one value per example.

Multi-head models that return a tuple, such as BPNet's ``(profile (N, T, L_out), counts (N, T))``, are
explained through their **last** element, the count head by convention: ``target=None`` is the count head
summed over tasks, ``target=t`` is the count of task ``t``. Pass a callable to explain the profile head,
e.g. ``target=lambda y: y[0][:, 0].sum(-1)``.

The int, list and ``None`` reductions are linear, so DeepLIFT's completeness holds exactly for them; a
nonlinear callable is differentiated with plain gradients (DeepLIFT rules apply only inside the model).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn

Target = int | Sequence[int] | Callable[..., torch.Tensor] | None


def check_target(target: Target) -> None:
    """Raise ``TypeError`` unless ``target`` is None, an int, a list of ints or a callable."""
    if target is None or callable(target):
        return
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        return
    if (
        isinstance(target, (list, tuple))
        and target
        and all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target)
    ):
        return
    raise TypeError(
        f"target must be None, an int task index, a non-empty list of ints or a callable "
        f"mapping the model output to shape (N,); got {target!r}"
    )


def select_output(y: torch.Tensor | Sequence[torch.Tensor], target: Target) -> torch.Tensor:
    """Reduce a model output to one value per example.

    Parameters
    ----------
    y : torch.Tensor, shape (N,), (N, T) or (N, T, L_out); or a tuple of them
        The model's output for ``N`` examples. For a tuple, the last element is used (unless ``target`` is
        callable, which receives the whole tuple).
    target : None, int, list of int or callable
        See the module docstring.

    Returns
    -------
    torch.Tensor, shape (N,)
        The selected value for each example.
    """
    if callable(target):
        out = target(y)
        n = _first(y).shape[0]
        if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n,), (n, 1)):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"target callable returned {shape} while it should have returned a tensor of shape "
                f"({n},), one value per example; reduce the model output to one number per row"
            )
        return out.reshape(n)
    if isinstance(y, (tuple, list)):
        y = y[-1]
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"the model returned {type(y).__name__}; expected a tensor or a tuple of tensors"
        )
    n = y.shape[0]
    if y.ndim == 1:
        y = y.unsqueeze(1)
    n_tasks = y.shape[1]
    if target is None:
        return y.reshape(n, -1).sum(1)
    idx = [int(target)] if isinstance(target, numbers.Integral) else [int(t) for t in target]
    for t in idx:
        if not -n_tasks <= t < n_tasks:
            raise ValueError(
                f"target={target!r} is out of range: the model output has {n_tasks} task(s) on axis 1 "
                f"(shape {tuple(y.shape)}); use a task index in 0..{n_tasks - 1}"
            )
    if len(idx) == 1:
        sel = y[:, idx[0]]
    else:
        sel = y[:, idx].sum(1)
    return sel.reshape(n, -1).sum(1)


def _first(y):
    return y[0] if isinstance(y, (tuple, list)) else y


class _Unused(nn.Module):
    """Stands in for a module whose output does not reach the explained value: returns NaNs, no work."""

    def __init__(self, tail: tuple[int, ...], dtype: torch.dtype, name: str) -> None:
        super().__init__()
        self.tail, self.dtype, self.name = tail, dtype, name

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return torch.full((x.shape[0],) + self.tail, math.nan, dtype=self.dtype, device=x.device)

    def extra_repr(self) -> str:
        return f"unused {self.name}"


def prune_unused(model: nn.Module, X_probe: torch.Tensor, target: Target) -> list[str]:
    """Replace, in place, parameterised leaf modules whose output cannot affect ``target`` by stubs.

    A multi-head model computes every head, but an attribution explains one value: BPNet's profile
    convolution, for instance, is dead work when the count head is explained. Reachability is read from
    the autograd graph of one probe example; the pruned model is then run on the probe again (the stubs
    return NaN) and the pruning is undone unless the explained value is bit-identical, so a
    non-differentiable dependence (e.g. an argmax) is never pruned silently. Use only on a private copy.

    Parameters
    ----------
    model : torch.nn.Module
        A copy of the model (modified in place), in eval mode.
    X_probe : torch.Tensor, shape (1, C, L)
        One input example, on the model's device.
    target : None, int, list of int or callable
        The explained value (see :func:`select_output`).

    Returns
    -------
    list of str
        Names of the pruned modules (empty when nothing was pruned).
    """
    records: dict[int, list] = {}
    names: dict[int, str] = {}
    handles = []

    def hook(mod, args, out):
        records.setdefault(id(mod), []).append(out)

    for name, m in model.named_modules():
        if len(m._modules) == 0 and next(m.parameters(recurse=False), None) is not None:
            names[id(m)] = name
            handles.append(m.register_forward_hook(hook))
    x = X_probe.detach().float().requires_grad_(True)
    try:
        with torch.enable_grad():
            y = select_output(model(x), target)
    finally:
        for h in handles:
            h.remove()
    if y.grad_fn is None:
        return []
    reachable: set = set()
    stack = [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in reachable:
            continue
        reachable.add(node)
        stack.extend(f for f, _ in node.next_functions)
    dead: dict[int, _Unused] = {}
    for key, outs in records.items():
        if all(isinstance(o, torch.Tensor) and o.grad_fn is not None for o in outs) and not any(
            o.grad_fn in reachable for o in outs
        ):
            o = outs[0]
            dead[key] = _Unused(tuple(o.shape[1:]), o.dtype, names[key])
    if not dead:
        return []
    swapped = []
    for parent in list(model.modules()):
        for k, child in list(parent._modules.items()):
            if child is not None and id(child) in dead:
                parent._modules[k] = dead[id(child)]
                swapped.append((parent, k, child))
    with torch.no_grad():
        y2 = select_output(model(x.detach()), target)
    if not torch.equal(y2, y.detach()):
        for parent, k, child in swapped:
            parent._modules[k] = child
        return []
    return [d.name for d in dead.values()]
