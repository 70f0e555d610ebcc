"""The design step of ``genodeep demo``: Su(Hw)-bound sequences designed from natural test windows by the
three methods, checked by an oracle of another architecture, with attribution logos of the designs."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from genodeep import example_data, zoo
from genodeep.io import Genome
from genodeep.io.fasta import write_fasta
from genodeep.seq.encode import decode
from genodeep.workflows._demo_steps import (
    TEST_REGION,
    DemoContext,
    _data_spec,
    _load_insulator_config,
    _say,
    step_train,
)
from genodeep.workflows.design import design_to_files
from genodeep.workflows.train import train_from_config

TASK = "SuHw_Kc"


def _natural(ctx: DemoContext, width: int) -> tuple[list[str], list[str]]:
    """Windows of the held-out test region (no N), as strings."""
    genome = Genome(example_data.genome())
    chrom, span = TEST_REGION.split(":")
    lo, hi = (int(v) for v in span.split("-"))
    starts = np.arange(lo, hi - width, width // 2 if not ctx.quick else 4 * width)
    X = genome.one_hot([chrom] * len(starts), starts, width)
    keep = (X.sum(1) == 1).all(1).numpy()
    seqs = decode(X[keep])
    names = [f"{chrom}:{s}-{s + width}" for s in starts[keep]]
    return names, seqs


def step_design(ctx: DemoContext) -> None:
    """Design: evolve, gradient and feedback-GAN designs for Su(Hw) binding, checked by an oracle."""
    if "train" not in ctx.results:
        step_train(ctx)
    result = ctx.results["train"]
    spec = _data_spec(result)
    width = int(spec.get("input_length") or spec.get("sequence_length"))
    model_pkg = zoo.save_package(
        result.model, ctx.path("design", "model"), data_spec=spec, overwrite=True
    )
    # the oracle: genodeep's default architecture (twopath) trained on the same training region
    config = copy.deepcopy(_load_insulator_config(ctx))
    config["model"] = {"name": "twopath"}
    # another seed as well; undertrained, it would be too weak a judge (its test auROC is reported)
    config["training"].update(max_epochs=1 if ctx.quick else 12, patience=3, random_state=1)
    if ctx.quick:
        config["data"]["train_negatives"] = 0.05
    oracle_run = train_from_config(
        config,
        out_dir=ctx.out_dir / "design" / "oracle_run",
        baselines=False,
        overwrite=True,
        verbose=False,
    )
    oracle_pkg = zoo.save_package(
        oracle_run.model,
        ctx.path("design", "oracle"),
        data_spec=_data_spec(oracle_run),
        overwrite=True,
    )
    names, seqs = _natural(ctx, width)
    rng = np.random.default_rng(ctx.random_state)
    pick = rng.choice(len(seqs), size=min(len(seqs), 4 if ctx.quick else 8), replace=False)
    natural_fa, seeds_fa = ctx.path("design", "natural.fa"), ctx.path("design", "seeds.fa")
    write_fasta(natural_fa, dict(zip(names, seqs, strict=True)))
    write_fasta(seeds_fa, {names[i]: seqs[i] for i in sorted(pick.tolist())})
    common = dict(
        objective=[f"max:{TASK}"],
        oracle=str(oracle_pkg),
        natural=natural_fa,
        forbid=["EcoRI", "BsaI"],
        verbose=False,
        random_state=ctx.random_state,
        top=1 if ctx.quick else 3,
    )
    edits = 4 if ctx.quick else 10
    runs = {
        "evolve": dict(seeds=seeds_fa, method="evolve", edits=edits, gc=(0.25, 0.75)),
        "gradient": dict(
            seeds=seeds_fa,
            method="gradient",
            gc=(0.25, 0.75),
            edits=edits,
            steps=30 if ctx.quick else 150,
        ),
        "gan": dict(
            seeds=natural_fa,
            method="gan",
            n=8,
            rounds=3 if ctx.quick else 12,
            steps_per_round=10 if ctx.quick else 20,
        ),
    }
    rows, results = [], {}
    for method, kw in runs.items():
        res = design_to_files(
            str(model_pkg), ctx.path("design", method, "x").parent, **common, **kw
        )
        results[method] = res
        o = res.summary["oracle"]
        rows.append(
            {
                "method": method,
                "designs": res.summary["designs"],
                "edits (mean)": res.summary.get("mean_edits", float("nan")),
                "model objective": res.summary["mean_objective"],
                "seeds, model": res.summary.get("mean_seed_objective", float("nan")),
                "oracle: designs": o["designs_mean"],
                "oracle: seeds": o.get("seeds_mean", float("nan")),
                "oracle: best natural": o["natural_max"],
                "above best natural": o["designs_above_natural_max"],
                "designs per minute": res.summary["designs_per_minute"],
            }
        )
    table = pd.DataFrame(rows)
    auroc = {
        name: float(
            m.loc[(m["model"] == m["model"].iloc[0]) & (m["task"] == TASK), "auroc"].iloc[0]
        )
        for name, m in [("model", result.metrics), ("oracle", oracle_run.metrics)]
    }
    _say(
        f"[design] max:{TASK}; test auROC of the design model {auroc['model']:.3f}, "
        f"of the oracle (twopath CNN) {auroc['oracle']:.3f}:"
    )
    _say(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    sec = ctx.report.section(
        "10. Design: sequences the model wants, checked by an independent oracle"
    )
    sec.text(
        f"Objective: raise the {TASK} logit of the insulator CNN. Greedy evolution (10 edits, each round "
        "one exact fast-ISM pass) and gradient design (straight-through Gumbel-softmax edits, Ledidi-style, "
        "at most 10 edits) start from natural windows of the held-out test region; the feedback GAN learns "
        "from all test windows and feeds its best samples back. Constraints: no EcoRI or BsaI site; "
        "GC 0.25-0.75 for the edited designs. An oracle of another architecture (genodeep's two-path "
        "CNN) trained on the same training region with another seed, which took no part in the design, scores the designs, their seeds and every natural "
        f"test window ({len(seqs)}). Objectives are logits. On the held-out test region the {TASK} "
        f"auROC is {auroc['model']:.3f} for the design model and {auroc['oracle']:.3f} for the oracle: "
        "an oracle much weaker than the design model could not confirm anything."
    )
    sec.table(table, name="design_summary")
    best = results["evolve"].table.sort_values("objective", ascending=False)
    sec.table(best.drop(columns=["sequence"]).head(8), name="design_evolve")
    for png in sorted((ctx.out_dir / "design" / "evolve" / "plots").glob("logo_*.png"))[:2]:
        sec.image(png, "DeepLIFT/SHAP of a seed and its evolved design (edits shaded)", width=720)
    sec.code(
        f"genodeep design --model insulators-cnn --objective max:{TASK} --seeds seeds.fa "
        "--oracle oracle_pkg --natural natural.fa --edits 10 --gc 0.25-0.75 --forbid EcoRI --forbid BsaI "
        "--out designs   # --method gradient | gan"
    )
    ctx.results["design"] = table
