"""The one batched-forward loop that predict, interpret and variant scoring share."""

from __future__ import annotations

from collections.abc import Callable

import torch

from genodeep._device import model_on, resolve_device
from genodeep._progress import progress


def batched_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
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
        Maps a batch ``(b, ...)`` to an output ``(b, ...)``.
    X : torch.Tensor, shape (N, ...)
        Inputs; any dtype, cast to float32 (or ``dtype`` with autocast) per batch.
    batch_size : int
        Rows per call of ``fn``.
    dtype : torch.dtype, optional
        ``torch.bfloat16``/``torch.float16`` runs under autocast; results come back as float32.
    """
    device = torch.device(device)
    outs = []
    n = X.shape[0]
    starts = range(0, n, batch_size)
    for start in progress(starts, total=len(starts), desc=desc, verbose=verbose):
        xb = X[start : start + batch_size].to(device, non_blocking=True).float()
        if dtype is not None and dtype != torch.float32:
            with torch.autocast(device_type=device.type, dtype=dtype):
                yb = fn(xb)
        else:
            yb = fn(xb)
        outs.append(_to_cpu(yb))
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
    X: torch.Tensor,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Batched forward pass of ``model`` over ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(b, 4, L)`` (or whatever ``X`` rows are) and returns ``(b, ...)``.
    X : torch.Tensor, shape (N, 4, L)
        One-hot sequences (any numeric dtype).

    Returns
    -------
    y_hat : torch.Tensor, shape (N, ...), or a tuple of them
        Model outputs as float32 on the CPU (a tuple when the model returns several heads). The model's device and mode are restored.
    """
    dev = resolve_device(device)
    with model_on(model, dev) as m:
        return batched_apply(m, X, batch_size=batch_size, device=dev, dtype=dtype, verbose=verbose)
