"""A CNN that sees both kinds of sequence signal: motifs anywhere, and motifs at positions.

Global max pooling (DeepBind) finds a motif wherever it is but forgets where; a flatten + dense head
(DeepSEA, Basset) keeps position but needs many examples to learn that the same motif counts anywhere.
:class:`TwoPathCNN` runs one convolution trunk into two heads and adds their evidence:

- a *motif path*: global max and average pooling of the trunk's channels (position-free);
- a *position path*: local max pooling to a few dozen bins, a 1x1 convolution to a few channels, and a
  dense layer over the bins (position-aware).

It is genodeep's default model: it does not lose position on tasks where the site's offset matters (splice
sites, promoter elements at the TSS) and does not need position on tasks where it does not (ChIP peaks).
"""

from __future__ import annotations

import torch
from torch import nn

from genodeep._validate import check_positive
from genodeep.models.base import _LocalHeadModel, _prob_list
from genodeep.nn.layers import Activation, GlobalPool, make_activation, output_length

__all__ = ["TwoPathCNN", "TwoPathHead"]


class TwoPathHead(nn.Module):
    """Motif path + position path over trunk features ``(N, C, L')`` -> ``(N, n_tasks)``.

    Parameters
    ----------
    channels : int
        Trunk channels ``C``.
    length : int
        Trunk output length ``L'``.
    n_tasks : int
        Outputs ``T``.
    bins : int
        Bins of the position path (``L'`` is max-pooled to about this many).
    position_channels : int
        Channels per bin after the 1x1 convolution.
    hidden : int
        Units of the position path's dense layer.
    dropout : float
        Dropout before the read-out.
    activation : str
        Activation of the position path.
    """

    def __init__(
        self,
        channels: int,
        length: int,
        n_tasks: int,
        *,
        bins: int,
        position_channels: int,
        hidden: int,
        dropout: float,
        activation: Activation,
    ) -> None:
        super().__init__()
        pool = max(1, -(-length // bins))  # ceil: at most ``bins`` bins
        n_bins = length // pool
        self.motif = GlobalPool("max+avg")
        self.position = nn.Sequential(
            nn.MaxPool1d(pool),
            nn.Conv1d(channels, position_channels, 1),
            make_activation(activation),
            nn.Flatten(),
            nn.Linear(position_channels * n_bins, hidden),
            make_activation(activation),
        )
        self.readout = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * channels + hidden, n_tasks))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(N, C, L') -> (N, n_tasks)``."""
        return self.readout(torch.cat([self.motif(h), self.position(h)], dim=1))


class TwoPathCNN(_LocalHeadModel):
    """Convolution trunk, then a motif path (global pooling) and a position path (binned dense), added.

    trunk: conv (filters x width, "same") -> BN -> activation -> [conv (filters2 x width2, dilation 2,
    "same") -> BN -> activation] -> dropout; head: :class:`TwoPathHead`.

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks ``T``.
    input_length : int, default 200
        Input length ``L`` (fixed by the position path).
    in_channels : int, default 4
        Input channels.
    filters : int, default 128
        First-layer filters (motif detectors).
    width : int, default 15
        First-layer filter width.
    filters2 : int, default 64
        Second-layer filters (0: one convolution layer).
    width2 : int, default 5
        Second-layer filter width (dilation 2).
    bins : int, default 25
        Position bins of the position path.
    position_channels : int, default 8
        Channels per bin of the position path.
    hidden : int, default 64
        Dense units of the position path.
    activation : str, default "relu"
        Activation name (see :data:`genodeep.nn.ACTIVATIONS`).
    conv_dropout : float, default 0.1
        Dropout after the trunk.
    dropout : float, default 0.3
        Dropout before the read-out.

    Notes
    -----
    Shapes: ``(N, in_channels, input_length) -> (N, n_tasks)``. ``receptive_field`` is that of one trunk
    position: ``width + 2 * (width2 - 1)`` bases (23 with the defaults).
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        input_length: int = 200,
        in_channels: int = 4,
        filters: int = 128,
        width: int = 15,
        filters2: int = 64,
        width2: int = 5,
        bins: int = 25,
        position_channels: int = 8,
        hidden: int = 64,
        activation: Activation = "relu",
        conv_dropout: float = 0.1,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        for name, value in (
            ("n_tasks", n_tasks),
            ("input_length", input_length),
            ("in_channels", in_channels),
            ("filters", filters),
            ("width", width),
            ("bins", bins),
            ("position_channels", position_channels),
            ("hidden", hidden),
        ):
            check_positive(name, value)
        check_positive("filters2", filters2, allow_zero=True)
        check_positive("width2", width2)
        (conv_dropout,) = _prob_list("conv_dropout", conv_dropout, 1)
        (dropout,) = _prob_list("dropout", dropout, 1)
        if input_length < width:
            raise ValueError(
                f"input_length={input_length} is shorter than the first filter (width={width}); "
                "use longer sequences or a smaller width"
            )
        self.n_tasks, self.input_length, self.in_channels = n_tasks, input_length, in_channels
        layers: list[nn.Module] = [
            nn.Conv1d(in_channels, filters, width, padding=width // 2),
            nn.BatchNorm1d(filters),
            make_activation(activation),
        ]
        channels = filters
        if filters2:
            layers += [
                nn.Conv1d(filters, filters2, width2, padding=width2 - 1, dilation=2),
                nn.BatchNorm1d(filters2),
                make_activation(activation),
            ]
            channels = filters2
        if conv_dropout > 0:
            layers.append(nn.Dropout(conv_dropout))
        self.local = nn.Sequential(*layers)
        length = output_length(self.local, input_length)
        self.head = TwoPathHead(
            channels,
            length,
            n_tasks,
            bins=bins,
            position_channels=position_channels,
            hidden=hidden,
            dropout=dropout,
            activation=activation,
        )

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)``; ``length`` must equal ``input_length`` (the position path fixes it)."""
        self._resolve_length(length)
        return (self.n_tasks,)
