"""Training of the single-cell models: the model registry, :func:`fit_count_model` and :func:`fit_last_epoch`.

- :data:`MODELS`: the model names accepted by :func:`fit_count_model` (and by
  :func:`genodeep.sc.denoise` / :func:`genodeep.sc.embed`), with their classes and default arguments.
- :func:`fit_count_model`: trains one of them on a dense matrix and returns its denoised values and
  latent space (used by :mod:`genodeep.sc.api` and :func:`genodeep.sc.evaluate.evaluate_denoising`).
- :func:`fit_last_epoch`: :func:`genodeep.train.fit` with the models' own ``loss(batch)``, keeping the
  last epoch's weights (also used by :func:`genodeep.sc.gan.fit_gan`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import tempfile
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from genodeep._batching import batched_apply
from genodeep._device import model_on, resolve_device
from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.sc.models import CountDataset
from genodeep.sc.preprocess import check_counts
from genodeep.train.fit import fit
from genodeep.train.lightning import GenodeepTask

__all__ = [
    "MODELS",
    "COUNT_MODELS",
    "CountModelResult",
    "build_model",
    "fit_count_model",
    "apply_count_model",
    "check_count_range",
    "training_batch_size",
    "fit_last_epoch",
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
"""Model names accepted by :func:`fit_count_model`, :func:`genodeep.sc.denoise` and :func:`genodeep.sc.embed`."""

COUNT_MODELS = ("zinb", "nb", "vae", "zinb-vae")
"""Models with a count likelihood (their input must be raw counts)."""

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
        :func:`fit_last_epoch`).
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
    check_choice("model", model, MODELS)
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X had shape {X.shape} while it should have had (n_cells, n_genes)")
    if model in COUNT_MODELS:
        check_counts(X)
        check_count_range(X)
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
    if hasattr(net, "init_rates"):
        net.init_rates(data.X, data.sf)  # start on the data's count scale (any library size)
    settings["batch_size"] = training_batch_size(
        X.shape[0], int(settings["batch_size"]), verbose=verbose
    )
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


MAX_COUNT = 2**24
"""Largest count the count models accept: float32, their dtype, holds integers exactly up to ``2**24``."""


def check_count_range(X: np.ndarray) -> None:
    """Refuse counts above :data:`MAX_COUNT` with an error that says what to do.

    The count models start their rates at each gene's mean (see
    :meth:`genodeep.sc.models.CountAutoencoder.init_rates`) and compute in float32, so any library size
    up to that is modelled on its own scale; larger counts cannot even be stored exactly.
    """
    top = float(np.max(X)) if X.size else 0.0
    if top > MAX_COUNT:
        raise ValueError(
            f"X holds counts up to {top:.6g}, above {MAX_COUNT:,} (2**24), the largest integer that "
            "float32, the count models' dtype, stores exactly; fix: divide the counts by a constant "
            "and round them so that the largest is below 2**24, or use model='ae'/'dae', which model "
            "log1p of library-normalised values of any scale"
        )


def training_batch_size(n: int, batch_size: int, *, verbose: bool = False) -> int:
    """The batch size used to train on ``n`` cells: ``batch_size``, raised until no batch has one row.

    The models have BatchNorm layers, which cannot train on a batch of one cell (129 cells with batch
    size 128 would leave one); the batch size is raised by the fewest steps that avoid it (every cell is
    still used in each epoch), or capped at ``n``.

    Raises
    ------
    ValueError
        When ``n < 2``: BatchNorm needs two cells.
    """
    if n < 2:
        raise ValueError(
            f"training needs at least 2 cells (BatchNorm normalises over the cells of a batch), got {n}"
        )
    b = min(int(batch_size), n)
    while n % b == 1:
        b += 1
    if b != min(int(batch_size), n) and verbose:
        log(
            f"batch size {batch_size} with {n} cells would leave a last batch of 1 cell, which "
            f"BatchNorm cannot train on; training with batch size {b}"
        )
    return b


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


def fit_last_epoch(
    model: nn.Module,
    data,
    *,
    max_epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.0,
    optimizer_kwargs: Mapping[str, Any] | None = None,
    patience: int | None = None,
    out_dir=None,
    device=None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Train ``model`` with :func:`genodeep.train.fit` (``loss=None``) and keep the *last* epoch's weights.

    Unsupervised objectives here change during training (KL warm-up, random masking, adversarial
    games), so the epoch with the lowest training loss is not the best model; without validation data
    the final weights are used, as scVI and DCA do.

    Parameters
    ----------
    model : nn.Module
        Has ``loss(batch)`` (and ``loss_steps``/``parameters_for`` for alternating objectives).
    data : torch Dataset
        Yields the batches ``model.loss`` takes.
    max_epochs, batch_size, lr, weight_decay : training settings (Adam).
    optimizer_kwargs : dict, optional
        E.g. ``{"betas": (0.5, 0.9)}``.
    patience : int, optional
        Early stopping on the training loss after ``patience`` epochs without improvement.
    out_dir : path, optional
        Keep checkpoints and ``history.tsv``; a temporary folder otherwise.
    device : str or torch.device, optional
        ``None`` = CUDA when available.

    Returns
    -------
    model : nn.Module
        Trained, on the CPU, in eval mode.
    history : pandas.DataFrame
        One row per epoch.
    """
    dev = resolve_device(device)
    accelerator, devices = ("gpu", [dev.index or 0]) if dev.type == "cuda" else ("cpu", 1)
    batch_size = training_batch_size(len(data), int(batch_size), verbose=verbose)
    task = GenodeepTask(
        model,
        loss=None,
        lr=lr,
        weight_decay=weight_decay,
        optimizer="adam",
        optimizer_kwargs=optimizer_kwargs,
    )
    with tempfile.TemporaryDirectory(prefix="genodeep-sc-") as tmp:
        root = os.fspath(out_dir) if out_dir is not None else tmp
        result = fit(
            task,
            data,
            max_epochs=int(max_epochs),
            batch_size=int(batch_size),
            early_stopping=None if patience is None else "train_loss",
            patience=5 if patience is None else int(patience),
            out_dir=root,
            accelerator=accelerator,
            devices=devices,
            random_state=random_state,
            verbose=verbose,
        )
        last = os.path.join(root, "last.ckpt")
        if os.path.exists(last):
            state = torch.load(last, map_location="cpu", weights_only=True)["state_dict"]
            model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    return model.cpu().eval(), result.history
