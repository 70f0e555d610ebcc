"""The one training loop of the demonstrations in :mod:`genodeep.workflows.showcase`.

:func:`early_stopping` is the loop (an epoch function, a validation loss, early stopping, best weights
restored); :func:`train_bce` runs it with minibatch Adam on binary cross-entropy, and the GCN
demonstration with full-batch Adam on masked nodes. The demonstrations compare models on small
simulated data, so the loop is kept plain and fast: :func:`genodeep.train.fit` (Lightning) would
draw its batches and initialise its state differently and so change every number in their tables
and the claims the demo report checks. Results depend only on ``random_state`` (CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from genodeep._progress import progress
from genodeep.train.metrics import auprc, auroc

__all__ = [
    "bce",
    "adam",
    "early_stopping",
    "train_bce",
    "predict_batched",
    "auc_scores",
    "split_indices",
]


def bce(out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy of logits ``out`` against ``y`` (over the entries where ``mask`` is 1)."""
    # softplus(z) - z y: binary cross-entropy on logits (numerically stable; cheaper than the fused
    # kernel on tiny tensors, whose thread-pool start-up dominates on a busy CPU)
    loss = nn.functional.softplus(out) - out * y
    if mask is None:
        return loss.mean()
    return (loss * mask).sum() / mask.sum().clamp_min(1)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    return list(torch.randperm(n, generator=gen).split(batch_size))


def adam(
    model: nn.Module, lr: float | list[dict[str, Any]], weight_decay: float
) -> torch.optim.Adam:
    """Adam over the trainable parameters at ``lr``, or over parameter groups (see
    :func:`genodeep.train.transfer.param_groups`)."""
    if isinstance(lr, list):
        return torch.optim.Adam(lr, weight_decay=weight_decay)
    return torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay
    )


def early_stopping(
    model: nn.Module,
    train_epoch: Callable[[], None],
    valid_loss: Callable[[], torch.Tensor],
    *,
    max_epochs: int,
    patience: int,
    verbose: bool,
    desc: str,
) -> nn.Module:
    """The one training loop of the demonstrations: ``train_epoch()`` in train mode, then
    ``valid_loss()`` in eval mode without gradients; stop after ``patience`` epochs without an
    improvement; restore the weights of the epoch with the lowest validation loss."""
    best, best_state, wait = float("inf"), _snapshot(model), 0
    for _ in progress(range(max_epochs), total=max_epochs, desc=desc, verbose=verbose):
        model.train()
        train_epoch()
        model.eval()
        with torch.no_grad():
            v = float(valid_loss())
        if v < best - 1e-5:
            best, best_state, wait = v, _snapshot(model), 0
        else:
            wait += 1
            if wait >= patience:
                break
    model.load_state_dict(best_state)
    return model.eval()


def train_bce(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    y: torch.Tensor,
    valid_inputs: Sequence[torch.Tensor],
    y_valid: torch.Tensor,
    *,
    lr: float | list[dict[str, Any]] = 1e-3,
    max_epochs: int = 30,
    patience: int = 5,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    random_state: int = 0,
    verbose: bool = False,
    desc: str = "train",
) -> nn.Module:
    """Minibatch Adam on BCE; keep the weights of the epoch with the lowest validation loss.

    ``lr`` is a learning rate, or optimizer parameter groups (see
    :func:`genodeep.train.transfer.param_groups`). Inputs are tuples of tensors with ``N`` rows, passed
    as ``model(*inputs)``.
    """
    gen = torch.Generator().manual_seed(int(random_state))
    torch.manual_seed(int(random_state))
    opt = adam(model, lr, weight_decay)
    n = int(y.shape[0])

    def train_epoch() -> None:
        for idx in _batches(n, batch_size, gen):
            opt.zero_grad()
            loss = bce(model(*[t[idx] for t in inputs]), y[idx])
            loss.backward()
            opt.step()

    def valid_loss() -> torch.Tensor:
        return bce(predict_batched(model, valid_inputs, batch_size=1024, raw=True), y_valid)

    return early_stopping(
        model, train_epoch, valid_loss, max_epochs=max_epochs, patience=patience,
        verbose=verbose, desc=desc,
    )  # fmt: skip


@torch.no_grad()
def predict_batched(
    model: nn.Module, inputs: Sequence[torch.Tensor], *, batch_size: int = 1024, raw: bool = False
) -> torch.Tensor:
    """``model(*inputs)`` in eval mode, ``batch_size`` rows at a time; probabilities unless ``raw``."""
    model.eval()
    n = int(inputs[0].shape[0])
    out = torch.cat(
        [model(*[t[i : i + batch_size] for t in inputs]) for i in range(0, n, batch_size)]
    )
    return out if raw else torch.sigmoid(out)


def auc_scores(y: torch.Tensor, p: torch.Tensor) -> dict[str, float]:
    """Mean auROC and auPRC over the tasks (columns) of ``y`` ``(N, tasks)`` and ``p``."""
    y_np, p_np = y.numpy(), p.numpy()
    return {
        "auroc": float(np.nanmean(auroc(y_np, p_np))),
        "auprc": float(np.nanmean(auprc(y_np, p_np))),
    }


def split_indices(n: int, fractions: Sequence[float], rng: np.random.Generator) -> list[np.ndarray]:
    """A random partition of ``range(n)``: one sorted part per fraction, then the rest."""
    perm = rng.permutation(n)
    cuts = np.cumsum([int(round(f * n)) for f in fractions])
    parts = np.split(perm, cuts)
    return [np.sort(p) for p in parts]
