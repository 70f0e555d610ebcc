"""Importers of published models: Keras .h5 and ONNX into ImportedGraph, SpliceAI and MMSplice.

The Keras and ONNX tests build tiny files by hand (h5py / onnx.helper) and check the imported model
against a direct numpy computation of the same layers. The published-model tests compare with golden
outputs of the ORIGINAL models (tests/golden/published_outputs.npz, written by
``scripts/check_published.py write`` with TensorFlow/tf-keras; versions in published_outputs.json) and
skip when the spliceai / mmsplice package (its weight files) is not installed. No test needs TensorFlow.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genodeep._validate import InputFileError
from genodeep.models.imported import ImportedGraph
from genodeep.zoo.importers.keras import keras_model

h5py = pytest.importorskip("h5py")

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "published_outputs.npz"
HAS_SPLICEAI = importlib.util.find_spec("spliceai") is not None
HAS_MMSPLICE = importlib.util.find_spec("mmsplice") is not None
needs_spliceai = pytest.mark.skipif(
    not HAS_SPLICEAI,
    reason="the spliceai package (its .h5 weights) is not installed: "
    "pip install spliceai==1.3.1 --no-deps",
)
needs_mmsplice = pytest.mark.skipif(
    not HAS_MMSPLICE,
    reason="the mmsplice package (its .h5 weights) is not installed: "
    "pip install mmsplice==2.4.0 --no-deps",
)


def _layer(cls, name, inbound, **config):
    return {
        "class_name": cls,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else [],
    }


def _write_keras(path, layers, weights, outputs):
    config = {
        "class_name": "Model",
        "config": {
            "name": "tiny",
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [[o, 0, 0] for o in outputs],
        },
    }
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.2.4"
        g = f.create_group("model_weights")
        for layer in layers:
            lg = g.create_group(layer["name"])
            names = []
            for wname, arr in weights.get(layer["name"], {}).items():
                full = f"{layer['name']}/{wname}:0"
                lg.create_dataset(full, data=arr)
                names.append(full.encode())
            lg.attrs["weight_names"] = np.array(names, dtype="S")


def _conv_same(x, k, b, dil):
    """numpy Keras Conv1D padding='same': x (L, Cin), k (K, Cin, Cout) -> (L, Cout)."""
    K = k.shape[0]
    total = dil * (K - 1)
    xp = np.pad(x, ((total // 2, total - total // 2), (0, 0)))
    out = np.zeros((x.shape[0], k.shape[2]))
    for t in range(x.shape[0]):
        for j in range(K):
            out[t] += xp[t + j * dil] @ k[j]
    return out + b


@pytest.fixture
def tiny_keras(tmp_path):
    rng = np.random.default_rng(0)
    w = {
        "c1": {
            "kernel": rng.normal(size=(4, 4, 5)).astype("f4"),
            "bias": rng.normal(size=5).astype("f4"),
        },
        "bn": {
            "gamma": rng.uniform(0.5, 2, 5).astype("f4"),
            "beta": rng.normal(size=5).astype("f4"),
            "moving_mean": rng.normal(size=5).astype("f4"),
            "moving_variance": rng.uniform(0.5, 2, 5).astype("f4"),
        },
        "skip": {"kernel": rng.normal(size=(1, 4, 5)).astype("f4"), "bias": np.zeros(5, "f4")},
        "out": {
            "kernel": rng.normal(size=(1, 5, 3)).astype("f4"),
            "bias": rng.normal(size=3).astype("f4"),
        },
    }
    layers = [
        _layer("InputLayer", "x", [], batch_input_shape=[None, None, 4]),
        _layer(
            "Conv1D",
            "c1",
            ["x"],
            padding="same",
            dilation_rate=[3],
            strides=[1],
            activation="linear",
        ),
        _layer("BatchNormalization", "bn", ["c1"], epsilon=0.001, axis=-1),
        _layer("Activation", "act", ["bn"], activation="relu"),
        _layer(
            "Conv1D",
            "skip",
            ["x"],
            padding="valid",
            dilation_rate=[1],
            strides=[1],
            activation="linear",
        ),
        _layer("Add", "add", ["act", "skip"]),
        _layer("Dropout", "drop", ["add"], rate=0.5),
        _layer("Cropping1D", "crop", ["drop"], cropping=[2, 3]),
        _layer(
            "Conv1D",
            "out",
            ["crop"],
            padding="valid",
            dilation_rate=[1],
            strides=[1],
            activation="softmax",
        ),
    ]
    path = tmp_path / "tiny.h5"
    _write_keras(path, layers, w, ["out"])
    return path, w


def _tiny_reference(x, w):
    """The tiny model in numpy, channels-last, for one sequence x (L, 4)."""
    h = _conv_same(x, w["c1"]["kernel"], w["c1"]["bias"], 3)
    bn = w["bn"]
    h = (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * bn["gamma"] + bn["beta"]
    h = np.maximum(h, 0) + (x @ w["skip"]["kernel"][0] + w["skip"]["bias"])
    h = h[2 : len(h) - 3]
    z = h @ w["out"]["kernel"][0] + w["out"]["bias"]
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def test_keras_importer_matches_the_layers_computed_by_hand(tiny_keras):
    path, w = tiny_keras
    model = keras_model(path)
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype="f4")[rng.integers(0, 4, (2, 30))]
    with torch.no_grad():
        y = model(torch.from_numpy(x).transpose(1, 2)).numpy()
    assert y.shape == (2, 3, 25)
    for i in range(2):
        np.testing.assert_allclose(y[i].T, _tiny_reference(x[i].astype(float), w), atol=1e-5)


def test_imported_graph_rebuilds_from_its_config(tiny_keras):
    path, _ = tiny_keras
    model = keras_model(path)
    again = ImportedGraph(**json.loads(json.dumps(model.config)))
    again.load_state_dict(model.state_dict())
    x = torch.randn(1, 4, 20)
    assert torch.equal(model(x), again.eval()(x))


def test_unsupported_keras_layer_is_named(tmp_path):
    layers = [
        _layer("InputLayer", "x", [], batch_input_shape=[None, None, 4]),
        _layer("LSTM", "my_lstm", ["x"], units=4),
    ]
    path = tmp_path / "lstm.h5"
    _write_keras(path, layers, {}, ["my_lstm"])
    with pytest.raises(InputFileError, match=r"'my_lstm' of type LSTM is not supported"):
        keras_model(path)


def test_weights_only_file_says_what_to_save(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_group("conv1d_1")
    with pytest.raises(InputFileError, match="no model_config"):
        keras_model(path)


def test_onnx_importer_matches_torch(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from genodeep.zoo.importers.onnx import onnx_model

    rng = np.random.default_rng(2)
    w = rng.normal(size=(6, 4, 5)).astype("f4")
    b = rng.normal(size=6).astype("f4")
    g = rng.normal(size=(2, 6)).astype("f4")
    gb = rng.normal(size=2).astype("f4")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[2, 2], dilations=[1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2], strides=[2]),
        helper.make_node("GlobalAveragePool", ["p"], ["gp"]),
        helper.make_node("Flatten", ["gp"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "g", "gb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (g, "g"), (gb, "gb"))],
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph), str(path))
    model = onnx_model(path)
    x = torch.randn(3, 4, 40)
    F = torch.nn.functional
    ref = F.max_pool1d(F.relu(F.conv1d(x, torch.from_numpy(w), torch.from_numpy(b), padding=2)), 2)
    ref = ref.mean(-1) @ torch.from_numpy(g).T + torch.from_numpy(gb)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref, atol=1e-5, rtol=1e-5)

    bad = helper.make_graph(
        [helper.make_node("LSTM", ["x"], ["y"], name="rnn1")],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    onnx.save(helper.make_model(bad), str(tmp_path / "bad.onnx"))
    with pytest.raises(InputFileError, match=r"'rnn1' of type LSTM is not supported"):
        onnx_model(tmp_path / "bad.onnx")


def test_import_file_installs_a_package_in_the_zoo(tiny_keras, tmp_path):
    from genodeep import zoo
    from genodeep.workflows.published import import_model

    path, _ = tiny_keras
    root = tmp_path / "zoo"
    (name,) = import_model(str(path), name="tiny", task_names=["a", "b", "c"], root=root)
    pkg = zoo.load(name, root=root)
    assert pkg.task_names == ["a", "b", "c"]
    assert pkg.metadata["provenance"]["sha256"]
    with pytest.raises(ValueError, match="needs --name"):
        import_model(str(path), root=root)
    with pytest.raises(ValueError, match="neither a published model"):
        import_model("deepsea2", root=root)


def test_missing_package_gives_the_install_command(monkeypatch):
    import importlib.metadata

    from genodeep.zoo.importers import published

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(published.importlib.metadata, "distribution", missing)
    with pytest.raises(ImportError, match=r"pip install spliceai==1\.3\.1 --no-deps"):
        published.locate_files("spliceai")


def _onehot(codes):
    return torch.from_numpy(np.eye(5, dtype="f4")[codes][..., :4]).transpose(1, 2).contiguous()


@needs_spliceai
def test_spliceai_equals_the_original_outputs(tmp_path):
    """Golden: the five original Keras models (tf-keras 2.17) on random sequences and a ref/alt pair."""
    from genodeep import zoo
    from genodeep.workflows.published import import_published

    data = np.load(GOLDEN)
    root = tmp_path / "zoo"
    assert import_published("spliceai", root=root) == ["spliceai"]
    pkg = zoo.load("spliceai", root=root)  # rebuilt from the package alone
    assert "GPL" in pkg.metadata["license"] and "Jaganathan" in pkg.metadata["citation"]
    prov = pkg.metadata["provenance"]
    assert prov["package"] == "spliceai" and len(prov["files"]) == 5
    assert "GPL" in (zoo.zoo_dir(root) / "spliceai" / "README.md").read_text()
    x = np.concatenate(
        [data["in_spliceai_random"][2:], data["in_spliceai_ref"], data["in_spliceai_alt"]]
    )
    want = np.concatenate(
        [data["out_spliceai_random"][2:], data["out_spliceai_ref"], data["out_spliceai_alt"]]
    )
    with torch.inference_mode():
        y = pkg.model(_onehot(x)).numpy().transpose(0, 2, 1)
    assert np.abs(y - want).max() <= 1e-5


@needs_mmsplice
def test_mmsplice_modules_equal_the_original_outputs(tmp_path):
    from genodeep import zoo
    from genodeep.workflows.published import import_published

    data = np.load(GOLDEN)
    root = tmp_path / "zoo"
    names = import_published("mmsplice", root=root)
    assert len(names) == 5
    for name in names:
        pkg = zoo.load(name, root=root)
        assert pkg.metadata["license"].startswith("MIT")
        member = name.removeprefix("mmsplice_")
        with torch.inference_mode():
            y = pkg.model(_onehot(data[f"in_mmsplice_{member}"])).numpy()
        assert np.abs(y - data[f"out_mmsplice_{member}"]).max() <= 1e-5, name


def test_golden_outputs_name_their_script_and_versions():
    info = json.loads(GOLDEN.with_suffix(".json").read_text())
    assert info["written_by"].startswith("scripts/check_published.py")
    assert info["packages"] == {"spliceai": "1.3.1", "mmsplice": "2.4.0"}
    assert "tensorflow" in info["framework"]


def test_attribution_on_an_imported_model(tiny_keras):
    """ISM equals a naive loop over substitutions; DeepLIFT/SHAP runs on one output channel (the
    'acceptor'-like channel 1 of a softmax profile), as `genodeep interpret` calls them."""
    from genodeep.interpret.api import attribute

    path, _ = tiny_keras
    model = keras_model(path)
    rng = np.random.default_rng(4)
    X = torch.from_numpy(np.eye(4, dtype="f4")[rng.integers(0, 4, (2, 16))]).transpose(1, 2)
    X = X.contiguous()
    ism = attribute(model, X, method="ism", target=1).scores
    with torch.no_grad():
        base = model(X)[:, 1].sum(-1)
        naive = torch.zeros(2, 4, 16)
        for i in range(16):
            for b in range(4):
                Xm = X.clone()
                Xm[:, :, i] = 0
                Xm[:, b, i] = 1
                naive[:, b, i] = model(Xm)[:, 1].sum(-1) - base
    naive = naive - naive.mean(1, keepdim=True)
    got = torch.as_tensor(ism)
    torch.testing.assert_close(got - got.mean(1, keepdim=True), naive, atol=1e-5, rtol=1e-4)
    shap = attribute(model, X, method="deepliftshap", target=1, n_shuffles=3, random_state=0)
    assert tuple(np.shape(shap.scores)) == (2, 4, 16)
    assert np.isfinite(np.asarray(shap.scores)).all()


def _conv_graph(k, dilation, stride, padding, activation="relu"):
    nodes = [
        {"name": "x", "op": "input", "inputs": [], "args": {"channels": 4}},
        {
            "name": "c",
            "op": "conv1d",
            "inputs": ["x"],
            "args": {
                "in_channels": 4,
                "out_channels": 5,
                "kernel_size": k,
                "dilation": dilation,
                "stride": stride,
                "padding": padding,
                "activation": activation,
            },
        },
        {"name": "bn", "op": "batchnorm", "inputs": ["c"], "args": {"channels": 5}},
        {"name": "c2", "op": "conv1d", "inputs": ["bn"], "args": {**_C2}},
    ]
    torch.manual_seed(k + dilation + stride)
    model = ImportedGraph(nodes=nodes, outputs=["c2"]).eval()
    with torch.no_grad():
        model.layers["bn"].running_mean.uniform_(-1, 1)
        model.layers["bn"].running_var.uniform_(0.5, 2)
    return model


_C2 = {"in_channels": 5, "out_channels": 2, "kernel_size": 3, "dilation": 2, "padding": [2, 2]}


@pytest.mark.parametrize(
    "k, dilation, stride, padding",
    [(1, 1, 1, [0, 0]), (5, 3, 1, [6, 6]), (4, 1, 2, [1, 2]), (7, 2, 1, [0, 0])],
)
def test_channels_last_layers_equal_the_plain_torch_layers(k, dilation, stride, padding):
    """The fast CPU convolution (channels-last 2-d / matrix product) and the eval batch norm give
    F.conv1d's and F.batch_norm's numbers, with gradients."""
    model = _conv_graph(k, dilation, stride, padding)
    x = torch.randn(3, 4, 40, requires_grad=True)
    y = model(x)
    conv = model.layers["c"][-2]
    bn, conv2 = model.layers["bn"], model.layers["c2"][-2]
    x2 = x.detach().clone().requires_grad_(True)
    h = F.pad(x2, padding) if padding[0] != padding[1] else x2
    h = F.conv1d(
        h, conv.weight, conv.bias, stride, padding[0] if padding[0] == padding[1] else 0, dilation
    )
    h = F.batch_norm(h.relu(), bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps)
    want = F.conv1d(h, conv2.weight, conv2.bias, 1, 2, 2)
    torch.testing.assert_close(y, want, atol=1e-5, rtol=1e-5)
    y.square().sum().backward()
    want.square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-5, rtol=1e-4)


def test_forward_frees_values_no_later_node_reads():
    """A 5-model SpliceAI graph kept all ~600 activations to the end (50 GB for a batch of 64 windows);
    each value is dropped after its last reader."""
    import gc
    import weakref

    model = _conv_graph(5, 1, 1, [2, 2])
    seen: dict[str, weakref.ref] = {}
    alive_at_end: list[bool] = []

    def keep(module, inputs, output):
        seen["c"] = weakref.ref(output)

    def check(module, inputs, output):
        gc.collect()
        alive_at_end.append(seen["c"]() is not None)

    model.layers["c"].register_forward_hook(keep)
    model.layers["c2"].register_forward_hook(check)
    with torch.inference_mode():
        model(torch.randn(2, 4, 30))
    assert alive_at_end == [False]  # "c" (read only by "bn") is gone when "c2" runs
