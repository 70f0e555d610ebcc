"""Evaluation of unsupervised count models: masked denoising, latent clustering, sample quality.

- Denoising: :func:`mask_entries` hides a random fraction of the non-zero entries; a method sees the
  rest and predicts means for every entry; :func:`denoising_scores` compares the hidden true counts with
  the predictions (Pearson and Spearman correlation of ``log1p`` values, negative binomial
  log-likelihood). :func:`evaluate_denoising` runs the whole comparison for PCA reconstruction, the
  trivial "gene mean x size factor" baseline and the genodeep models.
- Embedding: :func:`cluster_ari`, the adjusted Rand index of k-means clusters in a latent space against
  known labels.
- Generated samples: :func:`two_sample_test`, a classifier two-sample test (cross-validated AUC; 0.5 =
  indistinguishable) plus the maximum mean discrepancy between generated and held-out real cells.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive, check_shape
from genodeep.nn.distributions import nb_log_prob
from genodeep.sc.preprocess import log_normalize, size_factors
from genodeep.sc.training import fit_count_model

__all__ = [
    "mask_entries",
    "mean_baseline",
    "pca_reconstruction",
    "fit_nb_dispersion",
    "nb_loglik",
    "denoising_scores",
    "evaluate_denoising",
    "cluster_ari",
    "two_sample_test",
    "DENOISING_METHODS",
]

DENOISING_METHODS = ("mean", "pca", "ae", "dae", "nb", "zinb")


# --------------------------------------------------------------------------------------- masking
def mask_entries(
    X: np.ndarray, *, fraction: float = 0.1, random_state: int | np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Hide a random fraction of the non-zero entries of a count matrix (set them to 0).

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Counts.
    fraction : float, default 0.1
        Fraction of the non-zero entries to hide (0 < fraction < 1).
    random_state : int or np.random.Generator, optional

    Returns
    -------
    X_masked : np.ndarray, shape (N, G)
        Copy of ``X`` with the hidden entries set to zero.
    mask : np.ndarray bool, shape (N, G)
        True at the hidden entries.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    X = np.asarray(X)
    rng = np.random.default_rng(random_state)
    rows, cols = np.nonzero(X)
    k = int(round(fraction * rows.size))
    pick = rng.choice(rows.size, size=k, replace=False)
    mask = np.zeros(X.shape, dtype=bool)
    mask[rows[pick], cols[pick]] = True
    X_masked = X.copy()
    X_masked[mask] = 0
    return X_masked, mask


# --------------------------------------------------------------------------------------- baselines
def mean_baseline(X: np.ndarray) -> np.ndarray:
    """The trivial denoiser: each gene's mean normalised expression times the cell's size factor.

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Counts.

    Returns
    -------
    mu : np.ndarray float64, shape (N, G)
        ``sf_i * mean_k(X_kj / sf_k)``.
    """
    sf = size_factors(X).astype(np.float64)
    gene_mean = (np.asarray(X, dtype=np.float64) / sf[:, None]).mean(axis=0)
    return sf[:, None] * gene_mean[None, :]


def pca_reconstruction(
    X: np.ndarray,
    *,
    n_components: int = 16,
    random_state: int | None = 0,
    return_latent: bool = False,
):
    """PCA denoiser: reconstruct ``log1p`` normalised counts from the top principal components.

    Counts are normalised to the median total, ``log1p``-transformed, projected on ``n_components``
    principal components and back, and mapped to counts with ``expm1`` (clipped at 0) times the size factor.

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Counts.
    n_components : int, default 16
    random_state : int, optional
    return_latent : bool, default False
        Also return the principal-component scores.

    Returns
    -------
    mu : np.ndarray float64, shape (N, G)
        Reconstructed counts.
    Z : np.ndarray, shape (N, n_components)
        Only with ``return_latent=True``.
    """
    from sklearn.decomposition import PCA

    X = np.asarray(X)
    sf = size_factors(X).astype(np.float64)
    L = log_normalize(X).astype(np.float64)
    k = int(min(n_components, min(L.shape) - 1))
    pca = PCA(n_components=k, random_state=random_state)
    Z = pca.fit_transform(L)
    L_hat = pca.inverse_transform(Z)
    mu = np.clip(np.expm1(L_hat), 0, None) * sf[:, None]
    return (mu, Z) if return_latent else mu


# --------------------------------------------------------------------------------------- likelihood
def nb_loglik(x: np.ndarray, mu: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Elementwise negative binomial log-probability (mean ``mu``, inverse dispersion ``theta``).

    Uses :func:`genodeep.nn.distributions.nb_log_prob` in float64.

    Parameters
    ----------
    x, mu : array-like, broadcastable
    theta : array-like, broadcastable (e.g. shape (G,))

    Returns
    -------
    logp : np.ndarray float64, the broadcast shape
    """
    t = [torch.as_tensor(np.array(a, dtype=np.float64)) for a in (x, mu, theta)]
    x_t, mu_t, th_t = torch.broadcast_tensors(*t)
    return nb_log_prob(x_t, mu_t.clamp_min(1e-10), th_t).numpy()


def fit_nb_dispersion(
    X: np.ndarray,
    mu: np.ndarray,
    *,
    exclude: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    max_cells: int = 2000,
    random_state: int | None = 0,
) -> np.ndarray:
    """Per-gene maximum-likelihood inverse dispersion given predicted means (grid search).

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Observed counts.
    mu : np.ndarray, shape (N, G)
        Predicted means.
    exclude : np.ndarray bool, shape (N, G), optional
        Entries left out of the fit (the hidden entries of a masking experiment).
    grid : np.ndarray, optional
        Candidate ``theta`` values (default 41 values log-spaced in [1e-2, 1e4]).
    max_cells : int, default 2000
        Cells subsampled for the fit.

    Returns
    -------
    theta : np.ndarray float64, shape (G,)
    """
    X = np.asarray(X, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    check_shape("mu", mu.shape, X.shape)
    grid = np.logspace(-2, 4, 41) if grid is None else np.asarray(grid, dtype=np.float64)
    rows = np.arange(X.shape[0])
    if rows.size > max_cells:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, max_cells, replace=False))
    Xs, Ms = X[rows], np.maximum(mu[rows], 1e-10)
    keep = np.ones_like(Xs, dtype=bool) if exclude is None else ~np.asarray(exclude)[rows]
    best = np.full(X.shape[1], -np.inf)
    theta = np.full(X.shape[1], grid[-1])
    for th in grid:
        ll = np.where(keep, nb_loglik(Xs, Ms, th), 0.0).sum(axis=0)
        better = ll > best
        best[better] = ll[better]
        theta[better] = th
    return theta


# --------------------------------------------------------------------------------------- scores
def denoising_scores(
    X_true: np.ndarray,
    mu: np.ndarray,
    mask: np.ndarray,
    *,
    theta: np.ndarray | None = None,
) -> dict[str, float]:
    """Recovery of hidden entries.

    Parameters
    ----------
    X_true : np.ndarray, shape (N, G)
        The complete counts (before masking).
    mu : np.ndarray, shape (N, G)
        Predicted means.
    mask : np.ndarray bool, shape (N, G)
        The hidden entries (scored).
    theta : np.ndarray, shape (G,), optional
        Inverse dispersion for the NB log-likelihood (default: fitted per gene on the visible
        entries with :func:`fit_nb_dispersion`).

    Returns
    -------
    scores : dict
        ``pearson`` and ``spearman`` of ``log1p(true)`` vs ``log1p(mu)`` over the hidden entries,
        ``nb_loglik`` the mean NB log-likelihood of the hidden true counts.
    """
    from scipy.stats import pearsonr, spearmanr

    X_true = np.asarray(X_true, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    check_shape("mu", mu.shape, X_true.shape)
    check_shape("mask", np.shape(mask), X_true.shape)
    if theta is None:
        X_vis = np.where(mask, 0.0, X_true)
        theta = fit_nb_dispersion(X_vis, mu, exclude=mask)
    t = np.log1p(X_true[mask])
    p = np.log1p(mu[mask])
    ll = nb_loglik(X_true, mu, np.asarray(theta, dtype=np.float64))[mask]
    return {
        "pearson": float(pearsonr(t, p)[0]),
        "spearman": float(spearmanr(t, p)[0]),
        "nb_loglik": float(ll.mean()),
    }


def evaluate_denoising(
    X: np.ndarray,
    *,
    methods: Sequence[str] = DENOISING_METHODS,
    fraction: float = 0.1,
    true_means: np.ndarray | None = None,
    labels: Sequence | None = None,
    n_components: int = 16,
    model_kwargs: dict[str, dict[str, Any]] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    device=None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Compare denoisers on a masking experiment (and, optionally, against known true means).

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Complete counts.
    methods : sequence of str
        Any of ``"mean"`` (gene mean x size factor), ``"pca"`` (PCA reconstruction) and the
        :func:`genodeep.sc.denoise` models ``"ae"``, ``"dae"``, ``"nb"``, ``"zinb"``.
    fraction : float, default 0.1
        Fraction of non-zero entries hidden.
    true_means : np.ndarray, shape (N, G), optional
        Known true means (simulated data): adds Pearson/Spearman of ``log1p`` true means vs
        predictions over all entries (``true_pearson``, ``true_spearman``).
    labels : sequence, shape (N,), optional
        Cell labels: adds the adjusted Rand index of k-means clusters in each method's latent space.
    n_components : int, default 16
        PCA components (and the models' latent width unless ``model_kwargs`` says otherwise).
    model_kwargs : dict, optional
        Per-method keyword arguments for the model constructors.
    max_epochs, batch_size, lr : optional
        Training settings for the neural models (default: each model's, see
        :func:`genodeep.sc.training.fit_count_model`).
    device, random_state, verbose
        As for :func:`genodeep.sc.fit_count_model`; ``random_state`` also chooses the hidden entries.

    Returns
    -------
    table : pandas.DataFrame
        One row per method, columns ``pearson, spearman, nb_loglik`` (+ ``true_pearson,
        true_spearman``, ``ari``, and ``seconds`` of training/fitting).
    """
    import pandas as pd
    from scipy.stats import pearsonr, spearmanr

    X = np.asarray(X, dtype=np.float64)
    for m in methods:
        check_choice("methods", m, DENOISING_METHODS)
    X_vis, mask = mask_entries(X, fraction=fraction, random_state=random_state)
    model_kwargs = model_kwargs or {}
    rows = {}
    for m in methods:
        Z = None
        t0 = time.perf_counter()
        if m == "mean":
            mu = mean_baseline(X_vis)
        elif m == "pca":
            mu, Z = pca_reconstruction(
                X_vis, n_components=n_components, random_state=random_state, return_latent=True
            )
        else:
            kw = {"n_latent": n_components, **model_kwargs.get(m, {})}
            res = fit_count_model(
                X_vis,
                model=m,
                model_kwargs=kw,
                max_epochs=max_epochs,
                batch_size=batch_size,
                lr=lr,
                device=device,
                random_state=random_state,
                verbose=False,
            )
            mu, Z = res.mean, res.latent
        seconds = time.perf_counter() - t0
        row = denoising_scores(X, mu, mask)
        if true_means is not None:
            tm = np.log1p(np.asarray(true_means, dtype=np.float64)).ravel()
            pm = np.log1p(mu).ravel()
            row["true_pearson"] = float(pearsonr(tm, pm)[0])
            row["true_spearman"] = float(spearmanr(tm, pm)[0])
        if labels is not None and Z is not None:
            row["ari"] = cluster_ari(Z, labels, random_state=random_state)
        row["seconds"] = seconds
        rows[m] = row
        if verbose:
            log(f"evaluate_denoising: {m}: " + ", ".join(f"{k}={v:.4f}" for k, v in row.items()))
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------------------- embedding
def cluster_ari(
    Z: np.ndarray,
    labels: Sequence,
    *,
    n_clusters: int | None = None,
    n_init: int = 10,
    random_state: int | None = 0,
) -> float:
    """Adjusted Rand index of k-means clusters of a latent space against known labels.

    Parameters
    ----------
    Z : np.ndarray, shape (N, d)
        Latent coordinates (standardised per dimension before clustering).
    labels : sequence, shape (N,)
        Known cell labels.
    n_clusters : int, optional
        Default: the number of distinct labels.

    Returns
    -------
    ari : float
        In [-1, 1]; 1 = clusters equal the labels, about 0 = chance.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    Z = np.asarray(Z, dtype=np.float64)
    labels = np.asarray(labels)
    if Z.ndim != 2 or Z.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Z had shape {Z.shape} while it should have had ({labels.shape[0]}, d) to match labels"
        )
    k = int(n_clusters or np.unique(labels).size)
    check_positive("n_clusters", k)
    sd = Z.std(axis=0)
    Zs = (Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    pred = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit_predict(Zs)
    return float(adjusted_rand_score(labels, pred))


# --------------------------------------------------------------------------------------- samples
def two_sample_test(
    real: np.ndarray,
    generated: np.ndarray,
    *,
    n_components: int = 20,
    classifier: str = "forest",
    n_folds: int = 5,
    random_state: int | None = 0,
) -> dict[str, float]:
    """How distinguishable are generated profiles from real (held-out) ones?

    Both sets are projected on the top principal components of their union. A classifier is trained
    to tell them apart (stratified ``n_folds`` cross-validation); its AUC is 0.5 when the two samples
    cannot be told apart and 1.0 when they always can (Lopez-Paz & Oquab 2017). The unbiased squared
    maximum mean discrepancy with a Gaussian kernel (median-distance bandwidth) is reported too.

    Parameters
    ----------
    real : np.ndarray, shape (N, G)
        Real profiles (e.g. ``log1p``-normalised held-out cells).
    generated : np.ndarray, shape (M, G)
        Generated profiles on the same scale.
    n_components : int, default 20
    classifier : {"forest", "logistic", "knn"}, default "forest"
    n_folds : int, default 5

    Returns
    -------
    dict
        ``auc`` (cross-validated classifier AUC), ``mmd2`` (squared MMD), ``n_real``, ``n_generated``.
    """
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    check_choice("classifier", classifier, ("forest", "logistic", "knn"))
    real = np.asarray(real, dtype=np.float64)
    generated = np.asarray(generated, dtype=np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(
            f"real {real.shape} and generated {generated.shape} must be 2-D with the same number of genes"
        )
    k = int(min(n_components, min(real.shape) - 1))
    # PCA fitted on both sets: fitted on one only, its in-sample scores alone would tell them apart
    pca = PCA(n_components=k, random_state=random_state).fit(np.vstack([real, generated]))
    A, B = pca.transform(real), pca.transform(generated)
    Z = np.vstack([A, B])
    y = np.r_[np.zeros(len(A)), np.ones(len(B))]
    clf = {
        "forest": lambda: RandomForestClassifier(
            n_estimators=200, min_samples_leaf=2, random_state=random_state, n_jobs=1
        ),
        "logistic": lambda: LogisticRegression(max_iter=2000),
        "knn": lambda: KNeighborsClassifier(n_neighbors=10),
    }[classifier]()
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    prob = cross_val_predict(clf, Z, y, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, prob))
    return {"auc": auc, "mmd2": _mmd2(A, B), "n_real": int(len(A)), "n_generated": int(len(B))}


def _mmd2(A: np.ndarray, B: np.ndarray) -> float:
    """Unbiased squared MMD with a Gaussian kernel, bandwidth = median pairwise distance."""
    from scipy.spatial.distance import cdist

    Z = np.vstack([A, B])
    D = cdist(Z, Z, "sqeuclidean")
    med = np.median(D[np.triu_indices_from(D, k=1)])
    K = np.exp(-D / max(med, 1e-12))
    n, m = len(A), len(B)
    Kaa, Kbb, Kab = K[:n, :n], K[n:, n:], K[:n, n:]
    return float(
        (Kaa.sum() - np.trace(Kaa)) / (n * (n - 1))
        + (Kbb.sum() - np.trace(Kbb)) / (m * (m - 1))
        - 2 * Kab.mean()
    )
