"""Simulated data for the multimodal and graph demonstrations.

- :func:`simulate_multimodal`: binding needs a motif in the sequence AND open chromatin in a track.
- :func:`simulate_graph_labels`: a random network whose node labels are the majority of the
  neighbours' hidden states, which the nodes' own features show only for themselves.

:func:`simulate_multimodal` draws, for each window independently, whether it carries a motif
(probability ``p_motif``) and whether its chromatin is open (probability ``p_open``). The label is
``motif AND open``. The sequence shows only the motif, the accessibility track only the openness, so
neither input alone can separate the classes: with ``p_motif = p_open = 1/2`` the best single-input
classifier reaches an auROC of 5/6 ≈ 0.833 (it ranks the half of the windows with its own evidence
first, tied within), while a model that sees both can reach 1.

Track model (per base, one channel): open windows carry an accessibility peak, a Gaussian bump of
height ``peak_height`` and standard deviation ``peak_width`` bases at a random centre, on top of a
background rate ``background``; the observed value is ``log1p(Poisson(rate))``. Closed windows have the
background rate only. With ``bin_size > 1`` the track is averaged in bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genodeep._validate import check_positive
from genodeep.data.multimodal import MultimodalDataset
from genodeep.io.graph import graph_from_edges
from genodeep.seq.encode import one_hot
from genodeep.seq.simulate import simulate_motif_presence

__all__ = [
    "MultimodalSimulation",
    "simulate_multimodal",
    "DEFAULT_MOTIF",
    "GraphSimulation",
    "simulate_graph_labels",
]

#: default planted motif: the palindromic cAMP response element (CRE), exact consensus
DEFAULT_MOTIF = "TGACGTCA"


@dataclass
class MultimodalSimulation:
    """What :func:`simulate_multimodal` returns.

    Attributes
    ----------
    X : torch.Tensor int8, shape (N, 4, L)
        One-hot sequences.
    track : torch.Tensor float32, shape (N, 1, L // bin_size)
        Accessibility track.
    features : torch.Tensor float32, shape (N, F) or None
        Per-window features: column 0 is the G+C fraction, the others are N(0, 1) noise; none of
        them carries information about the label.
    y : torch.Tensor float32, shape (N, 1)
        ``motif AND open``.
    motif : np.ndarray bool, shape (N,)
        Whether the motif was planted.
    open : np.ndarray bool, shape (N,)
        Whether the window is open.
    """

    X: torch.Tensor
    track: torch.Tensor
    features: torch.Tensor | None
    y: torch.Tensor
    motif: np.ndarray
    open: np.ndarray

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, idx: Any) -> MultimodalSimulation:
        """The rows ``idx`` (array of indices or boolean mask) as a new simulation."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        t = torch.as_tensor(idx, dtype=torch.long)
        return MultimodalSimulation(
            X=self.X[t],
            track=self.track[t],
            features=None if self.features is None else self.features[t],
            y=self.y[t],
            motif=self.motif[idx],
            open=self.open[idx],
        )

    def dataset(self, *, track: bool = True, features: bool = True):
        """A :class:`genodeep.data.multimodal.MultimodalDataset` with the chosen inputs."""

        return MultimodalDataset(
            self.X,
            self.y,
            track=self.track if track else None,
            features=self.features if (features and self.features is not None) else None,
        )


def _motif_pwm(motif: str | np.ndarray) -> np.ndarray:
    if isinstance(motif, str):
        if not motif or any(c not in "ACGTacgt" for c in motif):
            raise ValueError(
                f"motif must be a string of A, C, G, T or a (4, w) matrix, got {motif!r}"
            )
        return one_hot(motif.upper()).numpy().astype(np.float64)
    arr = np.asarray(motif, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4:
        raise ValueError(
            f"motif had shape {arr.shape} while it should have had (4, w) (rows A, C, G, T)"
        )
    return arr


def simulate_multimodal(
    n: int,
    length: int = 200,
    *,
    motif: str | np.ndarray = DEFAULT_MOTIF,
    p_motif: float = 0.5,
    p_open: float = 0.5,
    peak_height: float = 3.0,
    peak_width: float = 20.0,
    background: float = 0.5,
    bin_size: int = 1,
    n_features: int = 0,
    gc: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> MultimodalSimulation:
    """Windows whose label is ``motif present AND chromatin open`` (sequence + track both needed).

    Parameters
    ----------
    n : int
        Number of windows.
    length : int, default 200
        Window length ``L``.
    motif : str or array (4, w), default :data:`DEFAULT_MOTIF`
        Consensus string (planted exactly) or a probability matrix (sampled per instance); planted
        once, on a random strand, at a random position.
    p_motif, p_open : float, default 0.5
        Probabilities that a window carries the motif, and that it is open (independent).
    peak_height : float, default 3.0
        Extra Poisson rate at the centre of an open window's accessibility peak.
    peak_width : float, default 20.0
        Standard deviation of the peak in bases.
    background : float, default 0.5
        Background Poisson rate everywhere.
    bin_size : int, default 1
        Bases per track bin (must divide ``length``).
    n_features : int, default 0
        Per-window features to add (G+C fraction, then noise columns); 0 = none.
    gc : float, default 0.5
        Background G+C fraction.
    random_state : int or np.random.Generator, optional

    Returns
    -------
    MultimodalSimulation
        ``X`` (N, 4, L) int8, ``track`` (N, 1, L // bin_size), ``features`` (N, F) or None,
        ``y`` (N, 1), and the hidden ``motif``/``open`` indicators.
    """

    for name, p in (("p_motif", p_motif), ("p_open", p_open)):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    check_positive("length", length)
    check_positive("peak_width", peak_width)
    check_positive("peak_height", peak_height, allow_zero=True)
    check_positive("background", background, allow_zero=True)
    check_positive("bin_size", bin_size)
    check_positive("n_features", n_features, allow_zero=True)
    if length % int(bin_size):
        raise ValueError(f"bin_size={bin_size} must divide length={length}")
    rng = np.random.default_rng(random_state)
    pwm = _motif_pwm(motif)
    seqs, labels, _ = simulate_motif_presence(
        int(n),
        int(length),
        {"motif": pwm},
        gc=gc,
        positive_fraction=float(p_motif),
        random_state=rng,
    )
    has_motif = labels[:, 0] > 0.5
    is_open = rng.random(int(n)) < float(p_open)
    pos = np.arange(length, dtype=np.float64)
    centres = rng.uniform(0, length, size=int(n))
    bump = np.exp(-0.5 * ((pos[None, :] - centres[:, None]) / float(peak_width)) ** 2)
    rate = float(background) + float(peak_height) * bump * is_open[:, None]
    track = np.log1p(rng.poisson(rate)).astype(np.float32)
    if bin_size > 1:
        track = track.reshape(int(n), length // int(bin_size), int(bin_size)).mean(-1)
    X = one_hot(list(seqs)).to(torch.int8) if n else torch.zeros((0, 4, length), dtype=torch.int8)
    features = None
    if n_features:
        feats = rng.standard_normal((int(n), int(n_features))).astype(np.float32)
        gc_frac = X[:, 1:3].float().sum((1, 2)) / float(length)
        feats[:, 0] = gc_frac.numpy()
        features = torch.from_numpy(feats)
    y = torch.from_numpy((has_motif & is_open).astype(np.float32)[:, None])
    return MultimodalSimulation(
        X=X,
        track=torch.from_numpy(np.ascontiguousarray(track[:, None, :])),
        features=features,
        y=y,
        motif=has_motif,
        open=is_open,
    )


@dataclass
class GraphSimulation:
    """What :func:`simulate_graph_labels` returns.

    Attributes
    ----------
    graph : genodeep.io.graph.Graph
        Random undirected graph over nodes ``g0 ... g{n-1}``.
    features : torch.Tensor float32, shape (n, F)
        Noisy node features: ``(2 h_i - 1) * signal / sqrt(F)`` in every column plus ``N(0, noise^2)``.
    y : torch.Tensor float32, shape (n, 1)
        Label: the majority of the node's neighbours' hidden states (ties and isolated nodes: its own).
    hidden : np.ndarray bool, shape (n,)
        The hidden state ``h`` of each node (i.i.d. fair coin flips).
    """

    graph: Any
    features: torch.Tensor
    y: torch.Tensor
    hidden: np.ndarray


def simulate_graph_labels(
    n_nodes: int = 1000,
    *,
    avg_degree: float = 8.0,
    n_features: int = 8,
    signal: float = 1.0,
    noise: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> GraphSimulation:
    """A random network whose node labels depend on the neighbours, not on the node itself.

    Each node has a hidden binary state ``h`` (fair coin, independent of everything else) that its
    features show noisily; its label is the majority state of its neighbours. A model of a node's own
    features cannot beat chance (``h_i`` is independent of the label), while a graph convolution that
    averages the neighbours' features can.

    Parameters
    ----------
    n_nodes : int, default 1000
        Number of nodes.
    avg_degree : float, default 8.0
        Expected number of neighbours (Erdős–Rényi graph with ``n * avg_degree / 2`` edges drawn).
    n_features : int, default 8
        Features per node.
    signal : float, default 1.0
        Norm of the class offset ``(2h - 1) * signal / sqrt(F) * (1, ..., 1)``.
    noise : float, default 1.0
        Standard deviation of the Gaussian noise per feature.
    random_state : int or np.random.Generator, optional

    Returns
    -------
    GraphSimulation
        ``graph``, ``features`` (n, F), ``y`` (n, 1), ``hidden`` (n,).
    """

    check_positive("n_nodes", n_nodes)
    check_positive("avg_degree", avg_degree)
    check_positive("n_features", n_features)
    check_positive("noise", noise, allow_zero=True)
    if n_nodes < 2:
        raise ValueError(f"n_nodes must be >= 2 to draw edges, got {n_nodes}")
    rng = np.random.default_rng(random_state)
    n = int(n_nodes)
    m = max(1, int(round(n * float(avg_degree) / 2)))
    a = rng.integers(0, n, size=m)
    b = rng.integers(0, n - 1, size=m)
    b = b + (b >= a)  # no self-loops
    names = [f"g{i}" for i in range(n)]
    graph = graph_from_edges([(names[i], names[j]) for i, j in zip(a, b)], nodes=names)
    hidden = rng.random(n) < 0.5
    e = graph.edges
    votes = np.zeros(n)
    count = np.zeros(n)
    np.add.at(votes, e[:, 0], hidden[e[:, 1]])
    np.add.at(votes, e[:, 1], hidden[e[:, 0]])
    np.add.at(count, e[:, 0], 1)
    np.add.at(count, e[:, 1], 1)
    frac = np.divide(votes, count, out=np.full(n, 0.5), where=count > 0)
    label = np.where(frac == 0.5, hidden, frac > 0.5)
    offset = (2.0 * hidden - 1.0) * float(signal) / np.sqrt(n_features)
    feats = offset[:, None] + float(noise) * rng.standard_normal((n, int(n_features)))
    return GraphSimulation(
        graph=graph,
        features=torch.from_numpy(feats.astype(np.float32)),
        y=torch.from_numpy(label.astype(np.float32)[:, None]),
        hidden=hidden,
    )
