"""A splatter-like simulator of single-cell count matrices whose true means are known.

Follows the steps of Splatter's ``splatSimulate`` (Zappia, Phipson & Oshlack 2017): gamma gene means
with expression outliers, log-normal library sizes, groups of cells with log-normal differential
expression factors, optional batches with gene-wise batch factors, biological coefficient of variation
(gamma-Poisson mixing with a common + Poisson-decreasing BCV), Poisson sampling and logistic dropout.
It is written from the published description; it is not a port of the R code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genodeep._validate import check_positive

__all__ = ["SimulatedCounts", "simulate_counts"]


@dataclass
class SimulatedCounts:
    """Result of :func:`simulate_counts`.

    Attributes
    ----------
    counts : np.ndarray int64, shape (n_cells, n_genes)
        Observed counts (after dropout).
    true_counts : np.ndarray int64, shape (n_cells, n_genes)
        Counts before dropout.
    true_means : np.ndarray float64, shape (n_cells, n_genes)
        The mean of each cell's Poisson draw (after BCV): the quantity a denoiser should recover.
    base_means : np.ndarray float64, shape (n_cells, n_genes)
        Means before the BCV gamma step (group, batch and library effects only).
    groups : np.ndarray int64, shape (n_cells,)
        Cell group (cell type) index.
    batches : np.ndarray int64, shape (n_cells,)
        Batch index.
    library_sizes : np.ndarray float64, shape (n_cells,)
    de_factors : np.ndarray float64, shape (n_groups, n_genes)
        Multiplicative differential-expression factor of each gene in each group (1 = not DE).
    batch_factors : np.ndarray float64, shape (n_batches, n_genes)
    params : dict
        The arguments used.
    """

    counts: np.ndarray
    true_counts: np.ndarray
    true_means: np.ndarray
    base_means: np.ndarray
    groups: np.ndarray
    batches: np.ndarray
    library_sizes: np.ndarray
    de_factors: np.ndarray
    batch_factors: np.ndarray
    params: dict = field(default_factory=dict)

    def to_anndata(self):
        """An AnnData with counts in ``X`` (float32), ``layers["true_means"]``/``["true_counts"]`` and
        ``obs["group"]``/``obs["batch"]`` (categorical strings)."""
        import anndata as ad
        import pandas as pd

        n_cells, n_genes = self.counts.shape
        obs = pd.DataFrame(
            {
                "group": pd.Categorical([f"group{g}" for g in self.groups]),
                "batch": pd.Categorical([f"batch{b}" for b in self.batches]),
                "library_size": self.library_sizes,
            },
            index=[f"cell{i}" for i in range(n_cells)],
        )
        var = pd.DataFrame(index=[f"gene{j}" for j in range(n_genes)])
        adata = ad.AnnData(self.counts.astype(np.float32), obs=obs, var=var)
        adata.layers["true_means"] = self.true_means.astype(np.float32)
        adata.layers["true_counts"] = self.true_counts.astype(np.float32)
        adata.uns["genodeep"] = {"simulate": {k: v for k, v in self.params.items()}}
        return adata


def simulate_counts(
    n_cells: int = 500,
    n_genes: int = 500,
    *,
    n_groups: int = 3,
    group_probs: list[float] | None = None,
    n_batches: int = 1,
    mean_shape: float = 0.6,
    mean_rate: float = 0.3,
    lib_loc: float = 7.0,
    lib_scale: float = 0.2,
    out_prob: float = 0.05,
    out_fac_loc: float = 4.0,
    out_fac_scale: float = 0.5,
    de_prob: float = 0.1,
    de_down_prob: float = 0.5,
    de_fac_loc: float = 0.1,
    de_fac_scale: float = 0.4,
    batch_fac_loc: float = 0.1,
    batch_fac_scale: float = 0.1,
    bcv_common: float = 0.1,
    bcv_df: float = 60.0,
    dropout: bool = True,
    dropout_mid: float = 0.0,
    dropout_shape: float = -1.0,
    random_state: int | np.random.Generator | None = None,
) -> SimulatedCounts:
    """Simulate a cells x genes count matrix with known true means (Splatter's model).

    Parameters
    ----------
    n_cells, n_genes : int
        Matrix size.
    n_groups : int, default 3
        Cell groups (cell types), each with its own differentially expressed genes.
    group_probs : list of float, optional
        Probability of each group (default equal).
    n_batches : int, default 1
        Batches; cells are assigned uniformly at random; each batch multiplies every gene by a
        log-normal factor ``LogNormal(batch_fac_loc, batch_fac_scale)`` (down with probability 0.5).
    mean_shape, mean_rate : float
        Gene base means ~ ``Gamma(shape, rate)``.
    lib_loc, lib_scale : float
        Library sizes ~ ``LogNormal(lib_loc, lib_scale)``; the default gives about 1,100 counts a cell.
    out_prob, out_fac_loc, out_fac_scale : float
        Fraction of high-expression outlier genes, whose mean becomes ``median * LogNormal(loc, scale)``.
    de_prob, de_down_prob, de_fac_loc, de_fac_scale : float
        Per group, each gene is DE with probability ``de_prob`` with factor ``LogNormal(loc, scale)``,
        inverted (down-regulated) with probability ``de_down_prob``.
    bcv_common, bcv_df : float
        Biological coefficient of variation ``(bcv_common + 1/sqrt(mean)) * sqrt(df / chi2(df))``
        (one chi-square draw per gene); cell means ~ ``Gamma(1/bcv^2, mean * bcv^2)``.
    dropout : bool, default True
        Apply logistic dropout: an entry is zeroed with probability
        ``1 / (1 + exp(-dropout_shape * (log(mean) - dropout_mid)))``.
    dropout_mid, dropout_shape : float
    random_state : int or np.random.Generator, optional

    Returns
    -------
    SimulatedCounts
        Counts, true counts and true means, groups, batches and the factors used.
    """
    for name, value in (
        ("n_cells", n_cells),
        ("n_genes", n_genes),
        ("n_groups", n_groups),
        ("n_batches", n_batches),
    ):
        check_positive(name, value)
    params = {k: v for k, v in locals().items() if k not in ("random_state",)}
    params["group_probs"] = "equal" if group_probs is None else list(group_probs)
    rng = np.random.default_rng(random_state)

    # gene base means with outliers
    gene_mean = rng.gamma(shape=mean_shape, scale=1.0 / mean_rate, size=n_genes)
    is_out = rng.random(n_genes) < out_prob
    out_fac = rng.lognormal(out_fac_loc, out_fac_scale, size=n_genes)
    gene_mean = np.where(is_out, np.median(gene_mean) * out_fac, gene_mean)

    # cells: library sizes, groups, batches
    lib = rng.lognormal(lib_loc, lib_scale, size=n_cells)
    if group_probs is None:
        probs = np.full(n_groups, 1.0 / n_groups)
    else:
        probs = np.asarray(group_probs, dtype=float)
        if probs.shape != (n_groups,) or (probs < 0).any() or not np.isclose(probs.sum(), 1.0):
            raise ValueError(
                f"group_probs must be {n_groups} non-negative numbers summing to 1, got {group_probs!r}"
            )
    groups = rng.choice(n_groups, size=n_cells, p=probs)
    batches = rng.integers(0, n_batches, size=n_cells)

    de = np.ones((n_groups, n_genes))
    for g in range(n_groups):
        is_de = rng.random(n_genes) < de_prob
        fac = rng.lognormal(de_fac_loc, de_fac_scale, size=n_genes)
        down = rng.random(n_genes) < de_down_prob
        fac = np.where(down, 1.0 / fac, fac)
        de[g] = np.where(is_de, fac, 1.0)
    bf = np.ones((n_batches, n_genes))
    if n_batches > 1:
        for b in range(n_batches):
            fac = rng.lognormal(batch_fac_loc, batch_fac_scale, size=n_genes)
            down = rng.random(n_genes) < 0.5
            bf[b] = np.where(down, 1.0 / fac, fac)

    prop = gene_mean[None, :] * de[groups] * bf[batches]
    prop = prop / prop.sum(axis=1, keepdims=True)
    base = prop * lib[:, None]

    # biological coefficient of variation
    chi = rng.chisquare(bcv_df, size=n_genes)
    bcv = (bcv_common + 1.0 / np.sqrt(np.maximum(base, 1e-12))) * np.sqrt(bcv_df / chi)[None, :]
    shape = 1.0 / bcv**2
    true_means = rng.gamma(shape=shape, scale=base / shape)
    true_counts = rng.poisson(true_means)

    counts = true_counts
    if dropout:
        logm = np.log(np.maximum(true_means, 1e-300))
        p_drop = 1.0 / (1.0 + np.exp(-dropout_shape * (logm - dropout_mid)))
        keep = rng.random(true_counts.shape) >= p_drop
        counts = true_counts * keep
    return SimulatedCounts(
        counts=counts.astype(np.int64),
        true_counts=true_counts.astype(np.int64),
        true_means=true_means,
        base_means=base,
        groups=groups.astype(np.int64),
        batches=batches.astype(np.int64),
        library_sizes=lib,
        de_factors=de,
        batch_factors=bf,
        params=params,
    )
