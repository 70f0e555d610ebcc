"""Autoencoders for counts (genodeep.sc.models): PCA subspace, likelihoods vs scipy, masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.linalg import subspace_angles

from genodeep.sc.models import (
    Autoencoder,
    CountAutoencoder,
    CountDataset,
    DenoisingAutoencoder,
    LinearAutoencoder,
    corrupt,
    make_mlp,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread avoids oversubscription on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _adam(model, batch, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model.loss(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_linear_autoencoder_recovers_pca_subspace(rng):
    n, g, k = 200, 12, 3
    basis = np.linalg.qr(rng.normal(size=(g, k)))[0]
    X = rng.normal(size=(n, k)) * [5.0, 3.0, 2.0] @ basis.T + 0.3 * rng.normal(size=(n, g)) + 4.0
    X = X.astype(np.float32)
    from sklearn.decomposition import PCA

    pcs = PCA(n_components=k).fit(X).components_.T  # (g, k)
    model = LinearAutoencoder(g, k)
    with torch.no_grad():
        model.bias.copy_(torch.from_numpy(X.mean(0)))
    _adam(model, (torch.from_numpy(X),), steps=300, lr=3e-2)
    W = model.decoder.weight.detach().numpy()  # (g, k)
    angles = np.degrees(subspace_angles(W, pcs))
    assert angles.max() < 1.0, angles
    # a random subspace is far away (the test can fail)
    assert np.degrees(subspace_angles(rng.normal(size=(g, k)), pcs)).max() > 20


def _scipy_zinb(x, mu, theta, logits):
    pi = 1 / (1 + np.exp(-logits))
    nb = stats.nbinom.pmf(x, theta, theta / (theta + mu))
    return np.log(pi * (x == 0) + (1 - pi) * nb)


@pytest.mark.parametrize("likelihood", ["zinb", "nb"])
def test_count_autoencoder_log_prob_matches_scipy_mixture(likelihood, rng):
    model = CountAutoencoder(7, 3, hidden=[5], likelihood=likelihood).double().eval()
    x = torch.from_numpy(rng.poisson(3.0, size=(11, 7)).astype(np.float64))
    sf = torch.from_numpy(rng.uniform(0.5, 2, size=11))
    params = model(x, sf)
    assert params["theta"].shape == (7,)  # per-gene dispersion, broadcast inside log_prob
    ours = model.log_prob(x, params).detach().numpy()
    mu = params["mu"].detach().numpy()
    theta = np.broadcast_to(params["theta"].detach().numpy(), mu.shape)
    if likelihood == "zinb":
        ref = _scipy_zinb(x.numpy(), mu, theta, params["pi_logits"].detach().numpy())
    else:
        ref = stats.nbinom.logpmf(x.numpy(), theta, theta / (theta + mu))
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    # eval-mode loss = mean NLL (no masking outside training)
    assert abs(model.loss((x, sf))["loss"].item() + ref.mean()) < 1e-6


def test_count_autoencoder_mean_scales_with_size_factor(rng):
    model = CountAutoencoder(6, 2, hidden=[4], dispersion="cell-gene").eval()
    x = torch.from_numpy(rng.poisson(2.0, size=(5, 6)).astype(np.float32))
    sf = torch.ones(5)
    z = model.encode(x, sf)
    a = model.decode(z, sf)["mu"]
    b = model.decode(z, 3 * sf)["mu"]
    torch.testing.assert_close(b, 3 * a)
    assert model(x, sf)["theta"].shape == (5, 6)


def test_masked_training_only_in_train_mode_and_weights_masked_entries(rng):
    torch.manual_seed(0)
    x = torch.from_numpy(rng.poisson(3.0, size=(64, 10)).astype(np.float32))
    batch = (x, torch.ones(64))
    model = CountAutoencoder(10, 3, hidden=[8], mask_rate=0.3, masked_weight=5.0, dropout=0.0)
    model.eval()
    assert model.loss(batch)["loss"].item() == model.loss(batch)["loss"].item()  # deterministic
    model.train()
    torch.manual_seed(1)
    a = model.loss(batch)["loss"].item()
    torch.manual_seed(2)
    b = model.loss(batch)["loss"].item()
    assert a != b  # a fresh mask each step
    xc, m = corrupt(x, 0.3)
    assert torch.all(xc[m] == 0) and torch.equal(xc[~m], x[~m])
    assert abs(m.float().mean().item() - 0.3) < 0.05


def test_denoising_autoencoder_defaults_and_prediction_scale(rng):
    dae = DenoisingAutoencoder(8, 2, hidden=[6])
    assert dae.noise == 0.2 and dae.config["noise"] == 0.2
    ae = Autoencoder(8, 2, hidden=[6]).eval()
    x = torch.from_numpy(rng.poisson(3.0, size=(4, 8)).astype(np.float32))
    sf = torch.full((4,), 2.0)
    pred = ae.predict_mean(x, sf)
    expected = torch.expm1(ae(torch.log1p(x / 2.0))).clamp_min(0) * 2.0
    torch.testing.assert_close(pred, expected)


@pytest.mark.parametrize(
    "cls,kw",
    [
        (LinearAutoencoder, {"input_transform": "log1p"}),
        (Autoencoder, {"hidden": (7, 5)}),
        (DenoisingAutoencoder, {"noise": 0.3}),
        (CountAutoencoder, {"likelihood": "nb", "n_batch": 2}),
    ],
)
def test_config_rebuilds_the_architecture(cls, kw):
    m = cls(9, 3, **kw)
    m2 = type(m)(**m.config)
    assert [p.shape for p in m.parameters()] == [p.shape for p in m2.parameters()]
    import json

    json.dumps(m.config)


def test_count_dataset_and_batch_covariate(rng):
    X = rng.poisson(2.0, size=(6, 4)).astype(np.float32)
    X[2] = 0
    ds = CountDataset(X, batch=[0, 1, 1, 0, 1, 0])
    tot = X.sum(1)
    med = np.median(tot[tot > 0])
    expected = np.where(tot > 0, tot / med, 1.0)
    np.testing.assert_allclose(ds.sf.numpy(), expected, rtol=1e-6)
    x, sf, b = ds[torch.tensor([0, 1])]
    assert x.shape == (2, 4) and b.tolist() == [[1, 0], [0, 1]]
    assert ds.packed().shape == (6, 4 + 1 + 2)
    model = CountAutoencoder(4, 2, hidden=[3], n_batch=2)
    with pytest.raises(ValueError, match="n_batch=2 but the data has no batch"):
        model.loss((ds.X, ds.sf))
    assert torch.isfinite(model.loss(ds[:])["loss"])
    with pytest.raises(ValueError, match=r"batch codes must lie in 0..1"):
        CountDataset(X, batch=[0, 1, 2, 0, 1, 0], n_batch=2)


def test_argument_errors():
    with pytest.raises(ValueError, match="likelihood='poisson' is not valid"):
        CountAutoencoder(5, likelihood="poisson")
    with pytest.raises(ValueError, match="mask_rate must be < 1"):
        CountAutoencoder(5, mask_rate=1.0)
    with pytest.raises(ValueError, match="activation='swish' is not valid"):
        make_mlp([3, 4], activation="swish")
