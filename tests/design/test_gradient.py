"""Gradient design: near-optimal on an additive model, budget and constraints never broken, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _additive import best_gain, linear_objective, linear_value
from _seqs import hamming, site_starts, strings

from genodeep.seqdesign.constraints import Constraints
from genodeep.seqdesign.gradient import gradient_design
from toy_models import random_onehot

L = 60


def test_near_optimal_on_an_additive_model():
    model, obj = linear_objective(seed=1)
    X = random_onehot(4, L, seed=2)
    designs, hist = gradient_design(obj, X, edits=8)
    assert designs.shape == X.shape
    assert (hamming(designs, X) <= 8).all()
    gain = linear_value(model, designs) - linear_value(model, X)
    ratio = gain / best_gain(model, X, 8)
    assert (ratio <= 1 + 1e-5).all()
    assert ratio.mean() >= 0.9, ratio
    assert list(hist.columns) == [
        "step",
        "mean_objective",
        "mean_sample_objective",
        "mean_edits",
        "seconds",
    ]
    assert hist["step"].tolist() == list(range(10, 201, 10))
    assert hist["mean_objective"].iloc[-1] == pytest.approx(
        linear_value(model, designs).mean(), abs=1e-4
    )
    assert np.all(np.diff(hist["mean_objective"]) >= 0)


@pytest.mark.parametrize("budget", [1, 3])
def test_budget_never_exceeded(budget):
    model, obj = linear_objective(seed=3)
    X = random_onehot(4, L, seed=4)
    designs, _ = gradient_design(
        obj, X, steps=40, edit_penalty=0.0, constraints=Constraints(max_edits=budget)
    )
    d = hamming(designs, X)
    assert (d <= budget).all() and (d >= 1).all()
    assert (linear_value(model, designs) > linear_value(model, X)).all()


def test_fixed_ranges_unchanged():
    model, obj = linear_objective(seed=5)
    X = random_onehot(3, L, seed=6)
    fixed = [(0, 25), (50, 60)]
    designs, _ = gradient_design(obj, X, steps=60, constraints=Constraints(fixed=fixed))
    for s, e in fixed:
        assert torch.equal(designs[:, :, s:e], X[:, :, s:e])
    assert (hamming(designs, X) >= 1).all()


def test_gc_and_forbid_designs_valid():
    model, obj = linear_objective(seed=7)
    pool = random_onehot(40, L, seed=8)
    gc = pool[:, 1:3].sum((1, 2)) / L
    X = pool[(gc >= 0.45) & (gc <= 0.55)][:4]
    assert len(X) == 4
    patterns = ["GAATTC", "CA..TG", "TTTT"]
    cons = Constraints(gc=(0.45, 0.55), forbid=["EcoRI", "CANNTG", "TTTT"])
    designs, _ = gradient_design(obj, X, steps=60, edits=10, constraints=cons)
    for seed, design in zip(strings(X), strings(designs), strict=True):
        assert 0.45 * L <= design.count("G") + design.count("C") <= 0.55 * L
        assert len(site_starts(design, patterns)) <= len(site_starts(seed, patterns))
        assert sum(a != b for a, b in zip(seed, design)) <= 10
    assert (linear_value(model, designs) > linear_value(model, X)).all()


def test_same_random_state_same_result():
    _, obj = linear_objective(seed=9)
    X = random_onehot(2, L, seed=10)
    a, ha = gradient_design(obj, X, steps=30, random_state=3)
    b, hb = gradient_design(obj, X, steps=30, random_state=3)
    assert torch.equal(a, b)
    assert ha.drop(columns="seconds").equals(hb.drop(columns="seconds"))


def test_the_models_weights_are_untouched():
    model, obj = linear_objective(seed=11)
    before = [p.detach().clone() for p in model.parameters()]
    gradient_design(obj, random_onehot(2, L, seed=12), steps=5)
    assert all(p.grad is None for p in model.parameters())  # no weight gradients computed
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_argument_errors():
    _, obj = linear_objective()
    X = random_onehot(1, L)
    with pytest.raises(ValueError, match="steps must be > 0"):
        gradient_design(obj, X, steps=0)
    with pytest.raises(ValueError, match="edit_penalty"):
        gradient_design(obj, X, edit_penalty=-1.0)
    with pytest.raises(ValueError, match="past the sequence end"):
        gradient_design(obj, X, constraints=Constraints(fixed=[(50, 70)]))
