"""An additive (linear) design model and its exact optimum, shared by the evolution and gradient tests."""

from __future__ import annotations

import numpy as np
import torch

from genodeep.models.spec import ModelSpec
from genodeep.seqdesign.objective import Objective
from toy_models import linear_model


def linear_objective(seed: int = 0, length: int = 60):
    """A one-task linear model of ``length`` bases and the objective ``max:y`` over it."""
    model = linear_model(length, 1, seed=seed)
    spec = ModelSpec(task_names=["y"], kind="regression", input_length=length)
    return model, Objective([model], [spec], "max:y", device="cpu")


def linear_value(model, X: torch.Tensor) -> np.ndarray:
    """The model's output for one-hot ``X`` (N, 4, L), computed with numpy, (N,)."""
    w, b = model.weight.detach().numpy()[0], model.bias.detach().numpy()[0]
    return np.einsum("ncl,cl->n", X.numpy(), w) + b


def best_gain(model, X: torch.Tensor, edits: int, fixed=()) -> np.ndarray:
    """The largest gain reachable with ``edits`` substitutions outside ``fixed`` ranges: the sum of the
    top per-position gains ``max_b w[b, l] - w[seed, l]``, (N,)."""
    w = model.weight.detach().numpy()[0]  # (4, L)
    out = []
    for x in X.numpy():
        gain = w.max(0) - (w * x).sum(0)
        for s, e in fixed:
            gain[s:e] = 0
        out.append(np.sort(gain)[::-1][:edits].sum())
    return np.array(out)
