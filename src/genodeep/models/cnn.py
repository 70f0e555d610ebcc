"""Convolutional networks on one-hot DNA (the review's Fig. 2): DeepBind, DeepSEA and Basset styles.

Each model is ``head(local(x))``: ``local`` is a flat ``nn.Sequential`` of convolution, batch-norm,
activation, max-pool and dropout layers; ``head`` pools or flattens and applies dense layers. Outputs are
logits (or linear values for regression), shape ``(N, n_tasks)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import (
    _conv_layers,
    _dense_layers,
    _int_list,
    _LocalHeadModel,
    _prob_list,
)
from genodeep.nn.layers import Activation, GlobalPool, make_activation, output_length


class _ConvDense(_LocalHeadModel):
    """Shared body of DeepSEA and Basset: conv blocks -> flatten -> dense layers -> n_tasks.

    Subclasses only declare their defaults: their ``__init__`` calls ``super().__init__(locals())``,
    which stores the config and builds the layers from those arguments.
    """

    def __init__(self, args: Mapping[str, Any]) -> None:
        super().__init__()
        self._store_config(args)
        self._build(**self._init_args(args))

    def _build(
        self,
        *,
        n_tasks: int,
        input_length: int,
        in_channels: int,
        filters: Sequence[int],
        widths: Sequence[int],
        pools: Sequence[int],
        padding: str,
        batch_norm: bool,
        activation: Activation,
        conv_dropout: float | Sequence[float],
        dense: Sequence[int],
        dense_dropout: float,
        dense_batch_norm: bool,
    ) -> None:
        check_positive("n_tasks", n_tasks)
        check_positive("input_length", input_length)
        check_positive("in_channels", in_channels)
        check_choice("padding", padding, ("valid", "same"))
        filters = _int_list("filters", filters)
        n = len(filters)
        if n == 0:
            raise ValueError("filters must list at least one convolution layer, got []")
        widths = _int_list("widths", widths, n)
        pools = _int_list("pools", pools, n)
        conv_dropout = _prob_list("conv_dropout", conv_dropout, n)
        dense = _int_list("dense", dense) if len(dense) else []
        (dense_dropout,) = _prob_list("dense_dropout", dense_dropout, 1)
        self.n_tasks, self.input_length, self.in_channels = n_tasks, input_length, in_channels
        self.local = nn.Sequential(
            *_conv_layers(
                in_channels,
                filters,
                widths,
                pools,
                padding=padding,
                batch_norm=batch_norm,
                activation=activation,
                dropout=conv_dropout,
            )
        )
        n_flat = filters[-1] * output_length(self.local, input_length)
        self.head = nn.Sequential(
            nn.Flatten(),
            *_dense_layers(
                n_flat,
                dense,
                n_tasks,
                activation=activation,
                dropout=dense_dropout,
                batch_norm=dense_batch_norm,
            ),
        )

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)``; ``length`` must equal ``input_length`` (the flatten fixes it)."""
        self._resolve_length(length)
        return (self.n_tasks,)


class Basset(_ConvDense):
    """Basset-style CNN (Kelley et al. 2016): conv blocks with batch norm, then two dense layers.

    Defaults are the reference model of ``performance.md``: conv 300x19 -> BN -> ReLU -> max-pool 3 ->
    conv 200x11 -> BN -> ReLU -> max-pool 4 -> conv 200x7 -> BN -> ReLU -> max-pool 4 -> flatten ->
    dense 1000 -> ReLU -> dropout 0.3 -> dense 1000 -> ReLU -> dropout 0.3 -> 164 logits, input 4x600
    (valid convolutions: 600 -> 582 -> 194 -> 184 -> 46 -> 40 -> 10 positions, 2000 flattened features).

    Parameters
    ----------
    n_tasks : int, default 164
        Output tasks ``T``.
    input_length : int, default 600
        Input length ``L`` (fixed by the flatten).
    in_channels : int, default 4
        Input channels (4 for one-hot DNA; more for early-fused extra tracks).
    filters, widths, pools : list of int
        Per convolution layer: number of filters, filter width, max-pool size (1 = no pooling).
    padding : {"valid", "same"}, default "valid"
        Convolution padding.
    batch_norm : bool, default True
        Batch norm after each convolution (before the activation).
    activation : str, default "relu"
        Activation name (see :data:`genodeep.nn.ACTIVATIONS`).
    conv_dropout : float or list of float, default 0.0
        Dropout after each convolution block.
    dense : list of int, default (1000, 1000)
        Hidden dense layer sizes.
    dense_dropout : float, default 0.3
        Dropout after each hidden dense layer.
    dense_batch_norm : bool, default False
        Batch norm in the hidden dense layers.

    Notes
    -----
    ``receptive_field`` is that of one position of the last convolution block's output (after its
    pooling): 168 bases with the defaults. The dense head sees the whole input.
    Shapes: ``(N, in_channels, input_length) -> (N, n_tasks)``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 164,
        input_length: int = 600,
        in_channels: int = 4,
        filters: Sequence[int] = (300, 200, 200),
        widths: Sequence[int] = (19, 11, 7),
        pools: Sequence[int] = (3, 4, 4),
        padding: Literal["valid", "same"] = "valid",
        batch_norm: bool = True,
        activation: Activation = "relu",
        conv_dropout: float | Sequence[float] = 0.0,
        dense: Sequence[int] = (1000, 1000),
        dense_dropout: float = 0.3,
        dense_batch_norm: bool = False,
    ) -> None:
        super().__init__(locals())


class DeepSEA(_ConvDense):
    """DeepSEA-style CNN (Zhou & Troyanskaya 2015): three conv layers, one dense layer.

    Defaults: conv 320x8 -> ReLU -> max-pool 4 -> dropout 0.2 -> conv 480x8 -> ReLU -> max-pool 4 ->
    dropout 0.2 -> conv 960x8 -> ReLU -> dropout 0.5 -> flatten -> dense 925 -> ReLU -> 919 logits, input
    4x1000.

    Parameters
    ----------
    n_tasks : int, default 919
        Output tasks ``T``.
    input_length : int, default 1000
        Input length ``L`` (fixed by the flatten).
    in_channels : int, default 4
        Input channels.
    filters, widths, pools : list of int
        Per convolution layer: filters, width, max-pool size (1 = no pooling).
    conv_dropout : float or list of float, default (0.2, 0.2, 0.5)
        Dropout after each convolution block.
    padding : {"valid", "same"}, default "valid"
        Convolution padding.
    batch_norm : bool, default False
        Batch norm after each convolution.
    activation : str, default "relu"
        Activation name.
    dense : list of int, default (925,)
        Hidden dense layer sizes.
    dense_dropout : float, default 0.0
        Dropout after each hidden dense layer.
    dense_batch_norm : bool, default False
        Batch norm in the hidden dense layers.

    Notes
    -----
    ``receptive_field``: one position of the last convolution block's output; 8 + 3 + 7*4 + 3*4 + 7*16 = 163
    bases with the defaults (jump 16). Shapes: ``(N, in_channels, input_length) -> (N, n_tasks)``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 919,
        input_length: int = 1000,
        in_channels: int = 4,
        filters: Sequence[int] = (320, 480, 960),
        widths: Sequence[int] = (8, 8, 8),
        pools: Sequence[int] = (4, 4, 1),
        conv_dropout: float | Sequence[float] = (0.2, 0.2, 0.5),
        padding: Literal["valid", "same"] = "valid",
        batch_norm: bool = False,
        activation: Activation = "relu",
        dense: Sequence[int] = (925,),
        dense_dropout: float = 0.0,
        dense_batch_norm: bool = False,
    ) -> None:
        super().__init__(locals())


class DeepBind(_LocalHeadModel):
    """DeepBind-style CNN (Alipanahi et al. 2015): one convolution, global pooling, a small dense head.

    conv (filters x width) -> activation -> global max (and/or average) pool -> [dense hidden ->
    activation -> dropout] -> n_tasks logits. Works on any input length ``>= width`` ("valid").

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks ``T``.
    in_channels : int, default 4
        Input channels.
    filters : int, default 16
        Number of convolution filters (motif detectors).
    width : int, default 24
        Filter width in bases.
    padding : {"valid", "same", "full"}, default "valid"
        "full" pads ``width - 1`` zeros on each side, as DeepBind did, so motifs overlapping the ends count.
    activation : str, default "relu"
        Activation after the convolution and the hidden layer.
    pool : {"max", "avg", "max+avg"}, default "max"
        Global pooling over positions ("max+avg" concatenates both, doubling the features).
    hidden : int, default 32
        Hidden dense units; 0 for a direct linear read-out of the pooled features.
    dropout : float, default 0.0
        Dropout on the pooled features (before the dense layers).

    Notes
    -----
    ``receptive_field`` is ``width``: one convolution output position sees ``width`` bases; the pooled
    output sees the whole input. Shapes: ``(N, in_channels, L) -> (N, n_tasks)``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        in_channels: int = 4,
        filters: int = 16,
        width: int = 24,
        padding: Literal["valid", "same", "full"] = "valid",
        activation: Activation = "relu",
        pool: Literal["max", "avg", "max+avg"] = "max",
        hidden: int = 32,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_tasks", n_tasks)
        check_positive("in_channels", in_channels)
        check_positive("filters", filters)
        check_positive("width", width)
        check_positive("hidden", hidden, allow_zero=True)
        check_choice("padding", padding, ("valid", "same", "full"))
        check_choice("pool", pool, ("max", "avg", "max+avg"))
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.input_length, self.in_channels = n_tasks, None, in_channels
        pad: int | str = {"valid": 0, "same": "same", "full": width - 1}[padding]
        if padding == "same" and (width - 1) % 2 == 0:
            pad = (width - 1) // 2
        self.local = nn.Sequential(
            nn.Conv1d(in_channels, filters, width, padding=pad), make_activation(activation)
        )
        n_pooled = filters * (2 if pool == "max+avg" else 1)
        head: list[nn.Module] = [GlobalPool(pool)]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head += _dense_layers(
            n_pooled, [hidden] if hidden else [], n_tasks, activation=activation, dropout=0.0
        )
        self.head = nn.Sequential(*head)

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)`` for any ``length`` the convolution accepts."""
        output_length(self.local, self._resolve_length(length))
        return (self.n_tasks,)
