"""DeepLIFT / DeepSHAP attributions with the rescale rule, averaged over (shuffled) references.

How it works. The model is copied (the caller's model is never modified) and put in eval mode; in the
copy every nonlinear module instance is replaced by a rule module wrapping it (batch norm is folded into
the convolution before it, an activation directly followed by a max-pool becomes one rule, and output
branches the explained ``target`` does not use are dropped). Each batch runs twice through the copy:

1. the input sequences alone, ``B`` rows, without gradients; the rule modules record every
   nonlinearity's input and output (the input's forward work is done once and shared by all its
   references);
2. the references, ``B * R`` rows, with gradients; each rule module routes its output through a custom
   autograd function whose backward multiplies the incoming gradient by the DeepLIFT multiplier of the
   pair (input ``b``, reference ``r``) instead of the local derivative.

Row ``(b, r)`` of the backward pass therefore carries the multiplier chain of that pair, and the gradient
with respect to the reference rows is the pair's multiplier ``m`` at the input. Contributions are
``(X - X_ref) * m``; they sum to ``f(X) - f(X_ref)`` for every reference (completeness), which is checked
on every batch.

Rules:

- elementwise nonlinearities (ReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, genodeep ``Exp``, ...):
  the rescale rule ``m = (f(x) - f(r)) / (x - r)``, falling back to ``f'(x)`` where ``|x - r| < 1e-6``;
- max pooling (``nn.MaxPool1d``, ``nn.AdaptiveMaxPool1d``, the max part of :class:`genodeep.nn.GlobalPool`):
  the DeepSHAP/captum rule: the change of each pooled output is split into ``max(y_x, y_r) - y_r``, routed
  to the input's argmax, and ``y_x - max(y_x, y_r)``, routed to the reference's argmax, then divided by
  the change at each receiving position (the plain gradient where that change is exactly 0). This rule
  satisfies completeness exactly, also for overlapping windows;
- convolution, linear, batch norm (eval), average pooling, dropout, flatten, additions: linear, so the
  ordinary gradient is the exact multiplier.

Limitations: nonlinearities applied as functions inside ``forward`` (``F.relu(x)``, ``torch.exp(x)``,
``x.amax(-1)``) have no module to hook and are treated as linear, which breaks completeness; every batch
is checked and a warning names the modules whose ``forward`` calls such functions. Recurrent layers
(LSTM, GRU, RNN) multiply gates and are not supported (``TypeError``; use
:func:`~genodeep.interpret.integrated_gradients` or :func:`~genodeep.interpret.saturation_mutagenesis`).
"""

from __future__ import annotations

import copy
import inspect
import re
import warnings

import numpy as np
import torch
from torch import nn

from genodeep._device import resolve_device
from genodeep._progress import progress
from genodeep._validate import check_positive
from genodeep.interpret._deeplift_rules import (
    _FUNCTIONAL,
    _LINEAR_TYPES,
    _RECURRENT,
    _elementwise_rule_types,
    _fold_batchnorm,
    _RuleModule,
)
from genodeep.interpret._targets import Target, check_target, prune_unused, select_output
from genodeep.interpret.ism import _as_batch
from genodeep.nn.layers import GlobalPool
from genodeep.seq import dinucleotide_shuffle

__all__ = ["deep_lift_shap"]

#: absolute gap between sum(attributions) and f(x) - f(ref), relative to max(1, |f(x) - f(ref)|),
#: above which a warning is raised
COMPLETENESS_TOLERANCE = 1e-3
_BATCH_FLOATS = 4_000_000  # largest activation of an automatic batch (floats)


def deep_lift_shap(
    model: nn.Module,
    X: torch.Tensor,
    *,
    target: Target = None,
    references: str | torch.Tensor = "shuffle",
    n_shuffles: int = 20,
    hypothetical: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    random_state: int | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """DeepLIFT/DeepSHAP attributions (rescale rule) averaged over references.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, C, L)`` float inputs to an output reduced by ``target``. Nonlinearities must be
        ``nn.Module`` instances (see the module notes); recurrent layers are not supported.
    X : torch.Tensor, shape (N, C, L) or (C, L)
        One-hot sequences.
    target : None, int, list of int or callable, default None
        Output to explain (``None``: sum of all outputs; tuple outputs such as BPNet's
        ``(profile, counts)`` use the last head, the counts, summed over tasks).
    references : "shuffle" or torch.Tensor, default "shuffle"
        ``"shuffle"``: ``n_shuffles`` dinucleotide shuffles of each sequence
        (:func:`genodeep.seq.dinucleotide_shuffle`, seeded by ``random_state``); or a tensor of shape
        ``(N, R, C, L)`` (``R`` references per sequence) or ``(N, C, L)`` (one each).
    n_shuffles : int, default 20
        References per sequence for ``references="shuffle"``.
    hypothetical : bool, default False
        Return hypothetical contributions (the form TF-MoDISco expects): for every base ``c`` at every
        position, ``sum_k (e_c - X_ref)_k * m_k``, the contribution that base would have, averaged over
        references. ``False`` returns them multiplied by ``X`` (the actual contributions).
    batch_size : int, optional
        Reference rows per backward pass (a batch holds ``batch_size // R`` sequences, at least 1, with
        all their references). ``None`` picks it so that the largest activation of a batch holds about
        4 M floats (16 MB).
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    random_state : int, optional
        Seed for the shuffled references.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    torch.Tensor, shape like ``X``, float32
        Contributions (or hypothetical contributions). Non-hypothetical contributions sum, for each
        sequence, to the mean over references of ``f(X) - f(X_ref)`` (up to float rounding, < 1e-4 on
        the shipped architectures); an all-zero (N) column of ``X`` gets 0, so with N columns the sum
        falls short by their share. A RuntimeWarning is raised when completeness fails (a nonlinearity
        without a rule).

    Raises
    ------
    TypeError
        If the model contains recurrent layers.
    """
    check_target(target)
    if batch_size is not None:
        check_positive("batch_size", batch_size)
    Xb, single = _as_batch(X)
    Xb = Xb.float()
    n, c, length = Xb.shape
    refs_given = _check_references(references, Xb)
    if refs_given is None:
        check_positive("n_shuffles", n_shuffles)
        n_refs = int(n_shuffles)
    else:
        n_refs = refs_given.shape[1]
    dev = resolve_device(device)
    explainer = _Explainer(model, dev)
    row_floats = explainer.prepare(Xb[:1].to(dev), target)
    if batch_size is None:
        batch_size = max(1, _BATCH_FLOATS // row_floats)
    out = torch.empty(n, c, length, dtype=torch.float32)
    seqs_per_batch = max(1, batch_size // n_refs)
    # one seed per sequence: the references do not depend on the batching
    seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=n)
    worst = (0.0, 0.0)
    batches = [(s, min(s + seqs_per_batch, n)) for s in range(0, n, seqs_per_batch)]
    for s, e in progress(batches, total=len(batches), desc="deep_lift_shap", verbose=verbose):
        if refs_given is not None:
            rb = refs_given[s:e]
        else:
            rb = torch.cat([_shuffles(Xb[i : i + 1], n_refs, int(seeds[i])) for i in range(s, e)])
        xb = Xb[s:e]
        hyp_sum = torch.zeros(e - s, c, length, dtype=torch.float32)
        for r0 in range(0, n_refs, batch_size):
            r_part = rb[:, r0 : r0 + batch_size].float()
            mult, y_x, y_r = explainer.multipliers(xb.to(dev), r_part.to(dev), target)
            mult, y_x, y_r = mult.cpu(), y_x.cpu(), y_r.cpu()
            contrib = ((xb.unsqueeze(1) - r_part) * mult).sum((2, 3))
            diff = y_x.unsqueeze(1) - y_r
            gap = (contrib - diff).abs() / diff.abs().clamp_min(1.0)
            if gap.max().item() > worst[0]:
                worst = (gap.max().item(), diff.abs().max().item())
            hyp_sum += (mult - (r_part * mult).sum(2, keepdim=True)).sum(1)
        out[s:e] = hyp_sum / n_refs
    if worst[0] > COMPLETENESS_TOLERANCE:
        warnings.warn(explainer.completeness_message(worst[0]), RuntimeWarning, stacklevel=2)
    if not hypothetical:
        out = out * Xb
    return out[0] if single else out


def _check_references(references, X: torch.Tensor) -> torch.Tensor | None:
    if isinstance(references, str):
        if references != "shuffle":
            raise ValueError(
                f"references={references!r} is not valid; use 'shuffle' or a tensor of shape "
                f"(N, R, C, L)"
            )
        return None
    if isinstance(references, np.ndarray):
        references = torch.from_numpy(references)
    if not isinstance(references, torch.Tensor):
        raise TypeError(
            f"references must be 'shuffle' or a tensor, got {type(references).__name__}"
        )
    if references.ndim == 3 and references.shape == X.shape:
        return references.unsqueeze(1).cpu()
    if (
        references.ndim != 4
        or references.shape[0] != X.shape[0]
        or references.shape[2:] != X.shape[1:]
    ):
        n, c, length = X.shape
        raise ValueError(
            f"references had shape {tuple(references.shape)} while it should have had "
            f"({n}, R, {c}, {length}) (R references per sequence) or ({n}, {c}, {length})"
        )
    if references.shape[1] == 0:
        raise ValueError("references has 0 references per sequence (axis 1); pass at least one")
    return references.cpu()


def _shuffles(X: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return dinucleotide_shuffle(X, n=n, random_state=seed).float()


class _Explainer:
    """A rule-wrapped, eval-mode copy of a model returning DeepLIFT multipliers for (input, reference) pairs."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        recurrent = [name for name, m in model.named_modules() if isinstance(m, _RECURRENT)]
        if recurrent:
            kind = type(model.get_submodule(recurrent[0])).__name__
            raise TypeError(
                f"deep_lift_shap does not support recurrent layers (found {kind} at "
                f"{recurrent[0]!r}): DeepLIFT has no exact rule for gated recurrences. Use "
                "integrated_gradients or saturation_mutagenesis for this model"
            )
        self.model = copy.deepcopy(model).to(device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        _fold_batchnorm(self.model)
        self.records: list[tuple] = []
        self.pruned: list[str] | None = None
        self.mode = "off"
        self.pos = 0
        self.n_refs = 1
        self.unknown: list[str] = []
        self.functional: list[str] = []
        elementwise = _elementwise_rule_types()
        self._fuse_act_pool(elementwise)
        wrapped: dict[int, _RuleModule] = {}
        seen_classes: set[type] = set()
        for name, m in list(self.model.named_modules()):
            if hasattr(m, "inplace"):
                m.inplace = False
            kind = None
            if isinstance(m, elementwise):
                kind = "elementwise"
            elif isinstance(m, nn.MaxPool1d):
                kind = "maxpool"
            elif isinstance(m, nn.AdaptiveMaxPool1d):
                kind = "adaptivemax"
            elif isinstance(m, GlobalPool) and m.mode != "avg":
                kind = "globalpool"
            elif not isinstance(m, _LINEAR_TYPES + (GlobalPool,)) and len(m._modules) == 0 and name:
                self.unknown.append(f"{name} ({type(m).__name__})")
            if kind is not None and id(m) not in wrapped:
                wrapped[id(m)] = _RuleModule(m, kind, self)
            if type(m) not in seen_classes:
                seen_classes.add(type(m))
                own = not type(m).__module__.startswith("torch.") and not isinstance(m, _RuleModule)
                if own and kind is None and not isinstance(m, GlobalPool):
                    hit = _functional_calls(type(m))
                    if hit:
                        self.functional.append(f"{type(m).__name__}.forward calls {hit}")
        for parent in list(self.model.modules()):
            if isinstance(parent, _RuleModule):
                continue
            for key, child in list(parent._modules.items()):
                if child is not None and id(child) in wrapped:
                    parent._modules[key] = wrapped[id(child)]

    def prepare(self, X1: torch.Tensor, target: Target) -> int:
        """Prune outputs ``target`` does not use; return the largest activation per example (floats)."""
        self.pruned = prune_unused(self.model, X1, target)
        sizes = [1]

        def hook(mod, args, out):
            if isinstance(out, torch.Tensor):
                sizes.append(out[0].numel())

        handles = [m.register_forward_hook(hook) for m in self.model.modules() if not m._modules]
        try:
            with torch.no_grad():
                self.model(X1)
        finally:
            for h in handles:
                h.remove()
        return max(sizes)

    def _fuse_act_pool(self, elementwise: tuple[type[nn.Module], ...]) -> None:
        """Inside nn.Sequential, merge ``activation -> [Identity/Dropout] -> max-pool`` into one rule.

        The max-pool rule only touches the pooled positions, so the activation's multiplier is needed
        there only: fusing avoids every full-size pass of the activation's rescale rule.
        """
        for seq in list(self.model.modules()):
            if not isinstance(seq, nn.Sequential):
                continue
            keys = list(seq._modules)
            for idx, key in enumerate(keys):
                pool = seq._modules[key]
                if not isinstance(pool, (nn.MaxPool1d, nn.AdaptiveMaxPool1d)):
                    continue
                j = idx - 1
                while j >= 0 and isinstance(seq._modules[keys[j]], (nn.Identity, nn.Dropout)):
                    j -= 1
                if j < 0 or not isinstance(seq._modules[keys[j]], elementwise):
                    continue
                act = seq._modules[keys[j]]
                kind = "maxpool" if isinstance(pool, nn.MaxPool1d) else "adaptivemax"
                seq._modules[keys[j]] = nn.Identity()
                seq._modules[key] = _RuleModule(pool, kind, self, act=act)

    def multipliers(
        self, X: torch.Tensor, refs: torch.Tensor, target: Target
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Multipliers ``(B, R, C, L)``, ``y(X)`` ``(B,)`` and ``y(refs)`` ``(B, R)``."""
        b, r = refs.shape[:2]
        if self.pruned is None:
            self.prepare(X[:1], target)
        self.records, self.pos, self.n_refs = [], 0, r
        try:
            self.mode = "x"
            with torch.no_grad():
                y_x = select_output(self.model(X), target)
            self.mode = "ref"
            z = refs.reshape((b * r,) + tuple(refs.shape[2:])).detach().requires_grad_(True)
            with torch.enable_grad():
                y_r = select_output(self.model(z), target)
                (g,) = torch.autograd.grad(y_r.sum(), z)
            if self.pos != len(self.records):
                raise RuntimeError(
                    "deep_lift_shap: the model called its nonlinear modules a different number of "
                    "times for the references than for the inputs"
                )
        finally:
            self.mode = "off"
            self.records = []
        return g.reshape(refs.shape), y_x.detach().float(), y_r.detach().float().reshape(b, r)

    def completeness_message(self, gap: float) -> str:
        msg = (
            f"deep_lift_shap: attributions differ from f(X) - f(reference) by up to {gap:.3g} "
            "(relative to max(1, |difference|)); some nonlinearity has no DeepLIFT rule and was "
            "treated as linear."
        )
        if self.functional:
            msg += (
                " Nonlinear functions called inside forward cannot be hooked: "
                + "; ".join(self.functional)
                + ". Use nn.Module activations (nn.ReLU(), genodeep.nn.Exp(), genodeep.nn.GlobalPool)."
            )
        if self.unknown:
            msg += " Modules without a rule: " + ", ".join(self.unknown[:10]) + "."
        return msg


def _functional_calls(cls: type) -> str:
    """Names of nonlinear functions called in ``cls.forward`` (a heuristic source scan), or ''."""
    try:
        src = inspect.getsource(cls.forward)
    except (OSError, TypeError):
        return ""
    src = re.sub(r'""".*?"""', "", src, flags=re.S)
    src = re.sub(r"#.*", "", src)
    hits = sorted({m.group(0).rstrip("( ").strip() for m in _FUNCTIONAL.finditer(src)})
    return ", ".join(hits)
