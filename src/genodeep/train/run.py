"""Config-driven training, evaluation and prediction: the API behind ``genodeep train/evaluate/predict``.

:func:`train_from_config` reads a config (see :mod:`genodeep.train.config`), builds the data through the
loader of its ``data.kind`` (:data:`DATA_KINDS`), the model through :func:`genodeep.models.build_model`,
trains it with :func:`genodeep.train.fit`, evaluates it on the held-out test split next to the k-mer
baselines, and writes everything into one run folder::

    RUN/
      config.yaml            the resolved config (absolute paths, filled-in n_tasks / input_length)
      metrics.tsv, .md       one row per (model, task): the deep model and every baseline
      predictions.tsv, .npz  test-split labels and predictions of every model
      history.tsv            per-epoch training curves
      plots/                 training_curves.png, roc.png, pr.png
      model/                 the trained model: weights.safetensors + config.json (+ data spec)
      checkpoints/           Lightning checkpoints (best, last) used by --resume

:func:`evaluate_run` re-scores a run folder on a split of its (or another) config, and
:func:`predict_file` applies a saved model to a FASTA file or to BED windows of a genome.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._progress import log
from genodeep._validate import check_choice, check_positive
from genodeep.train.config import (
    OutputOptions,
    _plain,
    dump_config,
    load_config,
    parameters,
    type_hints,
)

Kind = Literal["binary", "regression"]


# ==================================================================================================
# data


def n_rows(X: torch.Tensor | tuple[torch.Tensor, ...]) -> int:
    """Rows ``N`` of an input tensor or of the first tensor of a tuple of inputs."""
    first = X[0] if isinstance(X, (tuple, list)) else X
    return int(first.shape[0])


@dataclass
class Split:
    """One split of a data set.

    Attributes
    ----------
    X : torch.Tensor, shape (N, 4, L) (int8 one-hot), or a tuple of tensors with N rows each
        The model's inputs: sequences, ``(sequence, track[, features])`` for multimodal data,
        ``(N, G)`` samples for graph-feature data, or the node features ``(n, F)`` of the *whole*
        graph for node tasks (then ``rows`` picks this split's nodes).
    y : np.ndarray float32, shape (N, T)
        Labels (NaN = missing); for node tasks, those of the ``rows`` nodes.
    ids : pandas.DataFrame, N rows
        What each row is: ``chrom, start, end`` for genome windows, ``name`` for sequences/nodes.
    dataset : torch.utils.data.Dataset, optional
        The dataset to train on when it differs from ``(X, y)`` (augmentation on the fly, several
        inputs, the whole graph with a node mask).
    rows : np.ndarray int64, optional
        Transductive (graph node) data: the rows of the model's output that belong to this split.
    """

    X: Any
    y: np.ndarray
    ids: pd.DataFrame
    dataset: Any = None
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else n_rows(self.X)

    def as_fit_data(self):
        """What :func:`genodeep.train.fit` trains on: the dataset, or the tuple ``(X, y)``."""
        if self.dataset is not None:
            return self.dataset
        if isinstance(self.X, (tuple, list)):
            raise ValueError("a split with several inputs needs a dataset (see MultimodalDataset)")
        return (self.X, torch.from_numpy(np.ascontiguousarray(self.y, dtype=np.float32)))


@dataclass
class DataBundle:
    """Train/valid/test splits plus what a model needs to know about them.

    Attributes
    ----------
    train, valid, test : Split
    task_names : list of str
        ``T`` names, one per label column.
    kind : {"binary", "regression"}
        Label type: decides the default loss, the metrics and the baselines.
    length : int or None
        Sequence length ``L`` (None for graph data).
    genome : str, optional
        Genome FASTA the windows come from (genome data only).
    input_kind : str
        What the inputs are (see :func:`genodeep.models.input_kinds`): ``"sequence"``,
        ``"multimodal"``, ``"graph_nodes"`` or ``"graph_features"``.
    inputs : tuple of str
        Names of the input tensors, in call order (``("sequence", "track", "features")`` ...).
    model_args : dict
        Constructor arguments the data decides (``track_channels``, ``n_features``, ``in_features``,
        ``n_genes``, and the ``graph`` of graph data, which is not part of a model's config).
    """

    train: Split
    valid: Split
    test: Split
    task_names: list[str]
    kind: Kind
    length: int | None
    genome: str | None = None
    input_kind: str = "sequence"
    inputs: tuple[str, ...] = ("sequence",)
    model_args: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        check_choice("split", name, ("train", "valid", "test"))
        return getattr(self, name)


def _random_split(n: int, valid_fraction: float, test_fraction: float, random_state: int | None):
    """Row indices (train, valid, test) of a random split."""
    for name, f in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= f < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {f!r}")
    if valid_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"valid_fraction + test_fraction must be < 1 (got {valid_fraction} + {test_fraction}); "
            "leave some rows for training"
        )
    perm = np.random.default_rng(random_state).permutation(n)
    n_test = int(round(test_fraction * n))
    n_valid = int(round(valid_fraction * n))
    test = np.sort(perm[:n_test])
    valid = np.sort(perm[n_test : n_test + n_valid])
    train = np.sort(perm[n_test + n_valid :])
    return train, valid, test


def _infer_kind(y: np.ndarray) -> Kind:
    finite = y[~np.isnan(y)]
    return "binary" if np.isin(finite, (0.0, 1.0)).all() else "regression"


def _as_labels(y, n: int) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != n:
        raise ValueError(f"labels had {y.shape[0]} rows for {n} sequences")
    return y


def _subset(X, y: np.ndarray, ids: pd.DataFrame, idx: np.ndarray) -> Split:
    """The rows ``idx`` of inputs ``X`` (a tensor or a tuple of tensors), labels and ids."""
    t = torch.as_tensor(idx, dtype=torch.long)
    ids = ids.iloc[idx].reset_index(drop=True)
    if isinstance(X, (tuple, list)):
        Xs = tuple(part[t] for part in X)
        return Split(X=Xs, y=y[idx], ids=ids, dataset=_inputs_dataset(Xs, y[idx]))
    return Split(X=X[t], y=y[idx], ids=ids)


def _inputs_dataset(X: tuple[torch.Tensor, ...], y: np.ndarray, **kwargs: Any):
    """A :class:`~genodeep.data.multimodal.MultimodalDataset` over ``(sequence, [track (N, C, L_t)],
    [features (N, F)])``: the track is the 3-D tensor, the features the 2-D one."""
    from genodeep.data.multimodal import MultimodalDataset

    track = next((t for t in X[1:] if t.ndim == 3), None)
    features = next((t for t in X[1:] if t.ndim == 2), None)
    return MultimodalDataset(X[0], y, track=track, features=features, **kwargs)


def _named_paths(paths: Any) -> dict[str, Any]:
    """``{name: path}`` from a mapping, or from a list of paths (named by their file stems)."""
    if isinstance(paths, Mapping):
        return {str(k): v for k, v in paths.items()}
    return {Path(os.fspath(p)).name.split(".")[0]: p for p in paths}


def _window_signal(path, windows: pd.DataFrame, width: int, agg: str) -> np.ndarray:
    """The ``agg`` of a signal file over each window, shape ``(N,)``."""
    from genodeep.io import read_signal

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
    from genodeep.data.multimodal import GenomeMultimodalDataset
    from genodeep.io import read_signal

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
    from genodeep.data import multitask_labels, split_by_chrom, split_by_region, tile_genome
    from genodeep.io import Genome
    from genodeep.seq import one_hot_codes

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
            windows, dict(beds), min_overlap=min_overlap, relative_to=relative_to
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
    splits = {name: _subset(X, y, ids, i) for name, i in idx.items()}
    if isinstance(X, tuple) and (rc_augment or max_shift):
        if max_shift:
            raise ValueError(
                "max_shift is not supported with tracks/features inputs; use rc_augment only"
            )
        tr = splits["train"]
        tr.dataset = _inputs_dataset(tr.X, tr.y, rc_augment=True, random_state=random_state)
    elif rc_augment or max_shift:
        from genodeep.data import GenomeDataset

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
        length=int(width),
        genome=os.fspath(genome),
        input_kind="multimodal" if len(inputs) > 1 else "sequence",
        inputs=inputs,
        model_args=model_args,
    )


def load_fasta_data(
    fasta: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    valid_fasta: str | os.PathLike | None = None,
    valid_labels: str | os.PathLike | None = None,
    test_fasta: str | os.PathLike | None = None,
    test_labels: str | os.PathLike | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    kind: Literal["auto", "binary", "regression"] = "auto",
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """Equal-length sequences from FASTA, labels from a table or the FASTA headers.

    Parameters
    ----------
    fasta : path
        Sequences (see :func:`genodeep.data.read_fasta_dataset` for the header label syntax).
    labels : path, optional
        Table of labels (one row per sequence name, one column per task).
    valid_fasta, test_fasta : path, optional
        Separate validation / test sets (with ``valid_labels`` / ``test_labels``); when absent the
        rows of ``fasta`` are split at random by ``valid_fraction`` / ``test_fraction``.
    kind : {"auto", "binary", "regression"}
        "auto": binary when every label is 0, 1 or NaN.
    random_state : int, optional
        Seed of the random split.

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``.
    """
    from genodeep.data import read_fasta_dataset

    def read(path, lab):
        X, y, names, tasks = _read_fasta_labelled(read_fasta_dataset, path, lab)
        return X, y, pd.DataFrame({"name": list(names)}), tasks

    X, y, ids, task_names = read(fasta, labels)
    if test_fasta is None or valid_fasta is None:
        tr, va, te = _random_split(
            len(X),
            0.0 if valid_fasta is not None else valid_fraction,
            0.0 if test_fasta is not None else test_fraction,
            random_state,
        )
    else:
        tr, va, te = np.arange(len(X)), np.arange(0), np.arange(0)
    splits = {
        "train": _subset(X, y, ids, tr),
        "valid": _subset(X, y, ids, va),
        "test": _subset(X, y, ids, te),
    }
    for name, path, lab in (
        ("valid", valid_fasta, valid_labels),
        ("test", test_fasta, test_labels),
    ):
        if path is not None:
            Xs, ys, ids_s, tasks_s = read(path, lab)
            if list(tasks_s) != list(task_names):
                raise ValueError(f"{name}_fasta has tasks {tasks_s} but fasta has {task_names}")
            splits[name] = Split(Xs, ys, ids_s)
    lengths = {s.X.shape[-1] for s in splits.values()}
    if len(lengths) != 1:
        raise ValueError(f"all sequences must have one length; found lengths {sorted(lengths)}")
    if kind == "auto":
        kind = _infer_kind(np.concatenate([s.y for s in splits.values()]))
    if verbose:
        log("fasta: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=list(task_names), kind=kind, length=lengths.pop())


def _read_fasta_labelled(reader: Callable, path, labels):
    """Call ``read_fasta_dataset`` and normalise its result to (X int8, y (N,T), names, task_names)."""
    tasks = None
    if labels is not None:
        from genodeep.data import labels_from_table

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
    y = _as_labels(y, X.shape[0])
    if tasks is None:
        tasks = [f"task_{i}" for i in range(y.shape[1])] if y.shape[1] > 1 else ["label"]
    return X.to(torch.int8), y, list(names), list(tasks)


def _simulators() -> dict[str, Callable]:
    from genodeep.seq import simulate_grammar, simulate_motif_presence

    return {"grammar": simulate_grammar, "presence": simulate_motif_presence}


#: simulator arguments the loader supplies itself (from ``motifs``/``names``/``random_state``).
_SIM_RESERVED = ("random_state", "verbose", "motifs", "motif_a", "motif_b", "names")


def load_simulated_data(
    *,
    simulate: Literal["grammar", "presence"] = "grammar",
    motifs: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
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
    random_state : int, optional
        Seed of the simulation and the split.
    **kwargs
        Other keyword arguments of the simulator: ``n``, ``length``, ``spacing``, ``order``, ``gc``,
        ``positive_fraction``, ``n_per_seq`` (see the simulator).

    Returns
    -------
    DataBundle
        Splits with ``ids`` column ``name``; task ``"grammar"`` or one task per motif.
    """
    from genodeep.io import read_motifs
    from genodeep.seq import one_hot

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
        from genodeep import example_data

        motifs = example_data.motifs()
    pwms = read_motifs(motifs)
    if names:
        from genodeep.io.motifs import select_motifs

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
    y = _as_labels(y, X.shape[0])
    ids = pd.DataFrame({"name": [f"seq{i}" for i in range(len(X))]})
    tr, va, te = _random_split(len(X), valid_fraction, test_fraction, random_state)
    splits = {
        "train": _subset(X, y, ids, tr),
        "valid": _subset(X, y, ids, va),
        "test": _subset(X, y, ids, te),
    }
    if verbose:
        log(f"simulated {simulate}: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return DataBundle(**splits, task_names=task_names, kind="binary", length=int(X.shape[-1]))


def _check_wrapped_kwargs(func: Callable, kwargs: Mapping[str, Any], what: str, reserved) -> None:
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
    random_state : int, optional
        Seed of the simulation and the split.
    **kwargs
        Arguments of the simulator: ``n`` (required), ``length``, ``motif``, ``p_motif``, ``p_open``,
        ``peak_height``, ``peak_width``, ``background``, ``bin_size``, ``n_features``, ``gc``.

    Returns
    -------
    DataBundle
        ``X`` = ``(sequence (N, 4, L), [track (N, 1, L // bin_size)], [features (N, F)])``; one
        binary task ``"bound"``; ``ids`` column ``name``.
    """
    from genodeep.data.simulate import simulate_multimodal

    _check_wrapped_kwargs(simulate_multimodal, kwargs, "simulate_multimodal", ("random_state",))
    sim = simulate_multimodal(random_state=random_state, **kwargs)
    parts, names = [sim.X], ["sequence"]
    if track:
        parts.append(sim.track)
        names.append("track")
    if sim.features is not None:
        parts.append(sim.features)
        names.append("features")
    X = tuple(parts) if len(parts) > 1 else sim.X
    y = _as_labels(sim.y, len(sim))
    ids = pd.DataFrame({"name": [f"seq{i}" for i in range(len(sim))]})
    tr, va, te = _random_split(len(sim), valid_fraction, test_fraction, random_state)
    splits = {k: _subset(X, y, ids, i) for k, i in (("train", tr), ("valid", va), ("test", te))}
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
        length=int(sim.X.shape[-1]),
        input_kind="multimodal" if len(parts) > 1 else "sequence",
        inputs=tuple(names),
        model_args=model_args,
    )


# --------------------------------------------------------------------------------------------------
# graphs


class _WholeGraph(torch.utils.data.TensorDataset):
    """One graph as one batch ``(X (n, F), y (n, T), mask (n, T))`` for transductive node tasks.

    Every training step sees every node's features (the graph convolutions need the whole graph); the
    mask keeps the loss to the nodes of one split. Any index returns the whole graph, so batches carry
    no extra leading dimension.
    """

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index):
        return self.tensors


def _node_split(X: torch.Tensor, y: np.ndarray, ids: pd.DataFrame, rows: np.ndarray) -> Split:
    """A split of a node task: the whole graph ``X (n, F)`` with this split's ``rows`` masked in."""
    mask = np.zeros(y.shape, dtype=bool)
    mask[rows] = ~np.isnan(y[rows])
    dataset = _WholeGraph(
        X,
        torch.from_numpy(np.nan_to_num(y, nan=0.0).astype(np.float32)),
        torch.from_numpy(mask),
    )
    return Split(
        X=X, y=y[rows], ids=ids.iloc[rows].reset_index(drop=True), dataset=dataset, rows=rows
    )


def _graph_bundle(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    graph: Any,
    task_names: Sequence[str],
    *,
    nodes: str,
    kind: str,
    valid_fraction: float,
    test_fraction: float,
    random_state: int | None,
) -> DataBundle:
    """Splits of graph data: random labelled nodes (``nodes="rows"``) or samples (``"columns"``)."""
    X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    labelled = np.flatnonzero(~np.isnan(y).all(axis=1))
    parts = _random_split(len(labelled), valid_fraction, test_fraction, random_state)
    ids = pd.DataFrame({"name": [str(n) for n in names]})
    if kind == "auto":
        kind = _infer_kind(y)
    if nodes == "rows":
        split = {k: _node_split(X, y, ids, labelled[i]) for k, i in zip(SPLITS, parts)}
        model_args = {"in_features": int(X.shape[1]), "graph": graph}
        input_kind = "graph_nodes"
    else:
        split = {k: _subset(X, y, ids, labelled[i]) for k, i in zip(SPLITS, parts)}
        model_args = {"n_genes": int(X.shape[1]), "graph": graph}
        input_kind = "graph_features"
    return DataBundle(
        **split,
        task_names=list(task_names),
        kind=kind,
        length=None,
        input_kind=input_kind,
        inputs=("features",),
        model_args=model_args,
    )


SPLITS = ("train", "valid", "test")


def _read_table(path: str | os.PathLike, what: str) -> pd.DataFrame:
    """A TSV/CSV table whose first column holds the row names (separator sniffed)."""
    from genodeep._validate import InputFileError

    try:
        df = pd.read_csv(path, sep=None, engine="python", index_col=0)
    except (ValueError, pd.errors.ParserError) as err:
        raise InputFileError(
            f"could not read the {what} table ({err})",
            path=path,
            fix="write a tab- or comma-separated table with a header and the names in the first column",
        ) from None
    if df.empty:
        raise InputFileError(f"the {what} table has no rows or no columns", path=path)
    df.index = df.index.astype(str)
    return df


def _read_graph_features(path: str | os.PathLike):
    """``(matrix (R, C) float32, row names, column names, obs table or None)`` of a features file."""
    from genodeep._validate import InputFileError

    if os.fspath(path).endswith(".h5ad"):
        import anndata

        adata = anndata.read_h5ad(path)
        X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
        return (
            np.asarray(X, dtype=np.float32),
            [str(v) for v in adata.obs_names],
            [str(v) for v in adata.var_names],
            adata.obs,
        )
    df = _read_table(path, "features")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise InputFileError(
            f"feature column(s) {bad[:5]} are not numeric",
            path=path,
            fix="keep the names in the first column and only numbers in the others",
        )
    return df.to_numpy(np.float32), list(df.index), [str(c) for c in df.columns], None


def _label_matrix(table: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; a text column becomes one 0/1 task per category."""
    cols, names = [], []
    for c in table.columns:
        v = table[c]
        if pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v):
            cols.append(v.to_numpy(np.float32))
            names.append(str(c))
            continue
        cats = sorted(str(x) for x in v.dropna().unique())
        for cat in cats:
            col = (v.astype(str) == cat).to_numpy(np.float32)
            col[v.isna().to_numpy()] = np.nan
            cols.append(col)
            names.append(cat if table.shape[1] == 1 else f"{c}={cat}")
    return np.stack(cols, axis=1), names


def _match_names(table: pd.DataFrame, names: Sequence[str], path, what: str) -> np.ndarray:
    """Rows of ``table`` (indexed by name) aligned to ``names`` (NaN where a name has no row).

    Names of the table that are not among ``names`` are reported (count, examples, near matches);
    none matching at all is an :class:`~genodeep._validate.InputFileError`.
    """
    from genodeep._validate import InputFileError, near_matches

    values, task_names = _label_matrix(table)
    index = {n: i for i, n in enumerate(names)}
    out = np.full((len(names), values.shape[1]), np.nan, dtype=np.float32)
    unmatched = []
    for r, name in enumerate(table.index):
        i = index.get(name)
        if i is None:
            unmatched.append(name)
        else:
            out[i] = values[r]
    examples = []
    lower = {str(n).lower(): n for n in names}
    for name in unmatched[:5]:
        close = near_matches(name, names, n=1) or (
            [lower[name.lower()]] if name.lower() in lower else []
        )
        examples.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if len(unmatched) == len(table):
        raise InputFileError(
            f"none of the {len(table)} names in the first column is among the {len(names)} {what} "
            f"of the features (label names e.g. {', '.join(examples)}; {what} e.g. "
            f"{list(names)[:5]})",
            path=path,
            fix=f"use the same identifiers for the {what} in the labels and the features files",
        )
    if unmatched:
        log(
            f"{path}: {len(unmatched)} of {len(table)} names are not among the {what} of the "
            f"features and were ignored (e.g. {', '.join(examples)})"
        )
    return out, task_names


def load_graph_data(
    edges: str | os.PathLike,
    *,
    features: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    label_key: str | None = None,
    nodes: Literal["rows", "columns"] = "rows",
    weighted: bool | None = None,
    directed: bool = False,
    case_sensitive: bool = True,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    kind: Literal["auto", "binary", "regression"] = "auto",
    random_state: int | None = 0,
    verbose: bool = False,
) -> DataBundle:
    """A graph from an edge list, features and labels from tables: node tasks or graph-feature samples.

    Parameters
    ----------
    edges : path
        Edge list ``source target [weight]`` (see :func:`genodeep.io.graph.read_graph`); names are
        matched to the feature file's row (``nodes="rows"``) or column (``"columns"``) names, and
        unmatched names are reported.
    features : path
        TSV/CSV table with the row names in the first column, or an ``.h5ad`` (rows = ``obs_names``,
        columns = ``var_names``).
    labels : path, optional
        TSV/CSV table: row names in the first column, one label column per task (numbers; a text
        column becomes one 0/1 task per category). Rows without labels are left out of every split.
    label_key : str, optional
        Instead of ``labels``: a column of an ``.h5ad``'s ``obs``.
    nodes : {"rows", "columns"}
        ``"rows"``: the rows are the graph's nodes; transductive node classification/regression
        (model ``gcn``): the whole graph is the input, random labelled nodes are held out.
        ``"columns"``: the columns are the nodes (genes) and each row a sample (cell) with its own
        label (model ``graph_expression``); random samples are held out.
    weighted, directed, case_sensitive
        See :func:`genodeep.io.graph.read_graph`.
    valid_fraction, test_fraction : float
        Fractions of the labelled nodes/samples held out.
    kind : {"auto", "binary", "regression"}
        "auto": binary when every label is 0, 1 or NaN.
    random_state : int, optional
        Seed of the split.

    Returns
    -------
    DataBundle
        ``ids`` column ``name``; ``model_args`` holds the graph (handed to the model).
    """
    from genodeep.io.graph import read_graph

    check_choice("nodes", nodes, ("rows", "columns"))
    if (labels is None) == (label_key is None):
        raise ValueError(
            "give exactly one of labels= (a table of labels per name) or label_key= (an obs "
            "column of an .h5ad features file)"
        )
    X, row_names, col_names, obs = _read_graph_features(features)
    if label_key is not None:
        if obs is None:
            raise ValueError(
                f"label_key={label_key!r} needs an .h5ad features file; got {features}"
            )
        if label_key not in obs.columns:
            raise ValueError(
                f"label_key={label_key!r} is not a column of {features}'s obs; columns: "
                f"{', '.join(map(str, obs.columns))}"
            )
        table = obs[[label_key]].copy()
        table.index = table.index.astype(str)
        source = f"{features} (obs[{label_key!r}])"
    else:
        table, source = _read_table(labels, "labels"), labels
    graph = read_graph(
        edges,
        nodes=row_names if nodes == "rows" else col_names,
        weighted=weighted,
        directed=directed,
        case_sensitive=case_sensitive,
        verbose=True,
    )
    what = "nodes" if nodes == "rows" else "samples"
    y, task_names = _match_names(table, row_names, source, what)
    bundle = _graph_bundle(
        X, y, row_names, graph, task_names, nodes=nodes, kind=kind,
        valid_fraction=valid_fraction, test_fraction=test_fraction, random_state=random_state,
    )  # fmt: skip
    if verbose:
        log(
            f"graph: {graph.n_nodes} nodes, {graph.n_edges} edges; "
            + ", ".join(f"{k} {len(bundle.split(k))}" for k in SPLITS)
        )
    return bundle


def load_simulated_graph_data(
    *,
    valid_fraction: float = 0.2,
    test_fraction: float = 0.5,
    random_state: int | None = 0,
    verbose: bool = False,
    **kwargs: Any,
) -> DataBundle:
    """A random graph whose node labels are the neighbours' majority state
    (:func:`genodeep.data.simulate.simulate_graph_labels`); a transductive node task.

    Parameters
    ----------
    valid_fraction, test_fraction : float
        Fractions of the nodes whose labels are held out.
    random_state : int, optional
        Seed of the simulation and the split.
    **kwargs
        Arguments of the simulator: ``n_nodes``, ``avg_degree``, ``n_features``, ``signal``,
        ``noise``.

    Returns
    -------
    DataBundle
        Node features ``(n, F)`` as ``X``, one binary task ``"label"``; ``model_args`` holds the graph.
    """
    from genodeep.data.simulate import simulate_graph_labels

    _check_wrapped_kwargs(simulate_graph_labels, kwargs, "simulate_graph_labels", ("random_state",))
    sim = simulate_graph_labels(random_state=random_state, **kwargs)
    bundle = _graph_bundle(
        sim.features.numpy(), sim.y.numpy(), sim.graph.nodes, sim.graph, ["label"], nodes="rows",
        kind="binary", valid_fraction=valid_fraction, test_fraction=test_fraction,
        random_state=random_state,
    )  # fmt: skip
    if verbose:
        log(
            f"simulated graph: {sim.graph.n_nodes} nodes, {sim.graph.n_edges} edges; "
            + ", ".join(f"{k} {len(bundle.split(k))}" for k in SPLITS)
        )
    return bundle


#: ``data.kind`` -> loader; the config's ``data:`` keys are the loader's keyword arguments.
DATA_KINDS: dict[str, Callable[..., DataBundle]] = {
    "genome": load_genome_data,
    "fasta": load_fasta_data,
    "simulate": load_simulated_data,
    "simulate_multimodal": load_simulated_multimodal_data,
    "graph": load_graph_data,
    "simulate_graph": load_simulated_graph_data,
}


def _simulate_target(section: Mapping[str, Any]):
    sims = _simulators()
    return sims.get((section or {}).get("simulate", "grammar")), _SIM_RESERVED


def _multimodal_target(section: Mapping[str, Any]):
    from genodeep.data.simulate import simulate_multimodal

    return simulate_multimodal, ("random_state",)


def _graph_target(section: Mapping[str, Any]):
    from genodeep.data.simulate import simulate_graph_labels

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


# ==================================================================================================
# model, training, baselines


#: arguments of ``fit`` that train_from_config supplies itself (data, folders, task names, callbacks).
_FIT_SUPPLIED = (
    "model",
    "train_data",
    "valid_data",
    "out_dir",
    "resume",
    "verbose",
    "task_names",
    "callbacks",
)


def fit_parameters(*, transfer: bool = False):
    """(parameters, type hints) of :func:`genodeep.train.fit` that a ``training:`` section may set;
    with ``transfer`` (a ``model: {pretrained: ...}`` config) also those of
    :func:`genodeep.train.transfer.fine_tune` (``pretrained_lr_scale``, ...)."""
    from genodeep.train.fit import fit

    params = parameters(fit, skip_positional=3, exclude=_FIT_SUPPLIED)
    hints = type_hints(fit)
    if transfer:
        from genodeep.train.transfer import fine_tune

        params = {**params, **parameters(fine_tune, skip_positional=3, exclude=params)}
        hints = {**type_hints(fine_tune), **hints}
    return params, hints


def baseline_parameters():
    """(parameters, type hints) of :func:`fit_baselines` that a ``baselines:`` section may set."""
    from genodeep.models.baselines import fit_baselines

    params = parameters(fit_baselines, skip_positional=4, exclude=("kind", "verbose"))
    return params, type_hints(fit_baselines)


#: constructor arguments that only data can supply (never read from a config's ``model:`` section)
DATA_ONLY_MODEL_ARGS = ("graph",)


def check_model_input(name: str, input_kind: str) -> None:
    """Raise ``ValueError`` when architecture ``name`` cannot read data of ``input_kind``."""
    from genodeep.models import input_kinds

    kinds = input_kinds(name)
    if input_kind in kinds:
        return
    hint = {
        "sequence": "genome, fasta or simulate",
        "multimodal": "simulate_multimodal, or genome with tracks:/features:",
        "graph_nodes": "graph (nodes: rows) or simulate_graph",
        "graph_features": "graph with nodes: columns",
    }
    want = "; ".join(f"{k}: data.kind {hint.get(k, '?')}" for k in kinds)
    raise ValueError(
        f"model {name!r} reads {' or '.join(kinds)} input but the data gives {input_kind} input. "
        f"Fix: use a model for {input_kind} data, or data of the model's kind ({want})"
    )


def build_model_from_config(
    model: Mapping[str, Any],
    *,
    n_tasks: int,
    input_length: int | None,
    data_args: Mapping[str, Any] | None = None,
    input_kind: str = "sequence",
):
    """``build_model(name, **kwargs)``, filling ``n_tasks``, ``input_length`` and ``data_args``
    (what the data decides: track channels, feature counts, the graph) from the data.

    Parameters
    ----------
    model : mapping
        A validated ``model:`` section (``name`` + constructor arguments).
    n_tasks, input_length : int
        Label columns and sequence length of the data.
    data_args : mapping, optional
        :attr:`DataBundle.model_args`; each argument the architecture accepts is filled in.
    input_kind : str
        :attr:`DataBundle.input_kind`, checked against the architecture's input kinds.

    A value given in the config that contradicts the data raises ``ValueError``.
    """
    from genodeep.models import MODELS, build_model

    kwargs = dict(model)
    name = kwargs.pop("name")
    check_choice("model.name", name, MODELS)
    check_model_input(name, input_kind)
    accepted = parameters(MODELS[name])
    fill = {"n_tasks": n_tasks, "input_length": input_length, **dict(data_args or {})}
    for key, value in fill.items():
        if key not in accepted or value is None:
            continue
        given = kwargs.get(key)
        if key not in DATA_ONLY_MODEL_ARGS and given is not None and int(given) != int(value):
            raise ValueError(
                f"model.{key}={given} does not match the data ({value}); remove the key to take it "
                "from the data"
            )
        kwargs[key] = value
    return build_model(name, **kwargs)


#: keys of a ``model:`` section that start from a trained model (:func:`prepare_transfer`'s)
_TRANSFER_SUPPLIED = ("n_tasks", "random_state")


def transfer_parameters():
    """(parameters, type hints) of :func:`genodeep.train.transfer.prepare_transfer` that a ``model:``
    section with ``pretrained:`` may set."""
    from genodeep.train.transfer import prepare_transfer

    return parameters(prepare_transfer, exclude=_TRANSFER_SUPPLIED), type_hints(prepare_transfer)


def registered_name(model: torch.nn.Module) -> str:
    """The :data:`genodeep.models.MODELS` name of a model's class."""
    from genodeep.models import MODELS

    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the architectures: {', '.join(MODELS)}")


def model_for_data(section: Mapping[str, Any], data: DataBundle, *, random_state: int = 0):
    """The model a ``model:`` section describes, for ``data``: a new one, or a pretrained one.

    With ``pretrained:`` the model is :func:`~genodeep.train.transfer.prepare_transfer`'s (head
    replaced/extended/kept for the data's tasks, layers frozen); the data's graph, if any, replaces
    the pretrained one. ``head: add`` appends the data's tasks after the pretrained tasks, whose
    labels are missing (NaN) here: ``data`` gets those columns and task names.

    Returns
    -------
    (model, name) : the model and its architecture name.
    """
    section = dict(section)
    if not section.get("pretrained"):
        model = build_model_from_config(
            section,
            n_tasks=len(data.task_names),
            input_length=data.length,
            data_args=data.model_args,
            input_kind=data.input_kind,
        )
        return model, section["name"]
    from genodeep.train.transfer import prepare_transfer

    name = section.pop("name", None)
    head = section.get("head", "replace")
    model = prepare_transfer(
        n_tasks=None if head == "keep" else len(data.task_names),
        random_state=random_state,
        **section,
    )
    actual = registered_name(model)
    if name is not None and name != actual:
        raise ValueError(
            f"model.name={name!r} but the pretrained model is a {actual!r}; remove model.name or fix it"
        )
    check_model_input(actual, data.input_kind)
    graph = data.model_args.get("graph")
    if graph is not None and callable(getattr(model, "set_graph", None)):
        model.set_graph(graph)
    old = list(load_model(section["pretrained"]).data_spec.get("task_names") or [])
    if head == "keep" and model.n_tasks != len(data.task_names):
        raise ValueError(
            f"head: keep trains the pretrained model's {model.n_tasks} task(s) but the data has "
            f"{len(data.task_names)}; use head: replace (new tasks) or add (extra tasks)"
        )
    if head == "add":
        n_old = model.n_tasks - len(data.task_names)
        old = old if len(old) == n_old else [f"pretrained_{i}" for i in range(n_old)]
        for part in (data.train, data.valid, data.test):
            _prepend_missing_tasks(part, n_old)
        data.task_names = [*old, *data.task_names]
    return model, actual


def _prepend_missing_tasks(split: Split, n: int) -> None:
    """Give a split ``n`` leading label columns of NaN (tasks without labels in this data)."""
    pad = np.full((split.y.shape[0], n), np.nan, dtype=np.float32)
    split.y = np.concatenate([pad, split.y], axis=1)
    ds = split.dataset
    if isinstance(ds, _WholeGraph):
        X, y, mask = ds.tensors
        split.dataset = _WholeGraph(
            X,
            torch.cat([torch.zeros(y.shape[0], n), y], dim=1),
            torch.cat([torch.zeros(mask.shape[0], n, dtype=torch.bool), mask], dim=1),
        )
    elif ds is not None and hasattr(ds, "y") and isinstance(ds.y, torch.Tensor):
        ds.y = torch.cat([torch.full((ds.y.shape[0], n), float("nan")), ds.y], dim=1)
    elif ds is not None:
        raise ValueError(
            "head: add cannot extend the labels of this data set (on-the-fly augmentation); "
            "turn off rc_augment/max_shift or use head: replace"
        )


def _default_loss(kind: Kind) -> str:
    return "bce" if kind == "binary" else "mse"


def output_transform(kind: Kind, loss: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Map raw model outputs to predictions: sigmoid for binary logits, exp for a Poisson log-rate."""
    if kind == "binary":
        return torch.sigmoid
    if loss is not None and str(loss).lower().startswith("poisson"):
        return torch.exp
    return lambda t: t


def predict_outputs(
    model: torch.nn.Module,
    X: torch.Tensor | Sequence[torch.Tensor],
    *,
    rows: np.ndarray | None = None,
    kind: Kind = "binary",
    loss: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Predictions ``(N, T)`` of ``model`` on ``X``: probabilities for binary tasks.

    Parameters
    ----------
    X : torch.Tensor (N, 4, L), or a tuple of input tensors with N rows each (``model(*X)``)
        Inputs. For a transductive graph model, the node features ``(n, F)`` of the whole graph.
    rows : np.ndarray int, optional
        Graph node tasks: the whole graph is one forward pass, and these rows of its output are
        returned.

    Models with a (profile, counts) output are scored by their counts head; models with a
    per-position output ``(N, T, L_out)`` by its mean over positions.
    """
    from genodeep._batching import predict

    n_out = getattr(model, "n_tasks", 1)
    if rows is not None:
        out = _predict_whole(model, X, device=device)[torch.as_tensor(rows, dtype=torch.long)]
    elif n_rows(X) == 0:
        return np.zeros((0, n_out), dtype=np.float32)
    elif isinstance(X, (tuple, list)):
        out = _predict_inputs(model, tuple(X), batch_size=batch_size, device=device, dtype=dtype)
    else:
        out = predict(model, X, batch_size=batch_size, device=device, dtype=dtype, verbose=verbose)
    if isinstance(out, tuple):
        out = out[-1]
    if out.ndim == 3:
        out = out.mean(dim=-1)
    return output_transform(kind, loss)(out.float()).numpy().astype(np.float32)


@torch.no_grad()
def _predict_whole(model: torch.nn.Module, X: torch.Tensor, *, device=None) -> torch.Tensor:
    """One forward pass over a whole graph's node features ``(n, F)`` -> ``(n, T)`` on the CPU."""
    from genodeep._device import model_on, resolve_device

    dev = resolve_device(device)
    with model_on(model, dev) as m:
        return m(X.to(dev).float()).float().cpu()


@torch.no_grad()
def _predict_inputs(
    model, X: tuple[torch.Tensor, ...], *, batch_size: int, device=None, dtype=None
):
    """Batched ``model(*inputs)`` over a tuple of inputs with N rows each -> ``(N, ...)`` on the CPU."""
    from genodeep._device import model_on, resolve_device

    dev = resolve_device(device)
    outs = []
    with model_on(model, dev) as m:
        for start in range(0, n_rows(X), batch_size):
            xb = [t[start : start + batch_size].to(dev).float() for t in X]
            if dtype is not None and dtype != torch.float32:
                with torch.autocast(device_type=dev.type, dtype=dtype):
                    yb = m(*xb)
            else:
                yb = m(*xb)
            outs.append(
                tuple(o.float().cpu() for o in yb) if isinstance(yb, tuple) else yb.float().cpu()
            )
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(p) for p in zip(*outs))
    return torch.cat(outs)


def baseline_inputs(data: DataBundle, split: Split) -> torch.Tensor | None:
    """The one-hot sequences the k-mer baselines read (the sequence input of multimodal data), or
    ``None`` for data without sequences (graphs)."""
    if data.input_kind not in ("sequence", "multimodal"):
        return None
    return split.X[0] if isinstance(split.X, (tuple, list)) else split.X


# ==================================================================================================
# metrics tables


def metrics_table(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    kind: Kind,
    task_names: Sequence[str],
) -> pd.DataFrame:
    """One metrics table for several models on the same labels.

    Parameters
    ----------
    y_true : np.ndarray (N, T)
        Labels (NaN = missing; masked per task).
    predictions : mapping model name -> np.ndarray (N, T)
        The deep model's and the baselines' predictions.

    Returns
    -------
    pandas.DataFrame
        :func:`genodeep.train.evaluate_predictions`' table per model, with a leading ``model`` column.
    """
    from genodeep.train.metrics import evaluate_predictions

    tables = []
    for name, y_pred in predictions.items():
        df = evaluate_predictions(
            np.asarray(y_true), np.asarray(y_pred), kind=kind, task_names=list(task_names)
        )
        df = df.reset_index() if df.index.name is not None else df
        df.insert(0, "model", name)
        tables.append(df)
    return pd.concat(tables, ignore_index=True)


def markdown_table(df: pd.DataFrame, *, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table of ``df`` (floats formatted with ``floatfmt``)."""

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "nan" if np.isnan(v) else format(float(v), floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``df`` as ``PATH.tsv`` and ``PATH.md`` (``path`` without or with either suffix)."""
    from genodeep._io_utils import atomic_write

    base = Path(path)
    if base.suffix in (".tsv", ".md"):
        base = base.with_suffix("")
    tsv, md = base.with_suffix(".tsv"), base.with_suffix(".md")
    with atomic_write(tsv) as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    with atomic_write(md) as fh:
        fh.write(markdown_table(df))
    return tsv, md


def write_metrics(metrics: pd.DataFrame, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a :func:`metrics_table` as ``PATH.tsv`` (every row) and ``PATH.md``.

    The markdown leaves out the ``mean`` rows when every model has a single task (they repeat it).
    """
    tsv, md = write_table(metrics, path)
    if (
        "task" in metrics.columns
        and (metrics["task"] != "mean").groupby(metrics["model"]).sum().max() == 1
    ):
        from genodeep._io_utils import atomic_write

        with atomic_write(md) as fh:
            fh.write(markdown_table(metrics[metrics["task"] != "mean"]))
    return tsv, md


# ==================================================================================================
# saving and loading models


def save_model(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    data_spec: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a trained model as a package folder: ``weights.safetensors`` + ``config.json`` (+ spec).

    Parameters
    ----------
    model : genodeep model
        A model with a JSON-serialisable ``config`` of its constructor arguments.
    path : path
        Output folder (replaced if it exists).
    data_spec : mapping, optional
        ``sequence_length``, ``task_names``, ``kind``, ``genome`` ... what the model reads.
    metadata : mapping, optional
        Training settings and metrics.

    Returns
    -------
    Path of the folder. Load it again with :func:`load_model` (or :func:`genodeep.zoo.load`).
    """
    from genodeep.zoo import save_package

    return save_package(
        model,
        path,
        data_spec=_plain(dict(data_spec or {})),
        metadata=_plain(dict(metadata or {})),
        overwrite=True,
    )


def load_model(path: str | os.PathLike):
    """Load a model saved by :func:`save_model`: a run folder (its ``model/``), the package folder or
    a package archive (``.tar.gz``).

    Returns
    -------
    genodeep.zoo.Package
        ``.model`` (eval mode, CPU), ``.data_spec``, ``.metadata``.
    """
    from genodeep.zoo import load

    p = Path(path)
    if (p / "model" / "config.json").exists():
        p = p / "model"
    if not p.exists():
        raise FileNotFoundError(f"model not found: {p}")
    if p.is_file():  # a package archive (.tar.gz)
        return load(p)
    if not (p / "config.json").exists():
        raise FileNotFoundError(
            f"{p} holds no saved model (no config.json); point to a run folder written by "
            "`genodeep train` or to its model/ folder"
        )
    return load(p)


# ==================================================================================================
# train_from_config


@dataclass
class TrainResult:
    """What :func:`train_from_config` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (best checkpoint when early stopping kept one).
    metrics : pandas.DataFrame
        Test-split metrics, one row per (model, task) — the deep model and the baselines.
    predictions : dict[str, np.ndarray (N_test, T)]
        Test-split predictions per model.
    history : pandas.DataFrame
        Per-epoch training curves.
    out_dir : Path
        The run folder.
    config : dict
        The resolved config.
    data : DataBundle
        The splits used.
    """

    model: torch.nn.Module
    metrics: pd.DataFrame
    predictions: dict[str, np.ndarray]
    history: pd.DataFrame
    out_dir: Path
    config: dict
    data: DataBundle = field(repr=False)


def _write_predictions(
    out_dir: Path, split: Split, task_names, predictions: Mapping[str, np.ndarray]
) -> None:
    from genodeep._io_utils import atomic_path, atomic_write

    df = split.ids.copy()
    for t, task in enumerate(task_names):
        df[f"true:{task}"] = split.y[:, t]
    for name, pred in predictions.items():
        for t, task in enumerate(task_names):
            df[f"{name}:{task}"] = pred[:, t]
    with atomic_write(out_dir / "predictions.tsv") as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    arrays = {"y_true": split.y, "task_names": np.asarray(task_names)}
    arrays.update({f"pred_{name}": np.asarray(p) for name, p in predictions.items()})
    with atomic_path(out_dir / "predictions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _write_plots(out_dir: Path, y_true, predictions, task_names, history, kind, name) -> list[Path]:
    """Training curves, and ROC/PR curves on the test split (binary tasks).

    With one task, every model (deep and baselines) is a curve of the same plot; with several, the
    curves are the deep model's tasks. A plotting problem never fails a finished run (warning).
    """
    import warnings

    from genodeep.train.plots import plot_pr_curves, plot_roc_curves, plot_training_curves

    plots_dir = out_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    calls: list[tuple[Callable, tuple, dict, Path]] = []
    if history is not None and len(history):
        calls.append(
            (plot_training_curves, (history,), {"title": name}, plots_dir / "training_curves.png")
        )
    if kind == "binary" and len(y_true):
        y_true = np.asarray(y_true)
        if y_true.shape[1] == 1 and len(predictions) > 1:
            names = list(predictions)
            yt = np.repeat(y_true, len(names), axis=1)
            ys = np.concatenate([np.asarray(predictions[m]) for m in names], axis=1)
        else:
            names, yt, ys = list(task_names), y_true, np.asarray(predictions[name])
        for fn, fname in ((plot_roc_curves, "roc.png"), (plot_pr_curves, "pr.png")):
            calls.append((fn, (yt, ys), {"task_names": names}, plots_dir / fname))
    written = []
    for fn, args, kw, path in calls:
        try:
            written.append(fn(*args, path, **kw))
        except Exception as err:  # noqa: BLE001 - a plot must not lose a trained model
            warnings.warn(f"could not write {path}: {err}", stacklevel=2)
    return written


def _is_global_zero(result) -> bool:
    """Whether this process is rank 0 of the (possibly distributed) training run."""
    trainer = getattr(getattr(result, "task", None), "_trainer", None)
    if trainer is not None:
        return bool(trainer.is_global_zero)
    rank = os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))
    return int(rank) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0


def _history_frame(history) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame()
    if isinstance(history, pd.DataFrame):
        return history
    return pd.DataFrame(history)


def train_from_config(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    out_dir: str | os.PathLike | None = None,
    baselines: bool | None = None,
    resume: bool = False,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    callbacks: Sequence[Any] | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Train, evaluate and save a model described by a config file (the API of ``genodeep train``).

    Parameters
    ----------
    config : path to a YAML file, or a mapping
        Sections ``data``, ``model``, ``training``, ``baselines``, ``output``
        (see :mod:`genodeep.train.config`).
    out_dir : path, optional
        Run folder; default ``output.dir`` of the config, else ``runs/<config name>``.
    baselines : bool, optional
        ``True`` runs the k-mer baselines even when the config has no ``baselines:`` section (with
        its defaults); ``False`` skips them; ``None`` follows the config.
    resume : bool
        Continue an interrupted run from the last checkpoint in ``out_dir``.
    overrides : mapping or list of "KEY=VALUE", optional
        Dotted config keys to override, e.g. ``{"training.max_epochs": 2}``.
    callbacks : sequence of lightning callbacks, optional
        Passed to :func:`genodeep.train.fit` (``genodeep tune`` uses one to prune trials).
    verbose : bool
        Status lines and progress bars.

    Returns
    -------
    TrainResult
    """
    from genodeep.train.fit import fit

    cfg = load_config(config, overrides=overrides)
    output = OutputOptions(**cfg["output"])
    if out_dir is None:
        if output.dir is not None:
            out_dir = output.dir
        else:
            stem = Path(config).stem if isinstance(config, (str, os.PathLike)) else "run"
            out_dir = Path("runs") / stem
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if baselines is True and cfg["baselines"] is None:
        cfg["baselines"] = {}
    elif baselines is False:
        cfg["baselines"] = None

    training = dict(cfg["training"])
    torch.manual_seed(int(training.get("random_state", 0)))  # the model's initial weights
    data = build_data(cfg["data"], verbose=verbose)
    model, name = model_for_data(
        cfg["model"], data, random_state=int(training.get("random_state", 0))
    )
    if cfg["model"].get("pretrained"):  # the architecture comes from the pretrained model
        resolved_model = {"name": name, **{k: v for k, v in cfg["model"].items() if k != "name"}}
    else:
        resolved_model = {"name": name, **model.config}
    training.setdefault("loss", _default_loss(data.kind))
    resolved = {**cfg, "model": resolved_model, "training": training}
    resolved["output"] = {**cfg["output"], "dir": str(out_dir.resolve())}
    dump_config(resolved, out_dir / "config.yaml")
    if verbose:
        log(
            f"{resolved_model['name']}: {model.n_params:,} parameters, {len(data.task_names)} task(s), "
            f"{data.kind}; train {len(data.train)}, valid {len(data.valid)}, test {len(data.test)}"
        )

    trainer = fit
    if cfg["model"].get("pretrained"):
        from genodeep.train.transfer import fine_tune

        trainer = fine_tune
    result = trainer(
        model,
        data.train.as_fit_data(),
        data.valid.as_fit_data() if len(data.valid) else None,
        out_dir=out_dir / "checkpoints",
        resume=resume,
        verbose=verbose,
        task_names=data.task_names,
        callbacks=callbacks,
        **training,
    )
    model = result.model
    history = _history_frame(getattr(result, "history", None))
    if not _is_global_zero(result):
        # a DDP worker (plain "ddp" re-runs this command per process): rank 0 evaluates and writes
        return TrainResult(
            model=model,
            metrics=pd.DataFrame(),
            predictions={},
            history=history,
            out_dir=out_dir,
            config=resolved,
            data=data,
        )
    if len(history):
        from genodeep._io_utils import atomic_write

        with atomic_write(out_dir / "history.tsv") as fh:
            history.to_csv(fh, sep="\t", index=False, float_format="%.6g")

    preds = {
        name: predict_outputs(
            model,
            data.test.X,
            rows=data.test.rows,
            kind=data.kind,
            loss=training.get("loss"),
            batch_size=training.get("batch_size", 256),
        )
    }
    if cfg["baselines"] is not None:
        preds.update(_baselines(data, data.test, cfg["baselines"], verbose=verbose))
    metrics = metrics_table(data.test.y, preds, kind=data.kind, task_names=data.task_names)
    write_metrics(metrics, out_dir / "metrics")
    if output.predictions:
        _write_predictions(out_dir, data.test, data.task_names, preds)
    if output.plots:
        _write_plots(out_dir, data.test.y, preds, data.task_names, history, data.kind, name)
    if output.save_model:
        save_model(
            model,
            out_dir / "model",
            data_spec={
                "sequence_length": data.length,
                "task_names": data.task_names,
                "kind": data.kind,
                "loss": training.get("loss"),
                "genome": data.genome,
                "model_name": name,
                "input_kind": data.input_kind,
                "inputs": list(data.inputs),
            },
            metadata={
                "description": cfg.get("description", ""),
                "training": training,
                "metrics": _summary(metrics, name),
            },
        )
    if verbose:
        log(f"wrote {out_dir}/metrics.md")
        log(markdown_table(summary_table(metrics)))
    return TrainResult(
        model=model,
        metrics=metrics,
        predictions=preds,
        history=history,
        out_dir=out_dir,
        config=resolved,
        data=data,
    )


def _baselines(data: DataBundle, part: Split, options: Mapping[str, Any], *, verbose: bool):
    """k-mer baselines fitted on the train split's sequences, predicted on ``part`` (none without
    sequences)."""
    from genodeep.models.baselines import fit_baselines

    X_train, X_part = baseline_inputs(data, data.train), baseline_inputs(data, part)
    if X_train is None:
        log(f"baselines skipped: they read DNA sequences and this data is {data.input_kind}")
        return {}
    return fit_baselines(
        X_train, data.train.y, X_part, part.y, kind=data.kind, verbose=verbose, **options
    )


def _metric_columns(metrics: pd.DataFrame) -> list[str]:
    skip = {"model", "task", "n", "n_pos", "note"}
    return [
        c for c in metrics.columns if c not in skip and pd.api.types.is_numeric_dtype(metrics[c])
    ]


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model: its macro mean over tasks (the ``mean`` rows of :func:`metrics_table`)."""
    cols = _metric_columns(metrics)
    if "task" in metrics.columns and (metrics["task"] == "mean").any():
        out = metrics[metrics["task"] == "mean"]
    else:
        out = metrics.groupby("model", sort=False)[cols].mean().reset_index()
    return out[["model", *cols]].reset_index(drop=True)


def _summary(metrics: pd.DataFrame, name: str) -> dict[str, float]:
    row = summary_table(metrics)
    row = row[row["model"] == name]
    if row.empty:
        return {}
    return {c: float(row[c].iloc[0]) for c in _metric_columns(metrics)}


# ==================================================================================================
# evaluate a run


def evaluate_run(
    run: str | os.PathLike,
    *,
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    split: Literal["train", "valid", "test"] = "test",
    out_dir: str | os.PathLike | None = None,
    baselines: bool = False,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Score a trained run on a split of its data (or of another config's data).

    Parameters
    ----------
    run : path
        Run folder written by :func:`train_from_config` (or a saved model folder, with ``config``).
    config : path or mapping, optional
        Config whose ``data:`` section gives the data; default the run's ``config.yaml``.
    split : {"train", "valid", "test"}
        Which split to score.
    out_dir : path, optional
        Where to write ``metrics.tsv``/``.md`` and predictions; default ``RUN/eval-<split>``.
    baselines : bool
        Also fit the k-mer baselines (on the train split) and score them on the same split.

    Returns
    -------
    pandas.DataFrame
        The metrics table (see :func:`metrics_table`).
    """
    check_choice("split", split, ("train", "valid", "test"))
    run = Path(run)
    if config is None:
        config = run / "config.yaml"
        if not Path(config).exists():
            raise FileNotFoundError(f"{run} has no config.yaml; pass config= (--data CONFIG)")
    cfg = load_config(config)
    pkg = load_model(run)
    spec = pkg.data_spec
    data = build_data(cfg["data"], verbose=verbose)
    trained_tasks = spec.get("task_names")
    if trained_tasks and list(trained_tasks) != list(data.task_names):
        raise ValueError(
            f"the model predicts tasks {trained_tasks} but the data has {data.task_names}; evaluate with "
            "data of the same tasks"
        )
    if spec.get("sequence_length") and int(spec["sequence_length"]) != data.length:
        if getattr(pkg.model, "input_length", None) is not None:
            raise ValueError(
                f"the model reads {spec['sequence_length']} bp windows but the data has {data.length} bp"
            )
    part = data.split(split)
    name = spec.get("model_name") or cfg["model"]["name"]
    kind = spec.get("kind", data.kind)
    preds = {
        name: predict_outputs(
            pkg.model,
            part.X,
            rows=part.rows,
            kind=kind,
            loss=spec.get("loss"),
            batch_size=batch_size,
            device=device,
        )
    }
    if baselines:
        preds.update(_baselines(data, part, cfg["baselines"] or {}, verbose=verbose))
    metrics = metrics_table(part.y, preds, kind=data.kind, task_names=data.task_names)
    out = Path(out_dir) if out_dir is not None else run / f"eval-{split}"
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(metrics, out / "metrics")
    _write_predictions(out, part, data.task_names, preds)
    if verbose:
        log(markdown_table(summary_table(metrics)))
    return metrics


# ==================================================================================================
# predict from files


def _windows_from_bed(bed, genome, length: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(original intervals, model windows centred on them) from a BED file."""
    from genodeep.io import Genome, read_bed

    g = genome if not isinstance(genome, (str, os.PathLike)) else Genome(genome)
    df = read_bed(bed, genome=g).reset_index(drop=True)
    if len(df) == 0:
        raise ValueError(f"{bed}: no intervals")
    widths = (df["end"] - df["start"]).to_numpy()
    if length is None:
        if len(set(widths.tolist())) != 1:
            raise ValueError(
                f"{bed}: intervals have different widths and the model accepts any length; give "
                "intervals of one width"
            )
        length = int(widths[0])
    centre = (df["start"].to_numpy() + df["end"].to_numpy()) // 2
    starts = centre - length // 2
    win = pd.DataFrame({"chrom": df["chrom"].to_numpy(), "start": starts, "end": starts + length})
    return df, win


def predict_file(
    model: str | os.PathLike | torch.nn.Module,
    *,
    fasta: str | os.PathLike | None = None,
    bed: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    task: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Predict with a saved model for the sequences of a FASTA file or the BED intervals of a genome.

    Parameters
    ----------
    model : path or SequenceModel
        A run folder / model folder written by ``genodeep train`` (or a model; then outputs are raw).
    fasta : path, optional
        Sequences of the model's input length (or any length for length-agnostic models).
    bed, genome : paths, optional
        Intervals and the genome FASTA. Each interval is re-centred to a window of the model's input
        length; predictions are reported for (and, in bigWig output, span) the original interval.
    out : path, optional
        ``.tsv`` (one row per sequence/interval, one column per task), ``.npz`` (arrays ``y_hat``
        (N, T), ``task_names``, ``names`` or ``chrom/start/end``) or ``.bw``/``.bigwig`` (BED input
        only: one value per interval span; with several tasks, ``--task`` picks one, otherwise one
        file per task ``OUT.<task>.bw``; overlapping intervals are cut at the midpoint between their
        centres so every base carries the prediction of the nearest window).
    task : str, optional
        Task written to bigWig.
    batch_size, device, dtype, verbose
        Batched forward options.

    Returns
    -------
    pandas.DataFrame
        Identifier columns (``name`` or ``chrom, start, end``) and one column per task.
    """
    if (fasta is None) == (bed is None):
        raise ValueError(
            "give exactly one input: fasta= (--fasta) or bed= with genome= (--bed --genome)"
        )
    if bed is not None and genome is None:
        raise ValueError("bed= needs genome= (--genome FASTA) to read the window sequences")
    if isinstance(model, torch.nn.Module):
        net, spec = model, {}
    else:
        pkg = load_model(model)
        net, spec = pkg.model, pkg.data_spec
    length = getattr(net, "input_length", None) or spec.get("sequence_length")
    task_names = list(
        spec.get("task_names") or [f"task_{i}" for i in range(getattr(net, "n_tasks", 1))]
    )
    kind = spec.get("kind", "regression" if not spec else "binary")
    if isinstance(model, torch.nn.Module):
        transform_kind: Kind = "regression"
    else:
        transform_kind = kind
    if fasta is not None:
        from genodeep.io import read_fasta
        from genodeep.seq import one_hot

        records = read_fasta(fasta)
        names = list(records)
        seqs = [records[n] for n in names]
        if not seqs:
            raise ValueError(f"{fasta}: no sequences")
        lens = {len(s) for s in seqs}
        want = getattr(net, "input_length", None)
        if want is not None and lens != {int(want)}:
            raise ValueError(
                f"{fasta}: the model reads sequences of {want} bp; found lengths {sorted(lens)[:5]}"
            )
        if len(lens) != 1:
            raise ValueError(
                f"{fasta}: sequences must have one length to be batched; found {sorted(lens)[:5]}"
            )
        X = one_hot(seqs)
        ids = pd.DataFrame({"name": names})
        intervals = None
    else:
        from genodeep.io import Genome

        g = Genome(genome)
        intervals, win = _windows_from_bed(bed, g, length)
        X = g.one_hot(
            win["chrom"].tolist(),
            win["start"].to_numpy(),
            int(win["end"].iloc[0] - win["start"].iloc[0]),
        )
        ids = intervals[["chrom", "start", "end"]].copy()
        if "name" in intervals.columns:
            ids["name"] = intervals["name"].to_numpy()
    y_hat = predict_outputs(
        net,
        X,
        kind=transform_kind,
        loss=spec.get("loss"),
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        verbose=verbose,
    )
    if y_hat.shape[1] != len(task_names):
        task_names = [f"task_{i}" for i in range(y_hat.shape[1])]
    table = ids.copy()
    for t, name in enumerate(task_names):
        table[name] = y_hat[:, t]
    if out is not None:
        _write_prediction_file(Path(out), table, y_hat, task_names, ids, intervals, task, genome)
    return table


def _write_prediction_file(
    out: Path, table, y_hat, task_names, ids, intervals, task, genome
) -> None:
    from genodeep._io_utils import atomic_path, atomic_write

    suffix = out.suffix.lower()
    if out.name.lower().endswith((".tsv", ".tsv.gz", ".txt")):
        with atomic_write(out) as fh:
            table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    elif suffix == ".npz":
        arrays = {"y_hat": y_hat, "task_names": np.asarray(task_names)}
        for c in ids.columns:
            arrays[c] = ids[c].to_numpy()
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
    elif suffix in (".bw", ".bigwig"):
        if intervals is None:
            raise ValueError("bigWig output needs genomic intervals: use --bed with --genome")
        from genodeep.io import Genome

        sizes = Genome(genome).chrom_sizes
        if task is not None:
            if task not in task_names:
                raise ValueError(
                    f"task={task!r} is not one of the model's tasks: {', '.join(task_names)}"
                )
            targets = {task: out}
        elif len(task_names) == 1:
            targets = {task_names[0]: out}
        else:
            stem = out.name[: -len(out.suffix)]
            targets = {t: out.with_name(f"{stem}.{t}{out.suffix}") for t in task_names}
        for t, path in targets.items():
            write_interval_bigwig(path, ids, y_hat[:, task_names.index(t)], sizes)
    else:
        raise ValueError(f"out={os.fspath(out)!r}: use a .tsv, .npz or .bw (bigWig) file name")


def interval_spans(chroms, starts, ends) -> pd.DataFrame:
    """Non-overlapping spans for per-interval values, sorted by chromosome and start.

    Where consecutive intervals (sorted by start) overlap, the boundary is the midpoint between their
    centres (clipped to the overlap), so each base takes the value of the interval whose centre is
    nearest. Meant for windows of one width (tiles, re-centred peaks); an interval nested in the
    previous one ends that one at their boundary.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end, row`` (``row`` = index of the input interval), empty spans dropped.
    """
    df = pd.DataFrame(
        {
            "chrom": np.asarray(chroms),
            "start": np.asarray(starts, dtype=np.int64),
            "end": np.asarray(ends, dtype=np.int64),
        }
    )
    df["row"] = np.arange(len(df))
    df = df.sort_values(["chrom", "start", "end", "row"], kind="stable").reset_index(drop=True)
    out = []
    for _, sub in df.groupby("chrom", sort=False):
        s0, e0 = sub["start"].to_numpy(), sub["end"].to_numpy()
        s, e = s0.copy(), e0.copy()
        for i in range(len(s) - 1):
            if e[i] > s[i + 1]:
                mid = (s0[i] + e0[i] + s0[i + 1] + e0[i + 1]) // 4  # between the original centres
                cut = min(max(mid, s[i + 1]), e[i])
                e[i] = cut
                s[i + 1] = max(s[i + 1], cut)
        spans = sub.assign(start=s, end=e)
        out.append(spans[spans["end"] > spans["start"]])
    return pd.concat(out, ignore_index=True) if out else df.iloc[:0]


def write_interval_bigwig(
    path, ids: pd.DataFrame, values: np.ndarray, chrom_sizes: Mapping[str, int]
) -> Path:
    """Write one value per interval (``ids``: chrom, start, end) to a bigWig, atomically."""
    from genodeep._io_utils import atomic_path
    from genodeep._validate import require

    pyBigWig = require("pyBigWig", "bigwig")
    spans = interval_spans(ids["chrom"], ids["start"], ids["end"])
    order = [c for c in chrom_sizes if c in set(spans["chrom"])]
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(tmp, "w")
        try:
            bw.addHeader([(c, int(chrom_sizes[c])) for c in chrom_sizes])
            for c in order:
                sub = spans[spans["chrom"] == c]
                bw.addEntries(
                    [c] * len(sub),
                    sub["start"].astype(int).tolist(),
                    ends=sub["end"].astype(int).tolist(),
                    values=[float(values[r]) for r in sub["row"]],
                )
        finally:
            bw.close()
    return Path(path)
