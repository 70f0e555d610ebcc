"""``genodeep demo``: the whole workflow on the data shipped inside genodeep, with an HTML report.

Each step is a function ``step_NAME(ctx)`` that does real work through the public API, prints a short
summary and adds a section to the report. ``run_demo`` runs them in order; ``steps=`` picks a subset.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genodeep import example_data
from genodeep._progress import log
from genodeep.report import Report

#: window width for the insulator data set (ChIP-chip regions are ~250-450 bp)
WIDTH = 500
STRIDE = 250
# held-out regions of the shipped slice (record chr2R_6M_14M = dm3 chr2R:6-14 Mb)
VALID_REGION = f"{example_data.GENOME_RECORD}:5000000-6000000"
TEST_REGION = f"{example_data.GENOME_RECORD}:6000000-8000000"


@dataclass
class DemoContext:
    """State shared between demo steps."""

    out_dir: Path
    report: Report
    quick: bool = False
    random_state: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        p = self.out_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def _say(text: str) -> None:
    print(text, flush=True)


def step_data(ctx: DemoContext) -> None:
    """Real data: the dm3 chr2R slice and 8 insulator ChIP-chip tasks -> windows, labels, splits."""
    from genodeep.data import split_by_region, tile_and_label
    from genodeep.io import Genome, read_bed

    genome = Genome(example_data.genome())
    peaks = example_data.insulator_peaks()
    beds = {task: read_bed(path, genome=genome) for task, path in peaks.items()}
    windows, y, tasks = tile_and_label(genome, beds, width=WIDTH, stride=STRIDE, max_n_fraction=0.1)
    windows = windows.assign(**{t: y[:, i] for i, t in enumerate(tasks)})
    splits = split_by_region(windows, valid=VALID_REGION, test=TEST_REGION)
    gc = genome.gc_content(windows["chrom"].tolist(), windows["start"].to_numpy(), WIDTH)
    any_pos = y.max(axis=1) > 0

    rows = []
    for task in tasks:
        row = {
            "task": task,
            "peaks": len(beds[task]),
            "median peak width": float((beds[task]["end"] - beds[task]["start"]).median()),
        }
        for name, df in splits.items():
            row[f"{name} positives"] = int(df[task].sum())
            row[f"{name} fraction"] = float(df[task].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    sizes = pd.DataFrame(
        {
            "split": list(splits),
            "windows": [len(df) for df in splits.values()],
            "region": ["rest of the slice", VALID_REGION, TEST_REGION],
        }
    )
    gc_table = pd.DataFrame(
        {
            "windows": ["bound by any insulator", "unbound"],
            "n": [int(any_pos.sum()), int((~any_pos).sum())],
            "mean GC": [float(gc[any_pos].mean()), float(gc[~any_pos].mean())],
        }
    )
    co = pd.DataFrame(np.corrcoef(y.T), index=tasks, columns=tasks)

    seq_len = genome.chrom_sizes[example_data.GENOME_RECORD]
    _say(
        f"[data] genome {example_data.genome().name}: {len(genome.chrom_sizes)} record, {seq_len:,} bases"
    )
    _say(
        f"[data] {len(windows):,} windows of {WIDTH} bp (stride {STRIDE}); {len(tasks)} tasks; "
        f"splits " + ", ".join(f"{k} {len(v):,}" for k, v in splits.items())
    )
    _say(
        table[["task", "peaks", "train positives", "test positives", "train fraction"]].to_string(
            index=False
        )
    )
    _say(f"[data] mean GC: bound {gc[any_pos].mean():.3f} vs unbound {gc[~any_pos].mean():.3f}")
    examples = windows[any_pos].head(3)
    for _, w in examples.iterrows():
        seq = genome.fetch(w["chrom"], int(w["start"]), int(w["start"]) + 60)
        on = [t for t in tasks if w[t] > 0]
        _say(f"  {w['chrom']}:{w['start']}-{w['end']} bound by {', '.join(on)}: {seq}...")

    sec = ctx.report.section("1. Data: fly insulator binding on dm3 chr2R")
    sec.text(
        f"The shipped genome slice (dm3 chr2R:6-14 Mb, {seq_len:,} bases) is tiled into {WIDTH}-bp windows "
        f"every {STRIDE} bp. A window is positive for a task when a ChIP-chip region of that protein and cell "
        "line covers at least half of the smaller of the two. Windows with more than 10% N are dropped. "
        "Because the genome is one chromosome, whole regions are held out for validation and test."
    )
    sec.table(sizes, name="splits").table(table, name="tasks").table(gc_table, name="gc")
    sec.text("Correlation of the 8 labels across windows (the tasks share much of their signal):")
    sec.table(co.reset_index(names="task"), name="label_correlation", floatfmt="{:.2f}")
    sec.code("genodeep demo --steps data")
    ctx.results["data"] = {"genome": genome, "windows": windows, "tasks": tasks, "splits": splits}


STEPS: dict[str, Callable[[DemoContext], None]] = {
    "data": step_data,
}


def run_demo(
    out_dir: str | os.PathLike = "demo-report",
    *,
    steps: Sequence[str] | None = None,
    quick: bool = False,
    random_state: int = 0,
) -> Path:
    """Run the demo steps and write ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : path
        Report folder (created).
    steps : sequence of str, optional
        Subset of :data:`STEPS` to run, in the given order (default: all).
    quick : bool
        Smaller models and fewer epochs (for tests).

    Returns
    -------
    Path of ``index.html``.
    """
    names = list(steps) if steps else list(STEPS)
    unknown = [s for s in names if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown demo step(s) {unknown}; valid steps: {', '.join(STEPS)}")
    report = Report(out_dir, "genodeep demo: from genomic files to biological insight")
    report.intro.append(
        "Every number and figure below was computed by `genodeep demo` on data shipped inside the package "
        "(no network). Each section names the command that reproduces it alone."
    )
    ctx = DemoContext(Path(out_dir), report, quick=quick, random_state=random_state)
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        log(f"genodeep demo: step {name} ...")
        STEPS[name](ctx)
        report.write()
        log(f"genodeep demo: step {name} done in {time.perf_counter() - t0:.1f} s")
    index = report.write()
    _say(f"report: {index} ({time.perf_counter() - t_all:.0f} s)")
    return index
