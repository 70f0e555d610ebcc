"""The base class of every supervised sequence model, and small builders the architectures share.

A model is a plain ``nn.Module``: ``(N, C, L)`` float tensors in (``C = 4`` one-hot channels A, C, G, T by
default), ``(N, T)`` or ``(N, T, L_out)`` tensors out (logits / linear outputs; sigmoid, softmax or exp
belong to the loss or to prediction). The constructor's keyword arguments are kept in ``model.config``
(JSON-serialisable) so that ``build_model(name, **model.config)`` rebuilds the same architecture.
"""

from __future__ import annotations

import inspect
import json
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from genodeep._validate import check_positive
from genodeep.nn.layers import Activation, conv_geometry, make_activation, same_padding


class SequenceModel(nn.Module):
    """Base class: configuration capture, shape reporting and the local/head split.

    Subclasses call ``super().__init__()`` then ``self._store_config(locals())`` first thing in their
    ``__init__``, and set ``n_tasks``, ``input_length`` and ``in_channels``.

    Attributes
    ----------
    config : dict
        The constructor's keyword arguments (tuples stored as lists); JSON-serialisable.
    n_tasks : int
        Number of output tasks ``T``.
    input_length : int or None
        Required input length ``L``; ``None`` when any (long enough) length works.
    in_channels : int
        Input channels ``C`` (4 for one-hot DNA).
    """

    def __init__(self) -> None:
        super().__init__()
        self.config: dict[str, Any] = {}
        self.n_tasks: int = 1
        self.input_length: int | None = None
        self.in_channels: int = 4

    # ------------------------------------------------------------------ configuration
    def _store_config(self, args: Mapping[str, Any]) -> None:
        """Keep the constructor arguments found in ``args`` (pass ``locals()``) as ``self.config``."""
        config = {name: _jsonable(value) for name, value in self._init_args(args).items()}
        try:
            json.dumps(config)
        except TypeError as err:
            raise TypeError(
                f"{type(self).__name__} arguments must be JSON-serialisable (numbers, strings, "
                f"lists); got {config!r}: {err}"
            ) from err
        self.config = config

    def _init_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor's named arguments found in ``args`` (pass ``locals()``), values as given.

        Keys follow the order of ``type(self).__init__``'s signature; ``self``, ``*args`` and
        ``**kwargs`` (and any other local name) are left out.
        """
        sig = inspect.signature(type(self).__init__)
        return {
            name: args[name]
            for name, param in sig.parameters.items()
            if name != "self"
            and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            and name in args
        }

    # ------------------------------------------------------------------ reporting
    @property
    def n_params(self) -> int:
        """Number of parameters (trainable and frozen)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def receptive_field(self) -> int | None:
        """Receptive field in bases (input positions) of one output position of the local trunk.

        Default: the analytic receptive field of ``split_local()[0]`` (see
        :func:`genodeep.nn.conv_geometry`); ``None`` when the model has no local trunk (every output
        depends on the whole input). Subclasses document what it means for them.
        """
        split = self.split_local()
        if split is None:
            return None
        return conv_geometry(split[0]).receptive_field

    def split_local(self) -> tuple[nn.Sequential, nn.Module] | None:
        """Split into a local trunk and a head with ``model(x) == head(local(x))``.

        Returns
        -------
        (local, head) or None
            ``local`` is an ``nn.Sequential`` of layers from :data:`genodeep.nn.LOCAL_LAYER_TYPES`
            (the model's own submodules, not copies); ``head`` maps its output ``(N, C', L')`` to the
            model's output. ``None`` when the model has no local leading layers.
        """
        return None

    def output_shape(self, length: int | None = None) -> tuple:
        """Shape of one example's output (without the batch axis) for inputs of ``length`` positions."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for subclasses
    def _resolve_length(self, length: int | None) -> int:
        if length is None:
            if self.input_length is None:
                raise ValueError(
                    f"{type(self).__name__} accepts any input length; pass length= to output_shape"
                )
            return self.input_length
        length = int(length)
        if self.input_length is not None and length != self.input_length:
            raise ValueError(
                f"length={length} does not match this {type(self).__name__}, built for "
                f"input_length={self.input_length}; rebuild it with input_length={length}"
            )
        check_positive("length", length)
        return length

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Validate ``x`` of shape ``(N, C, L)`` and cast integer one-hot to float32."""
        if (
            x.ndim != 3
            or x.shape[1] != self.in_channels
            or (self.input_length is not None and x.shape[2] != self.input_length)
        ):
            want = "*" if self.input_length is None else str(self.input_length)
            raise ValueError(
                f"x had shape {tuple(x.shape)} while it should have had (*, {self.in_channels}, "
                f"{want}) for this {type(self).__name__}"
            )
        if not x.is_floating_point():
            x = x.float()
        return x


class _LocalHeadModel(SequenceModel):
    """A :class:`SequenceModel` that is ``head(local(x))``, with ``local`` an ``nn.Sequential`` trunk.

    Subclasses build ``self.local`` (layers from :data:`genodeep.nn.LOCAL_LAYER_TYPES`) and ``self.head``
    in their ``__init__``; ``forward`` and ``split_local`` follow from them.
    """

    local: nn.Sequential
    head: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, L) -> (N, n_tasks)`` logits: ``head(local(x))``."""
        return self.head(self.local(self._check_input(x)))

    def split_local(self) -> tuple[nn.Sequential, nn.Module]:
        """``(local, head)``: the model's own local trunk and the head applied to its output."""
        return self.local, self.head


# ---------------------------------------------------------------------------------------------
# argument checks and builders shared by the architectures
# ---------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _int_list(argument: str, value: int | Sequence[int], n: int | None = None) -> list[int]:
    """``value`` as a list of positive ints (a scalar is repeated ``n`` times)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if n is None:
            raise TypeError(f"{argument} must be a list of integers, got {value!r}")
        value = [int(value)] * n
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{argument} must be a list of integers, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{argument} must contain integers >= 1, got {list(value)!r}")
        out.append(int(v))
    if n is not None and len(out) != n:
        raise ValueError(
            f"{argument} must have {n} entries (one per layer), got {len(out)}: {out!r}; give a "
            "value for each layer"
        )
    return out


def _prob_list(argument: str, value: float | Sequence[float], n: int) -> list[float]:
    """Dropout rate(s) in ``[0, 1)``, one per layer (a scalar is repeated)."""
    values = [value] * n if isinstance(value, numbers.Real) else list(value)
    if len(values) != n:
        raise ValueError(
            f"{argument} must be one number or {n} numbers (one per layer), got {value!r}"
        )
    for v in values:
        if not isinstance(v, numbers.Real) or not 0.0 <= float(v) < 1.0:
            raise ValueError(f"{argument} must be in [0, 1), got {value!r}")
    return [float(v) for v in values]


def _conv_layers(
    in_channels: int,
    filters: Sequence[int],
    widths: Sequence[int],
    pools: Sequence[int],
    *,
    padding: str,
    batch_norm: bool,
    activation: Activation,
    dropout: Sequence[float],
) -> list[nn.Module]:
    """Flat list ``[conv, (BN), act, (maxpool), (dropout)] * n`` (pool 1 / dropout 0 are omitted)."""
    layers: list[nn.Module] = []
    c = in_channels
    for f, w, p, d in zip(filters, widths, pools, dropout):
        pad: int | str = same_padding(w) if padding == "same" else 0
        layers.append(nn.Conv1d(c, f, w, padding=pad))
        if batch_norm:
            layers.append(nn.BatchNorm1d(f))
        layers.append(make_activation(activation))
        if p > 1:
            layers.append(nn.MaxPool1d(p))
        if d > 0:
            layers.append(nn.Dropout(d))
        c = f
    return layers


def _dense_layers(
    n_in: int,
    sizes: Sequence[int],
    n_out: int,
    *,
    activation: Activation,
    dropout: float,
    batch_norm: bool = False,
) -> list[nn.Module]:
    """Flat list ``[Linear, (BN), act, (dropout)] * len(sizes) + [Linear(n_out)]``."""
    layers: list[nn.Module] = []
    c = n_in
    for h in sizes:
        layers.append(nn.Linear(c, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        c = h
    layers.append(nn.Linear(c, n_out))
    return layers
