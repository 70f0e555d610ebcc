"""``genodeep design``: designed sequences to files, with the oracle check and attribution logos.

Writes into ``out``: ``designs.fa``, ``designs.tsv`` (one row per design, see
:class:`~genodeep.seqdesign.api.DesignResult`), ``history.tsv``, ``summary.json``, ``summary.md`` and
``plots/``: the objective over rounds and, for the best designs, DeepLIFT/SHAP logos of the seed and the
design on the first objective term's task (edited positions shaded).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from genodeep._io_utils import atomic_write
from genodeep.interpret.api import attribute
from genodeep.interpret.plots import plot_attribution_logo
from genodeep.io.fasta import write_fasta
from genodeep.seqdesign.api import DesignResult, design, load_models
from genodeep.workflows.interpret import load_sequences
from genodeep.workflows.tables import markdown_table

__all__ = ["design_to_files", "plot_design_logos"]


def design_to_files(
    model,
    out_dir: str | os.PathLike,
    *,
    seeds: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
    natural: str | os.PathLike | None = None,
    oracle=None,
    top: int = 3,
    verbose: bool = True,
    **options: Any,
) -> DesignResult:
    """Run :func:`genodeep.seqdesign.design` and write its files.

    Parameters
    ----------
    model : path, zoo name or list of them
        Design model package(s).
    out_dir : path
    seeds : path, optional
        FASTA of seeds of the model's length, or BED intervals with ``genome``; default random seeds.
    genome : path, optional
        Genome FASTA for BED seeds / natural sequences.
    natural : path, optional
        FASTA or BED of natural sequences for the oracle comparison (default: the seeds).
    oracle : path, zoo name or list of them, optional
        Independent model(s) scoring designs, seeds and natural sequences.
    top : int, default 3
        Best designs whose attribution logos are drawn.
    verbose : bool, default True
    **options
        Keyword arguments of :func:`genodeep.seqdesign.design`.

    Returns
    -------
    DesignResult
    """
    pkgs = load_models(model)
    length = pkgs[0].spec.input_length or options.get("length")
    X = load_sequences(seeds, genome=genome, length=length)[0] if seeds is not None else None
    nat = load_sequences(natural, genome=genome, length=length)[0] if natural is not None else None
    res = design(pkgs, X, oracle=oracle, natural=nat, verbose=verbose, **options)
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_fasta(out / "designs.fa", dict(zip(res.table["id"], res.table["sequence"], strict=True)))
    with atomic_write(out / "designs.tsv") as fh:
        res.table.to_csv(fh, sep="\t", index=False, float_format="%.5g")
    with atomic_write(out / "history.tsv") as fh:
        res.history.to_csv(fh, sep="\t", index=False, float_format="%.5g")
    with atomic_write(out / "summary.json") as fh:
        json.dump(res.summary, fh, indent=2)
    _plot_history(res, out / "plots" / "history.png")
    logos = plot_design_logos(pkgs[0].model, res, out / "plots", seeds=res.seeds, top=top)
    with atomic_write(out / "summary.md") as fh:
        fh.write(summary_markdown(res, logos))
    if verbose:
        print(summary_markdown(res, []).split("\n## ")[0], flush=True)
    return res


def plot_design_logos(
    model: torch.nn.Module,
    res: DesignResult,
    folder: Path,
    *,
    seeds: torch.Tensor | None = None,
    top: int = 3,
    window: int = 80,
) -> list[str]:
    """DeepLIFT/SHAP logos of the ``top`` designs (and their seeds) on the first term's task.

    The window of ``window`` bases is centred on the edits (on the largest attribution for a GAN design).
    Returns the file names written into ``folder``.
    """
    order = res.table.sort_values("objective", ascending=False).index[: max(0, int(top))].tolist()
    if not order:
        return []
    task = int(res.summary["first_task"])
    rows = torch.tensor(order)
    Xd = res.X[rows]
    att = attribute(model, Xd, method="deepliftshap", target=task, random_state=0).attributions
    att_s = None
    if seeds is not None:
        att_s = attribute(model, seeds[rows], method="deepliftshap", target=task, random_state=0)
        att_s = att_s.attributions
    names = []
    length = Xd.shape[2]
    for j, i in enumerate(order):
        if seeds is not None:
            edited = (Xd[j] != seeds[i]).any(0).nonzero().squeeze(1)
        else:
            edited = torch.empty(0, dtype=torch.long)
        centre = int(edited.float().median()) if len(edited) else int(att[j].abs().sum(0).argmax())
        s = max(0, min(centre - window // 2, length - window))
        e = min(length, s + window)
        panels = 2 if att_s is not None else 1
        fig = Figure(figsize=(max(6, (e - s) / 8), 2.2 * panels))
        axes = fig.subplots(panels, 1, squeeze=False)
        marks = [(p, p + 1) for p in edited.tolist()]
        if att_s is not None:
            plot_attribution_logo(
                att_s[j],
                axes[0, 0],
                start=s,
                end=e,
                highlight=marks or None,
                title=f"seed of {res.table.at[i, 'id']}",
            )
        plot_attribution_logo(
            att[j],
            axes[-1, 0],
            start=s,
            end=e,
            highlight=marks or None,
            title=f"{res.table.at[i, 'id']}: objective {res.table.at[i, 'objective']:.3g}"
            + (f", {len(edited)} edits shaded" if len(edited) else ""),
        )
        fig.tight_layout()
        name = f"logo_{res.table.at[i, 'id']}.png"
        fig.savefig(folder / name, dpi=110)
        names.append(name)
    return names


def _plot_history(res: DesignResult, path: Path) -> None:
    h = res.history
    x = "step" if "step" in h else "round"  # gradient steps; evolve and GAN rounds
    y = "mean_objective" if "mean_objective" in h else "mean_generated"  # the GAN's samples
    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    ax.plot(h[x], h[y], marker="o", ms=3)
    ax.set_xlabel(x)
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(f"{res.summary['method']}: {', '.join(res.summary['objective'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary_markdown(res: DesignResult, logos: list[str]) -> str:
    """The summary as Markdown: settings, the oracle check, the best designs, the logos."""
    s = res.summary
    lines = [
        f"# Designs ({s['method']})",
        "",
        f"- objective: {', '.join(s['objective'])} ({s['models']} design model(s))"
        + (
            f", minus {s['disagreement_weight']:g} x their SD (mean SD of designs "
            f"{s['mean_objective_sd']:.3g})"
            if s.get("disagreement_weight")
            else ""
        ),
        f"- constraints: {s['constraints']}",
        f"- {s['designs']} designs in {s['seconds']:.1f} s ({s['designs_per_minute']:.3g} per minute)",
        f"- mean objective: {s['mean_objective']:.4g}"
        + (
            f" (seeds {s['mean_seed_objective']:.4g}, {s['mean_edits']:.1f} edits)"
            if "mean_edits" in s
            else ""
        ),
    ]
    o = s.get("oracle")
    if o:
        lines += [
            "",
            "## Oracle check",
            "",
            "| | oracle objective |",
            "|---|---|",
            f"| designs (mean) | {o['designs_mean']:.4g} |",
        ]
        if "seeds_mean" in o:
            lines.append(f"| their seeds (mean) | {o['seeds_mean']:.4g} |")
        if "natural_max" in o:
            lines += [
                f"| natural sequences (mean of {o['natural_n']}) | {o['natural_mean']:.4g} |",
                f"| natural, top 1 % | {o['natural_top1pct_mean']:.4g} |",
                f"| natural, best | {o['natural_max']:.4g} |",
            ]
            lines += [
                "",
                f"{100 * o['designs_above_natural_max']:.0f} % of designs score above the best "
                "natural sequence in the oracle's eyes.",
            ]
        if "designs_better_than_seed" in o:
            lines.append(
                f"{100 * o['designs_better_than_seed']:.0f} % of designs beat their seed by the oracle."
            )
    cols = [c for c in res.table.columns if c not in ("sequence", "valid")]
    best = res.table.sort_values("objective", ascending=False).head(10)[cols]
    lines += ["", "## Best designs", "", markdown_table(best, floatfmt=".4g")]
    if logos:
        lines += ["", "## Attributions (DeepLIFT/SHAP)", ""] + [f"![{n}](plots/{n})" for n in logos]
    return "\n".join(lines) + "\n"
