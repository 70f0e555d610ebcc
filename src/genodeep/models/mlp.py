"""Fully connected network (the review's Fig. 1) on flattened one-hot DNA or on a feature vector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import SequenceModel, _dense_layers, _int_list, _prob_list
from genodeep.nn.layers import Activation


class MLP(SequenceModel):
    """Multilayer perceptron: ``[Linear -> (BN) -> activation -> (dropout)] * len(hidden) -> Linear``.

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks ``T``.
    input_type : {"onehot", "features"}, default "onehot"
        "onehot": input ``(N, in_channels, input_length)`` flattened channel-major to
        ``(N, in_channels * input_length)`` (needs ``input_length``). "features": input ``(N, n_features)``
        (e.g. k-mer counts, GC content; needs ``n_features``).
    input_length : int, optional
        Sequence length ``L`` for one-hot input.
    in_channels : int, default 4
        Channels of one-hot input.
    n_features : int, optional
        Feature count ``F`` for feature input.
    hidden : list of int, default (64,)
        Hidden layer sizes; ``()`` gives logistic/linear regression.
    activation : str, default "relu"
        Hidden activation (see :data:`genodeep.nn.ACTIVATIONS`).
    dropout : float, default 0.0
        Dropout after each hidden layer.
    batch_norm : bool, default False
        Batch norm in each hidden layer (before the activation).

    Notes
    -----
    ``receptive_field`` is ``None``: no local trunk, every output sees the whole input.
    Shapes: ``(N, C, L)`` or ``(N, F)`` -> ``(N, n_tasks)`` logits.
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        input_type: Literal["onehot", "features"] = "onehot",
        input_length: int | None = None,
        in_channels: int = 4,
        n_features: int | None = None,
        hidden: Sequence[int] = (64,),
        activation: Activation = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_tasks", n_tasks)
        check_positive("in_channels", in_channels)
        check_choice("input_type", input_type, ("onehot", "features"))
        if input_type == "onehot":
            if input_length is None:
                raise ValueError(
                    "input_length is required for input_type='onehot' (the flatten fixes the "
                    "length); pass input_length=L"
                )
            check_positive("input_length", input_length)
            n_in = in_channels * input_length
        else:
            if n_features is None:
                raise ValueError(
                    "n_features is required for input_type='features'; pass n_features=F"
                )
            check_positive("n_features", n_features)
            n_in = n_features
        hidden = _int_list("hidden", hidden) if len(hidden) else []
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.in_channels = n_tasks, in_channels
        self.input_length = input_length if input_type == "onehot" else None
        self.input_type, self.n_features = input_type, n_features
        self.layers = nn.Sequential(
            *_dense_layers(
                n_in, hidden, n_tasks, activation=activation, dropout=dropout, batch_norm=batch_norm
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, L)`` (one-hot) or ``(N, F)`` (features) -> ``(N, n_tasks)``."""
        if self.input_type == "onehot":
            x = self._check_input(x).flatten(1)
        else:
            if x.ndim != 2 or x.shape[1] != self.n_features:
                raise ValueError(
                    f"x had shape {tuple(x.shape)} while it should have had (*, {self.n_features}) "
                    "for this MLP on features"
                )
            if not x.is_floating_point():
                x = x.float()
        return self.layers(x)

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)``; for one-hot input ``length`` must equal ``input_length``."""
        if self.input_type == "onehot":
            self._resolve_length(length)
        return (self.n_tasks,)
