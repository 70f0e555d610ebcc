"""SpliceAI scores over tensors: a local graph run over position ranges, the reference shared, ALT incremental.

SpliceAI's delta scores need, per variant, the model outputs at ``2 * distance + 1`` positions for the
reference and for the ALT sequence. The ``spliceai`` tool computes both with full 10,001-base windows,
five models each. Here, for the imported graph (:class:`~genodeep.models.imported.ImportedGraph`):

- :class:`LocalPlan` runs a graph of stride-1 convolutions, per-position layers, merges and crops over
  an interval of positions only: each node is computed where the requested outputs read it (the output
  range widened by the receptive field still ahead), with no padding (a request that would read
  padding is refused with :class:`Unsupported`, so the numbers are those of the full forward);
  batch normalisation after a convolution is folded into it, chains of per-position layers are fused,
  and convolutions run as channels-last 2-d convolutions (oneDNN's fast path on CPU);
- :func:`ref_alt_outputs` computes the reference once for a long stretch (a cluster of variants) and
  each ALT allele incrementally: an edit changes a node only within the receptive field of the layers
  so far, so each ALT node is computed only over that range intersected with what the outputs need,
  and reads the reference values elsewhere (shifted by the length change right of an indel). ALT
  alleles of one shape are batched.

:func:`align_indel` and :func:`delta_scores` are the tool's own final steps on the output arrays.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genodeep._device import resolve_device
from genodeep.models.imported import ImportedGraph

__all__ = ["AltEdit", "LocalPlan", "Unsupported", "align_indel", "delta_scores", "ref_alt_outputs"]

_MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum", "concat")
Interval = tuple[int, int]


class Unsupported(ValueError):
    """The graph, or a request, cannot run over position ranges exactly; use the full forward."""


@dataclass
class _Step:
    """One fused node: ``kind`` input | conv | point | merge | crop, then ``post`` per position."""

    name: str
    kind: str
    inputs: list[int]
    weight: torch.Tensor | None = None  # conv: (Cout, Cin, 1, K) channels-last; K == 1: (Cout, Cin)
    bias: torch.Tensor | None = None
    kernel: int = 1
    dilation: int = 1
    left: int = 0  # conv: zero padding on the left; crop: positions removed on the left
    right: int = 0
    mode: str = ""
    post: list[tuple] = field(default_factory=list)

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) if self.kind == "conv" else 0


def _activation_post(module: nn.Module, node: str) -> list[tuple]:
    if isinstance(module, nn.Identity):
        return []
    if isinstance(module, nn.ReLU):
        return [("relu",)]
    if isinstance(module, nn.Softmax):
        if module.dim != 1:
            raise Unsupported(f"node {node!r}: softmax over dim {module.dim}, not the channels")
        return [("softmax",)]
    return [("module", module)]  # the other activations of ImportedGraph are elementwise


def _apply_post(x: torch.Tensor, post: list[tuple], fresh: bool) -> torch.Tensor:
    """Per-position functions on ``(B, W, C)``; ``fresh``: ``x`` may be overwritten."""
    for kind, *a in post:
        if kind == "affine":
            x = torch.addcmul(a[1], x, a[0])
        elif kind == "relu":
            x = x.clamp_min_(0.0) if fresh else x.clamp_min(0.0)
        elif kind == "softmax":
            x = torch.softmax(x, dim=-1)
        elif kind == "linear":
            x = F.linear(x, a[0], a[1])
        else:
            x = a[0](x)
        fresh = True
    return x


def _conv(x: torch.Tensor, st: _Step) -> torch.Tensor:
    """Valid convolution of ``(B, W, Cin)`` -> ``(B, W - span, Cout)`` (channels-last throughout)."""
    if st.kernel == 1:
        return F.linear(x, st.weight, st.bias)
    xc = x.contiguous().permute(0, 2, 1).unsqueeze(2)  # (B, C, 1, W), channels-last strides
    y = F.conv2d(xc, st.weight, st.bias, dilation=(1, st.dilation))
    return y.squeeze(2).permute(0, 2, 1)


def _merge(xs: list[torch.Tensor], mode: str) -> torch.Tensor:
    if mode == "concat":
        return torch.cat(xs, dim=-1)
    if mode == "subtract":
        return xs[0] - xs[1]
    out = xs[0]
    for x in xs[1:]:
        if mode in ("add", "average"):
            out = out + x
        elif mode == "multiply":
            out = out * x
        elif mode == "maximum":
            out = torch.maximum(out, x)
        else:
            out = torch.minimum(out, x)
    return out / len(xs) if mode == "average" else out


class LocalPlan:
    """An :class:`ImportedGraph` of local layers, run over position ranges (see the module docstring).

    Supported nodes: one ``input``; ``conv1d`` (stride 1), ``batchnorm``, ``activation``, ``identity``,
    ``dense`` (per position), elementwise merges, ``concat`` on channels, ``crop``; and one output node.
    Anything else raises :class:`Unsupported`. Positions are absolute: a node keeps the coordinates of
    the input (a crop removes positions without shifting the others). The weights are copied to
    ``device`` (``None``: CUDA when available).
    """

    def __init__(self, model: ImportedGraph, device: str | torch.device | None = None) -> None:
        if len(model.outputs) != 1:
            raise Unsupported(f"the graph has {len(model.outputs)} outputs; one is supported")
        graph = model.graph()
        uses = Counter(i for _, _, inputs, _, _ in graph for i in inputs)
        uses.update(model.outputs)
        steps: list[_Step] = []
        index: dict[str, int] = {}
        dev = self.device = resolve_device(device)
        for name, op, inputs, args, module in graph:
            ins = [index[i] for i in inputs]
            if op == "input":
                if steps:
                    raise Unsupported("the graph has several inputs; one is supported")
                index[name] = len(steps)
                steps.append(_Step(name, "input", []))
                continue
            if op in ("batchnorm", "activation", "identity", "dense"):
                post = self._point_post(op, module, name, dev)
                src = steps[ins[0]]
                if src.kind != "input" and uses[src.name] == 1:
                    if op == "batchnorm" and src.kind == "conv" and not src.post:
                        self._fold(src, post[0])
                    else:
                        src.post += post
                    src.name = name
                    index[name] = ins[0]
                    continue
                steps.append(_Step(name, "point", ins, post=post))
            elif op == "conv1d":
                steps.append(self._conv_step(name, ins, args, module, dev))
            elif op == "crop":
                left, right = int(args.get("left", 0)), int(args.get("right", 0))
                steps.append(_Step(name, "crop", ins, left=left, right=right))
            elif op in _MERGES:
                if op == "concat" and int(args.get("axis", 1)) != 1:
                    raise Unsupported(f"node {name!r}: concat on axis {args.get('axis')}")
                steps.append(_Step(name, "merge", ins, mode=op))
            else:
                raise Unsupported(f"node {name!r}: operation {op!r} has no position-range form")
            index[name] = len(steps) - 1
        if not steps or steps[0].kind != "input":
            raise Unsupported("the graph has no input node")
        self.steps = steps
        self.out = index[model.outputs[0]]
        self.n_uses = [0] * len(steps)
        for st in steps:
            for j in st.inputs:
                self.n_uses[j] += 1
        self.n_uses[self.out] += 1

    @staticmethod
    def _point_post(op: str, module: nn.Module, name: str, dev) -> list[tuple]:
        if op == "identity":
            return []
        if op == "activation":
            return _activation_post(module, name)
        if op == "batchnorm":
            scale = module.weight if module.affine else torch.ones_like(module.running_var)
            scale = (scale / torch.sqrt(module.running_var + module.eps)).detach()
            shift = module.bias.detach() if module.affine else torch.zeros_like(scale)
            shift = shift - module.running_mean * scale
            return [("affine", scale.to(dev).float(), shift.to(dev).float())]
        lin = module.linear  # dense: a linear layer on the channels, then its activation
        bias = None if lin.bias is None else lin.bias.detach().to(dev)
        return [("linear", lin.weight.detach().to(dev), bias)] + _activation_post(module.act, name)

    @staticmethod
    def _fold(st: _Step, affine: tuple) -> None:
        """Batch normalisation after a linear convolution, folded into its weights."""
        _, scale, shift = affine
        shape = (-1,) + (1,) * (st.weight.ndim - 1)
        st.weight = (st.weight * scale.reshape(shape)).contiguous(
            memory_format=torch.channels_last if st.weight.ndim == 4 else torch.contiguous_format
        )
        bias = torch.zeros_like(scale) if st.bias is None else st.bias
        st.bias = bias * scale + shift

    @staticmethod
    def _conv_step(name: str, ins: list[int], args: dict, module: nn.Module, dev) -> _Step:
        conv = next(m for m in module if isinstance(m, nn.Conv1d))
        if int(args.get("stride", 1)) != 1 or conv.groups != 1:
            raise Unsupported(f"node {name!r}: a strided or grouped convolution")
        pad = args.get("padding", 0)
        left, right = (pad, pad) if isinstance(pad, int) else (int(pad[0]), int(pad[1]))
        w = conv.weight.detach().to(dev).float()
        k = int(w.shape[-1])
        w = w[..., 0] if k == 1 else w.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        bias = None if conv.bias is None else conv.bias.detach().to(dev).float()
        post = _activation_post(module[-1], name)
        return _Step(name, "conv", ins, w, bias, k, int(conv.dilation[0]), left, right, post=post)

    def domains(self, start: int, length: int) -> list[Interval]:
        """Each node's positions ``[s, e)`` for an input over ``[start, start + length)``."""
        dom: list[Interval] = []
        for st in self.steps:
            if st.kind == "input":
                dom.append((start, start + length))
                continue
            s, e = dom[st.inputs[0]]
            if st.kind == "conv":
                e = e + st.left + st.right - st.span
            elif st.kind == "crop":
                s, e = s + st.left, e - st.right
            elif st.kind == "merge" and any(dom[j] != (s, e) for j in st.inputs):
                raise Unsupported(f"node {st.name!r} merges inputs of different lengths")
            dom.append((s, e))
        return dom

    def needed(self, dom: list[Interval], request: Interval) -> list[Interval | None]:
        """Where each node must be computed for the output over ``request``; raises :class:`Unsupported`
        when that would read outside a node's positions (its padding)."""
        need: list[Interval | None] = [None] * len(self.steps)
        need[self.out] = request
        for k in range(len(self.steps) - 1, -1, -1):
            st, iv = self.steps[k], need[k]
            if iv is None:
                continue
            if not dom[k][0] <= iv[0] < iv[1] <= dom[k][1]:
                raise Unsupported(f"node {st.name!r}: positions {iv} outside {dom[k]}")
            reads = (iv[0] - st.left, iv[1] - st.left + st.span) if st.kind == "conv" else iv
            for j in st.inputs:
                old = need[j]
                need[j] = reads if old is None else (min(old[0], reads[0]), max(old[1], reads[1]))
        if need[0] is None or not dom[0][0] <= need[0][0] < need[0][1] <= dom[0][1]:
            raise Unsupported(f"the input needed ({need[0]}) is outside the input {dom[0]}")
        return need

    def affected(self, m: int) -> list[Interval]:
        """Positions (relative to the edit) of each node that an edit of input ``[0, m)`` changes."""
        aff: list[Interval] = []
        for st in self.steps:
            if st.kind == "input":
                aff.append((0, m))
                continue
            ivs = [aff[j] for j in st.inputs]
            s, e = min(i[0] for i in ivs), max(i[1] for i in ivs)
            if st.kind == "conv":
                s, e = s + st.left - st.span, e + st.left
            aff.append((s, e))
        return aff


class AltEdit(NamedTuple):
    """An ALT allele in the coordinates of the reference stretch (the orientation the model reads).

    ``pos``: first replaced base; ``ref_len`` bases replaced by ``alt`` (codes 0-4, N = 4); the ALT
    window is ``[pos + start, pos + start + length)`` of the ALT sequence (left of the edit it shares
    the reference's coordinates, right of it they shift by ``len(alt) - ref_len``).
    """

    pos: int
    ref_len: int
    alt: np.ndarray
    start: int
    length: int


_ONEHOT = np.eye(5, dtype=np.float32)[:, :4]  # code 4 (N) -> zeros


def _inter(a: Interval | None, b: Interval | None) -> Interval | None:
    if a is None or b is None or max(a[0], b[0]) >= min(a[1], b[1]):
        return None
    return max(a[0], b[0]), min(a[1], b[1])


class _Group:
    """ALT edits of one shape (ref length, alt length, window), planned once, run as one batch."""

    def __init__(self, plan: LocalPlan, edits: list[AltEdit], dev) -> None:
        e = edits[0]
        self.m, self.d = len(e.alt), len(e.alt) - e.ref_len
        dom = plan.domains(e.start, e.length)
        self.request = dom[plan.out]
        self.need = plan.needed(dom, self.request)
        self.aff = plan.affected(self.m)
        self.comp = [_inter(n, a) for n, a in zip(self.need, self.aff)]
        self.pos = np.array([x.pos for x in edits], dtype=np.int64)
        codes = np.stack([x.alt for x in edits])
        self.x = torch.from_numpy(_ONEHOT[codes]).to(dev)
        self.values: list[torch.Tensor | None] = [None] * len(plan.steps)

    def ref_span(self) -> Interval:
        """The reference positions (of the output node) that this group's outputs read."""
        s, e = self.request
        return int(self.pos.min()) + s + min(0, -self.d), int(self.pos.max()) + e + max(0, -self.d)


def ref_alt_outputs(
    plan: LocalPlan,
    codes: np.ndarray,
    windows: list[Interval],
    edits: list[AltEdit],
    *,
    batch_size: int = 32,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Reference outputs over ``windows`` and each edit's ALT outputs, sharing the reference.

    Parameters
    ----------
    plan : LocalPlan
    codes : ndarray of uint8, shape (L,)
        The reference stretch, codes 0-4 (A C G T N), in the orientation the model reads.
    windows : list of (start, stop)
        Output positions wanted from the reference (absolute, i.e. input positions).
    edits : list of AltEdit
        ALT alleles; each gives the outputs of its whole window (as a full forward of that window).
    batch_size : int, default 32
        ALT alleles computed together. The computation runs on the plan's device.

    Returns
    -------
    ref : list of ndarray, shape (T, stop - start)
    alt : list of ndarray, shape (T, L_out) (``L_out``: the output length of the edit's window)

    Raises
    ------
    Unsupported
        A request would read outside the stretch or a window (padding): use full windows instead.
    """
    dev = plan.device
    n = len(plan.steps)
    if not windows and not edits:
        return [], []
    shapes: dict[tuple, list[int]] = {}
    for i, e in enumerate(edits):
        shapes.setdefault((e.ref_len, len(e.alt), e.start, e.length), []).append(i)
    groups: list[tuple[list[int], _Group]] = []
    for idx in shapes.values():
        for s in range(0, len(idx), max(1, batch_size)):
            part = idx[s : s + max(1, batch_size)]
            groups.append((part, _Group(plan, [edits[i] for i in part], dev)))
    spans = list(windows) + [g.ref_span() for _, g in groups]
    request = (min(s for s, _ in spans), max(e for _, e in spans))
    need = plan.needed(plan.domains(0, len(codes)), request)
    ref: list[torch.Tensor | None] = [None] * n
    x_ref = torch.from_numpy(_ONEHOT[codes]).unsqueeze(0).to(dev)
    left = list(plan.n_uses)

    def ref_slice(j: int, s: int, e: int) -> torch.Tensor:
        r0, r1 = need[j]
        if not r0 <= s <= e <= r1:
            raise RuntimeError(f"reference of {plan.steps[j].name!r}: {(s, e)} outside {(r0, r1)}")
        return ref[j][:, s - r0 : e - r0]

    def gather(g: _Group, j: int, s: int, e: int) -> torch.Tensor:
        """ALT values of node ``j`` over ``[s, e)`` (relative to each edit): computed inside the
        changed range, the reference elsewhere."""
        c = g.comp[j]
        if c is not None and c[0] <= s and e <= c[1]:
            return g.values[j][:, s - c[0] : e - c[0]]
        a0, a1 = g.aff[j]
        xs = np.arange(s, e)
        src = g.pos[:, None] + (xs - np.where(xs >= a1, g.d, 0))[None] - need[j][0]
        outside = (xs < a0) | (xs >= a1)
        if outside.any():
            lo, hi = src[:, outside].min(), src[:, outside].max()
            if lo < 0 or hi >= ref[j].shape[1]:
                raise RuntimeError(f"reference of {plan.steps[j].name!r} misses ALT positions")
        src = np.clip(src, 0, ref[j].shape[1] - 1)
        out = ref[j][0][torch.from_numpy(src).to(dev)]
        mid = _inter((s, e), c)
        inside = int((~outside).sum())
        if inside != (0 if mid is None else mid[1] - mid[0]):
            raise RuntimeError(f"ALT values of {plan.steps[j].name!r} miss changed positions")
        if mid is not None:
            out[:, mid[0] - s : mid[1] - s] = g.values[j][:, mid[0] - c[0] : mid[1] - c[0]]
        return out

    def run(st: _Step, iv: Interval, read) -> torch.Tensor:
        s, e = iv
        if st.kind == "conv":
            return _apply_post(
                _conv(read(st.inputs[0], s - st.left, e - st.left + st.span), st), st.post, True
            )
        if st.kind == "merge":
            return _apply_post(_merge([read(j, s, e) for j in st.inputs], st.mode), st.post, True)
        return _apply_post(read(st.inputs[0], s, e), st.post, False)

    with torch.inference_mode():
        for k, st in enumerate(plan.steps):
            if need[k] is not None:
                if st.kind == "input":
                    ref[k] = x_ref[:, need[k][0] : need[k][1]]
                else:
                    ref[k] = run(st, need[k], ref_slice)
            for _, g in groups:
                c = g.comp[k]
                if c is None:
                    continue
                if st.kind == "input":
                    g.values[k] = g.x[:, c[0] : c[1]]
                else:
                    g.values[k] = run(st, c, lambda j, s, e, g=g: gather(g, j, s, e))
            for j in st.inputs:
                left[j] -= 1
                if left[j] == 0:
                    ref[j] = None
                    for _, g in groups:
                        g.values[j] = None
        out_ref = [ref_slice(plan.out, s, e)[0].T.cpu().numpy() for s, e in windows]
        out_alt: list[np.ndarray | None] = [None] * len(edits)
        for idx, g in groups:
            y = gather(g, plan.out, *g.request).transpose(1, 2).cpu().numpy()
            for i, yi in zip(idx, y):
                out_alt[i] = yi
    return out_ref, out_alt


def align_indel(y: np.ndarray, ref_len: int, alt_len: int, cov: int) -> np.ndarray:
    """SpliceAI's indel alignment of ALT outputs ``(3, L)`` to the ``cov`` reference positions."""
    c = cov // 2
    if ref_len > 1 and alt_len == 1:  # deletion: zeros for the deleted bases
        zeros = np.zeros((y.shape[0], ref_len - alt_len), dtype=np.float64)
        return np.concatenate([y[:, : c + alt_len], zeros, y[:, c + alt_len :]], axis=1)
    if ref_len == 1 and alt_len > 1:  # insertion: the max over the inserted bases
        top = y[:, c : c + alt_len].max(axis=1, keepdims=True)
        return np.concatenate([y[:, :c], top, y[:, c + alt_len :]], axis=1)
    return y


def delta_scores(
    y_ref: np.ndarray, y_alt: np.ndarray, cov: int, dist_exon: int, mask: bool
) -> list:
    """(DS_AG, DS_AL, DS_DG, DS_DL, DP_AG, DP_AL, DP_DG, DP_DL) from ``(3, cov)`` ref/alt outputs.

    ``dist_exon``: the nearest annotated exon boundary minus the variant position; ``mask`` zeroes
    the gains at it and the losses elsewhere (``spliceai -M 1``).
    """
    c = cov // 2
    out_ds, out_dp = [], []
    for ch in (1, 2):  # acceptor, donor
        d = y_alt[ch].astype(np.float64) - y_ref[ch]
        gain, loss = int(np.argmax(d)), int(np.argmax(-d))
        m_gain = mask and gain - c == dist_exon
        m_loss = mask and loss - c != dist_exon
        out_ds += [float(d[gain]) * (1 - m_gain), float(-d[loss]) * (1 - m_loss)]
        out_dp += [gain - c, loss - c]
    return [out_ds[0], out_ds[1], out_ds[2], out_ds[3], *out_dp]
