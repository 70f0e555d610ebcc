"""Run a demonstration of :mod:`genodeep.workflows.showcase` and write its table, plot and claim check.

:func:`showcase_to_files` runs one of :data:`SHOWCASES` and writes ``NAME.tsv`` (the table),
``NAME.md`` (settings, table and the claim line) and ``NAME.png`` into ``out_dir``:

- ``multimodal``: a bar chart of test auROC/auPRC per input set (sequence + track, sequence, track);
- ``transfer``: the learning curve, fine-tuned/frozen pretrained trunk vs scratch over training-set size;
- ``graph``: a bar chart of the GCN vs the same layers without the graph.

``quick=True`` shrinks each to a few seconds on 2 CPU cores (all three in about 10 s) for demos;
keyword arguments override the sizes either way.

>>> res = showcase_to_files("multimodal", "runs/multimodal", quick=True)
>>> res.claim["message"], res.png
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_path, atomic_write
from genodeep._progress import log
from genodeep._validate import check_choice
from genodeep.workflows import showcase
from genodeep.workflows.showcase import plot_learning_curve
from genodeep.workflows.tables import markdown_table

__all__ = [
    "SHOWCASES",
    "QUICK_SETTINGS",
    "ShowcaseFiles",
    "showcase_to_files",
    "showcase_claim",
    "multimodal_claim",
    "transfer_claim",
    "gcn_claim",
    "write_showcase_results",
    "plot_multimodal",
    "plot_gcn",
]

#: demonstration name (also the CLI's ``genodeep experiment NAME``) -> showcase function name
SHOWCASES = {
    "multimodal": "multimodal_showcase",
    "transfer": "transfer_showcase",
    "graph": "gcn_showcase",
}

#: the ``quick=True`` sizes (a few seconds each on 2 CPU cores); explicit keyword arguments win
QUICK_SETTINGS: dict[str, dict[str, Any]] = {
    "multimodal": {"n": 1000, "length": 100, "max_epochs": 15},
    "transfer": {
        "motifs": ("MA0533.1", "MA0531.2", "MA0106.3", "MA0460.1"),
        "sizes": (100, 300),
        "n_pretrain": 1500,
        "n_test": 400,
        "length": 120,
        "filters": 32,
        "pretrain_epochs": 15,
        "max_epochs": 30,
    },
    "graph": {"n_nodes": 600},
}

#: the size argument each showcase takes for ``n`` (the CLI's ``--n``)
SIZE_ARGUMENT = {"multimodal": "n", "transfer": "n_pretrain", "graph": "n_nodes"}


@dataclass
class ShowcaseFiles:
    """What :func:`showcase_to_files` ran and wrote.

    Attributes
    ----------
    name : str
        The demonstration (a key of :data:`SHOWCASES`, or ``"spacing"`` from
        :func:`genodeep.workflows.experiment.experiment_to_files`).
    table : pandas.DataFrame
        The showcase's table (``attrs`` include ``claim``, ``settings`` and ``seconds``).
    tsv, md, png : Path
        The written files.
    claim : dict
        ``holds`` (bool), ``message`` (one sentence) and the numbers behind it.
    seconds : float
        Run time of the demonstration (training and scoring, not writing).
    """

    name: str
    table: pd.DataFrame
    tsv: Path
    md: Path
    png: Path
    claim: dict[str, Any] = field(default_factory=dict)
    seconds: float = float("nan")

    @property
    def holds(self) -> bool:
        """Whether the claim check holds."""
        return bool(self.claim.get("holds", False))

    @property
    def message(self) -> str:
        """The claim check as one sentence."""
        return str(self.claim.get("message", ""))

    @property
    def paths(self) -> dict[str, Path]:
        """``{"tsv": ..., "md": ..., "png": ...}``."""
        return {"tsv": self.tsv, "md": self.md, "png": self.png}


def showcase_to_files(
    name: str,
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    random_state: int = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> ShowcaseFiles:
    """Run the demonstration ``name``; write ``NAME.tsv``, ``NAME.md`` and ``NAME.png`` in ``out_dir``.

    Parameters
    ----------
    name : {"multimodal", "transfer", "graph"}
        :func:`~genodeep.workflows.showcase.multimodal_showcase`,
        :func:`~genodeep.workflows.showcase.transfer_showcase` or
        :func:`~genodeep.workflows.showcase.gcn_showcase`.
    out_dir : path
        Output folder (created).
    quick : bool, default False
        Start from :data:`QUICK_SETTINGS` (smaller data and fewer epochs: seconds instead of tens of
        seconds) instead of the showcase's defaults.
    random_state : int
        Seed of the simulation, the splits and the initialisations.
    verbose : bool
        Progress bars and status lines.
    **kwargs
        Keyword arguments of the showcase function (e.g. ``n=2000`` for multimodal, ``sizes=(100, 500)``
        for transfer, ``n_nodes=1000`` for graph); they override the quick settings.

    Returns
    -------
    ShowcaseFiles
        The table, the three paths and the claim check (``.claim["message"]``, ``.holds``).
    """
    check_choice("name", name, SHOWCASES)
    settings = {**(QUICK_SETTINGS[name] if quick else {}), **kwargs}
    func = getattr(showcase, SHOWCASES[name])
    t0 = time.perf_counter()
    table = func(random_state=random_state, verbose=verbose, **settings)
    seconds = time.perf_counter() - t0
    table.attrs["claim"] = claim = showcase_claim(name, table)
    table.attrs["settings"] = {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
        "quick": bool(quick),
        "random_state": random_state,
    }
    table.attrs["seconds"] = seconds
    if verbose:
        log(f"{name}: {claim['message']} ({seconds:.1f} s)")
    paths = write_showcase_results(name, table, out_dir)
    return ShowcaseFiles(name=name, table=table, claim=claim, seconds=seconds, **paths)


# --------------------------------------------------------------------------------------------------
# claim checks


def _verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def _beats(holds: bool) -> str:
    return "beats" if holds else "does not clearly beat"


def multimodal_claim(table: pd.DataFrame, *, min_margin: float = 0.05) -> dict[str, Any]:
    """Sequence + track beats either input alone: best fused auROC >= best single-input + ``min_margin``.

    Returns
    -------
    dict
        ``holds``, ``multimodal_auroc`` (best fused model), ``sequence_auroc``, ``track_auroc``,
        ``margin``, ``message``.
    """
    by_inputs = table.groupby("inputs")["auroc"].max()
    fused = float(by_inputs.get("sequence + track", np.nan))
    seq = float(by_inputs.get("sequence", np.nan))
    track = float(by_inputs.get("track", np.nan))
    margin = fused - float(np.nanmax([seq, track]))
    holds = bool(margin >= min_margin - 1e-9)
    message = (
        f"multimodal auROC {fused:.3f} {_beats(holds)} sequence-only {seq:.3f} and track-only "
        f"{track:.3f} (margin {margin:+.3f}, target >= {min_margin}): {_verdict(holds)}"
    )
    return {
        "holds": holds,
        "multimodal_auroc": fused,
        "sequence_auroc": seq,
        "track_auroc": track,
        "margin": margin,
        "message": message,
    }


def transfer_claim(table: pd.DataFrame, *, min_margin: float = 0.05) -> dict[str, Any]:
    """Fine-tuning beats training from scratch by >= ``min_margin`` auROC at every training-set size.

    Returns
    -------
    dict
        ``holds``, ``sizes``, ``fine_tune_auroc`` and ``scratch_auroc`` (lists over the sizes),
        ``min_margin_seen`` (smallest fine-tune - scratch difference), ``message``.
    """
    wide = table.pivot(index="n_train", columns="method", values="auroc").sort_index()
    sizes = [int(s) for s in wide.index]
    ft = [float(v) for v in wide["fine-tune"]]
    sc = [float(v) for v in wide["scratch"]]
    seen = float(np.min(np.subtract(ft, sc))) if sizes else float("nan")
    holds = bool(sizes) and bool(seen >= min_margin - 1e-9)

    def fmt(values):
        return "/".join(f"{v:.2f}" for v in values)

    message = (
        f"fine-tuned auROC {fmt(ft)} {_beats(holds)} from-scratch {fmt(sc)} at n = "
        f"{'/'.join(map(str, sizes))} labelled examples (smallest margin {seen:+.3f}, target >= "
        f"{min_margin}): {_verdict(holds)}"
    )
    return {
        "holds": holds,
        "sizes": sizes,
        "fine_tune_auroc": ft,
        "scratch_auroc": sc,
        "min_margin_seen": seen,
        "message": message,
    }


def gcn_claim(table: pd.DataFrame, *, min_margin: float = 0.1) -> dict[str, Any]:
    """The GCN beats the same layers without the graph by >= ``min_margin`` test auROC.

    Returns
    -------
    dict
        ``holds``, ``gcn_auroc``, ``no_graph_auroc``, ``margin``, ``message``.
    """
    graph = table[table["uses_graph"].astype(bool)]
    flat = table[~table["uses_graph"].astype(bool)]
    gcn = float(graph["auroc"].max()) if len(graph) else float("nan")
    mlp = float(flat["auroc"].max()) if len(flat) else float("nan")
    margin = gcn - mlp
    holds = bool(margin >= min_margin - 1e-9)
    message = (
        f"GCN auROC {gcn:.3f} {_beats(holds)} the same layers without the graph {mlp:.3f} "
        f"(margin {margin:+.3f}, target >= {min_margin}): {_verdict(holds)}"
    )
    return {"holds": holds, "gcn_auroc": gcn, "no_graph_auroc": mlp, "margin": margin,
            "message": message}  # fmt: skip


_CLAIMS = {"multimodal": multimodal_claim, "transfer": transfer_claim, "graph": gcn_claim}


def showcase_claim(name: str, table: pd.DataFrame) -> dict[str, Any]:
    """The claim check of demonstration ``name`` (see :func:`multimodal_claim` and its siblings)."""
    check_choice("name", name, _CLAIMS)
    return _CLAIMS[name](table)


# --------------------------------------------------------------------------------------------------
# writing


def write_showcase_results(
    name: str, table: pd.DataFrame, out_dir: str | os.PathLike
) -> dict[str, Path]:
    """Write ``NAME.tsv``, ``NAME.md`` (settings, table, claim line) and ``NAME.png`` into ``out_dir``.

    Returns
    -------
    dict
        ``{"tsv": ..., "md": ..., "png": ...}``.
    """
    check_choice("name", name, SHOWCASES)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: out / f"{name}.{ext}" for ext in ("tsv", "md", "png")}
    with atomic_write(paths["tsv"]) as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    claim = table.attrs.get("claim") or showcase_claim(name, table)
    settings = table.attrs.get("settings", {})
    with atomic_write(paths["md"]) as fh:
        if settings:
            fh.write("Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n\n")
        fh.write(markdown_table(table))
        fh.write("\n" + claim["message"] + "\n")
    if name == "multimodal":
        plot_multimodal(table, paths["png"])
    elif name == "transfer":
        plot_learning_curve(table, paths["png"])
    else:
        plot_gcn(table, paths["png"])
    return paths


_INPUT_COLORS = {"sequence + track": "#2a6f97", "sequence": "#e07a1f", "track": "#6a994e"}


def _bars(
    table: pd.DataFrame,
    path: str | os.PathLike,
    *,
    metrics: dict[str, str],
    colors: list[str],
    title: str,
    hline: tuple[float, str] | None = None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    x = np.arange(len(table))
    w = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(3.4 + 1.0 * len(table), 3.6))
    hatches = ["", "//", "..", "xx"]
    handles = []
    for j, (col, label) in enumerate(metrics.items()):
        alpha, hatch = 1.0 - 0.4 * (j > 0), hatches[j % len(hatches)]
        bars = ax.bar(x + (j - (len(metrics) - 1) / 2) * w, table[col], w, color=colors,
                      alpha=alpha, hatch=hatch)  # fmt: skip
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        handles.append(Patch(facecolor="0.45", alpha=alpha, hatch=hatch, label=label))
    if hline is not None:
        ax.axhline(hline[0], ls=":", lw=1.0, color="0.2")
        handles.append(Line2D([], [], ls=":", lw=1.0, color="0.2", label=hline[1]))
    ax.axhline(0.5, ls="--", lw=0.8, color="0.6")
    handles.append(Line2D([], [], ls="--", lw=0.8, color="0.6", label="chance"))
    ax.set_xticks(x)
    ax.set_xticklabels(table["model"], rotation=20, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test score")
    ax.set_title(title, fontsize=9)
    ax.legend(
        handles=handles, frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0)
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return Path(path)


def plot_multimodal(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Bar chart of test auROC and auPRC per model, coloured by input set; the single-input bound dotted.

    ``table`` is a :func:`~genodeep.workflows.showcase.multimodal_showcase` table.
    """
    colors = [_INPUT_COLORS.get(str(i), "#9a9a9a") for i in table["inputs"]]
    bound = table.attrs.get("single_input_auroc_bound")
    return _bars(
        table,
        path,
        metrics={"auroc": "auROC", "auprc": "auPRC"},
        colors=colors,
        title="binding = motif AND open chromatin:\nsequence + track vs either alone",
        hline=None if bound is None else (float(bound), f"single-input\nauROC bound {bound:.2f}"),
    )


def plot_gcn(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Bar chart of test auROC and accuracy: the GCN vs the same layers without the graph.

    ``table`` is a :func:`~genodeep.workflows.showcase.gcn_showcase` table.
    """
    colors = ["#2a6f97" if g else "#9a9a9a" for g in table["uses_graph"].astype(bool)]
    return _bars(
        table,
        path,
        metrics={"auroc": "auROC", "accuracy": "accuracy"},
        colors=colors,
        title="node labels from the neighbours:\nGCN vs the same layers without the graph",
    )
