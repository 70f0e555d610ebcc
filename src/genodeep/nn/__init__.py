"""genodeep.nn: shared layers, the geometry of convolutional stacks, and the NB/ZINB/Poisson log-likelihoods."""

from __future__ import annotations

from genodeep.nn.distributions import nb_log_prob, poisson_log_prob, zinb_log_prob
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
    "nb_log_prob",
    "output_length",
    "poisson_log_prob",
    "same_padding",
    "zinb_log_prob",
]
