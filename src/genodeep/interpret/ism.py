"""In-silico saturation mutagenesis (ISM): the exact effect of every single-base substitution.

Fast path (the fastISM idea, Nair et al. 2022): for a model with ``split_local() -> (local, head)``, a
substitution at position ``i`` changes the output of each local layer only inside ``i``'s receptive
window. The reference sequence goes through the local stack once, keeping each layer's activations; then,
for a batch of mutants, only the changed window of every layer is computed (padding, dilation, stride and
pooling alignment handled by integer plans computed once per call), and the head runs on the last local
activation with the window spliced in. A window is updated in one of four ways:

- ``delta``: convolutions are linear, so ``out = ref_out + conv(change of the input)``; the change is
  mapped with the transposed kernel and only the kernel taps that see a change cost anything (used for
  convolutions with many input channels and wide kernels, e.g. Basset's);
- ``recompute``: the layer is evaluated on the slice of its input the window needs, reference values with
  the changed window spliced in (pooling; cheap convolutions such as BPNet's 64-channel dilated ones);
- ``direct``: a pooling layer reads the window that the delta convolution before it produced for it;
- ``full``: a window that spans the whole layer runs the layer itself on the spliced input.

A head ``Sequential(Flatten, Linear, ...)`` updates its first Linear layer by the window's change only.
Output branches the explained ``target`` does not use (e.g. BPNet's profile head when the counts are
explained) are not computed. Models without ``split_local`` (or whose local stack holds a layer the fast
path does not know, reported by a warning) use batched full forward passes. Both paths are exact up to
float32 rounding; no timing decides between them.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genodeep._device import model_on, resolve_device
from genodeep._progress import progress
from genodeep._validate import check_positive
from genodeep.interpret._ism_plan import _apply_inplace, _fast_plan, _one, _Window
from genodeep.interpret._targets import Target, check_target, prune_unused, select_output

__all__ = ["saturation_mutagenesis"]


def saturation_mutagenesis(
    model: nn.Module,
    X: torch.Tensor,
    *,
    target: Target = None,
    fast: bool = True,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Change of the model output for every single-base substitution of every sequence.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, C, L)`` float inputs to an output (see ``target``). Models exposing
        ``split_local() -> (local, head)`` (every convolutional genodeep architecture) use the fast path.
    X : torch.Tensor, shape (N, C, L) or (C, L)
        One-hot sequences (any numeric dtype; ``C = 4`` channels A, C, G, T). A column that is not exactly
        one-hot (e.g. an all-zero ``N``) gets all ``C`` substitutions.
    target : None, int, list of int or callable, default None
        Which output to explain (see :mod:`genodeep.interpret._targets`): ``None`` sums all outputs (for a
        tuple output such as BPNet's ``(profile, counts)``: the count head summed over tasks), an int picks
        a task, a list sums tasks, a callable maps the raw output to ``(N,)``.
    fast : bool, default True
        Recompute only the receptive window of each substitution through ``split_local()``'s local stack.
        ``False`` (or a model without ``split_local``) runs a full forward pass per mutant.
    batch_size : int, optional
        Mutants per batch. ``None`` picks it from the activation sizes of the fast path (about 16 MB of
        activations per batch, 16 to 1024 mutants; 64 for full forward passes).
    device : str or torch.device, optional
        ``None`` picks CUDA when available. The model's device and train/eval mode are restored.
    dtype : torch.dtype, optional
        ``torch.bfloat16`` runs the local stack under autocast (the head stays float32). Measured on the
        performance.md models with random weights: BPNet-like (L = 1000, count head) about 1.5x faster,
        effects off by up to 13 % of the largest effect (mean 11 % of the mean absolute effect: bf16 rounds
        every activation to 8 bits, and single-base effects are small differences of large activations);
        Basset-like about 1.1x faster, up to 3.5 % of the largest effect. For ranking and screening only;
        the default float32 is exact.
    verbose : bool, default False
        Show a progress bar over mutant batches.

    Returns
    -------
    torch.Tensor, shape (N, C, L) (or (C, L) for a single sequence), float32
        ``y(mutant) - y(reference)`` for substituting base ``c`` at position ``l``; 0 at the reference
        base.

    Notes
    -----
    For a linear model ``y = sum(W * X)`` the result is ``W - W[ref base]`` at every position (the
    centred weights). Differences against a naive loop of full forward passes are at the level of
    float32 rounding (< 1e-5 relative).
    """
    check_target(target)
    if batch_size is not None:
        check_positive("batch_size", batch_size)
    X, single = _as_batch(X)
    n, c, length = X.shape
    dev = resolve_device(device)
    # every substitution: (sequence, base, position) where the column is not already that base
    is_ref = (X == 1) & (X.sum(1, keepdim=True) == 1)
    seq_m, base_m, pos_m = torch.nonzero(~is_ref, as_tuple=True)
    attr = torch.zeros(n, c, length, dtype=torch.float32)

    with model_on(model, dev) as m, torch.no_grad(), _autocast(dev, dtype):
        plan = _fast_plan(m, length) if fast else None
        runner = _FastRunner(plan, target, dev) if plan is not None else _FullRunner(m, target, dev)
        runner.set_reference(X[:1].to(dev, torch.float32))
        bs = int(batch_size) if batch_size is not None else runner.auto_batch_size()
        # sequences are processed in groups so that reference activations stay small
        group = max(1, bs // max(1, (c - 1) * length))
        counts = torch.bincount(seq_m, minlength=n)
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)]).tolist()
        starts = list(range(0, n, group))
        total = sum(math.ceil((offsets[min(s + group, n)] - offsets[s]) / bs) for s in starts)
        bar = iter(progress(range(total), total=total, desc="ism", verbose=verbose))
        for s in starts:
            e = min(s + group, n)
            if s > 0 or e > 1:
                runner.set_reference(X[s:e].to(dev, torch.float32))
            for b in range(offsets[s], offsets[e], bs):
                sl = slice(b, min(b + bs, offsets[e]))
                delta = runner.effects(
                    (seq_m[sl] - s).to(dev), base_m[sl].to(dev), pos_m[sl].to(dev)
                )
                attr[seq_m[sl], base_m[sl], pos_m[sl]] = delta.float().cpu()
                next(bar, None)
    return attr[0] if single else attr


# ----------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------


def _as_batch(X) -> tuple[torch.Tensor, bool]:
    """``X`` as a CPU tensor ``(N, C, L)`` (inputs are staged to the device batch by batch)."""
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(X)
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor of shape (N, C, L), got {type(X).__name__}")
    if X.ndim == 2:
        return X.unsqueeze(0).cpu(), True
    if X.ndim != 3:
        raise ValueError(
            f"X had shape {tuple(X.shape)} while it should have had (N, C, L) or (C, L); "
            "one-hot encode sequences with genodeep.seq.one_hot"
        )
    if X.shape[0] == 0:
        raise ValueError("X has 0 sequences; pass at least one")
    return X.cpu(), False


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    if dtype not in (torch.bfloat16, torch.float16):
        raise ValueError(
            f"dtype={dtype!r} is not supported; use None/torch.float32, torch.bfloat16 or torch.float16"
        )
    return torch.autocast(device_type=device.type, dtype=dtype)


def _put(dst: torch.Tensor, idx: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``dst[m, c, idx[m, j]] = src[m, c, j]`` in place (a splice of windows into rows).

    16-bit tensors are spliced through an int16 view: scatter_ upcasts bf16/fp16 and copies the whole
    destination twice, while moving the bits is exact and needs no arithmetic.
    """
    src = src.to(dst.dtype)
    index = idx[:, None, :].expand(dst.shape[0], dst.shape[1], idx.shape[1])
    if dst.dtype in (torch.bfloat16, torch.float16):
        dst.view(torch.int16).scatter_(2, index, src.view(torch.int16))
    else:
        dst.scatter_(2, index, src)
    return dst


def _float32(device: torch.device):
    """Run the head in float32 even inside a bf16 autocast region (it is cheap and decides accuracy)."""
    return torch.autocast(device_type=device.type, enabled=False)


class _FullRunner:
    """Fallback: one full forward pass per mutant (batched)."""

    def __init__(self, model: nn.Module, target: Target, device: torch.device) -> None:
        self.model, self.target, self.device = copy.deepcopy(model), target, device
        self.pruned: list[str] | None = None

    def set_reference(self, X: torch.Tensor) -> None:
        if self.pruned is None:
            self.pruned = prune_unused(self.model, X[:1], self.target)
        self.X = X
        self.y_ref = select_output(self.model(X), self.target).float()

    def auto_batch_size(self) -> int:
        return 64

    def effects(self, seq: torch.Tensor, base: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        Xm = self.X[seq]
        rows = torch.arange(len(seq), device=Xm.device)
        Xm[rows, :, pos] = 0
        Xm[rows, base, pos] = 1
        return select_output(self.model(Xm), self.target).float() - self.y_ref[seq]


#: float32 activations per mutant batch the automatic batch size aims at (16 MB, cache-friendly)
_BATCH_FLOATS = 4_000_000


# ----------------------------------------------------------------------------------------------
# fast path: execution
# ----------------------------------------------------------------------------------------------


class _FastRunner:
    """Executes a plan: reference activations once per sequence group, then sliced mutant batches."""

    def __init__(self, plan: list, target: Target, device: torch.device) -> None:
        self.steps, head = plan
        self.head = copy.deepcopy(head)  # private copy: unused output branches get pruned
        self.pruned: list[str] | None = None
        self.target, self.device = target, device
        for st in self.steps[:-1]:
            if not isinstance(st, _Window):
                continue
            t = {
                "lo_in": torch.as_tensor(st.lo_in, device=device),
                "lo_out": torch.as_tensor(st.lo_out, device=device),
            }
            if st.kind == "direct":
                pass
            elif st.kind == "full":
                t["lo_in"] = torch.as_tensor(st.lo_in, device=device)
            elif st.kind == "recompute":
                t["start"] = torch.as_tensor(st.start + st.margin_left, device=device)
                t["off"] = torch.as_tensor(st.lo_in - st.start, device=device)
                t["rel0"] = torch.as_tensor(st.start - st.lo_in, device=device)
            else:
                t["nat_off"] = torch.as_tensor(st.nat_off, device=device)
                t["res_off"] = torch.as_tensor(st.lo_in - st.lo_out, device=device)
                # transposed, flipped kernel: conv_transpose1d of the change gives the output change
                t["weight_t"] = st.conv.weight.detach().permute(1, 0, 2).flip(-1).contiguous()
                t["dilation"] = _one(st.conv.dilation)
            st.t = t
        _, lo, w, n_final = self.steps[-1]
        self.t_final_lo = torch.as_tensor(lo, device=device)
        self.final_w = w
        self.n_final = n_final
        # (Linear, weights per window start, rest of the head) for a Flatten -> Linear head
        self.linear = None

    def _split_linear_head(self, channels: int) -> None:
        """Detect ``head = Sequential(Flatten, [Dropout], Linear, ...)`` to apply its Linear incrementally.

        Only the window of the last local layer changes, so the first dense layer's output changes by
        ``W[:, window] @ change``: ``C * w`` columns instead of ``C * L``.
        """
        head = self.head
        if not isinstance(head, nn.Sequential) or self.final_w >= self.n_final:
            return
        mods = [m for m in head if not isinstance(m, (nn.Dropout, nn.Identity))]
        if (
            len(mods) < 2
            or not isinstance(mods[0], nn.Flatten)
            or not isinstance(mods[1], nn.Linear)
        ):
            return
        flat, lin = mods[0], mods[1]
        if flat.start_dim != 1 or flat.end_dim != -1 or lin.in_features != channels * self.n_final:
            return
        idx = list(head).index(lin)
        rest = nn.Sequential(*list(head)[idx + 1 :])
        w3 = lin.weight.detach().reshape(lin.out_features, channels, self.n_final)
        w = self.final_w
        per_start = [
            w3[:, :, v : v + w].reshape(lin.out_features, channels * w).t().contiguous()
            for v in range(self.n_final - w + 1)
        ]
        self.linear = (lin, per_start, rest)

    def auto_batch_size(self) -> int:
        """Mutants per batch so that the largest per-batch activation holds about ``_BATCH_FLOATS``."""
        # the budget is in bytes: bf16 activations fit twice as many mutants
        per_mutant = max(self.floats) * self.final.element_size() / 4
        return int(min(1024, max(16, _BATCH_FLOATS // per_mutant)))

    def set_reference(self, X: torch.Tensor) -> None:
        self.channels = X.shape[1]
        self.floats = [1]  # activation floats per mutant, per step
        h = X
        for st in self.steps[:-1]:
            if not isinstance(st, _Window):
                h = st(h)
                continue
            if st.kind == "direct":
                out = st.module(h)
            elif st.kind == "full":
                st.ref = {"in": h}
                out = st.module(h)
            elif st.kind == "recompute":
                ext = F.pad(h, (st.margin_left, st.margin_right), value=st.pad_value)
                st.ref = {"ext": ext.unfold(2, st.slice_width, 1)}
                out = st.module(h)
            elif st.residual:
                pre = st.module.conv(h)
                out = h + st.module.act(pre)
                st.ref = {
                    "in": h.unfold(2, st.w_in, 1),
                    "x_out": h.unfold(2, st.w_out, 1),
                    "pre": pre.unfold(2, st.w_out, 1),
                }
            else:
                out = st.module(h)
                st.ref = {"in": h.unfold(2, st.w_in, 1), "out": out.unfold(2, st.w_out, 1)}
            self.floats.append(h.shape[1] * max(st.slice_width, st.w_in) + out.shape[1] * st.w_out)
            if out.shape[-1] != st.length_out:
                raise RuntimeError(
                    f"{type(st.module).__name__} returned {out.shape[-1]} positions where the ISM "
                    f"plan expected {st.length_out}"
                )
            h = out
        self.final = h.contiguous()
        if self.pruned is None:
            self.pruned = prune_unused(self.head, self.final[:1], self.target)
            self._split_linear_head(self.final.shape[1])
        with _float32(self.device):
            self.y_ref = select_output(self.head(self.final.float()), self.target).float()
        if self.linear is None:
            self.floats.append(int(self.final[0].numel()))
        else:
            lin = self.linear[0]
            self.final_unf = self.final.unfold(2, self.final_w, 1)
            with _float32(self.device):
                self.y1_ref = lin(self.final.flatten(1).float())

    def effects(self, seq: torch.Tensor, base: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        m = seq.shape[0]
        dev = seq.device
        cur = torch.zeros(m, self.channels, 1, device=dev)
        cur[torch.arange(m, device=dev), base, 0] = 1
        for st in self.steps[:-1]:
            if not isinstance(st, _Window):
                cur = _apply_inplace(st, cur)
            elif st.kind == "recompute":
                cur = st.fn(self._slice(st, seq, pos, cur))
            elif st.kind == "direct":
                cur = st.fn(cur)
            elif st.kind == "full":
                x = st.ref["in"][seq]
                idx = st.t["lo_in"][pos][:, None] + torch.arange(st.w_in, device=dev)
                _put(x, idx, cur)
                cur = st.module(x)
            else:
                cur = self._delta(st, seq, pos, cur)
        if self.linear is not None:
            return self._linear_head(seq, pos, cur)
        if self.final_w == self.n_final:
            full = cur  # the changed window is the whole last activation
        else:
            full = self.final[seq]
            idx = self.t_final_lo[pos][:, None] + torch.arange(self.final_w, device=dev)
            _put(full, idx, cur)
        with _float32(self.device):
            y = select_output(self.head(full.float()), self.target).float()
        return y - self.y_ref[seq]

    def _linear_head(self, seq, pos, cur) -> torch.Tensor:
        """Head = Flatten -> Linear -> rest: update the Linear output by the window's change only."""
        _lin, per_start, rest = self.linear
        lo = self.t_final_lo[pos]
        base = self.final_unf[seq, :, lo]  # (M, C, w)
        change = torch.sub(cur.to(base.dtype), base, out=base).flatten(1).float()
        y1 = self.y1_ref[seq]
        for v in torch.unique(lo).tolist():
            sel = (lo == v).nonzero().squeeze(1)
            with _float32(self.device):
                upd = torch.mm(change[sel], per_start[v])
            y1.index_add_(0, sel, upd)
        with _float32(self.device):
            y = select_output(rest(y1), self.target).float()
        return y - self.y_ref[seq]

    @staticmethod
    def _slice(st: _Window, seq, pos, cur) -> torch.Tensor:
        """The input slice of the outgoing window: reference values with the changed window spliced in."""
        ext = st.ref["ext"]
        m = seq.shape[0]
        sl = ext[seq, :, st.t["start"][pos]]  # (M, C, R)
        c = sl.shape[1]
        cur = cur.to(sl.dtype)
        if st.contained:
            idx = st.t["off"][pos][:, None] + torch.arange(st.w_in, device=seq.device)
            return _put(sl, idx, cur)
        rel = st.t["rel0"][pos][:, None] + torch.arange(st.slice_width, device=seq.device)
        inside = (rel >= 0) & (rel < st.w_in)
        got = cur.gather(2, rel.clamp(0, st.w_in - 1)[:, None, :].expand(m, c, st.slice_width))
        return torch.where(inside[:, None, :], got, sl)

    @staticmethod
    def _delta(st: _Window, seq, pos, cur) -> torch.Tensor:
        """Outgoing window of a linear convolution: reference output plus conv of the input change."""
        t, ref = st.t, st.ref
        dev = seq.device
        lo_in, lo_out = t["lo_in"][pos], t["lo_out"][pos]
        ref_in = ref["in"][seq, :, lo_in]  # (M, Cin, w_in)
        change = torch.sub(cur.to(ref_in.dtype), ref_in, out=ref_in)
        if st.w_in == 1 and t["dilation"] == 1:
            # one changed position: the output change is the kernel weighted by the change
            wt = t["weight_t"]
            d_out = torch.mm(change[:, :, 0], wt.reshape(wt.shape[0], -1).to(change.dtype))
            d_out = d_out.view(change.shape[0], wt.shape[1], wt.shape[2])
        else:
            d_out = F.conv_transpose1d(change, t["weight_t"], None, 1, 0, 0, 1, t["dilation"])
        out = (ref["pre"] if st.residual else ref["out"])[seq, :, lo_out]  # (M, Cout, w_out)
        d_out = d_out.to(out.dtype)
        if st.nat_mode == "exact":
            out.add_(d_out)
        else:
            m, c = out.shape[:2]
            idx = t["nat_off"][pos][:, None] + torch.arange(st.nat_width, device=dev)
            if st.nat_mode == "clip":
                keep = (idx >= 0) & (idx < st.w_out)
                d_out = d_out * keep[:, None, :]
                idx = idx.clamp(0, st.w_out - 1)
            out.scatter_add_(2, idx[:, None, :].expand(m, c, st.nat_width), d_out)
        if not st.residual:
            return out
        x = ref["x_out"][seq, :, lo_out]
        idx = t["res_off"][pos][:, None] + torch.arange(st.w_in, device=dev)
        _put(x, idx, cur)
        return x.add_(_apply_inplace(st.module.act, out))
