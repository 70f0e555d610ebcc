"""First-layer convolution filters as motifs (the DeepBind / Basset approach).

A filter's motif is the letter frequency matrix of the input subsequences that activate it strongly: every
window (of the filter's width) whose activation exceeds ``threshold`` x the filter's maximum activation
over all sequences and positions is counted (Alipanahi et al. 2015; Kelley et al. 2016). Two batched
passes are made: one for the maxima, one to gather the windows. The forward pass stops at the hooked
layer, so deeper layers cost nothing. The motifs are then matched to a database with
:func:`genodeep.motifs.compare` (TOMTOM-like, with q-values).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from genodeep._device import model_on, resolve_device
from genodeep._progress import progress
from genodeep._validate import check_positive, near_matches
from genodeep.motifs.compare import compare
from genodeep.motifs.pwm import consensus, information_content

__all__ = ["FilterMotifs", "filters_to_pwms", "filter_matches"]


class FilterMotifs(NamedTuple):
    """What :func:`filters_to_pwms` returns; every dict is keyed ``filter_<k>`` in filter order.

    Attributes
    ----------
    pwms : dict[str, np.ndarray (4, w)]
        Letter frequencies (columns sum to 1) of the filters with at least ``min_sites`` sites.
    counts : dict[str, np.ndarray (4, w)]
        Letter counts of the activating windows, for every filter (zeros when it has no site).
    n_sites : dict[str, int]
        Activating windows per filter.
    max_activation : dict[str, float]
        Each filter's maximum activation over all sequences and positions.
    layer : str
        Name of the module whose output was thresholded.
    """

    pwms: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    n_sites: dict[str, int]
    max_activation: dict[str, float]
    layer: str


class _Stop(Exception):
    """Raised by the forward hook to end the forward pass at the hooked layer."""


def _pick_layer(model: nn.Module, layer) -> tuple[str, nn.Module, nn.Conv1d]:
    """(name, module to hook, the first Conv1d that defines the window geometry)."""
    named = dict(model.named_modules())
    convs = [(n, m) for n, m in named.items() if isinstance(m, nn.Conv1d)]
    if not convs:
        raise ValueError(
            f"the model ({type(model).__name__}) has no nn.Conv1d layer; filters_to_pwms explains "
            "first-layer convolution filters"
        )
    first_name, first = convs[0]
    if layer is None:
        return first_name, first, first
    if isinstance(layer, nn.Module):
        for n, m in named.items():
            if m is layer:
                name, mod = n, m
                break
        else:
            raise ValueError("layer is not a module of the model; pass one of model.modules()")
    elif isinstance(layer, str):
        if layer not in named:
            close = near_matches(layer, [n for n in named if n])
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            valid = ", ".join(n for n in named if n)
            raise ValueError(
                f"layer={layer!r} is not a module of the model{hint} (modules: {valid})"
            )
        name, mod = layer, named[layer]
    else:
        raise TypeError(
            f"layer must be None, a module name or a module; got {type(layer).__name__}"
        )
    if isinstance(mod, nn.Conv1d) and mod is not first:
        raise ValueError(
            f"layer={name!r} is a deeper convolution; windows are defined by the first one "
            f"({first_name!r}). Give the first convolution or a layer right after it (its "
            "batch norm or activation)"
        )
    return name, mod, first


def _conv_pads(conv: nn.Conv1d) -> tuple[int, int, int]:
    """(left padding, right padding, window span) of a stride-1 Conv1d."""
    if conv.stride[0] != 1:
        raise ValueError(
            f"the first convolution has stride {conv.stride[0]}; filters_to_pwms needs stride 1"
        )
    if conv.padding_mode != "zeros":
        raise ValueError(
            f"the first convolution pads with {conv.padding_mode!r}; filters_to_pwms needs zero "
            "padding"
        )
    if conv.groups != 1:
        raise ValueError("the first convolution is grouped; filters_to_pwms needs groups=1")
    span = conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return 0, 0, span
        total = span - 1
        return total // 2, total - total // 2, span
    p = int(conv.padding[0])
    return p, p, span


def _activations(model, hook_module, xb: torch.Tensor) -> torch.Tensor:
    store: dict[str, torch.Tensor] = {}

    def hook(mod, args, out):
        store["a"] = out[0] if isinstance(out, (tuple, list)) else out
        raise _Stop

    handle = hook_module.register_forward_hook(hook)
    try:
        model(xb)
    except _Stop:
        pass
    finally:
        handle.remove()
    if "a" not in store:
        raise ValueError("the chosen layer was not called by the model's forward pass")
    return store["a"].float()


def filters_to_pwms(
    model: nn.Module,
    X: torch.Tensor | np.ndarray,
    *,
    layer: str | nn.Module | None = None,
    threshold: float = 0.5,
    min_sites: int = 10,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> FilterMotifs:
    """Motifs of first-layer convolution filters from the subsequences that activate them.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(b, 4, L)`` one-hot input; its first ``nn.Conv1d`` (stride 1, zero padding) defines
        the windows.
    X : torch.Tensor or np.ndarray, shape (N, 4, L)
        One-hot sequences (e.g. the test set or the positives).
    layer : str or nn.Module, optional
        Module whose output is thresholded: the first convolution (default) or a module right after
        it that keeps its positions, e.g. its batch norm or activation (Basset thresholds after the
        ReLU). A name is one of ``model.named_modules()``.
    threshold : float, default 0.5
        A window counts when its activation is > ``threshold`` x the filter's maximum activation over
        all of ``X`` (filters whose maximum is <= 0 get no site).
    min_sites : int, default 10
        Filters with fewer activating windows get no PWM (their counts are still returned).
    batch_size : int, default 256
        Sequences per forward pass.
    device : str or torch.device, optional
        ``None`` picks CUDA when available.
    verbose : bool, default False
        Progress bars.

    Returns
    -------
    FilterMotifs
        ``pwms`` (4, w) letter frequencies, ``counts`` (4, w), ``n_sites``, ``max_activation``,
        ``layer``. ``w`` is the first convolution's span ``dilation * (kernel - 1) + 1``; window
        positions in the zero padding count no letter, so edge columns may hold fewer letters.
    """
    if not 0 <= threshold < 1:
        raise ValueError(
            f"threshold must lie in [0, 1) (a fraction of each filter's maximum activation), got "
            f"{threshold!r}"
        )
    check_positive("min_sites", min_sites)
    check_positive("batch_size", batch_size)
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(X)
    if not isinstance(X, torch.Tensor) or X.ndim != 3 or X.shape[1] != 4:
        shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
        raise ValueError(
            f"X had shape {shape} while it should have had (N, 4, L); one-hot encode sequences "
            "with genodeep.seq.one_hot"
        )
    if X.shape[0] == 0:
        raise ValueError("X has 0 sequences; pass at least one")
    name, hook_module, conv = _pick_layer(model, layer)
    left, right, span = _conv_pads(conv)
    n, _, length = X.shape
    out_len = length + left + right - span + 1
    if out_len < 1:
        raise ValueError(
            f"sequences of length {length} are shorter than the first convolution's span {span}"
        )
    dev = resolve_device(device)
    starts = range(0, n, batch_size)
    n_filters = conv.out_channels
    with model_on(model, dev) as m, torch.no_grad():
        maxima = torch.full((n_filters,), -torch.inf, dtype=torch.float64)
        for s in progress(starts, total=len(starts), desc="filter maxima", verbose=verbose):
            a = _activations(m, hook_module, X[s : s + batch_size].to(dev).float())
            if a.ndim != 3 or a.shape[1] != n_filters or a.shape[2] != out_len:
                raise ValueError(
                    f"layer {name!r} gave activations of shape {tuple(a.shape)}; expected "
                    f"(b, {n_filters}, {out_len}) (the first convolution's filters and positions); "
                    "choose the convolution or an elementwise layer right after it"
                )
            maxima = torch.maximum(maxima, a.amax(dim=(0, 2)).double().cpu())
        thr = torch.where(maxima > 0, threshold * maxima, torch.inf).to(dev, torch.float32)
        counts = torch.zeros(n_filters, 4, span, dtype=torch.float64, device=dev)
        n_sites = torch.zeros(n_filters, dtype=torch.int64, device=dev)
        for s in progress(starts, total=len(starts), desc="filter sites", verbose=verbose):
            xb = X[s : s + batch_size].to(dev).float()
            a = _activations(m, hook_module, xb)
            hits = (a > thr[None, :, None]).nonzero()  # (H, 3): sequence, filter, position
            if hits.numel() == 0:
                continue
            xp = torch.nn.functional.pad(xb, (left, right))
            windows = xp.unfold(2, span, 1)  # (b, 4, out_len, span)
            for c0 in range(0, hits.shape[0], 1 << 18):
                h = hits[c0 : c0 + (1 << 18)]
                win = windows[h[:, 0], :, h[:, 2], :]  # (H, 4, span)
                counts.index_add_(0, h[:, 1], win.double())
                n_sites += torch.bincount(h[:, 1], minlength=n_filters)
    counts_np = counts.cpu().numpy()
    sites_np = n_sites.cpu().numpy()
    names = [f"filter_{k}" for k in range(n_filters)]
    pwms = {}
    for k, key in enumerate(names):
        if sites_np[k] >= min_sites:
            c = counts_np[k]
            tot = c.sum(axis=0, keepdims=True)
            pwms[key] = np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), 0.25)
    return FilterMotifs(
        pwms=pwms,
        counts={key: counts_np[k] for k, key in enumerate(names)},
        n_sites={key: int(sites_np[k]) for k, key in enumerate(names)},
        max_activation={key: float(maxima[k]) for k, key in enumerate(names)},
        layer=name,
    )


def filter_matches(
    filters: FilterMotifs,
    database: Mapping[str, np.ndarray] | str | os.PathLike | None = None,
    *,
    max_q: float | None = None,
) -> pd.DataFrame:
    """One row per filter: its sites, information content and best database match.

    Parameters
    ----------
    filters : FilterMotifs
        From :func:`filters_to_pwms`.
    database : Mapping[str, array (4, w)] or motif file path, optional
        Known motifs (e.g. JASPAR); without it the match columns are empty.
    max_q : float, optional
        Report a best match only when its q-value is <= ``max_q`` (otherwise the columns are empty).

    Returns
    -------
    pandas.DataFrame
        ``filter``, ``n_sites``, ``max_activation``, ``ic`` (total information content, bits),
        ``consensus`` (IUPAC), ``best_match``, ``orientation``, ``offset``, ``p_value``, ``q_value``
        (TOMTOM-like, see :func:`genodeep.motifs.compare`), in filter order; filters without a PWM
        have empty match columns.
    """
    rows = []
    for key in filters.counts:
        pwm = filters.pwms.get(key)
        rows.append(
            {
                "filter": key,
                "n_sites": filters.n_sites[key],
                "max_activation": filters.max_activation[key],
                "ic": float(information_content(pwm, total=True)) if pwm is not None else np.nan,
                "consensus": consensus(pwm, iupac=True) if pwm is not None else "",
            }
        )
    table = pd.DataFrame(rows)
    for col, fill in (
        ("best_match", ""),
        ("orientation", ""),
        ("offset", np.nan),
        ("p_value", np.nan),
        ("q_value", np.nan),
    ):
        table[col] = fill
    if database is not None and filters.pwms:
        best = compare(filters.pwms, database, n_nearest=1).set_index("query")
        for i, key in enumerate(table["filter"]):
            if key not in best.index:
                continue
            r = best.loc[key]
            if max_q is not None and r["q_value"] > max_q:
                continue
            table.loc[i, ["best_match", "orientation"]] = [r["target"], r["orientation"]]
            table.loc[i, ["offset", "p_value", "q_value"]] = [
                r["offset"],
                r["p_value"],
                r["q_value"],
            ]
    return table
