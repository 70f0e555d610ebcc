"""Gradient attributions: saliency, input x gradient and integrated gradients, batched.

All three differentiate one value per example (chosen by ``target``, see
:mod:`genodeep.interpret._targets`) with respect to the one-hot input ``(N, C, L)``; parameters are never
differentiated. The model's device and train/eval mode are restored afterwards (it runs in eval mode).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from genodeep._device import model_on, resolve_device
from genodeep._progress import progress
from genodeep._validate import check_choice, check_positive
from genodeep.interpret._targets import Target, check_target, select_output
from genodeep.interpret.ism import _as_batch, _autocast
from genodeep.seq import dinucleotide_shuffle

__all__ = ["input_x_gradient", "integrated_gradients", "saliency"]

IG_METHODS = (
    "gausslegendre",
    "riemann_trapezoid",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
)


def saliency(
    model: nn.Module,
    X: torch.Tensor,
    *,
    target: Target = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Saliency map: the absolute gradient ``|dy/dX|`` (Simonyan et al. 2014).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, C, L)`` float inputs to an output reduced by ``target``.
    X : torch.Tensor, shape (N, C, L) or (C, L)
        One-hot sequences (any numeric dtype).
    target : None, int, list of int or callable, default None
        Output to explain (``None``: sum of all outputs; tuple outputs use the last head, e.g. BPNet's
        counts).
    batch_size : int, default 64
        Sequences per forward/backward pass.
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward pass under autocast.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    torch.Tensor, shape like ``X``, float32
        ``|dy/dX|`` for every channel and position.
    """
    return _gradients(model, X, target, batch_size, device, dtype, verbose).abs()


def input_x_gradient(
    model: nn.Module,
    X: torch.Tensor,
    *,
    target: Target = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Input x gradient: ``X * dy/dX`` (for one-hot input, the gradient at the observed base).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, C, L)`` float inputs to an output reduced by ``target``.
    X : torch.Tensor, shape (N, C, L) or (C, L)
        One-hot sequences.
    target : None, int, list of int or callable, default None
        Output to explain.
    batch_size : int, default 64
        Sequences per pass.
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward pass under autocast.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    torch.Tensor, shape like ``X``, float32
        ``X * dy/dX``.
    """
    grads = _gradients(model, X, target, batch_size, device, dtype, verbose)
    Xb, single = _as_batch(X)
    return Xb[0].float() * grads if single else Xb.float() * grads


def integrated_gradients(
    model: nn.Module,
    X: torch.Tensor,
    *,
    target: Target = None,
    baseline: str | torch.Tensor = "zeros",
    n_steps: int = 50,
    method: str = "gausslegendre",
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017) along the straight path from a baseline.

    ``attr = (X - X0) * integral_0^1 dy/dX (X0 + a (X - X0)) da``, the integral approximated with
    ``n_steps`` points of ``method`` (the same rules and defaults as captum). Attributions sum to
    ``y(X) - y(X0)`` up to the quadrature error (completeness).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, C, L)`` float inputs to an output reduced by ``target``.
    X : torch.Tensor, shape (N, C, L) or (C, L)
        One-hot sequences.
    target : None, int, list of int or callable, default None
        Output to explain.
    baseline : {"zeros", "shuffle"} or torch.Tensor, default "zeros"
        ``"zeros"``: the all-zero input; ``"shuffle"``: one dinucleotide shuffle of each sequence
        (:func:`genodeep.seq.dinucleotide_shuffle`, seeded by ``random_state``); or a tensor of shape
        ``(N, C, L)`` or ``(C, L)`` (shared by all sequences).
    n_steps : int, default 50
        Points on the path.
    method : {"gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle"}
        Quadrature rule, default ``"gausslegendre"`` (captum's default).
    batch_size : int, default 64
        Path points (rows) per forward/backward pass.
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the forward pass under autocast.
    random_state : int, optional
        Seed for ``baseline="shuffle"``.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    torch.Tensor, shape like ``X``, float32
        The attributions.
    """
    check_target(target)
    check_positive("n_steps", n_steps)
    check_positive("batch_size", batch_size)
    check_choice("method", method, IG_METHODS)
    if method.startswith("riemann") and n_steps < 2:
        raise ValueError(f"n_steps must be >= 2 for method={method!r}, got {n_steps}")
    Xb, single = _as_batch(X)
    Xb = Xb.float()
    base = _baseline(baseline, Xb, random_state)
    alphas, weights = _quadrature(method, n_steps)
    dev = resolve_device(device)
    n = Xb.shape[0]
    acc = torch.zeros(Xb.shape, dtype=torch.float32)
    rows = n * n_steps
    starts = range(0, rows, batch_size)
    a_t = torch.tensor(alphas, dtype=torch.float32)
    w_t = torch.tensor(weights, dtype=torch.float32)
    with model_on(model, dev) as m:
        for s in progress(starts, total=len(starts), desc="integrated gradients", verbose=verbose):
            r = torch.arange(s, min(s + batch_size, rows))
            seq, step = r // n_steps, r % n_steps
            x0, x1 = base[seq], Xb[seq]
            path = x0 + a_t[step, None, None] * (x1 - x0)
            g = _grad_batch(m, path.to(dev), target, dev, dtype).cpu()
            acc.index_add_(0, seq, g * w_t[step, None, None])
    attr = (Xb - base) * acc
    return attr[0] if single else attr


# ----------------------------------------------------------------------------------------------


def _quadrature(method: str, n: int) -> tuple[list[float], list[float]]:
    """Path points ``alphas`` in [0, 1] and weights summing to 1 (captum's rules)."""
    if method == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return (0.5 * (1 + x)).tolist(), (0.5 * w).tolist()
    weights = [1.0 / n] * n
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
        alphas = torch.linspace(0, 1, n)
    elif method == "riemann_left":
        alphas = torch.linspace(0, 1 - 1 / n, n)
    elif method == "riemann_middle":
        alphas = torch.linspace(1 / (2 * n), 1 - 1 / (2 * n), n)
    else:
        alphas = torch.linspace(1 / n, 1, n)
    return alphas.tolist(), weights


def _baseline(baseline, X: torch.Tensor, random_state) -> torch.Tensor:
    if isinstance(baseline, str):
        check_choice("baseline", baseline, ("zeros", "shuffle"))
        if baseline == "zeros":
            return torch.zeros_like(X)
        return dinucleotide_shuffle(X, n=1, random_state=random_state)[:, 0].float()
    if isinstance(baseline, np.ndarray):
        baseline = torch.from_numpy(baseline)
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(
            f"baseline must be 'zeros', 'shuffle' or a tensor, got {type(baseline).__name__}"
        )
    if baseline.shape == X.shape[1:]:
        return baseline.float().cpu().expand_as(X)
    if baseline.shape != X.shape:
        raise ValueError(
            f"baseline had shape {tuple(baseline.shape)} while it should have had "
            f"{tuple(X.shape)} or {tuple(X.shape[1:])} (one per sequence, or one shared)"
        )
    return baseline.float().cpu()


def _grad_batch(model, xb, target, device, dtype) -> torch.Tensor:
    """``d target(model(xb)) / d xb`` for one batch (float32)."""
    x = xb.detach().float().requires_grad_(True)
    with torch.enable_grad():
        ctx = _autocast(device, dtype) if dtype is not None else contextlib.nullcontext()
        with ctx:
            y = select_output(model(x), target)
        (g,) = torch.autograd.grad(y.float().sum(), x)
    return g.float()


def _gradients(model, X, target, batch_size, device, dtype, verbose) -> torch.Tensor:
    check_target(target)
    check_positive("batch_size", batch_size)
    Xb, single = _as_batch(X)
    dev = resolve_device(device)
    out = torch.empty(Xb.shape, dtype=torch.float32)
    starts = range(0, Xb.shape[0], batch_size)
    with model_on(model, dev) as m:
        for s in progress(starts, total=len(starts), desc="gradients", verbose=verbose):
            xb = Xb[s : s + batch_size].to(dev)
            out[s : s + batch_size] = _grad_batch(m, xb, target, dev, dtype).cpu()
    return out[0] if single else out
