"""``model: auto`` (the default when a config has no ``model:``): train a few model families on the
training split, keep the one with the best validation score, within a stated time budget.

The candidates differ in how they use position, since data sets differ there: :class:`~genodeep.models.twopath.TwoPathCNN`
(motifs anywhere *and* at positions, genodeep's default), a DeepBind-style CNN (global max pooling:
presence only; strong on ChIP peaks), and a Basset-style CNN (flatten + dense: position only). Every
candidate is scored on the validation split by the early-stopping metric; the test split is never looked at
for the choice. The budget counts in units of the first candidate's training time: a candidate is started
only while the time spent plus one first-candidate time stays within ``budget`` of them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep.data.bundle import DataBundle, Kind
from genodeep.train.fit import FitResult, fit
from genodeep.train.lightning import metric_mode
from genodeep.workflows.assemble import model_for_data

__all__ = ["AUTO", "CANDIDATES", "AutoResult", "is_auto", "recommended_training", "train_auto"]

AUTO = "auto"

#: candidate ``model:`` sections for sequence data, tried in this order (the first is the default model)
CANDIDATES: dict[str, dict[str, Any]] = {
    "twopath": {"name": "twopath"},
    "deepbind": {
        "name": "deepbind",
        "filters": 128,
        "width": 19,
        "activation": "exp",
        "pool": "max",
        "hidden": 0,
    },
    "basset": {
        "name": "basset",
        "filters": [64, 64, 64],
        "widths": [15, 7, 5],
        "pools": [4, 4, 2],
        "padding": "same",
        "dense": [64],
    },
}

#: the one architecture auto uses for data that is not one-hot sequence
_SINGLE: dict[str, str] = {
    "multimodal": "multimodal",
    "graph_nodes": "gcn",
    "graph_features": "graph_expression",
}


def is_auto(section: Mapping[str, Any]) -> bool:
    """Whether a ``model:`` section asks for automatic model choice."""
    return section.get("name") == AUTO


def recommended_training(kind: Kind) -> dict[str, Any]:
    """Training settings of the default path (no ``model:``, or ``model: auto``) where the config gives none.

    Enough epochs and patience that a flat start does not end training, early stopping on the validation
    auPRC for binary tasks (the measure that rare positives need; auROC and the loss barely move there)
    and on the loss for regression, and the learning rate halved on plateaus.
    """
    return {
        "max_epochs": 60,
        "patience": 10,
        "early_stopping": "valid_auprc" if kind == "binary" else "valid_loss",
        "scheduler": "plateau",
        "batch_size": 64,
        "lr": 1e-3,
    }


@dataclass
class Candidate:
    """One trained candidate: its name, ``model:`` section, fit result, validation score and cost."""

    name: str
    section: dict[str, Any]
    result: FitResult
    score: float
    seconds: float
    epochs: int
    n_params: int


@dataclass
class AutoResult:
    """What :func:`train_auto` returns: the chosen candidate, all of them, and their table."""

    best: Candidate
    candidates: list[Candidate]
    skipped: list[str]
    table: pd.DataFrame


def _sections(section: Mapping[str, Any], data: DataBundle) -> dict[str, dict[str, Any]]:
    if data.input_kind in _SINGLE:
        name = _SINGLE[data.input_kind]
        return {name: {"name": name}}
    names = section.get("candidates") or list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(
            f"model.candidates: {unknown} are not auto candidates; choose among {', '.join(CANDIDATES)}"
        )
    return {n: dict(CANDIDATES[n]) for n in names}


def _score(history: pd.DataFrame, monitor: str) -> float:
    if monitor not in history or not history[monitor].notna().any():
        return float("nan")
    values = history[monitor].to_numpy(dtype=float)
    return float(np.nanmax(values) if metric_mode(monitor) == "max" else np.nanmin(values))


def train_auto(
    section: Mapping[str, Any],
    data: DataBundle,
    training: Mapping[str, Any],
    *,
    out_dir: Path,
    resume: bool = False,
    callbacks: Sequence[Any] | None = None,
    verbose: bool = True,
) -> AutoResult:
    """Train each candidate on ``data.train``, score it on ``data.valid``, keep the best.

    Parameters
    ----------
    section : mapping
        The ``model:`` section: ``name: auto``, optional ``candidates`` (names of :data:`CANDIDATES`)
        and ``budget`` (default 4: total time at most 4 times the first candidate's).
    data : DataBundle
        Must have a validation split.
    training : mapping
        Keyword arguments of :func:`genodeep.train.fit` (the resolved ``training:`` section).
    out_dir : Path
        Each candidate's checkpoints go to ``out_dir/candidates/NAME``.

    Returns
    -------
    AutoResult
    """
    if len(data.valid) == 0:
        raise ValueError(
            "model: auto chooses by the validation split, and this data has none; give a validation "
            "split (valid_fraction, valid=...) or name a model"
        )
    budget = float(section.get("budget", 4.0))
    if budget < 1:
        raise ValueError(
            f"model.budget must be >= 1 (times one model's training time), got {budget}"
        )
    monitor = training.get("early_stopping") or "valid_loss"
    monitor = monitor if monitor.startswith(("valid_", "train_")) else f"valid_{monitor}"
    seed = int(training.get("random_state", 0))
    done: list[Candidate] = []
    skipped: list[str] = []
    start = time.perf_counter()
    for name, cand in _sections(section, data).items():
        spent = time.perf_counter() - start
        if done and spent + done[0].seconds > budget * done[0].seconds:
            skipped.append(name)
            continue
        torch.manual_seed(seed)
        model, arch = model_for_data(cand, data, random_state=seed)
        if verbose:
            log(f"auto: training candidate {name} ({model.n_params:,} parameters)")
        t0 = time.perf_counter()
        result = fit(
            model,
            data.train.as_fit_data(),
            data.valid.as_fit_data(),
            out_dir=out_dir / "candidates" / name,
            resume=resume,
            verbose=verbose,
            task_names=data.task_names,
            callbacks=callbacks,
            **training,
        )
        history = pd.DataFrame(result.history) if result.history is not None else pd.DataFrame()
        done.append(
            Candidate(
                name=name,
                section={"name": arch, **model.config},
                result=result,
                score=_score(history, monitor),
                seconds=time.perf_counter() - t0,
                epochs=len(history),
                n_params=int(model.n_params),
            )
        )
    better = max if metric_mode(monitor) == "max" else min
    scored = [c for c in done if np.isfinite(c.score)] or done
    best = better(scored, key=lambda c: c.score)
    table = pd.DataFrame(
        [
            {
                "model": c.name,
                monitor: c.score,
                "epochs": c.epochs,
                "seconds": round(c.seconds, 1),
                "parameters": c.n_params,
                "chosen": c is best,
            }
            for c in done
        ]
    )
    if verbose:
        extra = f"; skipped for the time budget: {', '.join(skipped)}" if skipped else ""
        log(f"auto: chose {best.name} ({monitor} {best.score:.4f}){extra}")
    return AutoResult(best=best, candidates=done, skipped=skipped, table=table)
