"""Signal (profile) models: Basenji binned coverage, ChromBPNet bias factorisation, output geometry.

Geometry is checked against an empirical perturbation test: the input positions whose perturbation changes
output position ``j`` form a span of ``receptive_field`` bases centred on the bases that
``output_geometry`` says position ``j`` covers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genodeep.models import MODELS, Basenji, BPNet, ChromBPNet, build_model, model_arguments
from genodeep.models.basenji import dilation_schedule
from toy_models import random_onehot, randomize_batchnorm


def changed_span(fn, length: int, j: int, *, trials: int = 3) -> tuple[int, int]:
    """First and last input positions whose perturbation changes output position ``j`` of ``fn``."""
    g = torch.Generator().manual_seed(1)
    hit: set[int] = set()
    pos = torch.arange(length)
    for _ in range(trials):
        x = torch.randn(1, 4, length, generator=g)
        X = x.repeat(length + 1, 1, 1)
        X[pos + 1, :, pos] = 1000 * torch.randn(length, 4, generator=g)
        with torch.no_grad():
            out = fn(X)  # (length + 1, T, n_out)
        ref = out[:1, :, j]
        diff = ((out[1:, :, j] - ref).abs() / (1 + ref.abs())).amax(dim=1)
        hit |= set(torch.nonzero(diff > 1e-5).flatten().tolist())
    return min(hit), max(hit)


def _seeded(seed: int, build):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


# ------------------------------------------------------------------------------------------ registry


def test_both_models_are_registered():
    assert MODELS["basenji"] is Basenji and MODELS["chrombpnet"] is ChromBPNet
    for name in ("basenji", "chrombpnet"):
        model = build_model(name)  # default-constructible
        config = json.loads(json.dumps(model.config))
        assert config == model.config and set(config) == set(model_arguments(name))


# ------------------------------------------------------------------------------------------ Basenji


@pytest.mark.parametrize(
    ("bin_size", "crop_bins", "length"),
    [(1, 0, 20), (1, 3, 20), (2, 0, 30), (4, 1, 64), (8, 2, 96), (32, 0, 256), (32, 1, 320)],
)
def test_basenji_shapes_and_geometry(bin_size, crop_bins, length):
    model = build_model(
        "basenji", filters=4, bin_size=bin_size, crop_bins=crop_bins, n_dilated=2, n_tasks=3
    )
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 4, length))
    n_out = length // bin_size - 2 * crop_bins
    assert out.shape == (2, 3, n_out)
    assert model.output_shape(length) == (3, n_out)
    assert model.output_geometry(length) == (crop_bins * bin_size, n_out, bin_size)
    # the pooling tower: log2(bin_size) max-pools of 2
    pools = [m for m in model.local if isinstance(m, torch.nn.MaxPool1d)]
    assert len(pools) == int(np.log2(bin_size)) and all(p.kernel_size == 2 for p in pools)


def test_dilation_schedule_rounds_half_up():
    assert dilation_schedule(4, 2.0) == [1, 2, 4, 8]
    # 1, 1.5, 2.25, 3.375, 5.0625
    assert dilation_schedule(5, 1.5) == [1, 2, 2, 3, 5]
    assert dilation_schedule(3, 1.0) == [1, 1, 1]
    assert dilation_schedule(0, 2.0) == []
    model = build_model("basenji", filters=2, n_dilated=5, dilation_rate=1.5)
    convs = [m.conv for m in model.local if hasattr(m, "conv")]
    assert [c.dilation[0] for c in convs] == [1, 2, 2, 3, 5]


def test_basenji_default_receptive_field():
    model = build_model("basenji", filters=2)
    # stem 15, five pool blocks (conv 5 + pool 2 at jumps 1..16), dilations 1+2+4+8 at jump 32
    expected = 15 + sum(4 * 2**i + 2**i for i in range(5)) + 2 * 32 * (1 + 2 + 4 + 8)
    assert model.receptive_field == expected == 1130


@pytest.mark.parametrize(
    ("bin_size", "crop_bins", "n_dilated", "length"), [(4, 2, 2, 128), (2, 0, 1, 60), (1, 1, 2, 50)]
)
def test_basenji_output_bin_is_centred_on_its_bases(bin_size, crop_bins, n_dilated, length):
    model = _seeded(
        0,
        lambda: build_model(
            "basenji", filters=4, bin_size=bin_size, crop_bins=crop_bins, n_dilated=n_dilated
        ),
    )
    model = randomize_batchnorm(model).eval()
    offset, n_out, b = model.output_geometry(length)
    j = n_out // 2
    lo, hi = changed_span(model, length, j)
    assert hi - lo + 1 == model.receptive_field
    first, last = offset + j * b, offset + (j + 1) * b - 1  # the bases output j covers
    assert lo + hi == first + last  # same centre
    assert lo >= 0 and hi < length  # test setup: interior span


def test_basenji_split_local_reproduces_the_model():
    model = randomize_batchnorm(build_model("basenji", filters=4, bin_size=4, crop_bins=1)).eval()
    local, head = model.split_local()
    x = random_onehot(2, 64)
    with torch.no_grad():
        assert torch.allclose(head(local(x)), model(x))


def test_basenji_log_rates_fit_poisson_counts():
    """Outputs are log-rates: fitting a constant target count c drives exp(output) to c."""
    torch.manual_seed(0)
    model = build_model("basenji", filters=4, bin_size=4, n_dilated=1, dropout=0.0)
    x = random_onehot(8, 32)
    y = torch.full((8, 1, 8), 5.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        log_rate = model.train()(x)
        loss = (torch.exp(log_rate) - y * log_rate).mean()  # Poisson NLL up to a constant
        loss.backward()
        opt.step()
    with torch.no_grad():
        rate = torch.exp(model.eval()(x))
    assert torch.allclose(rate.mean(), torch.tensor(5.0), rtol=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(bin_size=24), r"bin_size=24 must be a power of two.*Fix: .*e\.g\. 16 or 32"),
        (dict(bin_size=0), "bin_size=0 must be a power of two"),
        (dict(bin_size=2.0), "must be a power of two"),
        (dict(dilation_rate=0.5), "dilation_rate must be a number >= 1"),
        (dict(crop_bins=-1), "crop_bins must be >= 0"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(activation="swish"), "activation='swish' is not valid"),
    ],
)
def test_basenji_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model("basenji", filters=2, **kwargs)


def test_basenji_bad_lengths_are_explained():
    model = build_model("basenji", filters=2, bin_size=32, crop_bins=2)
    with pytest.raises(
        ValueError, match=r"input length 1000 is not a multiple of bin_size=32.*992"
    ):
        model(torch.zeros(1, 4, 1000))
    with pytest.raises(ValueError, match="input length 1000 is not a multiple"):
        model.output_geometry(1000)
    with pytest.raises(ValueError, match=r"4 bins of 32 bases, but crop_bins=2 crops 4.*Fix"):
        model.output_shape(128)
    assert model.output_shape(160) == (1, 1)


# ------------------------------------------------------------------------------------------ BPNet


def test_bpnet_output_geometry():
    model = build_model("bpnet", filters=4, n_layers=3, profile_kernel=9, trim=7)
    assert model.output_geometry(100) == (7, 86, 1)
    assert model.output_geometry(100)[1] == model.output_shape(100)[0][1]
    with pytest.raises(ValueError, match="must exceed 2\\*trim=14"):
        model.output_geometry(14)
    with pytest.raises(ValueError, match='heads="global".*no profile output.*Fix'):
        build_model("bpnet", filters=2, heads="global").output_geometry(100)
    # profile position j is centred on input base trim + j
    model.eval()
    offset, n_out, _ = model.output_geometry(120)
    j = n_out // 2
    lo, hi = changed_span(lambda X: model(X)[0], 120, j)
    assert hi - lo + 1 == model.receptive_field and lo + hi == 2 * (offset + j)


# ------------------------------------------------------------------------------------------ ChromBPNet

SMALL_CHROM = dict(
    filters=6, n_layers=3, profile_kernel=9, bias_filters=3, bias_layers=2, bias_first_kernel=5
)


def _chrom(seed: int = 0, **kwargs) -> ChromBPNet:
    return _seeded(seed, lambda: build_model("chrombpnet", **{**SMALL_CHROM, **kwargs})).eval()


@pytest.mark.parametrize(("trim", "length", "n_tasks"), [(0, 40, 1), (5, 40, 2), (10, 73, 1)])
def test_chrombpnet_shapes_and_geometry(trim, length, n_tasks):
    model = _chrom(trim=trim, n_tasks=n_tasks)
    with torch.no_grad():
        profile, counts = model(torch.randn(3, 4, length))
    assert profile.shape == (3, n_tasks, length - 2 * trim) and counts.shape == (3, n_tasks)
    assert model.output_shape(length) == ((n_tasks, length - 2 * trim), (n_tasks,))
    assert model.output_geometry(length) == (trim, length - 2 * trim, 1)


def test_chrombpnet_combines_profiles_by_sum_and_counts_by_logsumexp():
    model = _chrom(n_tasks=2)
    x = random_onehot(4, 50)
    with torch.no_grad():
        profile, counts = model(x)
        (pa, ca), (pb, cb) = model.accessibility(x), model.bias(x)
    assert torch.allclose(profile, pa + pb)
    expected = np.log(np.exp(ca.double().numpy()) + np.exp(cb.double().numpy()))
    np.testing.assert_allclose(counts.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_chrombpnet_with_zero_accessibility_model_is_the_bias_model():
    model = _chrom()
    with torch.no_grad():
        for p in model.accessibility.parameters():
            p.zero_()
    x = random_onehot(3, 40)
    with torch.no_grad():
        profile, counts = model(x)
        bias_profile, bias_counts = model.bias(x)
        acc_profile, acc_counts = model.accessibility(x)
    assert torch.equal(acc_profile, torch.zeros_like(acc_profile))
    assert torch.equal(profile, bias_profile)  # profile logits: 0 + bias
    # counts: log(exp(0) + exp(bias)) = log(1 + exp(bias))
    np.testing.assert_allclose(counts.numpy(), np.logaddexp(0.0, bias_counts.numpy()), rtol=1e-6)
    # an accessibility count head at -inf adds exp(-inf) = 0 reads: the counts are the bias counts
    with torch.no_grad():
        model.accessibility.head.linear.bias.fill_(-float("inf"))
        profile, counts = model(x)
    assert torch.equal(counts, bias_counts) and torch.equal(profile, bias_profile)


def test_accessibility_only_returns_the_bias_free_model():
    model = _chrom()
    x = random_onehot(2, 40)
    with torch.no_grad():
        combined = model(x)
        assert model.accessibility_only() is model and model.mode == "accessibility"
        acc = model(x)
        expected = model.accessibility(x)
    assert all(torch.equal(a, b) for a, b in zip(acc, expected))
    assert model.receptive_field == model.accessibility.receptive_field
    local, head = model.split_local()
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(head(local(x)), acc))
    model.accessibility_only(False)
    assert model.mode == "combined" and model.split_local() is None
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(x), combined))
    with pytest.raises(ValueError, match="mode='bias' is not valid"):
        model.mode = "bias"


def test_receptive_field_is_the_larger_of_the_two():
    model = build_model("chrombpnet", filters=2, bias_filters=2)
    # accessibility 21 + 2*(2+...+256) + 74 = 1115; bias 21 + 2*(2+4+8+16) + 74 = 155
    assert model.bias.receptive_field == 155
    assert model.receptive_field == 1115
    wide_bias = build_model("chrombpnet", filters=2, n_layers=1, bias_filters=2)
    assert wide_bias.receptive_field == 155 > wide_bias.accessibility.receptive_field


def test_freeze_bias_keeps_bias_weights_and_eval_mode():
    model = _chrom()
    assert model.bias_frozen and model.config["bias_trainable"] is False
    before = {k: v.clone() for k, v in model.bias.state_dict().items()}
    acc_before = {k: v.clone() for k, v in model.accessibility.state_dict().items()}
    model.train()
    assert model.training and model.accessibility.training
    assert not any(m.training for m in model.bias.modules())
    opt = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=0.1)
    x = random_onehot(4, 40)
    profile, counts = model(x)
    (profile.square().mean() + counts.square().mean()).backward()
    opt.step()
    assert all(torch.equal(v, before[k]) for k, v in model.bias.state_dict().items())
    assert all(p.grad is None for p in model.bias.parameters())
    assert not all(
        torch.equal(v, acc_before[k]) for k, v in model.accessibility.state_dict().items()
    )


def test_trainable_bias_trains_until_frozen():
    model = _chrom(bias_trainable=True).train()
    assert not model.bias_frozen and model.bias.training
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.bias.local[0].weight.clone()
    profile, counts = model(random_onehot(4, 40))
    (profile.square().mean() + counts.square().mean()).backward()
    opt.step()
    assert not torch.equal(model.bias.local[0].weight, before)
    model.freeze_bias()
    assert model.config["bias_trainable"] is False and not model.bias.training
    assert not any(p.requires_grad for p in model.bias.parameters())
    assert not model.train().bias.training


def test_chrombpnet_config_round_trip():
    model = _chrom(trim=3, n_tasks=2)
    config = json.loads(json.dumps(model.config))
    rebuilt = build_model("chrombpnet", **config).eval()
    rebuilt.load_state_dict(model.state_dict())
    x = random_onehot(2, 40)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(x), rebuilt(x)))
    assert rebuilt.config == model.config and rebuilt.bias_frozen


def test_bias_config_builds_a_loadable_bpnet():
    model = _chrom(trim=2)
    config = model.bias_config()
    trained = _seeded(5, lambda: BPNet(**config)).eval()
    assert trained.config == config
    assert config["filters"] == 3 and config["n_layers"] == 2 and config["first_kernel"] == 5
    assert model.load_bias(trained) is model
    x = random_onehot(2, 40)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model.bias(x), trained(x)))
    assert not any(p.requires_grad for p in model.bias.parameters())  # still frozen
    other = _seeded(6, lambda: BPNet(**config))
    model.load_bias(other.state_dict())
    assert torch.equal(model.bias.local[0].weight, other.local[0].weight)


def test_load_bias_mismatch_is_explained():
    model = _chrom()
    wrong = BPNet(**{**model.bias_config(), "filters": 4})
    with pytest.raises(ValueError, match=r"filters=4 \(this ChromBPNet needs 3\).*Fix"):
        model.load_bias(wrong)
    with pytest.raises(
        ValueError, match=r"local.0.weight has shape \(4, 4, 5\), needs \(3, 4, 5\)"
    ):
        model.load_bias(wrong.state_dict())
    state = dict(model.bias.state_dict())
    state.pop("head.linear.bias")
    with pytest.raises(ValueError, match="missing head.linear.bias"):
        model.load_bias(state)
    with pytest.raises(TypeError, match="needs a BPNet or its state_dict"):
        model.load_bias(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="bias_trainable must be True or False"):
        build_model("chrombpnet", bias_trainable="no")
