"""The one batched-forward loop that predict, interpret and variant scoring share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from genodeep._device import model_on, resolve_device
from genodeep._progress import progress


def forward(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    *,
    device: torch.device,
    dtype: torch.dtype | None = None,
):
    """One batch: ``fn(*inputs)`` with every input moved to ``device`` as float32, under autocast when
    ``dtype`` is bfloat16/float16."""
    xs = [x.to(device, non_blocking=True).float() for x in inputs]
    if dtype is not None and dtype != torch.float32:
        with torch.autocast(device_type=device.type, dtype=dtype):
            return fn(*xs)
    return fn(*xs)


def batched_apply(
    fn: Callable[..., torch.Tensor],
    X: torch.Tensor | Sequence[torch.Tensor],
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
    verbose: bool = False,
    desc: str = "predict",
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Apply ``fn`` to ``X`` in batches on ``device``; return results on the CPU, concatenated.

    Parameters
    ----------
    fn : callable
        Maps a batch ``(b, ...)`` (or, for a tuple of inputs, ``fn(x1_b, x2_b, ...)``) to an output
        ``(b, ...)`` or a tuple of them.
    X : torch.Tensor, shape (N, ...), or a tuple of tensors with N rows each
        Inputs; any dtype, cast to float32 (or ``dtype`` with autocast) per batch.
    batch_size : int
        Rows per call of ``fn``.
    dtype : torch.dtype, optional
        ``torch.bfloat16``/``torch.float16`` runs under autocast; results come back as float32.
    """
    device = torch.device(device)
    inputs = tuple(X) if isinstance(X, (tuple, list)) else (X,)
    outs = []
    n = inputs[0].shape[0]
    starts = range(0, n, batch_size)
    for start in progress(starts, total=len(starts), desc=desc, verbose=verbose):
        batch = [x[start : start + batch_size] for x in inputs]
        outs.append(_to_cpu(forward(fn, batch, device=device, dtype=dtype)))
    if not outs:
        raise ValueError("no inputs: X has 0 rows")
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs))
    return torch.cat(outs)


def _to_cpu(y):
    if isinstance(y, (tuple, list)):
        return tuple(t.float().cpu() for t in y)
    return y.float().cpu()


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    X: torch.Tensor | Sequence[torch.Tensor],
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Batched forward pass of ``model`` over ``X``: the one predict loop of genodeep.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(b, 4, L)`` (or whatever ``X`` rows are) and returns ``(b, ...)``.
    X : torch.Tensor, shape (N, 4, L), or a tuple of tensors with N rows each
        One-hot sequences (any numeric dtype), or the inputs of a multi-input model (``model(*X)``).

    Returns
    -------
    y_hat : torch.Tensor, shape (N, ...), or a tuple of them
        Model outputs as float32 on the CPU (a tuple when the model returns several heads). The model's device and mode are restored.
    """
    dev = resolve_device(device)
    with model_on(model, dev) as m:
        return batched_apply(m, X, batch_size=batch_size, device=dev, dtype=dtype, verbose=verbose)
