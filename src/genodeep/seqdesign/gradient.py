"""Gradient design with discrete edits (the Ledidi formulation, Schreiber et al. 2020).

A learnable logit matrix ``W`` (N, 4, L) is added to the seed's log-prior; every step draws ``samples``
one-hot sequences per seed with the straight-through Gumbel-softmax (hard samples forward, softmax
gradients backward), and Adam lowers ``-objective(sample) + edit_penalty * edits beyond the budget``. The seed's
prior is set so that a sample starts with about one edit, so designs grow from the seed rather than from
noise. Every sample is a real sequence: the best one that satisfies the constraints (GC range, forbidden
sites, fixed positions, edit budget) is kept and returned, so the optimiser may explore but a design never
breaks a constraint. Fixed positions cannot change at all (their other bases have zero probability).

This is our own implementation rather than the ``ledidi`` package so that ensembles, raw-output objectives,
fixed positions and constraint checks are the same for every design method.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch
import torch.nn.functional as F

from genodeep._progress import progress
from genodeep._validate import check_positive
from genodeep.seqdesign.constraints import Constraints
from genodeep.seqdesign.objective import Objective

__all__ = ["gradient_design"]

#: factor by which the edit penalty grows (shrinks) each step that most samples overrun (keep) the budget
_ADAPT = 1.25


def gradient_design(
    objective: Objective,
    X: torch.Tensor,
    *,
    steps: int = 200,
    samples: int = 8,
    lr: float = 0.1,
    tau: float = 1.0,
    edit_penalty: float = 1.0,
    edits: int | None = 10,
    constraints: Constraints | None = None,
    random_state: int = 0,
    verbose: bool = False,
) -> tuple[torch.Tensor, pd.DataFrame]:
    """Edit seed sequences by gradient descent over a distribution of discrete edits.

    Parameters
    ----------
    objective : Objective
        What to raise.
    X : torch.Tensor, shape (N, 4, L)
        One-hot seeds.
    steps : int, default 200
        Optimiser steps.
    samples : int, default 8
        Hard Gumbel-softmax samples per seed and step.
    lr : float, default 0.1
        Adam learning rate on the logits.
    tau : float, default 1.0
        Gumbel-softmax temperature.
    edit_penalty : float, default 1.0
        Loss per edit beyond the budget (per edit when there is no budget), in objective units (raw model
        output). Samples may use the whole budget for free; while most samples of a step overrun it, the
        penalty grows by 25 % a step (and falls back towards ``edit_penalty`` when they keep it), so the
        budget binds whatever the scale of the model's output.
    edits : int or None, default 10
        Edit budget unless ``constraints.max_edits`` sets one (``None``: no budget).
    constraints : Constraints, optional
    random_state : int, default 0
    verbose : bool, default False
        A progress bar over steps.

    Returns
    -------
    designs : torch.Tensor, shape (N, 4, L)
        The best valid sample of each seed (the seed itself if no sample beat it).
    history : pandas.DataFrame
        Every 10 steps and the last: ``step``, ``mean_objective`` (best valid so far, mean over seeds),
        ``mean_sample_objective``, ``mean_edits`` of the step's samples, ``seconds``.
    """
    check_positive("steps", steps)
    check_positive("samples", samples)
    check_positive("lr", lr)
    check_positive("tau", tau)
    if edit_penalty < 0:
        raise ValueError(f"edit_penalty must be >= 0; got {edit_penalty}")
    dev = objective.device
    seeds = X.float().to(dev)
    n, c, length = seeds.shape
    cons = (constraints or Constraints()).for_seeds(length, edits)
    budget = cons.max_edits
    gen = torch.Generator(device=dev).manual_seed(int(random_state))

    prior = math.log(3 * max(length - 1, 1))  # P(seed base) ~ 1 - 1/L at the start: ~one edit
    frozen = torch.zeros(1, 1, length, dtype=torch.bool, device=dev)
    for s, e in cons.fixed:
        frozen[..., s:e] = True
    base = seeds * prior
    base = torch.where(frozen & (seeds == 0), torch.tensor(-1e4, device=dev), base)
    penalty = float(edit_penalty)
    W = torch.zeros_like(seeds, requires_grad=True)
    opt = torch.optim.Adam([W], lr=float(lr))

    best_x = seeds.clone()
    best = objective(seeds).detach()
    seeds_rep = seeds.repeat(samples, 1, 1)  # (S*N, 4, L), sample-major
    rows = []
    t0 = time.perf_counter()
    for step in progress(
        range(1, int(steps) + 1), total=int(steps), desc="gradient", verbose=verbose
    ):
        logits = (base + torch.where(frozen, torch.zeros_like(W), W)).repeat(samples, 1, 1)
        u = torch.rand(logits.shape, generator=gen, device=dev).clamp_(1e-10, 1 - 1e-10)
        soft = F.softmax((logits - torch.log(-torch.log(u))) / tau, dim=1)
        hard = F.one_hot(soft.argmax(1), c).permute(0, 2, 1).float()
        xs = hard + soft - soft.detach()  # straight-through
        value = objective(xs, grad=True)  # (S*N,)
        n_edits = (1 - (xs * seeds_rep).sum(1)).sum(-1)
        excess = n_edits if budget is None else F.relu(n_edits - budget)
        loss = (-value + penalty * excess).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=[W])  # the logits only: no weight gradients, the models stay untouched
        opt.step()
        if budget is not None:  # dual ascent: the penalty grows while samples overrun the budget
            over = bool((n_edits.detach() > budget).float().mean() > 0.5)
            penalty = penalty * _ADAPT if over else max(penalty / _ADAPT, edit_penalty)
        with torch.no_grad():
            v = value.detach().view(samples, n)
            ok = cons.valid(hard, seeds_rep).view(samples, n)
            v = torch.where(ok, v, torch.tensor(-torch.inf, device=dev))
            top, arg = v.max(0)
            better = top > best
            if better.any():
                pick = hard.view(samples, n, c, length)[arg, torch.arange(n, device=dev)]
                best_x[better] = pick[better]
                best = torch.where(better, top, best)
        if step % 10 == 0 or step == steps:
            rows.append(
                {
                    "step": step,
                    "mean_objective": float(best.mean()),
                    "mean_sample_objective": float(value.detach().mean()),
                    "mean_edits": float(n_edits.detach().mean()),
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
    return best_x.cpu(), pd.DataFrame(rows)
