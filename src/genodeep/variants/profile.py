"""Variant effects on the predicted profiles of base-resolution and binned coverage models.

A profile package (``spec.kind == "profile"``: BPNet, ChromBPNet, Basenji) predicts a signal over the
``S = spec.extra["output_length"]`` bases centred in its ``L``-base input, per base or in bins of
``bin_size`` bases. Each ALT allele is scored on the windows of :mod:`genodeep.variants.score` (the
variant's first REF base at ``L // 2``, same REF check, same skips and indel rule), and the two
predicted profiles are compared.

Predictions
-----------
The raw outputs go through the package's link (``bpnet``: softmax(profile logits) x expm1(log-count
head), expected counts per base; ``exp``: Poisson rates per bin; ``identity``) and the inverse of its
``target_transform`` (``sqrt`` or ``log1p``), so that every bin holds the predicted *total* of its
bases, in the units of the training signal (reads). Values below 0, possible only for an ``identity``
link, are read as 0 (coverage is not negative). With ``both_strands`` the prediction of the reverse
complement, flipped back along the positions and with each strand pair of tracks
(``spec.extra["strand_pairs"]``) swapped, is averaged with the forward one.

Columns, per track ``TASK``
---------------------------
- ``TASK.ref_total``, ``TASK.alt_total``: the predicted total over the output window of each allele.
- ``TASK.log2fc`` = log2((alt_total + 1) / (ref_total + 1)). The pseudocount 1 (one read) keeps
  windows with almost no signal from giving huge ratios; for a ``bpnet`` link ``total + 1`` is
  ``exp`` of the count head, so this is the count head's own log2 fold change, as ChromBPNet reports it.
- ``TASK.jsd``: Jensen-Shannon distance (base 2, in [0, 1];
  :func:`genodeep.train.profile_metrics.jensen_shannon_distance`) between the two profiles, each
  normalised to sum 1: a change of shape, whatever the totals. NaN when a profile sums to 0.
- ``TASK.max_abs_diff``: the largest ``|alt - ref|`` at one position, per base (a bin's value divided
  by ``bin_size``, the units of ``genodeep predict`` bigWigs); ``TASK.max_pos``: where, in bases from the
  variant's first REF base (negative = left; for a bin, its first base; NA when no position changes).

and ``max_abs_log2fc`` and ``max_task`` (the track of largest ``|log2fc|``).

Indels
------
The ALT window shares the left flank and shifts the right flank by ``len(ALT) - len(REF)`` (see
:mod:`genodeep.variants.score`). The totals are those of each window. The per-position columns
(``jsd``, ``max_abs_diff``, ``max_pos``) compare the alternative profile aligned on the reference with
the rule of :func:`genodeep.variants.attribution.align_to_reference`: positions left of the allele and
shared allele bases match one to one, the right flank is matched shifted back by the indel, and the
positions present in one profile only (deleted bases, inserted bases, flank pushed past the window's
edge) are left out. Binned models are aligned per base, each bin's value spread over its bases, so an
indel whose length change is not a multiple of ``bin_size`` is aligned to within a bin.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
import torch
from scipy.spatial.distance import jensenshannon

from genodeep._batching import predict as _predict
from genodeep._device import model_on, resolve_device
from genodeep._progress import progress
from genodeep._validate import check_choice
from genodeep.data.profile import TRANSFORMS, strand_permutation
from genodeep.io import Genome, Variant, iter_vcf
from genodeep.models.checks import check_first_filter, check_model_runs
from genodeep.models.spec import LINKS, ModelSpec
from genodeep.seq.encode import one_hot_codes, reverse_complement
from genodeep.variants.score import _build_batch, _chunks, _finish

__all__ = ["PSEUDOCOUNT", "iter_profile_scores", "score_profile_variants"]


def _jsd(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Jensen-Shannon distance (base 2) along ``axis``; NaN where either side sums to 0 (as
    :func:`genodeep.train.profile_metrics.jensen_shannon_distance`, without importing the training
    package and Lightning)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = jensenshannon(p, q, base=2, axis=axis)
    ok = (p.sum(axis=axis) > 0) & (q.sum(axis=axis) > 0)
    return np.where(ok, out, np.nan)


#: added to both totals in ``log2fc`` (in the units of the signal: reads)
PSEUDOCOUNT = 1.0

_STATS = ("ref_total", "alt_total", "log2fc", "jsd", "max_abs_diff", "max_pos")


@dataclass(frozen=True)
class _Setup:
    """What the scorer reads from the spec: the window and output geometry and how to read outputs."""

    length: int  # input bases L
    offset: int  # first output base in the input
    span: int  # output bases S
    bin_size: int
    names: tuple[str, ...]
    link: str
    transform: str | None
    perm: np.ndarray  # track order after a reverse complement

    @property
    def n_out(self) -> int:
        return self.span // self.bin_size

    @property
    def center(self) -> int:
        return self.length // 2


def _unpack(model, spec: ModelSpec | None) -> tuple[torch.nn.Module, ModelSpec]:
    """A Package gives both; an ``nn.Module`` needs ``spec``."""
    if hasattr(model, "model") and hasattr(model, "data_spec"):
        if spec is None:
            spec = ModelSpec.from_dict(model.data_spec, model.model)
        return model.model, spec
    if spec is None:
        raise ValueError(
            "spec is needed with a bare model: profile scoring reads the output length and bin size "
            "from it. Fix: pass spec=ModelSpec(kind='profile', ...) or the Package of genodeep.load"
        )
    return model, spec


def _setup(model, spec: ModelSpec, length: int | None, task_names: Sequence[str] | None) -> _Setup:
    if spec.kind != "profile" or "output_length" not in spec.extra:
        raise ValueError(
            f"the model is a {spec.kind} model with one value per window, not a profile model "
            "(spec.kind 'profile' with extra['output_length']). Fix: score it with "
            "genodeep.workflows.variants.score_variants"
        )
    L = int(spec.input_length or 0)
    S, b = int(spec.extra["output_length"]), int(spec.extra.get("bin_size", 1) or 1)
    if L < 1 or not 0 < S <= L or (L - S) % 2 or S % b:
        raise ValueError(
            f"the spec's input_length={spec.input_length}, output_length={S} and bin_size={b} do not "
            "describe outputs centred in the input (need 0 < output_length <= input_length, an even "
            "difference, output_length a multiple of bin_size). Fix: save the package with the "
            "geometry it was trained with"
        )
    if length is not None and int(length) != L:
        raise ValueError(
            f"length={length} differs from the profile model's input length {L}; its outputs cover "
            f"the central {S} bases of {L}-base windows. Fix: leave length out (or --length {L})"
        )
    check_first_filter(model, L)
    transform = spec.extra.get("target_transform")
    check_choice("target_transform", transform, [None, *TRANSFORMS])
    names = tuple(str(t) for t in (task_names or spec.task_names))
    return _Setup(L, (L - S) // 2, S, b, names, str(spec.link), transform, np.zeros(0, np.int64))


def _with_tracks(model, setup: _Setup, spec: ModelSpec, device, dtype) -> _Setup:
    """Run one all-N window through the model: its outputs must match the spec's positions (and
    tracks, when named); fills the track names and their order after a reverse complement."""
    raw = _predict(model, torch.zeros(1, 4, setup.length), device=device, dtype=dtype)
    y = _values(raw, setup)
    n_tasks = y.shape[1] if y.ndim == 3 else -1
    names = setup.names or tuple(f"task_{t}" for t in range(max(n_tasks, 0)))
    if y.ndim != 3 or y.shape[1:] != (len(names), setup.n_out):
        raise ValueError(
            f"the model predicts shape {tuple(y.shape[1:])} per window, but its spec describes "
            f"{len(names)} track(s) x {setup.n_out} position(s) (output_length {setup.span} / "
            f"bin_size {setup.bin_size}). Fix: give one task name per track, and save the package "
            "with the output_length and bin_size the model was built for"
        )
    pairs = spec.extra.get("strand_pairs")
    perm = strand_permutation(spec.task_names, pairs) if pairs else np.arange(n_tasks)
    if len(perm) != n_tasks:
        raise ValueError(
            f"the spec's strand_pairs name {len(perm)} tracks but the model has {n_tasks}. "
            "Fix: save the package with one task name per track"
        )
    return replace(setup, names=names, perm=perm)


def _values(raw, setup: _Setup) -> np.ndarray:
    """Raw outputs -> predicted totals per bin, float64 ``(N, T, n_out)`` (module docstring)."""
    if isinstance(raw, tuple) != (setup.link == "bpnet"):
        got = f"{len(raw)} outputs" if isinstance(raw, tuple) else "one tensor"
        raise ValueError(
            f"the model returns {got} but its link is {setup.link!r}, which reads "
            f"{'a (profile, counts) pair' if setup.link == 'bpnet' else 'one tensor'}. Fix: save the "
            "package with link 'bpnet' for (profile, counts) heads, 'exp' or 'identity' otherwise"
        )
    y = LINKS[setup.link](raw).numpy().astype(np.float64)
    y = np.maximum(y, 0.0)
    if setup.transform is not None:
        y = TRANSFORMS[setup.transform][1](y)
    return y


def _profiles(model, codes: np.ndarray, setup: _Setup, *, both_strands, batch_size, device, dtype):
    """Predicted totals per bin of windows ``codes`` (N, L), RC-averaged when ``both_strands``."""
    X = one_hot_codes(codes)
    kw = dict(batch_size=batch_size, device=device, dtype=dtype)
    y = _values(_predict(model, X, **kw), setup)
    if both_strands:
        y_rc = _values(_predict(model, reverse_complement(X), **kw), setup)
        y = (y + y_rc[:, setup.perm, ::-1]) / 2
    return y


def _matched(setup: _Setup, ref_len: int, alt_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Output bases ``(jr, ja)`` of the reference and alternative profiles that hold the same genome
    base (the indel rule of the module docstring)."""
    c, lo, S = setup.center, setup.offset, setup.span
    p = lo + np.arange(S)
    q = np.where(p >= c + ref_len, p + alt_len - ref_len, p)
    ok = (p < c + min(ref_len, alt_len)) | (p >= c + ref_len)
    ok &= (q >= lo) & (q < lo + S)
    return p[ok] - lo, q[ok] - lo


def _stats(
    ref: np.ndarray, alt: np.ndarray, ref_len, alt_len, setup: _Setup
) -> dict[str, np.ndarray]:
    """Per-track effects of ``B`` variants from their profiles ``ref``/``alt`` (B, T, n_out) float64.

    Returns
    -------
    dict of np.ndarray, each shape (B, T): the ``_STATS`` columns.
    """
    b = setup.bin_size
    rt, at = ref.sum(-1), alt.sum(-1)
    out = {
        "ref_total": rt,
        "alt_total": at,
        "log2fc": np.log2((at + PSEUDOCOUNT) / (rt + PSEUDOCOUNT)),
        "jsd": np.full(rt.shape, np.nan),
        "max_abs_diff": np.full(rt.shape, np.nan),
        "max_pos": np.zeros(rt.shape, dtype=np.int64),
    }
    same = np.asarray(ref_len) == np.asarray(alt_len)
    if same.any():  # SNVs, MNVs: position by position, in bins (the JSD of bins spread evenly over
        # their bases equals the JSD of the bins)
        d = np.abs(alt[same] - ref[same]) / b
        i = d.argmax(-1)
        out["jsd"][same] = _jsd(ref[same], alt[same], axis=-1)
        out["max_abs_diff"][same] = np.take_along_axis(d, i[..., None], -1)[..., 0]
        out["max_pos"][same] = setup.offset + i * b - setup.center
    for k in np.flatnonzero(~same):  # indels: per base, aligned on the reference
        jr, ja = _matched(setup, int(ref_len[k]), int(alt_len[k]))
        r = np.repeat(ref[k], b, axis=-1)[:, jr] / b
        a = np.repeat(alt[k], b, axis=-1)[:, ja] / b
        d = np.abs(a - r)  # never empty: the variant's first base is in both profiles
        i = d.argmax(-1)
        out["jsd"][k] = _jsd(r, a, axis=-1)
        out["max_abs_diff"][k] = d[np.arange(len(d)), i]
        out["max_pos"][k] = setup.offset + jr[i] - setup.center
    return out


def _columns(stats: dict[str, np.ndarray], names: Sequence[str], keep: np.ndarray) -> dict:
    """The effect columns of one chunk of ``len(keep)`` rows; ``stats`` for the rows ``keep``."""
    n = len(keep)
    rows = np.flatnonzero(keep)
    cols: dict[str, object] = {}
    for t, name in enumerate(names):
        for key in _STATS[:-1]:
            cols[f"{name}.{key}"] = col = np.full(n, np.nan)
            col[rows] = stats[key][:, t]
        moved = stats["max_abs_diff"][:, t] > 0  # max_pos is NA where nothing changes
        pos = pd.array([pd.NA] * n, dtype="Int64")
        pos[rows[moved]] = stats["max_pos"][moved, t]
        cols[f"{name}.max_pos"] = pos
    lfc = np.full((n, len(names)), np.nan)
    lfc[rows] = stats["log2fc"]
    scored = np.isfinite(lfc).any(axis=1)
    best = np.argmax(np.where(np.isfinite(lfc), np.abs(lfc), -1.0), axis=1)
    cols["max_abs_log2fc"] = np.where(scored, np.abs(lfc[np.arange(n), best]), np.nan)
    cols["max_task"] = np.asarray(
        [names[i] if s else "" for i, s in zip(best, scored)], dtype=object
    )
    return cols


def _empty_stats(n_tasks: int) -> dict[str, np.ndarray]:
    out = {k: np.zeros((0, n_tasks)) for k in _STATS}
    out["max_pos"] = np.zeros((0, n_tasks), dtype=np.int64)
    return out


def _score_chunk(model, genome, chunk: list[Variant], setup: _Setup, source, opts) -> pd.DataFrame:
    b = _build_batch(genome, chunk, setup.length, opts["on_ref_mismatch"], source)
    base = pd.DataFrame({
        "chrom": [v.chrom for v in chunk], "pos": [v.pos for v in chunk], "id": [v.id for v in chunk],
        "ref": [v.ref for v in chunk], "alt": [v.alt for v in chunk], "kind": [v.kind for v in chunk],
        "status": b.status, "reason": b.reason,
        "_record": [v.record for v in chunk], "_allele": [v.allele for v in chunk],
    })  # fmt: skip
    if opts["on_ref_mismatch"] == "warn":
        _warn_mismatches(chunk, b.status, b.reason, source)
    rows = [v for v, k in zip(chunk, b.scorable) if k]
    ref_len = np.asarray([len(v.ref) for v in rows], dtype=np.int64)
    alt_len = np.asarray([len(v.alt) for v in rows], dtype=np.int64)
    parts = []
    step = opts["batch_size"]
    fw = {k: opts[k] for k in ("both_strands", "batch_size", "device", "dtype")}
    for i in range(0, len(rows), step):
        codes = np.concatenate([b.ref_codes[i : i + step], b.alt_codes[i : i + step]])
        y = _profiles(model, codes, setup, **fw)
        k = len(y) // 2
        parts.append(_stats(y[:k], y[k:], ref_len[i : i + step], alt_len[i : i + step], setup))
    stats = (
        {key: np.concatenate([p[key] for p in parts]) for key in _STATS}
        if parts
        else _empty_stats(len(setup.names))
    )
    return pd.concat([base, pd.DataFrame(_columns(stats, setup.names, b.scorable))], axis=1)


def _warn_mismatches(chunk, status, reason, source) -> None:
    for v, s, r in zip(chunk, status, reason):
        if s == "ref_mismatch":
            where = f"line {v.line}" if v.line is not None else f"record {v.chrom}:{v.pos}"
            warnings.warn(
                f"{source}, {where}: {v.chrom}:{v.pos} {v.ref}>{v.alt}: {r}", stacklevel=4
            )


def iter_profile_scores(
    model,
    genome,
    variants: str | os.PathLike | Iterable[Variant],
    *,
    spec: ModelSpec | None = None,
    length: int | None = None,
    task_names: Sequence[str] | None = None,
    both_strands: bool = True,
    on_ref_mismatch: Literal["error", "skip", "warn"] = "error",
    shard: tuple[int, int] | None = None,
    chunk_size: int = 2048,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> Iterator[pd.DataFrame]:
    """Score variants under a profile model chunk by chunk; yields one DataFrame per chunk.

    See :func:`score_profile_variants` for the parameters and the module docstring for the columns.
    The chunks keep the private columns ``_record`` and ``_allele`` (for the annotated-VCF writer).
    """
    check_choice("on_ref_mismatch", on_ref_mismatch, ("error", "skip", "warn"))
    model, spec = _unpack(model, spec)
    setup = _setup(model, spec, length, task_names)
    if not hasattr(genome, "window_codes"):
        genome = Genome(genome)
    if isinstance(variants, (str, os.PathLike)):
        source, todo = os.fspath(variants), iter_vcf(variants, shard=shard)
    elif shard is not None:
        raise ValueError(
            "shard= splits a VCF file; with a list of variants, pass each worker its part"
        )
    else:
        source, todo = None, variants
    dev = resolve_device(device)
    check_model_runs(model, setup.length, device=dev, dtype=dtype)
    opts = dict(on_ref_mismatch=on_ref_mismatch, both_strands=both_strands, batch_size=batch_size,
                device=dev, dtype=dtype)  # fmt: skip
    with model_on(model, dev):  # moved once: the batches below find it there
        setup = _with_tracks(model, setup, spec, dev, dtype)
        for chunk in progress(_chunks(todo, chunk_size), desc="variants", verbose=verbose):
            yield _score_chunk(model, genome, chunk, setup, source, opts)


def score_profile_variants(
    model,
    genome,
    variants: str | os.PathLike | Iterable[Variant],
    *,
    spec: ModelSpec | None = None,
    length: int | None = None,
    task_names: Sequence[str] | None = None,
    both_strands: bool = True,
    on_ref_mismatch: Literal["error", "skip", "warn"] = "error",
    chunk_size: int = 2048,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Predicted effect of each ALT allele on the profiles of a profile/coverage model.

    Parameters
    ----------
    model : genodeep.zoo.Package or torch.nn.Module
        A package of ``spec.kind == "profile"`` (:func:`genodeep.zoo.load`), or a model that takes
        one-hot ``(N, 4, L)`` and returns ``(N, T, S // bin_size)`` (or BPNet's ``(profile (N, T, S),
        log(1 + total) (N, T))``) with its ``spec``.
    genome : genodeep.io.Genome or path
        Reference genome (chromosome names harmonised, ``chr1``/``1``).
    variants : path or iterable of genodeep.io.Variant
        A VCF (plain, gzip/bgzip, or BCF through cyvcf2), or variants already read.
    spec : ModelSpec, optional
        What the model reads and predicts (default: the package's). Needs ``input_length``,
        ``extra["output_length"]`` and, for binned models, ``extra["bin_size"]``.
    length : int, optional
        Must equal the model's input length when given (the output geometry depends on it).
    task_names : sequence of str, optional
        Track names for the columns (default: the spec's).
    both_strands : bool
        Average with the (flipped, strand-swapped) prediction of the reverse complement (default True).
    on_ref_mismatch : {"error", "skip", "warn"}
        What to do when REF differs from the genome, as in
        :func:`genodeep.workflows.variants.score_variants`.
    chunk_size, batch_size : int
        Variants read together, and windows per forward pass (memory grows with
        ``batch_size x T x S``, whatever the number of variants).
    device, dtype
        Where and in which precision the forward passes run (default: CUDA when available, float32).

    Returns
    -------
    pandas.DataFrame
        One row per ALT allele: ``chrom, pos, id, ref, alt, kind, status, reason``, then per track
        ``TASK.ref_total, TASK.alt_total, TASK.log2fc, TASK.jsd, TASK.max_abs_diff, TASK.max_pos``
        and ``max_abs_log2fc, max_task`` (see the module docstring; NaN/empty for skipped rows).
    """
    chunks = iter_profile_scores(
        model, genome, variants, spec=spec, length=length, task_names=task_names,
        both_strands=both_strands, on_ref_mismatch=on_ref_mismatch, chunk_size=chunk_size,
        batch_size=batch_size, device=device, dtype=dtype, verbose=verbose,
    )  # fmt: skip
    return _finish(pd.concat(list(chunks), ignore_index=True))
