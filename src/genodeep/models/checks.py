"""Checks that a model can read windows of a given length, made before any file is read or scored, so
that a length the model cannot take is one clear error instead of a torch traceback mid-run."""

from __future__ import annotations

import numpy as np
import torch

from genodeep._batching import predict

__all__ = ["first_filter_width", "check_first_filter", "check_model_runs"]


def first_filter_width(model: torch.nn.Module) -> int | None:
    """Width in bases of the model's first convolution (dilation included); None without one."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv1d):
            return int(m.dilation[0]) * (int(m.kernel_size[0]) - 1) + 1
    return None


def _receptive_field(model: torch.nn.Module) -> int | None:
    try:
        rf = getattr(model, "receptive_field", None)
    except Exception:  # a model whose trunk cannot be analysed
        return None
    return int(rf) if isinstance(rf, (int, np.integer)) else None


def _length_fix(model, length: int, need: int, name: str, flag: str) -> str:
    width, rf = first_filter_width(model), _receptive_field(model)
    parts = [f"first filter {width} bases"] if width else []
    if rf:
        parts.append(f"receptive field {rf} bases")
    what = f" ({', '.join(parts)})" if parts else ""
    return (
        f"{name}={length} ({flag}) is too short for the model{what}; use {flag} {need} or "
        "more, ideally the window length the model was trained on"
    )


def check_first_filter(
    model: torch.nn.Module, length: int, *, name: str = "length", flag: str = "--length"
) -> None:
    """Raise ``ValueError`` when ``length`` is shorter than the model's first filter.

    ``name`` and ``flag`` are the API argument and the CLI flag the length came from (for the message).
    """
    width = first_filter_width(model)
    if width and length < width:
        need = max(width, _receptive_field(model) or 0)
        raise ValueError(_length_fix(model, length, need, name, flag))


def check_model_runs(
    model: torch.nn.Module,
    length: int,
    *,
    name: str = "length",
    flag: str = "--length",
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Run the model once on an all-N window ``(1, 4, length)``: a length it cannot take (pooling past
    the end, a dense layer sized for another length) raises ``ValueError`` naming the fix."""
    X = torch.zeros(1, 4, length)
    try:
        predict(model, X, batch_size=1, device=device, dtype=dtype)
    except RuntimeError as err:
        need = max(first_filter_width(model) or 1, _receptive_field(model) or 1)
        raise ValueError(
            _length_fix(model, length, need, name, flag).replace("is too short for", "does not fit")
            + f" (the model fails on a {length}-base window: {str(err).splitlines()[0]})"
        ) from None
