"""Sequence logos of motifs and attribution tracks (logomaker), and the PNG writer of all figures."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from genodeep._io_utils import atomic_path
from genodeep._validate import check_choice, require
from genodeep.motifs.pwm import _as_probabilities, information_content

__all__ = ["plot_logo", "save_figure", "save_logo", "save_motif_logo"]

_MODES = ("information", "probability", "weight")


def _logo_matrix(values, mode: str, background: Sequence[float] | None) -> np.ndarray:
    """Letter heights (w, 4) for a (4, w) matrix in the given mode."""
    arr = np.asarray(
        values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64
    )
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise ValueError(
            f"the matrix had shape {arr.shape} while it should have had (4, w) (rows A, C, G, T)"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("the matrix has NaN or infinite values")
    if mode == "weight":
        return arr.T
    p = _as_probabilities(arr, "pwm")
    if mode == "probability":
        return p.T
    ic = information_content(p, background)
    return (p * np.maximum(ic, 0.0)).T


def plot_logo(
    pwm_or_attr: np.ndarray,
    ax=None,
    *,
    mode: str = "information",
    title: str | None = None,
    background: Sequence[float] | None = None,
    color_scheme: str = "classic",
):
    """Draw a sequence logo.

    Parameters
    ----------
    pwm_or_attr : array or tensor, shape (4, w)
        Rows A, C, G, T: probabilities/counts (modes ``information``, ``probability``) or signed
        weights such as attributions, CWMs or log-odds (mode ``weight``).
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure (not registered with pyplot) is made, sized to ``w``.
    mode : {"information", "probability", "weight"}
        ``information``: letter height = probability x the position's information content (bits);
        ``probability``: height = probability; ``weight``: the values as given (negative below 0).
    title : str, optional
    background : sequence of 4 floats, optional
        Letter frequencies for the information content; uniform by default.
    color_scheme : str
        A logomaker colour scheme.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on (``ax.figure`` is the figure).
    """
    check_choice("mode", mode, _MODES)
    heights = _logo_matrix(pwm_or_attr, mode, background)
    logomaker = require("logomaker", "interpret")
    import pandas as pd

    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(max(2.5, 0.35 * heights.shape[0] + 1.0), 2.0))
        ax = fig.add_subplot()
    df = pd.DataFrame(heights, columns=list("ACGT"))
    logomaker.Logo(df, ax=ax, color_scheme=color_scheme)
    ax.set_xlabel("position")
    ax.set_ylabel({"information": "bits", "probability": "probability", "weight": "weight"}[mode])
    if mode == "information":
        ax.set_ylim(0, 2.0 if background is None else max(2.0, float(heights.sum(axis=1).max())))
    elif mode == "probability":
        ax.set_ylim(0, 1.0)
    if title:
        ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def save_logo(
    path: str | os.PathLike,
    pwm_or_attr: np.ndarray,
    *,
    mode: str = "information",
    title: str | None = None,
    background: Sequence[float] | None = None,
    dpi: int = 150,
) -> str:
    """Draw a sequence logo (see :func:`plot_logo`) and write it as a PNG, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.png`` file.
    pwm_or_attr : array or tensor, shape (4, w)
    mode, title, background
        As in :func:`plot_logo`.
    dpi : int
        Resolution.

    Returns
    -------
    path : str
    """
    ax = plot_logo(pwm_or_attr, mode=mode, title=title, background=background)
    return save_figure(ax.figure, path, dpi=dpi)


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 150) -> str:
    """Write a matplotlib figure as PNG, atomically (tight layout)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return os.fspath(path)


def save_motif_logo(
    path: str | os.PathLike,
    pwm,
    *,
    mode: str = "information",
    title: str | None = None,
    dpi: int = 150,
) -> str:
    """A motif logo (:func:`plot_logo`) in a figure wide enough for its title.

    Parameters
    ----------
    path : path
        Output PNG (written atomically).
    pwm : array, shape (4, w)
        Probabilities (``information``/``probability`` modes) or weights such as a CWM (``weight``).
    mode : {"information", "probability", "weight"}
    title : str, optional
    dpi : int

    Returns
    -------
    path : str
    """
    from matplotlib.figure import Figure

    width = np.asarray(pwm).shape[-1]
    fig_w = max(2.5, 0.35 * width + 1.0, 0.09 * len(title or "") + 0.8)
    ax = Figure(figsize=(min(fig_w, 24.0), 2.0)).add_subplot()
    plot_logo(pwm, ax=ax, mode=mode)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(ax.figure, path, dpi=dpi)
