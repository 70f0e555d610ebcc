"""Datasets that yield several inputs per window: one-hot sequence, a signal track, a feature vector.

Each sample is ``(inputs, y)`` where ``inputs`` is a tuple in the order ``(sequence, track,
features)`` with absent inputs left out — the order :class:`genodeep.models.MultimodalModel` takes
positional inputs in, and what :class:`genodeep.train.GenodeepTask` passes as ``model(*inputs)``.

- :class:`MultimodalDataset`: in-memory tensors.
- :class:`GenomeMultimodalDataset`: genome windows read on the fly (one genome gather per batch) with
  the track read from :class:`genodeep.io.SignalTrack` objects (bigWig/wig/bedGraph) over the same
  windows, per base or binned.

Reverse-complement augmentation flips the sequence (channels and positions) and the track (positions)
together; features and labels are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch

from genodeep._validate import check_choice, check_positive
from genodeep.data.augment import AugmentRng, rc_flip
from genodeep.data.intervals import check_windows, window_width
from genodeep.io.signal import SignalTrack

__all__ = ["MultimodalDataset", "GenomeMultimodalDataset"]


def _tensor(values: object, name: str, dtype: torch.dtype | None = torch.float32) -> torch.Tensor:
    t = (
        values.detach().cpu()
        if isinstance(values, torch.Tensor)
        else torch.from_numpy(np.asarray(values))
    )
    if dtype is not None:
        t = t.to(dtype)
    return t.contiguous()


def _labels(y: object, n: int) -> torch.Tensor:
    if y is None:
        return torch.zeros((n, 0), dtype=torch.float32)
    t = _tensor(y.to_numpy() if isinstance(y, pd.DataFrame) else y, "y")
    if t.ndim == 1:
        t = t[:, None]
    if t.shape[0] != n:
        raise ValueError(
            f"y had shape {tuple(t.shape)} while it should have had ({n}, T): one row per window"
        )
    return t


def _check_rows(name: str, t: torch.Tensor, n: int, ndim: int, shape: str) -> None:
    if t.ndim != ndim or t.shape[0] != n:
        raise ValueError(
            f"{name} had shape {tuple(t.shape)} while it should have had {shape} with N={n}"
        )


class _MultimodalBase(torch.utils.data.Dataset):
    inputs: tuple[str, ...]

    def get_batch(
        self, indices
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        inputs, y = self.get_batch([int(index)])
        return tuple(t[0] for t in inputs), y[0]

    def __getitems__(self, indices: Sequence[int]) -> list:
        inputs, y = self.get_batch(indices)
        return [(tuple(t[i] for t in inputs), y[i]) for i in range(len(y))]


class MultimodalDataset(_MultimodalBase):
    """In-memory sequences with a signal track and/or a feature vector per window.

    Parameters
    ----------
    X : torch.Tensor or np.ndarray, shape (N, 4, L)
        One-hot sequences (int8 storage is fine; returned as float32).
    y : array-like, optional
        ``(N,)`` or ``(N, T)`` targets (NaN = missing).
    track : array-like, shape (N, C_t, L_t) or (N, L_t), optional
        Signal per window, per base (``L_t = L``) or binned. ``(N, L_t)`` is one channel.
    features : array-like, shape (N, F), optional
        A vector per window.
    rc_augment : bool, default False
        Reverse-complement half of the samples (sequence and track flipped together).
    random_state : int or np.random.Generator, optional
        Seed of the augmentation.

    Attributes
    ----------
    inputs : tuple of str
        ``("sequence", ["track"], ["features"])``: what each sample's input tuple holds.

    Notes
    -----
    ``dataset[i]`` is ``((X_i (4, L), [track_i (C_t, L_t)], [features_i (F,)]), y_i (T,))``, all
    float32; :meth:`get_batch` returns the same for a batch in one gather.
    """

    def __init__(
        self,
        X: object,
        y: object = None,
        *,
        track: object = None,
        features: object = None,
        rc_augment: bool = False,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.X = _tensor(X, "X", dtype=None)
        if self.X.ndim != 3 or self.X.shape[1] != 4:
            raise ValueError(
                f"X had shape {tuple(self.X.shape)} while it should have had (N, 4, L)"
            )
        n = int(self.X.shape[0])
        self.y = _labels(y, n)
        self.track = None if track is None else _tensor(track, "track")
        if self.track is not None:
            if self.track.ndim == 2:
                self.track = self.track[:, None, :]
            _check_rows("track", self.track, n, 3, "(N, C_t, L_t)")
        self.features = None if features is None else _tensor(features, "features")
        if self.features is not None:
            _check_rows("features", self.features, n, 2, "(N, F)")
        self.inputs = tuple(
            name
            for name, t in (
                ("sequence", self.X),
                ("track", self.track),
                ("features", self.features),
            )
            if t is not None
        )
        self.rc_augment = bool(rc_augment)
        self._rng = AugmentRng(random_state)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_tasks(self) -> int:
        """Targets per window (0 without targets)."""
        return int(self.y.shape[1]) if self.y.ndim > 1 else 0

    @property
    def track_channels(self) -> int:
        """Track channels ``C_t`` (0 without a track)."""
        return 0 if self.track is None else int(self.track.shape[1])

    @property
    def n_features(self) -> int:
        """Feature vector length ``F`` (0 without features)."""
        return 0 if self.features is None else int(self.features.shape[1])

    def get_batch(self, indices) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """``((X (B, 4, L), [track (B, C_t, L_t)], [features (B, F)]), y (B, T))`` as float32."""
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64).reshape(-1))
        x = self.X[idx].float()
        track = None if self.track is None else self.track[idx].clone()
        if self.rc_augment:
            x, track = rc_flip(self._rng.get(), x, track)
        parts = [x]
        if track is not None:
            parts.append(track)
        if self.features is not None:
            parts.append(self.features[idx])
        return tuple(parts), self.y[idx]

    def __repr__(self) -> str:
        return (
            f"MultimodalDataset({len(self)} windows, inputs={self.inputs}, {self.n_tasks} targets)"
        )


class GenomeMultimodalDataset(_MultimodalBase):
    """Genome windows with signal tracks as an input, read on the fly.

    Parameters
    ----------
    genome : Genome
        A :class:`genodeep.io.Genome`.
    windows : pandas.DataFrame, N rows
        ``chrom``, ``start``, ``end`` windows of one width ``L``.
    targets : array-like, optional
        ``(N,)`` or ``(N, T)`` labels (e.g. from :func:`genodeep.data.multitask_labels`).
    tracks : SignalTrack, list of SignalTrack or Mapping[str, SignalTrack]
        Input tracks, one channel each (e.g. ``{"dnase": read_signal("dnase.bw")}``).
    bin_size : int, default 1
        Bases per track bin (must divide ``L``); 1 = per base (needed for early fusion).
    agg : {"mean", "sum", "max"}, default "mean"
        Aggregation within a bin.
    transform : {"log1p", None}, default "log1p"
        Applied to track values (coverage is heavy-tailed).
    features : array-like (N, F), optional
        A vector per window.
    rc_augment : bool, default False
        Reverse-complement half of the samples (track flipped along positions too).
    random_state : int or np.random.Generator, optional

    Notes
    -----
    Samples as in :class:`MultimodalDataset`; ``track`` is ``(C_t, L // bin_size)``.
    """

    def __init__(
        self,
        genome: object,
        windows: pd.DataFrame,
        targets: object = None,
        *,
        tracks: object,
        bin_size: int = 1,
        agg: Literal["mean", "sum", "max"] = "mean",
        transform: Literal["log1p"] | None = "log1p",
        features: object = None,
        rc_augment: bool = False,
        random_state: int | np.random.Generator | None = None,
    ) -> None:

        check_windows(windows, "windows")
        if not hasattr(genome, "one_hot"):
            raise TypeError(f"genome must be a genodeep.io.Genome, got {type(genome).__name__}")
        self.genome = genome
        self.length = window_width(windows, "windows")
        self.windows = windows.reset_index(drop=True)[["chrom", "start", "end"]]
        names = {c: genome.resolve(c) for c in dict.fromkeys(self.windows["chrom"])}
        self._chroms = self.windows["chrom"].map(names).to_numpy(dtype=object)
        self._starts = self.windows["start"].to_numpy(dtype=np.int64)
        n = len(self.windows)
        self.y = _labels(targets, n)
        if isinstance(tracks, SignalTrack):
            tracks = [tracks]
        self.track_names: list[str] | None = None
        if isinstance(tracks, Mapping):
            self.track_names = [str(k) for k in tracks]
            tracks = list(tracks.values())
        self.tracks = list(tracks) if tracks is not None else []
        if not self.tracks or not all(isinstance(t, SignalTrack) for t in self.tracks):
            raise TypeError(
                "tracks must be a SignalTrack, a list of them or a dict name -> SignalTrack"
            )
        check_positive("bin_size", int(bin_size))
        if self.length % int(bin_size):
            raise ValueError(f"bin_size={bin_size} must divide the window width {self.length}")
        check_choice("agg", agg, ("mean", "sum", "max"))
        check_choice("transform", transform, ("log1p", None))
        self.bin_size, self.agg, self.transform = int(bin_size), agg, transform
        self.features = None if features is None else _tensor(features, "features")
        if self.features is not None:
            _check_rows("features", self.features, n, 2, "(N, F)")
        self.inputs = ("sequence", "track") + (("features",) if self.features is not None else ())
        self.rc_augment = bool(rc_augment)
        self._rng = AugmentRng(random_state)

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def n_tasks(self) -> int:
        return int(self.y.shape[1])

    @property
    def track_channels(self) -> int:
        return len(self.tracks)

    @property
    def n_features(self) -> int:
        return 0 if self.features is None else int(self.features.shape[1])

    def get_batch(self, indices) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Inputs and targets of a batch; one genome gather and one read per track."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        chroms = list(self._chroms[idx])
        starts = self._starts[idx]
        x = self.genome.one_hot(chroms, starts, self.length).float()
        vals = np.stack(
            [
                t.values(chroms, starts, self.length, bin_size=self.bin_size, agg=self.agg)
                for t in self.tracks
            ],
            axis=1,
        )
        if self.transform == "log1p":
            vals = np.log1p(np.maximum(vals, 0.0))
        track = torch.from_numpy(vals.astype(np.float32))
        if self.rc_augment:
            x, track = rc_flip(self._rng.get(), x, track)
        parts = [x, track]
        if self.features is not None:
            parts.append(self.features[torch.from_numpy(idx)])
        return tuple(parts), self.y[torch.from_numpy(idx)]

    def __repr__(self) -> str:
        return (
            f"GenomeMultimodalDataset({len(self)} windows of {self.length} bp, {len(self.tracks)} "
            f"track(s) at bin {self.bin_size}, {self.n_tasks} targets)"
        )
