"""Simulated data sources: planted motif grammars, sequence + accessibility, graphs."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import torch

from genodeep import example_data
from genodeep._progress import log
from genodeep._signature import parameters
from genodeep._validate import check_choice
from genodeep.data.bundle import (
    DataBundle,
    Split,
    as_labels,
    inputs_dataset,
    random_split,
    subset_split,
)
from genodeep.data.datasets import SequenceDataset
from genodeep.data.simulate import simulate_multimodal
from genodeep.io import read_motifs
from genodeep.io.motifs import select_motifs
from genodeep.seq import one_hot, simulate_grammar, simulate_motif_presence


def _simulators() -> dict[str, Callable]:

    return {"grammar": simulate_grammar, "presence": simulate_motif_presence}


#: simulator arguments the loader supplies itself (from ``motifs``/``names``/``random_state``).
_SIM_RESERVED = ("random_state", "verbose", "motifs", "motif_a", "motif_b", "names")


def augment_sequences(
    split: Split, rc_augment: bool, max_shift: int, random_state: int | None
) -> None:
    """Give an in-memory training split of one-hot sequences on-the-fly augmentation: a
    :class:`~genodeep.data.SequenceDataset` with reverse complements and/or N-padded shifts."""
    if rc_augment or max_shift:
        split.dataset = SequenceDataset(
            split.X, split.y, rc_augment=rc_augment, max_shift=max_shift, random_state=random_state
        )


def load_simulated_data(
    *,
    simulate: Literal["grammar", "presence"] = "grammar",
    motifs: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    rc_augment: bool = False,
    max_shift: int = 0,
    random_state: int | None = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> DataBundle:
    """Simulated sequences with planted motifs, split at random.

    Parameters
    ----------
    simulate : {"grammar", "presence"}
        :func:`genodeep.seq.simulate_grammar` (two motifs at a fixed spacing and order in positives,
        the same motifs at other spacings in negatives) or :func:`genodeep.seq.simulate_motif_presence`
        (one task per motif: present or absent).
    motifs : path, optional
        Motif file (MEME, JASPAR, PFM); default the motifs shipped with genodeep.
    names : list of str, optional
        Motifs to use (ID, name or "ID name"); default the first two (grammar) or all (presence).
    valid_fraction, test_fraction : float
        Fractions of the rows held out.
    rc_augment, max_shift
        On-the-fly augmentation of the training sequences: reverse complements, and random shifts
        of up to ``max_shift`` bases padded with N (see :class:`genodeep.data.SequenceDataset`).
    random_state : int, optional
        Seed of the simulation, the split and the augmentation.
    **kwargs
        Other keyword arguments of the simulator: ``n``, ``length``, ``spacing``, ``order``, ``gc``,
        ``positive_fraction``, ``n_per_seq`` (see the simulator).

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``; task ``"grammar"`` or one task per motif.
    """

    sims = _simulators()
    check_choice("simulate", simulate, sims)
    func = sims[simulate]
    allowed = parameters(func, exclude=_SIM_RESERVED)
    for key in kwargs:
        if key not in allowed:
            raise ValueError(
                f"simulate={simulate!r} has no argument {key!r}; valid ones are: {', '.join(allowed)}"
            )
    if motifs is None:
        motifs = example_data.motifs()
    pwms = read_motifs(motifs)
    if names:
        pwms = select_motifs(pwms, list(names))
    if simulate == "grammar":
        if len(pwms) < 2 or (names and len(pwms) != 2):
            raise ValueError(
                f"simulate='grammar' needs exactly 2 motifs in names=, got {list(pwms)}"
            )
        (na, a), (nb, b) = list(pwms.items())[:2]
        seqs, y, _ = func(motif_a=a, motif_b=b, names=(na, nb), random_state=random_state, **kwargs)
        task_names = ["grammar"]
    else:
        seqs, y, _ = func(motifs=pwms, random_state=random_state, **kwargs)
        task_names = list(pwms)
    X = one_hot(list(seqs)).to(torch.int8)
    y = as_labels(y, X.shape[0])
    ids = pd.DataFrame({"name": [f"seq{i}" for i in range(len(X))]})
    tr, va, te = random_split(len(X), valid_fraction, test_fraction, random_state)
    splits = {
        "train": subset_split(X, y, ids, tr),
        "valid": subset_split(X, y, ids, va),
        "test": subset_split(X, y, ids, te),
    }
    augment_sequences(splits["train"], rc_augment, max_shift, random_state)
    if verbose:
        log(f"simulated {simulate}: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=task_names, kind="binary", input_length=int(X.shape[-1]))


def check_wrapped_kwargs(func: Callable, kwargs: Mapping[str, Any], what: str, reserved) -> None:
    allowed = parameters(func, exclude=reserved)
    for key in kwargs:
        if key not in allowed:
            raise ValueError(
                f"{what} has no argument {key!r}; valid ones are: {', '.join(allowed)}"
            )


def load_simulated_multimodal_data(
    *,
    track: bool = True,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    rc_augment: bool = False,
    random_state: int | None = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> DataBundle:
    """Windows whose label is "motif present AND chromatin open" (:func:`genodeep.data.simulate.simulate_multimodal`).

    Parameters
    ----------
    track : bool, default True
        Give the model the accessibility track (``False``: the sequence-only control, where the
        best possible auROC is 5/6 with the default probabilities).
    valid_fraction, test_fraction : float
        Fractions of the rows held out at random.
    rc_augment : bool
        Reverse-complement half of the training rows on the fly (sequence and track flipped
        together). Random shifts are not offered: the track would have to move with the sequence.
    random_state : int, optional
        Seed of the simulation, the split and the augmentation.
    **kwargs
        Arguments of the simulator: ``n`` (required), ``length``, ``motif``, ``p_motif``, ``p_open``,
        ``peak_height``, ``peak_width``, ``background``, ``bin_size``, ``n_features``, ``gc``.

    Returns
    -------
    DataBundle
        ``X`` = ``(sequence (N, 4, L), [track (N, 1, L // bin_size)], [features (N, F)])``; one
        binary task ``"bound"``; ``ids`` column ``name``.
    """

    check_wrapped_kwargs(simulate_multimodal, kwargs, "simulate_multimodal", ("random_state",))
    sim = simulate_multimodal(random_state=random_state, **kwargs)
    parts, names = [sim.X], ["sequence"]
    if track:
        parts.append(sim.track)
        names.append("track")
    if sim.features is not None:
        parts.append(sim.features)
        names.append("features")
    X = tuple(parts) if len(parts) > 1 else sim.X
    y = as_labels(sim.y, len(sim))
    ids = pd.DataFrame({"name": [f"seq{i}" for i in range(len(sim))]})
    tr, va, te = random_split(len(sim), valid_fraction, test_fraction, random_state)
    splits = {
        k: subset_split(X, y, ids, i) for k, i in (("train", tr), ("valid", va), ("test", te))
    }
    if rc_augment:
        tr_split = splits["train"]
        if isinstance(tr_split.X, tuple):
            tr_split.dataset = inputs_dataset(
                tr_split.X, tr_split.y, rc_augment=True, random_state=random_state
            )
        else:
            augment_sequences(tr_split, True, 0, random_state)
    if verbose:
        log("simulated multimodal: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    model_args = {
        "track_channels": int(sim.track.shape[1]) if track else 0,
        "n_features": 0 if sim.features is None else int(sim.features.shape[1]),
    }
    return DataBundle(
        **splits,
        task_names=["bound"],
        kind="binary",
        input_length=int(sim.X.shape[-1]),
        input_kind="multimodal" if len(parts) > 1 else "sequence",
        inputs=tuple(names),
        model_args=model_args,
    )
