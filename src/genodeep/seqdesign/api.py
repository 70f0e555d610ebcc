"""``gd.design``: one entry point for the three design methods, with an independent oracle check.

Designs are scored by the design models (ensemble mean, and their disagreement) and, when an ``oracle``
is given, by models that took no part in the design (e.g. trained on other folds or another
architecture). The oracle also scores the natural sequences, so the summary says honestly whether the
designs beat the best natural sequences in the eyes of a model they were not optimised against.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.spec import ModelSpec
from genodeep.seq.encode import decode, one_hot
from genodeep.seqdesign.constraints import Constraints
from genodeep.seqdesign.evolve import evolve
from genodeep.seqdesign.gan import feedback_gan
from genodeep.seqdesign.gradient import gradient_design
from genodeep.seqdesign.objective import Objective
from genodeep.zoo.package import Package
from genodeep.zoo.resolve import load

__all__ = ["DesignResult", "design", "METHODS"]

METHODS = ("evolve", "gradient", "gan")


@dataclass
class DesignResult:
    """Designed sequences and how they score.

    Attributes
    ----------
    X : torch.Tensor, shape (N, 4, L)
        One-hot designs.
    table : pandas.DataFrame
        One row per design: ``id``, ``seed`` (seed row, evolve/gradient), ``objective``,
        ``seed_objective``, ``edits``, ``gc``, ``valid``, one column per objective term's task on the
        prediction scale (ensemble mean) and its ``_sd`` over models, ``objective_sd`` (ensemble
        disagreement), ``oracle_objective`` and ``oracle_TASK`` with an oracle, ``sequence``.
    history : pandas.DataFrame
        The method's progress (rounds or steps).
    summary : dict
        Method, objective, constraints, timings and the oracle check.
    seeds : torch.Tensor, shape (N, 4, L), or None
        The seed of each design (None for the GAN).
    """

    X: torch.Tensor
    table: pd.DataFrame
    history: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    seeds: torch.Tensor | None = None


def load_models(model) -> list[Package]:
    """A package, path, zoo name or module, or a list of them -> loaded packages (each loaded once).

    A bare ``torch.nn.Module`` gets a spec from its own attributes (tasks ``task_0``, ``task_1`` ...).
    """
    items = list(model) if isinstance(model, (list, tuple)) else [model]
    return [
        Package(item)
        if isinstance(item, nn.Module)
        else item
        if hasattr(item, "model")
        else load(item)
        for item in items
    ]


def _models(model) -> tuple[list[nn.Module], list[ModelSpec]]:
    """Models and their specs, from anything :func:`load_models` takes."""
    pkgs = load_models(model)
    return [p.model.eval() for p in pkgs], [p.spec for p in pkgs]


def _as_onehot(X, name: str) -> torch.Tensor:
    if X is None:
        return None
    if isinstance(X, str) or (isinstance(X, Sequence) and X and isinstance(X[0], str)):
        X = one_hot(X)
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X).float()
    if X.dim() == 2:
        X = X[None]
    if X.dim() != 3 or X.shape[1] != 4:
        raise ValueError(
            f"{name} must be one-hot (N, 4, L) or DNA strings; got shape {tuple(X.shape)}"
        )
    return X


def random_seeds(n: int, length: int, *, random_state: int = 0) -> torch.Tensor:
    """``n`` uniform random one-hot sequences of ``length`` bases, (n, 4, length)."""
    check_positive("n", n)
    check_positive("length", length)
    g = torch.Generator().manual_seed(int(random_state))
    codes = torch.randint(0, 4, (int(n), int(length)), generator=g)
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


def design(
    model,
    X=None,
    *,
    objective: str | Sequence[str] = "max:0",
    method: str = "evolve",
    oracle=None,
    natural=None,
    n: int = 10,
    length: int | None = None,
    edits: int = 10,
    beam: int = 1,
    gc: tuple[float, float] | None = None,
    forbid: Sequence[str] = (),
    fixed: Sequence[tuple[int, int]] = (),
    max_edits: int | None = None,
    disagreement: float = 0.0,
    random_state: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
    **method_options: Any,
) -> DesignResult:
    """Design sequences that a trained model (or an ensemble) scores highly, under constraints.

    Parameters
    ----------
    model : Package, path, zoo name, torch.nn.Module, or a list of them
        The design model(s): several models form an ensemble (objective on their mean).
    X : torch.Tensor (N, 4, L), list of str, optional
        Seeds (evolve, gradient) or the natural sequences the GAN starts from. Default: ``n`` random
        sequences of the model's input length (``length`` for models that take any length).
    objective : str or list of str, default ``"max:0"``
        Terms ``max:TASK``, ``min:TASK``, ``TASK=VALUE`` (see :mod:`genodeep.seqdesign.objective`).
    method : {"evolve", "gradient", "gan"}, default "evolve"
        Greedy/beam in-silico evolution, gradient design with discrete edits (Ledidi), or a feedback GAN.
    oracle : same kinds as ``model``, optional
        Independent model(s) that score designs, seeds and natural sequences with the same objective.
    natural : torch.Tensor or list of str, optional
        Natural sequences to compare designs with (default: ``X`` when given).
    n : int, default 10
        Random seeds when ``X`` is None; the number of designs of the GAN.
    length : int, optional
        Length of random seeds for models without a fixed input length.
    edits, beam : int
        Edit budget and rounds (evolve, gradient); beam width (evolve).
    gc, forbid, fixed, max_edits
        Constraints (:class:`~genodeep.seqdesign.constraints.Constraints`); ``fixed`` and ``max_edits``
        refer to a seed and do not apply to the GAN.
    disagreement : float, default 0.0
        With an ensemble, subtract this weight times the models' standard deviation of the objective, so
        that designs go where the models agree (:class:`~genodeep.seqdesign.objective.Objective`). The
        ``objective`` column and the summary's means include the penalty; ``objective_sd`` is the deviation.
    random_state : int, default 0
    device : str or torch.device, optional
    verbose : bool, default False
    **method_options
        Passed to the method: ``steps``, ``samples``, ``lr``, ``tau``, ``edit_penalty`` (gradient);
        ``rounds``, ``steps_per_round`` and the other options of
        :func:`~genodeep.seqdesign.gan.feedback_gan` (gan).

    Returns
    -------
    DesignResult
    """
    check_choice("method", method, METHODS)
    mods, specs = _models(model)
    obj = Objective(mods, specs, objective, device=device, disagreement=disagreement)
    cons = Constraints(gc=gc, forbid=forbid, fixed=fixed, max_edits=max_edits)
    if method == "gan" and (cons.fixed or cons.max_edits is not None):
        raise ValueError(
            "the GAN generates sequences de novo: fixed positions and max_edits need a seed; "
            "use method='evolve' or 'gradient'"
        )
    X = _as_onehot(X, "X")
    if X is None:
        L = obj.input_length or length
        if L is None:
            raise ValueError("the model takes any length: give seeds X or length=")
        X = random_seeds(n, L, random_state=random_state)
    elif obj.input_length and X.shape[2] != obj.input_length:
        raise ValueError(
            f"the seeds are {X.shape[2]} bp but the model reads {obj.input_length} bp; give sequences of "
            "the model's input length"
        )
    natural = _as_onehot(natural, "natural")
    if natural is None:
        natural = X
    t0 = time.perf_counter()
    seeds = X
    if method == "evolve":
        designs, history = evolve(obj, X, edits=edits, beam=beam, constraints=cons, verbose=verbose)
    elif method == "gradient":
        designs, history = gradient_design(
            obj,
            X,
            edits=edits,
            constraints=cons,
            random_state=random_state,
            verbose=verbose,
            **method_options,
        )
    else:
        res = feedback_gan(
            lambda x: obj(x),
            X,
            n_designs=n,
            valid=lambda x: cons.valid(x),
            random_state=random_state,
            device=obj.device,
            verbose=verbose,
            **method_options,
        )
        designs, history, seeds = res.X.cpu(), res.history, None
        if len(designs) == 0:
            raise ValueError(
                f"the GAN generated no sequence that satisfies the constraints ({cons.describe()}); "
                "train it longer (rounds=, steps_per_round=) or loosen the constraints"
            )
    seconds = time.perf_counter() - t0
    table = _table(obj, designs, seeds, cons)
    summary = {
        "method": method,
        "objective": [t.label() for t in obj.terms],
        "first_task": obj.terms[0].task,
        "models": len(mods),
        "disagreement_weight": obj.disagreement if len(mods) > 1 else 0.0,
        "mean_objective_sd": float(table["objective_sd"].mean()),
        "constraints": cons.describe(),
        "designs": len(designs),
        "seconds": round(seconds, 3),
        "designs_per_minute": round(60 * len(designs) / max(seconds, 1e-9), 2),
        "mean_objective": float(table["objective"].mean()),
    }
    if seeds is not None:
        summary["mean_seed_objective"] = float(table["seed_objective"].mean())
        summary["mean_edits"] = float(table["edits"].mean())
    if oracle is not None:
        summary["oracle"] = _oracle_check(oracle, objective, table, designs, seeds, natural, device)
    return DesignResult(designs, table, history, summary, seeds)


def _table(obj: Objective, designs, seeds, cons: Constraints) -> pd.DataFrame:
    raw = obj.raw(designs)  # one pass of every model; everything below is derived from it
    pred, sd = obj.to_predictions(raw)
    per = obj.split(raw).cpu()
    df = pd.DataFrame({"id": [f"design_{i + 1}" for i in range(len(designs))]})
    if seeds is not None:
        df["seed"] = np.arange(len(designs))
    df["objective"] = obj.combine(raw).cpu().numpy()
    df["objective_sd"] = per.std(0, unbiased=False).numpy() if per.shape[0] > 1 else 0.0
    if seeds is not None:
        df["seed_objective"] = obj(seeds).cpu().numpy()
        df["edits"] = (designs != seeds).any(1).sum(1).numpy()
    df["gc"] = cons.gc_fraction(designs).numpy()
    df["valid"] = cons.valid(designs, seeds).numpy()
    for k, term in enumerate(obj.terms):
        df[term.name] = pred[:, k].cpu().numpy()
        if len(obj.models) > 1:
            df[f"{term.name}_sd"] = sd[:, k].cpu().numpy()
    df["sequence"] = decode(designs)
    return df.loc[:, ~df.columns.duplicated()]


def _oracle_check(oracle, terms, table, designs, seeds, natural, device) -> dict[str, Any]:
    """Oracle objective of designs, seeds and natural sequences; adds oracle columns to ``table``."""
    mods, specs = _models(oracle)
    orc = Objective(mods, specs, terms, device=device)
    raw = orc.raw(designs)
    d = orc.combine(raw).cpu().numpy()
    table["oracle_objective"] = d
    pred, _ = orc.to_predictions(raw)
    for k, term in enumerate(orc.terms):
        table[f"oracle_{term.name}"] = pred[:, k].cpu().numpy()
    out: dict[str, Any] = {
        "models": len(mods),
        "designs_mean": float(d.mean()),
        "designs_median": float(np.median(d)),
        "spearman_design_vs_oracle": float(
            pd.Series(table["objective"]).corr(pd.Series(d), method="spearman")
        )
        if len(d) > 2
        else float("nan"),
    }
    if seeds is not None:
        s = orc(seeds).cpu().numpy()
        out["seeds_mean"] = float(s.mean())
        out["designs_better_than_seed"] = float((d > s).mean())
    if natural is not None:
        nat = orc(natural).cpu().numpy()
        out["natural_n"] = int(len(nat))
        out["natural_max"] = float(nat.max())
        out["natural_top1pct_mean"] = float(np.sort(nat)[-max(1, len(nat) // 100) :].mean())
        out["natural_mean"] = float(nat.mean())
        out["designs_above_natural_max"] = float((d > nat.max()).mean())
    return out
