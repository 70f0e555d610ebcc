"""In-silico experiments: insert motifs into background sequences and measure the model's response.

The review's Fig. 2 grammar seen from the model's side: :func:`insert_motif_effect` measures how much a
motif alone moves the output; :func:`spacing_effect` inserts two motifs at a range of spacings and
reports the effect against spacing, next to the single-motif effects (a model that learned a spacing
rule shows a peak above the additive expectation at that spacing). Effects are paired differences on
the same background sequences: ``f(background with the motif(s)) - f(background)``, on the output chosen
by ``target`` (raw model outputs, e.g. logits). Motifs are inserted as their consensus (the most
probable letter per column) unless a sequence string is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._batching import predict
from genodeep._validate import check_positive
from genodeep.interpret._targets import check_target, select_output
from genodeep.seq import encode, one_hot, sample_background

__all__ = ["InsertionEffect", "insert_motif_effect", "spacing_effect"]


class InsertionEffect(NamedTuple):
    """What :func:`insert_motif_effect` returns.

    Attributes
    ----------
    mean : float
        Mean effect over the background sequences.
    effects : np.ndarray float64, shape (n_background,)
        ``f(with motif) - f(background)`` per sequence.
    """

    mean: float
    effects: np.ndarray

    @property
    def sem(self) -> float:
        """Standard error of the mean effect."""
        e = self.effects
        return float(e.std(ddof=1) / np.sqrt(e.size)) if e.size > 1 else float("nan")


def _motif_codes(motif, argument: str) -> np.ndarray:
    """uint8 codes (w,) of a consensus string or of the argmax of a (4, w) matrix."""
    if isinstance(motif, str):
        if not motif:
            raise ValueError(f"{argument} is an empty string; give a sequence or a (4, w) matrix")
        codes = np.asarray(encode(motif)).reshape(-1)
        if np.any(codes > 3):
            raise ValueError(
                f"{argument}={motif!r} contains N or ambiguity codes; give A, C, G, T only (or a "
                "(4, w) matrix, whose consensus is inserted)"
            )
        return codes.astype(np.uint8)
    arr = np.asarray(motif.detach().cpu() if hasattr(motif, "detach") else motif, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise ValueError(
            f"{argument} had shape {arr.shape} while it should have had (4, w) (rows A, C, G, T), "
            "or give a consensus string"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argument} has NaN or infinite values")
    return arr.argmax(axis=0).astype(np.uint8)


def _backgrounds(model, background, n_background, length, gc, random_state) -> torch.Tensor:
    """Background one-hot sequences (n, 4, L) float32."""
    if background is not None:
        bg = torch.from_numpy(background) if isinstance(background, np.ndarray) else background
        if not isinstance(bg, torch.Tensor) or bg.ndim != 3 or bg.shape[1] != 4 or bg.shape[0] == 0:
            shape = tuple(bg.shape) if hasattr(bg, "shape") else type(bg).__name__
            raise ValueError(
                f"background had shape {shape} while it should have had (n, 4, L) one-hot "
                "sequences; or leave it None to sample i.i.d. backgrounds"
            )
        return bg.float()
    check_positive("n_background", n_background)
    if length is None:
        length = getattr(model, "input_length", None)
    if length is None:
        raise ValueError(
            "length is needed: the model accepts any input length; give length= (bases)"
        )
    check_positive("length", length)
    seqs = sample_background(int(n_background), int(length), gc=gc, random_state=random_state)
    return one_hot(seqs, dtype=torch.float32)


def _insert(X: torch.Tensor, codes: np.ndarray, position: int) -> torch.Tensor:
    """Copy of ``X`` with the motif ``codes`` written at ``position`` in every sequence."""
    out = X.clone()
    w = codes.shape[0]
    block = torch.zeros(4, w, dtype=out.dtype)
    block[torch.from_numpy(codes.astype(np.int64)), torch.arange(w)] = 1
    out[:, :, position : position + w] = block
    return out


def _outputs(model, X, target, batch_size, device, dtype, verbose) -> np.ndarray:
    check_target(target)
    y = predict(model, X, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose)
    return select_output(y, target).double().numpy()


def insert_motif_effect(
    model: nn.Module,
    motif: np.ndarray | str,
    *,
    n_background: int = 100,
    length: int | None = None,
    gc: float = 0.5,
    position: int | None = None,
    background: torch.Tensor | np.ndarray | None = None,
    target: Any = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = None,
    verbose: bool = False,
) -> InsertionEffect:
    """Effect on the model output of inserting a motif into background sequences.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(b, 4, L)`` to outputs reduced by ``target``.
    motif : array (4, w) or str
        A PWM/PFM (its consensus is inserted) or a sequence of A, C, G, T.
    n_background : int, default 100
        Background sequences sampled (i.i.d. bases, G+C fraction ``gc``), unless ``background``.
    length : int, optional
        Background length; default the model's ``input_length``.
    gc : float, default 0.5
        G+C fraction of the sampled backgrounds.
    position : int, optional
        0-based start of the insertion; default the centre ``(L - w) // 2``.
    background : torch.Tensor or np.ndarray, shape (n, 4, L), optional
        Use these backgrounds (e.g. dinucleotide shuffles of real sequences) instead of sampling.
    target : None, int, list of int or callable, default None
        Output explained (see :mod:`genodeep.interpret._targets`; ``None`` sums all outputs).
    batch_size, device, dtype, verbose
        Batched forward options.
    random_state : int, optional
        Seed of the sampled backgrounds.

    Returns
    -------
    InsertionEffect
        ``(mean, effects)``: the mean and the per-sequence ``f(with motif) - f(background)``
        (``.sem`` gives the standard error).
    """
    codes = _motif_codes(motif, "motif")
    X = _backgrounds(model, background, n_background, length, gc, random_state)
    L, w = X.shape[-1], codes.shape[0]
    if w > L:
        raise ValueError(f"the motif ({w} bases) is longer than the sequences ({L} bases)")
    if position is None:
        position = (L - w) // 2
    if not 0 <= int(position) <= L - w:
        raise ValueError(
            f"position={position!r} must lie in 0..{L - w} so that the {w}-base motif fits in "
            f"{L} bases"
        )
    y0 = _outputs(model, X, target, batch_size, device, dtype, verbose)
    y1 = _outputs(
        model, _insert(X, codes, int(position)), target, batch_size, device, dtype, verbose
    )
    effects = y1 - y0
    return InsertionEffect(float(effects.mean()), effects)


def spacing_effect(
    model: nn.Module,
    motif_a: np.ndarray | str,
    motif_b: np.ndarray | str,
    spacings: Iterable[int],
    *,
    n_background: int = 100,
    length: int | None = None,
    gc: float = 0.5,
    position: int | None = None,
    background: torch.Tensor | np.ndarray | None = None,
    target: Any = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    random_state: int | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Effect of two motifs inserted together, against the spacing between them.

    ``motif_a`` is inserted at ``position`` and ``motif_b`` ``spacing`` bases after ``motif_a``'s end
    (the spacing of :func:`genodeep.seq.simulate_grammar`), into the same backgrounds for every
    spacing. The single-motif effects are measured at the same positions, so ``additive`` is what a
    model without interaction would give.

    Parameters
    ----------
    model : torch.nn.Module
    motif_a, motif_b : array (4, w) or str
        PWMs (consensus inserted) or sequences.
    spacings : iterable of int
        Gaps (bases, >= 0) between the end of ``motif_a`` and the start of ``motif_b``.
    n_background, length, gc, background, target, batch_size, device, dtype, random_state, verbose
        As in :func:`insert_motif_effect`.
    position : int, optional
        Start of ``motif_a``; default: the pair at the largest spacing is centred.

    Returns
    -------
    pandas.DataFrame
        One row per spacing: ``spacing``, ``mean`` and ``sem`` of ``f(a + b) - f(background)``,
        ``effect_a`` and ``effect_b`` (mean effects of ``a`` at its position and ``b`` at its position
        alone), ``additive`` (``effect_a + effect_b``), ``interaction`` (``mean - additive``), ``n``.
    """
    codes_a = _motif_codes(motif_a, "motif_a")
    codes_b = _motif_codes(motif_b, "motif_b")
    gaps = [int(s) for s in spacings]
    if not gaps:
        raise ValueError("spacings is empty; give at least one spacing (bases)")
    if min(gaps) < 0:
        raise ValueError(f"spacings must be >= 0 (bases between the motifs), got {min(gaps)}")
    X = _backgrounds(model, background, n_background, length, gc, random_state)
    L, wa, wb = X.shape[-1], codes_a.shape[0], codes_b.shape[0]
    span = wa + wb + max(gaps)
    if span > L:
        raise ValueError(
            f"the motifs ({wa} + {wb} bases) at spacing {max(gaps)} need {span} bases; the "
            f"sequences have {L}: use smaller spacings or longer sequences"
        )
    if position is None:
        position = (L - span) // 2
    position = int(position)
    if not 0 <= position <= L - span:
        raise ValueError(
            f"position={position} must lie in 0..{L - span} so that both motifs fit at every spacing"
        )
    opts = (target, batch_size, device, dtype, verbose)
    y0 = _outputs(model, X, *opts)
    with_a = _insert(X, codes_a, position)
    effect_a = float((_outputs(model, with_a, *opts) - y0).mean())
    rows = []
    for gap in gaps:
        pos_b = position + wa + gap
        e_b = float((_outputs(model, _insert(X, codes_b, pos_b), *opts) - y0).mean())
        e_ab = _outputs(model, _insert(with_a, codes_b, pos_b), *opts) - y0
        n = e_ab.size
        sem = float(e_ab.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        mean = float(e_ab.mean())
        rows.append(
            {
                "spacing": gap,
                "mean": mean,
                "sem": sem,
                "effect_a": effect_a,
                "effect_b": e_b,
                "additive": effect_a + e_b,
                "interaction": mean - (effect_a + e_b),
                "n": n,
            }
        )
    return pd.DataFrame(rows)
