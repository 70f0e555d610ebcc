"""Plots of single-cell results: latent spaces, real vs generated cells, training curves.

- :func:`plot_latent`: a UMAP (or PCA / t-SNE) of a latent space coloured by an ``obs`` column.
- :func:`plot_generated`: real and generated cells in one joint 2-D projection.
- :func:`plot_history`: the per-epoch training curves of an unsupervised model.

matplotlib (and umap-learn for UMAP) are imported when a plot is drawn.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_path
from genodeep._validate import check_choice, near_matches, require
from genodeep.sc.preprocess import get_counts, log_normalize

__all__ = ["plot_latent", "plot_generated", "plot_history"]


def plot_latent(
    adata,
    path: str | os.PathLike,
    *,
    key: str = "X_genodeep",
    color: str | None = None,
    method: Literal["umap", "pca", "tsne"] = "umap",
    title: str | None = None,
    random_state: int = 0,
) -> Path:
    """Scatter plot of a latent space in 2-D, coloured by an ``obs`` column.

    Parameters
    ----------
    adata : anndata.AnnData
        With the latent coordinates in ``obsm[key]``.
    path : path
        PNG to write (atomically).
    key : str, default "X_genodeep"
        ``obsm`` entry to draw (``"X_latent"`` after :func:`denoise`).
    color : str, optional
        ``obs`` column: categories get a legend, numbers a colour bar.
    method : {"umap", "pca", "tsne"}, default "umap"
        2-D projection (UMAP needs ``umap-learn``). The coordinates are stored in
        ``obsm[key + "_" + method]``.
    title : str, optional
    random_state : int, default 0

    Returns
    -------
    path : Path
    """
    check_choice("method", method, ("umap", "pca", "tsne"))
    if key not in adata.obsm:
        raise ValueError(
            f"key={key!r} is not in obsm (it has {list(adata.obsm)}); run embed or denoise first"
        )
    if color is not None and color not in adata.obs:
        close = near_matches(color, list(adata.obs.columns))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"color={color!r} is not an obs column{hint}; obs has {list(adata.obs.columns)}"
        )
    Z = np.asarray(adata.obsm[key], dtype=np.float32)
    Y = _project_2d(Z, method, random_state)
    adata.obsm[f"{key}_{method}"] = Y
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if color is None:
        ax.scatter(Y[:, 0], Y[:, 1], s=6, c="0.3", linewidths=0)
    else:
        col = adata.obs[color]
        if pd.api.types.is_numeric_dtype(col) and col.nunique() > 20:
            sc = ax.scatter(
                Y[:, 0], Y[:, 1], s=6, c=col.to_numpy(dtype=float), cmap="viridis", linewidths=0
            )
            fig.colorbar(sc, ax=ax, label=color)
        else:
            cats = pd.Categorical(col.astype(str))
            cmap = _category_colours(len(cats.categories))
            for i, cat in enumerate(cats.categories):
                sel = cats.codes == i
                ax.scatter(Y[sel, 0], Y[sel, 1], s=6, color=cmap[i], label=str(cat), linewidths=0)
            ax.legend(
                frameon=False,
                fontsize=7,
                markerscale=2,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
            )
    ax.set_xlabel(f"{method.upper()} 1")
    ax.set_ylabel(f"{method.upper()} 2")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{key} ({method})" + (f" coloured by {color}" if color else ""))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def plot_generated(
    adata,
    generated,
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    method: Literal["umap", "pca", "tsne"] = "pca",
    n_components: int = 20,
    random_state: int = 0,
) -> Path:
    """Real and generated cells together in 2-D (joint PCA, then ``method``), coloured by source.

    Parameters
    ----------
    adata : anndata.AnnData
        The real cells (raw counts in ``X`` or ``layers[layer]``).
    generated : anndata.AnnData
        Output of :func:`generate` (``layers["log1p"]`` and ``uns["genodeep"]["generate"]``).
    path : path
        PNG to write.
    method : {"umap", "pca", "tsne"}, default "pca"
    n_components : int, default 20
        Joint principal components computed before the 2-D projection.

    Returns
    -------
    path : Path
    """
    import anndata as ad
    from sklearn.decomposition import PCA

    info = generated.uns.get("genodeep", {}).get("generate", {})
    target = float(info.get("target_sum", 0)) or None
    counts = get_counts(adata[:, generated.var_names], layer=layer)
    real = log_normalize(counts, target_sum=target)
    gen = np.asarray(generated.layers["log1p"], dtype=np.float32)
    both = np.vstack([real, gen])
    k = int(min(n_components, min(both.shape) - 1))
    Z = PCA(n_components=k, random_state=random_state).fit_transform(both)
    source = ["real"] * len(real) + ["generated"] * len(gen)
    tmp = ad.AnnData(
        np.zeros((len(both), 1), dtype=np.float32),
        obs=pd.DataFrame(
            {"source": pd.Categorical(source)}, index=[f"cell{i}" for i in range(len(both))]
        ),
    )
    tmp.obsm["X_joint"] = Z.astype(np.float32)
    return plot_latent(
        tmp,
        path,
        key="X_joint",
        color="source",
        method=method,
        title="real vs generated cells",
        random_state=random_state,
    )


def plot_history(history, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Training curves of an unsupervised model: one panel per logged value against the epoch.

    Parameters
    ----------
    history : pandas.DataFrame or dict of arrays
        ``FitResult.history`` or ``uns["genodeep"][step]["history"]``: ``epoch`` and per-epoch values
        such as ``train_loss``, ``train_kl``, ``train_reconstruction`` (VAE),
        ``train_loss_critic``, ``train_critic_wasserstein`` (GAN).
    path : path
        PNG to write (atomically).
    title : str, optional

    Returns
    -------
    path : Path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    df = (
        history
        if isinstance(history, pd.DataFrame)
        else pd.DataFrame({k: list(v) for k, v in dict(history).items()})
    )
    if df.empty or "epoch" not in df:
        raise ValueError("history must have an 'epoch' column and at least one row (one per epoch)")
    cols = [
        c for c in df.columns if c not in ("epoch", "lr") and pd.api.types.is_numeric_dtype(df[c])
    ]
    ncols = min(3, max(1, len(cols)))
    nrows = max(1, math.ceil(len(cols) / ncols))
    fig = Figure(figsize=(4.0 * ncols, 3.0 * nrows), dpi=100)
    FigureCanvasAgg(fig)
    epochs = df["epoch"].to_numpy() + 1
    for i, c in enumerate(cols):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.plot(epochs, df[c].to_numpy(dtype=float), lw=1.2)
        ax.set_xlabel("epoch")
        ax.set_title(c, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _category_colours(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]


def _project_2d(Z: np.ndarray, method: str, random_state: int) -> np.ndarray:
    if Z.shape[1] <= 2:
        return np.pad(Z, ((0, 0), (0, 2 - Z.shape[1]))).astype(np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=random_state).fit_transform(Z).astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (Z.shape[0] - 1) // 3)))
        return (
            TSNE(n_components=2, perplexity=perplexity, random_state=random_state, init="pca")
            .fit_transform(Z)
            .astype(np.float32)
        )
    umap = require("umap", "sc")
    n_neighbors = int(min(15, max(2, Z.shape[0] - 1)))
    return (
        umap.UMAP(n_neighbors=n_neighbors, random_state=random_state, n_jobs=1)
        .fit_transform(Z)
        .astype(np.float32)
    )
