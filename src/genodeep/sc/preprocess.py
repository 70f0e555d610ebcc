"""Count-matrix preprocessing: checks, size factors, normalisation, highly-variable genes.

Pure functions over ``numpy`` arrays or ``scipy.sparse`` matrices of shape ``(n_cells, n_genes)``;
no scanpy dependency.
"""

from __future__ import annotations

import os

import numpy as np

from genodeep._validate import InputFileError, check_positive

__all__ = [
    "check_counts",
    "get_counts",
    "size_factors",
    "normalize_total",
    "log_normalize",
    "highly_variable_genes",
]


def _data_values(X) -> np.ndarray:
    """The stored values of a dense or sparse matrix (for checks)."""
    import scipy.sparse as sp

    if sp.issparse(X):
        return np.asarray(X.data)
    return np.asarray(X)


def check_counts(
    X,
    *,
    path: str | os.PathLike | None = None,
    what: str = "X",
    tol: float = 1e-6,
) -> None:
    """Raise a clear error unless ``X`` holds raw counts (finite, non-negative integers).

    Parameters
    ----------
    X : np.ndarray or scipy.sparse matrix, shape (n_cells, n_genes)
        The matrix to check.
    path : str or path-like, optional
        The file it came from, named in the error.
    what : str, default "X"
        Where in the file it came from (``"X"``, ``"layers['counts']"``), named in the error.
    tol : float, default 1e-6
        Largest distance from an integer still accepted (float storage).

    Raises
    ------
    InputFileError
        (a ``ValueError``) naming the file, what is wrong (negative, non-integer or non-finite values,
        with an example) and the fix: use the raw counts layer.
    """
    v = _data_values(X)
    fix = (
        "a count likelihood (NB/ZINB) needs raw counts: pass the raw counts layer "
        "(layer='counts', or layer='raw' for adata.raw), not normalised or log-transformed values; "
        "or choose model='ae'/'dae', which accept any matrix"
    )
    if v.size == 0:
        raise InputFileError(
            f"{what} is empty (shape {tuple(np.shape(X))})",
            path=path,
            fix="give a non-empty matrix",
        )
    if not np.issubdtype(v.dtype, np.number):
        raise InputFileError(f"{what} has dtype {v.dtype}, expected numbers", path=path, fix=fix)
    finite = np.isfinite(v)
    if not finite.all():
        bad = v[~finite][0]
        raise InputFileError(f"{what} holds non-finite values (e.g. {bad})", path=path, fix=fix)
    if (v < 0).any():
        raise InputFileError(
            f"{what} holds negative values (minimum {v.min():.4g}), so it is not a count matrix",
            path=path,
            fix=fix,
        )
    if np.issubdtype(v.dtype, np.floating):
        frac = np.abs(v - np.round(v))
        if (frac > tol).any():
            bad = v[frac > tol][0]
            raise InputFileError(
                f"{what} holds non-integer values (e.g. {bad:.6g}), so it is not a count matrix",
                path=path,
                fix=fix,
            )


def get_counts(
    adata, *, layer: str | None = None, check: bool = True, dtype=np.float32
) -> np.ndarray:
    """Dense counts of an AnnData object.

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Source object.
    layer : str, optional
        ``adata.layers[layer]`` instead of ``X``; ``"raw"`` means ``adata.raw.X``.
    check : bool, default True
        Run :func:`check_counts` (negative or non-integer values raise).
    dtype : numpy dtype, default float32

    Returns
    -------
    X : np.ndarray, shape (n_cells, n_genes)
    """
    X, what = _matrix(adata, layer)
    if check:
        check_counts(X, path=_adata_path(adata), what=what)
    return _dense(X, dtype)


def get_matrix(adata, *, layer: str | None = None, dtype=np.float32) -> np.ndarray:
    """Dense ``X`` (or ``layers[layer]``) of ``adata`` without the count check."""
    X, _ = _matrix(adata, layer)
    return _dense(X, dtype)


def _dense(X, dtype) -> np.ndarray:
    import scipy.sparse as sp

    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(np.asarray(X), dtype=dtype)


def _adata_path(adata) -> str | None:
    f = getattr(adata, "filename", None)
    if f is not None:
        return os.fspath(f)
    try:
        return adata.uns.get("genodeep", {}).get("source")
    except AttributeError:
        return None


def _matrix(adata, layer: str | None):
    if layer is None:
        return adata.X, "X"
    if layer == "raw":
        if adata.raw is None:
            raise ValueError(
                f"layer='raw' but this AnnData has no .raw; choose one of the layers {sorted(adata.layers)} or layer=None for X"
            )
        return adata.raw.X, "raw.X"
    if layer not in adata.layers:
        raise ValueError(
            f"layer={layer!r} not found; AnnData has layers {sorted(adata.layers)}; pass one of them, 'raw' or None (X)"
        )
    return adata.layers[layer], f"layers[{layer!r}]"


def size_factors(X) -> np.ndarray:
    """Library-size factors: each cell's total count divided by the median total.

    Parameters
    ----------
    X : np.ndarray or scipy.sparse matrix, shape (n_cells, n_genes)
        Counts.

    Returns
    -------
    sf : np.ndarray float32, shape (n_cells,)
        ``total_i / median(total)``; the median cell has 1.

    Raises
    ------
    ValueError
        When a cell has zero total count (it cannot be normalised): filter such cells first.
    """
    total = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    empty = np.flatnonzero(total <= 0)
    if empty.size:
        raise ValueError(
            f"{empty.size} cells have zero total counts (first at row {int(empty[0])}); "
            "remove empty cells before normalising, e.g. adata = adata[adata.X.sum(1) > 0]"
        )
    return (total / np.median(total)).astype(np.float32)


def normalize_total(X, *, target_sum: float | None = None) -> np.ndarray:
    """Scale each cell to the same total count.

    Parameters
    ----------
    X : np.ndarray or scipy.sparse matrix, shape (n_cells, n_genes)
        Counts.
    target_sum : float, optional
        Total per cell after scaling; default the median of the cells' totals.

    Returns
    -------
    X_norm : np.ndarray float32, shape (n_cells, n_genes)
        ``X_ij / total_i * target_sum``.
    """
    import scipy.sparse as sp

    total = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    if target_sum is None:
        target_sum = float(np.median(total))
    check_positive("target_sum", target_sum)
    scale = np.divide(target_sum, total, out=np.zeros_like(total), where=total > 0)
    if sp.issparse(X):
        return np.asarray(sp.diags(scale) @ X.toarray(), dtype=np.float32)
    return (np.asarray(X, dtype=np.float64) * scale[:, None]).astype(np.float32)


def log_normalize(X, *, target_sum: float | None = None) -> np.ndarray:
    """``log1p`` of library-size-normalised counts (the usual scRNA-seq transform).

    Parameters
    ----------
    X : np.ndarray or scipy.sparse matrix, shape (n_cells, n_genes)
    target_sum : float, optional
        See :func:`normalize_total` (default: median total count).

    Returns
    -------
    X_log : np.ndarray float32, shape (n_cells, n_genes)
    """
    return np.log1p(normalize_total(X, target_sum=target_sum))


def highly_variable_genes(X, *, n_top_genes: int = 2000, n_bins: int = 20) -> np.ndarray:
    """Dispersion-based highly-variable genes (Seurat v1 style, as in scanpy's ``flavor="seurat"``).

    Counts are library-size normalised; for each gene the dispersion ``var/mean`` and its log are
    computed; genes are binned by log mean expression into ``n_bins`` equal-width bins and dispersions
    z-scored within each bin; the ``n_top_genes`` genes with the highest normalised dispersion are kept.

    Parameters
    ----------
    X : np.ndarray or scipy.sparse matrix, shape (n_cells, n_genes)
        Counts.
    n_top_genes : int, default 2000
        Genes to keep (all genes when the matrix has fewer).
    n_bins : int, default 20
        Number of mean-expression bins.

    Returns
    -------
    mask : np.ndarray bool, shape (n_genes,)
        True for the selected genes.
    """
    check_positive("n_top_genes", n_top_genes)
    check_positive("n_bins", n_bins)
    Xn = normalize_total(X).astype(np.float64)
    n_genes = Xn.shape[1]
    if n_top_genes >= n_genes:
        return np.ones(n_genes, dtype=bool)
    mean = Xn.mean(axis=0)
    var = Xn.var(axis=0, ddof=1)
    expressed = mean > 0
    disp = np.full(n_genes, -np.inf)
    disp[expressed] = np.log(np.maximum(var[expressed], 1e-12) / mean[expressed])
    log_mean = np.log1p(mean)
    edges = np.linspace(log_mean[expressed].min(), log_mean[expressed].max() + 1e-9, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, log_mean, side="right") - 1, 0, n_bins - 1)
    norm = np.full(n_genes, -np.inf)
    for b in np.unique(bins[expressed]):
        sel = expressed & (bins == b)
        d = disp[sel]
        sd = d.std(ddof=1) if d.size > 1 else 0.0
        # a gene alone in its bin: scanpy sets its normalised dispersion to 1
        norm[sel] = (d - d.mean()) / sd if sd > 0 else 1.0
    order = np.argsort(-norm, kind="stable")
    mask = np.zeros(n_genes, dtype=bool)
    mask[order[:n_top_genes]] = True
    return mask
