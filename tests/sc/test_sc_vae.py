"""The scVI-style count VAE (genodeep.sc.vae): ELBO terms, likelihood, sampling, latent arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from genodeep.sc.vae import CountVAE, latent_shift


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _x(rng, n=9, g=6):
    return torch.from_numpy(rng.poisson(4.0, size=(n, g)).astype(np.float64))


@pytest.mark.parametrize("likelihood", ["nb", "zinb"])
def test_eval_loss_is_negative_elbo_with_scipy_likelihood(likelihood, rng):
    model = CountVAE(6, 2, n_hidden=5, likelihood=likelihood).double().eval()
    x = _x(rng)
    out = model(x)
    mu = out["mu"].detach().numpy()
    theta = np.broadcast_to(out["theta"].detach().numpy(), mu.shape)
    xs = x.numpy()
    if likelihood == "zinb":
        pi = 1 / (1 + np.exp(-out["pi_logits"].detach().numpy()))
        logp = np.log(pi * (xs == 0) + (1 - pi) * stats.nbinom.pmf(xs, theta, theta / (theta + mu)))
    else:
        logp = stats.nbinom.logpmf(xs, theta, theta / (theta + mu))
    q = torch.distributions.Normal(out["qz_mean"], out["qz_var"].sqrt())
    kl = (
        torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
        .sum(-1)
        .detach()
        .numpy()
    )
    expected = (-logp.sum(1) + kl).mean()
    got = model.loss((x,))
    assert got["loss"].item() == pytest.approx(expected, rel=1e-9)
    assert got["kl"].item() == pytest.approx(kl.mean(), rel=1e-9)
    # the decoded mean uses the observed library size
    np.testing.assert_allclose(mu.sum(1), xs.sum(1), rtol=1e-9)


def test_kl_warmup_and_batch_covariate(rng):
    model = CountVAE(6, 2, n_hidden=5, kl_warmup_steps=4, n_batch=2).double()
    x = _x(rng)
    b = torch.nn.functional.one_hot(torch.tensor([0, 1] * 4 + [0]), 2).double()
    model.train()
    torch.manual_seed(0)
    first = model.loss((x, torch.ones(9), b))
    assert first["loss"].item() == pytest.approx(
        first["reconstruction"].item(), rel=1e-9
    )  # weight 0
    with pytest.raises(ValueError, match="n_batch=2"):
        model.loss((x,))
    z = model.encode(x, None, b)
    assert z.shape == (9, 2)
    # the batch input changes the decoded means (so the decoder can explain batch effects)
    lib = x.sum(1)
    assert not torch.allclose(model.decode(z, lib, b)["mu"], model.decode(z, lib, 1 - b)["mu"])


def test_sample_counts_follow_the_decoded_means(rng):
    torch.manual_seed(0)
    model = CountVAE(5, 2, n_hidden=4, likelihood="nb").eval()
    with torch.no_grad():
        model.log_theta.fill_(np.log(2.0))
    n = 20000
    s = model.sample(n, np.full(n, 50.0))
    counts, mu = s["counts"].numpy(), s["mu"].numpy()
    assert (
        s["counts"].shape == (n, 5) and (counts == np.round(counts)).all() and (counts >= 0).all()
    )
    # E[x] = E[mu]; Var[x] = E[mu + mu^2 / theta] + Var[mu]
    np.testing.assert_allclose(counts.mean(0), mu.mean(0), rtol=0.05)
    var = (mu + mu**2 / 2.0).mean(0) + mu.var(0)
    np.testing.assert_allclose(counts.var(0), var, rtol=0.1)
    zinb = CountVAE(5, 2, n_hidden=4, likelihood="zinb").eval()
    with torch.no_grad():
        zinb.pi_head.bias.fill_(10.0)  # dropout probability ~1
    assert zinb.sample(100, np.full(100, 50.0))["counts"].sum() < 20


def test_latent_shift_balances_labels(rng):
    model = CountVAE(6, 2, n_hidden=5).eval()
    Xc = rng.poisson(3.0, size=(20, 6)).astype(np.float32)
    Xp = rng.poisson(6.0, size=(30, 6)).astype(np.float32)
    lc, lp = np.repeat(["a", "b"], 10), np.array(["a"] * 5 + ["b"] * 25)
    Zc = model.encode(torch.from_numpy(Xc)).detach().numpy()
    Zp = model.encode(torch.from_numpy(Xp)).detach().numpy()
    expected = np.mean([Zp[lp == t].mean(0) - Zc[lc == t].mean(0) for t in "ab"], axis=0)
    np.testing.assert_allclose(
        latent_shift(model, Xc, Xp, labels_control=lc, labels_perturbed=lp, device="cpu"),
        expected,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        latent_shift(model, Xc, Xp, device="cpu"), Zp.mean(0) - Zc.mean(0), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="no label occurs in both"):
        latent_shift(
            model, Xc, Xp, labels_control=lc, labels_perturbed=np.array(["c"] * 30), device="cpu"
        )
