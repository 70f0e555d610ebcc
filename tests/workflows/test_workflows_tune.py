"""Hyperparameter search: search-space parsing and checks, per-epoch pruning, and a tiny real study."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import yaml

from genodeep.cli.__main__ import main
from genodeep.workflows.config import ConfigError, load_config
from genodeep.workflows.tune import (
    SearchParam,
    _metric_name,
    parse_search_space,
    pruning_callback,
    tune,
)

optuna = pytest.importorskip("optuna")


def _config(**search) -> dict:
    """A tiny simulated-data config (seconds per trial)."""
    return {
        "data": {
            "kind": "simulate",
            "simulate": "grammar",
            "names": ["MA0529.3", "MA0531.2"],
            "n": 200,
            "length": 40,
            "spacing": 2,
            "random_state": 0,
        },
        "model": {"name": "deepbind", "filters": 4, "width": 9, "hidden": 4},
        "training": {"max_epochs": 2, "batch_size": 64, "random_state": 0},
        "output": {"plots": False, "predictions": False},
        "search": search,
    }


SPACE = {
    "model.filters": {"int": [2, 8], "log": True},
    "training.lr": {"float": [1.0e-3, 1.0e-2], "log": True},
    "model.pool": ["max", "avg"],
}


# ------------------------------------------------------------------------------ search space
def test_parse_search_space_kinds_and_list_choices():
    space = parse_search_space(
        {
            "model.filters": {"int": [8, 64], "log": True},
            "model.width": {"int": [5, 15], "step": 2},
            "training.lr": {"float": [1e-4, 1e-2], "log": True},
            "model.name": ["basset", "deepbind"],
            "model.dense": {"choice": [[32], [64, 64]]},
        }
    )
    by = {p.path: p for p in space}
    assert by["model.filters"] == SearchParam("model.filters", "int", 8, 64, log=True)
    assert by["model.width"].step == 2
    assert by["model.name"].choices == ("basset", "deepbind")
    assert by["model.filters"].candidates() == [8, 64]
    # sampled values stay inside their ranges / choices; list-valued choices come back as lists
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        v = {p.path: p.suggest(trial) for p in space}
        assert 8 <= v["model.filters"] <= 64 and isinstance(v["model.filters"], int)
        assert v["model.width"] in (5, 7, 9, 11, 13, 15)
        assert 1e-4 <= v["training.lr"] <= 1e-2
        assert v["model.dense"] in ([32], [64, 64])
        seen.add(tuple(v["model.dense"]))
        study.tell(trial, 0.0)
    assert seen == {(32,), (64, 64)}


@pytest.mark.parametrize(
    ("search", "match"),
    [
        ({"lr": {"float": [0.1, 1.0]}}, "dotted config key"),
        ({"output.plots": [True, False]}, "cannot be searched"),
        ({"trainig.lr": {"float": [0.1, 1.0]}}, "start with one of: data, model, training"),
        ({"training.lr": {"float": [0.0, 1.0], "log": True}}, "log: true needs low > 0"),
        ({"training.lr": {"float": [1.0, 0.1]}}, "low > high"),
        ({"model.filters": {"int": [2.5, 8]}}, "int bounds must be integers"),
        ({"model.filters": {"int": [2, 8], "float": [1, 2]}}, "exactly one of int, float, choice"),
        ({"model.filters": {"range": [2, 8]}}, "exactly one of"),
        ({"model.pool": {"choice": []}}, "non-empty list"),
    ],
)
def test_malformed_search_entries(search, match):
    with pytest.raises(ConfigError, match=match):
        parse_search_space(search)


def test_unknown_search_path_lists_valid_keys(tmp_path):
    with pytest.raises(ConfigError) as err:
        tune(_config(**{"model.filtrs": {"int": [2, 8]}}), out_dir=tmp_path / "a", n_trials=1)
    msg = str(err.value)
    assert "search.model.filtrs" in msg and "did you mean filters" in msg
    assert "valid keys are" in msg and "hidden" in msg and "width" in msg
    # a known key with a value of the wrong type (basset's filters is a list per layer)
    search = {"model.name": ["deepbind", "basset"], "model.filters": {"int": [2, 8]}}
    with pytest.raises(ConfigError, match="search.model.name.*expected list"):
        tune(_config(**search), out_dir=tmp_path / "b", n_trials=1)
    with pytest.raises(ConfigError, match="no search: section"):
        cfg = _config()
        del cfg["search"]
        tune(cfg, out_dir=tmp_path / "c", n_trials=1)
    assert not (tmp_path / "a").exists()  # nothing is written before the config is checked


def test_metric_defaults_to_the_monitored_value():
    assert _metric_name(None, {}) == "valid_loss"
    assert _metric_name(None, {"early_stopping": "auroc"}) == "valid_auroc"
    assert _metric_name("valid_pearson", {"early_stopping": "auroc"}) == "valid_pearson"
    with pytest.raises(ValueError, match="valid_auroc"):
        _metric_name("auc", {})


# ------------------------------------------------------------------------------ pruning
@pytest.mark.slow
def test_pruning_callback_reports_history_and_prunes():
    from genodeep.models import build_model
    from genodeep.train import fit

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 4, 20, generator=g), (torch.rand(64, 1, generator=g) > 0.5).float()

    def model():
        return build_model("deepbind", filters=2, width=5, hidden=2)

    # no pruning: every epoch's valid_loss reaches the trial, as step epoch + 1
    study = optuna.create_study()
    trial = study.ask()
    result = fit(model(), (X, y), (X, y), max_epochs=3, early_stopping=None, verbose=False,
                 callbacks=[pruning_callback(trial, "valid_loss")])  # fmt: skip
    stored = study._storage.get_trial(trial._trial_id).intermediate_values
    assert stored == dict(zip([1, 2, 3], result.history["valid_loss"].tolist()))
    # a pruner that prunes any value stops training after the first epoch
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))
    trial = study.ask()
    cb = pruning_callback(trial, "valid_loss")
    with pytest.raises(optuna.TrialPruned, match="after epoch 1"):
        fit(model(), (X, y), (X, y), max_epochs=3, verbose=False, callbacks=[cb])
    assert list(cb.reported) == [0]


# ------------------------------------------------------------------------------ a real study
@pytest.mark.slow
def test_tune_random_search_end_to_end(tmp_path):
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(_config(**SPACE)))
    res = tune(
        path, out_dir=tmp_path / "a", n_trials=3, sampler="random", random_state=0, verbose=False
    )
    out = tmp_path / "a"
    trials = pd.read_csv(out / "trials.tsv", sep="\t")
    assert len(trials) == 3 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}
    assert {"model.filters", "training.lr", "model.pool", "value", "trial_dir"} <= set(trials)
    assert (out / "optimization_history.png").stat().st_size > 0
    assert (out / "study.db").exists()
    # the value of a trial is the best epoch's valid_loss of its own run
    done = trials[trials["state"] == "COMPLETE"]
    assert res.direction == "minimize" and res.metric == "valid_loss"
    assert math.isclose(res.best_value, done["value"].min(), rel_tol=1e-5)
    history = pd.read_csv(res.best_run / "history.tsv", sep="\t")
    assert math.isclose(res.best_value, history["valid_loss"].min(), rel_tol=1e-6)
    # best_config.yaml passes the config checks and carries the best parameters
    cfg = load_config(res.best_config)
    assert "search" not in yaml.safe_load(res.best_config.read_text())
    assert cfg["model"]["filters"] == res.best_params["model.filters"]
    assert cfg["model"]["pool"] == res.best_params["model.pool"]
    assert math.isclose(cfg["training"]["lr"], res.best_params["training.lr"])
    # same seed through the CLI, another folder: the same parameters in the same order
    code = main(["-q", "tune", str(path), "--out", str(tmp_path / "b"), "--n-trials", "3",
                 "--sampler", "random", "--random-state", "0"])  # fmt: skip
    assert code == 0
    again = pd.read_csv(tmp_path / "b" / "trials.tsv", sep="\t")
    cols = ["model.filters", "training.lr", "model.pool"]
    pd.testing.assert_frame_equal(trials[cols], again[cols])
    pd.testing.assert_series_equal(trials["value"], again["value"])


def test_tune_config_refuses_a_key_given_twice(tmp_path):
    """genodeep tune reads its YAML like genodeep train: a duplicated key is an error, not a silent override."""
    from genodeep.workflows.tune import tune

    path = tmp_path / "dup.yaml"
    path.write_text(
        "data:\n  kind: simulate\n  n: 40\nsearch:\n  training.lr: {log: [0.001, 0.1]}\n"
        "  training.lr: {log: [0.01, 0.1]}\n"
    )
    with pytest.raises(ConfigError, match="key 'training.lr' is given twice"):
        tune(path, out_dir=tmp_path / "study", n_trials=1)
