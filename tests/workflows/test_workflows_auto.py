"""model: auto (the default when a config has no model section): candidates trained on the training split,
chosen on the validation split, all of them in one table with the baselines."""

from __future__ import annotations

import pandas as pd
import pytest

from genodeep.workflows.auto import CANDIDATES, recommended_training
from genodeep.workflows.train import train_from_config
from genodeep.zoo import load

DATA = {"kind": "simulate", "simulate": "presence", "names": ["MA0533.1"], "n": 240, "length": 60}


def test_data_only_config_trains_every_candidate_and_keeps_the_best(tmp_path):
    run = tmp_path / "run"
    result = train_from_config(
        {"data": DATA, "training": {"max_epochs": 2}, "baselines": {"models": ["logistic"]}},
        out_dir=run,
        verbose=False,
    )
    table = pd.read_csv(run / "candidates.tsv", sep="\t")
    assert list(table["model"]) == list(CANDIDATES)
    assert table["chosen"].sum() == 1
    chosen = table.loc[table["chosen"], "model"].item()
    # chosen by the validation score, never by the test split
    assert table.loc[table["chosen"], "valid_auprc"].item() == table["valid_auprc"].max()
    models = set(result.metrics["model"])
    assert {chosen, "logistic"} | {f"candidate:{n}" for n in CANDIDATES if n != chosen} == models
    pkg = load(run)
    assert pkg.spec.model_name == chosen and len(pkg.metadata["auto"]) == len(CANDIDATES)
    # the resolved config names the chosen architecture, so that a rerun trains that model
    assert result.config["model"]["name"] == chosen
    # the default path's training settings fill what the config leaves out
    assert result.config["training"]["early_stopping"] == "valid_auprc"
    assert result.config["training"]["max_epochs"] == 2
    assert recommended_training("regression")["early_stopping"] == "valid_loss"


def test_auto_budget_and_validation_split(tmp_path):
    cfg = {"data": DATA, "model": {"name": "auto", "budget": 1}, "training": {"max_epochs": 1}}
    train_from_config(cfg, out_dir=tmp_path / "run", verbose=False)
    table = pd.read_csv(tmp_path / "run" / "candidates.tsv", sep="\t")
    assert list(table["model"]) == ["twopath"]  # a budget of one model's time trains one model
    no_valid = {"data": {**DATA, "valid_fraction": 0.0}, "training": {"max_epochs": 1}}
    with pytest.raises(ValueError, match="validation split"):
        train_from_config(no_valid, out_dir=tmp_path / "other", verbose=False)
