"""Design objectives: maximise, minimise or reach a value of model tasks, over one model or an ensemble.

An objective is a list of terms written as text:

- ``max:TASK``: raise the task's raw output (``+`` value);
- ``min:TASK``: lower it (``-`` value);
- ``TASK=VALUE``: reach ``VALUE`` on the prediction scale (probability for binary tasks, rate or value
  otherwise, total counts for profile models): ``-|raw - link^-1(VALUE)|``.

``TASK`` is a task name or index; a term may carry a weight, ``2*max:TASK``. The objective is the sum of the
terms, each computed on the ensemble mean of the task's raw output: the logit of a binary task, the log-rate
of a Poisson task, the value of a regression task, the log total count of a BPNet-style profile model and
the log of the summed predicted signal of a binned Poisson coverage model (the sum itself for other
binned models). Raw outputs are what the models were trained on and
are unbounded, so ``max:`` keeps pushing where a probability would saturate at 1.

With several models, :meth:`Objective.per_model` gives each model's own objective; their standard
deviation over models is reported as the ensemble's disagreement. ``disagreement=w`` subtracts ``w`` times
that deviation from the objective, so that designs move where the models agree rather than into regions
one model over-rates (a design the ensemble disputes is one an independent oracle is likely to dispute).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from genodeep._device import resolve_device
from genodeep.interpret._targets import select_output
from genodeep.interpret.api import resolve_target
from genodeep.interpret.ism import saturation_mutagenesis
from genodeep.models.spec import ModelSpec

__all__ = ["Objective", "Term", "parse_terms"]

#: sequences per forward pass when no gradient is needed
_CHUNK = 256

_TERM = re.compile(
    r"^\s*(?:(?P<w>[-+0-9.eE]+)\s*\*\s*)?(?:(?P<dir>max|min)\s*:\s*(?P<task>.+?)|(?P<ttask>.+?)\s*=\s*(?P<value>[-+0-9.eE]+))\s*$"
)


@dataclass(frozen=True)
class Term:
    """One term of an objective: ``weight * direction * raw[task]`` or ``-weight * |raw - target|``."""

    task: int
    name: str
    kind: str  # "max", "min" or "target"
    weight: float = 1.0
    value: float | None = None  # target on the prediction scale
    raw_target: float | None = None  # the same on the raw scale

    def label(self) -> str:
        w = "" if self.weight == 1 else f"{self.weight:g}*"
        return (
            f"{w}{self.name}={self.value:g}"
            if self.kind == "target"
            else f"{w}{self.kind}:{self.name}"
        )


def _inverse_link(link: str, value: float, name: str) -> float:
    if link == "sigmoid":
        if not 0 < value < 1:
            raise ValueError(
                f"target {name}={value:g}: a binary task's probability must be in (0, 1)"
            )
        return math.log(value / (1 - value))
    if link == "bpnet":  # the count head predicts log(1 + total)
        if value < 0:
            raise ValueError(f"target {name}={value:g}: a count target must be >= 0")
        return math.log1p(value)
    if link == "exp":
        if value <= 0:
            raise ValueError(f"target {name}={value:g}: a rate target must be > 0")
        return math.log(value)
    return float(value)


def parse_terms(terms: str | Sequence[str], spec: ModelSpec) -> list[Term]:
    """Text terms (a list, or one string separated by commas) -> :class:`Term` objects of ``spec``'s tasks."""
    if isinstance(terms, str):
        terms = [t for t in terms.split(",") if t.strip()]
    terms = list(terms)
    if not terms:
        raise ValueError(
            "an objective needs at least one term, e.g. max:TASK, min:TASK or TASK=0.9"
        )
    out = []
    for text in terms:
        m = _TERM.match(str(text))
        if m is None:
            raise ValueError(
                f"objective term {text!r} is not understood; write max:TASK, min:TASK or TASK=VALUE "
                "(optionally with a weight, 2*max:TASK)"
            )
        name = (m["task"] or m["ttask"]).strip()
        task = resolve_target(name, spec.task_names)
        n_tasks = max(1, len(spec.task_names))
        if not -n_tasks <= task < n_tasks:
            raise ValueError(
                f"objective term {text!r}: task index {task} but the model has {n_tasks}"
            )
        task %= n_tasks
        label = spec.task_names[task] if spec.task_names else str(task)
        weight = float(m["w"]) if m["w"] else 1.0
        if m["dir"]:
            out.append(Term(task, label, m["dir"], weight))
        else:
            value = float(m["value"])
            raw = _inverse_link(spec.link or "identity", value, label)
            out.append(Term(task, label, "target", weight, value, raw))
    return out


def _raw_task(y, task: int, link: str) -> torch.Tensor:
    """A model's raw output for one task, (N,): the count head of a (profile, counts) pair, the column
    of an (N, T) output, the summed signal of a binned track (:func:`select_output`), and for a binned
    track of log-rates the log of its summed predicted rates."""
    if link == "exp" and isinstance(y, torch.Tensor) and y.dim() == 3:
        return torch.logsumexp(y[:, task], -1)
    return select_output(y, task)


class Objective:
    """A design objective over one model or an ensemble.

    Parameters
    ----------
    models : list of torch.nn.Module
        Sequence models ``(N, 4, L) -> output``, all with the same input length and task names.
    specs : list of ModelSpec
        What each model reads and predicts (``Package.spec``).
    terms : str or list of str
        See the module docstring.
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    disagreement : float, default 0.0
        Weight of the ensemble's disagreement penalty: the objective is the terms on the ensemble mean minus
        ``disagreement`` times the standard deviation of the models' own objectives (no effect for one
        model).
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        specs: Sequence[ModelSpec],
        terms: str | Sequence[str],
        *,
        device: str | torch.device | None = None,
        disagreement: float = 0.0,
    ) -> None:
        if not models:
            raise ValueError("design needs at least one model")
        if not math.isfinite(disagreement) or disagreement < 0:
            raise ValueError(
                f"disagreement must be a finite weight >= 0 (0: no penalty); got {disagreement}"
            )
        if len(specs) != len(models):
            raise ValueError(f"{len(models)} models but {len(specs)} specs")
        for i, spec in enumerate(specs):
            if spec.input_kind != "sequence":
                raise ValueError(
                    f"model {i + 1} reads {spec.input_kind} inputs; design edits DNA sequences and "
                    "needs a model whose only input is a one-hot sequence"
                )
        lengths = {s.input_length for s in specs if s.input_length}
        if len(lengths) > 1:
            raise ValueError(f"the models read different sequence lengths {sorted(lengths)}")
        names = [list(s.task_names) for s in specs]
        if any(n != names[0] for n in names[1:]):
            raise ValueError(
                "the models of an ensemble must predict the same tasks in the same order; got "
                + " vs ".join(",".join(n) for n in names)
            )
        self.device = resolve_device(device)
        self.models = [m.to(self.device).eval() for m in models]
        self.specs = list(specs)
        self.links = [s.link or "identity" for s in specs]
        self.terms = parse_terms(terms, self.specs[0])
        self.input_length = next(iter(lengths), None)
        self.disagreement = float(disagreement)

    def __repr__(self) -> str:
        penalty = (
            f" - {self.disagreement:g}*sd" if self.disagreement and len(self.models) > 1 else ""
        )
        terms = ", ".join(t.label() for t in self.terms)
        return f"Objective({terms}{penalty}; {len(self.models)} model(s))"

    @property
    def tasks(self) -> list[int]:
        """The task index of each term."""
        return [t.task for t in self.terms]

    def raw(self, X: torch.Tensor, *, grad: bool = False) -> torch.Tensor:
        """Raw task outputs of every model for every term.

        X : torch.Tensor, shape (N, 4, L). Returns (M models, N, K terms) float32 on ``self.device``.
        """
        if not grad and X.shape[0] > _CHUNK:
            return torch.cat([self.raw(X[i : i + _CHUNK]) for i in range(0, X.shape[0], _CHUNK)], 1)
        X = X.to(self.device, torch.float32)
        out = []
        with torch.set_grad_enabled(grad):
            for model, link in zip(self.models, self.links, strict=True):
                y = model(X)
                out.append(torch.stack([_raw_task(y, t, link) for t in self.tasks], -1).float())
        return torch.stack(out)

    def combine(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw outputs (M, ..., K) -> objective (...): the terms summed on the ensemble mean, minus the
        disagreement penalty."""
        total = self._terms(raw.mean(0))
        if self.disagreement and raw.shape[0] > 1:
            per = self.split(raw)
            # sqrt(var + eps): a finite gradient where the models agree exactly
            sd = (per.var(0, unbiased=False) + 1e-12).sqrt()
            total = total - self.disagreement * sd
        return total

    def _terms(self, mean: torch.Tensor) -> torch.Tensor:
        """Raw outputs (..., K) -> the weighted terms summed, (...)."""
        total = torch.zeros_like(mean[..., 0])
        for k, term in enumerate(self.terms):
            v = mean[..., k]
            if term.kind == "max":
                total = total + term.weight * v
            elif term.kind == "min":
                total = total - term.weight * v
            else:
                total = total - term.weight * (v - term.raw_target).abs()
        return total

    def __call__(self, X: torch.Tensor, *, grad: bool = False) -> torch.Tensor:
        """Objective of each sequence, (N,); differentiable in ``X`` with ``grad=True``."""
        return self.combine(self.raw(X, grad=grad))

    def per_model(self, X: torch.Tensor) -> torch.Tensor:
        """Each model's own objective (without the disagreement penalty), (M, N)."""
        return self.split(self.raw(X))

    def split(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw outputs (M, ..., K) -> each model's own objective (without the penalty), (M, ...)."""
        return torch.stack([self._terms(r) for r in raw])

    def predictions(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ensemble mean and standard deviation over models of each term's task on the prediction scale.

        Returns two (N, K) tensors (the deviation is 0 for one model)."""
        return self.to_predictions(self.raw(X))

    def to_predictions(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs (M, N, K) -> ensemble mean and SD on the prediction scale, two (N, K) tensors."""
        pred = torch.stack([_to_prediction(raw[i], self.links[i]) for i in range(raw.shape[0])])
        sd = pred.std(0, unbiased=False) if pred.shape[0] > 1 else torch.zeros_like(pred[0])
        return pred.mean(0), sd

    def substitutions(self, X: torch.Tensor, **ism_kwargs) -> torch.Tensor:
        """Objective after every single-base substitution of every sequence (fast ISM, exact).

        X : torch.Tensor, shape (N, 4, L). Returns (N, 4, L): the objective of the sequence with base ``c``
        at position ``l`` (the current objective at the current base).
        """
        X = X.float()
        ref = self.raw(X).cpu()  # (M, N, K)
        per = torch.empty(len(self.models), X.shape[0], len(self.terms), 4, X.shape[2])
        for i, (model, link) in enumerate(zip(self.models, self.links, strict=True)):
            for k, task in enumerate(self.tasks):
                delta = saturation_mutagenesis(
                    model,
                    X,
                    target=lambda y, t=task, lk=link: _raw_task(y, t, lk),
                    device=self.device,
                    **ism_kwargs,
                )
                per[i, :, k] = delta + ref[i, :, k, None, None]
        return self.combine(per.movedim(2, -1))


def _to_prediction(raw: torch.Tensor, link: str) -> torch.Tensor:
    if link == "sigmoid":
        return torch.sigmoid(raw)
    if link == "bpnet":
        return torch.expm1(raw)
    if link == "exp":
        return torch.exp(raw)
    return raw
