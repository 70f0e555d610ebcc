"""Multimodal models (the review's Fig. 4): DNA sequence plus other inputs for the same window.

Inputs
------
- ``x``: one-hot sequence ``(N, 4, L)`` (always).
- ``track``: a signal over the window, ``(N, C_t, L_t)`` — per base (``L_t = L``) or binned
  (``L_t = L / bin_size``), e.g. accessibility from a bigWig (see
  :class:`genodeep.data.multimodal.MultimodalDataset`).
- ``features``: a vector per window, ``(N, F)`` (GC content, conservation, a cell-type embedding, ...).

Fusion
------
- ``fusion="early"``: the track's channels are concatenated to the one-hot channels and one
  convolutional tower reads ``(N, 4 + C_t, L)`` (FactorNet-style); needs a per-base track.
- ``fusion="late"``: separate towers — convolutions + global pooling for the sequence, a small
  convolution + global max/avg pooling for the track, a dense layer for the features — joined
  (concatenated) before the dense head.

Features always join at the head. Without ``track_channels`` and ``n_features`` the model is a plain
sequence CNN (conv tower -> global pool -> dense head).

Calling convention
------------------
``model(x, track=..., features=...)``; positional extras are taken in the order of ``model.inputs``
(``("sequence", "track", "features")`` minus the absent ones), which is how
:class:`genodeep.train.GenodeepTask` calls ``model(*X)`` on a batch whose ``X`` is the tuple yielded by
``MultimodalDataset``.

Interpretation
--------------
``genodeep.interpret`` functions take a model mapping one ``(b, C, L)`` tensor to outputs. Fix the other
inputs with :meth:`MultimodalModel.with_fixed_inputs`: ``model.with_fixed_inputs(track=t, features=f)``
is a module over the sequence alone (and ``with_fixed_inputs(sequence=x, features=f)`` one over the
track alone, for gradient attributions of the track). The fixed inputs hold one example (broadcast to
any batch, as ISM and integrated gradients need) or exactly as many rows as each batch.
:func:`sequence_attributions` runs any attribution function example by example this way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import nn

from genodeep._progress import progress
from genodeep._validate import check_choice, check_positive
from genodeep.models.base import SequenceModel, _conv_layers, _dense_layers, _int_list, _prob_list
from genodeep.nn.layers import Activation, GlobalPool, conv_geometry, make_activation, same_padding

__all__ = ["MultimodalModel", "FixedInputs", "sequence_attributions"]

_POOL_WIDTH = {"max": 1, "avg": 1, "max+avg": 2}


class MultimodalModel(SequenceModel):
    """Sequence + signal track + feature vector -> ``(N, n_tasks)`` (early or late fusion).

    Parameters
    ----------
    n_tasks : int, default 1
        Output tasks ``T`` (logits, or linear values for regression).
    track_channels : int, default 0
        Channels ``C_t`` of the track input (0 = no track).
    n_features : int, default 0
        Length ``F`` of the per-window feature vector (0 = no features).
    fusion : {"late", "early"}, default "late"
        How the track joins the sequence (see the module docstring).
    filters, widths, pools : list of int
        Sequence tower: filters, filter width and max-pool size of each convolution ("same" padding).
    activation : str, default "relu"
        Activation everywhere.
    batch_norm : bool, default False
        Batch norm after each sequence convolution.
    pool : {"max", "avg", "max+avg"}, default "max"
        Global pooling of the sequence tower's output over positions.
    track_filters : int, default 16
        Late fusion: filters of the track tower's convolution.
    track_width : int, default 5
        Late fusion: width (in track bins) of that convolution.
    feature_hidden : int, default 16
        Units of the features' dense layer (0 = pass the features straight to the head).
    dense : list of int, default (32,)
        Hidden layers of the head after fusion.
    dropout : float, default 0.0
        Dropout after each hidden dense layer of the head.

    Notes
    -----
    Shapes: ``x (N, 4, L)``, ``track (N, C_t, L_t)`` (``L_t = L`` for early fusion), ``features
    (N, F)`` -> ``(N, n_tasks)``. Any ``L`` works (global pooling). ``receptive_field`` is that of one
    position of the sequence tower's last convolution (for early fusion it applies to the track too).
    """

    #: reads one-hot sequences alone, or a tuple (sequence, track[, features])
    input_kinds = ("sequence", "multimodal")

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        track_channels: int = 0,
        n_features: int = 0,
        fusion: Literal["late", "early"] = "late",
        filters: Sequence[int] = (32,),
        widths: Sequence[int] = (15,),
        pools: Sequence[int] = (1,),
        activation: Activation = "relu",
        batch_norm: bool = False,
        pool: Literal["max", "avg", "max+avg"] = "max",
        track_filters: int = 16,
        track_width: int = 5,
        feature_hidden: int = 16,
        dense: Sequence[int] = (32,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("n_tasks", n_tasks)
        check_positive("track_channels", track_channels, allow_zero=True)
        check_positive("n_features", n_features, allow_zero=True)
        check_choice("fusion", fusion, ("late", "early"))
        check_choice("pool", pool, tuple(_POOL_WIDTH))
        check_positive("track_filters", track_filters)
        check_positive("track_width", track_width)
        check_positive("feature_hidden", feature_hidden, allow_zero=True)
        filters = _int_list("filters", filters)
        if not filters:
            raise ValueError("filters must list at least one convolution layer, got []")
        n = len(filters)
        widths = _int_list("widths", widths, n)
        pools = _int_list("pools", pools, n)
        dense = _int_list("dense", dense) if len(dense) else []
        (dropout,) = _prob_list("dropout", dropout, 1)
        self.n_tasks, self.in_channels, self.input_length = int(n_tasks), 4, None
        self.track_channels, self.n_features, self.fusion = (
            int(track_channels),
            int(n_features),
            fusion,
        )
        early = fusion == "early" and self.track_channels > 0
        self.seq_conv = nn.Sequential(
            *_conv_layers(
                4 + (self.track_channels if early else 0),
                filters,
                widths,
                pools,
                padding="same",
                batch_norm=batch_norm,
                activation=activation,
                dropout=[0.0] * n,
            )
        )
        self.seq_pool = GlobalPool(pool)
        n_joined = filters[-1] * _POOL_WIDTH[pool]
        self.track_tower: nn.Module | None = None
        if self.track_channels and not early:
            self.track_tower = nn.Sequential(
                nn.Conv1d(
                    self.track_channels,
                    track_filters,
                    track_width,
                    padding=same_padding(track_width),
                ),
                make_activation(activation),
                GlobalPool("max+avg"),
            )
            n_joined += 2 * track_filters
        self.feature_tower: nn.Module | None = None
        if self.n_features:
            if feature_hidden:
                self.feature_tower = nn.Sequential(
                    nn.Linear(self.n_features, feature_hidden), make_activation(activation)
                )
                n_joined += feature_hidden
            else:
                self.feature_tower = nn.Identity()
                n_joined += self.n_features
        self.head = nn.Sequential(
            *_dense_layers(n_joined, dense, n_tasks, activation=activation, dropout=dropout)
        )

    # ------------------------------------------------------------------ inputs
    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the inputs in call order: ``"sequence"``, then ``"track"``/``"features"`` if used."""
        names = ["sequence"]
        if self.track_channels:
            names.append("track")
        if self.n_features:
            names.append("features")
        return tuple(names)

    def _gather(
        self,
        extra: tuple[torch.Tensor, ...],
        track: torch.Tensor | None,
        features: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        names = self.inputs[1:]
        if len(extra) > len(names):
            raise TypeError(
                f"{type(self).__name__} takes inputs {self.inputs}; got {1 + len(extra)} positional inputs"
            )
        given = dict(zip(names, extra))
        for name, value in (("track", track), ("features", features)):
            if value is not None:
                if name in given:
                    raise TypeError(f"{name} given both positionally and by keyword")
                given[name] = value
        for name in given:
            if name not in names:
                raise ValueError(
                    f"{name}= was given but this model was built without it (inputs: {self.inputs}); "
                    f"rebuild with {'track_channels' if name == 'track' else 'n_features'} > 0"
                )
        missing = [n for n in names if n not in given]
        if missing:
            raise ValueError(
                f"missing input(s) {missing}: this model takes {self.inputs} "
                f"(call model(x, track=..., features=...))"
            )
        return given.get("track"), given.get("features")

    def _check_track(self, track: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if track.ndim == 2 and self.track_channels == 1:
            track = track.unsqueeze(1)
        if track.ndim != 3 or track.shape[1] != self.track_channels or track.shape[0] != x.shape[0]:
            raise ValueError(
                f"track had shape {tuple(track.shape)} while it should have had ({x.shape[0]}, "
                f"{self.track_channels}, L_t)"
            )
        if self.fusion == "early" and track.shape[2] != x.shape[2]:
            raise ValueError(
                f"early fusion needs a per-base track: track length {track.shape[2]} != sequence length "
                f"{x.shape[2]}. Fix: read the track with bin_size=1, or use fusion='late'"
            )
        return track.float() if not track.is_floating_point() else track

    def _check_features(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if features.ndim == 1 and self.n_features == 1:
            features = features.unsqueeze(1)
        if features.ndim != 2 or features.shape != (x.shape[0], self.n_features):
            raise ValueError(
                f"features had shape {tuple(features.shape)} while it should have had ({x.shape[0]}, "
                f"{self.n_features})"
            )
        return features.float() if not features.is_floating_point() else features

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: torch.Tensor,
        *extra: torch.Tensor,
        track: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(x (N, 4, L), track (N, C_t, L_t), features (N, F)) -> (N, n_tasks)``."""
        x = self._check_input(x)
        track, features = self._gather(extra, track, features)
        if track is not None:
            track = self._check_track(track, x)
        if features is not None:
            features = self._check_features(features, x)
        if self.fusion == "early" and track is not None:
            h = self.seq_conv(torch.cat([x, track.to(x.dtype)], dim=1))
            return self._head(h, None, features)
        return self._head(self.seq_conv(x), track, features)

    def _head(
        self, h: torch.Tensor, track: torch.Tensor | None, features: torch.Tensor | None
    ) -> torch.Tensor:
        """Head after the sequence convolutions: pool, join the other towers, dense layers."""
        parts = [self.seq_pool(h)]
        if self.track_tower is not None:
            parts.append(self.track_tower(track))
        if self.feature_tower is not None:
            parts.append(self.feature_tower(features))
        return self.head(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])

    # ------------------------------------------------------------------ SequenceModel API
    @property
    def receptive_field(self) -> int:
        """Bases seen by one position of the sequence tower's last convolution block."""
        return conv_geometry(self.seq_conv).receptive_field

    def split_local(self) -> tuple[nn.Sequential, nn.Module] | None:
        """``(seq_conv, head)`` for a sequence-only model; ``None`` when other inputs are needed
        (use ``with_fixed_inputs(...).split_local()``)."""
        if len(self.inputs) > 1:
            return None
        return self.seq_conv, _FixedHead(self, None, None)

    def output_shape(self, length: int | None = None) -> tuple[int]:
        """``(n_tasks,)`` for any input length."""
        if length is not None:
            check_positive("length", int(length))
        return (self.n_tasks,)

    # ------------------------------------------------------------------ interpretation
    def with_fixed_inputs(
        self,
        *,
        sequence: torch.Tensor | None = None,
        track: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> FixedInputs:
        """A module over one input (sequence or track) with the others fixed.

        Parameters
        ----------
        sequence : torch.Tensor (1, 4, L) / (4, L) or (B, 4, L), optional
            Give it to get a module over the track (and then leave ``track`` out).
        track : torch.Tensor (1, C_t, L_t) / (C_t, L_t) or (B, C_t, L_t), optional
        features : torch.Tensor (1, F) / (F,) or (B, F), optional

        Returns
        -------
        FixedInputs
            ``module(z)`` = ``model(z, track, features)`` (free sequence) or ``model(sequence, z,
            features)`` (free track). Fixed inputs with one row are broadcast to every batch; with
            ``B`` rows a batch must have exactly ``B`` rows (row ``i`` pairs with row ``i``).
        """
        free = "track" if sequence is not None else "sequence"
        if free == "track" and track is not None:
            raise ValueError(
                "give either sequence= (free track) or track= (free sequence), not both"
            )
        if free == "track" and not self.track_channels:
            raise ValueError("this model has no track input to attribute; fix the sequence only")
        need = [n for n in self.inputs if n not in (free, "sequence")]  # the inputs to hold fixed
        given = {"track": track, "features": features}
        for name in need:
            if given.get(name) is None:
                raise ValueError(
                    f"with_fixed_inputs needs {name}= (this model takes {self.inputs})"
                )
        for name, value in given.items():
            if value is not None and name not in self.inputs:
                raise ValueError(
                    f"{name}= was given but this model has no {name} input ({self.inputs})"
                )
        return FixedInputs(self, free=free, sequence=sequence, track=track, features=features)


def _rows(t: torch.Tensor | None, ndim: int) -> torch.Tensor | None:
    if t is None:
        return None
    t = torch.as_tensor(t)
    if t.ndim == ndim - 1:
        t = t.unsqueeze(0)
    return t.detach().float()


def _expand(t: torch.Tensor | None, b: int, name: str, like: torch.Tensor) -> torch.Tensor | None:
    if t is None:
        return None
    t = t.to(device=like.device, dtype=like.dtype)
    if t.shape[0] == b:
        return t
    if t.shape[0] == 1:
        return t.expand(b, *t.shape[1:])
    raise ValueError(
        f"the fixed {name} has {t.shape[0]} rows but the batch has {b}: fix one example (1 row, "
        "broadcast) or exactly one row per batch row (e.g. use sequence_attributions)"
    )


class _FixedHead(nn.Module):
    """The part of a late-fusion model after the sequence convolutions, with the other inputs fixed."""

    def __init__(
        self, model: MultimodalModel, track: torch.Tensor | None, features: torch.Tensor | None
    ):
        super().__init__()
        self.model = model
        self.track, self.features = track, features

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b = h.shape[0]
        return self.model._head(
            h, _expand(self.track, b, "track", h), _expand(self.features, b, "features", h)
        )


class FixedInputs(nn.Module):
    """A :class:`MultimodalModel` seen as a function of one input, the others fixed.

    Built by :meth:`MultimodalModel.with_fixed_inputs`. ``free`` is ``"sequence"`` (input ``(b, 4,
    L)``) or ``"track"`` (input ``(b, C_t, L_t)``). For a free sequence and late fusion,
    :meth:`split_local` exposes the sequence convolutions so fast ISM applies.
    """

    def __init__(
        self,
        model: MultimodalModel,
        *,
        free: Literal["sequence", "track"],
        sequence: torch.Tensor | None = None,
        track: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.model, self.free = model, free
        self.sequence = _rows(sequence, 3)
        self.track = _rows(track, 3)
        self.features = _rows(features, 2)
        self.n_tasks = model.n_tasks

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        zf = z if z.is_floating_point() else z.float()
        feats = _expand(self.features, b, "features", zf)
        if self.free == "sequence":
            return self.model(zf, track=_expand(self.track, b, "track", zf), features=feats)
        return self.model(_expand(self.sequence, b, "sequence", zf), track=zf, features=feats)

    def split_local(self) -> tuple[nn.Sequential, nn.Module] | None:
        """``(sequence convolutions, head with fixed inputs)`` for a free sequence and late fusion."""
        m = self.model
        if self.free != "sequence" or (m.fusion == "early" and m.track_channels):
            return None
        return m.seq_conv, _FixedHead(m, self.track, self.features)


def sequence_attributions(
    attribute: Callable[..., torch.Tensor],
    model: MultimodalModel,
    X: torch.Tensor,
    *,
    track: torch.Tensor | None = None,
    features: torch.Tensor | None = None,
    over: Literal["sequence", "track"] = "sequence",
    verbose: bool = False,
    **kwargs: Any,
) -> torch.Tensor:
    """Run an attribution function on one input of a multimodal model, example by example.

    Parameters
    ----------
    attribute : callable
        ``attribute(module, X_i, **kwargs) -> Tensor`` shaped like ``X_i``, e.g.
        :func:`genodeep.interpret.saturation_mutagenesis`, ``saliency``, ``input_x_gradient``,
        ``integrated_gradients`` or ``deep_lift_shap``.
    model : MultimodalModel
    X : torch.Tensor, shape (N, 4, L)
        Sequences.
    track : torch.Tensor (N, C_t, L_t), optional
        Tracks (required when the model takes them).
    features : torch.Tensor (N, F), optional
        Features (required when the model takes them).
    over : {"sequence", "track"}, default "sequence"
        Which input to attribute; the other inputs of each example are held fixed.
    verbose : bool, default False
        Progress bar over examples.
    **kwargs
        Passed to ``attribute`` (``target=``, ``device=``, ...).

    Returns
    -------
    torch.Tensor, shape (N, 4, L) for ``over="sequence"``, (N, C_t, L_t) for ``over="track"``
    """

    check_choice("over", over, ("sequence", "track"))
    if over == "track" and track is None:
        raise ValueError("over='track' needs track=")
    n = int(X.shape[0])
    for name, t in (("track", track), ("features", features)):
        if t is not None and int(t.shape[0]) != n:
            raise ValueError(
                f"{name} had {int(t.shape[0])} rows while X has {n}; give one row per sequence"
            )
    outs = []
    for i in progress(range(n), total=n, desc="attribute", verbose=verbose):
        f = None if features is None else features[i : i + 1]
        if over == "sequence":
            t = None if track is None else track[i : i + 1]
            module = model.with_fixed_inputs(track=t, features=f)
            outs.append(attribute(module, X[i : i + 1], **kwargs))
        else:
            module = model.with_fixed_inputs(sequence=X[i : i + 1], features=f)
            outs.append(attribute(module, track[i : i + 1], **kwargs))
    return torch.cat(outs)
