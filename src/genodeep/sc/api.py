"""High-level single-cell functions: AnnData in, AnnData out.

- :func:`denoise`: a count autoencoder (ZINB by default, DCA-style, masked training) or a plain /
  denoising autoencoder; adds ``layers["denoised"]`` and ``obsm["X_latent"]``.
- :func:`embed`: a latent space from an scVI-style VAE (optionally correcting a batch covariate), an
  autoencoder or PCA; adds ``obsm["X_genodeep"]``.
- :func:`generate`: new expression profiles from a GAN (WGAN-GP) or the VAE, with a two-sample quality
  check against held-out cells.
- :func:`fit_count_model`: the array-level training used by all three (and by
  :func:`genodeep.sc.evaluate.evaluate_denoising`).
- :func:`plot_latent`: a UMAP (or PCA / t-SNE) of a latent space coloured by an ``obs`` column.

Every function records its parameters under ``adata.uns["genodeep"][<function name>]``. Training goes
through :func:`genodeep.train.fit` with the models' own ``loss(batch)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from genodeep._batching import batched_apply
from genodeep._device import model_on, resolve_device
from genodeep._io_utils import atomic_path
from genodeep._progress import log
from genodeep._validate import check_choice, check_positive, require
from genodeep.sc.preprocess import (
    check_counts,
    get_counts,
    get_matrix,
    highly_variable_genes,
    log_normalize,
    size_factors,
)

__all__ = [
    "MODELS",
    "CountModelResult",
    "fit_count_model",
    "denoise",
    "embed",
    "generate",
    "plot_latent",
    "plot_generated",
    "plot_history",
]

# name -> (module, class, default constructor arguments)
MODELS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "zinb": ("genodeep.sc.models", "CountAutoencoder", {"likelihood": "zinb"}),
    "nb": ("genodeep.sc.models", "CountAutoencoder", {"likelihood": "nb"}),
    "ae": ("genodeep.sc.models", "Autoencoder", {}),
    "dae": ("genodeep.sc.models", "DenoisingAutoencoder", {}),
    "linear": ("genodeep.sc.models", "LinearAutoencoder", {"input_transform": "log1p"}),
    "vae": ("genodeep.sc.vae", "CountVAE", {"likelihood": "nb"}),
    "zinb-vae": ("genodeep.sc.vae", "CountVAE", {"likelihood": "zinb"}),
}
"""Model names accepted by :func:`fit_count_model`, :func:`denoise` and :func:`embed`."""

COUNT_MODELS = ("zinb", "nb", "vae", "zinb-vae")
"""Models with a count likelihood (their input must be raw counts)."""

DENOISE_MODELS = ("zinb", "nb", "ae", "dae", "linear")
EMBED_MODELS = ("vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca")
GENERATE_MODELS = ("gan", "vae")

# training defaults per model family (chosen on the pbmc68k masking benchmark, see the tests)
_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "zinb": {"max_epochs": 60, "lr": 3e-3, "batch_size": 64, "weight_decay": 1e-4},
    "nb": {"max_epochs": 60, "lr": 3e-3, "batch_size": 64, "weight_decay": 1e-4},
    "ae": {"max_epochs": 60, "lr": 3e-3, "batch_size": 64, "weight_decay": 0.0},
    "dae": {"max_epochs": 60, "lr": 3e-3, "batch_size": 64, "weight_decay": 0.0},
    "linear": {"max_epochs": 100, "lr": 3e-3, "batch_size": 64, "weight_decay": 0.0},
    "vae": {"max_epochs": 100, "lr": 1e-3, "batch_size": 128, "weight_decay": 0.0},
    "zinb-vae": {"max_epochs": 100, "lr": 1e-3, "batch_size": 128, "weight_decay": 0.0},
}

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


class CountModelResult(NamedTuple):
    """What :func:`fit_count_model` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (CPU, eval mode).
    mean : np.ndarray float32, shape (N, G)
        Denoised values (counts scale) of the training cells.
    latent : np.ndarray float32, shape (N, n_latent)
        Latent coordinates of the training cells.
    history : pandas.DataFrame
        One row per epoch (``train_loss`` and the loss's parts).
    params : dict
        Model name, constructor arguments and training settings (JSON-serialisable).
    """

    model: torch.nn.Module
    mean: np.ndarray
    latent: np.ndarray
    history: Any
    params: dict


def build_model(name: str, n_genes: int, **kwargs) -> torch.nn.Module:
    """Construct the model registered as ``name`` in :data:`MODELS` for ``n_genes`` genes."""
    import importlib
    import inspect

    check_choice("model", name, MODELS)
    module, cls_name, defaults = MODELS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "n_genes")]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise ValueError(
            f"unknown model argument(s) {unknown} for model={name!r}; valid: {', '.join(valid)}"
        )
    return cls(n_genes, **{**defaults, **kwargs})


def _history_dict(history) -> dict[str, np.ndarray]:
    if history is None or len(history) == 0:
        return {}
    return {str(c): np.asarray(history[c].to_numpy(), dtype=np.float64) for c in history.columns}


def fit_count_model(
    X: np.ndarray,
    *,
    model: str = "zinb",
    model_kwargs: Mapping[str, Any] | None = None,
    batch: np.ndarray | None = None,
    size_factors: np.ndarray | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float | None = None,
    patience: int | None = None,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
) -> CountModelResult:
    """Train one of :data:`MODELS` on a dense matrix and return its denoised values and latent space.

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Counts (checked with :func:`~genodeep.sc.preprocess.check_counts` for the count models;
        any values for ``"ae"``, ``"dae"``, ``"linear"``).
    model : str, default "zinb"
        A name in :data:`MODELS`.
    model_kwargs : dict, optional
        Constructor arguments of the model (e.g. ``{"n_latent": 16, "hidden": [64]}``).
    batch : np.ndarray of int, shape (N,), optional
        Batch codes ``0..n_batch-1``; sets the model's ``n_batch`` (count models only).
    size_factors : np.ndarray, shape (N,), optional
        Default: total counts / median total.
    max_epochs, batch_size, lr, weight_decay : optional
        Training settings; defaults per model (60-100 epochs, Adam).
    patience : int, optional
        Stop after this many epochs without improvement of the training loss; ``None`` (default)
        trains ``max_epochs`` epochs. The weights after the last epoch are returned (see
        :func:`genodeep.sc.models.fit_last_epoch`).
    out_dir : path, optional
        Keep checkpoints and ``history.tsv`` there.
    device : str or torch.device, optional
        ``None`` = CUDA when available.
    random_state : int, default 0
        Seeds weight initialisation, shuffling and masking.
    verbose : bool, default False

    Returns
    -------
    CountModelResult
    """
    from genodeep.sc.models import CountDataset, fit_last_epoch

    check_choice("model", model, MODELS)
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X had shape {X.shape} while it should have had (n_cells, n_genes)")
    if model in COUNT_MODELS:
        check_counts(X)
    kw = dict(model_kwargs or {})
    n_batch = 0
    if batch is not None:
        batch = np.asarray(batch, dtype=np.int64)
        n_batch = int(batch.max()) + 1
        if model not in ("zinb", "nb", "vae", "zinb-vae"):
            raise ValueError(
                f"a batch covariate needs a count model (zinb, nb, vae, zinb-vae), got model={model!r}"
            )
        kw["n_batch"] = n_batch
    settings = dict(_TRAIN_DEFAULTS[model])
    for k, v in (
        ("max_epochs", max_epochs),
        ("batch_size", batch_size),
        ("lr", lr),
        ("weight_decay", weight_decay),
    ):
        if v is not None:
            settings[k] = v
    check_positive("max_epochs", settings["max_epochs"])
    check_positive("batch_size", settings["batch_size"])
    if model in ("vae", "zinb-vae") and "kl_warmup_steps" not in kw:
        # KL annealing over the first half of training (scVI anneals over its first 400 epochs)
        steps = settings["max_epochs"] * -(-X.shape[0] // settings["batch_size"])
        kw["kl_warmup_steps"] = int(steps // 2)
    if model in ("vae", "zinb-vae") and "normalize_input" not in kw:
        totals = X.sum(1)
        kw["normalize_input"] = float(np.median(totals[totals > 0])) if (totals > 0).any() else 1.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        net = build_model(model, X.shape[1], **kw)
    data = CountDataset(X, size_factors=size_factors, batch=batch, n_batch=n_batch or None)
    net, history = fit_last_epoch(
        net,
        data,
        max_epochs=int(settings["max_epochs"]),
        batch_size=int(settings["batch_size"]),
        lr=float(settings["lr"]),
        weight_decay=float(settings["weight_decay"]),
        patience=patience,
        out_dir=out_dir,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    mean, latent = apply_count_model(net, data, device=device)
    params = {
        "model": model,
        "config": dict(getattr(net, "config", {})),
        "training": {
            **settings,
            "patience": -1 if patience is None else patience,
            "random_state": random_state,
        },
        "epochs": int(len(history)),
    }
    return CountModelResult(net, mean, latent, history, params)


@torch.no_grad()
def apply_count_model(
    model, data, *, batch_size: int = 512, device=None
) -> tuple[np.ndarray, np.ndarray]:
    """Denoised values and latent coordinates of every cell of a :class:`CountDataset`.

    Returns
    -------
    mean : np.ndarray float32, shape (N, G)
    latent : np.ndarray float32, shape (N, n_latent)
    """
    dev = resolve_device(device)
    packed = data.packed()
    with model_on(model, dev) as m:
        mean = batched_apply(
            m.packed_apply("predict_mean"), packed, batch_size=batch_size, device=dev
        )
        latent = batched_apply(m.packed_apply("encode"), packed, batch_size=batch_size, device=dev)
    return mean.numpy(), latent.numpy()


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
        from genodeep._validate import near_matches

        close = near_matches(batch_key, list(adata.obs.columns))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"batch_key={batch_key!r} is not an obs column{hint}; obs has {list(adata.obs.columns)}"
        )
    import pandas as pd

    cat = pd.Categorical(adata.obs[batch_key].astype(str))
    return np.asarray(cat.codes, dtype=np.int64), [str(c) for c in cat.categories]


def _prepare(adata, *, layer: str | None, count_model: bool, n_top_genes: int | None):
    counts = get_counts(adata, layer=layer) if count_model else get_matrix(adata, layer=layer)
    if count_model:
        size_factors(counts)  # clear error on empty cells
    return _select_genes(adata, counts, n_top_genes)


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
        Training settings (defaults per model).
    copy : bool, default True
        Return a new object; ``False`` writes into ``adata`` (not possible with ``n_top_genes``).
    out_dir : path, optional
        Keep training checkpoints and history there.
    device, random_state, verbose
        See :func:`fit_count_model`.

    Returns
    -------
    adata : anndata.AnnData
        With ``layers["denoised"]`` (float32, counts scale), ``obsm["X_latent"]`` (n_cells, n_latent)
        and ``uns["genodeep"]["denoise"]`` (model, its configuration, training settings and history).
    """
    check_choice("model", model, DENOISE_MODELS)
    out, counts = _prepare(
        adata, layer=layer, count_model=model in COUNT_MODELS, n_top_genes=n_top_genes
    )
    if copy and out is adata:
        out = adata.copy()
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
    layer, n_latent, n_top_genes, model_kwargs, max_epochs, batch_size, lr, weight_decay, copy, out_dir,
    device, random_state, verbose
        As in :func:`denoise`.

    Returns
    -------
    adata : anndata.AnnData
        With ``obsm["X_genodeep"]`` (n_cells, n_latent) and ``uns["genodeep"]["embed"]``.
    """
    check_choice("model", model, EMBED_MODELS)
    check_positive("n_latent", n_latent)
    out, counts = _prepare(
        adata, layer=layer, count_model=model in COUNT_MODELS, n_top_genes=n_top_genes
    )
    if copy and out is adata:
        out = adata.copy()
    codes, categories = _batch_codes(out, batch_key)
    if model == "pca":
        if batch_key is not None:
            raise ValueError(
                "batch_key needs a model that conditions on the batch (vae, zinb-vae, zinb, nb), not 'pca'"
            )
        from genodeep.sc.evaluate import pca_reconstruction

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
    import pandas as pd

    from genodeep.sc.evaluate import two_sample_test

    check_choice("model", model, GENERATE_MODELS)
    check_positive("n", n)
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must lie in [0, 1), got {holdout!r}")
    src, counts = _prepare(adata, layer=layer, count_model=True, n_top_genes=n_top_genes)
    rng = np.random.default_rng(random_state)
    n_cells = counts.shape[0]
    perm = rng.permutation(n_cells)
    n_hold = int(round(holdout * n_cells))
    test_idx, train_idx = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
    totals = counts.sum(1)
    target = float(np.median(totals))
    logn = log_normalize(counts, target_sum=target)
    if model == "gan":
        from genodeep.sc.gan import fit_gan, sample_gan

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


# ------------------------------------------------------------------------------------------ plots
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
        from genodeep._validate import near_matches

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
        import pandas as pd

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
    import pandas as pd
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
    import math

    import pandas as pd
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
