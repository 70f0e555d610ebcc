"""The steps of ``genodeep demo`` that build the data and the models (report sections 1-4 and 8).

Each step is a function ``step_NAME(ctx)`` that does real work through the public API, prints a short
summary and adds a section to the report; :mod:`genodeep.workflows.demo` runs them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genodeep import example_data, zoo
from genodeep.data import split_by_region, tile_and_label
from genodeep.io import Genome, read_bed
from genodeep.report import Report
from genodeep.workflows.config import load_config
from genodeep.workflows.experiment import QUICK_SPACING, spacing_experiment, write_spacing_results
from genodeep.workflows.showcase_files import showcase_to_files
from genodeep.workflows.tables import summary_table
from genodeep.workflows.train import train_from_config

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


def _load_insulator_config(ctx: DemoContext) -> dict:
    config = load_config(example_data.insulator_config())
    if ctx.quick:
        config["training"]["max_epochs"] = 2
        config["baselines"]["models"] = ["logistic"]
    return config


def step_train(ctx: DemoContext) -> None:
    """Train the multitask CNN on the insulator tasks, with k-mer baselines on the same split."""
    config = _load_insulator_config(ctx)
    run_dir = ctx.out_dir / "insulators"
    result = train_from_config(
        config, out_dir=run_dir, baselines=True, overwrite=True, verbose=not ctx.quick
    )
    summary = summary_table(result.metrics)
    deep = result.metrics[result.metrics["model"] == result.metrics["model"].iloc[0]]
    _say("[train] held-out test region, mean over the 8 tasks:")
    _say(summary.to_string(index=False))
    sec = ctx.report.section("2. A multitask CNN for insulator binding, against honest baselines")
    sec.text(
        "A DeepBind-style CNN (128 filters of 19 bp with an exponential activation, global max pooling, a "
        "linear read-out to 8 sigmoid outputs) is trained on the training region with reverse-complement "
        "augmentation and early stopping on the validation region. "
        "The same windows train k-mer baselines (5-mer counts with L2 logistic regression, random forest, "
        "gradient boosting). All models are scored on the held-out test region (dm3 chr2R:12-14 Mb)."
    )
    sec.table(summary, name="insulators_summary")
    sec.table(deep, name="insulators_per_task")
    for png in sorted(run_dir.rglob("*.png")):
        sec.image(png, png.stem.replace("_", " "), width=480)
    sec.code(
        f"genodeep train {example_data.insulator_config().name} --out runs/insulators --baselines"
        "   # examples/insulators.yaml"
    )
    ctx.results["train"] = result


def step_spacing(ctx: DemoContext) -> None:
    """The review's Fig. 2: a CNN sees motif spacing, k-mer models cannot."""
    kw = QUICK_SPACING if ctx.quick else {}
    out = ctx.out_dir / "spacing"
    table = spacing_experiment(out_dir=out, random_state=ctx.random_state, **kw)
    paths = write_spacing_results(table, out)
    claim = table.attrs.get("claim") or {}
    _say("[spacing] held-out auROC on the motif-spacing grammar:")
    _say(table[["model", "family", "auroc", "auprc"]].to_string(index=False))
    if claim:
        _say(f"[spacing] {claim['message']}")
    sec = ctx.report.section("3. Motif spacing: why convolutional networks (the review's Fig. 2)")
    sec.text(
        "Simulated sequences carry two JASPAR motifs. In positives they sit at a fixed spacing and order; in "
        "negatives the same two motifs sit at a random spacing and order, so k-mer content is the same in both "
        "classes and only the arrangement differs."
    )
    sec.table(table.drop(columns=[c for c in ("seconds",) if c in table]), name="spacing")
    if claim:
        sec.text(claim["message"])
    sec.image(paths["png"], "held-out auROC per model", width=520)
    sec.code("genodeep experiment spacing --out runs/spacing")
    ctx.results["spacing"] = table


def step_beyond(ctx: DemoContext) -> None:
    """The review's Fig. 3-4 on simulated data: multimodal inputs, transfer learning, graph convolutions."""
    sec = ctx.report.section("4. Multimodal, transfer and graph models (the review's Fig. 3-4)")
    sec.text(
        "Three simulations where the answer needs what each model family adds: binding = motif AND open "
        "chromatin (sequence + accessibility track vs either alone); a new task learned from 100-500 "
        "examples by fine-tuning a CNN pretrained on 8 related motif tasks vs training it from scratch; node "
        "labels set by the neighbours in a gene network (graph convolution vs the same layers without the "
        "graph). Held-out auROC on each."
    )
    titles = {
        "multimodal": "sequence + track vs single inputs",
        "transfer": "learning curve: fine-tuned vs from scratch",
        "graph": "GCN vs the same layers without the graph",
    }
    for name, title in titles.items():
        res = showcase_to_files(
            name, ctx.out_dir / "beyond" / name, quick=ctx.quick, random_state=ctx.random_state
        )
        _say(f"[beyond] {res.message}")
        sec.table(res.table, name=name)
        sec.text(res.message)
        sec.image(res.png, f"{name}: {title}", width=480)
    sec.code(
        "genodeep experiment multimodal --out runs/multimodal\n"
        "genodeep experiment transfer --out runs/transfer\n"
        "genodeep experiment graph --out runs/graph\n"
        "genodeep train examples/multimodal.yaml   # the same models from a training config"
    )


def _data_spec(result) -> dict:
    cfg = result.config
    return {
        "sequence_length": int(cfg["data"].get("width", 0)) or None,
        "task_names": list(result.data.task_names) if hasattr(result.data, "task_names") else None,
        "kind": "binary",
        "genome": "dm3 (genodeep example slice chr2R:6-14 Mb)",
    }


def step_zoo(ctx: DemoContext) -> None:
    """Save the trained insulator model as a package and add it to the local zoo."""
    if "train" not in ctx.results:
        step_train(ctx)
    result = ctx.results["train"]
    pkg = zoo.save_package(
        result.model,
        ctx.path("packages", "insulators-cnn"),
        data_spec=_data_spec(result),
        metadata={
            "description": "DeepBind-style CNN for 8 fly insulator ChIP-chip tasks (genodeep demo)"
        },
        overwrite=True,
    )
    name = zoo.add(pkg, overwrite=True)
    table = zoo.list_models()
    _say(f"[zoo] added {name} to {zoo.zoo_dir()}")
    sec = ctx.report.section("8. Sharing: model packages and the local zoo")
    sec.text(
        "The trained model is saved as a package (constructor arguments, safetensors weights, data spec, "
        f"metadata, model card and sha256 checksums) and added to the local zoo at {zoo.zoo_dir()}."
    )
    sec.table(table, name="zoo")
    sec.code(
        f"genodeep zoo list\ngenodeep zoo predict {name} --fasta my_sequences.fa --out predictions.tsv"
    )
