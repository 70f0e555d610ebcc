"""Known answers and structural contracts: hand-set MLP, split_local, recurrent pooling, toy models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genodeep.models import MLP, build_model
from genodeep.nn import Exp, ResidualDilatedConv
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

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")

# the layer types SPEC.md allows inside ``local`` (what fast ISM relies on)
ALLOWED_LOCAL = (
    nn.Conv1d,
    nn.BatchNorm1d,
    nn.ReLU,
    nn.GELU,
    nn.ELU,
    nn.Softplus,
    nn.Sigmoid,
    nn.Tanh,
    Exp,
    nn.MaxPool1d,
    nn.AvgPool1d,
    nn.Dropout,
    nn.Identity,
    ResidualDilatedConv,
)


def test_mlp_hand_set_weights_known_output():
    model = MLP(input_type="features", n_features=2, hidden=[2], activation="relu")
    lin1, _, lin2 = model.layers
    with torch.no_grad():
        lin1.weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 0.5]]))
        lin1.bias.copy_(torch.tensor([0.0, -1.0]))
        lin2.weight.copy_(torch.tensor([[1.0, -2.0]]))
        lin2.bias.copy_(torch.tensor([0.5]))
        y = model(torch.tensor([[1.0, 2.0], [3.0, -1.0]]))
    # row 1: hidden relu(1-2, 2+1-1) = (0, 2) -> 0 - 4 + 0.5 = -3.5
    # row 2: hidden relu(3+1, 6-0.5-1) = (4, 4.5) -> 4 - 9 + 0.5 = -4.5
    assert torch.allclose(y, torch.tensor([[-3.5], [-4.5]]))


def test_mlp_onehot_flattens_channel_major():
    model = MLP(input_length=5, hidden=[], n_tasks=1)  # logistic regression on one-hot
    w = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    with torch.no_grad():
        model.layers[0].weight.copy_(w.reshape(1, 20))
        model.layers[0].bias.zero_()
        x = random_onehot(3, 5)
        expected = (x * w).sum(dim=(1, 2))
        assert torch.allclose(model(x)[:, 0], expected)


SPLIT = [
    ("tiny_cnn", lambda: tiny_cnn(), 40),
    ("tiny_cnn_nobn", lambda: tiny_cnn(batch_norm=False), 40),
    (
        "basset_same",
        lambda: build_model(
            "basset",
            input_length=50,
            filters=[3, 4, 5],
            widths=[5, 4, 3],
            pools=[2, 2, 2],
            padding="same",
            dense=[6],
            conv_dropout=0.1,
        ),
        50,
    ),
    ("deepsea", lambda: tiny_deepsea(), 60),
    ("deepbind", lambda: tiny_deepbind(), 30),
    (
        "deepbind_same_maxavg",
        lambda: build_model("deepbind", filters=3, width=6, padding="same", pool="max+avg"),
        30,
    ),
    ("bpnet", lambda: tiny_dilated(), 45),
    (
        "bpnet_trim",
        lambda: build_model("bpnet", filters=4, n_layers=2, trim=4, profile_kernel=6),
        45,
    ),
    ("bpnet_global", lambda: tiny_dilated(heads="global"), 45),
    ("danq", lambda: tiny_danq(), 40),
]


@pytest.mark.parametrize(("label", "make", "length"), SPLIT, ids=[s[0] for s in SPLIT])
def test_split_local_reproduces_the_model(label, make, length):
    model = randomize_batchnorm(make()).eval()
    local, head = model.split_local()
    assert isinstance(local, nn.Sequential)
    assert all(isinstance(m, ALLOWED_LOCAL) for m in local), list(local)
    # the split shares the model's own modules (training one trains the other)
    own = {id(m) for m in model.modules()}
    assert all(id(m) in own for m in [*local, head])
    x = random_onehot(4, length, seed=3)
    with torch.no_grad():
        full, split = model(x), head(local(x))
    for a, b in zip(
        full if isinstance(full, tuple) else (full,),
        split if isinstance(split, tuple) else (split,),
    ):
        assert torch.equal(a, b)


def test_models_without_local_trunk():
    assert build_model("rnn", hidden_size=3).split_local() is None
    assert build_model("mlp", input_length=8).split_local() is None


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rnn_pooling_matches_recurrent_outputs(cell):
    x = random_onehot(3, 11, seed=2)
    models = {
        p: build_model("rnn", cell=cell, hidden_size=4, pool=p, n_tasks=2).eval()
        for p in ("max", "mean", "last")
    }
    state = models["max"].state_dict()
    for m in models.values():
        m.load_state_dict(state)
    with torch.no_grad():
        out, _ = models["max"].encoder.rnn(x.transpose(1, 2))  # (N, L, 2H)
        head = models["max"].head
        assert torch.allclose(models["max"](x), head(out.amax(dim=1)))
        assert torch.allclose(models["mean"](x), head(out.mean(dim=1)))
        # last: forward direction after the last position, backward direction after the first
        last = torch.cat([out[:, -1, :4], out[:, 0, 4:]], dim=1)
        assert torch.allclose(models["last"](x), head(last), atol=1e-6)


def test_bpnet_heads_share_the_trunk():
    both = tiny_dilated(heads="profile+count", seed=5)
    prof = tiny_dilated(heads="profile", seed=5)
    glob = tiny_dilated(heads="global", seed=5)
    prof.local.load_state_dict(both.local.state_dict())
    prof.head.profile.load_state_dict(both.head.profile.state_dict())
    glob.local.load_state_dict(both.local.state_dict())
    glob.head.linear.load_state_dict(both.head.linear.state_dict())
    x = random_onehot(2, 30)
    with torch.no_grad():
        profile, counts = both(x)
        assert torch.equal(prof(x), profile)
        assert torch.equal(glob(x), counts)
        # counts = linear(mean over positions of the trunk output)
        h = both.local(x)
        assert torch.allclose(counts, both.head.linear(h.mean(dim=-1)))


def test_toy_models_importable_and_deterministic():
    x = random_onehot(2, 12)
    assert x.shape == (2, 4, 12) and torch.equal(x.sum(dim=1), torch.ones(2, 12))
    lin = linear_model(12, 2)
    with torch.no_grad():
        expected = (x[:, None] * lin.weight[None]).sum(dim=(2, 3)) + lin.bias
        assert torch.allclose(lin(x), expected, atol=1e-6)
        assert torch.equal(tiny_cnn()(random_onehot(2, 40)), tiny_cnn()(random_onehot(2, 40)))
    conv = linear_conv_model(width=5)
    local, head = conv.split_local()
    with torch.no_grad():
        assert torch.allclose(head(local(x)), conv(x))
    # factories leave the global RNG stream untouched
    torch.manual_seed(0)
    a = torch.rand(1)
    torch.manual_seed(0)
    tiny_dilated()
    assert torch.equal(torch.rand(1), a)
