"""Dilated residual CNN (BPNet / Basenji style) with profile, count or pooled heads.

Trunk (``local``): conv (``filters`` x ``first_kernel``, "same" padding) -> activation ->
``n_layers`` x :class:`genodeep.nn.ResidualDilatedConv` (kernel ``kernel_size``, dilation ``2**i`` for
``i = 1 .. n_layers``), all keeping the length ``L``; the receptive field grows exponentially with depth.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import SequenceModel
from genodeep.nn.layers import (
    Activation,
    GlobalPool,
    ResidualDilatedConv,
    conv_geometry,
    make_activation,
    same_padding,
)

Heads = Literal["profile+count", "profile", "global"]


class _BPNetHead(nn.Module):
    """Heads on the trunk output ``h`` of shape ``(N, filters, L)``.

    * profile: conv (``n_tasks`` x ``profile_kernel``, "same") cropped by ``trim`` at both ends ->
      ``(N, n_tasks, L - 2*trim)`` per-position logits.
    * count / global: global pool of ``h`` over all ``L`` positions -> linear -> ``(N, n_tasks)``.
    """

    def __init__(
        self,
        filters: int,
        n_tasks: int,
        *,
        heads: Heads,
        profile_kernel: int,
        trim: int,
        pool: Literal["avg", "max"],
    ) -> None:
        super().__init__()
        self.heads, self.trim, self.pool = heads, trim, pool
        self.profile = (
            nn.Conv1d(filters, n_tasks, profile_kernel, padding=same_padding(profile_kernel))
            if heads in ("profile+count", "profile")
            else None
        )
        self.linear = nn.Linear(filters, n_tasks) if heads in ("profile+count", "global") else None
        # a module (not a tensor op) so that DeepLIFT applies its max-pool rule to the max
        self.global_pool = GlobalPool(pool) if self.linear is not None else None

    def forward(self, h: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        profile = counts = None
        if self.profile is not None:
            profile = self.profile(h)
            if self.trim:
                profile = profile[..., self.trim : h.shape[-1] - self.trim]
        if self.linear is not None:
            counts = self.linear(self.global_pool(h))
        if profile is None:
            return counts
        if counts is None:
            return profile
        return profile, counts


class BPNet(SequenceModel):
    """BPNet-style dilated residual CNN; also a Basenji-style classifier/regressor with ``heads="global"``.

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks/tracks ``T``.
    in_channels : int, default 4
        Input channels.
    filters : int, default 64
        Channels of the trunk.
    first_kernel : int, default 21
        Width of the first convolution.
    n_layers : int, default 8
        Residual dilated layers; layer ``i`` (1-based) has dilation ``2**i``.
    kernel_size : int, default 3
        Width of the dilated convolutions.
    activation : str, default "relu"
        Activation of the trunk.
    heads : {"profile+count", "profile", "global"}, default "profile+count"
        "profile+count": returns ``(profile, counts)``: profile logits ``(N, T, L - 2*trim)`` (softmax
        over positions gives the profile shape) and log total counts ``(N, T)`` from a global pool of the
        trunk + linear layer. "profile": only the profile ``(N, T, L - 2*trim)`` (per-position tracks).
        "global": only the pooled linear output ``(N, T)`` -- logits for binary tasks or values for
        regression, i.e. the same trunk used as a sequence classifier.
    profile_kernel : int, default 75
        Width of the profile head's convolution.
    trim : int, default 0
        Positions cropped from each end of the profile output.
    pool : {"avg", "max"}, default "avg"
        Global pooling of the count/global head over all ``L`` trunk positions.

    Notes
    -----
    ``receptive_field``: with a profile head, the input positions one profile output position depends on,
    ``first_kernel + sum_i (kernel_size-1)*2**i + profile_kernel - 1`` (8 layers, defaults:
    21 + 1020 + 74 = 1115); for ``heads="global"`` that of one trunk output position (1041 with defaults).
    The count/global head pools the whole trunk, so it sees the whole input.
    ``split_local()`` returns the trunk as ``local`` (whose per-position receptive field is
    ``conv_geometry(local).receptive_field``, 1041 with defaults) and the heads as ``head``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        in_channels: int = 4,
        filters: int = 64,
        first_kernel: int = 21,
        n_layers: int = 8,
        kernel_size: int = 3,
        activation: Activation = "relu",
        heads: Heads = "profile+count",
        profile_kernel: int = 75,
        trim: int = 0,
        pool: Literal["avg", "max"] = "avg",
    ) -> None:
        super().__init__()
        self._store_config(locals())
        for name, value in (
            ("n_tasks", n_tasks),
            ("in_channels", in_channels),
            ("filters", filters),
            ("first_kernel", first_kernel),
            ("kernel_size", kernel_size),
            ("profile_kernel", profile_kernel),
        ):
            check_positive(name, value)
        check_positive("n_layers", n_layers, allow_zero=True)
        check_positive("trim", trim, allow_zero=True)
        check_choice("heads", heads, ("profile+count", "profile", "global"))
        check_choice("pool", pool, ("avg", "max"))
        self.n_tasks, self.input_length, self.in_channels = n_tasks, None, in_channels
        self.heads, self.trim = heads, trim
        self.local = nn.Sequential(
            nn.Conv1d(in_channels, filters, first_kernel, padding=same_padding(first_kernel)),
            make_activation(activation),
            *[
                ResidualDilatedConv(filters, kernel_size, 2**i, activation)
                for i in range(1, n_layers + 1)
            ],
        )
        self.head = _BPNetHead(
            filters, n_tasks, heads=heads, profile_kernel=profile_kernel, trim=trim, pool=pool
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, L)`` -> ``(profile (N, T, L - 2*trim), counts (N, T))``, or one of them (``heads``)."""
        x = self._check_input(x)
        if x.shape[-1] <= 2 * self.trim:
            raise ValueError(
                f"x has length {x.shape[-1]} but trim={self.trim} crops {2 * self.trim} positions; "
                "use longer sequences or a smaller trim"
            )
        return self.head(self.local(x))

    def split_local(self) -> tuple[nn.Sequential, nn.Module]:
        """``(local, head)``: the dilated residual trunk (length-preserving) and the heads."""
        return self.local, self.head

    @property
    def receptive_field(self) -> int:
        """Bases one profile output position sees (trunk + profile kernel); trunk only for "global"."""
        rf = conv_geometry(self.local).receptive_field
        if self.head.profile is not None:
            rf += self.head.profile.kernel_size[0] - 1
        return rf

    def output_geometry(self, length: int) -> tuple[int, int, int]:
        """``(offset, n_out, bin_size)`` of the profile: output ``j`` covers input base ``trim + j``.

        Output position ``j`` covers input bases ``[offset + j*bin_size, offset + (j+1)*bin_size)``;
        here ``(trim, length - 2*trim, 1)``.

        Raises
        ------
        ValueError
            For ``heads="global"`` (no profile output) or ``length <= 2*trim``.
        """
        if self.heads == "global":
            raise ValueError(
                'this BPNet has heads="global", which has no profile output and so no output '
                'geometry. Fix: build it with heads="profile+count" or heads="profile"'
            )
        length = self._resolve_length(length)
        if length <= 2 * self.trim:
            raise ValueError(f"length={length} must exceed 2*trim={2 * self.trim}")
        return self.trim, length - 2 * self.trim, 1

    def output_shape(self, length: int | None = None) -> tuple:
        """``((T, L - 2*trim), (T,))`` for "profile+count", ``(T, L - 2*trim)`` or ``(T,)`` otherwise."""
        length = self._resolve_length(length)
        if length <= 2 * self.trim:
            raise ValueError(f"length={length} must exceed 2*trim={2 * self.trim}")
        profile = (self.n_tasks, length - 2 * self.trim)
        if self.heads == "profile+count":
            return profile, (self.n_tasks,)
        if self.heads == "profile":
            return profile
        return (self.n_tasks,)
