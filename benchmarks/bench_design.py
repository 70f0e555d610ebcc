"""Design throughput vs tangermeme (greedy) and ledidi (gradient): designs per minute on CPU.

Targets (each a ratio of designs per minute, genodeep / peer, >= 1.0):

- ``design_{basset,deepbind}_designs_per_min_vs_tangermeme``: genodeep's greedy
  :func:`~genodeep.seqdesign.evolve.evolve` (one exact fast-ISM pass per round) against tangermeme's
  ``greedy_substitution`` (one full forward pass per candidate substitution, one sequence at a time),
  same model, same seeds, same objective (raise one task's raw output) and the same budget of
  single-base substitutions.
- ``design_gradient_{deepbind,basset}_designs_per_min_vs_ledidi``: genodeep's
  :func:`~genodeep.seqdesign.gradient.gradient_design` against ``ledidi.ledidi`` (2.x), both
  straight-through Gumbel-softmax optimisers over a logit matrix added to the seed, at the same number
  of optimiser steps and the same number of Gumbel samples per step and seed.

Two models with random weights (seeded, eval mode): the Basset-like reference model of
docs/performance.md (input 4x600, task 0 of 164) and a DeepBind-like one (one convolution, global
max pool, input 4x600).

Greedy (tangermeme). tangermeme is given a wrapper that returns only the task's column ``(N, 1)``
and ``y=None``, so it picks the substitution that most raises that output, as ``max:task0`` does.
The script counts the substitutions each side applied (genodeep from its history, tangermeme by
counting its ``substitute`` calls) and reports them with the mean final objective of each side
(greedy single substitutions reach the same designs up to ties and floating-point near-ties).

Gradient (ledidi). How the two are made to do the same work:

- Same objective: ledidi's ``output_loss`` is minus the batch mean of the task's raw output
  (``target=0``), which is genodeep's ``-objective`` averaged over samples; ledidi's input loss is
  the mean number of edits per sample, so its total loss is ``-mean(output) + l * mean(edits)``.
- Same steps and samples: ``max_iter = steps`` with early stopping disabled
  (``early_stopping_iter = steps``), ``batch_size = samples``; the model's forward calls and the
  sequences they read are counted on both sides and recorded (ledidi: per seed one forward of the
  seed, ``steps`` forwards of ``samples`` sequences and our pick of its output below; genodeep:
  one forward of all seeds, then ``steps`` forwards of ``samples * seeds`` sequences).
- Same optimiser settings: learning rate 0.1 (genodeep's default; ledidi's Adam(W) also moves the
  logits, in the same units), temperature 1 and the same start: ledidi's ``eps`` is set so that the
  seed's base is ``log(3 (L - 1))`` above the others, genodeep's prior (about one edit per sample at
  step 0). ledidi's AdamW weight decay (0.01, not exposed) is left as it is.
- Edits: genodeep has a hard budget (``edits``, its designs never exceed it); ledidi only weighs edits
  with ``l``. Before timing, ``l`` is calibrated by a geometric bisection over [1e-5, 1e-1]
  (``CAL_EVALS`` full ledidi runs on the same seeds) and the value whose designs' mean Hamming
  distance to the seed is closest to the budget is used. Both sides' mean objective gain
  (design - seed), mean edits (Hamming distance to the seed) and gain per edit are recorded, so a
  reader sees quality next to speed.
- What each returns: genodeep returns, per seed, the best sample (highest objective) within the edit
  budget over all steps. ledidi returns the whole batch of ``batch_size`` samples of the step with the
  lowest mean total loss (the unedited seed repeated if no step beat it); inside ledidi's timed call
  the script picks the sample of that batch with the highest objective (one extra forward of
  ``samples`` sequences), its design for the seed; the batch's mean gain and edits are recorded too.
- ledidi designs one seed per call (its API takes ``X`` of shape ``(1, 4, L)``); genodeep designs all
  seeds in one batch, so the ratio grows with the number of seeds on models that batch well.
- Each side gets the model as a user would pass it: ledidi sets ``requires_grad=False`` on the
  parameters of the model it is given (its own deep copy here); gradient_design leaves them as they
  are and back-propagates to the logits only (``backward(inputs=[W])``), so neither side computes
  weight gradients.

Every pair is timed alternately (A B A B ...), ``ROUNDS`` rounds, after a warm-up; the table prints
median [min-max].

Run: ``python benchmarks/bench_design.py [both|tangermeme|ledidi]`` (default ``both``;
``GENODEEP_BENCH_QUICK=1`` for a smoke test). Running one part rewrites that part's entries and keeps
the other part's entries from the existing results file, so the JSON always holds all of them; run
``both`` to refresh every number in one run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import warnings

import torch
from _common import (
    QUICK,
    RESULTS_DIR,
    compare,
    print_timings,
    result,
    size,
    write_results,
)

from genodeep.models import build_model
from genodeep.models.spec import ModelSpec
from genodeep.seqdesign.api import random_seeds
from genodeep.seqdesign.evolve import evolve
from genodeep.seqdesign.gradient import gradient_design
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
#: gradient design, both sides: optimiser steps (fewer on the far costlier Basset-like model)
STEPS_DEEPBIND, STEPS_BASSET = size(100, 5), size(20, 3)
#: edit budget of gradient_design (both models) and the mean edits ledidi's l is calibrated to
E_GRADIENT = size(8, 2)
#: Gumbel samples per step and seed (ledidi's default batch_size)
SAMPLES = 16
#: Adam learning rate on the logits (gradient_design's default) and Gumbel-softmax temperature
LR, TAU = 0.1, 1.0
#: full ledidi runs spent calibrating its input-loss weight l to the edit budget, and the range searched
CAL_EVALS = size(6, 2)
CAL_RANGE = (1e-5, 1e-1)


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


def bench_greedy(label, model, spec, n, edits, peer_fn, peer_module, missing, timings, results):
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
        genodeep_hamming_to_seed=_hamming(designs, X).tolist(),
        tangermeme_hamming_to_seed=_hamming(peer_designs, X).tolist(),
        mean_seed_objective=float(seed_obj.mean()),
        genodeep_mean_final_objective=float(ours_obj.mean()),
        tangermeme_mean_final_objective=float(peer_obj.mean()),
        max_abs_objective_difference=float((ours_obj - peer_obj).abs().max()),
        tangermeme_objective_check=float((peer_own - peer_obj).abs().max()),
        identical_designs=int(same.sum()),
        sequence_length=LENGTH,
        threads=torch.get_num_threads(),
    )


def _ledidi():
    """(ledidi's ``ledidi`` function, None) or (None, reason)."""
    try:
        from ledidi import ledidi
    except ImportError as err:  # pragma: no cover - depends on the environment
        return None, f"ledidi is not installed ({err})"
    return ledidi, None


def _raise_output(y_hat: torch.Tensor, y_bar: torch.Tensor) -> torch.Tensor:
    """ledidi's output loss: minus the batch mean of the task's raw output (``y_bar`` is unused)."""
    return -y_hat.mean()


class _CountForward:
    """Counts a model's forward calls and the sequences they read (a forward pre-hook)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.calls, self.sequences, self.handle = model, 0, 0, None

    def _hook(self, module, args) -> None:
        self.calls += 1
        self.sequences += int(args[0].shape[0])

    def __enter__(self):
        self.calls = self.sequences = 0
        self.handle = self.model.register_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def _hamming(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamming distance of one-hot sequences (..., 4, L) -> (...)."""
    return (a.argmax(-2) != b.argmax(-2)).sum(-1)


def _run_ledidi(fn, model, X, l, steps, eps):
    """ledidi on each seed of X (N, 4, L), one call per seed.

    Returns the picked designs (N, 4, L), the sample of ledidi's returned batch with the highest task
    output, and the returned batches (N, SAMPLES, 4, L).
    """
    picks, batches = [], []
    for i in range(X.shape[0]):
        batch = fn(
            model,
            X[i : i + 1],
            torch.zeros(1, 1),  # y_bar: required by ledidi, unused by _raise_output
            target=TASK,
            output_loss=_raise_output,
            l=l,
            tau=TAU,
            batch_size=SAMPLES,
            max_iter=steps,
            early_stopping_iter=steps,  # never stops early: exactly `steps` steps
            lr=LR,
            eps=eps,
            verbose=False,
            device="cpu",
            random_state=i,
        ).detach()
        with torch.no_grad():
            pick = int(model(batch)[:, TASK].argmax())
        picks.append(batch[pick])
        batches.append(batch)
    return torch.stack(picks), torch.stack(batches)


def _calibrate(run, budget: int) -> tuple[float, list[list[float]]]:
    """Geometric bisection of ledidi's ``l`` so that its designs' mean edits come close to ``budget``.

    ``run(l)`` returns the mean edits of ledidi's designs (fewer for a larger ``l``). Returns the
    ``l`` whose mean edits are closest to the budget (the fewer edits on a tie) and the
    ``[l, mean edits]`` of every evaluation.
    """
    lo, hi = CAL_RANGE
    trace = []
    for _ in range(CAL_EVALS):
        mid = math.sqrt(lo * hi)
        edits = run(mid)
        trace.append([mid, edits])
        if edits > budget:
            lo = mid  # too many edits: weigh them more
        else:
            hi = mid
    best = min(trace, key=lambda t: (abs(t[1] - budget), t[1]))
    return best[0], trace


def bench_gradient(label, model, spec, n, budget, steps, peer_fn, missing, timings, results):
    """Time genodeep's gradient_design against ledidi on one model at equal steps and samples."""
    X = random_seeds(n, LENGTH, random_state=11)
    obj = Objective([model], [spec], [f"max:task{TASK}"], device="cpu")
    out: dict[str, object] = {}
    kwargs = {"steps": steps, "samples": SAMPLES, "lr": LR, "tau": TAU, "edits": budget}

    def ours(X=X):
        out["ours"] = gradient_design(obj, X, random_state=0, **kwargs)

    key = f"design_gradient_{label}_designs_per_min_vs_ledidi"
    name = f"gradient design {label}-like L={LENGTH}, {n} seeds x {steps} steps x {SAMPLES} samples"
    peer_label = (
        f"ledidi.ledidi (one seed per call; batch_size={SAMPLES} Gumbel samples, max_iter=steps, no "
        f"early stopping, output loss -raw task output, lr={LR:g}, prior as genodeep's, l "
        "calibrated to the edit budget; best sample of its returned batch), same model and seeds"
    )
    if peer_fn is None:
        t = compare(name, ours, None, rounds=ROUNDS, warmup=0)
        timings.append(t)
        results[key] = result(None, 1.0, "x ledidi designs/min", peer=peer_label, reason=missing)
        return
    peer_model = copy.deepcopy(model)  # ledidi freezes the parameters of the model it is given
    eps = 1.0 / (3 * (LENGTH - 1) - 1)  # log((1 + eps) / eps) = log(3 (L - 1)), genodeep's prior

    def mean_edits(l):
        picks, _ = _run_ledidi(peer_fn, peer_model, X, l, steps, eps)
        return float(_hamming(picks, X).float().mean())

    l, trace = _calibrate(mean_edits, budget)  # also ledidi's warm-up

    def peer(X=X):
        out["peer"] = _run_ledidi(peer_fn, peer_model, X, l, steps, eps)

    gradient_design(obj, X, random_state=0, **{**kwargs, "steps": 1})  # warm-up
    with _CountForward(model) as c_ours, _CountForward(peer_model) as c_peer:
        t = compare(name, ours, peer, rounds=ROUNDS, warmup=0)
    timings.append(t)

    designs, _history = out["ours"]
    peer_designs, peer_batches = out["peer"]
    with torch.no_grad():
        seed_obj = obj(X)
        ours_gain = obj(designs) - seed_obj
        peer_gain = obj(peer_designs) - seed_obj
        batch_gain = obj(peer_batches.flatten(0, 1)).view(n, SAMPLES) - seed_obj[:, None]
    ours_ham, peer_ham = _hamming(designs, X), _hamming(peer_designs, X)
    batch_ham = _hamming(peer_batches, X[:, None]).float()
    ours_rate = 60.0 * n / t["ours"]["median"]
    peer_rate = 60.0 * n / t["peer"]["median"]
    ours_edits, peer_edits = float(ours_ham.float().mean()), float(peer_ham.float().mean())
    ours_g, peer_g = float(ours_gain.mean()), float(peer_gain.mean())
    print(
        f"  gradient {label}: genodeep {ours_rate:.2f} designs/min, ledidi {peer_rate:.2f} "
        f"designs/min (l={l:.3g}); mean gain genodeep {ours_g:.4f} at {ours_edits:.1f} edits, "
        f"ledidi {peer_g:.4f} at {peer_edits:.1f} edits (budget {budget})"
    )
    results[key] = result(
        ours_rate / peer_rate,
        1.0,
        "x ledidi designs/min",
        peer=peer_label,
        genodeep_designs_per_min=ours_rate,
        ledidi_designs_per_min=peer_rate,
        n_seeds=n,
        steps=steps,
        samples_per_step=SAMPLES,
        lr=LR,
        tau=TAU,
        edit_budget=budget,
        ledidi_l=l,
        ledidi_eps=eps,
        ledidi_l_calibration=trace,
        model_forward_calls_per_run={
            "genodeep": c_ours.calls / ROUNDS,
            "ledidi": c_peer.calls / ROUNDS,
        },
        sequences_per_run={
            "genodeep": c_ours.sequences / ROUNDS,
            "ledidi": c_peer.sequences / ROUNDS,
        },
        mean_seed_objective=float(seed_obj.mean()),
        genodeep_mean_gain=ours_g,
        ledidi_mean_gain=peer_g,
        ledidi_batch_mean_gain=float(batch_gain.mean()),
        genodeep_mean_edits=ours_edits,
        ledidi_mean_edits=peer_edits,
        ledidi_batch_mean_edits=float(batch_ham.mean()),
        genodeep_gain_per_edit=ours_g / ours_edits if ours_edits else None,
        ledidi_gain_per_edit=peer_g / peer_edits if peer_edits else None,
        genodeep_hamming_to_seed=ours_ham.tolist(),
        ledidi_hamming_to_seed=peer_ham.tolist(),
        ledidi_designs_over_budget=int((peer_ham > budget).sum()),
        sequence_length=LENGTH,
        threads=torch.get_num_threads(),
    )


def _merge(results: dict[str, dict], parts: tuple[str, ...]) -> dict[str, dict]:
    """Add the entries of the parts not run from the existing results file (when there is one)."""
    path = RESULTS_DIR / f"bench_design{'.quick' if QUICK else ''}.json"
    if not path.exists():
        return results
    with open(path, encoding="utf-8") as fh:
        old = json.load(fh)
    skipped = tuple(f"_vs_{p}" for p in ("tangermeme", "ledidi") if p not in parts)
    kept = {k: v for k, v in old.items() if k.endswith(skipped)}
    if kept:
        print(f"\nkept from the earlier run in {path.name}: {', '.join(kept)}")
    return {**kept, **results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "part",
        nargs="?",
        default="both",
        choices=("both", "tangermeme", "ledidi"),
        help="which comparison to run (default both); the other's entries are kept from the file",
    )
    args = parser.parse_args(argv)
    parts = ("tangermeme", "ledidi") if args.part == "both" else (args.part,)
    warnings.filterwarnings("ignore")
    results: dict[str, dict] = {}
    timings: list[dict] = []

    torch.manual_seed(0)
    basset = build_model("basset", input_length=LENGTH).eval()
    names = [f"task{i}" for i in range(basset.n_tasks)]
    basset_spec = ModelSpec(input_length=LENGTH, task_names=names, kind="binary")
    torch.manual_seed(1)
    deepbind = build_model("deepbind", n_tasks=1).eval()
    deepbind_spec = ModelSpec(input_length=LENGTH, task_names=["task0"], kind="binary")

    if "tangermeme" in parts:
        peer_fn, peer_module = _tangermeme()
        missing = peer_module if peer_fn is None else None
        args_ = (peer_fn, peer_module, missing, timings, results)
        bench_greedy("basset", basset, basset_spec, N_BASSET, E_BASSET, *args_)
        bench_greedy("deepbind", deepbind, deepbind_spec, N_DEEPBIND, E_DEEPBIND, *args_)
    if "ledidi" in parts:
        peer_fn, missing = _ledidi()
        args_ = (peer_fn, missing, timings, results)
        bench_gradient(
            "deepbind", deepbind, deepbind_spec, N_DEEPBIND, E_GRADIENT, STEPS_DEEPBIND, *args_
        )
        bench_gradient("basset", basset, basset_spec, N_BASSET, E_GRADIENT, STEPS_BASSET, *args_)

    print_timings(timings)
    write_results("design", results if args.part == "both" else _merge(results, parts))
    if QUICK:
        print("(quick mode: sizes shrunk, numbers meaningless)")


if __name__ == "__main__":
    main()
