"""Data sources: one loader per ``data.kind`` of a config, each returning a :class:`~genodeep.data.bundle.DataBundle`.

:data:`DATA_KINDS` maps a kind to its loader; a config's ``data:`` keys are the loader's keyword arguments
(:func:`loader_parameters`), and :func:`build_data` calls it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._signature import parameters, type_hints
from genodeep._validate import InputFileError, check_choice, check_positive
from genodeep.data import (
    GenomeDataset,
    labels_from_table,
    multitask_labels,
    read_fasta_dataset,
    split_by_chrom,
    split_by_region,
    tile_genome,
)
from genodeep.data._graph_sources import load_graph_data, load_simulated_graph_data
from genodeep.data._sim_sources import (
    _SIM_RESERVED,
    _simulators,
    augment_sequences,
    load_simulated_data,
    load_simulated_multimodal_data,
)
from genodeep.data.bundle import (
    DataBundle,
    Kind,
    Split,
    as_labels,
    infer_kind,
    inputs_dataset,
    random_split,
    subset_split,
)
from genodeep.data.footprint_files import load_simulated_profile_data
from genodeep.data.multimodal import GenomeMultimodalDataset
from genodeep.data.profile import load_profile_data
from genodeep.data.simulate import simulate_graph_labels, simulate_multimodal
from genodeep.io import Genome, read_signal
from genodeep.seq import one_hot_codes


def _named_paths(paths: Any) -> dict[str, Any]:
    """``{name: path}`` from a mapping, or from a list of paths (named by their file stems)."""
    if isinstance(paths, Mapping):
        return {str(k): v for k, v in paths.items()}
    return {Path(os.fspath(p)).name.split(".")[0]: p for p in paths}


def _window_signal(path, windows: pd.DataFrame, width: int, agg: str) -> np.ndarray:
    """The ``agg`` of a signal file over each window, shape ``(N,)``."""

    v = read_signal(path).values(
        windows["chrom"].tolist(),
        windows["start"].to_numpy(),
        int(width),
        bin_size=int(width),
        agg=agg,
    )
    return np.asarray(v, dtype=np.float32).reshape(len(windows), -1)[:, 0]


def _window_inputs(
    genome, windows: pd.DataFrame, X: torch.Tensor, *, width: int, tracks, track_bin: int,
    track_agg: str, track_transform: str | None, features,
) -> tuple[tuple[torch.Tensor, ...], tuple[str, ...], dict[str, int]]:  # fmt: skip
    """Inputs of a multimodal model over genome windows: ``(X (N, 4, L), [track (N, C, L //
    track_bin)], [features (N, F)])``, their names and the model arguments they fix."""

    parts, names = [X], ["sequence"]
    args = {"track_channels": 0, "n_features": 0}
    if tracks:
        named = _named_paths(tracks)
        ds = GenomeMultimodalDataset(
            genome,
            windows,
            tracks={k: read_signal(v) for k, v in named.items()},
            bin_size=track_bin,
            agg=track_agg,
            transform=track_transform,
        )
        n, step = len(windows), 4096
        chunks = [ds.get_batch(np.arange(i, min(i + step, n)))[0][1] for i in range(0, n, step)]
        parts.append(torch.cat(chunks))
        names.append("track")
        args["track_channels"] = len(named)
    if features:
        cols = [_window_signal(p, windows, width, "mean") for p in _named_paths(features).values()]
        f = np.stack(cols, axis=1)
        if track_transform == "log1p":
            f = np.log1p(np.maximum(f, 0.0))
        parts.append(torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)))
        names.append("features")
        args["n_features"] = f.shape[1]
    return tuple(parts), tuple(names), args


def load_genome_data(
    genome: str | os.PathLike,
    *,
    beds: Mapping[str, str | os.PathLike] | None = None,
    signal: Mapping[str, str | os.PathLike] | None = None,
    tracks: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike] | None = None,
    track_bin: int = 1,
    track_agg: Literal["mean", "sum", "max"] = "mean",
    track_transform: Literal["log1p"] | None = "log1p",
    features: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike] | None = None,
    width: int = 200,
    stride: int | None = None,
    chroms: Sequence[str] | None = None,
    min_overlap: float = 0.5,
    relative_to: Literal["smaller", "window", "interval"] = "smaller",
    split: Literal["region", "chrom"] = "region",
    valid: str | Sequence[str] | None = None,
    test: str | Sequence[str] | None = None,
    boundary: Literal["drop", "centre"] = "drop",
    agg: Literal["mean", "sum", "max"] = "mean",
    log1p: bool = False,
    max_n_fraction: float = 0.1,
    train_negatives: float | None = None,
    rc_augment: bool = False,
    max_shift: int = 0,
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Fixed-width windows tiled over a genome, labelled by peaks (binary) or a signal (regression).

    Parameters
    ----------
    genome : path
        FASTA (plain, gzip or bgzip).
    beds : mapping task name -> BED path, optional
        One binary task per BED: a window is positive when a peak overlaps it by at least
        ``min_overlap`` of the smaller of the two (``relative_to``, see
        :func:`genodeep.data.multitask_labels`).
    signal : mapping task name -> bigWig/wiggle/bedGraph path, optional
        One regression task per track: the ``agg`` of the signal over each window (``log1p`` optional).
        Give ``beds`` or ``signal``, not both.
    tracks : mapping name -> bigWig/wiggle/bedGraph path, or list of paths, optional
        Signal tracks as model *inputs* (one channel each) for a multimodal model: ``X`` becomes
        ``(sequence, track (N, C, L // track_bin))``, read with
        :class:`genodeep.data.multimodal.GenomeMultimodalDataset`.
    track_bin, track_agg, track_transform
        Bases per track bin (1 = per base, needed for early fusion), aggregation within a bin, and
        the transform of the values (``log1p`` or null).
    features : mapping name -> signal path, or list of paths, optional
        A per-window feature vector as model input: the mean of each signal over the window
        (``track_transform`` applied), e.g. conservation scores.
    width, stride : int
        Window width ``L`` and step (default ``width``, no overlap), see :func:`genodeep.data.tile_genome`.
    chroms : list of str, optional
        Chromosomes to tile (default all).
    split : {"region", "chrom"}
        Hold out regions (``valid``/``test`` = ``"chrom:start-end"``) or whole chromosomes
        (``valid``/``test`` = lists of names). ``boundary`` decides where windows straddling a
        region boundary go (:func:`genodeep.data.split_by_region`).
    max_n_fraction : float
        Windows with more than this fraction of N bases are dropped.
    train_negatives : float, optional
        Keep only this fraction of the training windows without any positive label (class balance;
        valid/test are never subsampled).
    rc_augment, max_shift : augmentation of the training windows (:class:`genodeep.data.GenomeDataset`).
    random_state : int, optional
        Seed of the negative subsampling and the augmentation.

    Returns
    -------
    DataBundle
        Splits with ``ids`` columns ``chrom, start, end``.
    """

    check_positive("width", width)
    if (beds is None) == (signal is None):
        raise ValueError(
            "give exactly one of beds= (binary labels from peaks) or signal= (regression targets from "
            "tracks) for genome data"
        )
    g = Genome(genome)
    windows = tile_genome(g, int(width), stride=stride, chroms=chroms).reset_index(drop=True)
    windows = windows[["chrom", "start", "end"]].copy()
    codes = g.window_codes(windows["chrom"].tolist(), windows["start"].to_numpy(), int(width))
    n_frac = (codes >= 4).mean(axis=1)
    keep = n_frac <= max_n_fraction
    windows, codes = windows[keep].reset_index(drop=True), codes[keep]
    if len(windows) == 0:
        raise ValueError(
            f"no windows left with at most {max_n_fraction:.0%} N bases; check the genome"
        )
    if beds is not None:
        y, task_names = multitask_labels(
            windows, dict(beds), min_overlap=min_overlap, relative_to=relative_to, genome=g
        )
        kind: Kind = "binary"
    else:
        y = np.stack([_window_signal(p, windows, int(width), agg) for p in signal.values()], axis=1)
        if log1p:
            y = np.log1p(np.maximum(y, 0.0))
        task_names = list(signal)
        kind = "regression"
    y = np.asarray(y, dtype=np.float32)
    task_names = list(task_names)
    windows["_row"] = np.arange(len(windows))
    if split == "region":
        parts = split_by_region(windows, valid=valid, test=test, boundary=boundary)
    else:
        kw = {}
        if valid is not None:
            kw["valid"] = [valid] if isinstance(valid, str) else list(valid)
        if test is not None:
            kw["test"] = [test] if isinstance(test, str) else list(test)
        parts = split_by_chrom(windows, **kw)
    idx = {
        name: np.asarray(parts[name]["_row"], dtype=np.int64) for name in ("train", "valid", "test")
    }
    for name in ("train", "valid", "test"):
        if len(idx[name]) == 0:
            raise ValueError(
                f"the {name} split is empty: check valid={valid!r} and test={test!r} against the genome's "
                f"chromosomes {list(g.chrom_sizes)}"
            )
    if train_negatives is not None:
        if not 0.0 < train_negatives <= 1.0:
            raise ValueError(f"train_negatives must be in (0, 1], got {train_negatives!r}")
        tr = idx["train"]
        neg = np.nan_to_num(y[tr]).sum(axis=1) == 0
        rng = np.random.default_rng(random_state)
        keep_neg = rng.random(len(tr)) < train_negatives
        idx["train"] = tr[~neg | keep_neg]
    X = one_hot_codes(codes)
    ids = windows[["chrom", "start", "end"]]
    inputs, model_args = ("sequence",), {}
    if tracks or features:
        X, inputs, model_args = _window_inputs(
            g, ids, X, width=int(width), tracks=tracks, track_bin=int(track_bin),
            track_agg=track_agg, track_transform=track_transform, features=features,
        )  # fmt: skip
    splits = {name: subset_split(X, y, ids, i) for name, i in idx.items()}
    if isinstance(X, tuple) and (rc_augment or max_shift):
        if max_shift:
            raise ValueError(
                "max_shift is not supported with tracks/features inputs; use rc_augment only"
            )
        tr = splits["train"]
        tr.dataset = inputs_dataset(tr.X, tr.y, rc_augment=True, random_state=random_state)
    elif rc_augment or max_shift:
        tr_windows = ids.iloc[idx["train"]].reset_index(drop=True)
        splits["train"].dataset = GenomeDataset(
            g,
            tr_windows,
            y[idx["train"]],
            rc_augment=rc_augment,
            max_shift=max_shift,
            random_state=random_state,
        )
    if verbose:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
        log(f"genome windows of {width} bp: {sizes}; {len(task_names)} task(s)")
    return DataBundle(
        **splits,
        task_names=task_names,
        kind=kind,
        input_length=int(width),
        genome=os.fspath(genome),
        input_kind="multimodal" if len(inputs) > 1 else "sequence",
        inputs=inputs,
        model_args=model_args,
    )


def load_fasta_data(
    fasta: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    labels: str | os.PathLike | None = None,
    valid_fasta: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    valid_labels: str | os.PathLike | None = None,
    test_fasta: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    test_labels: str | os.PathLike | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    label_kind: Literal["auto", "binary", "regression"] = "auto",
    rc_augment: bool = False,
    max_shift: int = 0,
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Equal-length sequences from FASTA, labels from a table or the FASTA headers.

    Parameters
    ----------
    fasta : path or list of paths
        Sequences (plain or gzip), one record per example; a list is read file by file and
        concatenated in order. Labels come from ``labels`` or from the headers (``>name label=1``,
        ``>name labels=1,0,1``, ``>name|1|0|1``; see :func:`genodeep.data.read_fasta_dataset`).
    labels : path, optional
        Table of labels (TSV/CSV with a header line): a ``name`` column matching the record names
        (the first word of each header; the first column is taken as ``name`` when none is called
        so), then one numeric column per task; empty/``NA`` is a missing label. Every record needs a
        row; extra rows are ignored, so one table can serve several files.
    valid_fasta, test_fasta : path or list of paths, optional
        Separate validation / test sets (with ``valid_labels`` / ``test_labels``, default
        ``labels``); when absent the rows of ``fasta`` are split at random by ``valid_fraction`` /
        ``test_fraction``.
    valid_fraction, test_fraction : float
        Fractions of ``fasta``'s rows held out at random for the splits without their own file.
    label_kind : {"auto", "binary", "regression"}
        "auto": binary when every label is 0, 1 or NaN.
    rc_augment : bool
        Reverse-complement half of the training sequences on the fly (each epoch anew).
    max_shift : int
        Shift each training sequence by a random offset in ``[-max_shift, max_shift]`` on the fly,
        padding with N (see :class:`genodeep.data.SequenceDataset`).
    random_state : int, optional
        Seed of the random split and the augmentation.

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``.
    """

    def read(path, lab):
        X, y, names, tasks = _read_fasta_files(path, lab)
        return X, y, pd.DataFrame({"name": list(names)}), tasks

    X, y, ids, task_names = read(fasta, labels)
    if test_fasta is None or valid_fasta is None:
        tr, va, te = random_split(
            len(X),
            0.0 if valid_fasta is not None else valid_fraction,
            0.0 if test_fasta is not None else test_fraction,
            random_state,
        )
    else:
        tr, va, te = np.arange(len(X)), np.arange(0), np.arange(0)
    splits = {
        "train": subset_split(X, y, ids, tr),
        "valid": subset_split(X, y, ids, va),
        "test": subset_split(X, y, ids, te),
    }
    for name, path, lab in (
        ("valid", valid_fasta, valid_labels),
        ("test", test_fasta, test_labels),
    ):
        if path is not None:
            Xs, ys, ids_s, tasks_s = read(path, lab if lab is not None else labels)
            if list(tasks_s) != list(task_names):
                raise ValueError(f"{name}_fasta has tasks {tasks_s} but fasta has {task_names}")
            splits[name] = Split(Xs, ys, ids_s)
    lengths = {s.X.shape[-1] for s in splits.values()}
    if len(lengths) != 1:
        raise ValueError(f"all sequences must have one length; found lengths {sorted(lengths)}")
    kind = label_kind
    if kind == "auto":
        kind = infer_kind(np.concatenate([s.y for s in splits.values()]))
    augment_sequences(splits["train"], rc_augment, max_shift, random_state)
    if verbose:
        log("fasta: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=list(task_names), kind=kind, input_length=lengths.pop())


def _read_fasta_files(paths, labels):
    """:func:`_read_fasta_labelled` over one path or a list of them, concatenated in order."""
    if isinstance(paths, (str, os.PathLike)):
        return _read_fasta_labelled(read_fasta_dataset, paths, labels)
    paths = list(paths)
    if not paths:
        raise ValueError("fasta= is an empty list; give one FASTA path or a list of them")
    parts = [_read_fasta_labelled(read_fasta_dataset, p, labels) for p in paths]
    first_path, (X0, _, _, tasks0) = paths[0], parts[0]
    seen: dict[str, str] = {}
    for path, (X, _, names, tasks) in zip(paths, parts):
        if list(tasks) != list(tasks0):
            raise InputFileError(
                f"its records carry tasks {tasks} but {os.fspath(first_path)} has {tasks0}",
                path=path,
                fix="give every file of the list the same label columns (or header labels)",
            )
        if X.shape[-1] != X0.shape[-1]:
            raise InputFileError(
                f"its sequences are {X.shape[-1]} bp but those of {os.fspath(first_path)} are "
                f"{X0.shape[-1]} bp; a data set needs sequences of one length",
                path=path,
                fix="trim or pad the sequences to one length",
            )
        for n in names:
            if n in seen:
                raise InputFileError(
                    f"record name {n!r} is also in {seen[n]}; the files of a list are one data set",
                    path=path,
                    fix="give each record a unique name across the files",
                )
            seen[n] = os.fspath(path)
    X = torch.cat([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    names = [n for p in parts for n in p[2]]
    return X, y, names, list(tasks0)


def _read_fasta_labelled(reader: Callable, path, labels):
    """Call ``read_fasta_dataset`` and normalise its result to (X int8, y (N,T), names, task_names)."""
    tasks = None
    if labels is not None:
        labels = labels_from_table(labels)
        tasks = list(labels.attrs.get("tasks") or [c for c in labels.columns if c != "name"])
    out = reader(path, labels=labels)
    X, y, names = out[0], out[1], out[2]
    X = torch.as_tensor(X)
    if y is None:
        raise ValueError(
            f"{path}: no labels found; give labels= (a table) or put them in the FASTA headers"
        )
    if isinstance(y, pd.DataFrame):
        tasks = list(y.columns)
        y = y.to_numpy()
    y = as_labels(y, X.shape[0])
    if tasks is None:
        tasks = [f"task_{i}" for i in range(y.shape[1])] if y.shape[1] > 1 else ["label"]
    return X.to(torch.int8), y, list(names), list(tasks)


#: ``data.kind`` -> loader; the config's ``data:`` keys are the loader's keyword arguments.
DATA_KINDS: dict[str, Callable[..., DataBundle]] = {
    "genome": load_genome_data,
    "fasta": load_fasta_data,
    "simulate": load_simulated_data,
    "simulate_multimodal": load_simulated_multimodal_data,
    "graph": load_graph_data,
    "simulate_graph": load_simulated_graph_data,
    "profile": load_profile_data,
    "simulate_profile": load_simulated_profile_data,
}


def _simulate_target(section: Mapping[str, Any]):
    sims = _simulators()
    return sims.get((section or {}).get("simulate", "grammar")), _SIM_RESERVED


def _multimodal_target(section: Mapping[str, Any]):

    return simulate_multimodal, ("random_state",)


def _graph_target(section: Mapping[str, Any]):

    return simulate_graph_labels, ("random_state",)


#: kinds whose loader passes its other keyword arguments on to a simulator:
#: kind -> (section -> (simulator, arguments the loader supplies itself))
_WRAPPED_KINDS: dict[str, Callable[[Mapping[str, Any]], tuple[Callable | None, tuple]]] = {
    "simulate": _simulate_target,
    "simulate_multimodal": _multimodal_target,
    "simulate_graph": _graph_target,
}


def loader_parameters(kind: str, section: Mapping[str, Any] | None = None):
    """(parameters, type hints) a ``data:`` section of this kind accepts (read from the signatures:
    the loader's, plus the simulator's for the simulated kinds)."""
    check_choice("kind", kind, DATA_KINDS)
    loader = DATA_KINDS[kind]
    params = parameters(loader, exclude=("verbose",))
    hints = type_hints(loader)
    if kind in _WRAPPED_KINDS:
        func, reserved = _WRAPPED_KINDS[kind](section or {})
        if func is not None:
            params = {**params, **parameters(func, exclude=(*reserved, *params))}
            hints = {**type_hints(func), **hints}
    return params, hints


def build_data(data: Mapping[str, Any], *, verbose: bool = False) -> DataBundle:
    """Build the splits described by a validated ``data:`` section."""
    section = dict(data)
    kind = section.pop("kind")
    check_choice("data.kind", kind, DATA_KINDS)
    return DATA_KINDS[kind](**section, verbose=verbose)
