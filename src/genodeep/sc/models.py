"""Autoencoders for count matrices (the review's Fig. 6): linear, nonlinear, denoising and count (DCA).

Every model is a plain ``nn.Module`` whose ``loss(batch)`` returns a dict with a scalar ``"loss"``, so
that :func:`genodeep.train.fit` trains it (``loss=None``). A *batch* is the tuple yielded by
:class:`CountDataset` (or a dict with the same keys):

- ``x``: counts (or any values for the linear/plain autoencoders), shape ``(B, G)``
- ``sf``: size factors, shape ``(B,)`` (``total / median total``)
- ``batch``: one-hot batch covariate, shape ``(B, n_batch)`` (only when the model has ``n_batch > 0``)

Shared methods: ``encode(x, sf, batch) -> z (B, n_latent)``, ``predict_mean(x, sf, batch) -> (B, G)``
(the denoised value on the input's scale: counts for count models). Constructor arguments are kept in
``model.config`` so that ``type(model)(**model.config)`` rebuilds the architecture.

Masked (denoising) training
---------------------------
With ``mask_rate > 0`` a random fraction of the input entries is set to zero at every training step
and the loss weights the masked entries by ``masked_weight`` (the others by 1). The network must then
predict an entry from the rest of the cell, which is what denoising and imputation ask of it; a plain
reconstruction objective instead learns to copy its input, zeros included. The count autoencoder trains
this way by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.nn.distributions import nb_log_prob, zinb_log_prob
from genodeep.sc._base import (
    _log1p_norm,
    _size_factors,
    _TransformedInputModel,
    _UnsupervisedModel,
)

__all__ = [
    "CountDataset",
    "LinearAutoencoder",
    "Autoencoder",
    "DenoisingAutoencoder",
    "CountAutoencoder",
    "make_mlp",
    "corrupt",
]

Tensor = torch.Tensor

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}


# ------------------------------------------------------------------------------------------------ data
class CountDataset(torch.utils.data.TensorDataset):
    """Rows of a count matrix with their size factors and optional batch one-hot.

    A ``TensorDataset`` of ``(x, sf)`` or ``(x, sf, batch)``, so :func:`genodeep.train.fit` gathers
    whole batches with one index operation. The models' ``loss(batch)`` accepts these tuples (and dicts
    with the same keys ``"x"``, ``"sf"``, ``"batch"``).

    Parameters
    ----------
    X : np.ndarray or torch.Tensor, shape (N, G)
        Counts (dense); stored as float32.
    size_factors : array-like, shape (N,), optional
        Default ``total / median total`` (cells with zero total get 1).
    batch : array-like of int, shape (N,), optional
        Batch index of each cell (``0 .. n_batch-1``); stored one-hot, shape (N, n_batch).
    n_batch : int, optional
        Number of batches (default ``max(batch) + 1``).
    """

    def __init__(self, X, *, size_factors=None, batch=None, n_batch: int | None = None) -> None:
        X = X.float() if isinstance(X, Tensor) else torch.as_tensor(np.asarray(X, dtype=np.float32))
        if X.ndim != 2:
            raise ValueError(
                f"X had shape {tuple(X.shape)} while it should have had (n_cells, n_genes)"
            )
        n = X.shape[0]
        if size_factors is None:
            total = X.sum(1).double()
            med = (
                total[total > 0].median()
                if (total > 0).any()
                else torch.tensor(1.0, dtype=torch.float64)
            )
            sf = torch.where(total > 0, total / med, torch.ones_like(total)).float()
        else:
            sf = torch.as_tensor(np.asarray(size_factors, dtype=np.float32))
            if sf.shape != (n,):
                raise ValueError(
                    f"size_factors had shape {tuple(sf.shape)} while it should have had ({n},)"
                )
        tensors = [X, sf]
        if batch is not None:
            b = torch.as_tensor(np.asarray(batch, dtype=np.int64))
            if b.shape != (n,):
                raise ValueError(
                    f"batch had shape {tuple(b.shape)} while it should have had ({n},)"
                )
            k = int(b.max()) + 1 if n_batch is None else int(n_batch)
            if b.min() < 0 or b.max() >= k:
                raise ValueError(
                    f"batch codes must lie in 0..{k - 1}, got {int(b.min())}..{int(b.max())}"
                )
            tensors.append(nn.functional.one_hot(b, k).float())
        super().__init__(*tensors)

    @property
    def X(self) -> Tensor:
        """Counts, shape (N, G)."""
        return self.tensors[0]

    @property
    def sf(self) -> Tensor:
        """Size factors, shape (N,)."""
        return self.tensors[1]

    @property
    def batch(self) -> Tensor | None:
        """One-hot batch covariate, shape (N, n_batch), or None."""
        return self.tensors[2] if len(self.tensors) > 2 else None

    def packed(self) -> Tensor:
        """``[x | sf | batch]`` as one (N, G + 1 [+ n_batch]) tensor, for batched inference."""
        parts = [self.X, self.sf.unsqueeze(1)]
        if self.batch is not None:
            parts.append(self.batch)
        return torch.cat(parts, dim=1)


# ------------------------------------------------------------------------------------------------ blocks
def make_mlp(
    sizes: Sequence[int],
    *,
    activation: str = "relu",
    batch_norm: bool = True,
    dropout: float = 0.0,
    last_activation: bool = True,
) -> nn.Sequential:
    """Stack of Linear -> [BatchNorm1d] -> activation -> [Dropout] layers.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including the input width: ``(in, h1, h2, ...)``.
    activation : str
        One of ``relu, elu, gelu, leaky_relu, tanh, softplus``.
    batch_norm : bool
        BatchNorm after each linear layer (scVI's settings: momentum 0.01, eps 1e-3).
    dropout : float
        Dropout probability after each activation.
    last_activation : bool
        Apply norm/activation/dropout after the last linear layer too.
    """
    check_choice("activation", activation, _ACTIVATIONS)
    layers: list[nn.Module] = []
    n = len(sizes) - 1
    for i in range(n):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < n - 1 or last_activation:
            if batch_norm:
                layers.append(nn.BatchNorm1d(sizes[i + 1], momentum=0.01, eps=1e-3))
            layers.append(_ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def corrupt(
    x: Tensor, rate: float, *, kind: Literal["mask", "gaussian"] = "mask"
) -> tuple[Tensor, Tensor | None]:
    """Corrupt a batch for denoising training.

    Parameters
    ----------
    x : Tensor, shape (B, G)
    rate : float
        ``"mask"``: probability of zeroing each entry. ``"gaussian"``: noise standard deviation.
    kind : {"mask", "gaussian"}

    Returns
    -------
    x_corrupt : Tensor, shape (B, G)
    mask : Tensor bool, shape (B, G), or None
        True where an entry was zeroed (``"mask"`` only).
    """
    if rate <= 0:
        return x, None
    if kind == "mask":
        m = torch.rand_like(x) < rate
        return x.masked_fill(m, 0.0), m
    return x + rate * torch.randn_like(x), None


# ------------------------------------------------------------------------------------------------ linear AE
class LinearAutoencoder(_TransformedInputModel):
    """Linear autoencoder ``x_hat = W_d W_e (x - b) + b``, trained with mean squared error.

    At its optimum the decoder's columns span the same subspace as the top ``n_latent`` principal
    components of the (transformed) data (Baldi & Hornik 1989).

    Parameters
    ----------
    n_genes : int
        Input width ``G``.
    n_latent : int, default 10
        Bottleneck width.
    input_transform : {"none", "log1p"}, default "none"
        ``"log1p"``: the model sees and reconstructs ``log1p(x / sf)``.
    """

    def __init__(
        self,
        n_genes: int,
        n_latent: int = 10,
        *,
        input_transform: Literal["none", "log1p"] = "none",
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_genes", n_genes)
        check_positive("n_latent", n_latent)
        check_choice("input_transform", input_transform, ("none", "log1p"))
        self.n_genes, self.n_latent, self.input_transform = n_genes, n_latent, input_transform
        self.bias = nn.Parameter(torch.zeros(n_genes))
        self.encoder = nn.Linear(n_genes, n_latent, bias=False)
        self.decoder = nn.Linear(n_latent, n_genes, bias=False)

    def encode(self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None) -> Tensor:
        """Latent coordinates, shape (B, n_latent)."""
        sf = _size_factors(x, sf)
        return self.encoder(self._input(x, sf) - self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction of the transformed input, shape (B, G)."""
        return self.decoder(self.encoder(x - self.bias)) + self.bias

    def predict_mean(
        self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None
    ) -> Tensor:
        """Reconstruction on the input's scale (``expm1(.) * sf`` for ``log1p``), shape (B, G)."""
        return self._reconstruct(x, sf)

    def loss(self, batch) -> dict[str, Tensor]:
        x, sf, _ = self._unpack(batch)
        h = self._input(x, sf)
        mse = ((self.forward(h) - h) ** 2).mean()
        return {"loss": mse, "mse": mse.detach()}


# ------------------------------------------------------------------------------------------------ AE / DAE
class Autoencoder(_TransformedInputModel):
    """Nonlinear autoencoder with a bottleneck on ``log1p``-normalised values, mean-squared-error loss.

    Parameters
    ----------
    n_genes : int
        Input width ``G``.
    n_latent : int, default 32
        Bottleneck width.
    hidden : sequence of int, default (64,)
        Encoder hidden widths (the decoder mirrors them).
    activation : str, default "relu"
    batch_norm : bool, default True
    dropout : float, default 0.0
        Dropout inside the hidden layers.
    input_transform : {"log1p", "none"}, default "log1p"
        ``"log1p"``: ``log1p(x / sf)`` is encoded and reconstructed; predictions are mapped back with
        ``expm1(.) * sf``.
    corruption : {"mask", "gaussian"}, default "mask"
        Input corruption during training (denoising autoencoder) when ``noise > 0``.
    noise : float, default 0.0
        Masking probability (``"mask"``) or noise standard deviation (``"gaussian"``); 0 = plain AE.
    masked_weight : float, default 1.0
        Loss weight of masked entries relative to the others (the others have weight 1).
    """

    def __init__(
        self,
        n_genes: int,
        n_latent: int = 32,
        *,
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        input_transform: Literal["log1p", "none"] = "log1p",
        corruption: Literal["mask", "gaussian"] = "mask",
        noise: float = 0.0,
        masked_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_genes", n_genes)
        check_positive("n_latent", n_latent)
        check_choice("input_transform", input_transform, ("none", "log1p"))
        check_choice("corruption", corruption, ("mask", "gaussian"))
        check_positive("noise", noise, allow_zero=True)
        self.n_genes, self.n_latent = n_genes, n_latent
        self.input_transform, self.corruption, self.noise = (
            input_transform,
            corruption,
            float(noise),
        )
        self.masked_weight = float(masked_weight)
        hidden = list(hidden)
        self.encoder = nn.Sequential(
            make_mlp(
                [n_genes, *hidden], activation=activation, batch_norm=batch_norm, dropout=dropout
            ),
            nn.Linear(hidden[-1] if hidden else n_genes, n_latent),
        )
        rev = hidden[::-1]
        self.decoder = nn.Sequential(
            make_mlp(
                [n_latent, *rev], activation=activation, batch_norm=batch_norm, dropout=dropout
            ),
            nn.Linear(rev[-1] if rev else n_latent, n_genes),
        )

    def encode(self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None) -> Tensor:
        """Latent coordinates, shape (B, n_latent)."""
        sf = _size_factors(x, sf)
        return self.encoder(self._input(x, sf))

    def forward(self, h: Tensor) -> Tensor:
        """Reconstruction of a transformed input ``h`` (B, G)."""
        return self.decoder(self.encoder(h))

    def predict_mean(
        self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None
    ) -> Tensor:
        """Denoised values on the input's scale, shape (B, G)."""
        return self._reconstruct(x, sf, max_log=30)

    def loss(self, batch) -> dict[str, Tensor]:
        x, sf, _ = self._unpack(batch)
        h = self._input(x, sf)
        if self.training and self.noise > 0:
            h_in, m = corrupt(h, self.noise, kind=self.corruption)
        else:
            h_in, m = h, None
        err = (self.forward(h_in) - h) ** 2
        mse = _weighted_mean(err, m, self.masked_weight)
        return {"loss": mse, "mse": err.mean().detach()}


class DenoisingAutoencoder(Autoencoder):
    """:class:`Autoencoder` trained on corrupted inputs (20 % of entries masked by default).

    Same parameters as :class:`Autoencoder`; only the defaults of ``noise`` (0.2) and
    ``masked_weight`` differ.
    """

    def __init__(
        self,
        n_genes: int,
        n_latent: int = 32,
        *,
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        input_transform: Literal["log1p", "none"] = "log1p",
        corruption: Literal["mask", "gaussian"] = "mask",
        noise: float = 0.2,
        masked_weight: float = 1.0,
    ) -> None:
        super().__init__(
            n_genes,
            n_latent,
            hidden=hidden,
            activation=activation,
            batch_norm=batch_norm,
            dropout=dropout,
            input_transform=input_transform,
            corruption=corruption,
            noise=noise,
            masked_weight=masked_weight,
        )
        self._store_config(locals())


def _weighted_mean(err: Tensor, mask: Tensor | None, masked_weight: float) -> Tensor:
    if mask is None or masked_weight == 1.0:
        return err.mean()
    w = 1.0 + (masked_weight - 1.0) * mask.float()
    return (err * w).sum() / w.sum()


# ------------------------------------------------------------------------------------------------ count AE
_LOG_RATE_RANGE = (-11.5, 16.6)
"""Clamp of the count autoencoder's log rate: ``[1e-5, 2**24]`` counts in a cell with size factor 1 (float32
holds integers exactly up to ``2**24``, the largest count the models accept)."""


class CountAutoencoder(_UnsupervisedModel):
    """Count autoencoder with a negative binomial or zero-inflated NB likelihood (DCA, Eraslan 2019).

    The encoder sees ``log1p(x / sf)``; the decoder has three heads: the mean
    ``mu = sf * exp(.)`` (the rate ``exp(.)`` clamped to ``[1e-5, 2**24]`` before the size factor; DCA
    clamps at ``1e6``), the inverse dispersion ``theta`` (per gene, or per cell and gene with
    ``dispersion="cell-gene"``) and, for ZINB, the dropout logits. Loss: the mean negative
    log-likelihood of the counts, with masked (denoising) training by default.

    The rate is a count of a cell with size factor 1, so its scale is the data's: about 1 for UMI
    counts, thousands for bulk-scale counts. :meth:`init_rates` starts the mean head's bias at each
    gene's average rate, so that training starts on the data's scale whatever the library size
    (:func:`genodeep.sc.training.fit_count_model` calls it).

    Parameters
    ----------
    n_genes : int
        Number of genes ``G``.
    n_latent : int, default 16
        Bottleneck width (DCA used 32; 16 recovers held-out entries better on pbmc68k).
    hidden : sequence of int, default (64,)
        Encoder hidden widths; the decoder mirrors them (DCA: 64-32-64).
    likelihood : {"zinb", "nb"}, default "zinb"
    dispersion : {"gene", "cell-gene"}, default "gene"
        A free inverse dispersion per gene, or a decoder head per cell and gene (DCA's "conddisp").
    n_batch : int, default 0
        Width of a one-hot batch covariate fed to the encoder and decoder (0 = none).
    activation, batch_norm
        See :func:`make_mlp`.
    dropout : float, default 0.2
        Dropout in the hidden layers (a regulariser that helps imputation of held-out entries).
    mask_rate : float, default 0.1
        Fraction of input entries zeroed at each training step (0 = plain reconstruction).
    masked_weight : float, default 10.0
        Loss weight of the masked entries (others 1); masked entries carry the imputation signal.
    """

    def __init__(
        self,
        n_genes: int,
        n_latent: int = 16,
        *,
        hidden: Sequence[int] = (64,),
        likelihood: Literal["zinb", "nb"] = "zinb",
        dispersion: Literal["gene", "cell-gene"] = "gene",
        n_batch: int = 0,
        activation: str = "relu",
        batch_norm: bool = True,
        dropout: float = 0.2,
        mask_rate: float = 0.1,
        masked_weight: float = 10.0,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_genes", n_genes)
        check_positive("n_latent", n_latent)
        check_choice("likelihood", likelihood, ("zinb", "nb"))
        check_choice("dispersion", dispersion, ("gene", "cell-gene"))
        check_positive("mask_rate", mask_rate, allow_zero=True)
        if mask_rate >= 1:
            raise ValueError(f"mask_rate must be < 1, got {mask_rate}")
        self.n_genes, self.n_latent, self.n_batch = n_genes, n_latent, int(n_batch)
        self.likelihood, self.dispersion = likelihood, dispersion
        self.mask_rate, self.masked_weight = float(mask_rate), float(masked_weight)
        hidden = list(hidden)
        kw = dict(activation=activation, batch_norm=batch_norm, dropout=dropout)
        self.encoder = nn.Sequential(
            make_mlp([n_genes + self.n_batch, *hidden], **kw),
            nn.Linear(hidden[-1] if hidden else n_genes + self.n_batch, n_latent),
        )
        rev = hidden[::-1]
        self.decoder = make_mlp([n_latent + self.n_batch, *rev], **kw) if rev else nn.Identity()
        width = rev[-1] if rev else n_latent + self.n_batch
        self.mean_head = nn.Linear(width, n_genes)
        if dispersion == "cell-gene":
            self.theta_head = nn.Linear(width, n_genes)
        else:
            self.log_theta = nn.Parameter(torch.zeros(n_genes))
        if likelihood == "zinb":
            self.pi_head = nn.Linear(width, n_genes)

    # -- pieces
    def _cat(self, h: Tensor, b: Tensor | None) -> Tensor:
        return h if b is None else torch.cat([h, b], dim=-1)

    @torch.no_grad()
    def init_rates(self, x: Tensor, sf: Tensor) -> None:
        """Set the mean head's bias to ``log(mean over cells of x / sf)`` per gene.

        Parameters
        ----------
        x : Tensor, shape (N, G)
            The training counts.
        sf : Tensor, shape (N,)
            Their size factors.

        Notes
        -----
        Without it the rates start near 1 (bias 0), which is right for UMI counts but thousands of
        times too small for bulk-scale counts; the network then spends its training on the scale and
        returns means that barely correlate with the data.
        """
        rate = (x.double() / sf.double().clamp_min(1e-8).unsqueeze(-1)).mean(0)
        lo, hi = _LOG_RATE_RANGE
        log_rate = rate.clamp_min(1e-300).log().clamp(lo, hi)
        self.mean_head.bias.copy_(log_rate.to(self.mean_head.bias))

    def encode(self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None) -> Tensor:
        """Bottleneck coordinates, shape (B, n_latent)."""
        sf = _size_factors(x, sf)
        return self.encoder(self._cat(_log1p_norm(x, sf), batch))

    def decode(self, z: Tensor, sf: Tensor, batch: Tensor | None = None) -> dict[str, Tensor]:
        """Distribution parameters from latent ``z``.

        Returns
        -------
        dict with ``"mu"`` (B, G) mean counts, ``"theta"`` (B, G) or (G,) inverse dispersion and, for
        ZINB, ``"pi_logits"`` (B, G).
        """
        h = self.decoder(self._cat(z, batch))
        mu = torch.exp(self.mean_head(h).clamp(*_LOG_RATE_RANGE)) * sf.unsqueeze(-1)
        if self.dispersion == "cell-gene":
            theta = torch.exp(self.theta_head(h).clamp(-9.0, 9.0))
        else:
            theta = torch.exp(self.log_theta.clamp(-9.0, 9.0))
        out = {"mu": mu, "theta": theta}
        if self.likelihood == "zinb":
            out["pi_logits"] = self.pi_head(h)
        return out

    def forward(
        self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Distribution parameters for counts ``x`` (B, G); see :meth:`decode`."""
        sf = _size_factors(x, sf)
        return self.decode(self.encode(x, sf, batch), sf, batch)

    def predict_mean(
        self, x: Tensor, sf: Tensor | None = None, batch: Tensor | None = None
    ) -> Tensor:
        """Denoised counts: the NB mean ``mu``, shape (B, G)."""
        return self.forward(x, sf, batch)["mu"]

    def log_prob(self, x: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Elementwise log-likelihood of counts ``x`` (B, G) under ``params`` from :meth:`decode`."""
        theta = params["theta"].expand_as(x)
        if self.likelihood == "zinb":
            return zinb_log_prob(x, params["mu"], theta, params["pi_logits"])
        return nb_log_prob(x, params["mu"], theta)

    def loss(self, batch) -> dict[str, Tensor]:
        x, sf, b = self._unpack(batch)
        if self.training and self.mask_rate > 0:
            x_in, m = corrupt(x, self.mask_rate)
        else:
            x_in, m = x, None
        params = self.forward(x_in, sf, b)
        nll = -self.log_prob(x, params)
        loss = _weighted_mean(nll, m, self.masked_weight)
        return {"loss": loss, "nll": nll.mean().detach()}
