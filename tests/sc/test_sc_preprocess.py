"""Count checks, size factors, normalisation and highly-variable genes (genodeep.sc.preprocess)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genodeep._validate import InputFileError
from genodeep.sc.preprocess import (
    check_counts,
    get_counts,
    highly_variable_genes,
    log_normalize,
    normalize_total,
    size_factors,
)


def test_check_counts_accepts_integers_dense_and_sparse(rng):
    X = rng.poisson(2.0, size=(20, 5)).astype(np.float32)
    check_counts(X)
    check_counts(sp.csr_matrix(X))
    check_counts(X.astype(np.int64))


def test_check_counts_errors_name_file_and_fix():
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    with pytest.raises(
        InputFileError,
        match=r"pbmc.h5ad: X holds negative values \(minimum -1\).*Fix:.*raw counts layer",
    ):
        check_counts(X, path="pbmc.h5ad")
    logged = np.log1p(np.array([[1.0, 2.0], [3.0, 0.0]]))
    with pytest.raises(
        InputFileError,
        match=r"layers\['norm'\] holds non-integer values \(e.g. 0.693147\).*layer='counts'",
    ):
        check_counts(sp.csr_matrix(logged), what="layers['norm']")
    with pytest.raises(InputFileError, match="non-finite"):
        check_counts(np.array([[np.nan, 1.0]]))
    assert issubclass(InputFileError, ValueError)


def test_get_counts_from_layers_and_errors(rng):
    ad = pytest.importorskip("anndata")
    X = rng.poisson(2.0, size=(10, 4)).astype(np.float32)
    a = ad.AnnData(np.log1p(X), layers={"counts": sp.csr_matrix(X)})
    np.testing.assert_array_equal(get_counts(a, layer="counts"), X)
    with pytest.raises(InputFileError, match="non-integer"):
        get_counts(a)
    with pytest.raises(ValueError, match=r"layer='cnt' not found; AnnData has layers \['counts'\]"):
        get_counts(a, layer="cnt")


def test_size_factors_and_normalisation_known_answer():
    X = np.array([[1.0, 3.0], [2.0, 2.0], [10.0, 10.0]])  # totals 4, 4, 20 -> median 4
    np.testing.assert_allclose(size_factors(X), [1.0, 1.0, 5.0])
    np.testing.assert_allclose(normalize_total(X), [[1, 3], [2, 2], [2, 2]], rtol=1e-6)
    np.testing.assert_allclose(
        normalize_total(X, target_sum=1.0), [[0.25, 0.75], [0.5, 0.5], [0.5, 0.5]], rtol=1e-6
    )
    np.testing.assert_allclose(
        log_normalize(sp.csr_matrix(X)), np.log1p([[1, 3], [2, 2], [2, 2]]), rtol=1e-6
    )
    with pytest.raises(ValueError, match="1 cells have zero total counts \\(first at row 1\\)"):
        size_factors(np.array([[1.0, 1.0], [0.0, 0.0]]))


def _naive_hvg(X, n_top, n_bins):
    """Seurat-v1 dispersion ranking, written gene by gene (reference)."""
    tot = X.sum(1, keepdims=True)
    Xn = X / tot * np.median(tot)
    G = X.shape[1]
    mean = Xn.mean(0)
    disp = np.array([np.log(Xn[:, j].var(ddof=1) / mean[j]) for j in range(G)])
    lm = np.log1p(mean)
    edges = np.linspace(lm.min(), lm.max() + 1e-9, n_bins + 1)
    b = np.clip(np.searchsorted(edges, lm, side="right") - 1, 0, n_bins - 1)
    z = np.empty(G)
    for j in range(G):
        d = disp[b == b[j]]
        z[j] = (disp[j] - d.mean()) / d.std(ddof=1) if d.size > 1 and d.std(ddof=1) > 0 else 1.0
    return set(np.argsort(-z, kind="stable")[:n_top])


def test_highly_variable_genes_finds_overdispersed_genes(rng):
    n, g = 400, 200
    mu = rng.uniform(1, 5, size=g)
    X = rng.poisson(mu, size=(n, g)).astype(float)
    hv = [3, 17, 29, 41, 155]
    for j in hv:  # same mean, gamma-Poisson with strong overdispersion
        X[:, j] = rng.poisson(rng.gamma(0.3, mu[j] / 0.3, size=n))
    mask = highly_variable_genes(X, n_top_genes=5, n_bins=3)
    assert mask.sum() == 5
    assert set(np.flatnonzero(mask)) == set(hv)
    assert set(np.flatnonzero(highly_variable_genes(X, n_top_genes=12, n_bins=4))) == _naive_hvg(
        X, 12, 4
    )
    assert highly_variable_genes(X, n_top_genes=1000).all()
