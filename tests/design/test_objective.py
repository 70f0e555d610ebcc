"""Design objectives: term parsing, combination over an ensemble, and exact substitution scores."""

from __future__ import annotations

import math

import pytest
import torch

from genodeep.models.spec import ModelSpec
from genodeep.seqdesign.objective import Objective, Term, parse_terms
from toy_models import linear_model, random_onehot, tiny_cnn, tiny_dilated


def spec(names=("a", "b"), **kw) -> ModelSpec:
    return ModelSpec(task_names=list(names), **kw)


def brute_substitutions(obj: Objective, X: torch.Tensor) -> torch.Tensor:
    """Objective of every single-base mutant, each mutant scored by its own forward pass."""
    n, c, length = X.shape
    out = torch.empty(n, c, length)
    for i in range(n):
        mutants = X[i].repeat(c * length, 1, 1)
        for b in range(c):
            for pos in range(length):
                j = b * length + pos
                mutants[j, :, pos] = 0
                mutants[j, b, pos] = 1
        out[i] = obj(mutants).view(c, length)
    return out


def linear_outputs(models, X: torch.Tensor) -> torch.Tensor:
    """Outputs of linear models computed from their weights, (M, N, T)."""
    return torch.stack(
        [torch.einsum("ncl,tcl->nt", X, m.weight.detach()) + m.bias.detach() for m in models]
    )


def test_parse_terms_names_indices_weights():
    s = spec(kind="regression")
    terms = parse_terms("max:a, min:b, 2*max:a, 0.5 * min : 1, max:-1", s)
    assert terms[0] == Term(0, "a", "max", 1.0)
    assert terms[1] == Term(1, "b", "min", 1.0)
    assert terms[2] == Term(0, "a", "max", 2.0)
    assert terms[3] == Term(1, "b", "min", 0.5)
    assert terms[4].task == 1 and terms[4].name == "b"
    assert parse_terms(["max:a"], s) == parse_terms("max:a", s)
    assert terms[2].label() == "2*max:a"
    (t,) = parse_terms("b=3.5", s)
    assert (t.kind, t.value, t.raw_target) == ("target", 3.5, 3.5)
    assert t.label() == "b=3.5"


@pytest.mark.parametrize(
    "kw, value, raw",
    [
        (dict(kind="binary"), 0.9, math.log(0.9 / 0.1)),
        (dict(kind="binary"), 0.25, math.log(0.25 / 0.75)),
        (dict(kind="regression", loss="poisson"), 7.0, math.log(7.0)),
        (dict(kind="profile", loss="bpnet"), 50.0, math.log1p(50.0)),
        (dict(kind="regression", loss="mse"), -2.0, -2.0),
    ],
)
def test_parse_terms_target_on_raw_scale(kw, value, raw):
    (t,) = parse_terms(f"a={value}", spec(**kw))
    assert t.value == value
    assert t.raw_target == pytest.approx(raw)


@pytest.mark.parametrize(
    "text, kw, match",
    [
        ("foo", {}, "not understood"),
        ("max a", {}, "not understood"),
        ("", {}, "at least one term"),
        ("max:zzz", {}, "not a task"),
        ("max:5", {}, "task index 5"),
        ("a=0.9x", {}, "not understood"),
        ("a=1.5", dict(kind="binary"), r"\(0, 1\)"),
        ("a=0", dict(kind="binary"), r"\(0, 1\)"),
        ("a=0", dict(kind="regression", loss="poisson"), "> 0"),
        ("a=-1", dict(kind="profile", loss="bpnet"), ">= 0"),
    ],
)
def test_parse_terms_errors(text, kw, match):
    with pytest.raises(ValueError, match=match):
        parse_terms(text, spec(**kw))


def test_combine_max_min_target():
    obj = Objective(
        [linear_model(8, 2)], [spec(kind="binary")], "max:a, 2*min:b, 3*a=0.8", device="cpu"
    )
    raw = torch.randn(3, 5, 3)  # (M, N, K)
    m = raw.mean(0)
    want = m[:, 0] - 2 * m[:, 1] - 3 * (m[:, 2] - math.log(4.0)).abs()
    torch.testing.assert_close(obj.combine(raw), want)


def test_ensemble_of_linear_models():
    L = 15
    models = [linear_model(L, 2, seed=1), linear_model(L, 2, seed=2)]
    s = spec(kind="regression", input_length=L)
    obj = Objective(models, [s, s], "max:a, min:b", device="cpu")
    X = random_onehot(6, L, seed=3)
    outs = linear_outputs(models, X)
    per = outs[..., 0] - outs[..., 1]
    torch.testing.assert_close(obj(X), per.mean(0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(obj.per_model(X), per, atol=1e-5, rtol=1e-5)
    mean, sd = obj.predictions(X)
    torch.testing.assert_close(mean, outs.mean(0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sd, outs.std(0, unbiased=False), atol=1e-5, rtol=1e-5)
    assert (sd > 0).all()
    # one model: no disagreement
    _, sd1 = Objective(models[:1], [s], "max:a", device="cpu").predictions(X)
    assert torch.equal(sd1, torch.zeros(6, 1))


def test_predictions_on_the_prediction_scale():
    L = 10
    models = [linear_model(L, 2, seed=4), linear_model(L, 2, seed=5)]
    s = spec(kind="binary", input_length=L)
    obj = Objective(models, [s, s], "max:b", device="cpu")
    X = random_onehot(4, L, seed=6)
    probs = torch.stack([torch.sigmoid(m(X)[:, 1:2]) for m in models]).detach()
    mean, sd = obj.predictions(X)
    torch.testing.assert_close(mean, probs.mean(0))
    torch.testing.assert_close(sd, probs.std(0, unbiased=False))


def test_bpnet_count_head():
    model = tiny_dilated(2, seed=12)
    s = spec(kind="profile", loss="bpnet")
    obj = Objective([model], [s], "max:b", device="cpu")
    X = random_onehot(3, 40, seed=7)
    with torch.no_grad():
        counts = model(X)[1][:, 1]
    torch.testing.assert_close(obj(X), counts)
    mean, _ = obj.predictions(X)
    torch.testing.assert_close(mean[:, 0], torch.expm1(counts))


@pytest.mark.parametrize("which", ["linear", "cnn", "dilated"])
def test_substitutions_equal_brute_force(which):
    if which == "linear":
        L, model, s, terms = (
            20,
            linear_model(20, 2, seed=8),
            spec(kind="regression"),
            "max:a, min:b",
        )
    elif which == "cnn":
        L, model, s, terms = 40, tiny_cnn(40, 2, seed=9), spec(kind="binary"), "max:a, 0.5*b=0.3"
    else:
        L, model = 40, tiny_dilated(2, seed=10)
        s, terms = spec(kind="profile", loss="bpnet"), "min:a, b=20"
    obj = Objective([model], [s], terms, device="cpu")
    X = random_onehot(2, L, seed=11)
    got = obj.substitutions(X)
    want = brute_substitutions(obj, X)
    assert got.shape == (2, 4, L)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    # at the current base: the sequence's own objective
    torch.testing.assert_close(
        got.gather(1, X.argmax(1, keepdim=True))[:, 0],
        obj(X)[:, None].expand(2, L),
        atol=1e-4,
        rtol=1e-4,
    )


def test_substitutions_of_an_ensemble():
    L = 12
    models = [linear_model(L, 1, seed=13), linear_model(L, 1, seed=14)]
    s = spec(["y"], kind="regression")
    obj = Objective(models, [s, s], "max:y", device="cpu")
    X = random_onehot(2, L, seed=15)
    torch.testing.assert_close(
        obj.substitutions(X), brute_substitutions(obj, X), atol=1e-4, rtol=1e-4
    )


def test_refuses_mismatched_models():
    a, b = linear_model(10, 2, seed=1), linear_model(10, 2, seed=2)
    with pytest.raises(ValueError, match="same tasks"):
        Objective([a, b], [spec(["a", "b"]), spec(["a", "c"])], "max:a", device="cpu")
    with pytest.raises(ValueError, match="different sequence lengths"):
        Objective([a, b], [spec(input_length=10), spec(input_length=12)], "max:a", device="cpu")
    with pytest.raises(ValueError, match="specs"):
        Objective([a, b], [spec()], "max:a", device="cpu")
    with pytest.raises(ValueError, match="at least one model"):
        Objective([], [], "max:a", device="cpu")


def test_disagreement_penalty_subtracts_the_models_sd():
    L = 15
    models = [linear_model(L, 2, seed=21), linear_model(L, 2, seed=22), linear_model(L, 2, seed=23)]
    s = spec(kind="regression", input_length=L)
    plain = Objective(models, [s] * 3, "max:a, min:b", device="cpu")
    obj = Objective(models, [s] * 3, "max:a, min:b", device="cpu", disagreement=0.7)
    X = random_onehot(5, L, seed=24)
    outs = linear_outputs(models, X)
    per = outs[..., 0] - outs[..., 1]  # (M, N): each model's own objective
    want = per.mean(0) - 0.7 * per.std(0, unbiased=False)
    torch.testing.assert_close(obj(X), want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(obj.per_model(X), plain.per_model(X))
    assert (obj(X) < plain(X)).all()
    # exact substitution scores include the penalty
    torch.testing.assert_close(
        obj.substitutions(X[:2]), brute_substitutions(obj, X[:2]), atol=1e-4, rtol=1e-4
    )
    # one model: the penalty has nothing to measure
    one = Objective(models[:1], [s], "max:a", device="cpu", disagreement=5.0)
    torch.testing.assert_close(one(X), Objective(models[:1], [s], "max:a", device="cpu")(X))
    assert "0.7*sd" in repr(obj)


def test_disagreement_penalty_has_a_finite_gradient_where_models_agree():
    L = 10
    m = linear_model(L, 1, seed=25)
    s = spec(["y"], kind="regression", input_length=L)
    obj = Objective([m, m], [s, s], "max:y", device="cpu", disagreement=1.0)
    X = random_onehot(3, L, seed=26).requires_grad_(True)
    obj(X, grad=True).sum().backward()
    assert torch.isfinite(X.grad).all()


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_disagreement_weight_is_checked(bad):
    m = linear_model(10, 1, seed=1)
    with pytest.raises(ValueError, match="disagreement"):
        Objective([m], [spec(["y"])], "max:y", device="cpu", disagreement=bad)
