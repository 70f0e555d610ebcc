"""A generative adversarial network for expression profiles (WGAN-GP).

:class:`ExpressionGAN` learns to generate ``log1p``-normalised expression profiles (as scGAN,
Marouf et al. 2020, and the GANs of the review's Fig. 6). It uses the Wasserstein loss with a gradient
penalty (Gulrajani et al. 2017), the stable recipe: a critic without normalisation layers and
LeakyReLU activations, a generator with batch normalisation and a ReLU output (expression is
non-negative and often exactly zero), Adam with ``betas=(0.5, 0.9)``.

It is trained by :func:`genodeep.train.fit` through the alternating-objective contract of
:class:`genodeep.train.lightning.GenodeepTask`: ``loss_steps = ("critic", "generator")``,
``parameters_for(step)`` and ``loss(batch, step)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from genodeep._device import model_on, resolve_device
from genodeep._validate import check_choice, check_positive
from genodeep.sc._base import _UnsupervisedModel
from genodeep.sc.training import fit_last_epoch

__all__ = ["ExpressionGAN", "fit_gan", "sample_gan"]

Tensor = torch.Tensor


class ExpressionGAN(_UnsupervisedModel):
    """Wasserstein GAN with gradient penalty for expression profiles.

    Parameters
    ----------
    n_genes : int
        Profile length ``G``.
    n_noise : int, default 64
        Dimension of the generator's Gaussian input.
    generator_hidden : sequence of int, default (256, 512)
        Generator hidden widths (Linear -> BatchNorm -> LeakyReLU).
    critic_hidden : sequence of int, default (512, 256)
        Critic hidden widths (Linear -> LeakyReLU).
    gp_weight : float, default 10.0
        Weight of the gradient penalty ``(||grad critic(x_hat)|| - 1)^2``.
    n_critic : int, default 5
        Critic updates per generator update: the generator step of a training batch is skipped
        (its parameters get no gradient, so Adam leaves them alone) except every ``n_critic``-th batch;
        a skipped step reports the last generator loss, so the logged curve stays readable.
    batch_norm : bool, default True
        Batch normalisation in the generator's hidden layers.
    library_size : float, optional
        Library-size normalisation layer (scGAN's LSN): the generator's non-negative outputs ``r`` are
        rescaled to ``r / sum(r) * library_size`` and returned as ``log1p`` of that, so every generated
        profile has exactly the total of the normalised real profiles (``log1p`` of counts normalised
        to ``library_size``). ``None``: the ReLU outputs are the profiles.

    Notes
    -----
    Batches are tuples ``(x,)`` (or a tensor, or a dict with ``"x"``) of real profiles (B, G) on
    the scale the generator should produce (``log1p`` normalised counts).
    """

    loss_steps = ("critic", "generator")

    def __init__(
        self,
        n_genes: int,
        n_noise: int = 64,
        *,
        generator_hidden: Sequence[int] = (256, 512),
        critic_hidden: Sequence[int] = (512, 256),
        gp_weight: float = 10.0,
        n_critic: int = 5,
        batch_norm: bool = True,
        library_size: float | None = None,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_genes", n_genes)
        check_positive("n_noise", n_noise)
        check_positive("gp_weight", gp_weight, allow_zero=True)
        self.n_genes, self.n_noise, self.n_latent = n_genes, n_noise, n_noise
        check_positive("n_critic", n_critic)
        self.gp_weight, self.n_critic = float(gp_weight), int(n_critic)
        if library_size is not None:
            check_positive("library_size", library_size)
        self.library_size = None if library_size is None else float(library_size)
        self.register_buffer(
            "_generator_calls", torch.zeros((), dtype=torch.long), persistent=False
        )
        # receives the (zero) gradient of a skipped generator step; no optimizer owns it
        self._skip = nn.Parameter(torch.zeros(()), requires_grad=True)
        self._last_generator_loss = torch.zeros(())
        g: list[nn.Module] = []
        width = n_noise
        for h in generator_hidden:
            g += (
                [nn.Linear(width, h)]
                + ([nn.BatchNorm1d(h)] if batch_norm else [])
                + [nn.LeakyReLU(0.2)]
            )
            width = h
        g += [nn.Linear(width, n_genes), nn.ReLU()]
        self.generator = nn.Sequential(*g)
        c: list[nn.Module] = []
        width = n_genes
        for h in critic_hidden:
            c += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        c += [nn.Linear(width, 1)]
        self.critic = nn.Sequential(*c)

    def parameters_for(self, step: str):
        """Parameters updated by ``step`` (``"critic"`` or ``"generator"``)."""
        check_choice("step", step, self.loss_steps)
        return (self.critic if step == "critic" else self.generator).parameters()

    def forward(self, z: Tensor) -> Tensor:
        """Generated profiles (B, G) from noise ``z`` (B, n_noise)."""
        r = self.generator(z)
        if self.library_size is None:
            return r
        total = r.sum(-1, keepdim=True).clamp_min(1e-6)
        return torch.log1p(r / total * self.library_size)

    def _real(self, batch) -> Tensor:
        if isinstance(batch, Mapping):
            return batch["x"].float()
        if isinstance(batch, (tuple, list)):
            return batch[0].float()
        return batch.float()

    def gradient_penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """Mean of ``(||d critic / d x_hat|| - 1)^2`` at random interpolates of real and fake."""
        eps = torch.rand(real.shape[0], 1, device=real.device, dtype=real.dtype)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out = self.critic(x_hat)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()

    def _set_critic_grad(self, flag: bool) -> None:
        for p in self.critic.parameters():
            p.requires_grad_(flag)

    def loss(self, batch, step: str | None = None) -> dict[str, Tensor]:
        """Critic loss, generator loss, or (``step=None``) the critic's Wasserstein estimate.

        Returns
        -------
        dict with ``"loss"`` and ``"wasserstein"`` (critic(real) - critic(fake), batch means).
        """
        real = self._real(batch)
        z = torch.randn(real.shape[0], self.n_noise, device=real.device)
        if step == "generator":
            self._set_critic_grad(False)  # gradients flow through the critic, not into it
            calls = int(self._generator_calls)
            self._generator_calls += 1
            if calls % self.n_critic != 0:
                # no gradient reaches the generator; the logged value repeats the last real step's
                return {"loss": self._skip * 0.0 + self._last_generator_loss}
            fake = self(z)
            loss = -self.critic(fake).mean()
            self._last_generator_loss = loss.detach()
            return {"loss": loss}
        self._set_critic_grad(True)
        with torch.no_grad():
            fake = self(z)
        d_real, d_fake = self.critic(real).mean(), self.critic(fake).mean()
        w = d_real - d_fake
        if step is None or not torch.is_grad_enabled():
            return {"loss": -w, "wasserstein": w.detach()}
        gp = self.gradient_penalty(real, fake)
        return {"loss": -w + self.gp_weight * gp, "wasserstein": w.detach(), "gp": gp.detach()}

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """``n`` generated profiles (n, G) (eval-mode batch norm; torch's global generator)."""
        dev = next(self.parameters()).device
        return self(torch.randn(n, self.n_noise, device=dev))


def fit_gan(
    X: np.ndarray,
    *,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    out_dir: str | os.PathLike | None = None,
    device=None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Train an :class:`ExpressionGAN` on profiles ``X`` with :func:`genodeep.train.fit`.

    Parameters
    ----------
    X : np.ndarray, shape (N, G)
        Real profiles (``log1p`` normalised counts).
    model_kwargs : dict, optional
        Constructor arguments of :class:`ExpressionGAN`.
    max_epochs : int, default 300
    batch_size : int, default 64
    lr : float, default 2e-4
        Adam learning rate (``betas=(0.5, 0.9)``) of both players.
    out_dir : path, optional
        Keep the checkpoints and history there.
    device, random_state, verbose
        As for :func:`genodeep.sc.fit_count_model`.

    Returns
    -------
    gan : ExpressionGAN
        The generator and critic after the last epoch (GAN losses do not pick a "best" epoch).
    history : pandas.DataFrame
        Per epoch: ``train_loss_critic``, ``train_loss_generator``, ``train_critic_wasserstein``, ...
    params : dict
        Model configuration and training settings.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X had shape {X.shape} while it should have had (n_cells, n_genes)")
    max_epochs = 300 if max_epochs is None else int(max_epochs)
    batch_size = 64 if batch_size is None else int(batch_size)
    lr = 2e-4 if lr is None else float(lr)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        gan = ExpressionGAN(X.shape[1], **dict(model_kwargs or {}))
    gan, history = fit_last_epoch(
        gan,
        TensorDataset(torch.from_numpy(X)),
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer_kwargs={"betas": (0.5, 0.9)},
        out_dir=out_dir,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    gan._set_critic_grad(True)
    gan = gan.cpu().eval()
    params = {
        "model": "gan",
        "config": dict(gan.config),
        "training": {
            "max_epochs": max_epochs,
            "batch_size": batch_size,
            "lr": lr,
            "betas": [0.5, 0.9],
            "random_state": random_state,
        },
    }
    return gan, history, params


def sample_gan(
    gan: ExpressionGAN, n: int, *, device=None, random_state: int | None = 0
) -> np.ndarray:
    """``n`` profiles from a trained GAN as a float32 array (n, G), reproducible with ``random_state``."""
    check_positive("n", n)
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[] if dev.type == "cpu" else [dev.index or 0]):
        if random_state is not None:
            torch.manual_seed(random_state)
        with model_on(gan, dev) as g:
            return g.sample(n).cpu().numpy().astype(np.float32)
