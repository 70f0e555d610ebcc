"""ONNX and TorchScript exports reproduce genodeep's predictions (onnxruntime / torch.jit)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genodeep.cli.__main__ import main
from genodeep.models import build_model
from genodeep.zoo import export_onnx, export_torchscript, load, save_package

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

L = 64

# tiny versions of three architectures: a fixed-length CNN, BPNet's two heads, a CNN + BiLSTM
SMALL = {
    "basset": dict(
        n_tasks=3, input_length=L, filters=[8, 8, 8], widths=[5, 3, 3], pools=[2, 2, 2], dense=[16]
    ),
    "bpnet": dict(n_tasks=2, filters=8, first_kernel=5, n_layers=2, profile_kernel=5, trim=2),
    "danq": dict(n_tasks=2, input_length=L, filters=8, width=5, pool=4, hidden_size=6, dense=[12]),
}


def _model(name):
    torch.manual_seed(3)
    model = build_model(name, **SMALL[name])
    # non-trivial batch-norm statistics, so that eval-mode normalisation is exercised
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _one_hot(n, length=L, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    X = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
    X[0, :, :5] = 0.0  # a few N positions
    return X.contiguous()


def _outputs(out):
    return (out,) if isinstance(out, torch.Tensor) else tuple(out)


@pytest.mark.parametrize("name", ["basset", "bpnet", "danq"])
def test_onnx_matches_torch(tmp_path, name):
    model = _model(name)
    path = export_onnx(model, tmp_path / f"{name}.onnx", input_length=L)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["X"]
    names = [o.name for o in sess.get_outputs()]
    assert names == (["profile", "counts"] if name == "bpnet" else ["y_hat"])
    for n in (1, 5):  # dynamic batch, including a size other than the export's
        X = _one_hot(n, seed=n)
        with torch.no_grad():
            want = _outputs(model(X))
        got = sess.run(None, {"X": X.numpy()})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            assert np.max(np.abs(g - w.numpy())) < 1e-5
    # the model is left in eval mode on its device
    assert not model.training


@pytest.mark.parametrize("name", ["basset", "bpnet", "danq"])
def test_torchscript_matches_torch(tmp_path, name):
    model = _model(name)
    path = export_torchscript(model, tmp_path / f"{name}.pt", input_length=L)
    extra = {"genodeep.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra)
    desc = json.loads(extra["genodeep.json"])
    assert desc["kwargs"] == model.config
    assert desc["data_spec"]["input_length"] == L
    X = _one_hot(4, seed=7)
    with torch.no_grad():
        for g, w in zip(_outputs(loaded(X)), _outputs(model(X))):
            assert torch.allclose(g, w, atol=1e-6, rtol=0)


def test_package_export_uses_spec_length_and_metadata(tmp_path):
    # BPNet accepts any length: the package's data spec supplies it
    model = _model("bpnet")
    pkg = save_package(
        model,
        tmp_path / "pkg",
        data_spec={"sequence_length": L, "task_names": ["a", "b"], "kind": "profile"},
    )
    out = tmp_path / "bpnet.onnx"
    assert main(["-q", "export", "--model", str(pkg), "--format", "onnx", "--out", str(out)]) == 0
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["genodeep.data_spec"])["task_names"] == ["a", "b"]
    assert meta["genodeep.class"] == "genodeep.models.dilated.BPNet"
    X = _one_hot(2)
    got = ort.InferenceSession(str(out)).run(None, {"X": X.numpy()})
    with torch.no_grad():
        want = load(pkg).model(X)
    assert np.max(np.abs(got[1] - want[1].numpy())) < 1e-5
    ts = tmp_path / "bpnet.pt"
    assert (
        main(["-q", "export", "--model", str(pkg), "--format", "torchscript", "--out", str(ts)])
        == 0
    )
    assert torch.allclose(torch.jit.load(str(ts))(X)[0], want[0], atol=1e-6)


def test_unknown_length_is_a_clear_error(tmp_path, capsys):
    model = _model("bpnet")
    with pytest.raises(ValueError, match="input length .* unknown.*input_length=L"):
        export_onnx(model, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="unknown"):
        export_torchscript(model, tmp_path / "x.pt")
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "x.pt").exists()
    with pytest.raises(ValueError, match="built for input_length=64"):
        export_onnx(_model("basset"), tmp_path / "y.onnx", input_length=100)
    save_package(model, tmp_path / "pkg")  # no data spec length
    code = main(["export", "--model", str(tmp_path / "pkg"), "--format", "onnx", "--out", "z.onnx"])
    assert code == 1
    assert "--length L" in capsys.readouterr().err


def test_too_short_length_is_a_clear_error(tmp_path, capsys):
    """A length below the first filter is refused before torch sees it (issue 14)."""
    model = _model("bpnet")
    with pytest.raises(ValueError, match=r"input_length=3 \(--length\) is too short.*first filter"):
        export_onnx(model, tmp_path / "x.onnx", input_length=3)
    save_package(model, tmp_path / "pkg")
    out = str(tmp_path / "z.onnx")
    argv = ["export", "--model", str(tmp_path / "pkg"), "--format", "onnx", "--out", out]
    assert main([*argv, "--length", "3"]) == 1
    assert "is too short for the model" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "z.onnx").exists()


def test_failed_export_leaves_no_file(tmp_path):
    class Bad(torch.nn.Module):
        in_channels = 4
        input_length = 8

        def forward(self, x):
            return {"y": x.sum(-1)}

    target = tmp_path / "bad.onnx"
    with pytest.raises(TypeError, match="tensor or a tuple"):
        export_onnx(Bad(), target)
    assert list(tmp_path.iterdir()) == []
