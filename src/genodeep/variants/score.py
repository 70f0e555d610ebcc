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
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from genodeep._batching import predict as _predict
from genodeep._io_utils import atomic_path, atomic_write, open_text
from genodeep._progress import log, progress
from genodeep._validate import InputFileError, check_choice
from genodeep.io.vcf import Variant, iter_vcf

_EPS = 1e-6
_INFO_PREFIX = "GD"


@dataclass
class _Batch:
    variants: list[Variant]
    status: list[str]
    reason: list[str]
    ref_codes: np.ndarray  # (b, L) uint8 for scorable variants
    alt_codes: np.ndarray
    scorable: np.ndarray  # (n,) bool


def _codes(allele: str) -> np.ndarray:
    from genodeep.seq.encode import encode

    return np.asarray(encode([allele]))[0]


def _resolve_model(model, kind, task_names, length):
    """Accept a Package or an nn.Module; fill kind/task names/length from the package's data spec."""
    spec = {}
    if hasattr(model, "model") and hasattr(model, "data_spec"):
        spec = model.data_spec
        model = model.model
    kind = kind or spec.get("kind") or "binary"
    check_choice("kind", kind, ("binary", "regression", "profile"))
    length = length or spec.get("sequence_length") or getattr(model, "input_length", None)
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
    names = task_names or spec.get("task_names")
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
        match = np.all((g == r) | (r == 4) | (g == 4))
        if not match:
            from genodeep.seq.encode import ALPHABET

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
    from genodeep.seq.encode import one_hot_codes

    X = one_hot_codes(codes)
    y = _predict(model, X, batch_size=batch_size, device=device, dtype=dtype)
    if isinstance(y, tuple):  # profile + count heads: score the count head
        y = y[-1]
    if both_strands:
        y_rc = _predict(
            model, torch.flip(X, dims=(1, 2)), batch_size=batch_size, device=device, dtype=dtype
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

    See :func:`score_variants` for the parameters and the columns.
    """
    check_choice("on_ref_mismatch", on_ref_mismatch, ("error", "skip", "warn"))
    model, kind, names, length = _resolve_model(model, kind, task_names, length)
    if not hasattr(genome, "window_codes"):
        from genodeep.io.fasta import Genome

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
                    warnings.warn(
                        f"{vcf}, line {v.line}: {v.chrom}:{v.pos} {v.ref}>{v.alt}: {r}",
                        stacklevel=2,
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


def score_variants(
    model,
    genome,
    vcf: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    length: int | None = None,
    kind: Literal["binary", "regression", "profile"] | None = None,
    task_names: Sequence[str] | None = None,
    both_strands: bool = True,
    on_ref_mismatch: Literal["error", "skip", "warn"] = "error",
    shard: tuple[int, int] | None = None,
    chunk_size: int = 2048,
    attributions: int = 0,
    attribution_method: Literal["ism", "deepliftshap"] = "ism",
    attribution_task: str | None = None,
    attribution_flank: int | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> pd.DataFrame | Path:
    """Predict the effect of every ALT allele in a VCF.

    Parameters
    ----------
    model : torch.nn.Module or genodeep.zoo.Package
        Takes one-hot ``(N, 4, length)``; returns ``(N, T)`` (logits for binary models) or a
        ``(profile, counts)`` tuple, whose count head is scored. A package supplies ``kind``,
        ``task_names`` and ``length`` from its data spec.
    genome : genodeep.io.Genome or path
        Reference genome; chromosome names are harmonised (``chr1``/``1``).
    vcf : path
        VCF, plain or gzip/bgzip. Multi-allelic records give one row per ALT; symbolic alleles
        (``<DEL>``, ``*``, breakends) are reported with status ``skipped`` and a reason.
    out : path, optional
        ``.tsv``/``.tsv.gz``, ``.parquet`` or ``.vcf``/``.vcf.gz`` (the input VCF with INFO fields added).
        Written atomically; without ``out`` the table is returned.
    length : int, optional
        Window length; defaults to the model's input length.
    kind : {"binary", "regression", "profile"}, optional
        How to read the model outputs (default: from the package, else "binary").
    both_strands : bool
        Average the model outputs of both strands (default True).
    on_ref_mismatch : {"error", "skip", "warn"}
        What to do when REF differs from the genome (default "error", naming the record and both alleles).
    shard : (i, n), optional
        Process only records ``r`` with ``r % n == i`` so that n workers split one VCF.
    chunk_size : int
        Alleles read and scored together (bounds memory).
    attributions : int, default 0
        With ``out``: also explain the ``attributions`` variants with the largest absolute effect
        (kept while streaming) and write their reference, alternative and difference maps with logos
        into ``OUT_attributions/`` beside ``out`` (see :func:`genodeep.variants.attribution.variant_attributions`).
    attribution_method : {"ism", "deepliftshap"}, default "ism"
    attribution_task : str, optional
        Rank and explain this task (default: each variant's ``max_task``).
    attribution_flank : int, optional
        Bases drawn on each side of the variant (default 20, fewer for short windows).

    Returns
    -------
    pandas.DataFrame with columns chrom, pos, id, ref, alt, kind, status, reason, then per task
    ``TASK.ref``, ``TASK.alt``, ``TASK.diff``, ``TASK.logfc`` (and ``TASK.logodds`` for binary models),
    ``max_abs_diff`` and ``max_task`` — or the output path when ``out`` is given.
    """
    kw = dict(
        length=length,
        kind=kind,
        task_names=task_names,
        both_strands=both_strands,
        on_ref_mismatch=on_ref_mismatch,
        shard=shard,
        chunk_size=chunk_size,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    if not hasattr(genome, "window_codes"):
        from genodeep.io.fasta import Genome

        genome = Genome(genome)
    chunks = iter_scores(model, genome, vcf, **kw)
    keep: list[pd.DataFrame | None] = []
    if attributions:
        from genodeep.variants.attribution import _track_top

        _check_attribution_args(
            model, out, attributions, attribution_method, attribution_task, attribution_flank, kw
        )
        chunks = _track_top(chunks, int(attributions), attribution_task, keep)
    if out is None:
        return _finish(pd.concat(list(chunks), ignore_index=True))
    out = Path(out)
    name = out.name.lower()
    if name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        with atomic_write(out) as fh:
            header = True
            for df in chunks:
                _finish(df).to_csv(fh, sep="\t", index=False, header=header, float_format="%.6g")
                header = False
    elif name.endswith(".parquet"):
        df = _finish(pd.concat(list(chunks), ignore_index=True))
        with atomic_path(out) as tmp:
            df.to_parquet(tmp, index=False)
    elif name.endswith((".vcf", ".vcf.gz")):
        _write_annotated_vcf(vcf, chunks, out, shard)
    else:
        raise ValueError(
            f"out={str(out)!r}: use a .tsv, .tsv.gz, .parquet, .vcf or .vcf.gz file name"
        )
    log(f"wrote {out}")
    if attributions:
        _write_attributions(
            model,
            genome,
            keep[0] if keep else None,
            out,
            attribution_method,
            attribution_task,
            attribution_flank,
            kw,
        )
    return out


def _check_attribution_args(model, out, n, method, task, flank, kw) -> None:
    """Validate the attribution keywords before any variant is scored."""
    from genodeep.variants.attribution import check_flank

    if out is None:
        raise ValueError(
            "attributions= needs out= (the maps are written to OUT_attributions/); without out, "
            "call genodeep.variants.attribution.variant_attributions on the returned table"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"attributions must be a number of variants >= 0, got {n!r}")
    check_choice("attribution_method", method, ("ism", "deepliftshap"))
    _, _, names, length = _resolve_model(model, kw["kind"], kw["task_names"], kw["length"])
    check_flank("attribution_flank", flank, length)
    if task is not None and names and task not in names:
        from genodeep._validate import near_matches

        close = near_matches(str(task), names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"attribution_task={task!r} is not a task of the model{hint}; valid tasks: {', '.join(names)}"
        )


def _write_attributions(model, genome, best, out: Path, method, task, flank, kw) -> None:
    from genodeep.variants.attribution import (
        attributions_dir,
        save_variant_attributions,
        variant_attributions,
    )

    if best is None or len(best) == 0:
        warnings.warn("no variant was scored: no attribution maps written", stacklevel=3)
        return
    res = variant_attributions(
        model,
        genome,
        _finish(best),
        top=len(best),
        task=task,
        method=method,
        flank=flank,
        length=kw["length"],
        kind=kw["kind"],
        task_names=kw["task_names"],
        both_strands=kw["both_strands"],
        device=kw["device"],
        verbose=kw["verbose"],
    )
    save_variant_attributions(res, attributions_dir(out))


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def _write_annotated_vcf(vcf, chunks: Iterable[pd.DataFrame], out: Path, shard) -> None:
    """Copy the VCF, adding INFO fields (Number=A: one value per ALT) for each task's diff."""
    info: dict[int, dict[str, list[str]]] = {}
    tasks: list[str] = []
    for df in chunks:
        tasks = tasks or [c[: -len(".diff")] for c in df.columns if c.endswith(".diff")]
        records = df["_record"].to_numpy()
        for rec_id, status in zip(records, df["status"]):
            info.setdefault(rec_id, {}).setdefault("_status", []).append(status)
        for key, col in [(t, f"{t}.diff") for t in tasks] + [("max", "max_abs_diff")]:
            if col not in df:
                continue
            for rec_id, v in zip(records, df[col].to_numpy(dtype=float)):
                info[rec_id].setdefault(key, []).append("." if v != v else f"{v:.6g}")
    safe = {t: _info_key(t) for t in tasks}
    new_info = [
        f'##INFO=<ID={_INFO_PREFIX}_STATUS,Number=A,Type=String,Description="genodeep scoring status per ALT allele">',
        f'##INFO=<ID={_INFO_PREFIX}_MAXABS,Number=A,Type=Float,Description="genodeep largest absolute alt-ref effect over tasks">',
    ] + [
        f'##INFO=<ID={safe[t]},Number=A,Type=Float,Description="genodeep alt-ref predicted effect for task {t}">'
        for t in tasks
    ]
    record = -1
    with open_text(vcf, "VCF") as fin, atomic_write(out) as fout:
        for line in fin:
            if line.startswith("##"):
                fout.write(line)
                continue
            if line.startswith("#"):
                for h in new_info:
                    fout.write(h + "\n")
                fout.write(line)
                continue
            if not line.strip():
                continue
            record += 1
            if shard is not None and record % shard[1] != shard[0]:
                continue
            cols = line.rstrip("\n").split("\t")
            rec = info.get(record, {})
            add = [f"{_INFO_PREFIX}_STATUS=" + ",".join(rec.get("_status", ["."]))]
            if "max" in rec:
                add.append(f"{_INFO_PREFIX}_MAXABS=" + ",".join(rec["max"]))
            add += [f"{safe[t]}=" + ",".join(rec[t]) for t in tasks if t in rec]
            cols[7] = ";".join(([] if cols[7] in (".", "") else [cols[7]]) + add)
            fout.write("\t".join(cols) + "\n")


def _info_key(task: str) -> str:
    key = "".join(c if (c.isalnum() or c == "_") else "_" for c in task)
    return f"{_INFO_PREFIX}_{key}"


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"i/n"`` (e.g. ``"0/4"``) into ``(i, n)``."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected i/n with integers, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard {text!r}: need 0 <= i < n")
    return i, n
