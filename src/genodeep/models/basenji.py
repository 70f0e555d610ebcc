"""Basenji / Enformer-lite: binned coverage tracks from sequence.

Trunk (``local``): stem conv (``filters`` x 15, "same") -> activation -> ``log2(bin_size)`` pooling blocks
(conv ``filters`` x 5 "same" -> BatchNorm -> activation -> MaxPool(2)), which bring the resolution from one
base to one bin of ``bin_size`` bases, -> ``n_dilated`` x :class:`genodeep.nn.ResidualDilatedConv` at bin
resolution (kernel 3, dilations 1, ``dilation_rate``, ``dilation_rate**2``, ... rounded half up).
Head: crop ``crop_bins`` bins from each end -> pointwise conv -> activation -> dropout -> 1x1 conv to
``n_tasks`` tracks.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from genodeep._validate import check_positive
from genodeep.models.base import SequenceModel, _prob_list
from genodeep.nn.layers import Activation, ResidualDilatedConv, make_activation, same_padding

#: width of the stem convolution and of the pooling blocks' convolutions, and the dilated kernel
STEM_KERNEL = 15
TOWER_KERNEL = 5
DILATED_KERNEL = 3


def dilation_schedule(n_dilated: int, dilation_rate: float) -> list[int]:
    """Dilations ``round(dilation_rate**i)`` for ``i = 0 .. n_dilated-1`` (rounded half up).

    Parameters
    ----------
    n_dilated : int
        Number of dilated layers.
    dilation_rate : float
        Growth factor (>= 1).

    Returns
    -------
    list of int
        E.g. ``[1, 2, 4, 8]`` for ``(4, 2.0)``, ``[1, 2, 2, 3, 5]`` for ``(5, 1.5)``.
    """
    out, d = [], 1.0
    for _ in range(n_dilated):
        out.append(max(1, int(math.floor(d + 0.5))))
        d *= dilation_rate
    return out


class _BinnedHead(nn.Module):
    """``(N, filters, n_bins) -> (N, n_tasks, n_bins - 2*crop_bins)``: crop, pointwise conv, act, 1x1 conv."""

    def __init__(
        self, filters: int, n_tasks: int, *, crop_bins: int, activation: Activation, dropout: float
    ) -> None:
        super().__init__()
        self.crop_bins = crop_bins
        self.pointwise = nn.Conv1d(filters, filters, 1)
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Conv1d(filters, n_tasks, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.crop_bins:
            h = h[..., self.crop_bins : h.shape[-1] - self.crop_bins]
        return self.out(self.dropout(self.act(self.pointwise(h))))


class Basenji(SequenceModel):
    """Basenji-style binned coverage regressor: ``(N, 4, L) -> (N, T, L // bin_size - 2*crop_bins)``.

    The outputs are linear: train them as **log-rates** with a Poisson NLL whose input is the log-rate
    (:class:`genodeep.train.losses.PoissonNLL`; predictions are then ``exp(output)``), or as values with
    MSE (e.g. against ``log1p`` coverage).

    Parameters
    ----------
    n_tasks : int, default 1
        Output tracks ``T``.
    in_channels : int, default 4
        Input channels.
    filters : int, default 64
        Channels of every convolution.
    bin_size : int, default 32
        Bases per output bin; a power of two (1, 2, 4, ...). The tower has ``log2(bin_size)`` pooling
        blocks.
    n_dilated : int, default 4
        Residual dilated layers at bin resolution.
    dilation_rate : float, default 2.0
        Growth of the dilation from layer to layer (>= 1); see :func:`dilation_schedule`.
    crop_bins : int, default 0
        Bins cropped from each end of the output (edge bins see padding).
    activation : str, default "gelu"
        Activation of every block.
    dropout : float, default 0.1
        Dropout after the pointwise layer of the head.

    Notes
    -----
    The input length ``L`` must be a multiple of ``bin_size``. Output bin ``j`` covers input bases
    ``[(crop_bins + j) * bin_size, (crop_bins + j + 1) * bin_size)`` (:meth:`output_geometry`).
    ``receptive_field`` is the number of bases one output bin depends on:
    ``15 + 5*(bin_size - 1) + 2*bin_size*sum(dilations)`` (1130 with defaults: 15 + 155 + 960).
    ``split_local()`` returns the stem, pooling tower and dilated layers as ``local`` and the crop and
    pointwise layers as ``head``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        in_channels: int = 4,
        filters: int = 64,
        bin_size: int = 32,
        n_dilated: int = 4,
        dilation_rate: float = 2.0,
        crop_bins: int = 0,
        activation: Activation = "gelu",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        for name, value in (
            ("n_tasks", n_tasks),
            ("in_channels", in_channels),
            ("filters", filters),
        ):
            check_positive(name, value)
        check_positive("n_dilated", n_dilated, allow_zero=True)
        check_positive("crop_bins", crop_bins, allow_zero=True)
        n_pool = _n_pool(bin_size)
        if not isinstance(dilation_rate, numbers.Real) or not dilation_rate >= 1:
            raise ValueError(
                f"dilation_rate must be a number >= 1, got {dilation_rate!r}. Fix: use e.g. "
                "dilation_rate=2.0 (dilations 1, 2, 4, ...)"
            )
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.input_length, self.in_channels = n_tasks, None, in_channels
        self.bin_size, self.crop_bins = int(bin_size), int(crop_bins)
        self.dilations = dilation_schedule(n_dilated, float(dilation_rate))
        layers: list[nn.Module] = [
            nn.Conv1d(in_channels, filters, STEM_KERNEL, padding=same_padding(STEM_KERNEL)),
            make_activation(activation),
        ]
        for _ in range(n_pool):
            layers += [
                nn.Conv1d(filters, filters, TOWER_KERNEL, padding=same_padding(TOWER_KERNEL)),
                nn.BatchNorm1d(filters),
                make_activation(activation),
                nn.MaxPool1d(2),
            ]
        layers += [
            ResidualDilatedConv(filters, DILATED_KERNEL, d, activation) for d in self.dilations
        ]
        self.local = nn.Sequential(*layers)
        self.head = _BinnedHead(
            filters, n_tasks, crop_bins=self.crop_bins, activation=activation, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, L)`` -> ``(N, T, L // bin_size - 2*crop_bins)`` log-rates (or values)."""
        x = self._check_input(x)
        self._n_bins(x.shape[-1])
        return self.head(self.local(x))

    def split_local(self) -> tuple[nn.Sequential, nn.Module]:
        """``(local, head)``: stem + pooling tower + dilated layers, and crop + pointwise head."""
        return self.local, self.head

    def output_shape(self, length: int | None = None) -> tuple[int, int]:
        """``(T, L // bin_size - 2*crop_bins)``."""
        return self.n_tasks, self._n_bins(self._resolve_length(length)) - 2 * self.crop_bins

    def output_geometry(self, length: int) -> tuple[int, int, int]:
        """``(offset, n_out, bin_size)``: output ``j`` covers bases ``[offset + j*b, offset + (j+1)*b)``.

        Here ``(crop_bins * bin_size, L // bin_size - 2*crop_bins, bin_size)``.
        """
        n_out = self.output_shape(length)[1]
        return self.crop_bins * self.bin_size, n_out, self.bin_size

    def _n_bins(self, length: int) -> int:
        """Bins of the tower output for an input of ``length`` bases (checks divisibility and crop)."""
        b = self.bin_size
        if length % b:
            lo, hi = (length // b) * b, (length // b + 1) * b
            raise ValueError(
                f"input length {length} is not a multiple of bin_size={b}. Fix: use windows of "
                f"{lo or hi} or {hi} bases (a multiple of {b}), or another bin_size"
            )
        n = length // b
        if n <= 2 * self.crop_bins:
            raise ValueError(
                f"input length {length} gives {n} bins of {b} bases, but crop_bins={self.crop_bins} "
                f"crops {2 * self.crop_bins}. Fix: use windows longer than "
                f"{2 * self.crop_bins * b} bases or a smaller crop_bins"
            )
        return n


def _n_pool(bin_size: int) -> int:
    """``log2(bin_size)``; raises unless ``bin_size`` is a power of two >= 1."""
    ok = isinstance(bin_size, numbers.Integral) and not isinstance(bin_size, bool) and bin_size >= 1
    if not ok or int(bin_size) & (int(bin_size) - 1):
        hint = ""
        if ok:
            lower = 1 << (int(bin_size).bit_length() - 1)
            hint = f" (e.g. {lower} or {2 * lower})"
        raise ValueError(
            f"bin_size={bin_size!r} must be a power of two >= 1: each pooling block halves the "
            f"resolution. Fix: use 1, 2, 4, 8, 16, 32, 64 or 128{hint}"
        )
    return int(bin_size).bit_length() - 1
