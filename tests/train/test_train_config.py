"""The training config schema: every example validates; bad configs fail with the file, the key path,
the rule and the valid keys; the valid keys are those of the API's signatures."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import yaml

from genodeep._signature import check_type
from genodeep.workflows.config import ConfigError, apply_overrides, load_config, validate_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _write(tmp_path, cfg, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def _minimal(**data):
    return {
        "data": {
            "kind": "simulate",
            "simulate": "presence",
            "n": 50,
            "length": 40,
            "names": ["MA0529.3"],
            **data,
        },
        "model": {"name": "deepbind", "filters": 4},
    }


def test_examples_exist_for_every_architecture():
    from genodeep.models import MODELS

    names = {p.stem for p in EXAMPLES}
    assert set(MODELS) <= names
    assert {"insulators", "spacing", "transfer"} <= names


#: data kinds whose examples are built from their data (graphs, several inputs) rather than sizes
_BUILT_FROM_DATA = ("simulate_multimodal", "graph", "simulate_graph")


def _pretrained_package(tmp_path, example: Path) -> Path:
    """An untrained model package of the architecture that ``example`` names as its pretraining run."""
    from genodeep.workflows.assemble import build_model_from_config
    from genodeep.workflows.train import save_model

    raw = yaml.safe_load(example.read_text())
    cfg = validate_config(raw, base=example.parent)
    model = build_model_from_config(cfg["model"], n_tasks=3, input_length=200)
    return save_model(
        model, tmp_path / "pretrained" / "model", data_spec={"task_names": list("abc")}
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_validates_and_builds_its_model(path, tmp_path):
    from genodeep.data.sources import build_data
    from genodeep.models import MODELS
    from genodeep.workflows.assemble import build_model_from_config, model_for_data

    raw = yaml.safe_load(path.read_text())
    raw.pop("search", None)  # genodeep tune's extra section (checked by the tune tests)
    if raw["model"].get("pretrained"):  # the pretraining run is made by another example
        assert "genodeep train examples/deepbind.yaml" in path.read_text()
        raw["model"]["pretrained"] = str(
            _pretrained_package(tmp_path, path.parent / "deepbind.yaml")
        )
    cfg = validate_config(raw, source=str(path), base=path.parent)
    for key in ("genome", "motifs"):  # resolved paths exist
        if cfg["data"].get(key):
            assert Path(cfg["data"][key]).exists()
    for p in (cfg["data"].get("beds") or {}).values():
        assert Path(p).exists()
    if cfg["data"]["kind"] in _BUILT_FROM_DATA or cfg["model"].get("pretrained"):
        data = build_data({**cfg["data"], **_smaller(cfg["data"])})
        model, name = model_for_data(cfg["model"], data)
        assert name in MODELS and model.n_tasks == len(data.task_names)
        assert model.n_params > 0
        return
    assert cfg["model"]["name"] in MODELS
    n_tasks = len(cfg["data"].get("beds") or cfg["data"].get("names") or [0])
    length = cfg["data"].get("width") or cfg["data"].get("length")
    model = build_model_from_config(
        cfg["model"],
        n_tasks=1 if cfg["data"].get("simulate") == "grammar" else n_tasks,
        input_length=length,
    )
    assert model.n_params > 0


def _smaller(data: dict) -> dict:
    """Fewer simulated rows (building the model needs the data's shapes, not its size)."""
    return {k: 100 for k in ("n", "n_nodes") if k in data}


def test_transfer_keys_come_from_prepare_transfer_and_fine_tune(tmp_path):
    from genodeep.train.transfer import fine_tune, prepare_transfer

    pkg = _pretrained_package(tmp_path, REPO / "examples" / "deepbind.yaml")
    cfg = _minimal()
    cfg["model"] = {
        "pretrained": str(pkg),
        "head": "replace",
        "freeze": ["local"],
        "freez_depth": 1,
    }
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, source="t.yaml")
    msg = str(err.value)
    assert "model.freez_depth" in msg and "did you mean freeze_depth" in msg
    for name in set(inspect.signature(prepare_transfer).parameters) - {"n_tasks", "random_state"}:
        assert name in msg, name
    del cfg["model"]["freez_depth"]
    cfg["training"] = {"pretrained_lr_scale": 0.1, "max_epochs": 2}
    out = validate_config(cfg)
    assert out["model"]["pretrained"] == str(pkg.resolve())
    assert "pretrained_lr_scale" in inspect.signature(fine_tune).parameters
    cfg["model"] = {"name": "deepbind", "filters": 4}  # no pretrained model: not a fit() argument
    with pytest.raises(ConfigError, match=r"training\.pretrained_lr_scale.*valid keys"):
        validate_config(cfg)
    cfg["model"] = {"pretrained": str(tmp_path / "missing"), "head": "keep"}
    with pytest.raises(ConfigError, match=r"model\.pretrained: file not found"):
        validate_config(cfg)


def test_unknown_key_lists_the_valid_keys_from_the_signature(tmp_path):
    from genodeep.train.fit import fit

    cfg = _minimal()
    cfg["training"] = {"max_epoch": 3}
    path = _write(tmp_path, cfg)
    with pytest.raises(ValueError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "training.max_epoch" in msg
    assert "did you mean max_epochs" in msg
    supplied = {
        "model",
        "train_data",
        "valid_data",
        "out_dir",
        "resume",
        "verbose",
        "task_names",
        "callbacks",
    }
    for name in set(inspect.signature(fit).parameters) - supplied:
        assert name in msg, name
    for name in ("callbacks", "out_dir", "train_data"):
        assert f" {name}," not in msg


def test_unknown_model_argument_lists_the_architectures_arguments(tmp_path):
    from genodeep.models import model_arguments

    cfg = _minimal()
    cfg["model"]["filter"] = 3
    with pytest.raises(ConfigError, match=r"model\.filter") as err:
        validate_config(cfg, source="x.yaml")
    for name in model_arguments("deepbind"):
        assert name in str(err.value)
    assert str(err.value).startswith("x.yaml: ")


def test_unknown_data_key_lists_loader_and_simulator_arguments():
    from genodeep.seq import simulate_motif_presence

    cfg = _minimal(widht=3)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    msg = str(err.value)
    assert "data.widht" in msg
    for name in ("n_per_seq", "positive_fraction", "gc", "valid_fraction", "names", "motifs"):
        assert name in msg
    assert set(inspect.signature(simulate_motif_presence).parameters) - {
        "motifs",
        "random_state",
    } <= set(msg.replace(",", " ").split())


def test_unknown_section_and_kind_and_model_name():
    with pytest.raises(
        ConfigError, match="valid sections are: data, model, training, baselines, output"
    ):
        validate_config({**_minimal(), "trainng": {}})
    with pytest.raises(ConfigError, match=r"data\.kind.*genome, fasta, simulate"):
        validate_config({**_minimal(), "data": {"kind": "bam"}})
    with pytest.raises(ConfigError, match=r"model\.name.*basset"):
        validate_config({**_minimal(), "model": {"name": "resnet"}})
    with pytest.raises(ConfigError, match="missing section 'data'"):
        validate_config({"model": {"name": "basset"}})
    # no model section: the default path, automatic model choice
    assert validate_config({"data": _minimal()["data"]})["model"] == {"name": "auto"}
    assert validate_config({**_minimal(), "model": "auto"})["model"] == {"name": "auto"}
    with pytest.raises(ConfigError, match=r"model\.candidates.*not auto candidates"):
        validate_config({**_minimal(), "model": {"name": "auto", "candidates": ["resnet"]}})
    with pytest.raises(ConfigError, match=r"model\.filters: unknown key"):
        validate_config({**_minimal(), "model": {"name": "auto", "filters": 3}})


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("training", "max_epochs", "ten", "expected int, got str 'ten'"),
        ("training", "lr", "fast", "expected float"),
        ("training", "optimizer", "adagrad", "expected one of 'adam', 'adamw', 'rmsprop', 'sgd'"),
        ("model", "filters", 2.5, "expected int, got float"),
        ("data", "n", True, "expected int, got bool"),
        ("baselines", "k", [4], "expected int, got list"),
        ("output", "plots", "yes", "expected bool"),
    ],
)
def test_wrong_type_names_the_key(section, key, value, expected):
    cfg = _minimal()
    cfg.setdefault(section, {})
    cfg[section] = {**(cfg[section] or {}), key: value}
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, source="c.yaml")
    msg = str(err.value)
    assert f"c.yaml: {section}.{key}: " in msg
    assert expected in msg


def test_missing_file_names_the_key_and_resolves_relative_to_the_config(tmp_path):
    sub = tmp_path / "configs"
    sub.mkdir()
    (sub / "peaks.bed").write_text("chr1\t0\t10\n")
    cfg = {
        "data": {
            "kind": "genome",
            "genome": "genome.fa",
            "beds": {"a": "peaks.bed"},
            "test": "chr1:0-100",
        },
        "model": {"name": "deepbind"},
    }
    path = _write(sub, cfg)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "data.genome: file not found" in str(err.value)
    assert str(sub / "genome.fa") in str(err.value)
    (sub / "genome.fa").write_text(">chr1\nACGT\n")
    cfg["data"]["beds"]["b"] = "missing.bed"
    path = _write(sub, cfg)
    with pytest.raises(ConfigError, match=r"data\.beds\.b: file not found"):
        load_config(path)
    del cfg["data"]["beds"]["b"]
    resolved = load_config(_write(sub, cfg))
    assert resolved["data"]["genome"] == str((sub / "genome.fa").resolve())
    assert resolved["data"]["beds"]["a"] == str((sub / "peaks.bed").resolve())


def test_example_references_resolve_to_shipped_data():
    from genodeep import example_data

    cfg = {
        "data": {
            "kind": "genome",
            "genome": "example:genome",
            "beds": "example:insulator_peaks",
            "test": "x",
        },
        "model": {"name": "basset"},
    }
    out = validate_config(cfg)
    assert out["data"]["genome"] == str(example_data.genome().resolve())
    assert list(out["data"]["beds"]) == list(example_data.INSULATOR_TASKS)
    cfg["data"]["genome"] = "example:genomes"
    with pytest.raises(ConfigError, match="example:genome"):
        validate_config(cfg)


def test_missing_required_key_and_bad_yaml(tmp_path):
    cfg = _minimal()
    del cfg["data"]["n"]
    with pytest.raises(ConfigError, match="missing required key 'n'"):
        validate_config(cfg)
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "none.yaml")


def test_baselines_section_forms():
    assert validate_config(_minimal())["baselines"] is None
    assert validate_config({**_minimal(), "baselines": True})["baselines"] == {}
    assert validate_config({**_minimal(), "baselines": {"k": 3}})["baselines"] == {"k": 3}
    with pytest.raises(ConfigError, match="not a baseline"):
        validate_config({**_minimal(), "baselines": {"models": ["svm"]}})


def test_overrides_apply_dotted_keys_and_parse_yaml():
    cfg = _minimal()
    out = apply_overrides(
        cfg, ["training.max_epochs=3", "data.n=20", "baselines.models=[logistic]"]
    )
    assert out["training"] == {"max_epochs": 3}
    assert out["data"]["n"] == 20 and cfg["data"]["n"] == 50  # the input is not modified
    assert out["baselines"] == {"models": ["logistic"]}
    assert apply_overrides(cfg, {"model.filters": 8})["model"]["filters"] == 8
    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        apply_overrides(cfg, ["training.lr"])


def test_check_type_known_answers():
    from collections.abc import Mapping, Sequence
    from typing import Literal

    assert check_type(3, int) and not check_type(True, int) and not check_type(3.0, int)
    assert check_type(3, float) and check_type(None, int | None)
    assert check_type([1, 2], Sequence[int]) and not check_type([1, "a"], Sequence[int])
    assert check_type({"a": "x"}, Mapping[str, str]) and not check_type(["a"], Mapping[str, str])
    assert check_type("a", Literal["a", "b"]) and not check_type("c", Literal["a", "b"])
    assert check_type(np.float32(1.0), object)


def test_duplicate_yaml_keys_are_refused(tmp_path):
    """YAML parsers keep the last of two equal keys; a config must not say one thing and do another."""
    path = tmp_path / "dup.yaml"
    path.write_text(
        "data:\n  kind: simulate\n  n: 100\ntraining:\n  lr: 0.001\n  max_epochs: 2\n  lr: 0.01\n"
    )
    with pytest.raises(ConfigError, match=r"line 7: key 'lr' is given twice.*first on line 5"):
        load_config(path)
    path.write_text("data:\n  kind: simulate\n  n: 100\ndata:\n  kind: fasta\n")
    with pytest.raises(ConfigError, match="key 'data' is given twice"):
        load_config(path)
