"""The expression WGAN-GP (genodeep.sc.gan): penalty, alternating steps, critic skipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genodeep.sc.gan import ExpressionGAN


def _linear_critic(gan: ExpressionGAN, w: torch.Tensor) -> None:
    lin = nn.Linear(gan.n_genes, 1)
    with torch.no_grad():
        lin.weight.copy_(w[None, :])
        lin.bias.zero_()
    gan.critic = nn.Sequential(lin)


def test_gradient_penalty_known_answer():
    gan = ExpressionGAN(4, 3, generator_hidden=[5], critic_hidden=[5])
    real, fake = torch.randn(16, 4), torch.randn(16, 4)
    _linear_critic(gan, torch.tensor([0.6, 0.8, 0.0, 0.0]))  # gradient norm 1 everywhere
    assert gan.gradient_penalty(real, fake).item() == pytest.approx(0.0, abs=1e-12)
    _linear_critic(gan, torch.tensor([0.0, 3.0, 0.0, 4.0]))  # norm 5 -> (5 - 1)^2
    assert gan.gradient_penalty(real, fake).item() == pytest.approx(16.0, rel=1e-6)


def test_critic_loss_and_validation_value():
    torch.manual_seed(0)
    gan = ExpressionGAN(4, 3, generator_hidden=[5], critic_hidden=[5], gp_weight=2.0)
    w = torch.tensor([0.0, 3.0, 0.0, 4.0])
    _linear_critic(gan, w)
    real = torch.randn(32, 4)
    gan.eval()
    torch.manual_seed(1)
    out = gan.loss((real,), step="critic")
    torch.manual_seed(1)
    fake = gan.generator(torch.randn(32, 3))
    wdist = (real @ w).mean() - (fake @ w).mean()
    assert out["wasserstein"].item() == pytest.approx(wdist.item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx(-wdist.item() + 2.0 * 16.0, rel=1e-5)
    with torch.no_grad():
        torch.manual_seed(1)
        val = gan.loss((real,), step=None)
    assert val["loss"].item() == pytest.approx(-wdist.item(), rel=1e-5)


def test_generator_updates_every_n_critic_batches_and_not_the_critic():
    torch.manual_seed(0)
    gan = ExpressionGAN(6, 4, generator_hidden=[8], critic_hidden=[8], n_critic=3).train()
    real = (torch.rand(16, 6),)
    active = []
    for _ in range(7):
        gan.zero_grad(set_to_none=True)
        gan.loss(real, step="generator")["loss"].backward()
        active.append(gan.generator[0].weight.grad is not None)
        assert all(p.grad is None for p in gan.critic.parameters())
    assert active == [True, False, False, True, False, False, True]
    gan.zero_grad(set_to_none=True)
    gan.loss(real, step="critic")["loss"].backward()
    assert all(p.grad is not None for p in gan.critic.parameters())
    assert all(p.grad is None for p in gan.generator.parameters())
    assert set(map(id, gan.parameters_for("critic"))).isdisjoint(
        map(id, gan.parameters_for("generator"))
    )


def test_samples_are_nonnegative_and_config_rebuilds():
    gan = ExpressionGAN(7, 5, generator_hidden=[6], critic_hidden=[6]).eval()
    torch.manual_seed(0)
    x = gan.sample(50)
    assert x.shape == (50, 7) and (x >= 0).all()
    again = ExpressionGAN(**gan.config)
    assert [p.shape for p in again.parameters()] == [p.shape for p in gan.parameters()]
    with pytest.raises(ValueError, match="step='encoder' is not valid"):
        list(gan.parameters_for("encoder"))
    assert np.isfinite(gan.loss((torch.rand(8, 7),), step=None)["loss"].item())
