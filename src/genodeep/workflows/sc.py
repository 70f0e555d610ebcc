"""Single-cell jobs on files: read a count matrix, denoise / embed / generate, write ``.h5ad`` and plots.

- :func:`denoise_to_files`, :func:`embed_to_files`, :func:`generate_to_files`: what ``genodeep denoise``,
  ``genodeep embed`` and ``genodeep generate`` run; each reads the counts with
  :func:`read_counts_input`, calls :func:`genodeep.sc.denoise` / :func:`~genodeep.sc.embed` /
  :func:`~genodeep.sc.generate` and writes the result with :func:`write_sc_outputs`.

The computations themselves (AnnData in, AnnData out) are in :mod:`genodeep.sc`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch

from genodeep._progress import log
from genodeep.io.counts import read_counts, write_h5ad
from genodeep.sc.api import denoise, embed, generate
from genodeep.sc.plots import plot_generated, plot_history, plot_latent

__all__ = [
    "check_not_input",
    "read_counts_input",
    "write_sc_outputs",
    "denoise_to_files",
    "embed_to_files",
    "generate_to_files",
]

PlotMethod = Literal["umap", "pca", "tsne"]


def check_not_input(input: str | os.PathLike, out: str | os.PathLike) -> None:
    """Refuse an output path that is the input file (it would be overwritten by the result).

    Raises
    ------
    ValueError
        When ``out`` resolves to the same file as ``input`` (symbolic links and ``..`` followed; hard
        links caught by comparing the files' device and inode).
    """
    src, dst = Path(input), Path(out)
    same = src.resolve() == dst.resolve()
    if not same and src.exists() and dst.exists():
        same = os.path.samefile(src, dst)
    if same:
        raise ValueError(
            f"the output file {os.fspath(out)!r} (out=, --out) is the input file "
            f"{os.fspath(input)!r}: writing the result there would overwrite the input; "
            f"fix: give another output path, e.g. {str(dst.with_name(dst.stem + '.genodeep.h5ad'))!r}"
        )


def read_counts_input(path: str | os.PathLike, *, genes_by_cells: bool = False):
    """Read a count matrix and record its path under ``uns["genodeep"]["source"]``.

    Parameters
    ----------
    path : path
        ``.h5ad``, a 10x folder (``matrix.mtx[.gz]``), ``.mtx`` or ``.csv``/``.tsv[.gz]`` (see
        :func:`genodeep.io.counts.read_counts`).
    genes_by_cells : bool, default False
        CSV/TSV input has genes as rows and cells as columns.

    Returns
    -------
    adata : anndata.AnnData, shape (n_cells, n_genes)
    """
    adata = read_counts(path, genes_by_cells=genes_by_cells)
    adata.uns.setdefault("genodeep", {})
    if isinstance(adata.uns["genodeep"], dict):
        adata.uns["genodeep"]["source"] = str(path)
    return adata


def write_sc_outputs(
    adata,
    out: str | os.PathLike,
    *,
    step: str,
    key: str | None,
    plots: str | os.PathLike | None = None,
    color: str | None = None,
    plot_method: PlotMethod = "umap",
    random_state: int = 0,
) -> Path:
    """Write the plots (latent space + training curves) into ``plots``, then ``adata`` to ``out``.

    Parameters
    ----------
    adata : anndata.AnnData
        A result of :func:`genodeep.sc.denoise`, :func:`~genodeep.sc.embed` or
        :func:`~genodeep.sc.generate` (with ``uns["genodeep"][step]``).
    out : path
        Output ``.h5ad`` (written atomically).
    step : str
        ``"denoise"``, ``"embed"`` or ``"generate"``: where the training history is in ``uns``.
    key : str, optional
        ``obsm`` entry of the latent space to plot (``None``: no latent plot).
    plots : path, optional
        Folder for ``latent_<plot_method>.png`` and ``training_curves.png`` (created).
    color : str, optional
        ``obs`` column to colour the latent plot by.
    plot_method : {"umap", "pca", "tsne"}, default "umap"
    random_state : int, default 0

    Returns
    -------
    out : Path
    """
    if plots:
        plots = Path(plots)
        plots.mkdir(parents=True, exist_ok=True)
        if key is not None:
            p = plot_latent(
                adata,
                plots / f"latent_{plot_method}.png",
                key=key,
                color=color,
                method=plot_method,
                random_state=random_state,
            )
            log(f"wrote {p}")
        _write_training_curves(
            adata.uns["genodeep"][step].get("history", {}), plots / "training_curves.png"
        )
    write_h5ad(adata, out)
    log(f"wrote {out}")
    return Path(out)


def _write_training_curves(history, path: Path) -> None:
    if not history or "epoch" not in history:
        return
    log(f"wrote {plot_history(history, path, title='training curves')}")


def denoise_to_files(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: Literal["zinb", "nb", "ae", "dae", "linear"] = "zinb",
    genes_by_cells: bool = False,
    layer: str | None = None,
    n_latent: int = 16,
    n_top_genes: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float | None = None,
    drop_empty: bool = False,
    plots: str | os.PathLike | None = None,
    color: str | None = None,
    plot_method: PlotMethod = "umap",
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Denoise the counts of a file with :func:`genodeep.sc.denoise` and write the result.

    Parameters
    ----------
    input : path
        Counts (see :func:`read_counts_input`).
    out : path
        Output ``.h5ad`` with ``layers["denoised"]`` and ``obsm["X_latent"]``; it must not be the
        input file (:func:`check_not_input`).
    genes_by_cells : bool, default False
        See :func:`read_counts_input`.
    plots, color, plot_method
        See :func:`write_sc_outputs` (latent plot of ``obsm["X_latent"]``).
    model, layer, n_latent, n_top_genes, model_kwargs, max_epochs, batch_size, lr, weight_decay,
    drop_empty, out_dir, device, random_state, verbose
        As in :func:`genodeep.sc.denoise`.

    Returns
    -------
    adata : anndata.AnnData
        The denoised object that was written.
    """
    check_not_input(input, out)
    adata = read_counts_input(input, genes_by_cells=genes_by_cells)
    result = denoise(
        adata,
        model=model,
        layer=layer,
        n_latent=n_latent,
        n_top_genes=n_top_genes,
        model_kwargs=model_kwargs,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        drop_empty=drop_empty,
        out_dir=out_dir,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    write_sc_outputs(
        result,
        out,
        step="denoise",
        key="X_latent",
        plots=plots,
        color=color,
        plot_method=plot_method,
        random_state=random_state,
    )
    return result


def embed_to_files(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: Literal["vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca"] = "vae",
    batch_key: str | None = None,
    genes_by_cells: bool = False,
    layer: str | None = None,
    n_latent: int = 10,
    n_top_genes: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float | None = None,
    drop_empty: bool = False,
    plots: str | os.PathLike | None = None,
    color: str | None = None,
    plot_method: PlotMethod = "umap",
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Embed the cells of a file with :func:`genodeep.sc.embed` and write the result.

    Parameters
    ----------
    input, out, genes_by_cells, plots, color, plot_method
        As in :func:`denoise_to_files` (the latent plot shows ``obsm["X_genodeep"]``).
    model, batch_key, layer, n_latent, n_top_genes, model_kwargs, max_epochs, batch_size, lr,
    weight_decay, drop_empty, out_dir, device, random_state, verbose
        As in :func:`genodeep.sc.embed`.

    Returns
    -------
    adata : anndata.AnnData
        The embedded object that was written (``obsm["X_genodeep"]``).
    """
    check_not_input(input, out)
    adata = read_counts_input(input, genes_by_cells=genes_by_cells)
    result = embed(
        adata,
        model=model,
        batch_key=batch_key,
        layer=layer,
        n_latent=n_latent,
        n_top_genes=n_top_genes,
        model_kwargs=model_kwargs,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        drop_empty=drop_empty,
        out_dir=out_dir,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    write_sc_outputs(
        result,
        out,
        step="embed",
        key="X_genodeep",
        plots=plots,
        color=color,
        plot_method=plot_method,
        random_state=random_state,
    )
    return result


def generate_to_files(
    input: str | os.PathLike,
    out: str | os.PathLike,
    n: int,
    *,
    model: Literal["gan", "vae"] = "gan",
    genes_by_cells: bool = False,
    layer: str | None = None,
    n_top_genes: int | None = None,
    holdout: float = 0.2,
    model_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    plots: str | os.PathLike | None = None,
    plot_method: PlotMethod = "umap",
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    random_state: int = 0,
    verbose: bool = False,
):
    """Generate profiles like the cells of a file with :func:`genodeep.sc.generate` and write them.

    Logs the two-sample quality check; with ``plots`` also draws real vs generated cells
    (``generated_<plot_method>.png``, see :func:`genodeep.sc.plots.plot_generated`) and the training
    curves.

    Parameters
    ----------
    input, out, genes_by_cells, plots, plot_method
        As in :func:`denoise_to_files`.
    n : int
        Number of profiles to generate.
    model, layer, n_top_genes, holdout, model_kwargs, max_epochs, batch_size, lr, out_dir, device,
    random_state, verbose
        As in :func:`genodeep.sc.generate`.

    Returns
    -------
    generated : anndata.AnnData, shape (n, n_genes)
        The generated profiles that were written.
    """
    check_not_input(input, out)
    adata = read_counts_input(input, genes_by_cells=genes_by_cells)
    result = generate(
        adata,
        n,
        model=model,
        layer=layer,
        n_top_genes=n_top_genes,
        holdout=holdout,
        model_kwargs=model_kwargs,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        out_dir=out_dir,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    q = result.uns["genodeep"]["generate"]["quality"]
    if q:
        log(
            "quality (classifier two-sample AUC vs held-out cells; 0.5 = indistinguishable): "
            f"generated {q['auc']:.3f}, training cells {q['reference_auc']:.3f}, "
            f"independent genes {q['independent_genes_auc']:.3f}"
        )
    if plots:
        Path(plots).mkdir(parents=True, exist_ok=True)
        p = plot_generated(
            adata,
            result,
            Path(plots) / f"generated_{plot_method}.png",
            layer=layer,
            method=plot_method,
            random_state=random_state,
        )
        log(f"wrote {p}")
    write_sc_outputs(
        result,
        out,
        step="generate",
        key=None,
        plots=plots,
        plot_method=plot_method,
        random_state=random_state,
    )
    return result
