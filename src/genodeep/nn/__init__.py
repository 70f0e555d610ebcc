"""genodeep.nn: layers shared by the architectures and the geometry of local (convolutional) stacks."""

from __future__ import annotations

from genodeep.nn.layers import (
    ACTIVATIONS,
    LOCAL_LAYER_TYPES,
    Activation,
    ConvGeometry,
    Exp,
    GlobalPool,
    ResidualDilatedConv,
    conv_geometry,
    make_activation,
    output_length,
    same_padding,
)

__all__ = [
    "ACTIVATIONS",
    "LOCAL_LAYER_TYPES",
    "Activation",
    "ConvGeometry",
    "Exp",
    "GlobalPool",
    "ResidualDilatedConv",
    "conv_geometry",
    "make_activation",
    "output_length",
    "same_padding",
]
