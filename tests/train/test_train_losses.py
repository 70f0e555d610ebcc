"""Losses against scipy/torch references, masking, and the registry's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from scipy.special import expit, log_softmax

from genodeep.nn.distributions import nb_log_prob, poisson_log_prob, zinb_log_prob
from genodeep.train.losses import (
    LOSSES,
    get_loss,
    masked_mean,
    multinomial_log_prob,
)

TOL = 1e-6


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# ------------------------------------------------------------------------------ log-probabilities
def test_nb_log_prob_matches_scipy(rng):
    x = rng.integers(0, 60, size=500).astype(float)
    mu = rng.uniform(0.01, 40, size=500)
    theta = rng.uniform(0.05, 30, size=500)
    ref = stats.nbinom.logpmf(x, n=theta, p=theta / (theta + mu))
    ours = nb_log_prob(_t(x), _t(mu), _t(theta)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=TOL, atol=TOL)


def test_nb_log_prob_float32_and_zero_mean():
    # mu = 0 puts all mass on 0 (scipy: p = 1)
    out = nb_log_prob(torch.tensor([0.0, 3.0]), torch.tensor([0.0, 0.0]), torch.tensor([2.0, 2.0]))
    assert out[0].item() == 0.0 and out[1].item() == -np.inf
    x, mu, th = torch.tensor([4.0]), torch.tensor([2.5]), torch.tensor([1.5])
    ref = stats.nbinom.logpmf(4, n=1.5, p=1.5 / 4.0)
    assert nb_log_prob(x, mu, th).dtype == torch.float32
    assert abs(nb_log_prob(x, mu, th).item() - ref) < 1e-5


def test_zinb_log_prob_matches_scipy_mixture(rng):
    x = rng.integers(0, 20, size=400).astype(float)
    x[:150] = 0
    mu = rng.uniform(0.05, 15, size=400)
    theta = rng.uniform(0.1, 10, size=400)
    logits = rng.normal(0, 2, size=400)
    pi = expit(logits)
    nb = stats.nbinom.logpmf(x, n=theta, p=theta / (theta + mu))
    ref = np.where(x == 0, np.log(pi + (1 - pi) * np.exp(nb)), np.log1p(-pi) + nb)
    ours = zinb_log_prob(_t(x), _t(mu), _t(theta), _t(logits)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=TOL, atol=TOL)
    # no zero inflation (pi -> 0) gives back the NB
    none = zinb_log_prob(_t(x), _t(mu), _t(theta), _t(np.full(400, -60.0))).numpy()
    np.testing.assert_allclose(none, nb, rtol=TOL, atol=TOL)


def test_poisson_log_prob_and_loss_match_scipy(rng):
    y = rng.integers(0, 30, size=(20, 3)).astype(float)
    log_rate = rng.normal(1.0, 1.0, size=(20, 3))
    ref = stats.poisson.logpmf(y, np.exp(log_rate))
    np.testing.assert_allclose(
        poisson_log_prob(_t(y), _t(log_rate)).numpy(), ref, rtol=TOL, atol=TOL
    )
    loss = get_loss("poisson")(_t(log_rate), _t(y))
    assert abs(loss.item() - (-ref.mean())) < TOL
    # full=False drops lgamma(y + 1): the same as torch's poisson_nll_loss(log_input=True)
    partial = get_loss("poisson", full=False)(_t(log_rate), _t(y))
    torch_ref = F.poisson_nll_loss(_t(log_rate), _t(y), log_input=True, full=False)
    assert abs(partial.item() - torch_ref.item()) < TOL


def test_multinomial_matches_scipy(rng):
    counts = rng.integers(0, 6, size=(4, 2, 12)).astype(float)
    logits = rng.normal(size=(4, 2, 12))
    probs = np.exp(log_softmax(logits, axis=-1))
    ref = np.array(
        [
            [
                stats.multinomial.logpmf(counts[i, t], n=counts[i, t].sum(), p=probs[i, t])
                for t in range(2)
            ]
            for i in range(4)
        ]
    )
    ours = multinomial_log_prob(_t(counts), _t(logits)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=TOL, atol=TOL)
    # the loss is the mean NLL over the (example, task) profiles
    assert abs(get_loss("multinomial")(_t(logits), _t(counts)).item() + ref.mean()) < TOL
    # full=False: scipy's logpmf minus the multinomial coefficient lgamma(n+1) - sum lgamma(y_i+1)
    from scipy.special import gammaln

    coef = gammaln(counts.sum(-1) + 1) - gammaln(counts + 1).sum(-1)
    partial = multinomial_log_prob(_t(counts), _t(logits), full=False).numpy()
    np.testing.assert_allclose(partial, ref - coef, rtol=TOL, atol=TOL)


def test_bpnet_loss_is_profile_nll_plus_weighted_count_mse(rng):
    counts = rng.integers(0, 5, size=(3, 2, 10)).astype(float)
    logits = rng.normal(size=(3, 2, 10))
    log_counts = rng.normal(2.0, 1.0, size=(3, 2))
    probs = np.exp(log_softmax(logits, axis=-1))
    nll = -np.mean(
        [
            stats.multinomial.logpmf(counts[i, t], n=counts[i, t].sum(), p=probs[i, t])
            for i in range(3)
            for t in range(2)
        ]
    )
    mse = np.mean((log_counts - np.log1p(counts.sum(-1))) ** 2)
    loss = get_loss("bpnet", count_weight=7.5)
    assert abs(loss((_t(logits), _t(log_counts)), _t(counts)).item() - (nll + 7.5 * mse)) < TOL
    # totals may be given explicitly
    explicit = loss((_t(logits), _t(log_counts)), (_t(counts), _t(counts.sum(-1))))
    assert abs(explicit.item() - (nll + 7.5 * mse)) < TOL
    with pytest.raises(TypeError, match="profile_logits"):
        loss(_t(logits), _t(counts))


def test_bce_with_pos_weight_and_task_weights_matches_formula(rng):
    logits = rng.normal(size=(30, 3))
    y = (rng.random((30, 3)) < 0.4).astype(float)
    pw = np.array([3.0, 1.0, 0.5])
    tw = np.array([1.0, 2.0, 0.25])
    p = expit(logits)
    ref = -(pw * y * np.log(p) + (1 - y) * np.log1p(-p)) * tw
    loss = get_loss("bce", pos_weight=pw.tolist(), task_weights=tw.tolist())(_t(logits), _t(y))
    assert abs(loss.item() - ref.mean()) < TOL
    torch_ref = F.binary_cross_entropy_with_logits(_t(logits), _t(y), pos_weight=_t(pw))
    assert (
        abs(get_loss("bce", pos_weight=pw.tolist())(_t(logits), _t(y)).item() - torch_ref.item())
        < TOL
    )


def test_nb_and_zinb_losses_accept_dicts_and_tuples(rng):
    y = rng.integers(0, 10, size=(8, 5)).astype(float)
    mu = rng.uniform(0.5, 5, size=(8, 5))
    theta = rng.uniform(0.5, 5, size=5)
    pi = rng.normal(size=(8, 5))
    ref_nb = -stats.nbinom.logpmf(y, n=theta, p=theta / (theta + mu)).mean()
    nb = get_loss("nb")
    assert abs(nb({"mu": _t(mu), "theta": _t(theta)}, _t(y)).item() - ref_nb) < TOL
    assert abs(nb((_t(mu), _t(theta)), _t(y)).item() - ref_nb) < TOL
    zinb = get_loss("zinb")
    ref_z = -zinb_log_prob(_t(y), _t(mu), _t(theta), _t(pi)).mean().item()
    assert (
        abs(zinb({"mu": _t(mu), "theta": _t(theta), "pi_logits": _t(pi)}, _t(y)).item() - ref_z)
        < TOL
    )
    with pytest.raises(KeyError, match="pi_logits"):
        zinb({"mu": _t(mu), "theta": _t(theta)}, _t(y))


# ---------------------------------------------------------------------------------------- masking
@pytest.mark.parametrize("name", ["bce", "mse", "poisson", "nb"])
def test_masked_entries_do_not_matter(name, rng):
    n, t = 16, 4
    y = rng.integers(0, 2 if name == "bce" else 6, size=(n, t)).astype(float)
    y_hat = rng.normal(size=(n, t))
    mask = rng.random((n, t)) < 0.7
    loss = get_loss(name)

    def call(yh, yy, m):
        if name == "nb":
            return loss(
                {"mu": torch.exp(yh), "theta": torch.full((t,), 2.0, dtype=torch.float64)}, yy, m
            )
        return loss(yh, yy, m)

    base = call(_t(y_hat), _t(y), torch.as_tensor(mask))
    # changing masked labels and masked predictions changes nothing
    y2, yh2 = y.copy(), y_hat.copy()
    y2[~mask] = rng.integers(0, 2, size=(~mask).sum())
    yh2[~mask] = rng.normal(5, 3, size=(~mask).sum())
    assert abs(call(_t(yh2), _t(y2), torch.as_tensor(mask)).item() - base.item()) < 1e-12
    # NaN labels are masked automatically: same value, finite gradient, zero gradient where masked
    y_nan = y.copy()
    y_nan[~mask] = np.nan
    yh = _t(y_hat).requires_grad_(True)
    out = call(yh, _t(y_nan), None)
    assert abs(out.item() - base.item()) < 1e-12
    out.backward()
    assert torch.isfinite(yh.grad).all()
    assert (yh.grad[torch.as_tensor(~mask)] == 0).all()
    # the masked mean equals the loss of the kept entries only
    unmasked_changed = call(_t(yh2), _t(y2), None)
    assert abs(unmasked_changed.item() - base.item()) > 1e-6


def test_profile_mask_and_nan_profiles(rng):
    counts = rng.integers(0, 5, size=(4, 2, 6)).astype(float)
    logits = rng.normal(size=(4, 2, 6))
    loss = get_loss("multinomial")
    keep = np.ones((4, 2), bool)
    keep[1, 0] = False
    full = -multinomial_log_prob(_t(counts), _t(logits)).numpy()
    expected = full[keep].mean()
    assert abs(loss(_t(logits), _t(counts), torch.as_tensor(keep)).item() - expected) < TOL
    nan_counts = counts.copy()
    nan_counts[1, 0, 3] = np.nan
    assert abs(loss(_t(logits), _t(nan_counts)).item() - expected) < TOL


def test_masked_mean_all_masked_is_zero_and_differentiable():
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    out = masked_mean(v, torch.tensor([False, False]))
    assert out.item() == 0.0
    out.backward()
    assert v.grad.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------------------- registry
def test_registry_names_and_errors():
    assert set(LOSSES) == {"bce", "mse", "poisson", "multinomial", "bpnet", "nb", "zinb"}
    with pytest.raises(ValueError, match="'bce'.*'zinb'"):
        get_loss("cross_entropy")
    with pytest.raises(ValueError, match="pos_weight"):
        get_loss("bce", pos_wieght=2.0)
    with pytest.raises(ValueError, match=">= 0"):
        get_loss("bce", pos_weight=[-1.0])
    with pytest.raises(ValueError, match="count_weight"):
        get_loss("bpnet", count_weight=-1)
