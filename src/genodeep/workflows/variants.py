"""The file-level jobs of variant effect prediction: ``genodeep score-variants``.

:func:`score_variants` scores the ALT alleles of a VCF (:func:`genodeep.variants.iter_scores`, chunk by
chunk) and returns the table or writes it as TSV, parquet or the input VCF with INFO fields added; with
``attributions`` it also explains the variants of largest effect
(:func:`genodeep.variants.variant_attributions`) and writes their maps and logos
(:func:`save_variant_attributions`) into ``OUT_attributions/`` (:func:`attributions_dir`). A profile
package (``spec.kind == "profile"``: BPNet, ChromBPNet, Basenji) is scored on its predicted profiles
instead (:func:`genodeep.variants.profile.iter_profile_scores`).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from genodeep._io_utils import atomic_path, atomic_write, open_text
from genodeep._progress import log
from genodeep._validate import check_choice, near_matches
from genodeep.io import Genome
from genodeep.io.vcf import _is_bcf
from genodeep.models.spec import ModelSpec
from genodeep.variants.attribution import (
    VariantAttributions,
    _track_top,
    check_flank,
    plot_variant_logos,
    variant_attributions,
)
from genodeep.variants.profile import iter_profile_scores
from genodeep.variants.score import _finish, _resolve_model, iter_scores
from genodeep.zoo import load

__all__ = [
    "attributions_dir",
    "parse_shard",
    "save_variant_attributions",
    "score_variants",
    "score_variants_to_files",
]

_INFO_PREFIX = "GD"


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
    model : torch.nn.Module, genodeep.zoo.Package or path
        Takes one-hot ``(N, 4, length)``; returns ``(N, T)`` (logits for binary models) or a
        ``(profile, counts)`` tuple, whose count head is scored. A package supplies ``kind``,
        ``task_names`` and ``length`` from its data spec; a path or zoo name is loaded with
        :func:`genodeep.zoo.load` (run folder, package folder or archive, zoo model). A package of
        ``kind: profile`` (BPNet, ChromBPNet, Basenji) is scored on its predicted profiles by
        :func:`genodeep.variants.profile.iter_profile_scores` (columns below).
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
        into ``OUT_attributions/`` beside ``out`` (see :func:`genodeep.variants.variant_attributions`).
    attribution_method : {"ism", "deepliftshap"}, default "ism"
    attribution_task : str, optional
        Rank and explain this task (default: each variant's ``max_task``).
    attribution_flank : int, optional
        Bases drawn on each side of the variant (default 20, fewer for short windows).

    Returns
    -------
    pandas.DataFrame with columns chrom, pos, id, ref, alt, kind, status, reason, then per task
    ``TASK.ref``, ``TASK.alt``, ``TASK.diff``, ``TASK.logfc`` (and ``TASK.logodds`` for binary models),
    ``max_abs_diff`` and ``max_task`` — or the output path when ``out`` is given. For a profile
    package, per track ``TASK.ref_total``, ``TASK.alt_total``, ``TASK.log2fc`` (log2 of the predicted
    totals over the output window, pseudocount 1), ``TASK.jsd`` (Jensen-Shannon distance of the two
    profiles, base 2), ``TASK.max_abs_diff`` and ``TASK.max_pos`` (largest per-base change and its
    position from the variant), then ``max_abs_log2fc`` and ``max_task``
    (:mod:`genodeep.variants.profile`); ``attributions`` is not offered for them.
    """
    if isinstance(model, (str, os.PathLike)):
        model = load(model)
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
    fmt = None if out is None else _output_format(out, vcf)
    if not hasattr(genome, "window_codes"):
        genome = Genome(genome)
    if _is_profile(model, kind):
        if attributions:
            raise ValueError(
                "attributions= is not offered for profile models (their table has no per-task diff "
                "to rank on). Fix: score without it, then explain chosen windows with "
                "genodeep interpret or genodeep predict --attributions"
            )
        chunks = iter_profile_scores(
            model, genome, vcf, **{k: v for k, v in kw.items() if k != "kind"}
        )
    else:
        chunks = iter_scores(model, genome, vcf, **kw)
    keep: list[pd.DataFrame | None] = []
    if attributions:
        _check_attribution_args(
            model, out, attributions, attribution_method, attribution_task, attribution_flank, kw
        )
        chunks = _track_top(chunks, int(attributions), attribution_task, keep)
    if out is None:
        return _finish(pd.concat(list(chunks), ignore_index=True))
    out = Path(out)
    if fmt == "tsv":
        with atomic_write(out) as fh:
            header = True
            for df in chunks:
                _finish(df).to_csv(fh, sep="\t", index=False, header=header, float_format="%.6g")
                header = False
    elif fmt == "parquet":
        df = _finish(pd.concat(list(chunks), ignore_index=True))
        with atomic_path(out) as tmp:
            df.to_parquet(tmp, index=False)
    else:
        _write_annotated_vcf(vcf, chunks, out, shard)
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


def _is_profile(model, kind) -> bool:
    """A package whose spec says ``kind: profile`` (and no other ``kind`` asked for)."""
    if kind not in (None, "profile") or not hasattr(model, "data_spec"):
        return False
    spec = getattr(model, "spec", None)
    return isinstance(spec, ModelSpec) and spec.kind == "profile"


def _output_format(out: str | os.PathLike, vcf) -> str:
    """``"tsv"``, ``"parquet"`` or ``"vcf"`` from the name of ``out``, checked before any scoring:
    the suffix, the parquet writer's dependency and (annotated VCF) a text VCF input."""
    name = Path(out).name.lower()
    if name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        return "tsv"
    if name.endswith(".parquet"):
        if not (_importable("pyarrow") or _importable("fastparquet")):
            raise ImportError(
                f"out={str(out)!r}: parquet output needs pyarrow; install it with: "
                "pip install 'genodeep[vcf]' (or write .tsv.gz instead)"
            )
        return "parquet"
    if name.endswith((".vcf", ".vcf.gz")):
        if _is_bcf(vcf):
            raise ValueError(
                f"out={str(out)!r}: an annotated VCF copies the input's text lines, and "
                f"{os.fspath(vcf)} is a BCF (binary); write a table instead (.tsv.gz or "
                ".parquet), or convert the input first: bcftools view -Oz -o in.vcf.gz in.bcf"
            )
        return "vcf"
    raise ValueError(f"out={str(out)!r}: use a .tsv, .tsv.gz, .parquet, .vcf or .vcf.gz file name")


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _check_attribution_args(model, out, n, method, task, flank, kw) -> None:
    """Validate the attribution keywords before any variant is scored."""
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
        close = near_matches(str(task), names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"attribution_task={task!r} is not a task of the model{hint}; valid tasks: {', '.join(names)}"
        )


def _write_attributions(model, genome, best, out: Path, method, task, flank, kw) -> None:
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


def _info_fields(columns: Iterable[str]) -> list[tuple[str, str, str]]:
    """``(INFO ID, column, description)`` of the effects written into an annotated VCF, in order:
    each task's diff, or for a profile model's table each track's log2fc and JSD."""
    columns = list(columns)
    maxabs = f"{_INFO_PREFIX}_MAXABS"
    tracks = [c[: -len(".log2fc")] for c in columns if c.endswith(".log2fc")]
    if tracks:
        fields = [
            (maxabs, "max_abs_log2fc", "genodeep largest absolute log2 fold change over tracks")
        ]
        for t in tracks:
            lfc = f"genodeep log2((alt+1)/(ref+1)) of the predicted total counts of track {t}"
            jsd = f"genodeep Jensen-Shannon distance of the alt and ref predicted profiles of track {t}"
            fields += [
                (f"{_info_key(t)}_LOG2FC", f"{t}.log2fc", lfc),
                (f"{_info_key(t)}_JSD", f"{t}.jsd", jsd),
            ]
        return fields
    tasks = [c[: -len(".diff")] for c in columns if c.endswith(".diff")]
    fields = [(maxabs, "max_abs_diff", "genodeep largest absolute alt-ref effect over tasks")]
    for t in tasks:
        fields.append(
            (_info_key(t), f"{t}.diff", f"genodeep alt-ref predicted effect for task {t}")
        )
    return fields


def _write_annotated_vcf(vcf, chunks: Iterable[pd.DataFrame], out: Path, shard) -> None:
    """Copy the VCF, adding INFO fields (Number=A: one value per ALT) for each task's effect
    (:func:`_info_fields`)."""
    info: dict[int, dict[str, list[str]]] = {}
    fields: list[tuple[str, str, str]] = []
    for df in chunks:
        if not fields and ("max_abs_diff" in df or "max_abs_log2fc" in df):
            fields = _info_fields(df.columns)  # an all-skipped chunk has no effect columns
        records = df["_record"].to_numpy()
        for rec_id, status in zip(records, df["status"]):
            info.setdefault(rec_id, {}).setdefault("_status", []).append(status)
        for key, col, _ in fields:
            if col not in df:
                continue
            for rec_id, v in zip(records, df[col].to_numpy(dtype=float)):
                info[rec_id].setdefault(key, []).append("." if v != v else f"{v:.6g}")
    fields = fields or _info_fields([])
    new_info = [
        f'##INFO=<ID={_INFO_PREFIX}_STATUS,Number=A,Type=String,Description="genodeep scoring status per ALT allele">',
    ] + [f'##INFO=<ID={key},Number=A,Type=Float,Description="{text}">' for key, _, text in fields]
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
            add += [f"{key}=" + ",".join(rec[key]) for key, _, _ in fields if key in rec]
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


def attributions_dir(out: str | os.PathLike) -> Path:
    """The attribution folder beside a scored table: ``scored.tsv.gz`` -> ``scored_attributions``."""
    out = Path(out)
    name = re.sub(r"(\.(tsv|txt|vcf|parquet))?(\.b?gz)?$", "", out.name, flags=re.IGNORECASE)
    return out.with_name(f"{name or out.name}_attributions")


def _label(row) -> str:
    def short(allele: str) -> str:
        return allele if len(allele) <= 8 else f"{allele[:6]}{len(allele)}bp"

    text = f"{int(row['rank']):03d}_{row['chrom']}_{int(row['pos'])}_{short(str(row['ref']))}_{short(str(row['alt']))}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def save_variant_attributions(
    result: VariantAttributions,
    out_dir: str | os.PathLike,
    *,
    flank: int | None = None,
    dpi: int = 120,
    overwrite: bool = True,
) -> Path:
    """Write ``attributions.npz``, ``variants.tsv`` and one logo PNG per variant into ``out_dir``.

    The folder is built under a temporary name beside ``out_dir`` and renamed at the end, so a failed
    run leaves no partial folder.

    Parameters
    ----------
    result : VariantAttributions
        Output of :func:`genodeep.variants.variant_attributions`.
    out_dir : path
        Folder to create (replaced when it exists and ``overwrite``).
    flank : int, optional
        Bases drawn on each side of the variant (default ``result.flank``).
    dpi : int
        PNG resolution.
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    Path of ``out_dir``. The npz holds ``ref``, ``alt``, ``delta`` (float32, (N, 4, L)), ``X_ref``,
    ``X_alt`` (int8), ``center``, ``ref_len``, ``alt_len``, ``variant`` (``chrom:pos:REF>ALT``),
    ``task`` and ``method``.
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True or choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out.parent))
    try:
        t = result.table
        np.savez_compressed(
            tmp / "attributions.npz",
            ref=result.ref,
            alt=result.alt,
            delta=result.delta,
            X_ref=result.X_ref.astype(np.int8),
            X_alt=result.X_alt.astype(np.int8),
            center=np.int64(result.center),
            ref_len=t["ref"].str.len().to_numpy(np.int64),
            alt_len=t["alt"].str.len().to_numpy(np.int64),
            variant=np.asarray(
                [f"{r.chrom}:{r.pos}:{r.ref}>{r.alt}" for r in t.itertuples(index=False)], dtype=str
            ),
            task=np.asarray(t["attr_task"].astype(str).tolist(), dtype=str),
            method=np.asarray(result.method),
        )
        pngs = []
        for i in range(len(t)):
            fig = plot_variant_logos(result, i, flank=flank)
            name = f"{_label(t.iloc[i])}.png"
            fig.savefig(tmp / name, format="png", dpi=dpi)
            pngs.append(name)
        t.assign(png=pngs).drop(columns=[c for c in t.columns if c.startswith("_")]).to_csv(
            tmp / "variants.tsv", sep="\t", index=False, float_format="%.6g"
        )
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=".old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"wrote {out} ({len(result.table)} variants)")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def score_variants_to_files(
    model: str | os.PathLike,
    genome: str | os.PathLike,
    vcf: str | os.PathLike,
    out: str | os.PathLike,
    *,
    shard: str | tuple[int, int] | None = None,
    **kwargs,
) -> Path:
    """:func:`score_variants` of a model package (or run folder) on files; the API of
    ``genodeep score-variants``.

    Parameters
    ----------
    model : path
        Model package folder or ``.tar.gz``, or a ``genodeep train`` run folder
        (:func:`genodeep.zoo.load`).
    genome, vcf, out : path
        As in :func:`score_variants`.
    shard : str or (int, int), optional
        ``"i/n"`` (see :func:`parse_shard`) or ``(i, n)``.
    **kwargs
        Further :func:`score_variants` keywords.

    Returns
    -------
    Path
        The output file.
    """
    pkg = load(model)
    if isinstance(shard, str):
        shard = parse_shard(shard) if shard else None
    return score_variants(pkg, genome, vcf, out=out, shard=shard, **kwargs)
