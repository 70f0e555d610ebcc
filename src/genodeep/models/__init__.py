"""genodeep.models: supervised sequence architectures as plain ``nn.Module``s, picked by name.

>>> from genodeep.models import build_model
>>> model = build_model("basset", n_tasks=8, input_length=600)
>>> rebuilt = build_model("basset", **model.config)   # same architecture from the saved arguments
"""

from __future__ import annotations

import inspect
from typing import Any

from genodeep._validate import near_matches
from genodeep.models.base import SequenceModel
from genodeep.models.cnn import Basset, DeepBind, DeepSEA
from genodeep.models.dilated import BPNet
from genodeep.models.mlp import MLP
from genodeep.models.recurrent import RNN, DanQ

#: architecture name -> class (the one place names are mapped to architectures)
MODELS: dict[str, type[SequenceModel]] = {
    "mlp": MLP,
    "deepbind": DeepBind,
    "deepsea": DeepSEA,
    "basset": Basset,
    "bpnet": BPNet,
    "rnn": RNN,
    "danq": DanQ,
}


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
        One of :data:`MODELS` ("mlp", "deepbind", "deepsea", "basset", "bpnet", "rnn", "danq");
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
    "MLP",
    "MODELS",
    "RNN",
    "BPNet",
    "Basset",
    "DanQ",
    "DeepBind",
    "DeepSEA",
    "SequenceModel",
    "build_model",
    "model_arguments",
]
