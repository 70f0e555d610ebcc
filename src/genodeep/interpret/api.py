"""One entry point for every attribution method.

:func:`attribute` picks a method by name from :data:`ATTRIBUTION_METHODS` and returns the scores in one
form whatever the method (:class:`Attributions`): the method's own output, the contribution of every
observed base, and the hypothetical contributions (the form TF-MoDISco reads) where the method defines
them. The file-level workflow behind ``genodeep interpret`` is
:func:`genodeep.workflows.interpret.interpret_to_files`.
"""

from __future__ import annotations

import inspect
import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from genodeep._validate import check_choice, check_positive, near_matches
from genodeep.interpret.deeplift import deep_lift_shap
from genodeep.interpret.gradients import _gradients, integrated_gradients, saliency
from genodeep.interpret.ism import saturation_mutagenesis

__all__ = [
    "ATTRIBUTION_METHODS",
    "Attributions",
    "attribute",
    "resolve_target",
]


class Attributions(NamedTuple):
    """What :func:`attribute` returns (all tensors float32 on the CPU, shape (N, 4, L)).

    Attributes
    ----------
    X : torch.Tensor, shape (N, 4, L)
        The one-hot sequences explained (float32).
    attributions : torch.Tensor, shape (N, 4, L)
        Contribution of each observed base (0 at the other three channels): ``X * hypothetical`` for
        ``ism``, ``ixg`` and ``deepliftshap``, ``X * |grad|`` for ``saliency``, the integrated gradients
        themselves for ``ig`` (zero baseline: ``X * path-averaged gradient``).
    hypothetical : torch.Tensor or None, shape (N, 4, L)
        Hypothetical contributions, the score every base would have at every position (what TF-MoDISco
        reads): the ISM effects centred on their per-position mean (``ism``), the gradient (``ixg``), the
        DeepLIFT/SHAP hypothetical scores (``deepliftshap``); ``None`` for ``saliency`` and ``ig``.
    scores : torch.Tensor, shape (N, 4, L)
        The method's own output: ISM effects ``y(mutant) - y(reference)`` (0 at the reference base),
        ``|dy/dX|``, ``X * dy/dX``, integrated gradients, or DeepLIFT/SHAP contributions.
    method : str
        The method's name (a key of :data:`ATTRIBUTION_METHODS`).
    """

    X: torch.Tensor
    attributions: torch.Tensor
    hypothetical: torch.Tensor | None
    scores: torch.Tensor
    method: str


# ----------------------------------------------------------------------------------------------
# the methods: each maps (model, X float32, common keywords, method keywords) -> (scores, hypothetical)


def _ism(model, X, *, target, batch_size, device, dtype, random_state, verbose, fast=True):
    scores = saturation_mutagenesis(
        model,
        X,
        target=target,
        fast=fast,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    return scores, scores - scores.mean(dim=1, keepdim=True)


def _saliency(model, X, *, target, batch_size, device, dtype, random_state, verbose):
    scores = saliency(
        model, X, target=target, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose
    )
    return scores, None


def _ixg(model, X, *, target, batch_size, device, dtype, random_state, verbose):
    grads = _gradients(model, X, target, batch_size, device, dtype, verbose)
    return X * grads, grads


def _ig(
    model,
    X,
    *,
    target,
    batch_size,
    device,
    dtype,
    random_state,
    verbose,
    baseline="zeros",
    n_steps=50,
    quadrature="gausslegendre",
):
    scores = integrated_gradients(
        model,
        X,
        target=target,
        baseline=baseline,
        n_steps=n_steps,
        method=quadrature,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
    )
    return scores, None


def _deepliftshap(
    model,
    X,
    *,
    target,
    batch_size,
    device,
    dtype,
    random_state,
    verbose,
    references="shuffle",
    n_shuffles=20,
):
    if dtype is not None and dtype != torch.float32:
        raise ValueError(
            f"dtype={dtype!r} is not supported by method='deepliftshap' (float32 only); use dtype=None"
        )
    hyp = deep_lift_shap(
        model,
        X,
        target=target,
        references=references,
        n_shuffles=n_shuffles,
        hypothetical=True,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    return X * hyp, hyp


#: name -> function ``(model, X, *, target, batch_size, device, dtype, random_state, verbose, **options)
#: -> (scores, hypothetical | None)``. The options each method accepts are its keyword arguments.
ATTRIBUTION_METHODS: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor | None]]] = {
    "ism": _ism,
    "saliency": _saliency,
    "ixg": _ixg,
    "ig": _ig,
    "deepliftshap": _deepliftshap,
}

_COMMON = ("target", "batch_size", "device", "dtype", "random_state", "verbose")


def _method_options(fn: Callable) -> list[str]:
    return [
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind == p.KEYWORD_ONLY and name not in _COMMON
    ]


def attribute(
    model: nn.Module,
    X: torch.Tensor | np.ndarray,
    *,
    method: str = "ism",
    target: Any = None,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = None,
    verbose: bool = False,
    **options: Any,
) -> Attributions:
    """Attribution scores of every base of every sequence, by any method.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, 4, L)`` float inputs to outputs (see ``target``).
    X : torch.Tensor or np.ndarray, shape (N, 4, L) or (4, L)
        One-hot sequences (any numeric dtype).
    method : {"ism", "saliency", "ixg", "ig", "deepliftshap"}, default "ism"
        In-silico saturation mutagenesis, saliency ``|dy/dX|``, input x gradient, integrated gradients,
        DeepLIFT/SHAP with dinucleotide-shuffled references.
    target : None, int, list of int or callable, default None
        Output to explain (see :mod:`genodeep.interpret._targets`; ``None`` sums all outputs). Task
        names are resolved by :func:`resolve_target`.
    batch_size : int, optional
        Rows per forward/backward pass (``ism``: mutants per pass); by default the method's own
        default (``ism`` and ``deepliftshap`` size batches to about 16 MB of activations; 64 for the
        others).
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward passes under autocast (not for ``deepliftshap``).
    random_state : int, optional
        Seed for shuffled references (``deepliftshap``, ``ig`` with ``baseline="shuffle"``).
    verbose : bool, default False
        Progress bars.
    **options
        Method options: ``ism``: ``fast``; ``ig``: ``baseline``, ``n_steps``, ``quadrature`` (the
        integration rule); ``deepliftshap``: ``references``, ``n_shuffles``.

    Returns
    -------
    Attributions
        ``X``, ``attributions``, ``hypothetical`` (or ``None``), ``scores`` (each (N, 4, L), or (4, L)
        for a single sequence) and ``method``.
    """
    check_choice("method", method, ATTRIBUTION_METHODS)
    if batch_size is None and method not in ("ism", "deepliftshap"):
        batch_size = 64  # ism and deepliftshap size their batches by activation memory
    if batch_size is not None:
        check_positive("batch_size", batch_size)
    fn = ATTRIBUTION_METHODS[method]
    valid = _method_options(fn)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        hint = ", ".join(valid) if valid else "none"
        raise TypeError(
            f"method={method!r} got unknown option(s) {', '.join(unknown)}; its options are: {hint}"
        )
    Xt = torch.from_numpy(np.asarray(X)) if isinstance(X, np.ndarray) else X
    if not isinstance(Xt, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor or np.ndarray (N, 4, L), got {type(X).__name__}")
    single = Xt.ndim == 2
    if single:
        Xt = Xt.unsqueeze(0)
    if Xt.ndim != 3 or Xt.shape[1] != 4:
        raise ValueError(
            f"X had shape {tuple(Xt.shape)} while it should have had (N, 4, L) or (4, L); "
            "one-hot encode sequences with genodeep.seq.one_hot"
        )
    Xf = Xt.float()
    scores, hyp = fn(
        model,
        Xf,
        target=target,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
        **options,
    )
    scores = scores.float()
    if method == "saliency":
        attr = Xf * scores
    elif method == "ig":
        attr = scores
    else:
        hyp = hyp.float()
        attr = Xf * hyp
    if single:
        Xf, attr, scores = Xf[0], attr[0], scores[0]
        hyp = None if hyp is None else hyp[0]
    return Attributions(Xf, attr, hyp, scores, method)


# ----------------------------------------------------------------------------------------------
# targets


def resolve_target(target: Any, task_names: Sequence[str] | None = None) -> Any:
    """Turn a task name (or an index given as text) into the index the attribution functions take.

    Parameters
    ----------
    target : None, int, str, list of int/str, or callable
        ``str``: a task name from ``task_names`` or a task index written as digits.
    task_names : sequence of str, optional
        The model's task names.

    Returns
    -------
    None, int, list of int or callable
    """
    if target is None or callable(target):
        return target
    if isinstance(target, (list, tuple)):
        return [resolve_target(t, task_names) for t in target]
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        return int(target)
    if isinstance(target, str):
        names = list(task_names or [])
        if target in names:
            return names.index(target)
        if re.fullmatch(r"-?\d+", target.strip()):
            return int(target)
        close = near_matches(target, names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        valid = ", ".join(names) if names else "none are named; give an index"
        raise ValueError(
            f"target={target!r} is not a task of the model{hint}; give a task name ({valid}) or a "
            "task index"
        )
    raise TypeError(f"target must be None, a task name or index, or a list of them; got {target!r}")
