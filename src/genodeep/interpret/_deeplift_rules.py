"""The DeepLIFT rules of :func:`genodeep.interpret.deep_lift_shap`: autograd functions and rule modules.

Each nonlinear module of the explained copy is replaced by a :class:`_RuleModule`, which records the
input pass and, for the reference rows, routes its output through an autograd function whose backward
applies the rescale rule (elementwise nonlinearities) or the DeepSHAP max-pool rule.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genodeep.nn.layers import Exp

_SMALL = 1e-6


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
        self, inner: nn.Module, kind: str, explainer: Any, act: nn.Module | None = None
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
