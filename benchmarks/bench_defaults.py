"""The default path (a config with only a ``data:`` section, i.e. ``model: auto``) against every baseline,
on several kinds of task, over 3 seeds; and the time of auto mode against one model's.

Tasks (see ``tasks.py``; nothing in genodeep knows them):
- ``splice_donor``, ``splice_acceptor``: real fly splice sites (dm3 chr2R:7-8 Mb, RNA-seq introns) against
  GT/AG decoys 1:20, held out by region: position-dependent signal;
- ``positional``: simulated Su(Hw) sites at a fixed offset, rare positives, decoy sites elsewhere;
- ``presence``: the shipped simulated motif-presence example (3 motifs, anywhere in the sequence);
- ``insulators``: the shipped 8-task insulator ChIP-chip data (held-out region; rare positives).

For each task and seed: ``train_from_config({"data": ..., "baselines": {}})`` with ``training.random_state =
seed``; the chosen model's test auROC/auPRC (macro mean over tasks) against each baseline's. Targets:
- ``TASK_auprc_margin``: the default's mean test auPRC minus the best baseline's (> 0: it beats every
  baseline, the positional one included);
- ``auto_time_vs_one_model``: auto's total training time / the first candidate's (<= 4, the budget).

Run: ``python benchmarks/bench_defaults.py [TASK ...]`` (``GENODEEP_BENCH_QUICK=1``: one seed, 2 epochs).
Results go to ``benchmarks/results/bench_defaults.json``; the runs to ``benchmarks/results/defaults_runs/``
(not kept in git).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tasks
import yaml
from _common import QUICK, RESULTS_DIR, result, write_results

from genodeep import example_data
from genodeep.workflows.train import train_from_config

SEEDS = (0,) if QUICK else (0, 1, 2)
DATA_DIR = Path(tempfile.gettempdir()) / "genodeep_bench_tasks"


def _sections() -> dict[str, dict]:
    presence = yaml.safe_load(
        (Path(__file__).parents[1] / "examples" / "deepbind.yaml").read_text()
    )
    insulators = yaml.safe_load(Path(example_data.insulator_config()).read_text())
    return {
        "splice_donor": lambda: tasks.splice(DATA_DIR, site="donor"),
        "splice_acceptor": lambda: tasks.splice(DATA_DIR, site="acceptor"),
        "positional": lambda: tasks.positional(DATA_DIR),
        "presence": lambda: presence["data"],
        "insulators": lambda: insulators["data"],
    }


def _mean(metrics: pd.DataFrame) -> pd.DataFrame:
    rows = metrics[metrics["task"] == "mean"] if (metrics["task"] == "mean").any() else metrics
    return rows.groupby("model")[["auroc", "auprc"]].mean()


def run_task(name: str, section: dict, out: Path) -> dict:
    per_seed, times = [], []
    for seed in SEEDS:
        cfg = {"data": section, "baselines": {}, "training": {"random_state": seed}}
        if QUICK:
            cfg["training"]["max_epochs"] = 2
        t0 = time.perf_counter()
        res = train_from_config(cfg, out_dir=out / f"{name}_s{seed}", overwrite=True, verbose=False)
        wall = time.perf_counter() - t0
        cand = pd.read_csv(out / f"{name}_s{seed}" / "candidates.tsv", sep="\t")
        times.append(float(cand["seconds"].sum() / cand["seconds"].iloc[0]))
        table = _mean(res.metrics)
        chosen = cand.loc[cand["chosen"], "model"].item()
        baselines = table.drop(
            [m for m in table.index if m == chosen or m.startswith("candidate:")]
        )
        per_seed.append(
            {
                "seed": seed,
                "chosen": chosen,
                "auroc": float(table.loc[chosen, "auroc"]),
                "auprc": float(table.loc[chosen, "auprc"]),
                **{f"{b}_auroc": float(baselines.loc[b, "auroc"]) for b in baselines.index},
                **{f"{b}_auprc": float(baselines.loc[b, "auprc"]) for b in baselines.index},
                "seconds": wall,
            }
        )
        print(f"{name} seed {seed}: {per_seed[-1]}", flush=True)
    df = pd.DataFrame(per_seed)
    base_names = sorted({c[: -len("_auprc")] for c in df.columns if c.endswith("_auprc")})
    summary = {
        "default": {m: (df[m].mean(), df[m].min(), df[m].max()) for m in ("auroc", "auprc")},
        **{
            b: {
                m: (df[f"{b}_{m}"].mean(), df[f"{b}_{m}"].min(), df[f"{b}_{m}"].max())
                for m in ("auroc", "auprc")
            }
            for b in base_names
        },
    }
    best_base = max(base_names, key=lambda b: df[f"{b}_auprc"].mean())
    return {
        "summary": summary,
        "chosen": df["chosen"].tolist(),
        "best_baseline": best_base,
        "margin_auprc": float(df["auprc"].mean() - df[f"{best_base}_auprc"].mean()),
        "margin_auroc": float(
            df["auroc"].mean() - max(df[f"{b}_auroc"].mean() for b in base_names)
        ),
        "time_ratio": times,
        "seconds": df["seconds"].tolist(),
    }


def main(names: list[str]) -> None:
    sections = _sections()
    names = list(names) or list(sections)
    out = RESULTS_DIR / "defaults_runs"
    results, ratios = {}, []
    for name in names:
        info = run_task(name, sections[name](), out)
        ratios += info["time_ratio"]
        s = info["summary"]
        print(f"\n{name}: chosen {info['chosen']}")
        for model, m in s.items():
            print(
                f"  {model:>20}: auROC {m['auroc'][0]:.3f} ({m['auroc'][1]:.3f}-{m['auroc'][2]:.3f})"
                f"  auPRC {m['auprc'][0]:.3f} ({m['auprc'][1]:.3f}-{m['auprc'][2]:.3f})"
            )
        results[f"{name}_auprc_margin"] = result(
            info["margin_auprc"], 0.0, "auPRC (default - best baseline)",
            peer=f"best baseline ({info['best_baseline']}), mean of {len(SEEDS)} seeds",
            summary={k: {m: list(v) for m, v in d.items()} for k, d in s.items()},
            chosen=info["chosen"], auroc_margin=info["margin_auroc"], seconds=info["seconds"],
        )  # fmt: skip
    previous = RESULTS_DIR / "bench_defaults.json"
    if (
        names != list(sections) and previous.exists() and not QUICK
    ):  # a subset: keep the other tasks
        kept = json.loads(previous.read_text())
        ratios += kept.get("auto_time_vs_one_model", {}).get("details", {}).get("all_runs", [])
        results = {**{k: v for k, v in kept.items() if k != "auto_time_vs_one_model"}, **results}
    results["auto_time_vs_one_model"] = result(
        float(np.max(ratios)), 4.0, "x one model's training time", higher_is_better=False,
        peer="the first candidate (twopath) trained alone", all_runs=ratios,
    )  # fmt: skip
    write_results("defaults", results)


if __name__ == "__main__":
    main(sys.argv[1:])
