"""Recurrent models on one-hot DNA (the review's Fig. 3): bidirectional LSTM/GRU and the DanQ hybrid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import (
    SequenceModel,
    _dense_layers,
    _int_list,
    _LocalHeadModel,
    _prob_list,
)
from genodeep.nn.layers import Activation, make_activation, output_length

_CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class _RNNPool(nn.Module):
    """``(N, C, L)`` -> recurrent layers over positions -> pooled ``(N, D * hidden_size)``.

    ``pool``: "max"/"mean" over positions of the last layer's outputs; "last": the final hidden state of
    each direction of the last layer (forward after position L-1, backward after position 0).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        cell: str,
        hidden_size: int,
        n_layers: int,
        bidirectional: bool,
        dropout: float,
        pool: str,
    ) -> None:
        super().__init__()
        self.pool = pool
        self.bidirectional = bidirectional
        self.rnn = _CELLS[cell](
            in_channels,
            hidden_size,
            num_layers=n_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if n_layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, state = self.rnn(x.transpose(1, 2))  # (N, L, D*H)
        if self.pool == "max":
            return out.amax(dim=1)
        if self.pool == "mean":
            return out.mean(dim=1)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers*D, N, H)
        if self.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], dim=1)
        return h_n[-1]


class RNN(SequenceModel):
    """Recurrent network on one-hot DNA: (bi)LSTM or GRU over positions, pooling over time, dense head.

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks ``T``.
    in_channels : int, default 4
        Input channels.
    cell : {"lstm", "gru"}, default "lstm"
        Recurrent cell.
    hidden_size : int, default 64
        Hidden units per direction.
    n_layers : int, default 1
        Stacked recurrent layers.
    bidirectional : bool, default True
        Read the sequence in both directions (outputs concatenated).
    pool : {"max", "mean", "last"}, default "max"
        Reduction over positions of the last layer's outputs ("last": final hidden states).
    dropout : float, default 0.0
        Dropout between recurrent layers and on the pooled features.
    dense : list of int, default ()
        Hidden dense layer sizes after pooling.
    activation : str, default "relu"
        Activation of the hidden dense layers.

    Notes
    -----
    ``receptive_field`` is ``None``: every output depends on the whole input (no local trunk; ``split_local``
    returns ``None``). Shapes: ``(N, in_channels, L) -> (N, n_tasks)`` for any ``L >= 1``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        in_channels: int = 4,
        cell: Literal["lstm", "gru"] = "lstm",
        hidden_size: int = 64,
        n_layers: int = 1,
        bidirectional: bool = True,
        pool: Literal["max", "mean", "last"] = "max",
        dropout: float = 0.0,
        dense: Sequence[int] = (),
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_tasks", n_tasks)
        check_positive("in_channels", in_channels)
        check_positive("hidden_size", hidden_size)
        check_positive("n_layers", n_layers)
        check_choice("cell", cell, _CELLS)
        check_choice("pool", pool, ("max", "mean", "last"))
        (dropout,) = _prob_list("dropout", dropout, 1)
        dense = _int_list("dense", dense) if len(dense) else []
        make_activation(activation)  # validate the name early
        self.n_tasks, self.input_length, self.in_channels = n_tasks, None, in_channels
        self.encoder = _RNNPool(
            in_channels,
            cell=cell,
            hidden_size=hidden_size,
            n_layers=n_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            pool=pool,
        )
        n_feat = hidden_size * (2 if bidirectional else 1)
        head: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
        head += _dense_layers(n_feat, dense, n_tasks, activation=activation, dropout=dropout)
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, L) -> (N, n_tasks)`` logits."""
        return self.head(self.encoder(self._check_input(x)))

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)`` for any ``length``."""
        self._resolve_length(length)
        return (self.n_tasks,)


class _DanQHead(nn.Module):
    """``(N, C, L')`` conv features -> BiLSTM -> dropout -> flatten ``(N, L' * 2H)`` -> dense -> logits."""

    def __init__(
        self,
        channels: int,
        length: int,
        *,
        hidden_size: int,
        rnn_dropout: float,
        dense: Sequence[int],
        n_tasks: int,
        activation: Activation,
    ) -> None:
        super().__init__()
        self.rnn = nn.LSTM(channels, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(rnn_dropout)
        self.dense = nn.Sequential(
            nn.Flatten(),
            *_dense_layers(
                length * 2 * hidden_size, dense, n_tasks, activation=activation, dropout=0
            ),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(h.transpose(1, 2))  # (N, L', 2H)
        return self.dense(self.dropout(out))


class DanQ(_LocalHeadModel):
    """DanQ hybrid (Quang & Xie 2016): convolution + max-pool, then a BiLSTM over the pooled positions.

    Defaults: conv 320x26 -> ReLU -> max-pool 13 -> dropout 0.2 -> BiLSTM 320 -> dropout 0.5 -> flatten ->
    dense 925 -> ReLU -> 919 logits, input 4x1000 (1000 -> 975 -> 75 positions, 48,000 features).

    Parameters
    ----------
    n_tasks : int, default 919
        Output tasks ``T``.
    input_length : int, default 1000
        Input length ``L`` (fixed by the flatten).
    in_channels : int, default 4
        Input channels.
    filters : int, default 320
        Convolution filters.
    width : int, default 26
        Filter width.
    pool : int, default 13
        Max-pool size (and stride).
    conv_dropout : float, default 0.2
        Dropout after pooling.
    hidden_size : int, default 320
        LSTM units per direction.
    rnn_dropout : float, default 0.5
        Dropout on the LSTM outputs.
    dense : list of int, default (925,)
        Hidden dense layer sizes.
    activation : str, default "relu"
        Activation after the convolution and the hidden dense layers.

    Notes
    -----
    ``receptive_field``: one position of the pooled convolution output, ``width + pool - 1`` (38 bases
    with defaults); the BiLSTM and dense head see the whole input. ``split_local()`` returns
    ``(conv, act, max-pool, dropout)`` and the recurrent head.
    Shapes: ``(N, in_channels, input_length) -> (N, n_tasks)``.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 919,
        input_length: int = 1000,
        in_channels: int = 4,
        filters: int = 320,
        width: int = 26,
        pool: int = 13,
        conv_dropout: float = 0.2,
        hidden_size: int = 320,
        rnn_dropout: float = 0.5,
        dense: Sequence[int] = (925,),
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        self._store_config(locals())
        for name, value in (
            ("n_tasks", n_tasks),
            ("input_length", input_length),
            ("in_channels", in_channels),
            ("filters", filters),
            ("width", width),
            ("pool", pool),
            ("hidden_size", hidden_size),
        ):
            check_positive(name, value)
        (conv_dropout,) = _prob_list("conv_dropout", conv_dropout, 1)
        (rnn_dropout,) = _prob_list("rnn_dropout", rnn_dropout, 1)
        dense = _int_list("dense", dense) if len(dense) else []
        self.n_tasks, self.input_length, self.in_channels = n_tasks, input_length, in_channels
        layers: list[nn.Module] = [
            nn.Conv1d(in_channels, filters, width),
            make_activation(activation),
            nn.MaxPool1d(pool),
        ]
        if conv_dropout > 0:
            layers.append(nn.Dropout(conv_dropout))
        self.local = nn.Sequential(*layers)
        self.head = _DanQHead(
            filters,
            output_length(self.local, input_length),
            hidden_size=hidden_size,
            rnn_dropout=rnn_dropout,
            dense=dense,
            n_tasks=n_tasks,
            activation=activation,
        )

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)``; ``length`` must equal ``input_length``."""
        self._resolve_length(length)
        return (self.n_tasks,)
