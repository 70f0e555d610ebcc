"""Recovery test on simulated footprints: does TF-MoDISco on a BPNet's attributions find the planted motifs?

The footprint simulation (``data.kind: simulate_profile``) plants CTCF, Spi1 and FOXA1 words, each
emitting its own strand-specific read shape. A BPNet is trained from the example config
(``examples/bpnet.yaml``, or ``--config``); DeepLIFT/SHAP attributions of its profile head and of its
count head on the test chromosome's peak windows go to TF-MoDISco, whose patterns are matched to the
17 shipped JASPAR motifs (the planted three among them). A planted motif is recovered when it is the
best database match of at least one pattern.

Target: ``footprint_motifs_recovered`` = recovered / planted (3), for the better of the two heads (1.0).

Run: ``python benchmarks/recover_footprints.py [--config CONFIG] [--run RUN_DIR]`` (``--run`` reuses a
trained run folder). Several minutes on 2 CPU cores; not part of the test suite.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import result, write_results

from genodeep import example_data
from genodeep.data.footprint_files import DEFAULT_FOOTPRINT_MOTIFS
from genodeep.data.sources import build_data
from genodeep.interpret.api import attribute
from genodeep.motifs.discover import discover_motifs
from genodeep.workflows.config import load_config
from genodeep.workflows.tracks import profile_target
from genodeep.workflows.train import train_from_config
from genodeep.zoo import load

ROOT = Path(__file__).resolve().parents[1]


def recovered(res) -> list[str]:
    """Planted motif IDs that are the best match of some pattern."""
    if res.matches is None or len(res.matches) == 0:
        return []
    best = res.matches.sort_values("p_value" if "p_value" in res.matches else "q_value")
    best = best.groupby("query", sort=False).head(1)
    hits = {str(t).split()[0] for t in best["target"]}
    return sorted(hits & set(DEFAULT_FOOTPRINT_MOTIFS))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "examples" / "bpnet.yaml"))
    ap.add_argument("--run", default=None)
    ap.add_argument("--n-shuffles", type=int, default=10)
    args = ap.parse_args()
    cfg = load_config(args.config)
    run = Path(args.run or Path(tempfile.gettempdir()) / "genodeep_recover_footprints")
    if args.run is None:
        train_from_config(cfg, out_dir=run, overwrite=True, verbose=True)
    model = load(run).model.eval()
    data = build_data(cfg["data"])
    peak = data.test.ids["peak"].to_numpy(bool)
    X = data.test.X[torch.as_tensor(np.flatnonzero(peak))].float()
    found, details = {}, {}
    for head, target in (("profile", profile_target()), ("counts", None)):
        att = attribute(model, X, method="deepliftshap", target=target, n_shuffles=args.n_shuffles,
                        random_state=0)  # fmt: skip
        res = discover_motifs(X, att.attributions, att.hypothetical, database=example_data.motifs(),
                              min_metacluster_size=20, final_min_cluster_size=10)  # fmt: skip
        found[head] = recovered(res)
        details[head] = {
            "patterns": {k: int(v) for k, v in res.n_seqlets.items()},
            "best_matches": res.matches.sort_values("q_value").groupby("query").head(1)[
                ["query", "target", "q_value"]].astype(str).to_dict("records")
            if len(res.matches) else [],
        }  # fmt: skip
        print(f"{head}: {len(res.patterns)} pattern(s); planted motifs recovered: {found[head]}")
    best = max(found.values(), key=len)
    write_results("recover_footprints", {
        "footprint_motifs_recovered": result(
            len(best) / len(DEFAULT_FOOTPRINT_MOTIFS), 1.0, "fraction of the planted motifs",
            peer="the planted motifs (CTCF, Spi1, FOXA1)", n_windows=int(len(X)),
            recovered=found, modisco=details, config=str(args.config),
        ),
    })  # fmt: skip


if __name__ == "__main__":
    main()
