"""Do predicted variant effects concentrate on motif bases? A check of a model against known biology.

Score every SNV in a set of windows (:func:`genodeep.workflows.variants.score_variants`), find the
motif hits in the same windows (:func:`window_motif_hits`, FIMO-like), and
:func:`effect_concentration` reports the fraction of the total ``|effect|`` that falls on bases covered
by a hit against the fraction of bases the hits cover. Their ratio is the enrichment (1 when effects ignore the motifs). Its p-value comes
from circular shifts: within every window the motif mask is rotated by a random offset (keeping the
number, widths and spacing of the hits), independently per window, and the p-value is the fraction of
shifts whose effect fraction is at least the observed one, ``(1 + #{null >= observed}) / (1 + n)``.
The effect of a base is the sum of ``|effect|`` over the SNVs scored at it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from genodeep._validate import check_choice
from genodeep.io import Genome
from genodeep.motifs.logo import save_figure
from genodeep.motifs.scan import scan

__all__ = [
    "EffectConcentration",
    "effect_concentration",
    "plot_effect_concentration",
    "save_effect_concentration_plot",
    "window_motif_hits",
]

_SCORED = ("ok", "ref_mismatch")


@dataclass
class EffectConcentration:
    """What :func:`effect_concentration` returns.

    Attributes
    ----------
    fraction_effect : float
        Share of the total ``|effect|`` on bases covered by motif hits.
    fraction_bases : float
        Share of the scanned bases covered by motif hits.
    enrichment : float
        ``fraction_effect / fraction_bases`` (NaN when no base is covered).
    expected_fraction : float
        Mean ``fraction_effect`` under the circular shifts: every window's ``|effect|`` times the
        share of its bases in hits. It differs from ``fraction_bases`` when windows with hits carry
        more or less effect than the others.
    shift_enrichment : float
        ``fraction_effect / expected_fraction``: the enrichment within windows, the one the p-value
        tests.
    p_value : float
        One-sided circular-shift p-value of ``fraction_effect``.
    null : np.ndarray, shape (n_permutations,)
        ``fraction_effect`` of every shifted mask.
    n_windows, n_bases, n_variants : int
        Windows, scanned bases (with at least one scored SNV) and SNVs used.
    column : str
        The effect column read.
    profile : pandas.DataFrame
        One row per window base: ``window``, ``chrom``, ``pos`` (1-based), ``abs_effect``,
        ``scanned`` and ``in_motif``.
    hits : pandas.DataFrame
        The motif hits used (``chrom``, ``start``, ``end`` 0-based half-open, ...).
    """

    fraction_effect: float
    fraction_bases: float
    enrichment: float
    expected_fraction: float
    shift_enrichment: float
    p_value: float
    null: np.ndarray
    n_windows: int
    n_bases: int
    n_variants: int
    column: str
    profile: pd.DataFrame
    hits: pd.DataFrame

    def statement(self, motif: str = "motif") -> str:
        """One sentence with the numbers, e.g. for a report."""
        if not self.fraction_bases > 0:
            return (
                f"no {motif} hit in the {self.n_windows} windows ({self.n_variants:,} SNVs): the "
                "concentration is undefined"
            )
        return (
            f"{100 * self.fraction_effect:.1f}% of the total |effect| falls on the "
            f"{100 * self.fraction_bases:.1f}% of bases inside {motif} hits: enrichment "
            f"{self.enrichment:.2f} (within windows {self.shift_enrichment:.2f}), circular-shift "
            f"p = {_fmt_p(self.p_value, len(self.null))} "
            f"({self.n_variants:,} SNVs at {self.n_bases:,} bases in {self.n_windows} windows)"
        )


def _fmt_p(p: float, n: int) -> str:
    floor = 1 / (1 + n)
    return f"{p:.2g}" if p > floor else f"{p:.2g} (the smallest possible with {n:,} shifts)"


def _check_frame(name: str, df, columns: tuple[str, ...], fix: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}; {fix}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}; {fix}")


def _snv_effects(table: pd.DataFrame, task: str | None, effect: str) -> tuple[pd.DataFrame, str]:
    """Summed |effect| per scored SNV base: columns chrom, pos, abs_effect, n."""
    _check_frame(
        "table",
        table,
        ("chrom", "pos", "ref", "alt", "status"),
        "pass the table returned by score_variants",
    )
    if task is None and effect != "diff":
        raise ValueError(
            f"effect={effect!r} needs a task (task=...); without one max_abs_diff is used"
        )
    col = "max_abs_diff" if task is None else f"{task}.{effect}"
    if col not in table.columns:
        tasks = [c[: -len(".diff")] for c in table.columns if c.endswith(".diff")]
        raise ValueError(
            f"task={task!r}, effect={effect!r}: the table has no column {col!r}; valid tasks: "
            f"{', '.join(tasks) or 'none'} (effect 'logodds' exists for binary models only)"
        )
    snv = (table["ref"].astype(str).str.len() == 1) & (table["alt"].astype(str).str.len() == 1)
    eff = np.abs(pd.to_numeric(table[col], errors="coerce"))
    keep = snv & table["status"].isin(_SCORED) & np.isfinite(eff)
    if not keep.any():
        raise ValueError("the table holds no scored SNV; score all SNVs of the windows first")
    df = pd.DataFrame(
        {"chrom": table["chrom"].astype(str)[keep], "pos": table["pos"][keep].astype(np.int64)}
    )
    df["abs_effect"] = eff[keep].to_numpy(dtype=float)
    per_base = df.groupby(["chrom", "pos"], sort=True)["abs_effect"].agg(["sum", "size"])
    per_base = per_base.rename(columns={"sum": "abs_effect", "size": "n"}).reset_index()
    return per_base, col


def _infer_windows(bases: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive scanned positions -> windows (chrom, start, end; 0-based half-open)."""
    rows = []
    for chrom, g in bases.groupby("chrom", sort=False):
        pos = np.sort(g["pos"].to_numpy()) - 1
        breaks = np.flatnonzero(np.diff(pos) > 1)
        starts = np.concatenate([[0], breaks + 1])
        ends = np.concatenate([breaks, [len(pos) - 1]])
        rows += [(chrom, int(pos[s]), int(pos[e]) + 1) for s, e in zip(starts, ends)]
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def _shift_sums(effect: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``out[k] = sum_i effect[i] * mask[(i - k) % n]``: covered effect for every rotation k, (n,)."""
    n = len(effect)
    idx = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n
    return (mask[idx] * effect[None, :]).sum(axis=1)


def effect_concentration(
    table: pd.DataFrame,
    hits: pd.DataFrame,
    *,
    task: str | None = None,
    effect: Literal["diff", "logodds", "logfc"] = "diff",
    windows: pd.DataFrame | None = None,
    n_permutations: int = 10_000,
    random_state: int | None = 0,
) -> EffectConcentration:
    """Fraction of the total SNV ``|effect|`` on motif bases vs the fraction of bases in motifs.

    Parameters
    ----------
    table : pandas.DataFrame
        Scored variants (:func:`genodeep.workflows.variants.score_variants`); only scored SNVs are used.
    hits : pandas.DataFrame
        Motif hits with ``chrom``, ``start``, ``end`` (0-based, end exclusive, genome coordinates), e.g.
        from :func:`window_motif_hits`.
    task : str, optional
        Use ``|TASK.EFFECT|``; by default ``max_abs_diff``.
    effect : {"diff", "logodds", "logfc"}, default "diff"
        Which effect column of ``task`` (``logodds``: binary models; it does not shrink with the
        reference probability as ``diff`` does).
    windows : pandas.DataFrame, optional
        ``chrom``, ``start``, ``end`` of the scanned windows (the unit of the circular shifts); by
        default the runs of consecutive positions that carry scored SNVs.
    n_permutations : int, default 10000
        Circular shifts drawn for the p-value.
    random_state : int, optional
        Seed of the shifts.

    Returns
    -------
    EffectConcentration
    """
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)):
        raise TypeError(f"n_permutations must be an integer, got {n_permutations!r}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    check_choice("effect", effect, ("diff", "logodds", "logfc"))
    bases, col = _snv_effects(table, task, effect)
    _check_frame(
        "hits",
        hits,
        ("chrom", "start", "end"),
        "give motif hits in genome coordinates (window_motif_hits returns them)",
    )
    if windows is None:
        windows = _infer_windows(bases)
    else:
        _check_frame("windows", windows, ("chrom", "start", "end"), "give chrom, start, end")
    lookup = {
        (c, p): (e, n)
        for c, p, e, n in bases[["chrom", "pos", "abs_effect", "n"]].itertuples(index=False)
    }
    hit_by_chrom = {c: g[["start", "end"]].to_numpy() for c, g in hits.groupby("chrom")}
    profiles, shifts, expected = [], [], 0.0
    for w, (chrom, start, end) in enumerate(
        windows[["chrom", "start", "end"]].itertuples(index=False)
    ):
        pos = np.arange(int(start), int(end)) + 1  # 1-based
        got = [lookup.get((str(chrom), int(p))) for p in pos]
        effect = np.array([g[0] if g else 0.0 for g in got])
        scanned = np.array([g is not None for g in got])
        mask = np.zeros(len(pos), dtype=bool)
        for s, e in hit_by_chrom.get(str(chrom), np.zeros((0, 2), dtype=int)):
            mask[max(0, int(s) - int(start)) : max(0, int(e) - int(start))] = True
        mask &= scanned  # bases without a score are not counted as covered
        profiles.append(
            pd.DataFrame(
                {
                    "window": w,
                    "chrom": chrom,
                    "pos": pos,
                    "abs_effect": effect,
                    "scanned": scanned,
                    "in_motif": mask,
                }
            )
        )
        shifts.append(_shift_sums(effect, mask.astype(float)))
        expected += effect.sum() * mask.mean() if len(mask) else 0.0
    profile = pd.concat(profiles, ignore_index=True)
    total = float(profile["abs_effect"].sum())
    if not total > 0:
        raise ValueError("every scored SNV has zero effect; the concentration is undefined")
    n_bases = int(profile["scanned"].sum())
    frac_bases = float(profile["in_motif"].sum()) / n_bases
    observed = float(profile.loc[profile["in_motif"], "abs_effect"].sum()) / total
    rng = np.random.default_rng(random_state)
    null = np.zeros(int(n_permutations))
    for s in shifts:
        null += s[rng.integers(0, len(s), size=int(n_permutations))]
    null /= total
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + int(n_permutations))
    enrichment = observed / frac_bases if frac_bases > 0 else float("nan")
    expected /= total
    return EffectConcentration(
        fraction_effect=observed,
        fraction_bases=frac_bases,
        enrichment=enrichment,
        expected_fraction=expected,
        shift_enrichment=observed / expected if expected > 0 else float("nan"),
        p_value=p,
        null=null,
        n_windows=len(windows),
        n_bases=n_bases,
        n_variants=int(bases["n"].sum()),
        column=col,
        profile=profile,
        hits=hits.reset_index(drop=True),
    )


def window_motif_hits(
    genome,
    windows: pd.DataFrame,
    motifs: Mapping[str, np.ndarray],
    *,
    threshold: float = 1e-4,
    **scan_options,
) -> pd.DataFrame:
    """Motif hits inside genome windows, in genome coordinates.

    Parameters
    ----------
    genome : genodeep.io.Genome or path
    windows : pandas.DataFrame
        ``chrom``, ``start``, ``end`` (0-based half-open).
    motifs : mapping name -> array (4, w)
        Probability matrices, e.g. entries of :func:`genodeep.io.read_motifs`.
    threshold : float
        p-value threshold of :func:`genodeep.motifs.scan.scan` (FIMO's 1e-4 by default).
    **scan_options
        Other keywords of ``scan`` (``background``, ``pseudocount``, ...).

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``start``, ``end`` (genome, 0-based half-open, clipped to the window), ``window``
        (row of ``windows``), ``motif``, ``strand``, ``score``, ``p_value``.
    """
    _check_frame("windows", windows, ("chrom", "start", "end"), "give chrom, start, end")
    if not hasattr(genome, "one_hot"):
        genome = Genome(genome)
    starts = windows["start"].to_numpy(dtype=np.int64)
    widths = windows["end"].to_numpy(dtype=np.int64) - starts
    if len(windows) == 0 or widths.min() < 1:
        raise ValueError("windows must be a non-empty table of intervals with end > start")
    X = genome.one_hot(windows["chrom"].astype(str).tolist(), starts, int(widths.max()))
    for i, w in enumerate(widths):  # windows shorter than the longest: hide the extra bases
        X[i, :, w:] = 0
    hits = scan(X, motifs, threshold=threshold, **scan_options)
    hits = hits.rename(columns={"seq": "window"})
    offset = starts[hits["window"].to_numpy()]
    return pd.DataFrame(
        {
            "chrom": windows["chrom"].astype(str).to_numpy()[hits["window"].to_numpy()],
            "start": hits["start"].to_numpy() + offset,
            "end": hits["end"].to_numpy() + offset,
            "window": hits["window"].to_numpy(),
            "motif": hits["motif"].to_numpy(),
            "strand": hits["strand"].to_numpy(),
            "score": hits["score"].to_numpy(),
            "p_value": hits["p_value"].to_numpy(),
        }
    )


def plot_effect_concentration(
    result: EffectConcentration,
    *,
    max_windows: int = 8,
    motif: str = "motif",
    title: str | None = None,
):
    """``|effect|`` along each window (bars: summed over the 3 SNVs of a base), motif hits shaded.

    Parameters
    ----------
    result : EffectConcentration
    max_windows : int
        Windows drawn (the first ones).
    motif : str
        Name of the motif in the legend and the title.
    title : str, optional
        Figure title (default: the result's statement).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    prof = result.profile
    shown = list(dict.fromkeys(prof["window"]))[: max(1, int(max_windows))]
    n = len(shown)
    fig = Figure(figsize=(9.0, 0.35 + 1.25 * n + 0.6))
    axes = np.atleast_1d(fig.subplots(n, 1, sharey=True, squeeze=False)[:, 0])
    for ax, w in zip(axes, shown):
        g = prof[prof["window"] == w]
        x = np.arange(len(g))
        inside = g["in_motif"].to_numpy()
        for s, e in _runs(inside):
            ax.axvspan(s - 0.5, e - 0.5, color="#f2d98c", alpha=0.8, lw=0, zorder=0)
        ax.bar(
            x,
            g["abs_effect"].to_numpy(),
            width=0.9,
            color=np.where(inside, "#b2182b", "0.35"),
            zorder=2,
        )
        first = int(g["pos"].iloc[0])
        ax.set_title(
            f"{g['chrom'].iloc[0]}:{first:,}-{int(g['pos'].iloc[-1]):,}", fontsize=8, loc="left"
        )
        ax.set_xlim(-0.5, len(g) - 0.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("position in the window (bases)")
    axes[n // 2].set_ylabel("sum |effect| of the SNVs at a base", fontsize=8)
    axes[0].legend(
        handles=[
            Patch(color="#f2d98c", label=f"{motif} hit"),
            Patch(color="#b2182b", label="base in a hit"),
        ],
        fontsize=7,
        frameon=False,
        loc="upper right",
    )
    text = title or result.statement(motif)
    fig.suptitle(
        text if len(text) < 110 else text.replace(": enrichment", ":\nenrichment"), fontsize=9
    )
    fig.tight_layout()
    return fig


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the runs of True in a boolean vector."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def save_effect_concentration_plot(
    path: str | os.PathLike, result: EffectConcentration, *, dpi: int = 120, **kwargs
) -> str:
    """:func:`plot_effect_concentration` written to a PNG file, atomically. Returns the path."""
    return save_figure(plot_effect_concentration(result, **kwargs), path, dpi=dpi)
