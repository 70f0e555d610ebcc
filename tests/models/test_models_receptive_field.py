"""Analytic receptive fields and local geometry checked against an empirical perturbation test.

Empirical receptive field: perturb one input position at a time (large random values, several random
inputs, so that a change also wins the max-pools on its way) and record which input positions change a
chosen interior output position; the first and last such positions must be the analytic span
``start + j*jump ... start + j*jump + receptive_field - 1``.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from genodeep.models import build_model
from genodeep.nn import ResidualDilatedConv, conv_geometry, output_length
from toy_models import randomize_batchnorm, tiny_cnn, tiny_dilated

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def changed_span(fn, length: int, j: int, *, in_channels: int = 4, trials: int = 4) -> tuple:
    """First and last input positions whose perturbation changes output position ``j`` of ``fn``."""
    g = torch.Generator().manual_seed(1)
    hit: set[int] = set()
    pos = torch.arange(length)
    for _ in range(trials):
        x = torch.randn(1, in_channels, length, generator=g)
        X = x.repeat(length + 1, 1, 1)
        X[pos + 1, :, pos] = 1000 * torch.randn(length, in_channels, generator=g)
        with torch.no_grad():
            out = fn(X)  # (length + 1, C', L_out)
        ref = out[:1, :, j]
        diff = ((out[1:, :, j] - ref).abs() / (1 + ref.abs())).amax(dim=1)
        hit |= set(torch.nonzero(diff > 1e-5).flatten().tolist())
    return min(hit), max(hit)


def check_local(local: nn.Module, length: int) -> int:
    """Assert analytic == empirical for an interior output position; return the receptive field."""
    local = copy.deepcopy(local).eval()
    geo = conv_geometry(local)
    with torch.no_grad():
        l_out = local(torch.zeros(1, 4, length)).shape[-1]
    assert output_length(local, length) == l_out
    j = l_out // 2
    lo, hi = geo.input_span(j)
    assert lo >= 0 and hi <= length, "test setup: pick a longer input so the span is interior"
    assert changed_span(local, length, j) == (lo, hi - 1)
    # the perturbation of input position p reaches exactly geo.affected_outputs(p, p + 1)
    p = length // 2
    x = torch.randn(1, 4, length)
    x2 = x.clone()
    x2[..., p] += 5
    with torch.no_grad():
        changed = (local(x) - local(x2)).abs().amax(dim=1)[0] > 1e-5
    expected = torch.zeros(l_out, dtype=torch.bool)
    expected[list(geo.affected_outputs(p, p + 1, l_out))] = True
    assert torch.equal(changed | expected, expected)  # never outside the analytic outputs
    return geo.receptive_field


@pytest.mark.parametrize(
    "layers",
    [
        # strided conv, padded max-pool with ceil_mode, even-width "same" conv, avg-pool, residual
        [
            nn.Conv1d(4, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),
            nn.Conv1d(6, 6, 4, padding="same"),
            nn.GELU(),
            nn.AvgPool1d(2),
            nn.Conv1d(6, 5, 3, stride=2),
            ResidualDilatedConv(5, 3, 4),
        ],
        # dilated convs with valid padding and a dilated max-pool
        [
            nn.Conv1d(4, 6, 3),
            nn.ELU(),
            nn.Conv1d(6, 6, 3, dilation=3),
            nn.Tanh(),
            nn.MaxPool1d(2, dilation=2),
            nn.BatchNorm1d(6),
            nn.Conv1d(6, 6, 5, dilation=2, padding=3),
            nn.Softplus(),
        ],
    ],
    ids=["mixed", "dilated"],
)
def test_geometry_of_arbitrary_stacks_matches_perturbation(layers):
    local = randomize_batchnorm(nn.Sequential(*layers))
    check_local(local, 150)
    for length in (37, 38, 39, 40, 41, 150):  # output lengths against real forward passes
        with torch.no_grad():
            real = local.eval()(torch.zeros(1, 4, length)).shape[-1]
        assert output_length(local, length) == real


def test_geometry_rejects_non_local_layers():
    with pytest.raises(TypeError, match="Linear is not a local layer"):
        conv_geometry(nn.Sequential(nn.Conv1d(4, 4, 3), nn.Linear(4, 4)))


@pytest.mark.parametrize(
    ("name", "kwargs", "length", "expected_rf"),
    [
        # Basset default widths and pools (small filters): 19 + 2 + 10*3 + 3*3 + 6*12 + 3*12 = 168
        ("basset", dict(filters=[8, 8, 8], dense=[4]), 600, 168),
        ("basset", dict(filters=[8, 8, 8], dense=[4], padding="same"), 600, 168),
        # DeepSEA default widths and pools: 8 + 3 + 7*4 + 3*4 + 7*16 = 163
        ("deepsea", dict(input_length=400, filters=[8, 8, 8], dense=[4]), 400, 163),
        ("deepbind", dict(filters=8, width=11, padding="full"), 60, 11),
        ("danq", dict(input_length=200, filters=8, hidden_size=3, dense=[4]), 200, 38),
        # BPNet trunk, 5 layers: 21 + 2 * (2 + 4 + 8 + 16 + 32) = 145
        ("bpnet", dict(filters=8, n_layers=5, heads="global"), 300, 145),
    ],
    ids=["basset", "basset-same", "deepsea", "deepbind", "danq", "bpnet"],
)
def test_model_receptive_field_matches_perturbation(name, kwargs, length, expected_rf):
    model = randomize_batchnorm(build_model(name, **kwargs)).eval()
    local, _ = model.split_local()
    assert check_local(local, length) == model.receptive_field == expected_rf


def test_bpnet_profile_receptive_field_matches_perturbation():
    model = build_model("bpnet", filters=8, n_layers=4, profile_kernel=9, trim=3).eval()
    # trunk 21 + 2 * (2 + 4 + 8 + 16) = 81, plus profile kernel 9 - 1
    assert model.receptive_field == 81 + 8
    length, j = 200, 100
    lo, hi = changed_span(lambda X: model(X)[0], length, j)
    assert hi - lo + 1 == model.receptive_field
    assert lo == j + 3 - (model.receptive_field - 1) // 2  # centred on the un-trimmed position


def test_toy_model_receptive_fields():
    assert check_local(tiny_cnn(length=80).local, 80) == tiny_cnn().receptive_field == 12
    assert check_local(tiny_dilated().local, 100) == 33
