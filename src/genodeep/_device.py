"""Device handling shared by every compute function.

``device=None`` means CUDA when available, else CPU. :func:`model_on` moves a model for the duration
of a call and restores its device and train/eval mode afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a ``torch.device``; ``None`` picks CUDA when available."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """Device of the model's first parameter (CPU for a parameter-free model)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def model_on(
    model: torch.nn.Module, device: torch.device, *, eval_mode: bool = True
) -> Iterator[torch.nn.Module]:
    """Temporarily move ``model`` to ``device`` (and eval mode); restore both afterwards."""
    old_device = model_device(model)
    was_training = model.training
    model.to(device)
    if eval_mode:
        model.eval()
    try:
        yield model
    finally:
        model.to(old_device)
        model.train(was_training)
