"""Attribution maps of the reference and alternative alleles of the top-scoring variants.

:func:`variant_attributions` takes a table from :func:`genodeep.workflows.variants.score_variants`
(or a VCF, which it scores first with :func:`genodeep.variants.iter_scores`), picks the variants with
the largest absolute effect, rebuilds their reference and alternative windows with the scoring code
itself (same length rule, same genome reads), explains both alleles with
:func:`genodeep.interpret.attribute` in one batched call, and returns the two maps and their
difference. :func:`genodeep.workflows.variants.save_variant_attributions` writes ``attributions.npz``,
``variants.tsv`` and one PNG per variant (:func:`plot_variant_logos`: stacked logos of the reference,
the alternative and the difference around the variant).

Alignment rule
--------------
Both windows hold the variant's first base at position ``c = length // 2`` and share the left flank
(see :mod:`genodeep.variants`). The ``ref`` and ``alt`` maps are returned in their own window
coordinates. ``delta`` is ``alt - ref`` in *reference* coordinates: for SNVs and MNVs position by
position; for indels the alternative map is first aligned on the reference, position ``p`` of the
reference taking

- ``p < c + min(len(REF), len(ALT))``: alternative position ``p`` (left flank and shared allele bases);
- ``p >= c + len(REF)``: alternative position ``p + len(ALT) - len(REF)`` (the right flank, shifted back
  by the indel), 0 where that falls outside the window;
- deleted bases (``c + len(ALT) <= p < c + len(REF)``): 0, so ``delta = -ref`` there (the lost
  contribution).

Inserted bases have no reference position: they appear in the ``alt`` map (and its logo) only. The
plots draw every panel from ``c - flank`` to ``c + flank`` with the x axis in bases relative to the
variant and shade the allele in each panel (``len(REF)`` bases in ``ref`` and ``delta``, ``len(ALT)`` in
``alt``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._validate import check_choice, near_matches
from genodeep.interpret.api import attribute
from genodeep.interpret.plots import plot_attribution_logo
from genodeep.io import Genome, Variant
from genodeep.seq.encode import one_hot_codes, reverse_complement
from genodeep.variants.score import _build_batch, _finish, _resolve_model, iter_scores

__all__ = [
    "VariantAttributions",
    "align_to_reference",
    "check_flank",
    "plot_variant_logos",
    "top_variants",
    "variant_attributions",
]

_METHODS = ("ism", "deepliftshap", "saliency", "ixg", "ig")
_SCORED = ("ok", "ref_mismatch")
_NEEDED = ("chrom", "pos", "ref", "alt", "status")


@dataclass
class VariantAttributions:
    """What :func:`variant_attributions` returns (N variants, windows of L bases).

    Attributes
    ----------
    table : pandas.DataFrame
        The N selected rows of the scored table, ranked by absolute effect, plus ``rank`` (1 = largest),
        ``attr_task`` (the task explained), ``attr_ref_variant`` / ``attr_alt_variant`` (summed
        attribution over the REF / ALT allele bases) and ``attr_delta_flank`` (summed ``delta`` over
        ``centre ± flank``).
    ref, alt : np.ndarray float32, shape (N, 4, L)
        Attributions of the observed bases of the reference and alternative windows (each in its own
        window coordinates).
    delta : np.ndarray float32, shape (N, 4, L)
        ``alt - ref`` with ``alt`` aligned on the reference (see the module docstring).
    X_ref, X_alt : np.ndarray int8, shape (N, 4, L)
        The one-hot windows.
    center : int
        Position of the variant's first base in both windows (``L // 2``).
    flank : int
        Bases drawn on each side of the variant by :func:`plot_variant_logos`.
    method : str
        The attribution method.
    """

    table: pd.DataFrame
    ref: np.ndarray
    alt: np.ndarray
    delta: np.ndarray
    X_ref: np.ndarray
    X_alt: np.ndarray
    center: int
    flank: int
    method: str


# ------------------------------------------------------------------------------------------------
# choosing the variants


def _table_tasks(table: pd.DataFrame) -> list[str]:
    return [c[: -len(".diff")] for c in table.columns if c.endswith(".diff")]


def _effect_key(table: pd.DataFrame, task: str | None) -> tuple[str, np.ndarray]:
    """The column ranked on and its absolute values (NaN for unscored rows)."""
    if task is None:
        if "max_abs_diff" not in table.columns:
            raise ValueError(
                "the table has no column 'max_abs_diff'; pass the table returned by score_variants"
            )
        return "max_abs_diff", np.abs(pd.to_numeric(table["max_abs_diff"], errors="coerce"))
    tasks = _table_tasks(table)
    if task not in tasks:
        close = near_matches(str(task), tasks)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"task={task!r} is not a task of the scored table{hint}; valid tasks: "
            f"{', '.join(tasks) or 'none (the table has no TASK.diff columns)'}"
        )
    col = f"{task}.diff"
    return col, np.abs(pd.to_numeric(table[col], errors="coerce"))


def top_variants(table: pd.DataFrame, *, top: int = 20, task: str | None = None) -> pd.DataFrame:
    """The ``top`` scored variants with the largest absolute effect.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`genodeep.workflows.variants.score_variants`.
    top : int
        How many variants to keep (fewer when fewer were scored).
    task : str, optional
        Rank on ``|TASK.diff|``; by default on ``max_abs_diff`` (the largest effect over tasks).

    Returns
    -------
    pandas.DataFrame
        The selected rows, largest effect first, with a ``rank`` column (1-based).
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer (variants to explain), got {top!r}")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be the DataFrame returned by score_variants, got {type(table).__name__}"
        )
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise ValueError(
            f"the table lacks column(s) {', '.join(missing)}; pass the table returned by "
            "score_variants (or its .tsv/.parquet output)"
        )
    _, key = _effect_key(table, task)
    ok = table["status"].isin(_SCORED).to_numpy() & np.isfinite(key.to_numpy(dtype=float))
    if not ok.any():
        raise ValueError("the table holds no scored variant (status ok) to explain")
    order = np.argsort(-key.to_numpy(dtype=float)[ok], kind="stable")[: int(top)]
    sel = table[ok].iloc[order].drop(columns=["rank"], errors="ignore")
    sel.insert(0, "rank", np.arange(1, len(sel) + 1))
    return sel.reset_index(drop=True)


def _track_top(chunks, top: int, task: str | None, keep: list):
    """Pass scored chunks through, keeping the ``top`` rows with the largest effect in ``keep[0]``."""
    best = None
    for df in chunks:
        yield df
        if not df["status"].isin(_SCORED).any():
            continue  # an all-skipped chunk has no effect columns
        _, key = _effect_key(df, task)
        cand = df[df["status"].isin(_SCORED).to_numpy() & np.isfinite(key.to_numpy(dtype=float))]
        best = cand if best is None else pd.concat([best, cand], ignore_index=True)
        k = _effect_key(best, task)[1].to_numpy(dtype=float)
        best = best.iloc[np.argsort(-k, kind="stable")[:top]].reset_index(drop=True)
    keep.append(best)


# ------------------------------------------------------------------------------------------------
# windows and maps


def align_to_reference(alt_map: np.ndarray, center: int, ref_len: int, alt_len: int) -> np.ndarray:
    """Move an alternative-window map onto the reference window's coordinates.

    Parameters
    ----------
    alt_map : np.ndarray, shape (4, L)
        Map of the alternative window (variant's first base at ``center``).
    center : int
        Position of the variant in both windows.
    ref_len, alt_len : int
        Lengths of the REF and ALT alleles.

    Returns
    -------
    np.ndarray, shape (4, L)
        The map in reference coordinates (the rule of the module docstring); positions with no
        alternative counterpart are 0.
    """
    L = alt_map.shape[-1]
    out = np.zeros_like(alt_map)
    shared = min(center + min(ref_len, alt_len), L)
    out[:, :shared] = alt_map[:, :shared]
    p0, s0 = center + ref_len, center + alt_len
    n = max(0, min(L - p0, L - s0))
    out[:, p0 : p0 + n] = alt_map[:, s0 : s0 + n]
    return out


def _windows(model, genome, sel: pd.DataFrame, length, kind, task_names, source):
    """Rebuild the scoring windows of the selected rows: X_ref, X_alt int8 (N, 4, L), names, L."""
    model, kind, names, length = _resolve_model(model, kind, task_names, length)
    if not hasattr(genome, "window_codes"):
        genome = Genome(genome)
    variants = [
        Variant(str(r.chrom), int(r.pos), str(r.id), str(r.ref), str(r.alt), i, 1, 0)
        for i, r in enumerate(sel.itertuples(index=False))
    ]
    batch = _build_batch(genome, variants, length, "warn", source)
    bad = [
        i
        for i in range(len(sel))
        if not batch.scorable[i] or batch.status[i] != sel["status"].iloc[i]
    ]
    if bad:
        r = sel.iloc[bad[0]]
        raise ValueError(
            f"variant {r['chrom']}:{r['pos']} {r['ref']}>{r['alt']} was scored as "
            f"{r['status']!r} but gives {batch.status[bad[0]]!r} ({batch.reason[bad[0]] or 'REF check'}) "
            f"against this genome with length={length}; use the genome and window length the table "
            "was scored with"
        )
    X_ref = one_hot_codes(batch.ref_codes).numpy()
    X_alt = one_hot_codes(batch.alt_codes).numpy()
    return model, names, X_ref, X_alt, length


def _explain(model, X: np.ndarray, target: int, both_strands: bool, method: str, kw) -> np.ndarray:
    """Attributions of the observed bases, (n, 4, L) float32; both strands averaged if asked."""
    Xt = torch.from_numpy(X).float()
    if both_strands:
        Xt = torch.cat([Xt, reverse_complement(Xt)])
    attr = attribute(model, Xt, method=method, target=target, **kw).attributions
    if both_strands:
        n = X.shape[0]
        attr = (attr[:n] + reverse_complement(attr[n:])) / 2
    return attr.numpy().astype(np.float32)


def check_flank(argument: str, flank: int | None, length: int | None) -> int:
    """Validate the bases drawn on each side of a variant; ``None`` gives 20 (or what fits).

    Parameters
    ----------
    argument : str
        Name used in the error message.
    flank : int or None
    length : int or None
        Window length; ``flank`` must leave ``centre ± flank`` inside it (at most
        ``min(length // 2, length - length // 2 - 1)``).

    Returns
    -------
    int
    """
    limit = None if length is None else min(length // 2, length - length // 2 - 1)
    if flank is None:
        return 20 if limit is None else max(1, min(20, limit))
    if isinstance(flank, bool) or not isinstance(flank, (int, np.integer)) or flank < 1:
        raise ValueError(f"{argument} must be a positive number of bases, got {flank!r}")
    if limit is not None and flank > limit:
        raise ValueError(
            f"{argument}={flank} does not fit in the {length}-base window around the variant; "
            f"use at most {limit}"
        )
    return int(flank)


def variant_attributions(
    model,
    genome,
    variants: pd.DataFrame | str | os.PathLike,
    *,
    top: int = 20,
    task: str | None = None,
    method: Literal["ism", "deepliftshap", "saliency", "ixg", "ig"] = "ism",
    flank: int | None = None,
    length: int | None = None,
    kind: Literal["binary", "regression", "profile"] | None = None,
    task_names: Sequence[str] | None = None,
    both_strands: bool = True,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = 0,
    verbose: bool = False,
    **options: Any,
) -> VariantAttributions:
    """Reference, alternative and difference attribution maps of the variants with the largest effects.

    Parameters
    ----------
    model : torch.nn.Module or genodeep.zoo.Package
        The model the variants were scored with (see :func:`genodeep.workflows.variants.score_variants`).
    genome : genodeep.io.Genome or path
        The reference genome the variants were scored against.
    variants : pandas.DataFrame or path
        The table returned by ``score_variants``, its ``.tsv[.gz]``/``.parquet`` output, or a VCF
        (``.vcf[.gz]``), which is scored first.
    top : int, default 20
        Number of variants explained, largest absolute effect first.
    task : str, optional
        Rank on ``|TASK.diff|`` and explain that task's output. By default variants are ranked on
        ``max_abs_diff`` and each is explained for its own ``max_task`` (one attribution call per
        distinct task).
    method : {"ism", "deepliftshap", "saliency", "ixg", "ig"}, default "ism"
        Attribution method (:func:`genodeep.interpret.attribute`); ``options`` go to it.
    flank : int, optional
        Bases on each side of the variant drawn by the logos (:func:`plot_variant_logos`) and summed in
        ``attr_delta_flank`` (default 20, fewer when the window is shorter than 41 bases).
    length, kind, task_names
        As in ``score_variants`` (by default from the package).
    both_strands : bool, default True
        Average the maps of the window and of its reverse complement (mapped back), as scoring
        averages both strands.
    batch_size, device, dtype, random_state, verbose
        Passed to :func:`genodeep.interpret.attribute` (``random_state`` seeds the shuffled references
        of ``deepliftshap``).

    Returns
    -------
    VariantAttributions
        ``table`` (N rows), ``ref``, ``alt``, ``delta`` (N, 4, L), ``X_ref``, ``X_alt``, ``center``,
        ``flank``, ``method``.
    """
    check_choice("method", method, _METHODS)
    if flank is not None:
        check_flank("flank", flank, None)
    source = None
    if not isinstance(variants, pd.DataFrame):
        source = variants
        variants = _read_variants(model, genome, variants, length, kind, task_names, both_strands)
    sel = top_variants(variants, top=top, task=task)
    tasks = _table_tasks(variants)
    model, names, X_ref, X_alt, length = _windows(
        model, genome, sel, length, kind, task_names, source
    )
    center = length // 2
    flank = check_flank("flank", flank, length)
    explained = [task] * len(sel) if task is not None else sel["max_task"].astype(str).tolist()
    kw = dict(
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        random_state=random_state,
        verbose=verbose,
    )
    kw.update(options)
    n = len(sel)
    ref = np.zeros(X_ref.shape, dtype=np.float32)
    alt = np.zeros(X_alt.shape, dtype=np.float32)
    for t in dict.fromkeys(explained):
        rows = np.flatnonzero(np.asarray(explained) == t)
        target = tasks.index(t)
        maps = _explain(
            model, np.concatenate([X_ref[rows], X_alt[rows]]), target, both_strands, method, kw
        )
        ref[rows], alt[rows] = maps[: len(rows)], maps[len(rows) :]
    ref_len = sel["ref"].str.len().to_numpy()
    alt_len = sel["alt"].str.len().to_numpy()
    delta = (
        np.stack(
            [align_to_reference(alt[i], center, ref_len[i], alt_len[i]) - ref[i] for i in range(n)]
        )
        if n
        else np.zeros_like(ref)
    )
    lo, hi = center - flank, center + flank + 1
    sel["attr_task"] = explained
    sel["attr_ref_variant"] = [
        float(ref[i, :, center : center + ref_len[i]].sum()) for i in range(n)
    ]
    sel["attr_alt_variant"] = [
        float(alt[i, :, center : center + alt_len[i]].sum()) for i in range(n)
    ]
    sel["attr_delta_flank"] = delta[:, :, lo:hi].sum(axis=(1, 2)).astype(float)
    return VariantAttributions(sel, ref, alt, delta, X_ref, X_alt, center, int(flank), method)


def _read_variants(model, genome, path, length, kind, task_names, both_strands) -> pd.DataFrame:
    name = os.fspath(path).lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        chunks = iter_scores(
            model,
            genome,
            path,
            length=length,
            kind=kind,
            task_names=task_names,
            both_strands=both_strands,
        )
        return _finish(pd.concat(list(chunks), ignore_index=True))
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    raise ValueError(
        f"variants={os.fspath(path)!r}: give the table returned by score_variants, its .tsv/.parquet "
        "output, or a .vcf/.vcf.gz file"
    )


# ------------------------------------------------------------------------------------------------
# writing


def plot_variant_logos(result: VariantAttributions, i: int, *, flank: int | None = None):
    """Stacked logos (reference, alternative, alt - ref) around variant ``i``.

    Parameters
    ----------
    result : VariantAttributions
    i : int
        Row of ``result.table``.
    flank : int, optional
        Bases drawn on each side (default ``result.flank``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    flank = result.flank if flank is None else int(flank)
    row = result.table.iloc[i]
    c = result.center
    lo, hi = c - flank, c + flank + 1
    lr, la = len(str(row["ref"])), len(str(row["alt"]))
    fig = Figure(figsize=(min(24.0, max(6.0, 0.2 * (hi - lo) + 1.5)), 6.2))
    axes = fig.subplots(3, 1, sharex=True)
    ref, alt, delta = result.ref[i], result.alt[i], result.delta[i]
    both = np.concatenate([ref[:, lo:hi], alt[:, lo:hi]], axis=1)
    ylim = (1.1 * min(0.0, float(both.min())), 1.1 * max(float(both.max()), 1e-9))
    panels = [
        (ref, (c, c + lr), f"reference ({row['ref']})"),
        (alt, (c, c + la), f"alternative ({row['alt']})"),
        (delta, (c, c + lr), "alternative - reference"),
    ]
    for ax, (arr, region, title) in zip(axes, panels):
        plot_attribution_logo(arr, ax, start=lo, end=hi, highlight=region, title=None)
        ax.set_title(title, fontsize=9, loc="left")
        if arr is not delta:  # one scale for both alleles
            ax.set_ylim(*ylim)
    step = 5 if flank <= 30 else 10
    offsets = np.arange(-(flank // step) * step, flank + 1, step)
    axes[-1].set_xticks(offsets + c - lo)
    axes[-1].set_xticklabels([f"{o:+d}" if o else "0" for o in offsets])
    axes[-1].set_xlabel("position relative to the variant (bases)")
    task = row.get("attr_task", "")
    effect = row.get(f"{task}.diff", np.nan)
    fig.suptitle(
        f"#{int(row['rank'])} {row['chrom']}:{int(row['pos'])} {row['ref']}>{row['alt']}  "
        f"task {task}, effect {float(effect):+.3g}  ({result.method})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
