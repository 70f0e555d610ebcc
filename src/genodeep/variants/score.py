"""Variant effect prediction: score the ALT alleles of a VCF against a trained sequence model.

For every ALT allele a window of ``length`` bases is read from the reference genome with the variant's
first REF base at position ``length // 2`` (0-based). The ALT window keeps the same left flank, puts the
ALT allele at that position and continues with the genome after the REF allele, trimmed or extended on the
right so that both windows have ``length`` bases (insertions push the right flank out, deletions pull more
genome in). SNVs and MNVs therefore change only their own bases; indels shift the right flank, as they do
in the genome. Windows that pass a chromosome end are padded with N (all-zero columns).

Per task the table reports ``ref``, ``alt`` (model outputs; probabilities for binary models), ``diff`` =
alt - ref, ``logfc`` = log2((alt + eps) / (ref + eps)) and, for binary models, ``logodds`` = logit(alt) -
logit(ref); ``max_abs_diff`` and ``max_task`` summarise the largest absolute effect.

:func:`iter_scores` streams these tables chunk by chunk; writing them (TSV, parquet, annotated VCF) is
:func:`genodeep.workflows.variants.score_variants`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from genodeep._batching import predict as _predict
from genodeep._progress import progress
from genodeep._validate import InputFileError, check_choice
from genodeep.io import Genome, Variant, iter_vcf
from genodeep.models.checks import check_first_filter, check_model_runs
from genodeep.models.spec import ModelSpec
from genodeep.seq.encode import ALPHABET, encode, one_hot_codes, reverse_complement

_EPS = 1e-6
_REF_N = "REF is N or contains N (an unknown reference base cannot be scored)"
_GENOME_N = "the genome has N at the REF position (unknown reference sequence)"
_ALT_SAME = "ALT equals REF (no change to score)"
_ALT_N = "ALT contains N (an unknown base has no sequence)"


@dataclass
class _Batch:
    variants: list[Variant]
    status: list[str]
    reason: list[str]
    ref_codes: np.ndarray  # (b, L) uint8 for scorable variants
    alt_codes: np.ndarray
    scorable: np.ndarray  # (n,) bool


def _codes(allele: str) -> np.ndarray:
    return np.asarray(encode([allele]))[0]


def _resolve_model(model, kind, task_names, length):
    """Accept a Package or an nn.Module; fill kind/task names/length from the package's model spec."""
    spec = ModelSpec()
    if hasattr(model, "model") and hasattr(model, "data_spec"):
        spec = ModelSpec.from_dict(model.data_spec)
        model = model.model
    kind = kind or spec.kind or "binary"
    check_choice("kind", kind, ("binary", "regression", "profile"))
    length = length or spec.input_length or getattr(model, "input_length", None)
    if not length:
        raise ValueError(
            "length is unknown: the model accepts any length; pass length= (--length) for the window size"
        )
    model_len = getattr(model, "input_length", None)
    if model_len and int(model_len) != int(length):
        raise ValueError(
            f"length={length} differs from the model's input length {model_len}; "
            f"use --length {model_len} (the model was trained on {model_len}-base windows)"
        )
    names = task_names or spec.task_names
    check_first_filter(model, int(length))
    return model, kind, list(names) if names else None, int(length)


def _build_batch(
    genome, variants: list[Variant], length: int, on_ref_mismatch: str, vcf_path
) -> _Batch:
    n = len(variants)
    center = length // 2
    status = ["ok"] * n
    reason = [""] * n
    chroms, starts = [], []
    keep = np.zeros(n, dtype=bool)
    for i, v in enumerate(variants):
        if v.skip_reason:
            status[i], reason[i] = "skipped", v.skip_reason
            continue
        if "N" in v.ref:
            status[i], reason[i] = "skipped", _REF_N
            continue
        if len(v.ref) > length - center:
            status[i], reason[i] = (
                "skipped",
                f"REF allele ({len(v.ref)} bases) longer than the window's right half",
            )
            continue
        chrom = genome.resolve(v.chrom)
        size = genome.chrom_sizes[chrom]
        if v.start + len(v.ref) > size:
            raise InputFileError(
                f"variant {v.chrom}:{v.pos} lies past the end of {chrom} ({size:,} bases)",
                path=vcf_path,
                line=v.line,
                fix="check that the VCF and the genome are the same build",
            )
        chroms.append(chrom)
        starts.append(v.start - center)
        keep[i] = True
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        empty = np.zeros((0, length), dtype=np.uint8)
        return _Batch(variants, status, reason, empty, empty, keep)
    ref = genome.window_codes(chroms, np.asarray(starts, dtype=np.int64), length)
    alt = ref.copy()
    # REF check, then ALT windows
    for row, i in enumerate(idx):
        v = variants[i]
        r = _codes(v.ref)
        g = ref[row, center : center + len(r)]
        if (g == 4).any():  # the genome has N under the REF allele: nothing to compare or score
            status[i], reason[i] = "skipped", _GENOME_N
            keep[i] = False
            continue
        if not np.all(g == r):
            genome_allele = "".join((ALPHABET + "N")[c] for c in g)
            msg = (
                f"REF allele {v.ref} of {v.chrom}:{v.pos} (ALT {v.alt}) does not match the genome, "
                f"which has {genome_allele}"
            )
            if on_ref_mismatch == "error":
                raise InputFileError(
                    msg,
                    path=vcf_path,
                    line=v.line,
                    fix="check the genome build and chromosome naming, or pass --on-ref-mismatch skip|warn",
                )
            if on_ref_mismatch == "skip":
                status[i], reason[i] = "skipped", "REF does not match the genome"
                keep[i] = False
                continue
            status[i], reason[i] = (
                "ref_mismatch",
                f"genome has {genome_allele}; scored with the genome's bases",
            )
        if v.alt == v.ref or "N" in v.alt:  # checked after REF, so a wrong build still shows
            status[i], reason[i] = "skipped", _ALT_SAME if v.alt == v.ref else _ALT_N
            keep[i] = False
            continue
        a = _codes(v.alt)
        if len(a) == len(r):
            alt[row, center : center + len(a)] = a
            continue
        right_start = v.start + len(r)
        tail_len = length - center - len(a)
        if tail_len >= 0:
            chrom = genome.resolve(v.chrom)
            tail = (
                genome.window_codes([chrom], np.asarray([right_start]), tail_len)[0]
                if tail_len
                else a[:0]
            )
            alt[row, center:] = np.concatenate([a, tail])
        else:
            alt[row, center:] = a[: length - center]
    rows = np.flatnonzero(keep[idx])
    return _Batch(variants, status, reason, ref[rows], alt[rows], keep)


def _forward(model, codes: np.ndarray, *, both_strands, batch_size, device, dtype):
    X = one_hot_codes(codes)
    y = _predict(model, X, batch_size=batch_size, device=device, dtype=dtype)
    if isinstance(y, tuple):  # profile + count heads: score the count head
        y = y[-1]
    if both_strands:
        y_rc = _predict(
            model, reverse_complement(X), batch_size=batch_size, device=device, dtype=dtype
        )
        if isinstance(y_rc, tuple):
            y_rc = y_rc[-1]
        y = (y + y_rc) / 2
    y = y.reshape(y.shape[0], -1)
    return y.numpy().astype(np.float64)


def _effects(
    y_ref: np.ndarray, y_alt: np.ndarray, kind: str, names: list[str]
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if kind == "binary":
        p_ref, p_alt = 1 / (1 + np.exp(-y_ref)), 1 / (1 + np.exp(-y_alt))
    else:
        p_ref, p_alt = y_ref, y_alt
    diff = p_alt - p_ref
    for t, name in enumerate(names):
        out[f"{name}.ref"] = p_ref[:, t]
        out[f"{name}.alt"] = p_alt[:, t]
        out[f"{name}.diff"] = diff[:, t]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{name}.logfc"] = np.log2(
                (np.abs(p_alt[:, t]) + _EPS) / (np.abs(p_ref[:, t]) + _EPS)
            )
        if kind == "binary":
            out[f"{name}.logodds"] = y_alt[:, t] - y_ref[:, t]
    best = np.argmax(np.abs(diff), axis=1) if diff.shape[0] else np.zeros(0, dtype=int)
    out["max_abs_diff"] = np.abs(diff)[np.arange(len(best)), best] if len(best) else np.zeros(0)
    out["max_task"] = np.asarray([names[b] for b in best], dtype=object)
    return out


def iter_scores(
    model,
    genome,
    vcf: str | os.PathLike,
    *,
    length: int | None = None,
    kind: Literal["binary", "regression", "profile"] | None = None,
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
    """Score a VCF chunk by chunk (bounded memory); yields one DataFrame per chunk of alleles.

    See :func:`genodeep.workflows.variants.score_variants` for the parameters and the columns.
    """
    check_choice("on_ref_mismatch", on_ref_mismatch, ("error", "skip", "warn"))
    model, kind, names, length = _resolve_model(model, kind, task_names, length)
    check_model_runs(model, length, device=device, dtype=dtype)
    if not hasattr(genome, "window_codes"):
        genome = Genome(genome)
    variants = iter_vcf(vcf, shard=shard)
    for chunk in progress(_chunks(variants, chunk_size), desc="variants", verbose=verbose):
        b = _build_batch(genome, chunk, length, on_ref_mismatch, vcf)
        base = pd.DataFrame(
            {
                "chrom": [v.chrom for v in chunk],
                "pos": [v.pos for v in chunk],
                "id": [v.id for v in chunk],
                "ref": [v.ref for v in chunk],
                "alt": [v.alt for v in chunk],
                "kind": [v.kind for v in chunk],
                "status": b.status,
                "reason": b.reason,
            }
        )
        base["_record"] = [v.record for v in chunk]
        base["_allele"] = [v.allele for v in chunk]
        if on_ref_mismatch == "warn":
            for v, s, r in zip(chunk, b.status, b.reason):
                if s == "ref_mismatch":
                    where = f"line {v.line}" if v.line is not None else f"record {v.chrom}:{v.pos}"
                    warnings.warn(
                        f"{vcf}, {where}: {v.chrom}:{v.pos} {v.ref}>{v.alt}: {r}", stacklevel=2
                    )
        if b.scorable.any():
            codes = np.concatenate([b.ref_codes, b.alt_codes])
            y = _forward(
                model,
                codes,
                both_strands=both_strands,
                batch_size=batch_size,
                device=device,
                dtype=dtype,
            )
            k = len(b.ref_codes)
            y_ref, y_alt = y[:k], y[k:]
            if names is None:
                names = [f"task_{t}" for t in range(y.shape[1])]
            if len(names) != y.shape[1]:
                raise ValueError(
                    f"{len(names)} task names given but the model has {y.shape[1]} outputs"
                )
            eff = _effects(y_ref, y_alt, kind, names)
            cols = {}
            for key, vals in eff.items():
                full = np.full(
                    len(chunk), np.nan, dtype=object if vals.dtype == object else np.float64
                )
                if vals.dtype == object:
                    full[:] = ""
                full[b.scorable] = vals
                cols[key] = full
            base = pd.concat([base, pd.DataFrame(cols)], axis=1)
        yield base


def _chunks(it: Iterable[Variant], size: int) -> Iterator[list[Variant]]:
    buf: list[Variant] = []
    for v in it:
        buf.append(v)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])
