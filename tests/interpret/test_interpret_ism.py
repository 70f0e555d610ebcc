"""In-silico saturation mutagenesis: the fast path equals a naive loop of full forward passes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from genodeep.interpret import _ism_plan as ism_mod
from genodeep.interpret import saturation_mutagenesis
from genodeep.interpret._targets import select_output
from genodeep.models import build_model
from genodeep.nn import ResidualDilatedConv
from toy_models import (
    linear_conv_model,
    linear_model,
    random_onehot,
    randomize_batchnorm,
    tiny_cnn,
    tiny_danq,
    tiny_deepbind,
    tiny_deepsea,
    tiny_dilated,
)

# the odd test model uses padding="same" with an even kernel on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def naive_ism(model, X, target=None):
    """Reference: one full forward pass per substitution (independent of the implementation)."""
    model.eval()
    out = torch.zeros(X.shape)
    with torch.no_grad():
        for n in range(X.shape[0]):
            x0 = X[n : n + 1].float()
            y0 = select_output(model(x0), target)
            for i in range(X.shape[2]):
                for b in range(X.shape[1]):
                    if X[n, b, i] == 1 and X[n, :, i].sum() == 1:
                        continue
                    x = x0.clone()
                    x[0, :, i] = 0
                    x[0, b, i] = 1
                    out[n, b, i] = (select_output(model(x), target) - y0)[0]
    return out


class _Split(nn.Module):
    """A model given as ``head(local(x))`` with ``split_local()``, for odd local stacks."""

    def __init__(self, local: nn.Sequential, head: nn.Module) -> None:
        super().__init__()
        self.local, self.head = local, head

    def forward(self, x):
        return self.head(self.local(x))

    def split_local(self):
        return self.local, self.head


def _odd_basset(length: int) -> nn.Module:
    """'same' padding with even kernels, dilation, strided conv, padded/ceil/overlapping pools, BN."""
    torch.manual_seed(3)
    local = nn.Sequential(
        nn.Conv1d(4, 6, 4, padding="same"),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),
        nn.Conv1d(6, 5, 3, dilation=2, padding=2),
        nn.ELU(),
        nn.AvgPool1d(2),
        nn.Conv1d(5, 5, 3, stride=2),
        nn.Tanh(),
        nn.MaxPool1d(2, stride=1),
        nn.Dropout(0.2),
    )
    with torch.no_grad():
        n = local(torch.zeros(1, 4, length)).numel()
    head = nn.Sequential(nn.Flatten(), nn.Linear(n, 7), nn.ReLU(), nn.Linear(7, 3))
    return randomize_batchnorm(_Split(local, head)).eval()


def _odd_dilated() -> nn.Module:
    """Residual dilated stack with an even first kernel and a GELU, global pooled head."""
    torch.manual_seed(4)
    local = nn.Sequential(
        nn.Conv1d(4, 6, 6, padding="same"),
        nn.GELU(),
        ResidualDilatedConv(6, 3, 2),
        ResidualDilatedConv(6, 3, 4, activation="elu"),
        ResidualDilatedConv(6, 2, 8),
    )
    head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 2))
    return _Split(local, head).eval()


@pytest.fixture(params=["auto", "all_delta", "all_recompute"])
def mode(request, monkeypatch):
    """Exercise both ways of updating a convolution window."""
    if request.param == "all_delta":
        monkeypatch.setattr(ism_mod, "_DELTA_MIN_TAPS", 0)
        monkeypatch.setattr(ism_mod, "_DELTA_RATIO", 10.0)
    elif request.param == "all_recompute":
        monkeypatch.setattr(ism_mod, "_DELTA_MIN_TAPS", 10**9)
        monkeypatch.setattr(ism_mod, "_DELTA_RATIO", 0.0)
    return request.param


CASES = {
    "basset": (lambda: tiny_cnn(40, 3), 40, None),
    "basset_odd": (lambda: _odd_basset(37), 37, 1),
    "deepsea": (lambda: tiny_deepsea(60, 2), 60, [0, 1]),
    "deepbind": (lambda: tiny_deepbind(2), 30, 0),
    "bpnet_counts": (lambda: tiny_dilated(2), 45, None),
    "bpnet_profile": (lambda: tiny_dilated(2), 45, lambda y: y[0][:, 1, 10:20].sum(-1)),
    "bpnet_short": (lambda: tiny_dilated(2), 20, None),  # windows span the whole length
    "dilated_odd": (_odd_dilated, 41, 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_ism_equals_naive_loop(case, mode):
    build, length, target = CASES[case]
    model = build()
    X = random_onehot(2, length, seed=1)
    X[1, :, 3] = 0  # an N: all four bases are substitutions
    assert ism_mod._fast_plan(model, length) is not None  # the fast path is really used
    fast = saturation_mutagenesis(model, X, target=target, device="cpu", batch_size=37)
    naive = naive_ism(model, X, target)
    scale = max(1.0, naive.abs().max().item())
    assert fast.shape == X.shape
    assert torch.allclose(fast, naive, atol=1e-4 * scale, rtol=0)
    assert naive.abs().max() > 1e-3  # the comparison is not vacuous
    # reference bases are exactly 0, the N column has 4 effects
    ref = (X == 1) & (X.sum(1, keepdim=True) == 1)
    assert (fast[ref] == 0).all()


def test_plan_uses_every_update_kind():
    kinds = set()
    for build, length in (
        (lambda: build_model("basset"), 600),
        (lambda: build_model("bpnet"), 1000),
    ):
        steps, _ = ism_mod._fast_plan(build().eval(), length)
        kinds |= {st.kind for st in steps[:-1] if isinstance(st, ism_mod._Window)}
    assert kinds == {"delta", "direct", "recompute", "full"}


def test_fallback_models_equal_naive_loop():
    # DanQ: local conv stack + LSTM head (fast path); MLP: no split (full passes)
    danq = tiny_danq(24, 2)
    X = random_onehot(1, 24, seed=2)
    assert torch.allclose(
        saturation_mutagenesis(danq, X, device="cpu"), naive_ism(danq, X), atol=1e-5
    )
    mlp = build_model("mlp", n_tasks=2, input_length=16).eval()
    X = random_onehot(2, 16, seed=3)
    assert ism_mod._fast_plan(mlp, 16) is None
    assert torch.allclose(
        saturation_mutagenesis(mlp, X, target=1, device="cpu"), naive_ism(mlp, X, 1), atol=1e-5
    )
    # fast=False on a convolutional model
    cnn = tiny_cnn(40, 2)
    X = random_onehot(1, 40, seed=4)
    slow = saturation_mutagenesis(cnn, X, fast=False, device="cpu")
    assert torch.allclose(slow, saturation_mutagenesis(cnn, X, device="cpu"), atol=1e-5)


def test_linear_model_gives_centred_weights():
    model = linear_model(12, 2)
    X = random_onehot(3, 12, seed=5)
    attr = saturation_mutagenesis(model, X, target=1, device="cpu")
    w = model.weight[1].detach()  # (4, L)
    ref_w = (w[None] * X).sum(1, keepdim=True)  # weight of the reference base at each position
    assert torch.allclose(attr, w[None] - ref_w, atol=1e-5)


def test_linear_conv_model_gives_centred_effective_weights():
    model = linear_conv_model(1, 5)  # conv (4 -> 1, width 5) then sum over positions: fast path
    length = 20
    X = random_onehot(2, length, seed=6)
    attr = saturation_mutagenesis(model, X, device="cpu")
    # y = sum_l sum_j w[c, j] x[c, l + j]: the weight of (c, i) is the sum of the taps covering i
    w = model.local[0].weight.detach()[0]
    eff = torch.zeros(4, length)
    for start in range(length - 4):
        eff[:, start : start + 5] += w
    assert torch.allclose(attr, eff[None] - (eff[None] * X).sum(1, keepdim=True), atol=1e-5)


def test_bf16_close_to_float32():
    model = tiny_dilated(1)
    X = random_onehot(1, 40, seed=7)
    exact = saturation_mutagenesis(model, X, device="cpu")
    approx = saturation_mutagenesis(model, X, device="cpu", dtype=torch.bfloat16)
    # bf16 rounds activations to 8 bits: effects agree to a few % of the largest effect
    assert (approx - exact).abs().max() <= 0.1 * exact.abs().max()
    assert torch.corrcoef(torch.stack([approx.flatten(), exact.flatten()]))[0, 1] > 0.99


def test_model_left_untouched_and_single_sequence():
    model = tiny_cnn(40, 2).train()
    before = copy.deepcopy(model.state_dict())
    X = random_onehot(1, 40, seed=8)
    one = saturation_mutagenesis(model, X[0], device="cpu")
    assert one.shape == (4, 40)
    assert model.training  # mode restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.eval()
    assert torch.allclose(one, naive_ism(model, X)[0], atol=1e-5)


def test_bad_arguments():
    model = tiny_cnn(40, 2)
    with pytest.raises(ValueError, match="shape"):
        saturation_mutagenesis(model, torch.zeros(4), device="cpu")
    with pytest.raises(TypeError, match="target"):
        saturation_mutagenesis(model, random_onehot(1, 40), target="a", device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        saturation_mutagenesis(model, random_onehot(1, 40), target=5, device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        saturation_mutagenesis(model, random_onehot(1, 40), batch_size=0, device="cpu")
