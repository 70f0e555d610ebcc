"""Model packages rebuild the same model without pickle; tampering and truncation are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from genodeep import InputFileError
from genodeep.models import build_model
from genodeep.zoo import add, get, info, list_models, load, remove, save_package, verify

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "zoo" / "deepbind_v0_1_0"


def _model():
    torch.manual_seed(1)
    return build_model("deepbind", n_tasks=2, filters=8, width=5, hidden=4).eval()


@pytest.mark.parametrize("archive", [False, True])
def test_round_trip_same_predictions(tmp_path, archive):
    model = _model()
    path = tmp_path / ("pkg.tar.gz" if archive else "pkg")
    spec = {"sequence_length": 50, "task_names": ["a", "b"], "kind": "binary"}
    save_package(model, path, data_spec=spec, metadata={"metrics": {"auroc": 0.9}})
    pkg = load(path)
    x = torch.rand(3, 4, 50)
    assert torch.equal(pkg.model(x), model(x))
    assert pkg.task_names == ["a", "b"]
    assert pkg.data_spec["alphabet"] == "ACGT"
    assert pkg.metadata["metrics"]["auroc"] == 0.9
    with pytest.raises(FileExistsError):
        save_package(model, path)


def test_tampered_and_truncated_refused(tmp_path):
    path = save_package(_model(), tmp_path / "pkg")
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="sha256"):
        load(path)
    archive = save_package(_model(), tmp_path / "a.tar.gz")
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(InputFileError, match="archive"):
        load(archive)


def test_refuses_foreign_class(tmp_path):
    path = save_package(_model(), tmp_path / "pkg")
    cfg = json.loads((path / "config.json").read_text())
    cfg["class"] = "os.system"
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="only name genodeep classes"):
        load(path, verify=False)


def test_stored_old_package_still_loads():
    """A package written by genodeep 0.1.0 (tests/fixtures/zoo) keeps loading in later versions."""
    pkg = load(FIXTURE)
    assert pkg.metadata["genodeep_version"] == "0.1.0"
    x = torch.load(FIXTURE.parent / "deepbind_v0_1_0_io.pt", weights_only=True)
    assert torch.allclose(pkg.model(x["x"]), x["y"], atol=1e-6)


def test_local_zoo(tmp_path):
    root = tmp_path / "zoo"
    pkg = save_package(
        _model(), tmp_path / "m1", data_spec={"task_names": ["a", "b"], "kind": "binary"}
    )
    assert add(pkg, root=root) == "m1"
    add(save_package(_model(), tmp_path / "m2.tar.gz"), root=root)
    table = list_models(root=root)
    assert table["name"].tolist() == ["m1", "m2"]
    assert table.loc[0, "tasks"] == 2
    assert "# m1" in info("m1", root=root)
    verify("m1", root=root)
    assert isinstance(get("m2", root=root).model, torch.nn.Module)
    # altered in place after being added: refused even though the checksum file was rewritten to match
    other = save_package(
        build_model("deepbind", n_tasks=2, filters=8, width=5, hidden=4), tmp_path / "o"
    )
    shutil.copytree(other, root / "m1", dirs_exist_ok=True)
    with pytest.raises(InputFileError, match="altered"):
        get("m1", root=root)
    remove("m1", root=root)
    with pytest.raises(KeyError, match="available: m2"):
        info("m1", root=root)


def test_zoo_cli(tmp_path, capsys):
    from genodeep.cli.__main__ import main

    pkg = save_package(_model(), tmp_path / "m1")
    root = str(tmp_path / "zoo")
    assert main(["zoo", "--root", root, "list"]) == 0
    assert "empty" in capsys.readouterr().out
    assert main(["zoo", "--root", root, "add", str(pkg)]) == 0
    assert main(["zoo", "--root", root, "verify", "m1"]) == 0
    assert main(["zoo", "--root", root, "list"]) == 0
    assert "m1" in capsys.readouterr().out
    assert main(["zoo", "--root", root, "info", "nope"]) == 1
    assert "available: m1" in capsys.readouterr().err


def test_package_and_zoo_folders_follow_the_umask(tmp_path):
    """A package is staged in a private temporary folder (0700); what lands must be shareable."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = save_package(_model(), tmp_path / "pkg")
        add(path, name="shared", root=tmp_path / "zoo")
    finally:
        os.umask(old)
    for folder in (path, tmp_path / "zoo" / "shared"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
        assert {stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()} == {0o644}
