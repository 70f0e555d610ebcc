"""Shared pieces of the single-cell models: the unsupervised base classes and input transforms.

:class:`_UnsupervisedModel` keeps the constructor arguments in ``model.config``, unpacks the batches of
:class:`~genodeep.sc.models.CountDataset` (tuples or dicts with ``"x"``, ``"sf"``, ``"batch"``) and
applies a method to packed ``[x | sf | batch]`` tensors; :class:`_TransformedInputModel` adds the
``log1p(x / sf)`` input transform of the autoencoders.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

Tensor = torch.Tensor


def _log1p_norm(x: Tensor, sf: Tensor) -> Tensor:
    return torch.log1p(x / sf.clamp_min(1e-8).unsqueeze(-1))


def _size_factors(x: Tensor, sf: Tensor | None) -> Tensor:
    """``sf`` (B,) as given, or ones (B,) on ``x``'s device when ``None``; ``x`` has shape (B, G)."""
    return torch.ones(x.shape[0], device=x.device) if sf is None else sf


class _UnsupervisedModel(nn.Module):
    """Config capture and the batch-unpacking helpers shared by the autoencoders."""

    n_genes: int
    n_latent: int
    n_batch: int = 0

    def _store_config(self, args: Mapping[str, Any]) -> None:
        sig = inspect.signature(type(self).__init__)
        cfg = {}
        for name in sig.parameters:
            if name != "self" and name in args:
                v = args[name]
                cfg[name] = list(v) if isinstance(v, tuple) else v
        self.config: dict[str, Any] = cfg

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _unpack(self, batch) -> tuple[Tensor, Tensor, Tensor | None]:
        if isinstance(batch, Mapping):
            x = batch["x"]
            sf = batch.get("sf")
            b = batch.get("batch")
        elif isinstance(batch, (tuple, list)):
            x = batch[0]
            sf = batch[1] if len(batch) > 1 else None
            b = batch[2] if len(batch) > 2 else None
        else:
            x, sf, b = batch, None, None
        x = x if x.is_floating_point() else x.float()
        if sf is None:
            sf = torch.ones(x.shape[0], device=x.device, dtype=x.dtype)
        if self.n_batch and b is None:
            raise ValueError(
                f"{type(self).__name__} was built with n_batch={self.n_batch} but the data has no batch "
                "one-hot; build the CountDataset with batch=codes"
            )
        sf = sf.to(x.dtype).reshape(-1)
        return x, sf, None if b is None or not self.n_batch else b.to(x.dtype)

    def packed_apply(self, fn_name: str):
        """A function of one packed tensor ``[x | sf | batch]`` (for ``genodeep._batching``)."""
        G = self.n_genes

        def fn(xb: Tensor):
            x, sf = xb[:, :G], xb[:, G]
            b = xb[:, G + 1 :] if self.n_batch else None
            return getattr(self, fn_name)(x, sf, b)

        return fn


class _TransformedInputModel(_UnsupervisedModel):
    """An autoencoder that reads ``x`` as given or as ``log1p(x / sf)`` (``input_transform``)."""

    input_transform: str = "none"

    def _input(self, x: Tensor, sf: Tensor) -> Tensor:
        """What the network sees for ``x`` (B, G) with size factors ``sf`` (B,): shape (B, G)."""
        return _log1p_norm(x, sf) if self.input_transform == "log1p" else x

    def _reconstruct(self, x: Tensor, sf: Tensor | None, *, max_log: float | None = None) -> Tensor:
        """``forward`` of ``x`` (B, G) on the input's scale, shape (B, G).

        With ``input_transform="log1p"`` the output ``y`` is mapped back as ``expm1(y) * sf`` (``y``
        first capped at ``max_log`` when given; negative values set to 0).
        """
        sf = _size_factors(x, sf)
        y = self.forward(self._input(x, sf))
        if self.input_transform == "log1p":
            if max_log is not None:
                y = y.clamp(max=max_log)
            y = torch.expm1(y).clamp_min(0) * sf.unsqueeze(-1)
        return y
