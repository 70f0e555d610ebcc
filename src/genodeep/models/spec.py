"""What a trained model reads and what its outputs mean: one :class:`ModelSpec`, saved with every package.

Predict, interpret, variant scoring, export and the zoo read the spec instead of guessing from the model:
the input kind(s) and length, the alphabet, the task names, the output kind and the link function that maps
raw outputs (logits, log-rates) to predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import torch

__all__ = ["ModelSpec", "LINKS", "link_for"]

Kind = Literal["binary", "regression", "profile"]
Link = Literal["sigmoid", "exp", "identity", "bpnet"]


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def _bpnet(out: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``(profile logits (N, T, L), log(1 + total) (N, T))`` -> expected counts ``(N, T, L)``."""
    logits, log_counts = out
    total = torch.expm1(log_counts.float()).clamp_min(0.0)
    return torch.softmax(logits.float(), dim=-1) * total[..., None]


#: link name -> function from raw outputs to predictions
LINKS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "exp": torch.exp,
    "identity": _identity,
    "bpnet": _bpnet,
}

#: keys older packages used for a field (data_spec.json of format 1)
_ALIASES = {"sequence_length": "input_length"}


def link_for(kind: str, loss: str | None = None) -> Link:
    """The link of a model trained for ``kind`` with ``loss``: sigmoid for binary logits, exp for a
    Poisson log-rate, expected counts from a profile + count model (``bpnet``), identity otherwise."""
    if kind == "binary":
        return "sigmoid"
    if loss is not None and str(loss).lower() == "bpnet":
        return "bpnet"
    if loss is not None and str(loss).lower().startswith("poisson"):
        return "exp"
    return "identity"


@dataclass
class ModelSpec:
    """What a model reads and predicts.

    Attributes
    ----------
    input_kind : str
        ``"sequence"``, ``"multimodal"``, ``"graph_nodes"`` or ``"graph_features"``
        (see :func:`genodeep.models.input_kinds`).
    inputs : tuple of str
        Names of the input tensors in call order, e.g. ``("sequence", "track")``.
    input_length : int or None
        Sequence length ``L`` of the one-hot input ``(N, 4, L)``; None for models that take any length or
        no sequence.
    alphabet : str
        The letters of the one-hot channels, in order.
    task_names : list of str
        One name per output column ``T``.
    kind : {"binary", "regression", "profile"}
        The output kind: decides the metrics and the default link. ``"profile"``: per-position
        outputs ``(N, T, n_out)``; ``extra`` then holds ``output_length`` (bases covered, centred in
        the input), ``bin_size`` and ``strand_pairs``.
    link : {"sigmoid", "exp", "identity", "bpnet"}
        Raw output -> prediction (probability, rate, value, or expected counts per position from a
        ``(profile logits, log counts)`` pair).
    loss : str, optional
        The training loss.
    model_name : str, optional
        The :data:`genodeep.models.MODELS` name of the architecture.
    genome : str, optional
        The genome the training windows came from.
    extra : dict
        Other keys a package carries (kept as they are).
    """

    input_kind: str = "sequence"
    inputs: tuple[str, ...] = ("sequence",)
    input_length: int | None = None
    alphabet: str = "ACGT"
    task_names: list[str] = field(default_factory=list)
    kind: Kind = "binary"
    link: Link | None = None
    loss: str | None = None
    model_name: str | None = None
    genome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = tuple(self.inputs)
        self.task_names = [str(t) for t in self.task_names]
        if self.input_length is not None:
            self.input_length = int(self.input_length)
        if self.link is None:
            self.link = link_for(self.kind, self.loss)
        if self.link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(LINKS)}; got {self.link!r}")

    @classmethod
    def from_dict(
        cls, spec: Mapping[str, Any] | None, model: torch.nn.Module | None = None
    ) -> ModelSpec:
        """A spec from a package's ``data_spec.json`` (older key names accepted), completed from the
        model's own attributes (``input_length``, ``n_tasks``) where the mapping is silent."""
        spec = {_ALIASES.get(k, k): v for k, v in dict(spec or {}).items()}
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in spec.items() if k in names and v is not None}
        extra = {k: v for k, v in spec.items() if k not in names}
        extra.update(spec.get("extra") or {})
        if model is not None:
            if known.get("input_length") is None and getattr(model, "input_length", None):
                known["input_length"] = int(model.input_length)
            if not known.get("task_names"):
                known["task_names"] = [
                    f"task_{i}" for i in range(int(getattr(model, "n_tasks", 1)))
                ]
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready mapping saved as ``data_spec.json`` (extra keys at the top level)."""
        out = asdict(self)
        extra = out.pop("extra")
        out["inputs"] = list(out["inputs"])
        return {**out, **extra}

    def apply_link(self, y: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> predictions: ``LINKS[self.link](y)``."""
        return LINKS[self.link](y)
