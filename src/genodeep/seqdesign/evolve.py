"""Greedy and beam in-silico evolution: each round, every single-base substitution is scored in one exact
fast ISM pass (:func:`genodeep.interpret.saturation_mutagenesis`) and the best allowed ones are applied.

- ``beam=1`` (greedy): the best allowed substitution is applied while it raises the objective; a sequence
  stops when none does or its edit budget is spent.
- ``beam=B``: each seed keeps the ``B`` best distinct sequences reachable with one more substitution,
  improving or not, for ``edits`` rounds; the best sequence seen is returned.

The edit budget counts positions that differ from the seed (a substitution back to the seed's base frees
one); fixed positions, the GC range and forbidden sites are enforced on every move
(:meth:`~genodeep.seqdesign.constraints.Constraints.allowed`).
"""

from __future__ import annotations

import time

import pandas as pd
import torch

from genodeep._progress import progress
from genodeep._validate import check_positive
from genodeep.seqdesign.constraints import Constraints
from genodeep.seqdesign.objective import Objective

__all__ = ["evolve"]

#: an improvement below this (objective units) does not count as one
TOL = 1e-6


def evolve(
    objective: Objective,
    X: torch.Tensor,
    *,
    edits: int = 10,
    beam: int = 1,
    constraints: Constraints | None = None,
    batch_size: int | None = None,
    verbose: bool = False,
) -> tuple[torch.Tensor, pd.DataFrame]:
    """Edit seed sequences one base at a time towards a higher objective.

    Parameters
    ----------
    objective : Objective
        What to raise (:class:`~genodeep.seqdesign.objective.Objective`).
    X : torch.Tensor, shape (N, 4, L)
        One-hot seeds.
    edits : int, default 10
        Rounds of substitutions; also the edit budget unless ``constraints.max_edits`` sets one.
    beam : int, default 1
        Sequences kept per seed (1 = greedy).
    constraints : Constraints, optional
    batch_size : int, optional
        Mutants per ISM batch (default: sized by the ISM).
    verbose : bool, default False
        A progress bar over rounds.

    Returns
    -------
    designs : torch.Tensor, shape (N, 4, L)
        The best sequence found for each seed (the seed itself when nothing allowed raises it).
    history : pandas.DataFrame
        One row per round: ``round``, ``mean_objective`` (best so far, mean over seeds), ``best_objective``,
        ``active`` (sequences still evolving), ``seconds``.
    """
    check_positive("edits", edits)
    check_positive("beam", beam)
    seeds = X.float().cpu()
    n, c, length = seeds.shape
    cons = (constraints or Constraints()).for_seeds(length, edits)
    b = int(beam)
    seeds_rep = seeds.repeat_interleave(b, 0)  # (N*B, 4, L)
    cur = seeds_rep.clone()
    alive = torch.zeros(n, b, dtype=torch.bool)
    alive[:, 0] = True  # at the start every beam member is the seed: expand one
    score = torch.full((n, b), -torch.inf)
    score[:, 0] = objective(seeds).cpu()
    best_x, best = seeds.clone(), score[:, 0].clone()
    ism = {} if batch_size is None else {"batch_size": batch_size}
    rows = [_row(0, best, alive, 0.0)]
    t0 = time.perf_counter()
    for r in progress(range(1, int(edits) + 1), total=int(edits), desc="evolve", verbose=verbose):
        idx = alive.view(-1).nonzero().squeeze(1)
        if len(idx) == 0:
            break
        sub = objective.substitutions(cur[idx], **ism).cpu()
        ok = cons.allowed(cur[idx], seeds_rep[idx])
        cand = torch.full((n * b, c, length), -torch.inf)
        cand[idx] = torch.where(ok, sub, torch.tensor(-torch.inf))
        cand = cand.view(n, b * c * length)
        if b == 1:
            top, where = cand.max(1)
            move = top > score[:, 0] + TOL
            moved = move.nonzero().squeeze(1)
            base, pos = where[moved] // length, where[moved] % length
            cur[moved, :, pos] = 0
            cur[moved, base, pos] = 1
            score[:, 0] = torch.where(move, top, score[:, 0])
            alive[:, 0] &= move
        else:
            cur, score, alive = _beam_step(cur, cand, b, c, length)
        flat = score.view(n, b)
        top, arg = flat.max(1)
        better = top > best
        best_x[better] = cur.view(n, b, c, length)[torch.arange(n), arg][better]
        best = torch.where(better, top, best)
        rows.append(_row(r, best, alive, time.perf_counter() - t0))
    return best_x, pd.DataFrame(rows)


def _row(r: int, best: torch.Tensor, alive: torch.Tensor, seconds: float) -> dict:
    finite = best[torch.isfinite(best)]
    return {
        "round": r,
        "mean_objective": float(finite.mean()) if len(finite) else float("nan"),
        "best_objective": float(finite.max()) if len(finite) else float("nan"),
        "active": int(alive.sum()),
        "seconds": round(seconds, 3),
    }


def _beam_step(
    cur: torch.Tensor, cand: torch.Tensor, b: int, c: int, length: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``b`` best distinct one-substitution children of each seed's beam.

    cur : (N*B, C, L); cand : (N, B*C*L) objective of each child (-inf where not allowed).
    Returns the new beam (N*B, C, L), its objectives (N, B) and which members exist (N, B).
    """
    n = cand.shape[0]
    k = min(cand.shape[1], 4 * b)
    vals, where = cand.topk(k, dim=1)
    new = cur.clone()
    score = torch.full((n, b), -torch.inf)
    alive = torch.zeros(n, b, dtype=torch.bool)
    for i in range(n):
        seen: set[bytes] = set()
        j = 0
        for v, w in zip(vals[i].tolist(), where[i].tolist(), strict=True):
            if j == b or v == -float("inf"):
                break
            member, rest = divmod(w, c * length)
            child = cur[i * b + member].clone()
            base, pos = divmod(rest, length)
            child[:, pos] = 0
            child[base, pos] = 1
            key = child.argmax(0).to(torch.uint8).numpy().tobytes()
            if key in seen:
                continue
            seen.add(key)
            new[i * b + j] = child
            score[i, j] = v
            alive[i, j] = True
            j += 1
    return new, score, alive
