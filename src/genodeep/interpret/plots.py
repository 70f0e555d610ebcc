"""Plots of attributions and in-silico experiments: attribution logos, ISM heatmaps, spacing curves.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state); the ``save_*`` functions write
PNG files atomically (:func:`genodeep.motifs.logo.save_figure`) and return the path. Motif logos live in
:mod:`genodeep.motifs.logo`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from genodeep.motifs.logo import plot_logo, save_figure

__all__ = [
    "plot_attribution_logo",
    "plot_ism_heatmap",
    "plot_spacing_effect",
    "save_attribution_logo",
    "save_ism_heatmap",
    "save_figure",
]


def _matrix(values, argument: str) -> np.ndarray:
    arr = np.asarray(
        values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64
    )
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise ValueError(
            f"{argument} had shape {arr.shape} while it should have had (4, L) (rows A, C, G, T); "
            "pass one sequence, e.g. attributions[i]"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argument} has NaN or infinite values")
    return arr


def _window(length: int, start: int | None, end: int | None) -> tuple[int, int]:
    s = 0 if start is None else int(start)
    e = length if end is None else int(end)
    if not 0 <= s < e <= length:
        raise ValueError(
            f"start={start!r}, end={end!r} must satisfy 0 <= start < end <= L={length}"
        )
    return s, e


def _new_axes(width: int, height: float = 2.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(24.0, max(3.0, 0.16 * width + 1.2)), height))
    return fig.add_subplot()


def _position_ticks(ax, start: int, end: int) -> None:
    """Label the x axis (drawn at 0 .. end - start - 1) with sequence positions."""
    n = end - start
    step = next(m * 10**k for k in range(10) for m in (1, 2, 5) if n / (m * 10**k) <= 12)
    ticks = np.arange(((start + step - 1) // step) * step, end, step)
    ax.set_xticks(ticks - start)
    ax.set_xticklabels([str(t) for t in ticks])


def plot_attribution_logo(
    attributions,
    ax=None,
    *,
    start: int | None = None,
    end: int | None = None,
    highlight: tuple[int, int] | Sequence[tuple[int, int]] | None = None,
    title: str | None = None,
    highlight_color: str = "#f2d98c",
):
    """Logo of the attributions of one sequence over a window (letters scaled by their score).

    Parameters
    ----------
    attributions : array or tensor, shape (4, L)
        Scores, rows A, C, G, T (e.g. ``Attributions.attributions[i]``: only the observed base is
        non-zero; hypothetical scores show all four letters). Negative scores are drawn below 0.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure sized to the window.
    start, end : int, optional
        The window ``[start, end)`` of positions drawn (default: the whole sequence); the x axis
        shows sequence positions.
    highlight : (int, int) or list of them, optional
        Regions ``[s, e)`` (sequence positions) shaded behind the letters.
    title : str, optional
    highlight_color : str
        Colour of the shading.

    Returns
    -------
    ax : matplotlib Axes
    """
    arr = _matrix(attributions, "attributions")
    s, e = _window(arr.shape[1], start, end)
    if ax is None:
        ax = _new_axes(e - s)
    if highlight is not None:
        regions = [highlight] if np.ndim(highlight) == 1 else list(highlight)
        for region in regions:
            if len(region) != 2:
                raise ValueError(f"highlight regions must be (start, end) pairs, got {region!r}")
            h0, h1 = max(int(region[0]), s), min(int(region[1]), e)
            if h1 > h0:
                ax.axvspan(
                    h0 - s - 0.5, h1 - s - 0.5, color=highlight_color, alpha=0.6, lw=0, zorder=-10
                )
    plot_logo(arr[:, s:e], ax=ax, mode="weight", title=title)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_ylabel("attribution")
    _position_ticks(ax, s, e)
    return ax


def plot_ism_heatmap(
    ism,
    ax=None,
    *,
    X=None,
    start: int | None = None,
    end: int | None = None,
    title: str | None = None,
    cmap: str = "RdBu_r",
):
    """Heatmap (4 x L) of in-silico mutagenesis effects, centred on 0.

    Parameters
    ----------
    ism : array or tensor, shape (4, L)
        ``y(mutant) - y(reference)`` for each base (row) and position (column), e.g.
        ``saturation_mutagenesis(model, X)[i]``.
    ax : matplotlib Axes, optional
    X : array or tensor, shape (4, L), optional
        The one-hot reference sequence; its bases are marked with a dot.
    start, end : int, optional
        Window ``[start, end)`` drawn; the x axis shows sequence positions.
    title : str, optional
    cmap : str
        A diverging matplotlib colour map; the colour scale is symmetric around 0.

    Returns
    -------
    ax : matplotlib Axes
        The colour bar is added to the same figure.
    """
    arr = _matrix(ism, "ism")
    s, e = _window(arr.shape[1], start, end)
    if ax is None:
        ax = _new_axes(e - s, height=1.9)
    sub = arr[:, s:e]
    vmax = float(np.abs(sub).max()) or 1.0
    im = ax.imshow(sub, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if X is not None:
        ref = _matrix(X, "X")
        if ref.shape != arr.shape:
            raise ValueError(f"X had shape {ref.shape} while it should have had {arr.shape}")
        rows, cols = np.nonzero(ref[:, s:e] > 0.5)
        ax.scatter(cols, rows, s=4, c="k", marker="o", linewidths=0)
    ax.set_yticks(range(4))
    ax.set_yticklabels(list("ACGT"))
    ax.set_xlabel("position")
    _position_ticks(ax, s, e)
    ax.figure.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="effect")
    if title:
        ax.set_title(title)
    return ax


def plot_spacing_effect(table, ax=None, *, title: str | None = None, show_single: bool = True):
    """Effect of a motif pair against their spacing (the output of
    :func:`genodeep.interpret.experiments.spacing_effect`).

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``spacing``, ``mean``, ``sem`` (and ``effect_a``, ``effect_b``, ``additive``).
    ax : matplotlib Axes, optional
    title : str, optional
    show_single : bool
        Also draw the sum of the single-motif effects (the additive expectation) as a dashed line.

    Returns
    -------
    ax : matplotlib Axes
    """
    for col in ("spacing", "mean", "sem"):
        if col not in table.columns:
            raise ValueError(
                f"table has no column {col!r}; pass the DataFrame returned by spacing_effect"
            )
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(5.0, 3.0)).add_subplot()
    x = table["spacing"].to_numpy()
    m = table["mean"].to_numpy()
    se = table["sem"].to_numpy()
    ax.errorbar(x, m, yerr=se, marker="o", ms=3, lw=1.2, capsize=2, label="both motifs")
    if show_single and "additive" in table.columns:
        ax.plot(x, table["additive"].to_numpy(), ls="--", c="0.4", lw=1, label="a alone + b alone")
        ax.legend(frameon=False, fontsize=8)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("spacing (bases between the motifs)")
    ax.set_ylabel("effect on the output")
    if title:
        ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def save_attribution_logo(
    path: str | os.PathLike, attributions, *, dpi: int = 150, **kwargs
) -> str:
    """:func:`plot_attribution_logo` written to a PNG file (keywords as there). Returns the path."""
    ax = plot_attribution_logo(attributions, **kwargs)
    return save_figure(ax.figure, path, dpi=dpi)


def save_ism_heatmap(path: str | os.PathLike, ism, *, dpi: int = 150, **kwargs) -> str:
    """:func:`plot_ism_heatmap` written to a PNG file (keywords as there). Returns the path."""
    ax = plot_ism_heatmap(ism, **kwargs)
    return save_figure(ax.figure, path, dpi=dpi)
