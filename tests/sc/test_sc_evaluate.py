"""Evaluation helpers (genodeep.sc.evaluate): masking, baselines, scores, ARI, two-sample test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from genodeep.sc.evaluate import (
    cluster_ari,
    denoising_scores,
    fit_nb_dispersion,
    mask_entries,
    mean_baseline,
    nb_loglik,
    pca_reconstruction,
    two_sample_test,
)


def test_mask_entries_hides_a_fraction_of_nonzeros(rng):
    X = rng.poisson(0.7, size=(50, 40)).astype(float)
    Xm, mask = mask_entries(X, fraction=0.1, random_state=0)
    nz = int((X > 0).sum())
    assert mask.sum() == round(0.1 * nz)
    assert (X[mask] > 0).all() and (Xm[mask] == 0).all()
    np.testing.assert_array_equal(Xm[~mask], X[~mask])
    assert X[mask].sum() > 0 and X.sum() - Xm.sum() == X[mask].sum()
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\)"):
        mask_entries(X, fraction=1.5)


def test_mean_baseline_known_answer():
    X = np.array([[1.0, 3.0], [2.0, 6.0], [4.0, 4.0]])  # totals 4, 8, 8 -> sf 0.5, 1, 1
    mu = mean_baseline(X)
    gene_mean = np.array([(2 + 2 + 4) / 3, (6 + 6 + 4) / 3])
    np.testing.assert_allclose(mu, np.outer([0.5, 1, 1], gene_mean))


def test_pca_reconstruction_matches_svd_reference(rng):
    X = rng.poisson(rng.gamma(1.0, 2.0, size=(40, 12))).astype(float) + 1
    mu, Z = pca_reconstruction(X, n_components=3, return_latent=True)
    tot = X.sum(1, keepdims=True)
    L = np.log1p(X / tot * np.median(tot))
    C = L - L.mean(0)
    U, S, Vt = np.linalg.svd(C, full_matrices=False)
    L3 = (U[:, :3] * S[:3]) @ Vt[:3] + L.mean(0)
    ref = np.clip(np.expm1(L3), 0, None) * (tot / np.median(tot))
    np.testing.assert_allclose(mu, ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.abs(Z), np.abs(U[:, :3] * S[:3]), rtol=1e-4, atol=1e-6)


def test_nb_loglik_matches_scipy_and_dispersion_fit_recovers_theta(rng):
    mu = rng.uniform(0.5, 10, size=(400, 3))
    theta_true = np.array([0.5, 5.0, 50.0])
    x = rng.negative_binomial(theta_true, theta_true / (theta_true + mu))
    ref = stats.nbinom.logpmf(x, theta_true, theta_true / (theta_true + mu))
    np.testing.assert_allclose(nb_loglik(x, mu, theta_true), ref, rtol=1e-10, atol=1e-10)
    theta = fit_nb_dispersion(x, mu)
    assert np.all(np.abs(np.log(theta / theta_true)) < [0.4, 0.5, 1.5])


def test_denoising_scores_perfect_and_worse(rng):
    mu = rng.uniform(1, 20, size=(100, 10))
    X = rng.poisson(mu).astype(float)
    mask = (X > 0) & (rng.random(X.shape) < 0.2)
    perfect = denoising_scores(X, X, mask, theta=np.full(10, 1e4))
    assert perfect["pearson"] == pytest.approx(1.0) and perfect["spearman"] == pytest.approx(1.0)
    good = denoising_scores(X, mu, mask)
    flat = denoising_scores(X, np.full_like(mu, mu.mean()) + rng.normal(0, 1e-3, mu.shape), mask)
    assert good["pearson"] > 0.8 > flat["pearson"]
    assert good["nb_loglik"] > flat["nb_loglik"]
    th = np.full(10, 7.0)
    assert denoising_scores(X, mu, mask, theta=th)["nb_loglik"] == pytest.approx(
        stats.nbinom.logpmf(X, 7.0, 7.0 / (7.0 + mu))[mask].mean()
    )


def test_cluster_ari_perfect_and_random(rng):
    labels = np.repeat([0, 1, 2], 40)
    Z = rng.normal(size=(120, 4)) * 0.1 + np.eye(4)[labels] * 5
    assert cluster_ari(Z, labels) == pytest.approx(1.0)
    assert abs(cluster_ari(rng.normal(size=(120, 4)), labels)) < 0.1
    with pytest.raises(ValueError, match="Z had shape"):
        cluster_ari(Z[:10], labels)


def test_two_sample_test_auc_and_mmd(rng):
    A = rng.normal(size=(150, 10))
    same = two_sample_test(A, rng.normal(size=(150, 10)), n_components=5, n_folds=3)
    shifted = two_sample_test(A, rng.normal(size=(150, 10)) + 1.0, n_components=5, n_folds=3)
    assert 0.35 < same["auc"] < 0.65 and shifted["auc"] > 0.9
    assert abs(same["mmd2"]) < 0.02 < shifted["mmd2"]
    with pytest.raises(ValueError, match="same number of genes"):
        two_sample_test(A, A[:, :5])
