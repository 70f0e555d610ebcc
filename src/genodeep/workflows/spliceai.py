"""SpliceAI variant scores with the imported SpliceAI package: ``genodeep score-variants --model spliceai``.

The scores are SpliceAI's own (Jaganathan et al. 2019; the ``spliceai`` 1.3.1 tool): for each ALT allele
and each gene (of a ``-A``-style annotation) whose transcript holds the variant, the delta scores of
acceptor gain/loss and donor gain/loss (DS_AG, DS_AL, DS_DG, DS_DL) within ``distance`` bases, their
positions (DP_*), from the average of the five models, with the same windows (10,000 bases of context,
sequence outside the transcript set to N, reverse complement for minus-strand genes), the same indel
alignment and the same optional masking. What differs is how they are computed
(:mod:`genodeep.variants.splice`): the reference is computed once per cluster of nearby variants of a
gene (one long stretch, since an output depends only on the 10,001 bases around it), each layer only
where the scored outputs read it, and each ALT allele only where it changes the activations, reading
the reference elsewhere; ALT alleles of one shape are batched. This file reads the files and builds the
windows; a graph that cannot run over position ranges falls back to full windows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genodeep._batching import predict
from genodeep._device import resolve_device
from genodeep._io_utils import atomic_path, atomic_write, open_text
from genodeep._progress import log
from genodeep._validate import InputFileError
from genodeep.io import Genome
from genodeep.io.vcf import iter_vcf
from genodeep.variants.splice import (
    AltEdit,
    LocalPlan,
    Unsupported,
    align_indel,
    delta_scores,
    ref_alt_outputs,
)
from genodeep.zoo import load

__all__ = ["read_gene_annotation", "score_spliceai", "score_spliceai_to_files", "SCORE_COLUMNS"]

CONTEXT = 10000
SCORE_COLUMNS = ["DS_AG", "DS_AL", "DS_DG", "DS_DL", "DP_AG", "DP_AL", "DP_DG", "DP_DL"]
_ONEHOT = np.eye(5, dtype=np.float32)[:, :4]  # code 4 (N) -> zeros
_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_BASES = {b: i for i, b in enumerate("ACGT")}
_COLUMNS = ("#NAME", "CHROM", "STRAND", "TX_START", "TX_END", "EXON_START", "EXON_END")
#: longest stretch of positions one shared reference window covers
_MAX_SPAN = 50_000
#: most allele x gene scores sharing one reference stretch (bounds the memory of the ALT activations)
_MAX_TASKS = 64


def read_gene_annotation(path: str | os.PathLike) -> pd.DataFrame:
    """A SpliceAI gene annotation (the ``spliceai -A`` format): one transcript per line.

    Tab-separated with a header ``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``; starts are
    0-based, ends 1-based inclusive, exon lists comma-separated (a trailing comma allowed). ``grch37``
    or ``grch38`` reads the file shipped in the installed ``spliceai`` package.

    Returns
    -------
    DataFrame with columns name, chrom, strand, tx_start (1-based), tx_end, boundaries (array of exon
    starts (1-based) and ends).
    """
    if str(path) in ("grch37", "grch38"):
        import importlib.util

        spec = importlib.util.find_spec("spliceai")
        if spec is None:
            raise ImportError(
                f"--annotation {path} reads the file of the spliceai package: pip install "
                "spliceai==1.3.1 --no-deps, or give an annotation file"
            )
        path = Path(spec.submodule_search_locations[0]) / "annotations" / f"{path}.txt"
    path = Path(path)
    with open_text(path, "gene annotation") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        missing = [c for c in _COLUMNS if c not in header]
        if missing:
            raise InputFileError(
                f"gene annotation header lacks {', '.join(missing)} (found {header[:7]})",
                path=path,
                line=1,
                fix="give a tab-separated file with the columns " + " ".join(_COLUMNS),
            )
        col = {c: header.index(c) for c in _COLUMNS}
        rows = []
        for i, line in enumerate(fh, 2):
            if not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            try:
                starts = [int(x) + 1 for x in f[col["EXON_START"]].split(",") if x]
                ends = [int(x) for x in f[col["EXON_END"]].split(",") if x]
                strand = f[col["STRAND"]]
                if strand not in ("+", "-"):
                    raise ValueError(f"strand {strand!r} is not + or -")
                rows.append(
                    (
                        f[col["#NAME"]],
                        f[col["CHROM"]],
                        strand,
                        int(f[col["TX_START"]]) + 1,
                        int(f[col["TX_END"]]),
                        np.union1d(starts, ends),
                    )
                )
            except (ValueError, IndexError) as err:
                raise InputFileError(
                    f"malformed annotation line ({err})",
                    path=path,
                    line=i,
                    fix="integer TX_START/TX_END, comma-separated integer exon lists, strand + or -",
                ) from err
    return pd.DataFrame(
        rows, columns=["name", "chrom", "strand", "tx_start", "tx_end", "boundaries"]
    )


@dataclass
class _Task:
    row: int  # index into the variant list
    gene: int  # annotation row
    centre: int  # 0-based position of the first REF base
    ref: str
    alt: str
    dist_exon: int  # nearest exon boundary - pos
    y_alt: np.ndarray | None = None  # (3, cov) after the indel alignment


def _norm_chrom(chrom: str, names: Sequence[str]) -> str:
    if chrom in names:
        return chrom
    alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
    return alt if alt in names else chrom


def _masked(genome: Genome, chrom: str, start: int, end: int, tx: tuple[int, int]) -> np.ndarray:
    """Codes of ``[start, end)`` with positions outside the transcript ``[tx0, tx1)`` set to N."""
    codes = np.array(genome.codes(chrom, start, end), dtype=np.uint8)
    lo, hi = tx[0] - start, tx[1] - start
    codes[: max(lo, 0)] = 4
    if hi < len(codes):
        codes[max(hi, 0) :] = 4
    return codes


def score_spliceai(
    model,
    genome,
    vcf: str | os.PathLike,
    annotation,
    *,
    distance: int = 50,
    mask: bool = False,
    batch_size: int = 16,
    device: str | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """SpliceAI delta scores of the ALT alleles of a VCF (one row per allele and gene).

    Parameters
    ----------
    model : Package, path or zoo name
        The imported SpliceAI package (``genodeep zoo import spliceai``).
    genome : Genome or path
        Reference FASTA.
    vcf : path
        Variants (plain or gzip VCF).
    annotation : DataFrame, path, "grch37" or "grch38"
        Genes (:func:`read_gene_annotation`).
    distance : int, default 50
        Largest distance between the variant and a gained or lost splice site (``spliceai -D``).
    mask : bool, default False
        Zero the scores of annotated-site gains and unannotated-site losses (``spliceai -M 1``).
    batch_size : int, default 16
        ALT alleles of one shape computed together (full windows per forward pass where the graph
        cannot run over position ranges); measured on SpliceAI: 4 to 64 take the same time.
    device : str, optional
        ``None`` picks CUDA when available.

    Returns
    -------
    DataFrame
        chrom, pos, id, ref, alt, record, allele, gene, strand, DS_AG, DS_AL, DS_DG, DS_DL (floats,
        unrounded), DP_AG, DP_AL, DP_DG, DP_DL (ints, relative to the variant), status ('' when
        scored; else why not, as the spliceai tool logs it).
    """
    if not 0 <= int(distance) < 5000:
        raise ValueError(f"distance must be in [0, 5000) as in spliceai -D; got {distance}")
    pkg = load(model) if isinstance(model, (str, os.PathLike)) else model
    net = pkg.model.eval()
    genome = genome if isinstance(genome, Genome) else Genome(genome)
    ann = annotation if isinstance(annotation, pd.DataFrame) else read_gene_annotation(annotation)
    cov, wid = 2 * distance + 1, CONTEXT + 2 * distance + 1
    half = wid // 2
    names = genome.names
    rows: list[dict] = []
    tasks: list[_Task] = []
    for v in iter_vcf(vcf):
        base = dict(chrom=v.chrom, pos=v.pos, id=v.id, ref=v.ref, alt=v.alt, record=v.record)
        base["allele"] = v.allele
        chrom = _norm_chrom(v.chrom, list(ann["chrom"].unique()))
        hit = ann.index[
            (ann["chrom"] == chrom) & (ann["tx_start"] <= v.pos) & (v.pos <= ann["tx_end"])
        ]
        if len(hit) == 0:
            rows.append({**base, "gene": "", "strand": "", "status": "not in an annotated gene"})
            continue
        gchrom = _norm_chrom(v.chrom, names)
        size = genome.chrom_sizes.get(gchrom, 0)
        status = ""
        if not size or v.pos - half - 1 < 0 or v.pos + half > size:
            status = "near chromosome end" if size else "chromosome not in the genome"
        elif genome.fetch(gchrom, v.pos - 1, v.pos - 1 + len(v.ref)) != v.ref:
            status = "ref issue"
        elif len(v.ref) > 2 * distance:
            status = "ref too long"
        elif any(c in v.alt for c in ".-*<>[]"):
            status = "symbolic or missing allele"
        for g in hit:
            r = ann.loc[g]
            row = {**base, "gene": r["name"], "strand": r["strand"], "status": status}
            if not status and len(v.ref) > 1 and len(v.alt) > 1:
                row["status"] = "multi-base REF and ALT (not scored by SpliceAI)"
            elif not status:
                dist = int(min(r["boundaries"] - v.pos, key=abs))
                tasks.append(_Task(len(rows), int(g), v.pos - 1, v.ref, v.alt, dist))
            rows.append(row)
    if verbose:
        log(f"spliceai: {len(tasks)} allele x gene scores to compute ({len(rows)} rows)")
    y_ref = _compute(net, genome, ann, tasks, distance, batch_size, device)
    table = pd.DataFrame(rows)
    for c in SCORE_COLUMNS:
        table[c] = np.nan if c.startswith("DS") else pd.array([None] * len(table), dtype="Int64")
    for t, yr in zip(tasks, y_ref):
        scores = delta_scores(yr, t.y_alt, cov, t.dist_exon, mask)
        for c, s in zip(SCORE_COLUMNS, scores):
            table.at[t.row, c] = s
    return table


def _clusters(tasks: list[_Task]) -> list[list[int]]:
    """Task indices grouped by gene and nearness: at most ``_MAX_SPAN`` bases and ``_MAX_TASKS``."""
    by_gene: dict[int, list[int]] = {}
    for i, t in enumerate(tasks):
        by_gene.setdefault(t.gene, []).append(i)
    out = []
    for idx in by_gene.values():
        idx.sort(key=lambda i: tasks[i].centre)
        cur = [idx[0]]
        for i in idx[1:]:
            if tasks[i].centre - tasks[cur[0]].centre > _MAX_SPAN or len(cur) >= _MAX_TASKS:
                out.append(cur)
                cur = [i]
            else:
                cur.append(i)
        out.append(cur)
    return out


def _compute(net, genome, ann, tasks, distance, batch_size, device) -> list[np.ndarray]:
    """Reference outputs ``(3, cov)`` per task; sets each task's aligned ALT outputs ``y_alt``."""
    dev = resolve_device(device)
    try:
        plan = LocalPlan(net, device=dev)
    except Unsupported as err:
        log(f"spliceai: full windows ({err})")
        plan = None
    out: list[np.ndarray | None] = [None] * len(tasks)
    for cl in _clusters(tasks):
        if plan is not None:
            try:
                _shared(plan, genome, ann, tasks, cl, distance, batch_size, out)
                continue
            except Unsupported as err:
                log(f"spliceai: full windows for a cluster ({err})")
        _reference(net, genome, ann, tasks, cl, distance, batch_size, device, out)
        _alternates(net, genome, ann, [tasks[i] for i in cl], distance, batch_size, device)
    return out


def _gene(genome, ann, gene: int) -> tuple[str, tuple[int, int], bool]:
    r = ann.loc[gene]
    chrom = _norm_chrom(r["chrom"], genome.names)
    return chrom, (int(r["tx_start"]) - 1, int(r["tx_end"])), r["strand"] == "-"


def _shared(plan, genome, ann, tasks, cl, distance, batch_size, out) -> None:
    """One cluster through :func:`ref_alt_outputs`: the reference stretch in the model's orientation
    (reverse complement for minus-strand genes), the tool's ALT windows as edits of it."""
    chrom, tx, minus = _gene(genome, ann, tasks[cl[0]].gene)
    cov, wid = 2 * distance + 1, CONTEXT + 2 * distance + 1
    half = wid // 2
    longest = max(max(len(tasks[i].ref), len(tasks[i].alt)) for i in cl)
    size = genome.chrom_sizes[chrom]
    lo = max(tasks[cl[0]].centre - half - longest, 0)
    hi = min(tasks[cl[-1]].centre + half + 2 * longest + 1, size)
    codes = _masked(genome, chrom, lo, hi, tx)
    n = len(codes)
    windows, edits = [], []
    for i in cl:
        t = tasks[i]
        g, lr = t.centre - lo, len(t.ref)
        alt = np.array([_BASES.get(b, 4) for b in t.alt], dtype=np.uint8)
        if minus:
            windows.append((n - g - distance - 1, n - g + distance))
            edits.append(
                AltEdit(n - g - lr, lr, _COMPLEMENT[alt[::-1]], lr - half - 1, wid - lr + len(alt))
            )
        else:
            windows.append((g - distance, g + distance + 1))
            edits.append(AltEdit(g, lr, alt, -half, wid - lr + len(alt)))
    net_codes = np.ascontiguousarray(_COMPLEMENT[codes[::-1]]) if minus else codes
    y_ref, y_alt = ref_alt_outputs(plan, net_codes, windows, edits, batch_size=batch_size)
    for i, yr, ya in zip(cl, y_ref, y_alt):
        t = tasks[i]
        out[i] = yr[:, ::-1] if minus else yr
        ya = ya[:, ::-1] if minus else ya
        t.y_alt = align_indel(ya, len(t.ref), len(t.alt), cov)


def _run(model, codes: list[np.ndarray], minus: list[bool], batch_size: int, device) -> list:
    """Model outputs ``(3, len - CONTEXT)`` in genomic orientation for windows of one length."""
    x = np.stack([_COMPLEMENT[c[::-1]] if m else c for c, m in zip(codes, minus)])
    X = torch.from_numpy(_ONEHOT[x]).transpose(1, 2)
    y = predict(model, X, batch_size=batch_size, device=device).numpy()
    return [yi[:, ::-1] if m else yi for yi, m in zip(y, minus)]


def _reference(net, genome, ann, tasks, cl, distance, batch_size, device, out) -> None:
    """Full-window fallback: reference outputs ``(3, cov)`` of a cluster from one long window."""
    chrom, tx, minus = _gene(genome, ann, tasks[cl[0]].gene)
    lo, hi = tasks[cl[0]].centre - distance, tasks[cl[-1]].centre + distance + 1
    codes = _masked(genome, chrom, lo - CONTEXT // 2, hi + CONTEXT // 2, tx)
    (y,) = _run(net, [codes], [minus], batch_size, device)
    for i in cl:
        s = tasks[i].centre - distance - lo
        out[i] = y[:, s : s + 2 * distance + 1]


def _alternates(net, genome, ann, tasks, distance, batch_size, device) -> None:
    """Full-window fallback: ALT outputs, batched by window length, aligned to the reference."""
    cov, half = 2 * distance + 1, (CONTEXT + 2 * distance + 1) // 2
    windows: dict[int, list[tuple[_Task, np.ndarray, bool]]] = {}
    for t in tasks:
        chrom, tx, minus = _gene(genome, ann, t.gene)
        ref = _masked(genome, chrom, t.centre - half, t.centre + half + 1, tx)
        alt = np.array([_BASES.get(b, 4) for b in t.alt], dtype=np.uint8)
        codes = np.concatenate([ref[:half], alt, ref[half + len(t.ref) :]])
        windows.setdefault(len(codes), []).append((t, codes, minus))
    for items in windows.values():
        for s in range(0, len(items), batch_size * 4):
            chunk = items[s : s + batch_size * 4]
            ys = _run(net, [c for _, c, _ in chunk], [m for _, _, m in chunk], batch_size, device)
            for (t, _, _), y in zip(chunk, ys):
                t.y_alt = align_indel(y, len(t.ref), len(t.alt), cov)


def _info_entries(table: pd.DataFrame) -> dict[int, list[str]]:
    """record -> SpliceAI INFO entries ``ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|...``."""
    out: dict[int, list[str]] = {}
    for r in table.itertuples(index=False):
        if not r.gene:
            continue
        if pd.isna(r.DS_AG):
            if r.status.startswith("multi-base"):
                out.setdefault(r.record, []).append(f"{r.alt}|{r.gene}|.|.|.|.|.|.|.|.")
            continue
        out.setdefault(r.record, []).append(
            f"{r.alt}|{r.gene}|{r.DS_AG:.2f}|{r.DS_AL:.2f}|{r.DS_DG:.2f}|{r.DS_DL:.2f}|"
            f"{r.DP_AG}|{r.DP_AL}|{r.DP_DG}|{r.DP_DL}"
        )
    return out


_HEADER = (
    '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3.1 variant annotation '
    "(computed by genodeep from the imported SpliceAI models). These include delta scores (DS) and "
    "delta positions (DP) for acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor "
    'loss (DL). Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">'
)


def _write_vcf(table: pd.DataFrame, vcf, out) -> None:
    entries = _info_entries(table)
    record = -1
    with open_text(vcf, "VCF") as fin, atomic_write(out) as fout:
        for line in fin:
            if line.startswith("##"):
                fout.write(line)
                continue
            if line.startswith("#"):
                fout.write(_HEADER + "\n" + line)
                continue
            if not line.strip():
                continue
            record += 1
            f = line.rstrip("\n").split("\t")
            if record in entries:
                info = "SpliceAI=" + ",".join(entries[record])
                f[7] = info if f[7] in (".", "") else f"{f[7]};{info}"
            fout.write("\t".join(f) + "\n")


def score_spliceai_to_files(
    model,
    genome,
    vcf: str | os.PathLike,
    out: str | os.PathLike,
    annotation,
    **kwargs,
) -> pd.DataFrame:
    """:func:`score_spliceai`, written to ``out``: ``.tsv[.gz]`` (the table, unrounded scores) or
    ``.vcf[.gz]`` (the input VCF with SpliceAI's INFO field, scores rounded to 2 decimals as the
    ``spliceai`` tool writes them)."""
    table = score_spliceai(model, genome, vcf, annotation, **kwargs)
    name = str(out).lower()
    if name.endswith((".vcf", ".vcf.gz")):
        _write_vcf(table, vcf, out)
    elif name.endswith((".tsv", ".tsv.gz", ".txt")):
        with atomic_path(out) as tmp:
            table.to_csv(
                tmp, sep="\t", index=False, compression="gzip" if name.endswith(".gz") else None
            )
    else:
        raise ValueError(f"out={out!s} must end in .tsv, .tsv.gz, .vcf or .vcf.gz")
    return table
