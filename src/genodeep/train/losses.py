"""Training losses for sequence and count models, with label masks.

Every loss is a small ``nn.Module`` called as ``loss(y_hat, y, mask=None) -> scalar tensor``:

- ``y_hat`` is the model output (logits, log-rates, distribution parameters, or a tuple of heads),
- ``y`` the targets; ``NaN`` entries of ``y`` are *missing labels* and are masked automatically,
- ``mask`` (optional, bool or 0/1, broadcastable to the per-element loss) keeps entries where true.

The loss is the mean over kept entries (0 when nothing is kept). Likelihood losses are the *exact*
negative log-likelihoods, constants included, so their values equal ``-scipy.stats.<dist>.logpmf``.

Pick a loss by name with :func:`get_loss`; :data:`LOSSES` maps the names to the classes.
The NB, ZINB and Poisson log-probabilities live in :mod:`genodeep.nn.distributions`;
:func:`multinomial_log_prob` is public here and works in any floating dtype (float64 included).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genodeep.nn.distributions import nb_log_prob, zinb_log_prob

__all__ = [
    "LOSSES",
    "get_loss",
    "masked_mean",
    "multinomial_log_prob",
    "BinaryCrossEntropy",
    "MeanSquaredError",
    "PoissonNLL",
    "MultinomialNLL",
    "BPNetLoss",
    "NegativeBinomialNLL",
    "ZINBNLL",
]


# ----------------------------------------------------------------------------- log-probabilities
def multinomial_log_prob(counts: Tensor, logits: Tensor, *, full: bool = True) -> Tensor:
    """Multinomial log-probability of count profiles given logits over the last axis.

    With ``full=True`` (default) the multinomial coefficient is included, so the value equals
    ``scipy.stats.multinomial.logpmf(counts, n=counts.sum(), p=softmax(logits))``; with ``full=False``
    only ``sum_i counts_i * log p_i`` is returned (the two differ by a term independent of the logits).

    Parameters
    ----------
    counts : Tensor, shape (..., L)
        Counts per position.
    logits : Tensor, shape (..., L)
        Unnormalised log-probabilities per position.

    Returns
    -------
    log_p : Tensor, shape (...)
    """
    log_p = torch.log_softmax(logits, dim=-1)
    out = (counts * log_p).sum(-1)
    if full:
        n = counts.sum(-1)
        out = out + torch.lgamma(n + 1) - torch.lgamma(counts + 1).sum(-1)
    return out


# ----------------------------------------------------------------------------------- reductions
def masked_mean(values: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``values`` over entries where ``mask`` is true (0 when none are).

    Parameters
    ----------
    values : Tensor, any shape
    mask : Tensor, broadcastable to ``values``, bool or 0/1 float, optional

    Returns
    -------
    mean : Tensor, scalar
    """
    if mask is None:
        return values.mean()
    m = torch.broadcast_to(mask, values.shape).to(values.dtype)
    return (values * m).sum() / m.sum().clamp_min(1.0)


def _prepare(y: Tensor, mask: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor | None]:
    """Cast ``y`` to ``like``'s dtype, replace NaN labels by 0 and fold them into the mask."""
    y = y.to(dtype=like.dtype)
    nan = torch.isnan(y)
    keep = ~nan
    y = torch.where(nan, torch.zeros((), dtype=y.dtype, device=y.device), y)
    if mask is not None:
        keep = keep & torch.broadcast_to(mask.to(device=y.device).bool(), keep.shape)
    return y, keep


def _as_float(t: Tensor) -> Tensor:
    # losses are computed in at least float32, also under bf16/fp16 autocast
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def _weight_tensor(value: float | Sequence[float] | Tensor | None, name: str) -> Tensor | None:
    if value is None:
        return None
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.ndim > 1:
        raise ValueError(
            f"{name} must be a number or a 1-D sequence (one per task), got shape {tuple(t.shape)}"
        )
    if not torch.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return t


# --------------------------------------------------------------------------------------- losses
class BinaryCrossEntropy(nn.Module):
    """Binary cross-entropy on logits, with class weights, task weights and label masks.

    Parameters
    ----------
    pos_weight : float or sequence of float (T,), optional
        Weight of positive examples per task (as in ``torch.nn.BCEWithLogitsLoss``), e.g.
        ``n_negative / n_positive`` to balance classes.
    task_weights : float or sequence of float (T,), optional
        Multiplies each task's per-element loss.

    Call ``loss(y_hat, y, mask=None)`` with logits ``y_hat`` (N, T) and labels ``y`` (N, T) in {0, 1}
    (NaN = missing).
    """

    def __init__(
        self,
        *,
        pos_weight: float | Sequence[float] | Tensor | None = None,
        task_weights: float | Sequence[float] | Tensor | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer(
            "pos_weight", _weight_tensor(pos_weight, "pos_weight"), persistent=False
        )
        self.register_buffer(
            "task_weights", _weight_tensor(task_weights, "task_weights"), persistent=False
        )

    def forward(self, y_hat: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        y_hat = _as_float(y_hat)
        y, keep = _prepare(y, mask, y_hat)
        pw = None if self.pos_weight is None else self.pos_weight.to(y_hat.dtype)
        loss = F.binary_cross_entropy_with_logits(y_hat, y, pos_weight=pw, reduction="none")
        if self.task_weights is not None:
            loss = loss * self.task_weights.to(loss.dtype)
        return masked_mean(loss, keep)


class MeanSquaredError(nn.Module):
    """Mean squared error ``(y_hat - y)**2`` over kept entries.

    Parameters
    ----------
    task_weights : float or sequence of float (T,), optional
        Multiplies each task's per-element loss.
    """

    def __init__(self, *, task_weights: float | Sequence[float] | Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer(
            "task_weights", _weight_tensor(task_weights, "task_weights"), persistent=False
        )

    def forward(self, y_hat: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        y_hat = _as_float(y_hat)
        y, keep = _prepare(y, mask, y_hat)
        loss = (y_hat - y) ** 2
        if self.task_weights is not None:
            loss = loss * self.task_weights.to(loss.dtype)
        return masked_mean(loss, keep)


class PoissonNLL(nn.Module):
    """Poisson negative log-likelihood of counts ``y`` given log-rates ``y_hat``.

    Parameters
    ----------
    full : bool
        Include the ``lgamma(y + 1)`` constant (default), so the value is exactly
        ``-scipy.stats.poisson.logpmf(y, exp(y_hat))`` averaged over kept entries.
    """

    def __init__(self, *, full: bool = True) -> None:
        super().__init__()
        self.full = bool(full)

    def forward(self, y_hat: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        y_hat = _as_float(y_hat)
        y, keep = _prepare(y, mask, y_hat)
        nll = torch.exp(y_hat) - y * y_hat
        if self.full:
            nll = nll + torch.lgamma(y + 1)
        return masked_mean(nll, keep)


def _profile_keep(y: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """Profiles (..., L) with any NaN are dropped as a whole; ``mask`` is per profile (...)."""
    nan = torch.isnan(y)
    keep = ~nan.any(-1)
    y = torch.where(nan, torch.zeros((), dtype=y.dtype, device=y.device), y)
    if mask is not None:
        keep = keep & torch.broadcast_to(mask.to(device=y.device).bool(), keep.shape)
    return y, keep


class MultinomialNLL(nn.Module):
    """Multinomial negative log-likelihood of count profiles given logits over positions.

    ``y_hat`` logits (N, T, L), ``y`` counts (N, T, L); one multinomial per (example, task) over the
    ``L`` positions; the loss is the mean over kept profiles. ``mask`` is per profile (N, T); a profile
    with any NaN count is dropped.

    Parameters
    ----------
    full : bool
        Include the multinomial coefficient ``lgamma(n + 1) - sum lgamma(y_i + 1)`` (default), so the
        value is exactly ``-scipy.stats.multinomial.logpmf``; ``False`` drops it (same gradients).
    """

    def __init__(self, *, full: bool = True) -> None:
        super().__init__()
        self.full = bool(full)

    def forward(self, y_hat: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        y_hat = _as_float(y_hat)
        y, keep = _profile_keep(y.to(y_hat.dtype), mask)
        return masked_mean(-multinomial_log_prob(y, y_hat, full=self.full), keep)


class BPNetLoss(nn.Module):
    """BPNet loss: multinomial NLL of the profile plus ``count_weight`` × MSE of log total counts.

    ``y_hat`` is the tuple ``(profile_logits (N, T, L), log_counts (N, T))``; ``y`` is either the
    count profile (N, T, L) (totals are its sum over ``L``) or a tuple ``(profile, totals (N, T))``.
    The count target is ``log(1 + total)``. ``mask`` is per profile (N, T).

    Parameters
    ----------
    count_weight : float
        The weight λ of the count term (BPNet used values around 1–10; ChromBPNet suggests
        ``median(total counts) / 10``).
    full : bool
        Include the multinomial coefficient (see :class:`MultinomialNLL`).
    """

    def __init__(self, *, count_weight: float = 1.0, full: bool = True) -> None:
        super().__init__()
        if not count_weight >= 0:
            raise ValueError(f"count_weight must be >= 0, got {count_weight!r}")
        self.count_weight = float(count_weight)
        self.profile = MultinomialNLL(full=full)

    def forward(
        self, y_hat: Sequence[Tensor], y: Tensor | Sequence[Tensor], mask: Tensor | None = None
    ) -> Tensor:
        if not isinstance(y_hat, (tuple, list)) or len(y_hat) != 2:
            raise TypeError(
                "the bpnet loss needs model outputs (profile_logits (N, T, L), log_counts (N, T)); "
                f"got {type(y_hat).__name__}. Fix: use a profile + count model or loss='multinomial'"
            )
        logits, log_counts = _as_float(y_hat[0]), _as_float(y_hat[1])
        if isinstance(y, (tuple, list)):
            profile, totals = y[0].to(logits.dtype), y[1].to(logits.dtype)
        else:
            profile = y.to(logits.dtype)
            totals = profile.sum(-1)
        prof_loss = self.profile(logits, profile, mask)
        totals, keep = _prepare(totals, mask, log_counts)
        count_loss = masked_mean((log_counts - torch.log1p(totals)) ** 2, keep)
        return prof_loss + self.count_weight * count_loss


def _nb_params(y_hat, names: tuple[str, ...], loss: str) -> list[Tensor]:
    if isinstance(y_hat, dict):
        missing = [n for n in names if n not in y_hat]
        if missing:
            raise KeyError(
                f"the {loss} loss needs model outputs {names}; missing {missing} in {sorted(y_hat)}"
            )
        return [_as_float(y_hat[n]) for n in names]
    if isinstance(y_hat, (tuple, list)) and len(y_hat) >= len(names):
        return [_as_float(t) for t in y_hat[: len(names)]]
    raise TypeError(
        f"the {loss} loss needs model outputs {names} as a dict or a tuple; got {type(y_hat).__name__}"
    )


class NegativeBinomialNLL(nn.Module):
    """Negative binomial NLL of counts ``y``; ``y_hat`` is ``{"mu", "theta"}`` or a tuple ``(mu, theta)``.

    ``mu`` (N, G) means; ``theta`` inverse dispersions broadcastable to ``y`` (e.g. (G,)).
    """

    def forward(self, y_hat, y: Tensor, mask: Tensor | None = None) -> Tensor:
        mu, theta = _nb_params(y_hat, ("mu", "theta"), "nb")
        y, keep = _prepare(y, mask, mu)
        return masked_mean(-nb_log_prob(y, mu, theta), keep)


class ZINBNLL(nn.Module):
    """Zero-inflated NB NLL; ``y_hat`` is ``{"mu", "theta", "pi_logits"}`` or a tuple in that order."""

    def forward(self, y_hat, y: Tensor, mask: Tensor | None = None) -> Tensor:
        mu, theta, pi = _nb_params(y_hat, ("mu", "theta", "pi_logits"), "zinb")
        y, keep = _prepare(y, mask, mu)
        return masked_mean(-zinb_log_prob(y, mu, theta, pi), keep)


LOSSES: dict[str, type[nn.Module]] = {
    "bce": BinaryCrossEntropy,
    "mse": MeanSquaredError,
    "poisson": PoissonNLL,
    "multinomial": MultinomialNLL,
    "bpnet": BPNetLoss,
    "nb": NegativeBinomialNLL,
    "zinb": ZINBNLL,
}
"""Loss name -> class; every class is called as ``loss(y_hat, y, mask=None) -> scalar``."""


def get_loss(name: str, **kwargs) -> nn.Module:
    """Build the loss registered under ``name`` with keyword arguments ``kwargs``.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`: ``"bce"``, ``"mse"``, ``"poisson"``, ``"multinomial"``, ``"bpnet"``,
        ``"nb"``, ``"zinb"``.
    **kwargs
        The loss class's keyword arguments (e.g. ``pos_weight`` for ``"bce"``, ``count_weight`` for
        ``"bpnet"``).

    Returns
    -------
    loss : nn.Module
        Called as ``loss(y_hat, y, mask=None) -> scalar tensor``.
    """
    if not isinstance(name, str) or name not in LOSSES:
        valid = ", ".join(repr(k) for k in LOSSES)
        raise ValueError(f"loss={name!r} is not a known loss; choose one of: {valid}")
    cls = LOSSES[name]
    params = [
        p for p in inspect.signature(cls.__init__).parameters.values() if p.kind == p.KEYWORD_ONLY
    ]
    valid_kw = [p.name for p in params]
    unknown = [k for k in kwargs if k not in valid_kw]
    if unknown:
        allowed = ", ".join(valid_kw) if valid_kw else "none"
        raise ValueError(
            f"unknown argument(s) {unknown} for loss {name!r}; valid loss_kwargs: {allowed}"
        )
    return cls(**kwargs)
