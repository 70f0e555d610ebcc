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
import torch.nn.functional as F
from torch import nn

from genodeep._device import resolve_device
from genodeep._progress import progress
from genodeep._validate import check_positive
from genodeep.interpret._targets import Target, check_target, prune_unused, select_output
from genodeep.interpret.ism import _as_batch

__all__ = ["deep_lift_shap"]

#: absolute gap between sum(attributions) and f(x) - f(ref), relative to max(1, |f(x) - f(ref)|),
#: above which a warning is raised
COMPLETENESS_TOLERANCE = 1e-3
_SMALL = 1e-6
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
    from genodeep.seq import dinucleotide_shuffle

    return dinucleotide_shuffle(X, n=n, random_state=seed).float()


# ----------------------------------------------------------------------------------------------
# rules as autograd functions: forward returns the module's own output for the reference rows;
# backward multiplies the incoming gradient by the pair's DeepLIFT multiplier
# ----------------------------------------------------------------------------------------------


class _Rescale(torch.autograd.Function):
    """Rescale rule for an elementwise nonlinearity (``m`` computed in forward, applied in backward)."""

    @staticmethod
    def forward(ctx, inp, out, x_in, x_out, n_refs, deriv, exact_zero):  # noqa: D102
        b = x_in.shape[0]
        shape = (b, n_refs) + tuple(inp.shape[1:])
        d_in = torch.sub(x_in.unsqueeze(1), inp.reshape(shape))
        m = torch.sub(x_out.unsqueeze(1), out.reshape(shape)).div_(d_in)
        # secant where the input changed, the input's derivative where it (almost) did not; for ReLU
        # the secant is exact for any nonzero change, so only exact zeros fall back
        small = d_in == 0 if exact_zero else d_in.abs_() < _SMALL
        m = torch.where(small, deriv(x_in).unsqueeze(1).to(m.dtype), m)
        ctx.save_for_backward(m.reshape(inp.shape))
        return out

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (m,) = ctx.saved_tensors
        return grad * m, None, None, None, None, None, None


class _MaxRoute(torch.autograd.Function):
    """Max-pool rule for the reference rows: scatter ``grad * factor`` to the argmax positions.

    ``fx``/``fr`` ``(B, R, C, Lo)`` are the factors routed through the input's and the reference's argmax
    ``ix``/``ir`` (same shape, possibly expanded views); the factors already include the multiplier of an
    elementwise activation fused before the pool. The gradient returned has the pooled input's shape.
    """

    @staticmethod
    def forward(ctx, inp, out, fx, fr, ix, ir):  # noqa: D102
        ctx.save_for_backward(fx, fr, ix, ir)
        ctx.length = inp.shape[-1]
        return out

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        fx, fr, ix, ir = ctx.saved_tensors
        g = grad.reshape(fx.shape)
        res = torch.zeros(fx.shape[:-1] + (ctx.length,), dtype=grad.dtype, device=grad.device)
        res.scatter_add_(-1, ix, g * fx).scatter_add_(-1, ir, g * fr)
        return res.reshape((-1,) + tuple(res.shape[2:])), None, None, None, None, None


class _Act:
    """An elementwise activation with its DeepLIFT secant (``None``: identity)."""

    def __init__(self, module: nn.Module | None) -> None:
        self.module = module
        self.exact_zero = module is None or isinstance(module, nn.ReLU)
        self.deriv = _derivative(module) if module is not None else (lambda z: torch.ones_like(z))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.module is None else self.module(z)

    def secant(self, z_x, z_r, a_x, a_r) -> torch.Tensor:
        """``(a_x - a_r) / (z_x - z_r)``, or ``f'(z_x)`` where the change is (almost) zero."""
        d_in = z_x - z_r
        small = d_in == 0 if self.exact_zero else d_in.abs() < _SMALL
        m = (a_x - a_r) / d_in.masked_fill(small, 1.0)
        return torch.where(small, self.deriv(z_x), m)


def _pool_factors(rec_x, rec_r, act: _Act, n_refs: int, fast: bool):
    """Factors of the DeepSHAP max-pool rule (fused with a preceding activation) for every pair.

    The change of each pooled output ``o_x - o_r`` is split into ``max(o_x, o_r) - o_r``, sent to the
    input's argmax ``j``, and ``o_x - max(o_x, o_r)``, sent to the reference's argmax ``j'``; each share is
    divided by the activation change at its receiving position (where that change is exactly 0 the share
    is 0 too and the plain gradient is used, as DeepSHAP does), then multiplied by the activation's
    rescale multiplier there. Only pooled positions are touched, never the whole input.

    ``rec_x = (z_x (B, C, Lin), pooled pre-activations (B, C, Lo) or None, pooled activations o_x,
    argmax (B, C, Lo))`` and ``rec_r`` the same for the ``B*R`` reference rows. ``fast``: the activation
    is the identity or ReLU and the pool ran on the pre-activations; the rescale and pool divisions then
    cancel to ``share / (z_x - z_r)`` at the receiving position.

    Returns ``fx, fr, ix, ir``, each ``(B, R, C, Lo)``.
    """
    z_x, vz_x, o_x, i_x = rec_x
    z_r, vz_r, o_r, i_r = rec_r
    b, c, lo = o_x.shape
    shape = (b, n_refs, c, lo)
    big = (b, n_refs, c, z_x.shape[-1])
    ox = o_x.unsqueeze(1)
    orr = o_r.reshape(shape)
    ix = i_x.unsqueeze(1).expand(shape)
    ir = i_r.reshape(shape)
    zr4 = z_r.reshape(big)
    zx4 = z_x.unsqueeze(1).expand(big)
    share_x = ox - orr
    share_r = share_x.clamp_max(0.0)  # o_x - max(o_x, o_r)
    share_x.clamp_min_(0.0)  # max(o_x, o_r) - o_r
    if fast:
        # x side: j is the input's argmax, its pre-activation is vz_x
        zx_j = vz_x.unsqueeze(1)
        dz = torch.sub(zx_j, zr4.gather(-1, ix))
        zero = dz == 0
        fx = share_x.div_(dz.masked_fill_(zero, 1.0))
        fx = torch.where(zero, act.deriv(zx_j), fx)
        # reference side: j' is the reference's argmax, its pre-activation is vz_r (share is 0 where
        # the pre-activations agree, so no fallback is needed)
        dz = zx4.gather(-1, ir).sub_(vz_r.reshape(shape))
        fr = share_r.div_(dz.masked_fill_(dz == 0, 1.0))
        return fx, fr, ix, ir
    zr_j = zr4.gather(-1, ix)
    ar_j = act(zr_j)
    da = ox - ar_j
    zero = da == 0
    fx = torch.where(zero, torch.ones_like(share_x), share_x / da.masked_fill(zero, 1.0))
    zx_j = z_x.gather(-1, i_x).unsqueeze(1).expand(shape)
    fx = fx * act.secant(zx_j, zr_j, ox.expand(shape), ar_j)
    zx_jr = zx4.gather(-1, ir)
    ax_jr = act(zx_jr)
    da = ax_jr - orr
    fr = share_r / da.masked_fill(da == 0, 1.0)
    fr = fr * act.secant(zx_jr, zr4.gather(-1, ir), ax_jr, orr)
    return fx, fr, ix, ir


# ----------------------------------------------------------------------------------------------
# the explainer: a copy of the model whose nonlinear modules are wrapped
# ----------------------------------------------------------------------------------------------


def _elementwise_rule_types() -> tuple[type[nn.Module], ...]:
    from genodeep.nn.layers import Exp

    return (
        nn.ReLU,
        nn.LeakyReLU,
        nn.ELU,
        nn.SELU,
        nn.CELU,
        nn.GELU,
        nn.SiLU,
        nn.Mish,
        nn.Sigmoid,
        nn.Tanh,
        nn.Softplus,
        nn.Hardtanh,
        nn.ReLU6,
        nn.Hardsigmoid,
        nn.Hardswish,
        nn.LogSigmoid,
        nn.Softsign,
        nn.Tanhshrink,
        nn.PReLU,
        Exp,
    )


def _increasing(module: nn.Module) -> bool:
    """Whether ``pool(act(z)) == act(pool(z))`` with the same argmax (increasing, no flat top)."""
    from genodeep.nn.layers import Exp

    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope > 0
    return isinstance(
        module,
        (
            nn.ReLU,
            nn.ELU,
            nn.SELU,
            nn.CELU,
            nn.Sigmoid,
            nn.Tanh,
            nn.Softplus,
            nn.LogSigmoid,
            nn.Softsign,
            Exp,
        ),
    )


_LINEAR_TYPES: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.Conv2d,
    nn.ConvTranspose1d,
    nn.Linear,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.AvgPool1d,
    nn.AdaptiveAvgPool1d,
    nn.Dropout,
    nn.Dropout1d,
    nn.AlphaDropout,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.ZeroPad1d,
    nn.ConstantPad1d,
)
_RECURRENT = (nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell, nn.GRUCell, nn.RNNCell)
_FUNCTIONAL = re.compile(
    r"(?:\bF|functional|\btorch)\.(relu6?|leaky_relu|elu|selu|celu|gelu|silu|mish|sigmoid|tanh|"
    r"softplus|softmax|log_softmax|exp|max_pool1d|adaptive_max_pool1d|amax|max|hardtanh)\s*\(|"
    r"\.(relu|sigmoid|tanh|exp|softmax|amax|max)\s*\("
)


def _derivative(module: nn.Module):
    if isinstance(module, nn.ReLU):
        return lambda x: (x > 0).to(x.dtype)

    def deriv(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            z = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(module(z).sum(), z)
        return g

    return deriv


class _RuleModule(nn.Module):
    """Stands in for a nonlinear module of the copy: records (input pass) or applies its rule (references).

    ``kind``: ``"elementwise"`` (rescale rule), ``"maxpool"``/``"adaptivemax"`` (DeepSHAP max rule,
    optionally fused with the activation ``act`` that precedes it), ``"globalpool"`` (genodeep
    ``GlobalPool`` with a max part).
    """

    def __init__(
        self, inner: nn.Module, kind: str, explainer: _Explainer, act: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.inner = inner
        self.kind = kind
        self.__dict__["explainer"] = explainer  # not a submodule
        if kind == "elementwise":
            self.deriv = _derivative(inner)
            self.exact_zero = isinstance(inner, nn.ReLU)
        else:
            self.act = _Act(act)
            self.act_first = act is not None and not _increasing(act)
            self.fast = not self.act_first and self.act.exact_zero

    def _pool(self, z: torch.Tensor):
        """``(module output, (z, pooled pre-activations or None, pooled activations, argmax))``."""
        m = self.inner
        a = self.act(z) if self.act_first else z
        if self.kind == "maxpool":
            v, i = F.max_pool1d(
                a, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, return_indices=True
            )
        else:
            size = m.output_size if self.kind == "adaptivemax" else 1
            v, i = F.adaptive_max_pool1d(a, size, return_indices=True)
        vz = None if self.act_first else v
        o = v if self.act_first else self.act(v)
        out = o
        if self.kind == "globalpool":
            out = o.squeeze(-1)
            if m.mode == "max+avg":
                out = torch.cat([out, z.mean(dim=-1)], dim=1)
        return out, (z, vz, o, i)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ex = self.explainer
        if ex.mode == "off":
            return self.inner(self.act(x)) if self.kind != "elementwise" else self.inner(x)
        if ex.mode == "x":
            if self.kind == "elementwise":
                out = self.inner(x)
                ex.records.append((x, out))
            else:
                out, rec = self._pool(x)
                ex.records.append(rec)
            return out
        k = ex.pos
        ex.pos += 1
        rec = ex.records[k] if k < len(ex.records) else None
        if rec is None or rec[0].shape[1:] != x.shape[1:]:
            raise RuntimeError(
                "deep_lift_shap: the model called its nonlinear modules in a different order for the "
                "references than for the inputs; its forward must not branch on the data"
            )
        if self.kind == "elementwise":
            with torch.no_grad():
                out = self.inner(x)
            x_in, x_out = rec
            return _Rescale.apply(x, out, x_in, x_out, ex.n_refs, self.deriv, self.exact_zero)
        with torch.no_grad():
            out, rec_r = self._pool(x.detach())
            fx, fr, ix, ir = _pool_factors(rec, rec_r, self.act, ex.n_refs, self.fast)
        routed = _MaxRoute.apply(x, rec_r[2], fx, fr, ix, ir)
        if self.kind == "globalpool":
            routed = routed.squeeze(-1)
            if self.inner.mode == "max+avg":
                return torch.cat([routed, x.mean(dim=-1)], dim=1)
        return routed


def _fold_batchnorm(model: nn.Module) -> None:
    """Fold eval-mode BatchNorm1d into the Conv1d/Linear right before it inside nn.Sequential (in place)."""
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        keys = list(seq._modules)
        for k0, k1 in zip(keys, keys[1:]):
            prev, bn = seq._modules[k0], seq._modules[k1]
            if not isinstance(bn, nn.BatchNorm1d) or bn.running_mean is None:
                continue
            if isinstance(prev, nn.Conv1d) and prev.groups == 1:
                shape = (-1, 1, 1)
            elif isinstance(prev, nn.Linear):
                shape = (-1, 1)
            else:
                continue
            with torch.no_grad():
                scale = torch.rsqrt(bn.running_var + bn.eps)
                if bn.weight is not None:
                    scale = scale * bn.weight
                shift = -bn.running_mean * scale
                if bn.bias is not None:
                    shift = shift + bn.bias
                bias = prev.bias if prev.bias is not None else torch.zeros_like(bn.running_mean)
                new_bias = bias * scale + shift
                prev.weight.mul_(scale.reshape(shape))
                prev.bias = nn.Parameter(new_bias, requires_grad=False)
            seq._modules[k1] = nn.Identity()


class _Explainer:
    """A rule-wrapped, eval-mode copy of a model returning DeepLIFT multipliers for (input, reference) pairs."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        from genodeep.nn.layers import GlobalPool

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
