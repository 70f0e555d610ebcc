"""Unsupervised learning on count matrices (the review's Fig. 6): AnnData in, AnnData out.

::

    import genodeep.sc as gsc
    from genodeep.io.counts import read_counts, write_h5ad

    adata = read_counts("pbmc.h5ad")                       # raw counts in X (or layer="counts")
    adata = gsc.denoise(adata, model="zinb")               # layers["denoised"], obsm["X_latent"]
    adata = gsc.embed(adata, model="vae", batch_key=None)  # obsm["X_genodeep"]
    fake = gsc.generate(adata, 500, model="gan")           # new profiles + a two-sample quality check

Models are plain ``nn.Module`` s with ``loss(batch)``, trained by :func:`genodeep.train.fit`:
:class:`LinearAutoencoder`, :class:`Autoencoder`, :class:`DenoisingAutoencoder`,
:class:`CountAutoencoder` (NB/ZINB, DCA-style), :class:`CountVAE` (scVI-style) and
:class:`ExpressionGAN` (WGAN-GP). Names are imported lazily, so ``import genodeep.sc`` is cheap.
Reading and writing files (the CLI's ``denoise``/``embed``/``generate``) is in :mod:`genodeep.workflows.sc`.
"""

from __future__ import annotations

from genodeep._lazy import lazy_getattr

_NAMES = {
    # preprocessing
    "check_counts": "genodeep.sc.preprocess",
    "get_counts": "genodeep.sc.preprocess",
    "size_factors": "genodeep.sc.preprocess",
    "normalize_total": "genodeep.sc.preprocess",
    "log_normalize": "genodeep.sc.preprocess",
    "highly_variable_genes": "genodeep.sc.preprocess",
    # models
    "CountDataset": "genodeep.sc.models",
    "LinearAutoencoder": "genodeep.sc.models",
    "Autoencoder": "genodeep.sc.models",
    "DenoisingAutoencoder": "genodeep.sc.models",
    "CountAutoencoder": "genodeep.sc.models",
    "CountVAE": "genodeep.sc.vae",
    "latent_shift": "genodeep.sc.vae",
    "predict_perturbation": "genodeep.sc.vae",
    "PerturbationPrediction": "genodeep.sc.vae",
    "ExpressionGAN": "genodeep.sc.gan",
    "fit_gan": "genodeep.sc.gan",
    "sample_gan": "genodeep.sc.gan",
    # simulation
    "simulate_counts": "genodeep.sc.simulate",
    "SimulatedCounts": "genodeep.sc.simulate",
    # evaluation
    "mask_entries": "genodeep.sc.evaluate",
    "mean_baseline": "genodeep.sc.evaluate",
    "pca_reconstruction": "genodeep.sc.evaluate",
    "fit_nb_dispersion": "genodeep.sc.evaluate",
    "denoising_scores": "genodeep.sc.evaluate",
    "evaluate_denoising": "genodeep.sc.evaluate",
    "cluster_ari": "genodeep.sc.evaluate",
    "two_sample_test": "genodeep.sc.evaluate",
    # training
    "MODELS": "genodeep.sc.training",
    "CountModelResult": "genodeep.sc.training",
    "fit_count_model": "genodeep.sc.training",
    # high-level API
    "denoise": "genodeep.sc.api",
    "embed": "genodeep.sc.api",
    "generate": "genodeep.sc.api",
    # plots
    "plot_latent": "genodeep.sc.plots",
    "plot_generated": "genodeep.sc.plots",
    "plot_history": "genodeep.sc.plots",
}
__all__ = list(_NAMES)
__getattr__ = lazy_getattr(__name__, _NAMES)


def __dir__() -> list[str]:
    return sorted(__all__)
