"""Design throughput vs tangermeme: greedy in-silico evolution, designs per minute on CPU.

Target: genodeep's greedy :func:`~genodeep.seqdesign.evolve.evolve` (one exact fast-ISM pass per round)
designs >= 1.0x as many sequences per minute as tangermeme's ``greedy_substitution`` (one full
forward pass per candidate substitution, one sequence at a time), same model, same seeds, same
objective (raise one task's raw output) and the same budget of single-base substitutions.

Two models with random weights (seeded, eval mode): the Basset-like reference model of
docs/performance.md (input 4x600, task 0 of 164) and a DeepBind-like one (one convolution, global
max pool, input 4x600). tangermeme is given a wrapper that returns only the task's column ``(N, 1)``
and ``y=None``, so it picks the substitution that most raises that output, as ``max:task0`` does.

Both sides must do the same work: the script counts the substitutions each side applied
(genodeep from its history, tangermeme by counting its ``substitute`` calls) and reports them with
the mean final objective of each side (greedy single substitutions reach the same designs up to
ties and floating-point near-ties).

Every pair is timed alternately (A B A B ...), ``ROUNDS`` rounds, after a one-edit warm-up; the
table prints median [min-max].

Run: ``python benchmarks/bench_design.py`` (``GENODEEP_BENCH_QUICK=1`` for a smoke test).
"""

from __future__ import annotations

import sys
import warnings

import torch
from _common import QUICK, compare, print_timings, result, size, write_results

from genodeep.models import build_model
from genodeep.models.spec import ModelSpec
from genodeep.seqdesign.api import random_seeds
from genodeep.seqdesign.evolve import evolve
from genodeep.seqdesign.objective import Objective

ROUNDS = size(5, 1)
LENGTH = size(600, 200)
#: Basset-like: tangermeme runs 4 * L forward passes per edit (about 8 s per edit on one core)
N_BASSET, E_BASSET = size(2, 1), size(2, 1)
#: DeepBind-like: cheap enough for more seeds and edits
N_DEEPBIND, E_DEEPBIND = size(8, 2), size(8, 2)
TASK = 0
#: tangermeme's batch size (its default; the same order as genodeep's CPU ISM batches)
PEER_BATCH = 32


class _Column(torch.nn.Module):
    """The model's output for one task, shape (N, 1): what tangermeme maximises with ``y=None``."""

    def __init__(self, model: torch.nn.Module, task: int) -> None:
        super().__init__()
        self.model, self.task = model, task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.task : self.task + 1]


def _tangermeme():
    """(greedy_substitution, its module) or (None, reason)."""
    try:
        from tangermeme.design import greedy_substitution
    except ImportError as err:  # pragma: no cover - depends on the environment
        return None, f"tangermeme is not installed ({err})"
    return greedy_substitution, sys.modules["tangermeme.design.greedy_substitution"]


class _CountSubstitutions:
    """Counts the substitutions tangermeme applies (its ``substitute`` is called once per edit)."""

    def __init__(self, module) -> None:
        self.module, self.original, self.count = module, module.substitute, 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.original(*args, **kwargs)

    def __enter__(self):
        self.count = 0
        self.module.substitute = self
        return self

    def __exit__(self, *exc) -> None:
        self.module.substitute = self.original


def bench_model(label, model, spec, n, edits, peer_fn, peer_module, missing, timings, results):
    """Time genodeep's greedy evolve against tangermeme's greedy_substitution on one model."""
    X = random_seeds(n, LENGTH, random_state=11)
    obj = Objective([model], [spec], [f"max:task{TASK}"], device="cpu")
    column = _Column(model, TASK).eval()
    out: dict[str, object] = {}

    def ours(edits=edits, X=X):
        out["ours"] = evolve(obj, X, edits=edits)

    def peer(edits=edits, X=X):
        with _CountSubstitutions(peer_module) as counter:
            designs = [
                peer_fn(
                    column,
                    X[i : i + 1],
                    y=None,
                    motifs=None,
                    tol=0.0,  # stop only when no substitution raises the output, as evolve does
                    max_iter=edits,
                    batch_size=PEER_BATCH,
                    device="cpu",
                )
                for i in range(X.shape[0])
            ]
        out["peer"] = (torch.cat(designs), counter.count)

    key = f"design_{label}_designs_per_min_vs_tangermeme"
    name = f"greedy design {label}-like L={LENGTH}, {n} seeds x {edits} edits"
    peer_label = (
        "tangermeme greedy_substitution (y=None, motifs=None, single task column), "
        "same model, seeds and edit budget, one sequence per call"
    )
    if peer_fn is None:
        t = compare(name, ours, None, rounds=ROUNDS, warmup=0)
        timings.append(t)
        results[key] = result(
            None, 1.0, "x tangermeme designs/min", peer=peer_label, reason=missing
        )
        return
    # warm-up: one edit of one seed on each side (a full warm-up would double tangermeme's cost)
    evolve(obj, X[:1], edits=1)
    peer_fn(column, X[:1], y=None, max_iter=1, tol=0.0, batch_size=PEER_BATCH, device="cpu")
    t = compare(name, ours, peer, rounds=ROUNDS, warmup=0)
    timings.append(t)

    designs, history = out["ours"]
    peer_designs, peer_edits = out["peer"]
    ours_edits = int(history["active"].iloc[1:].sum())  # sequences that moved, summed over rounds
    with torch.no_grad():
        seed_obj = obj(X)
        ours_obj, peer_obj = obj(designs), obj(peer_designs)
        # tangermeme's own view of the same target, to check the wrapper reads the same output
        peer_own = column(peer_designs)[:, 0]
    same = (designs.argmax(1) == peer_designs.argmax(1)).all(1)
    ours_rate = 60.0 * n / t["ours"]["median"]
    peer_rate = 60.0 * n / t["peer"]["median"]
    print(
        f"  {label}: genodeep {ours_rate:.2f} designs/min ({ours_edits} edits), tangermeme "
        f"{peer_rate:.2f} designs/min ({peer_edits} edits); mean objective seed "
        f"{seed_obj.mean():.4f} -> genodeep {ours_obj.mean():.4f}, tangermeme {peer_obj.mean():.4f}; "
        f"identical designs {int(same.sum())}/{n}"
    )
    results[key] = result(
        ours_rate / peer_rate,
        1.0,
        "x tangermeme designs/min",
        peer=peer_label,
        genodeep_designs_per_min=ours_rate,
        tangermeme_designs_per_min=peer_rate,
        n_seeds=n,
        edit_budget=edits,
        genodeep_edits_applied=ours_edits,
        tangermeme_edits_applied=peer_edits,
        genodeep_hamming_to_seed=(designs.argmax(1) != X.argmax(1)).sum(1).tolist(),
        tangermeme_hamming_to_seed=(peer_designs.argmax(1) != X.argmax(1)).sum(1).tolist(),
        mean_seed_objective=float(seed_obj.mean()),
        genodeep_mean_final_objective=float(ours_obj.mean()),
        tangermeme_mean_final_objective=float(peer_obj.mean()),
        max_abs_objective_difference=float((ours_obj - peer_obj).abs().max()),
        tangermeme_objective_check=float((peer_own - peer_obj).abs().max()),
        identical_designs=int(same.sum()),
        sequence_length=LENGTH,
        threads=torch.get_num_threads(),
    )


def main() -> None:
    warnings.filterwarnings("ignore")
    peer_fn, peer_module = _tangermeme()
    missing = peer_module if peer_fn is None else None
    results: dict[str, dict] = {}
    timings: list[dict] = []

    torch.manual_seed(0)
    basset = build_model("basset", input_length=LENGTH).eval()
    names = [f"task{i}" for i in range(basset.n_tasks)]
    spec = ModelSpec(input_length=LENGTH, task_names=names, kind="binary")
    args = (peer_fn, peer_module, missing, timings, results)
    bench_model("basset", basset, spec, N_BASSET, E_BASSET, *args)

    torch.manual_seed(1)
    deepbind = build_model("deepbind", n_tasks=1).eval()
    spec = ModelSpec(input_length=LENGTH, task_names=["task0"], kind="binary")
    bench_model("deepbind", deepbind, spec, N_DEEPBIND, E_DEEPBIND, *args)

    print_timings(timings)
    write_results("design", results)
    if QUICK:
        print("(quick mode: sizes shrunk, numbers meaningless)")


if __name__ == "__main__":
    main()
