"""Augmentation of training batches, one implementation for every dataset: reverse complement (sequence
channels and positions flipped, per-position targets and tracks flipped along positions) and random shifts.

Each dataset draws from an :class:`AugmentRng` (reseeded per DataLoader worker) in a fixed order: shifts
first, then flips, so that a run is reproducible under ``random_state``.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from genodeep.seq.encode import reverse_complement

__all__ = ["AugmentRng", "random_shifts", "rc_flip", "shift_pad"]


class AugmentRng:
    """A numpy Generator that is reseeded in each DataLoader worker (and each epoch's workers).

    In the main process it is ``default_rng(random_state)``; in a worker it is seeded from the
    dataset's entropy and the worker's torch seed, so workers draw different augmentations and a
    run is reproducible under ``torch.manual_seed`` and ``random_state``.
    """

    def __init__(self, random_state: object) -> None:
        if isinstance(random_state, np.random.Generator):
            self._entropy = int(random_state.integers(0, 2**63))
        elif random_state is None:
            self._entropy = int(np.random.SeedSequence().entropy % 2**63)
        else:
            self._entropy = int(random_state)
        self._owner: object = None
        self._gen: np.random.Generator | None = None

    def get(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), None if info is None else (info.id, info.seed))
        if self._gen is None or owner != self._owner:
            seed = self._entropy if info is None else [self._entropy, int(info.seed % 2**63)]
            self._gen = np.random.default_rng(seed)
            self._owner = owner
        return self._gen


def random_shifts(rng: np.random.Generator, n: int, max_shift: int) -> np.ndarray:
    """``n`` offsets drawn uniformly from ``[-max_shift, max_shift]``, shape ``(n,)`` int64."""
    return rng.integers(-max_shift, max_shift + 1, size=n)


def rc_flip(rng: np.random.Generator, x, *positional):
    """Reverse-complement a random half of a batch, in place on the caller's batch arrays.

    Parameters
    ----------
    rng : numpy Generator
        Draws one coin per row (``rng.random(B) < 0.5``).
    x : np.ndarray or torch.Tensor, shape (B, 4, L)
        One-hot sequences (A, C, G, T): the chosen rows get channels and positions flipped.
    *positional : np.ndarray or torch.Tensor of shape (B, C, L_out), or None
        Per-position targets or tracks of the same rows: flipped along positions (the last axis).
        Tensors with fewer than 3 dimensions (one value per row) are left as they are.

    Returns
    -------
    (x, *positional) : the same objects, with the chosen rows flipped.
    """
    flip = rng.random(x.shape[0]) < 0.5
    if flip.any():
        if isinstance(x, np.ndarray) and not x.flags.writeable:
            x = x.copy()
        rows = flip if isinstance(x, np.ndarray) else torch.from_numpy(flip)
        x[rows] = reverse_complement(x[rows])
        out = []
        for t in positional:
            if t is not None and t.ndim == 3:
                r = flip if isinstance(t, np.ndarray) else torch.from_numpy(flip)
                t[r] = t[r][..., ::-1] if isinstance(t, np.ndarray) else t[r].flip(-1)
            out.append(t)
        return (x, *out)
    return (x, *positional)


def shift_pad(X: torch.Tensor, shifts: np.ndarray) -> torch.Tensor:
    """Each row of ``X`` moved along its positions by its shift, padded with N (zeros).

    Parameters
    ----------
    X : torch.Tensor, shape (B, C, L)
        One-hot sequences (or any per-position channels).
    shifts : np.ndarray int, shape (B,)
        Offsets: a positive ``s`` moves the content right (``out[:, :, i] = X[:, :, i - s]``), a
        negative one left; positions with no source are zero.

    Returns
    -------
    torch.Tensor, shape (B, C, L)
        A new tensor; ``X`` is not changed.
    """
    length = X.shape[-1]
    src = np.arange(length)[None, :] - np.asarray(shifts, dtype=np.int64)[:, None]  # (B, L)
    inside = torch.from_numpy((src >= 0) & (src < length))
    src_t = torch.from_numpy(np.clip(src, 0, length - 1))
    out = torch.gather(X, 2, src_t[:, None, :].expand(-1, X.shape[1], -1))
    return out * inside[:, None, :].to(out.dtype)
