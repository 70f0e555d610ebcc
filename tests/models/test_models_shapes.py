"""Registry, configuration round trip, output shapes and parameter counts of the architectures."""

from __future__ import annotations

import json

import pytest
import torch

from genodeep.models import (
    MODELS,
    BPNet,
    SequenceModel,
    build_model,
    input_kinds,
    model_arguments,
)
from toy_models import randomize_batchnorm

# small configurations of every registered architecture: (name, kwargs, input length)
SMALL = [
    ("mlp", dict(input_length=20, hidden=[7, 5], n_tasks=3, batch_norm=True, dropout=0.1), 20),
    ("mlp", dict(input_type="features", n_features=9, hidden=[6], n_tasks=2), None),
    ("twopath", dict(input_length=50, filters=6, width=7, filters2=5, bins=7, n_tasks=2), 50),
    ("twopath", dict(input_length=31, filters=4, width=6, filters2=0, hidden=5, bins=40), 31),
    ("deepbind", dict(filters=5, width=7, hidden=6, n_tasks=2, pool="max+avg"), 33),
    ("deepbind", dict(filters=5, width=6, hidden=0, padding="full", dropout=0.2), 20),
    (
        "deepsea",
        dict(input_length=80, filters=[4, 5, 6], widths=[5, 4, 3], pools=[2, 2, 1], dense=[8]),
        80,
    ),
    (
        "basset",
        dict(
            input_length=64,
            filters=[6, 5, 4],
            widths=[5, 4, 3],
            pools=[2, 2, 2],
            padding="same",
            conv_dropout=[0.1, 0.0, 0.2],
            dense=[8, 7],
            dense_batch_norm=True,
            n_tasks=4,
        ),
        64,
    ),
    ("bpnet", dict(filters=6, first_kernel=5, n_layers=3, profile_kernel=7, n_tasks=2), 50),
    ("bpnet", dict(filters=6, first_kernel=4, n_layers=2, heads="profile", trim=5), 50),
    ("bpnet", dict(filters=6, n_layers=2, heads="global", pool="max", n_tasks=3), 50),
    ("basenji", dict(filters=6, bin_size=4, n_dilated=2, crop_bins=1, n_tasks=2), 48),
    ("basenji", dict(filters=5, bin_size=1, n_dilated=1, dilation_rate=1.5, dropout=0.0), 30),
    (
        "chrombpnet",
        dict(filters=6, n_layers=2, profile_kernel=7, bias_filters=3, bias_layers=1, trim=4),
        50,
    ),
    ("rnn", dict(hidden_size=5, n_tasks=2, pool="mean", dense=[4]), 17),
    ("rnn", dict(cell="gru", hidden_size=5, n_layers=2, pool="last", bidirectional=False), 17),
    (
        "danq",
        dict(input_length=60, filters=4, width=6, pool=5, hidden_size=5, dense=[8], n_tasks=3),
        60,
    ),
    ("multimodal", dict(filters=[5, 4], widths=[5, 3], pools=[2, 1], dense=[6], n_tasks=2), 30),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(SMALL)]


def _input(model: SequenceModel, length: int | None, n: int = 3) -> torch.Tensor:
    if length is None:
        return torch.randn(n, model.n_features)
    return torch.randn(n, model.in_channels, length)


def _shapes(out) -> tuple:
    if isinstance(out, tuple):
        return tuple(tuple(o.shape[1:]) for o in out)
    return tuple(out.shape[1:])


def test_registry_names():
    assert set(MODELS) == {
        "mlp",
        "twopath",
        "deepbind",
        "deepsea",
        "basset",
        "bpnet",
        "rnn",
        "danq",
        "multimodal",
        "gcn",
        "graph_expression",
        "basenji",
        "chrombpnet",
    }
    assert all(issubclass(cls, SequenceModel) for cls in MODELS.values())


def test_input_kinds_say_which_models_read_sequences():
    readers = {name for name in MODELS if "sequence" in input_kinds(name)}
    assert readers == set(MODELS) - {"gcn", "graph_expression"}
    assert input_kinds("gcn") == ("graph_nodes",)
    assert input_kinds(MODELS["graph_expression"]) == ("graph_features",)
    assert "multimodal" in input_kinds(build_model("multimodal", filters=[2], widths=[3]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_sequence_model_accepts_onehot_batches(name):
    if "sequence" not in input_kinds(name):
        pytest.skip(f"{name} reads {input_kinds(name)}, not one-hot sequences")
    small = {n: kw for n, kw, length in SMALL if length is not None}
    lengths = {n: length for n, _, length in SMALL if length is not None}
    model = build_model(name, **small[name]).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 4, lengths[name]))
    out = out[-1] if isinstance(out, tuple) else out
    assert out.shape[0] == 2 and torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "kwargs", "length"), SMALL, ids=IDS)
def test_forward_shape_matches_output_shape(name, kwargs, length):
    model = build_model(name, **kwargs).eval()
    x = _input(model, length)
    with torch.no_grad():
        out = model(x)
    assert _shapes(out) == model.output_shape(length)
    if isinstance(out, tuple):
        assert all(o.shape[0] == 3 for o in out)
    else:
        assert out.shape[0] == 3


@pytest.mark.parametrize(("name", "kwargs", "length"), SMALL, ids=IDS)
def test_config_round_trip(name, kwargs, length):
    model = randomize_batchnorm(build_model(name, **kwargs)).eval()
    config = json.loads(json.dumps(model.config))  # JSON-serialisable, and survives the trip
    assert config == model.config
    assert set(config) == set(model_arguments(name))
    rebuilt = build_model(name, **config).eval()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    rebuilt.load_state_dict(model.state_dict())
    x = _input(model, length)
    with torch.no_grad():
        a, b = model(x), rebuilt(x)
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert torch.equal(u, v)
    assert rebuilt.config == model.config


def test_basset_defaults_match_reference():
    model = build_model("basset")
    assert model.input_length == 600 and model.n_tasks == 164
    convs = [m for m in model.local if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(300, 19), (200, 11), (200, 7)]
    pools = [m.kernel_size for m in model.local if isinstance(m, torch.nn.MaxPool1d)]
    assert pools == [3, 4, 4]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.local) == 3
    # valid convolutions: 600 -> 582 -> 194 -> 184 -> 46 -> 40 -> 10 positions, 200 * 10 features
    n = (
        (4 * 19 + 1) * 300
        + 2 * 300  # conv1 + BN1
        + (300 * 11 + 1) * 200
        + 2 * 200  # conv2 + BN2
        + (200 * 7 + 1) * 200
        + 2 * 200  # conv3 + BN3
        + (2000 + 1) * 1000  # dense 1
        + (1000 + 1) * 1000  # dense 2
        + (1000 + 1) * 164  # output
    )
    assert model.n_params == n == 4_131_064
    assert model.output_shape(600) == (164,)
    assert model.receptive_field == 168
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 4, 600)).shape == (2, 164)


def test_reported_defaults_of_other_models():
    # receptive fields do not depend on filter counts, so small filters keep this fast
    assert build_model("deepsea", filters=[2, 2, 2], dense=[2]).receptive_field == 163
    assert build_model("danq", filters=2, hidden_size=2, dense=[2]).receptive_field == 38
    bp = build_model("bpnet", filters=2)
    assert bp.receptive_field == 21 + 2 * sum(2**i for i in range(1, 9)) + 74 == 1115
    assert build_model("bpnet", filters=2, heads="global").receptive_field == 1041
    assert build_model("deepbind").receptive_field == 24
    assert build_model("rnn").receptive_field is None
    assert build_model("mlp", input_length=10).receptive_field is None
    assert bp.output_shape(1000) == ((1, 1000), (1,))
    assert build_model("bpnet", filters=2, trim=100).output_shape(1000) == ((1, 800), (1,))
    # DanQ: 1000 -> 975 -> 75 positions; BiLSTM 2 * 320 features each -> 48,000 -> 925
    danq_dense = build_model("danq", filters=2).head.dense[1]
    assert danq_dense.in_features == 75 * 640 and danq_dense.out_features == 925


def test_n_params_counts_all_parameters():
    model = build_model("mlp", input_type="features", n_features=3, hidden=[2])
    assert model.n_params == (3 * 2 + 2) + (2 * 1 + 1)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="basset.*bpnet") as err:
        build_model("bassett")
    assert "did you mean 'basset'" in str(err.value)
    assert build_model("DeepBind", filters=2).__class__.__name__ == "DeepBind"


def test_unknown_kwarg_lists_valid_kwargs():
    with pytest.raises(
        ValueError, match="'filter'.*did you mean 'filters'.*valid arguments:.*widths"
    ):
        build_model("basset", filter=[1, 2, 3])


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("basset", dict(widths=[5, 5]), "widths must have 3 entries"),
        ("basset", dict(padding="full"), "padding='full' is not valid"),
        ("basset", dict(activation="swish"), "activation='swish' is not valid"),
        ("deepsea", dict(conv_dropout=1.5), r"conv_dropout must be in \[0, 1\)"),
        ("mlp", dict(), "input_length is required"),
        ("mlp", dict(input_type="features"), "n_features is required"),
        ("bpnet", dict(heads="binary"), "heads='binary' is not valid"),
        ("rnn", dict(cell="transformer"), "cell='transformer' is not valid"),
        ("danq", dict(pool=0), "pool must be > 0"),
        ("basset", dict(input_length=30), "too short"),
    ],
)
def test_bad_arguments_are_explained(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, **kwargs)


def test_wrong_input_shape_is_explained():
    model = build_model("basset", input_length=64, filters=[2, 2], widths=[3, 3], pools=[2, 2])
    with pytest.raises(ValueError, match=r"x had shape \(2, 4, 65\).*\(\*, 4, 64\)"):
        model(torch.zeros(2, 4, 65))
    with pytest.raises(ValueError, match="input_length=64"):
        model.output_shape(65)
    with pytest.raises(ValueError, match="pass length="):
        BPNet(filters=2).output_shape()


def test_integer_onehot_is_accepted():
    model = build_model("deepbind", filters=3, width=4).eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 12)), 4).permute(0, 2, 1)
    with torch.no_grad():
        assert torch.equal(model(x.to(torch.int8)), model(x.float()))
