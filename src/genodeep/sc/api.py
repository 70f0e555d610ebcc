"""High-level single-cell functions: AnnData in, AnnData out.

- :func:`denoise`: a count autoencoder (ZINB by default, DCA-style, masked training) or a plain /
  denoising autoencoder; adds ``layers["denoised"]`` and ``obsm["X_latent"]``.
- :func:`embed`: a latent space from an scVI-style VAE (optionally correcting a batch covariate), an
  autoencoder or PCA; adds ``obsm["X_genodeep"]``.
- :func:`generate`: new expression profiles from a GAN (WGAN-GP) or the VAE, with a two-sample quality
  check against held-out cells.

The array-level training they share is :func:`genodeep.sc.training.fit_count_model`; the plots are in
:mod:`genodeep.sc.plots`. Every function records its parameters under
``adata.uns["genodeep"][<function name>]``. Training goes through :func:`genodeep.train.fit` with the
models' own ``loss(batch)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive, near_matches
from genodeep.sc.evaluate import pca_reconstruction, two_sample_test
from genodeep.sc.gan import fit_gan, sample_gan
from genodeep.sc.preprocess import (
    get_counts,
    get_matrix,
    highly_variable_genes,
    log_normalize,
    size_factors,
)
from genodeep.sc.training import COUNT_MODELS, fit_count_model

__all__ = ["denoise", "embed", "generate"]

DENOISE_MODELS = ("zinb", "nb", "ae", "dae", "linear")
EMBED_MODELS = ("vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca")
GENERATE_MODELS = ("gan", "vae")


_TRAIN_ARGS = (
    "max_epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "out_dir",
    "device",
    "random_state",
    "verbose",
)
"""Training settings that :func:`denoise`, :func:`embed` and :func:`generate` pass on unchanged."""


def _train_args(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`_TRAIN_ARGS` found in ``scope`` (pass ``locals()``), for the trainer's keywords."""
    return {name: scope[name] for name in _TRAIN_ARGS if name in scope}


def _history_dict(history) -> dict[str, np.ndarray]:
    if history is None or len(history) == 0:
        return {}
    return {str(c): np.asarray(history[c].to_numpy(), dtype=np.float64) for c in history.columns}


# ----------------------------------------------------------------------------------------- AnnData
def _genodeep_uns(adata) -> dict:
    uns = adata.uns.get("genodeep")
    if not isinstance(uns, dict):
        uns = {}
        adata.uns["genodeep"] = uns
    return uns


def _select_genes(adata, counts: np.ndarray, n_top_genes: int | None):
    if n_top_genes is None or n_top_genes >= counts.shape[1]:
        return adata, counts
    mask = highly_variable_genes(counts, n_top_genes=n_top_genes)
    adata = adata[:, mask].copy()
    adata.var["highly_variable"] = True
    return adata, counts[:, mask]


def _batch_codes(adata, batch_key: str | None) -> tuple[np.ndarray | None, list[str]]:
    if batch_key is None:
        return None, []
    if batch_key not in adata.obs:
        close = near_matches(batch_key, list(adata.obs.columns))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"batch_key={batch_key!r} is not an obs column{hint}; obs has {list(adata.obs.columns)}"
        )
    cat = pd.Categorical(adata.obs[batch_key].astype(str))
    return np.asarray(cat.codes, dtype=np.int64), [str(c) for c in cat.categories]


def _prepare(
    adata,
    *,
    layer: str | None,
    count_model: bool,
    n_top_genes: int | None,
    drop_empty: bool = False,
):
    """``(adata, counts, dropped)``: the (possibly subset) object, its dense matrix, and with
    ``drop_empty`` the names of the dropped cells and genes (``{}`` otherwise)."""
    dropped: dict[str, list[str]] = {}
    counts = get_counts(adata, layer=layer) if count_model else get_matrix(adata, layer=layer)
    if drop_empty:
        adata, counts, dropped = _drop_empty(adata, counts)
    elif count_model:
        empty = np.flatnonzero(~(counts != 0).any(axis=1))
        if empty.size:
            names = ", ".join(repr(str(n)) for n in adata.obs_names[empty[:3]])
            raise ValueError(
                f"{empty.size} of {counts.shape[0]} cells have no counts (e.g. {names}, row "
                f"{int(empty[0])}); a count model cannot normalise an empty cell; fix: pass "
                "drop_empty=True (CLI: --drop-empty) to leave out cells and genes with no counts "
                "(they are listed in uns['genodeep']['dropped_cells'] / ['dropped_genes']), or "
                "filter them yourself"
            )
        size_factors(counts)
    return (*_select_genes(adata, counts, n_top_genes), dropped)


def _drop_empty(adata, counts: np.ndarray):
    """Leave out the cells and genes with no counts; keep the order of the others; record them.

    Returns the subset (``adata`` itself when nothing is dropped), its counts and
    ``{"dropped_cells": [names], "dropped_genes": [names]}``, which the callers record in
    ``uns["genodeep"]`` of their result.
    """
    nonzero = counts != 0
    keep_cells = nonzero.any(axis=1)
    keep_genes = nonzero.any(axis=0)
    n_cells, n_genes = counts.shape
    if not keep_cells.any():
        raise ValueError(
            f"all {n_cells} cells have no counts, so drop_empty=True leaves nothing to model; "
            "check that the matrix (or layer) holds the counts"
        )
    dropped_cells = [str(n) for n in adata.obs_names[~keep_cells]]
    dropped_genes = [str(n) for n in adata.var_names[~keep_genes]]
    if dropped_cells or dropped_genes:
        adata = adata[keep_cells][:, keep_genes].copy()
        counts = np.ascontiguousarray(counts[keep_cells][:, keep_genes])
    log(
        f"drop_empty: dropped {len(dropped_cells)} of {n_cells} cells and {len(dropped_genes)} of "
        f"{n_genes} genes with no counts (listed in uns['genodeep']['dropped_cells'] / "
        "['dropped_genes'])"
    )
    return adata, counts, {"dropped_cells": dropped_cells, "dropped_genes": dropped_genes}


def denoise(
    adata,
    *,
    model: Literal["zinb", "nb", "ae", "dae", "linear"] = "zinb",
    layer: str | None = None,
    n_latent: int = 16,
    n_top_genes: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float | None = None,
    drop_empty: bool = False,
    copy: bool = True,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Denoise a count matrix with an autoencoder (DCA-style ZINB count autoencoder by default).

    The count models are trained with masked (denoising) training by default: at each step 10 % of
    the input entries are hidden and the loss emphasises predicting them, which is what makes the
    denoised values better than the trivial "gene mean x size factor" and PCA baselines on held-out
    entries (see :func:`genodeep.sc.evaluate.evaluate_denoising`).

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Raw counts in ``X`` or in ``layers[layer]``.
    model : {"zinb", "nb", "ae", "dae", "linear"}, default "zinb"
        ZINB / NB count autoencoder, plain or denoising autoencoder on ``log1p`` normalised values,
        or the linear autoencoder.
    layer : str, optional
        Take the counts from ``adata.layers[layer]`` (``"raw"`` for ``adata.raw.X``).
    n_latent : int, default 16
        Bottleneck width.
    n_top_genes : int, optional
        Keep only this many highly variable genes (the result then has those genes only).
    model_kwargs : dict, optional
        Further constructor arguments of the model class (see :mod:`genodeep.sc.models`).
    max_epochs, batch_size, lr, weight_decay : optional
        Training settings (defaults per model: 60 epochs, 100 for ``"linear"``). There is no early
        stopping: all ``max_epochs`` epochs are trained and the last epoch's weights are used. A
        batch size that would leave a last batch of one cell is raised by the fewest steps that avoid
        it (BatchNorm cannot train on one cell); every cell is used.
    drop_empty : bool, default False
        Leave out the cells and the genes with no counts (the others keep their order); their names
        are recorded in ``uns["genodeep"]["dropped_cells"]`` and ``["dropped_genes"]`` and a log line
        gives the counts. Without it a count model refuses a matrix with an empty cell.
    copy : bool, default True
        Return a new object; ``False`` writes into ``adata`` (not possible with ``n_top_genes`` or
        when ``drop_empty`` drops something).
    out_dir : path, optional
        Keep training checkpoints and history there.
    device, random_state, verbose
        See :func:`fit_count_model`.

    Returns
    -------
    adata : anndata.AnnData
        With ``layers["denoised"]`` (float32, on the input's count scale: the count models' mean is
        the size factor times a rate, with size factors relative to the data's median library size),
        ``obsm["X_latent"]`` (n_cells, n_latent) and ``uns["genodeep"]["denoise"]`` (model, its
        configuration, training settings and history).
    """
    check_choice("model", model, DENOISE_MODELS)
    out, counts, dropped = _prepare(
        adata,
        layer=layer,
        count_model=model in COUNT_MODELS,
        n_top_genes=n_top_genes,
        drop_empty=drop_empty,
    )
    if copy and out is adata:
        out = adata.copy()
    _genodeep_uns(out).update(dropped)
    kw = {"n_latent": n_latent, **dict(model_kwargs or {})}
    res = fit_count_model(counts, model=model, model_kwargs=kw, **_train_args(locals()))
    out.layers["denoised"] = res.mean.astype(np.float32)
    out.obsm["X_latent"] = res.latent.astype(np.float32)
    _genodeep_uns(out)["denoise"] = {
        **_plain(res.params),
        "layer": "X" if layer is None else layer,
        "n_top_genes": -1 if n_top_genes is None else int(n_top_genes),
        "history": _history_dict(res.history),
    }
    if verbose:
        log(f"denoise: {model} model trained on {counts.shape[0]} cells x {counts.shape[1]} genes")
    return out


def embed(
    adata,
    *,
    model: Literal["vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca"] = "vae",
    batch_key: str | None = None,
    layer: str | None = None,
    n_latent: int = 10,
    n_top_genes: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float | None = None,
    drop_empty: bool = False,
    copy: bool = True,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Low-dimensional embedding of cells: scVI-style VAE (default), autoencoders or PCA.

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Raw counts in ``X`` or ``layers[layer]``.
    model : {"vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca"}, default "vae"
        ``"vae"`` is the NB :class:`~genodeep.sc.vae.CountVAE`; ``"pca"`` is PCA of ``log1p``
        normalised counts.
    batch_key : str, optional
        ``obs`` column with the batch of each cell; the VAE / count autoencoders condition on it so
        that the latent space is corrected for it.
    layer, n_latent, n_top_genes, model_kwargs, max_epochs, batch_size, lr, weight_decay, drop_empty,
    copy, out_dir, device, random_state, verbose
        As in :func:`denoise`.

    Returns
    -------
    adata : anndata.AnnData
        With ``obsm["X_genodeep"]`` (n_cells, n_latent) and ``uns["genodeep"]["embed"]``.
    """
    check_choice("model", model, EMBED_MODELS)
    check_positive("n_latent", n_latent)
    out, counts, dropped = _prepare(
        adata,
        layer=layer,
        count_model=model in COUNT_MODELS,
        n_top_genes=n_top_genes,
        drop_empty=drop_empty,
    )
    if copy and out is adata:
        out = adata.copy()
    _genodeep_uns(out).update(dropped)
    codes, categories = _batch_codes(out, batch_key)
    if model == "pca":
        if batch_key is not None:
            raise ValueError(
                "batch_key needs a model that conditions on the batch (vae, zinb-vae, zinb, nb), not 'pca'"
            )
        _, Z = pca_reconstruction(
            counts, n_components=n_latent, random_state=random_state, return_latent=True
        )
        params: dict[str, Any] = {"model": "pca", "n_components": int(Z.shape[1])}
        history = None
    else:
        kw = {"n_latent": n_latent, **dict(model_kwargs or {})}
        res = fit_count_model(
            counts, model=model, model_kwargs=kw, batch=codes, **_train_args(locals())
        )
        Z, params, history = res.latent, res.params, res.history
    out.obsm["X_genodeep"] = np.asarray(Z, dtype=np.float32)
    _genodeep_uns(out)["embed"] = {
        **_plain(params),
        "layer": "X" if layer is None else layer,
        "batch_key": "" if batch_key is None else batch_key,
        "batch_categories": categories,
        "history": _history_dict(history),
    }
    return out


def generate(
    adata,
    n: int,
    *,
    model: Literal["gan", "vae"] = "gan",
    layer: str | None = None,
    n_top_genes: int | None = None,
    holdout: float = 0.2,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Generate new expression profiles with a GAN (WGAN-GP) or the count VAE, and check their quality.

    Profiles are on the scale of counts normalised to the median library size of ``adata``. A fraction
    ``holdout`` of the cells is kept out of training; the generated profiles are compared with them by
    :func:`genodeep.sc.evaluate.two_sample_test` (AUC 0.5 = indistinguishable), next to two references:
    the training cells themselves (the best a generator can do) and a generator that samples every gene
    independently from its marginal distribution (what a model that ignores gene-gene structure gets).

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
        Raw counts in ``X`` or ``layers[layer]``.
    n : int
        Number of profiles to generate.
    model : {"gan", "vae"}, default "gan"
    layer, n_top_genes : optional
        As in :func:`denoise`.
    holdout : float, default 0.2
        Fraction of cells held out for the quality check (0 = no check).
    model_kwargs : dict, optional
        Constructor arguments of :class:`~genodeep.sc.gan.ExpressionGAN` or
        :class:`~genodeep.sc.vae.CountVAE`.
    max_epochs, batch_size, lr : optional
        Training settings.
    out_dir, device, random_state, verbose
        As in :func:`fit_count_model`.

    Returns
    -------
    generated : anndata.AnnData, shape (n, n_genes)
        ``X`` the generated profiles (float32, normalised counts), ``layers["log1p"]``,
        ``obs["generator"]``, ``var`` copied from the input, and ``uns["genodeep"]["generate"]`` with the
        settings and ``quality``: ``auc`` and ``mmd2`` of generated vs held-out cells, and the same for
        the two references (``reference_auc``/``reference_mmd2``: training cells;
        ``independent_genes_auc``/``independent_genes_mmd2``: genes sampled independently).
    """
    import anndata as ad

    check_choice("model", model, GENERATE_MODELS)
    check_positive("n", n)
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must lie in [0, 1), got {holdout!r}")
    src, counts, _ = _prepare(adata, layer=layer, count_model=True, n_top_genes=n_top_genes)
    rng = np.random.default_rng(random_state)
    n_cells = counts.shape[0]
    perm = rng.permutation(n_cells)
    n_hold = int(round(holdout * n_cells))
    test_idx, train_idx = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
    totals = counts.sum(1)
    target = float(np.median(totals))
    logn = log_normalize(counts, target_sum=target)
    if model == "gan":
        gan, history, params = fit_gan(
            logn[train_idx],
            model_kwargs={"library_size": target, **dict(model_kwargs or {})},
            **_train_args(locals()),
        )
        gen_log = sample_gan(gan, n, device=device, random_state=random_state)
    else:
        res = fit_count_model(
            counts[train_idx],
            model="vae",
            model_kwargs={"likelihood": "nb", **dict(model_kwargs or {})},
            **_train_args(locals()),
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            lib = rng.choice(totals[train_idx], size=n, replace=True)
            sample = res.model.sample(n, lib, counts=True)
        gen_log = log_normalize(sample["counts"].numpy(), target_sum=target)
        history, params = res.history, res.params
    quality: dict[str, float] = {}
    if n_hold >= 10:
        real_test = logn[test_idx]
        m = min(n, n_hold * 4)
        quality = two_sample_test(real_test, gen_log[:m], random_state=random_state)
        ref = logn[train_idx][
            rng.choice(len(train_idx), size=min(m, len(train_idx)), replace=False)
        ]
        q_ref = two_sample_test(real_test, ref, random_state=random_state)
        indep = _independent_genes(logn[train_idx], m, rng)
        q_ind = two_sample_test(real_test, indep, random_state=random_state)
        quality.update(
            reference_auc=q_ref["auc"],
            reference_mmd2=q_ref["mmd2"],
            independent_genes_auc=q_ind["auc"],
            independent_genes_mmd2=q_ind["mmd2"],
        )
        if verbose:
            log(
                f"generate: two-sample AUC generated vs held-out {quality['auc']:.3f} "
                f"(training cells {quality['reference_auc']:.3f}, independent genes {quality['independent_genes_auc']:.3f})"
            )
    X = np.expm1(gen_log).astype(np.float32)
    obs = pd.DataFrame(
        {"generator": pd.Categorical([model] * n)}, index=[f"generated{i}" for i in range(n)]
    )
    out = ad.AnnData(X, obs=obs, var=src.var.copy())
    out.layers["log1p"] = gen_log.astype(np.float32)
    _genodeep_uns(out)["generate"] = {
        **_plain(params),
        "n": int(n),
        "layer": "X" if layer is None else layer,
        "target_sum": target,
        "holdout": float(holdout),
        "quality": quality,
        "history": _history_dict(history),
    }
    return out


def _independent_genes(L: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Profiles whose genes are drawn independently from their empirical marginals."""
    idx = rng.integers(0, L.shape[0], size=(n, L.shape[1]))
    return L[idx, np.arange(L.shape[1])[None, :]]


def _plain(value):
    """JSON-like copy: tuples -> lists, numpy scalars -> Python, None -> "None" (h5ad-storable)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None:
        return "None"
    return value
