"""Train/valid/test splits and what a model needs to know about them (:class:`DataBundle`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from genodeep._validate import check_choice
from genodeep.data.multimodal import MultimodalDataset

Kind = Literal["binary", "regression", "profile"]
SPLITS = ("train", "valid", "test")


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
    kind : {"binary", "regression", "profile"}
        Label type: decides the default loss, the metrics and the baselines. ``"profile"``: labels
        ``(N, T, n_out)`` per output position (see :mod:`genodeep.data.profile`).
    input_length : int or None
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
    output : dict
        What per-position outputs mean (profile data): ``output_length`` (bases the outputs cover,
        centred in the input), ``bin_size`` and ``strand_pairs``.
    """

    train: Split
    valid: Split
    test: Split
    task_names: list[str]
    kind: Kind
    input_length: int | None
    genome: str | None = None
    input_kind: str = "sequence"
    inputs: tuple[str, ...] = ("sequence",)
    model_args: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        check_choice("split", name, ("train", "valid", "test"))
        return getattr(self, name)


def random_split(n: int, valid_fraction: float, test_fraction: float, random_state: int | None):
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


def infer_kind(y: np.ndarray) -> Kind:
    finite = y[~np.isnan(y)]
    return "binary" if np.isin(finite, (0.0, 1.0)).all() else "regression"


def as_labels(y, n: int) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != n:
        raise ValueError(f"labels had {y.shape[0]} rows for {n} sequences")
    return y


def subset_split(X, y: np.ndarray, ids: pd.DataFrame, idx: np.ndarray) -> Split:
    """The rows ``idx`` of inputs ``X`` (a tensor or a tuple of tensors), labels and ids."""
    t = torch.as_tensor(idx, dtype=torch.long)
    ids = ids.iloc[idx].reset_index(drop=True)
    if isinstance(X, (tuple, list)):
        Xs = tuple(part[t] for part in X)
        return Split(X=Xs, y=y[idx], ids=ids, dataset=inputs_dataset(Xs, y[idx]))
    return Split(X=X[t], y=y[idx], ids=ids)


def inputs_dataset(X: tuple[torch.Tensor, ...], y: np.ndarray, **kwargs: Any):
    """A :class:`~genodeep.data.multimodal.MultimodalDataset` over ``(sequence, [track (N, C, L_t)],
    [features (N, F)])``: the track is the 3-D tensor, the features the 2-D one."""

    track = next((t for t in X[1:] if t.ndim == 3), None)
    features = next((t for t in X[1:] if t.ndim == 2), None)
    return MultimodalDataset(X[0], y, track=track, features=features, **kwargs)


class WholeGraph(torch.utils.data.TensorDataset):
    """One graph as one batch ``(X (n, F), y (n, T), mask (n, T))`` for transductive node tasks.

    Every training step sees every node's features (the graph convolutions need the whole graph); the
    mask keeps the loss to the nodes of one split. Any index returns the whole graph, so batches carry
    no extra leading dimension.
    """

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index):
        return self.tensors


def node_split(X: torch.Tensor, y: np.ndarray, ids: pd.DataFrame, rows: np.ndarray) -> Split:
    """A split of a node task: the whole graph ``X (n, F)`` with this split's ``rows`` masked in."""
    mask = np.zeros(y.shape, dtype=bool)
    mask[rows] = ~np.isnan(y[rows])
    dataset = WholeGraph(
        X,
        torch.from_numpy(np.nan_to_num(y, nan=0.0).astype(np.float32)),
        torch.from_numpy(mask),
    )
    return Split(
        X=X, y=y[rows], ids=ids.iloc[rows].reset_index(drop=True), dataset=dataset, rows=rows
    )


def prepend_missing_tasks(split: Split, n: int) -> None:
    """Give a split ``n`` leading label columns of NaN (tasks without labels in this data)."""
    pad = np.full((split.y.shape[0], n), np.nan, dtype=np.float32)
    split.y = np.concatenate([pad, split.y], axis=1)
    ds = split.dataset
    if isinstance(ds, WholeGraph):
        X, y, mask = ds.tensors
        split.dataset = WholeGraph(
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
