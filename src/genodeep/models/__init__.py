"""genodeep.models: supervised architectures as plain ``nn.Module``s, picked by name.

Sequence models read one-hot DNA ``(N, 4, L)``; ``multimodal`` adds signal tracks and feature vectors;
``gcn`` (node labels of a graph) and ``graph_expression`` (a sample's expression over a gene graph) read
graph data. The profile models, ``bpnet`` and ``chrombpnet`` (base resolution) and ``basenji`` (binned
coverage), report ``output_geometry(length) -> (offset, n_out, bin_size)``: output position ``j`` covers
input bases ``[offset + j*bin_size, offset + (j+1)*bin_size)``. :func:`input_kinds` says which inputs an architecture reads.

>>> from genodeep.models import build_model
>>> model = build_model("basset", n_tasks=8, input_length=600)
>>> rebuilt = build_model("basset", **model.config)   # same architecture from the saved arguments
"""

from __future__ import annotations

import inspect
from typing import Any

from genodeep._validate import near_matches
from genodeep.models.base import SequenceModel
from genodeep.models.basenji import Basenji
from genodeep.models.chrombpnet import ChromBPNet
from genodeep.models.cnn import Basset, DeepBind, DeepSEA
from genodeep.models.dilated import BPNet
from genodeep.models.gcn import GCN, GraphExpressionModel
from genodeep.models.mlp import MLP
from genodeep.models.multimodal import MultimodalModel
from genodeep.models.recurrent import RNN, DanQ
from genodeep.models.twopath import TwoPathCNN

#: architecture name -> class (the one place names are mapped to architectures)
MODELS: dict[str, type[SequenceModel]] = {
    "twopath": TwoPathCNN,
    "mlp": MLP,
    "deepbind": DeepBind,
    "deepsea": DeepSEA,
    "basset": Basset,
    "bpnet": BPNet,
    "chrombpnet": ChromBPNet,
    "basenji": Basenji,
    "rnn": RNN,
    "danq": DanQ,
    "multimodal": MultimodalModel,
    "gcn": GCN,
    "graph_expression": GraphExpressionModel,
}

#: what an architecture reads, by default: one-hot sequences ``(N, 4, L)``
SEQUENCE_INPUT = ("sequence",)


def input_kinds(name_or_model: str | type | object) -> tuple[str, ...]:
    """The kinds of input an architecture reads (its ``input_kinds`` attribute).

    ``"sequence"``: one-hot ``(N, 4, L)``; ``"multimodal"``: a tuple (sequence, track[, features]);
    ``"graph_nodes"``: node features ``(n, F)`` of one graph (labels per node); ``"graph_features"``:
    samples ``(N, G)`` whose columns are the nodes of a graph (labels per sample).

    Parameters
    ----------
    name_or_model : str, model class or model
        A name in :data:`MODELS`, a class or an instance.

    Returns
    -------
    tuple of str
    """
    target = _lookup(name_or_model) if isinstance(name_or_model, str) else name_or_model
    return tuple(getattr(target, "input_kinds", SEQUENCE_INPUT))


def model_arguments(name: str) -> dict[str, Any]:
    """Keyword arguments of architecture ``name`` with their defaults (tuples as given in the signature)."""
    cls = _lookup(name)
    sig = inspect.signature(cls.__init__)
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def build_model(name: str, **kwargs: Any) -> SequenceModel:
    """Build the architecture registered as ``name`` with keyword arguments ``kwargs``.

    Parameters
    ----------
    name : str
        One of :data:`MODELS` ("twopath", "mlp", "deepbind", "deepsea", "basset", "bpnet",
        "chrombpnet", "basenji", "rnn", "danq", "multimodal", "gcn", "graph_expression");
        case-insensitive.
    **kwargs
        The class's constructor arguments (e.g. a saved ``model.config``).

    Returns
    -------
    SequenceModel
        The new model (randomly initialised).

    Raises
    ------
    ValueError
        Unknown ``name`` (lists the valid names) or unknown keyword (lists the valid keywords).
    """
    cls = _lookup(name)
    valid = model_arguments(name)
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        hints = []
        for k in unknown:
            close = near_matches(k, valid)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"unknown argument(s) for model {name!r}: {', '.join(hints)}; valid arguments: "
            f"{', '.join(valid)}"
        )
    return cls(**kwargs)


def _lookup(name: str) -> type[SequenceModel]:
    if not isinstance(name, str) or name.lower() not in MODELS:
        close = near_matches(str(name).lower(), MODELS)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"model={name!r} is not a known architecture{hint}; choose one of: {', '.join(MODELS)}"
        )
    return MODELS[name.lower()]


__all__ = [
    "GCN",
    "MLP",
    "MODELS",
    "RNN",
    "BPNet",
    "Basenji",
    "Basset",
    "ChromBPNet",
    "DanQ",
    "DeepBind",
    "DeepSEA",
    "GraphExpressionModel",
    "MultimodalModel",
    "SequenceModel",
    "build_model",
    "input_kinds",
    "model_arguments",
]
