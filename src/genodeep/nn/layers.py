"""Building blocks shared by the architectures, and the geometry of local (convolutional) stacks.

Everything here acts on tensors shaped ``(N, C, L)`` (batch, channels, positions).

The *geometry* helpers describe which input positions an output position of a stack of local layers
can see. For a stack whose every layer is one of :data:`LOCAL_LAYER_TYPES`, output position ``j`` depends
only on input positions ``start + j * jump ... start + j * jump + receptive_field - 1`` (positions below 0
or at/after ``L`` are zero padding). Fast in-silico mutagenesis and receptive-field reporting rely on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive

Activation = Literal["relu", "gelu", "elu", "softplus", "sigmoid", "tanh", "exp"]


class Exp(nn.Module):
    """Elementwise exponential, ``exp(x)`` (an activation for positive outputs, e.g. counts)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


#: activation name -> module class (the only place activations are picked by name)
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "exp": Exp,
}


def make_activation(name: Activation) -> nn.Module:
    """Return a fresh elementwise activation module by name.

    Parameters
    ----------
    name : {"relu", "gelu", "elu", "softplus", "sigmoid", "tanh", "exp"}
        Activation name (the keys of :data:`ACTIVATIONS`).

    Returns
    -------
    nn.Module
        The activation, e.g. ``nn.ReLU()``.
    """
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]()


def same_padding(kernel_size: int, dilation: int = 1) -> int | str:
    """Padding that keeps the length of a stride-1 convolution.

    Returns an ``int`` (symmetric padding) when the effective kernel ``dilation*(kernel_size-1)+1`` is odd,
    else the string ``"same"`` (PyTorch then pads one position more on the right).
    """
    total = dilation * (kernel_size - 1)
    return total // 2 if total % 2 == 0 else "same"


class ResidualDilatedConv(nn.Module):
    """Residual dilated convolution ``x + act(conv(x))`` that keeps the sequence length.

    Parameters
    ----------
    channels : int
        Input and output channels ``C``.
    kernel_size : int, default 3
        Convolution width.
    dilation : int, default 1
        Spacing between kernel taps; the layer sees ``dilation*(kernel_size-1)+1`` positions.
    activation : str, default "relu"
        Name from :data:`ACTIVATIONS`.

    Attributes
    ----------
    conv : nn.Conv1d
        ``C -> C`` convolution with "same" zero padding (stride 1).
    act : nn.Module
        The elementwise activation.

    Shapes: ``(N, C, L) -> (N, C, L)``.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        check_positive("channels", channels)
        check_positive("kernel_size", kernel_size)
        check_positive("dilation", dilation)
        self.conv = nn.Conv1d(
            channels,
            channels,
            kernel_size,
            dilation=dilation,
            padding=same_padding(kernel_size, dilation),
        )
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.conv(x))


class GlobalPool(nn.Module):
    """Pool over all positions: ``(N, C, L) -> (N, C)`` (``(N, 2C)`` for ``"max+avg"``, max first).

    Parameters
    ----------
    mode : {"max", "avg", "max+avg"}, default "max"
        Reduction over positions.
    """

    def __init__(self, mode: Literal["max", "avg", "max+avg"] = "max") -> None:
        super().__init__()
        check_choice("mode", mode, ("max", "avg", "max+avg"))
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return x.amax(dim=-1)
        if self.mode == "avg":
            return x.mean(dim=-1)
        return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


# ----------------------------------------------------------------------------------------------
# geometry of local stacks
# ----------------------------------------------------------------------------------------------

#: layers that act position-wise or through a fixed window; a ``local`` stack may contain only these
ELEMENTWISE_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.ReLU,
    nn.GELU,
    nn.ELU,
    nn.Softplus,
    nn.Sigmoid,
    nn.Tanh,
    Exp,
    nn.Dropout,
    nn.Identity,
)
WINDOW_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.MaxPool1d,
    nn.AvgPool1d,
    ResidualDilatedConv,
)
LOCAL_LAYER_TYPES: tuple[type[nn.Module], ...] = WINDOW_LAYER_TYPES + ELEMENTWISE_LAYER_TYPES


@dataclass(frozen=True)
class ConvGeometry:
    """Which input positions one output position of a local stack sees.

    Output position ``j`` depends on input positions ``start + j*jump`` to
    ``start + j*jump + receptive_field - 1`` inclusive (negative or ``>= L`` means zero padding).

    Attributes
    ----------
    receptive_field : int
        Number of consecutive input positions one output position depends on (bases for DNA input).
    jump : int
        Input positions between consecutive output positions (product of strides/pool sizes).
    start : int
        First input position seen by output position 0 (``-left padding`` accumulated; may be < 0).
    """

    receptive_field: int
    jump: int
    start: int

    def input_span(self, j: int) -> tuple[int, int]:
        """Half-open input range ``[lo, hi)`` seen by output position ``j`` (may reach into padding)."""
        lo = self.start + j * self.jump
        return lo, lo + self.receptive_field

    def affected_outputs(self, lo: int, hi: int, length_out: int) -> range:
        """Output positions (within ``0..length_out-1``) whose span meets input positions ``[lo, hi)``."""
        first = math.ceil((lo - self.receptive_field + 1 - self.start) / self.jump)
        last = math.floor((hi - 1 - self.start) / self.jump)
        return range(max(first, 0), min(last, length_out - 1) + 1)


def _window(layer: nn.Module) -> tuple[int, int, int, int, bool] | None:
    """``(effective kernel, stride, left pad, right pad, ceil_mode)`` of a window layer; None if elementwise."""

    def one(v) -> int:
        return int(v[0]) if isinstance(v, (tuple, list)) else int(v)

    if isinstance(layer, ResidualDilatedConv):
        layer = layer.conv
    if isinstance(layer, nn.Conv1d):
        k, s, d = one(layer.kernel_size), one(layer.stride), one(layer.dilation)
        ke = d * (k - 1) + 1
        if isinstance(layer.padding, str):
            if layer.padding == "valid":
                return ke, s, 0, 0, False
            left = (ke - 1) // 2  # PyTorch "same": the extra position goes to the right
            return ke, s, left, ke - 1 - left, False
        p = one(layer.padding)
        return ke, s, p, p, False
    if isinstance(layer, nn.MaxPool1d):
        k, d = one(layer.kernel_size), one(layer.dilation)
        s = one(layer.stride) if layer.stride is not None else k
        p = one(layer.padding)
        return d * (k - 1) + 1, s, p, p, bool(layer.ceil_mode)
    if isinstance(layer, nn.AvgPool1d):
        k = one(layer.kernel_size)
        s = one(layer.stride) if layer.stride is not None else k
        p = one(layer.padding)
        return k, s, p, p, bool(layer.ceil_mode)
    if isinstance(layer, ELEMENTWISE_LAYER_TYPES):
        return None
    valid = ", ".join(t.__name__ for t in LOCAL_LAYER_TYPES)
    raise TypeError(
        f"layer {layer.__class__.__name__} is not a local layer; a local stack may contain only: {valid}"
    )


def _flat_layers(layers: nn.Module | Iterable[nn.Module]) -> list[nn.Module]:
    if isinstance(layers, nn.Sequential):
        out: list[nn.Module] = []
        for m in layers:
            out.extend(_flat_layers(m))
        return out
    if isinstance(layers, nn.Module):
        return [layers]
    out = []
    for m in layers:
        out.extend(_flat_layers(m))
    return out


def conv_geometry(layers: nn.Module | Iterable[nn.Module]) -> ConvGeometry:
    """Analytic receptive field, jump and start of a stack of local layers.

    Parameters
    ----------
    layers : nn.Sequential, nn.Module or iterable of modules
        Layers applied in order; each must be one of :data:`LOCAL_LAYER_TYPES` (nested
        ``nn.Sequential`` are flattened).

    Returns
    -------
    ConvGeometry
        ``receptive_field`` (input positions per output position), ``jump`` and ``start``.

    Raises
    ------
    TypeError
        If a layer mixes positions in a non-local way (e.g. ``nn.Linear``, ``nn.LSTM``).
    """
    rf, jump, start = 1, 1, 0
    for layer in _flat_layers(layers):
        w = _window(layer)
        if w is None:
            continue
        ke, s, left, _right, _ceil = w
        rf += (ke - 1) * jump
        start -= left * jump
        jump *= s
    return ConvGeometry(receptive_field=rf, jump=jump, start=start)


def output_length(layers: nn.Module | Iterable[nn.Module], length: int) -> int:
    """Number of output positions of a local stack for an input of ``length`` positions.

    Parameters
    ----------
    layers : nn.Sequential, nn.Module or iterable of modules
        Local layers (see :func:`conv_geometry`).
    length : int
        Input length ``L``.

    Returns
    -------
    int
        Output length ``L_out``.

    Raises
    ------
    ValueError
        If the input is too short for the stack (an intermediate length would be < 1).
    """
    n = int(length)
    for i, layer in enumerate(_flat_layers(layers)):
        w = _window(layer)
        if w is None:
            continue
        ke, s, left, right, ceil_mode = w
        span = n + left + right - ke
        if span < 0:
            raise ValueError(
                f"length={length} is too short: layer {i} ({layer.__class__.__name__}) receives "
                f"{n} positions but needs at least {ke - left - right}; use longer sequences"
            )
        if ceil_mode:
            out = -(-span // s) + 1
            if (out - 1) * s >= n + left:  # last window must start inside the input or left padding
                out -= 1
        else:
            out = span // s + 1
        n = out
    return n
