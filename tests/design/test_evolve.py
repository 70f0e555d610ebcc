"""Greedy and beam evolution: the exact optimum of an additive model, constraints, budget, history."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _additive import best_gain, linear_objective, linear_value
from _seqs import hamming, site_starts, strings

from genodeep.models.spec import ModelSpec
from genodeep.seqdesign.constraints import Constraints
from genodeep.seqdesign.evolve import evolve
from genodeep.seqdesign.objective import Objective
from toy_models import random_onehot, tiny_cnn

L = 60


def optimum(model, X: torch.Tensor, edits: int, fixed=()) -> np.ndarray:
    """Objective after the ``edits`` best single-position gains."""
    return linear_value(model, X) + best_gain(model, X, edits, fixed)


@pytest.mark.parametrize("edits", [1, 5])
def test_greedy_reaches_the_additive_optimum(edits):
    model, obj = linear_objective()
    X = random_onehot(4, L, seed=1)
    designs, _ = evolve(obj, X, edits=edits)
    np.testing.assert_allclose(linear_value(model, designs), optimum(model, X, edits), atol=1e-4)
    assert hamming(designs, X).tolist() == [edits] * 4
    np.testing.assert_allclose(obj(designs).numpy(), linear_value(model, designs), atol=1e-4)


def test_fixed_ranges_untouched_and_optimal_elsewhere():
    model, obj = linear_objective(seed=2)
    X = random_onehot(3, L, seed=3)
    fixed = [(0, 20), (40, 50)]
    designs, _ = evolve(obj, X, edits=6, constraints=Constraints(fixed=fixed))
    for s, e in fixed:
        assert torch.equal(designs[:, :, s:e], X[:, :, s:e])
    np.testing.assert_allclose(linear_value(model, designs), optimum(model, X, 6, fixed), atol=1e-4)
    assert (hamming(designs, X) == 6).all()


def test_gc_constraint_designs_are_valid():
    model, obj = linear_objective(seed=4)
    pool = random_onehot(40, L, seed=5)
    gc = pool[:, 1:3].sum((1, 2)) / L
    X = pool[(gc >= 0.45) & (gc <= 0.55)][:4]
    assert len(X) == 4
    cons = Constraints(gc=(0.45, 0.55))
    designs, _ = evolve(obj, X, edits=12, constraints=cons)
    for s in strings(designs):
        assert 0.45 * L <= s.count("G") + s.count("C") <= 0.55 * L
    assert cons.valid(designs, X).all()
    assert (linear_value(model, designs) > linear_value(model, X)).all()
    free, _ = evolve(obj, X, edits=12)
    assert (linear_value(model, designs) <= linear_value(model, free) + 1e-5).all()


def test_forbid_never_creates_a_site():
    model, obj = linear_objective(seed=6)
    X = random_onehot(4, L, seed=7)
    patterns = ["GAATTC", "CA..TG", "TTTT", "GGTCTC"]
    cons = Constraints(forbid=["EcoRI", "CANNTG", "TTTT", "BsaI"])
    designs, _ = evolve(obj, X, edits=15, constraints=cons)
    for seed, design in zip(strings(X), strings(designs), strict=True):
        assert site_starts(design, patterns) <= site_starts(seed, patterns)
    # without the constraint the same run does create sites: the check above is not vacuous
    free, _ = evolve(obj, X, edits=15)
    assert any(
        site_starts(d, patterns) - site_starts(s, patterns)
        for s, d in zip(strings(X), strings(free), strict=True)
    )


def test_beam_at_least_greedy_on_a_cnn():
    model = tiny_cnn(40, 2, seed=8)
    spec = ModelSpec(task_names=["a", "b"], kind="binary", input_length=40)
    obj = Objective([model], [spec], "max:a, min:b", device="cpu")
    X = random_onehot(3, 40, seed=9)
    greedy, _ = evolve(obj, X, edits=4)
    beam, _ = evolve(obj, X, edits=4, beam=3)
    assert (obj(beam) >= obj(greedy) - 1e-5).all()
    assert (obj(greedy) > obj(X)).all()
    assert (hamming(beam, X) <= 4).all() and (hamming(greedy, X) <= 4).all()


@pytest.mark.parametrize("beam", [1, 3])
def test_budget_from_constraints(beam):
    _, obj = linear_objective(seed=10)
    X = random_onehot(3, L, seed=11)
    designs, _ = evolve(obj, X, edits=8, beam=beam, constraints=Constraints(max_edits=3))
    assert (hamming(designs, X) <= 3).all()
    assert (hamming(designs, X) >= 1).all()


def test_history():
    model, obj = linear_objective(seed=12)
    X = random_onehot(3, L, seed=13)
    designs, hist = evolve(obj, X, edits=5)
    assert list(hist.columns) == ["round", "mean_objective", "best_objective", "active", "seconds"]
    assert hist["round"].tolist() == list(range(6))
    assert hist["mean_objective"].iloc[0] == pytest.approx(linear_value(model, X).mean(), abs=1e-4)
    assert hist["mean_objective"].iloc[-1] == pytest.approx(
        linear_value(model, designs).mean(), abs=1e-4
    )
    assert hist["best_objective"].iloc[-1] == pytest.approx(
        linear_value(model, designs).max(), abs=1e-4
    )
    assert np.all(np.diff(hist["mean_objective"]) > 0)
    assert hist["active"].iloc[0] == 3


def test_stops_when_nothing_improves():
    model, obj = linear_objective(seed=14)
    w = model.weight.detach()[0]
    best = torch.nn.functional.one_hot(w.argmax(0), 4).T[None].float()  # already optimal
    designs, hist = evolve(obj, best, edits=3)
    assert torch.equal(designs, best)
    assert hist["active"].iloc[-1] == 0


def test_argument_errors():
    _, obj = linear_objective()
    X = random_onehot(1, L)
    with pytest.raises(ValueError, match="edits must be > 0"):
        evolve(obj, X, edits=0)
    with pytest.raises(ValueError, match="beam must be > 0"):
        evolve(obj, X, beam=0)
    with pytest.raises(ValueError, match="past the sequence end"):
        evolve(obj, X, constraints=Constraints(fixed=[(50, 70)]))
