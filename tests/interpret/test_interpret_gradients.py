"""Gradient attributions agree with captum; integrated gradients satisfy completeness."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genodeep.interpret import input_x_gradient, integrated_gradients, saliency
from genodeep.seq import dinucleotide_shuffle
from toy_models import linear_model, random_onehot, tiny_cnn, tiny_dilated

captum_attr = pytest.importorskip("captum.attr")
InputXGradient = captum_attr.InputXGradient
IntegratedGradients = captum_attr.IntegratedGradients
Saliency = captum_attr.Saliency


def _smooth_cnn() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=2),
        nn.Softplus(),
        nn.AvgPool1d(2),
        nn.Conv1d(6, 4, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 13, 3),
    ).eval()


def test_saliency_and_input_x_gradient_match_captum():
    model = tiny_cnn(40, 3)
    X = random_onehot(5, 40, seed=1)
    ours = saliency(model, X, target=2, batch_size=2, device="cpu")
    ref = Saliency(model).attribute(X.clone().requires_grad_(), target=2, abs=True)
    assert torch.allclose(ours, ref, atol=1e-6)
    ours = input_x_gradient(model, X, target=2, batch_size=3, device="cpu")
    ref = InputXGradient(model).attribute(X.clone().requires_grad_(), target=2)
    assert torch.allclose(ours, ref, atol=1e-6)
    assert ours.abs().max() > 1e-4


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_integrated_gradients_match_captum(method):
    model = _smooth_cnn()
    X = random_onehot(3, 30, seed=2)
    base = dinucleotide_shuffle(X, n=1, random_state=0)[:, 0].float()
    ours = integrated_gradients(
        model, X, target=1, baseline=base, n_steps=20, method=method, batch_size=7, device="cpu"
    )
    ref = IntegratedGradients(model).attribute(
        X, baselines=base, target=1, n_steps=20, method=method, internal_batch_size=20
    )
    assert torch.allclose(ours, ref, atol=1e-5)
    assert ours.abs().max() > 1e-3


def test_integrated_gradients_completeness():
    model = _smooth_cnn()
    X = random_onehot(4, 30, seed=3)
    attr = integrated_gradients(model, X, target=0, n_steps=64, device="cpu")  # zero baseline
    with torch.no_grad():
        diff = model(X)[:, 0] - model(torch.zeros_like(X))[:, 0]
    assert torch.allclose(attr.sum((1, 2)), diff, atol=1e-4 * max(1.0, diff.abs().max().item()))


def test_integrated_gradients_of_linear_model_is_exact():
    model = linear_model(12, 2)
    X = random_onehot(2, 12, seed=4)
    attr = integrated_gradients(model, X, target=1, baseline="zeros", n_steps=3, device="cpu")
    assert torch.allclose(attr, X * model.weight[1].detach(), atol=1e-6)


def test_shuffle_baseline_is_seeded_dinucleotide_shuffle():
    model = _smooth_cnn()
    X = random_onehot(2, 30, seed=5)
    a = integrated_gradients(model, X, baseline="shuffle", random_state=7, n_steps=8, device="cpu")
    base = dinucleotide_shuffle(X, n=1, random_state=7)[:, 0]
    b = integrated_gradients(model, X, baseline=base, n_steps=8, device="cpu")
    assert torch.equal(a, b)


def test_tuple_output_explains_count_head_by_default():
    model = tiny_dilated(2)
    X = random_onehot(2, 40, seed=6)
    default = saliency(model, X, device="cpu")
    explicit = saliency(model, X, target=lambda y: y[1].sum(1), device="cpu")
    assert torch.allclose(default, explicit)
    profile = saliency(model, X, target=lambda y: y[0][:, 0].sum(-1), device="cpu")
    assert not torch.allclose(default, profile)


def test_single_sequence_and_errors():
    model = tiny_cnn(40, 2).train()
    X = random_onehot(1, 40, seed=7)
    assert saliency(model, X[0], device="cpu").shape == (4, 40)
    assert model.training
    with pytest.raises(ValueError, match="baseline had shape"):
        integrated_gradients(model, X, baseline=torch.zeros(2, 4, 40), device="cpu")
    with pytest.raises(ValueError, match="method"):
        integrated_gradients(model, X, method="simpson", device="cpu")
    with pytest.raises(ValueError, match="baseline"):
        integrated_gradients(model, X, baseline="ones", device="cpu")
