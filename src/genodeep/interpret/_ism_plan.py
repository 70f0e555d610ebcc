"""Plans of the fast ISM path: which window of every local layer a substitution changes.

For a model with ``split_local() -> (local, head)``, :func:`_fast_plan` describes each layer of the local
stack (:class:`_Window` for layers that mix neighbouring positions) and computes, once per input length,
the integer index arrays of the changed windows; :mod:`genodeep.interpret.ism` executes the plan.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genodeep.nn.layers import ELEMENTWISE_LAYER_TYPES, ResidualDilatedConv


class _Unsupported(Exception):
    """The local stack holds a layer the fast path cannot slice."""


#: a convolution is applied to the change of its input (delta mode) when the changed input window is at
#: most this fraction of the output window it affects; else the output window is recomputed
_DELTA_RATIO = 0.75
#: ... and when each output value costs at least this many multiply-adds (in_channels * kernel_size):
#: a cheap convolution is bound by memory traffic, which the delta mode increases
_DELTA_MIN_TAPS = 512


@dataclass
class _Window:
    """A layer of the local stack that mixes neighbouring positions (convolution, residual, pooling).

    Planned for one input length; the position arrays are indexed by the mutated input position ``i``.
    ``kind`` is ``"recompute"`` (evaluate the layer on a slice of the spliced input, ``fn``) or
    ``"delta"`` (linear convolutions: ``out = ref_out + conv(cur - ref_in)``, the change of the input
    mapped through the transposed convolution, which skips the kernel taps that only see zeros).
    """

    module: nn.Module
    left: int
    right: int
    stride: int
    span: int
    pad_value: float
    fn: object = None  # recompute: slice (M, C, R) -> output (M, C', w_out)
    ceil_mode: bool = False
    conv: nn.Conv1d | None = None  # delta-capable convolution (stride 1, groups 1, zero padding)
    residual: bool = False  # ResidualDilatedConv: x + act(conv(x))
    kind: str = "recompute"
    length_in: int = 0
    length_out: int = 0
    w_in: int = 1
    w_out: int = 1
    lo_in: np.ndarray | None = None
    lo_out: np.ndarray | None = None
    # recompute
    slice_width: int = 1
    start: np.ndarray | None = None
    margin_left: int = 0
    margin_right: int = 0
    contained: bool = True
    # delta
    nat_width: int = 1
    nat_off: np.ndarray | None = None
    nat_mode: str = "exact"  # "exact" | "contained" | "clip"
    # device tensors / reference activations, filled by _FastRunner
    t: dict | None = None
    ref: dict | None = None


def _one(v) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _elementwise_types() -> tuple[type[nn.Module], ...]:
    extra = (
        nn.LeakyReLU,
        nn.SiLU,
        nn.SELU,
        nn.CELU,
        nn.Mish,
        nn.ReLU6,
        nn.Hardtanh,
        nn.PReLU,
        nn.Softsign,
        nn.LogSigmoid,
        nn.Dropout1d,
        nn.AlphaDropout,
    )
    return tuple(ELEMENTWISE_LAYER_TYPES) + extra


def _flatten(seq: nn.Module) -> list[nn.Module]:
    if isinstance(seq, nn.Sequential):
        out: list[nn.Module] = []
        for m in seq:
            out.extend(_flatten(m))
        return out
    return [seq]


def _conv_pads(conv: nn.Conv1d) -> tuple[int, int]:
    k, d = _one(conv.kernel_size), _one(conv.dilation)
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return 0, 0
        total = d * (k - 1)
        return total // 2, total - total // 2
    p = _one(conv.padding)
    return p, p


def _conv_fn(conv: nn.Conv1d):
    w, b = conv.weight, conv.bias
    s, d, g = _one(conv.stride), _one(conv.dilation), conv.groups

    def fn(z: torch.Tensor) -> torch.Tensor:
        return F.conv1d(z, w, b, s, 0, d, g)

    return fn


def _apply_inplace(act: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """``act(z)``, in place for ReLU (``z`` is always a private temporary here)."""
    if type(act) is nn.ReLU:
        return z.relu_()
    return act(z)


def _window_of(layer: nn.Module) -> _Window | None:
    """Describe a window layer; None for an elementwise layer; raise _Unsupported otherwise."""
    if isinstance(layer, nn.Conv1d):
        if layer.padding_mode != "zeros":
            raise _Unsupported(f"Conv1d with padding_mode={layer.padding_mode!r}")
        k, d = _one(layer.kernel_size), _one(layer.dilation)
        left, right = _conv_pads(layer)
        s = _one(layer.stride)
        delta_ok = s == 1 and layer.groups == 1
        return _Window(
            layer,
            left,
            right,
            s,
            d * (k - 1) + 1,
            0.0,
            _conv_fn(layer),
            conv=layer if delta_ok else None,
        )
    if isinstance(layer, ResidualDilatedConv):
        conv, act = layer.conv, layer.act
        if not isinstance(conv, nn.Conv1d) or not isinstance(act, _elementwise_types()):
            raise _Unsupported("ResidualDilatedConv with a non-Conv1d conv or non-elementwise act")
        if conv.padding_mode != "zeros":
            raise _Unsupported(f"Conv1d with padding_mode={conv.padding_mode!r}")
        k, d = _one(conv.kernel_size), _one(conv.dilation)
        left, right = _conv_pads(conv)
        span = d * (k - 1) + 1
        if _one(conv.stride) != 1 or left + right != span - 1:
            raise _Unsupported("ResidualDilatedConv whose convolution changes the length")
        cfn = _conv_fn(conv)

        def fn(z: torch.Tensor) -> torch.Tensor:
            w = z.shape[-1] - span + 1
            return z[:, :, left : left + w] + _apply_inplace(act, cfn(z))

        delta_conv = conv if conv.groups == 1 else None
        return _Window(layer, left, right, 1, span, 0.0, fn, conv=delta_conv, residual=True)
    if isinstance(layer, nn.MaxPool1d):
        if layer.return_indices:
            raise _Unsupported("MaxPool1d(return_indices=True)")
        k, d, p = _one(layer.kernel_size), _one(layer.dilation), _one(layer.padding)
        s = _one(layer.stride) if layer.stride is not None else k

        def fn(z: torch.Tensor) -> torch.Tensor:
            return F.max_pool1d(z, k, s, 0, d, False)

        return _Window(layer, p, p, s, d * (k - 1) + 1, -math.inf, fn, bool(layer.ceil_mode))
    if isinstance(layer, nn.AvgPool1d):
        k, p = _one(layer.kernel_size), _one(layer.padding)
        s = _one(layer.stride) if layer.stride is not None else k
        if layer.ceil_mode or (p > 0 and not layer.count_include_pad):
            raise _Unsupported("AvgPool1d with ceil_mode or count_include_pad=False")

        def fn(z: torch.Tensor) -> torch.Tensor:
            return F.avg_pool1d(z, k, s, 0)

        return _Window(layer, p, p, s, k, 0.0, fn)
    if isinstance(layer, _elementwise_types()):
        return None
    raise _Unsupported(f"layer {type(layer).__name__} is not a local layer")


def _fast_plan(model: nn.Module, length: int) -> list | None:
    """``[steps, head]`` of the fast path for inputs of ``length``, or None (no usable split)."""
    split_fn = getattr(model, "split_local", None)
    if split_fn is None:
        return None
    split = split_fn()
    if split is None:
        return None
    local, head = split
    try:
        steps: list = []
        for layer in _flatten(local):
            if isinstance(layer, nn.BatchNorm1d) and layer.training:
                raise _Unsupported("BatchNorm1d in training mode")
            w = _window_of(layer)
            steps.append(layer if w is None else w)
        _plan_positions(steps, length)
    except _Unsupported as err:
        warnings.warn(
            f"saturation_mutagenesis: fast path unavailable ({err}); using full forward passes",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return [steps, head]


def _plan_positions(steps: list, length: int) -> None:
    """Fill each window's index arrays for every mutated position ``i`` in ``0..length-1``.

    For each layer the *affected* output positions (those whose input window meets a changed input
    position, clipped to the valid range) are tracked; the window carried to the next layer is a
    fixed-width range (the widest affected range over ``i``) shifted to stay inside the valid range.
    """
    i = np.arange(length, dtype=np.int64)
    a_lo, a_hi = i.copy(), i + 1  # affected (changed) positions, clipped to the valid range
    lo, w = i.copy(), 1  # window of the incoming changed slice
    n = length
    for st in steps:
        if not isinstance(st, _Window):
            continue
        s, span, pl = st.stride, st.span, st.left
        n_out = _out_len(n, st)
        if n_out < 1:
            raise _Unsupported(f"input length {length} too short for the local stack")
        aff_lo = np.clip(np.floor_divide(a_lo + pl - span, s) + 1, 0, n_out)
        aff_hi = np.clip(np.floor_divide(a_hi + pl - 1, s) + 1, 0, n_out)
        aff_hi = np.maximum(aff_hi, aff_lo)
        w_out = int(min(n_out, max(1, int((aff_hi - aff_lo).max()))))
        lo_out = np.clip(aff_lo, 0, n_out - w_out)
        st.length_in, st.length_out = n, n_out
        st.w_in, st.w_out, st.lo_in, st.lo_out = w, w_out, lo.copy(), lo_out
        # recompute: the input slice of the outgoing window
        r = (w_out - 1) * s + span
        start = lo_out * s - pl
        st.slice_width, st.start = r, start
        st.margin_left = int(max(0, -start.min()))
        st.margin_right = int(max(0, (start + r).max() - n))
        off = lo - start
        st.contained = bool((off >= 0).all() and (off + w <= r).all())
        # delta: where conv(change over the incoming window) lands in the outgoing window
        if st.conv is not None:
            _set_delta_window(st)
            resid_ok = not st.residual or bool(
                ((lo - lo_out) >= 0).all() and ((lo - lo_out) + w <= w_out).all()
            )
            conv = st.conv
            heavy = conv.in_channels * _one(conv.kernel_size) >= _DELTA_MIN_TAPS
            if resid_ok and (w == 1 or (heavy and w <= _DELTA_RATIO * w_out)):
                st.kind = "delta"
        a_lo, a_hi, lo, w, n = aff_lo, aff_hi, lo_out, w_out, n_out
    steps.append(("final", lo, w, n))
    _direct_slices(steps)


def _set_delta_window(st: _Window) -> None:
    """Where the output change of a delta convolution lands in its outgoing window."""
    st.nat_width = st.w_in + st.span - 1
    st.nat_off = st.lo_in + st.left - (st.span - 1) - st.lo_out
    if (st.nat_off == 0).all() and st.nat_width == st.w_out:
        st.nat_mode = "exact"
    elif (st.nat_off >= 0).all() and (st.nat_off + st.nat_width <= st.w_out).all():
        st.nat_mode = "contained"
    else:
        st.nat_mode = "clip"


def _direct_slices(steps: list) -> None:
    """Let a delta convolution produce exactly the input slice of the pooling layer after it.

    A delta convolution's output window can be any range (its cost is set by its input window), so
    when the next window layer (after elementwise layers only) is recomputed on a slice that lies inside
    the valid range for every position, the convolution outputs that slice and the pooling layer uses
    it directly, skipping a gather and a scatter.
    """
    prev = None
    for st in steps[:-1]:
        if not isinstance(st, _Window):
            continue
        if (
            prev is not None
            and prev.kind == "delta"
            and not prev.residual
            and st.kind == "recompute"
            and (st.start >= 0).all()
            and (st.start + st.slice_width <= st.length_in).all()
        ):
            prev.lo_out, prev.w_out = st.start.copy(), st.slice_width
            _set_delta_window(prev)
            st.kind = "direct"
        prev = st
    for st in steps[:-1]:
        # a recomputed window that spans the whole output: run the layer itself (with its own
        # padding) on the full spliced input, which is narrower than the padded slice
        if isinstance(st, _Window) and st.kind == "recompute" and st.w_out == st.length_out:
            st.kind = "full"


def _out_len(n: int, st: _Window) -> int:
    span = n + st.left + st.right - st.span
    if span < 0:
        return 0
    if st.ceil_mode:
        out = -(-span // st.stride) + 1
        if (out - 1) * st.stride >= n + st.left:  # last window must start inside input or left pad
            out -= 1
        return out
    return span // st.stride + 1
