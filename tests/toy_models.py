"""Tiny, deterministic models for tests anywhere in the suite: ``from toy_models import tiny_cnn``.

Every factory seeds its own initialisation (the global torch RNG is left untouched), randomises batch-norm
statistics so that batch norm is not the identity, and returns the model in eval mode.
"""

from __future__ import annotations

import torch
from torch import nn

from genodeep.models import Basset, BPNet, DanQ, DeepBind, DeepSEA


def random_onehot(n: int, length: int, *, seed: int = 0) -> torch.Tensor:
    """Random one-hot DNA, float32 ``(n, 4, length)``."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()


def randomize_batchnorm(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """Give every BatchNorm1d random running statistics and affine parameters (in place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model


def _seeded(seed: int, build):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build()
    randomize_batchnorm(model, seed=seed)
    return model.eval()


class LinearModel(nn.Module):
    """``y[n, t] = sum_{c, l} weight[t, c, l] * x[n, c, l] + bias[t]`` on ``(N, 4, L)``.

    ISM of this model is known exactly: the effect of substituting base ``b`` at position ``l`` is
    ``weight[t, b, l] - weight[t, ref, l]``.
    """

    def __init__(self, length: int, n_tasks: int = 1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_tasks, 4, length))
        self.bias = nn.Parameter(torch.randn(n_tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ncl,tcl->nt", x.float(), self.weight) + self.bias


class LinearConvModel(nn.Module):
    """Linear local model: conv ``(4 -> n_tasks, width)`` then sum over positions -> ``(N, n_tasks)``.

    Exposes ``split_local()`` (``local`` = the convolution), like the genodeep architectures.
    """

    def __init__(self, n_tasks: int = 1, width: int = 5) -> None:
        super().__init__()
        self.local = nn.Sequential(nn.Conv1d(4, n_tasks, width))
        self.head = _SumPositions()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.local(x.float()))

    def split_local(self) -> tuple[nn.Sequential, nn.Module]:
        return self.local, self.head


class _SumPositions(nn.Module):
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.sum(dim=-1)


def linear_model(length: int = 12, n_tasks: int = 1, *, seed: int = 0) -> LinearModel:
    """A :class:`LinearModel` with seeded random weights."""
    return _seeded(seed, lambda: LinearModel(length, n_tasks))


def linear_conv_model(n_tasks: int = 1, width: int = 5, *, seed: int = 0) -> LinearConvModel:
    """A :class:`LinearConvModel` with seeded random weights."""
    return _seeded(seed, lambda: LinearConvModel(n_tasks, width))


def tiny_cnn(
    length: int = 40, n_tasks: int = 2, *, batch_norm: bool = True, seed: int = 0
) -> Basset:
    """Basset-style: conv 6x5 -> BN -> ReLU -> maxpool 2 -> conv 5x3 -> BN -> ReLU -> maxpool 2 -> dense 8.

    Receptive field 5 + 1 + 2*2 + 1*2 = 12 bases (jump 4); input ``(N, 4, length)``.
    """
    return _seeded(
        seed,
        lambda: Basset(
            n_tasks=n_tasks,
            input_length=length,
            filters=[6, 5],
            widths=[5, 3],
            pools=[2, 2],
            batch_norm=batch_norm,
            dense=[8],
            dense_dropout=0.0,
        ),
    )


def tiny_dilated(
    n_tasks: int = 2,
    *,
    heads: str = "profile+count",
    n_layers: int = 3,
    pool: str = "avg",
    seed: int = 0,
) -> BPNet:
    """BPNet-style: conv 6x5 -> ReLU -> ``n_layers`` residual dilated convs (k 3, dilation 2, 4, 8), profile k 7.

    Trunk receptive field ``5 + 2*(2 + 4 + 8) = 33`` bases for 3 layers; any input length works.
    """
    return _seeded(
        seed,
        lambda: BPNet(
            n_tasks=n_tasks,
            filters=6,
            first_kernel=5,
            n_layers=n_layers,
            profile_kernel=7,
            heads=heads,
            pool=pool,
        ),
    )


def tiny_deepbind(n_tasks: int = 1, *, seed: int = 0) -> DeepBind:
    """DeepBind-style: conv 4x6 -> ReLU -> global max -> dense 8; any input length >= 6."""
    return _seeded(seed, lambda: DeepBind(n_tasks=n_tasks, filters=4, width=6, hidden=8))


def motif_detector(motif: str) -> DeepBind:
    """DeepBind with one filter that scores exact matches of ``motif`` (weight 1 per matching base),
    global max pooling and a linear read-out of weight 1: output = best match count in the window."""
    model = DeepBind(n_tasks=1, filters=1, width=len(motif), hidden=0).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv1d))
        for i, b in enumerate(motif):
            conv.weight[0, "ACGT".index(b), i] = 1.0
        [m for m in model.modules() if isinstance(m, nn.Linear)][-1].weight.fill_(1.0)
    return model


def tiny_deepsea(length: int = 60, n_tasks: int = 2, *, seed: int = 0) -> DeepSEA:
    """DeepSEA-style: 3 convs (4, 5, 6 filters, width 5), pools 2, 2, 1, dense 8."""
    return _seeded(
        seed,
        lambda: DeepSEA(
            n_tasks=n_tasks,
            input_length=length,
            filters=[4, 5, 6],
            widths=[5, 5, 5],
            pools=[2, 2, 1],
            dense=[8],
        ),
    )


def tiny_danq(length: int = 40, n_tasks: int = 2, *, seed: int = 0) -> DanQ:
    """DanQ-style: conv 4x6 -> ReLU -> maxpool 3 -> BiLSTM 5 -> dense 8."""
    return _seeded(
        seed,
        lambda: DanQ(
            n_tasks=n_tasks,
            input_length=length,
            filters=4,
            width=6,
            pool=3,
            hidden_size=5,
            dense=[8],
        ),
    )
