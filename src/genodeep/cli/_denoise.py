"""``genodeep denoise``: denoise a count matrix with a (count) autoencoder; AnnData in, AnnData out."""

from __future__ import annotations

import argparse

HELP = (
    "denoise a count matrix (.h5ad, 10x folder, CSV/TSV) with a ZINB/NB count autoencoder or an AE"
)


def add_io_arguments(
    p: argparse.ArgumentParser,
    *,
    latent_default: int | None,
    out_help: str = "output .h5ad (not the input file)",
    epochs_help: str = "training epochs (default per model)",
) -> None:
    """Flags shared by denoise, embed and generate (named after the API's keyword arguments)."""
    p.add_argument(
        "input", help="counts: .h5ad, a 10x folder (matrix.mtx[.gz]), .mtx, .csv/.tsv[.gz]"
    )
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument(
        "--layer",
        default=None,
        help="take raw counts from this layer ('raw' = adata.raw); default X",
    )
    p.add_argument(
        "--genes-by-cells",
        action="store_true",
        help="CSV/TSV input has genes as rows and cells as columns",
    )
    p.add_argument(
        "--n-top-genes", type=int, default=None, help="keep only this many highly variable genes"
    )
    default = "the model's" if latent_default is None else latent_default
    p.add_argument(
        "--n-latent", type=int, default=latent_default, help=f"latent width (default {default})"
    )
    p.add_argument("--max-epochs", type=int, default=None, help=epochs_help)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default per model)")
    p.add_argument("--out-dir", default=None, help="keep training checkpoints and history here")
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument(
        "--plots",
        default=None,
        metavar="DIR",
        help="write plots (latent space, training curves) here",
    )
    p.add_argument(
        "--color", default=None, help="obs column to colour the latent plot by (e.g. bulk_labels)"
    )
    p.add_argument(
        "--plot-method",
        choices=("umap", "pca", "tsne"),
        default="umap",
        help="2-D projection of the latent space",
    )


def add_drop_empty(p: argparse.ArgumentParser) -> None:
    """``--drop-empty`` (denoise, embed)."""
    p.add_argument(
        "--drop-empty",
        action="store_true",
        help="leave out cells and genes with no counts (the others keep their order); their names "
        "go to uns['genodeep']['dropped_cells'] / ['dropped_genes'] of the output. Without it a "
        "count model refuses an empty cell",
    )


THREADS_NOTE = (
    "CPU: one torch thread unless genodeep --threads N is given (these small networks gain little "
    "from more, and threads that wait for a core busy with other work slowed training several-fold)."
)


def default_threads(args: argparse.Namespace) -> None:
    """One torch intra-op thread for the single-cell commands unless ``genodeep --threads`` was given.

    torch's default (one thread per core, OpenMP threads that spin while they wait) oversubscribes a
    machine whose cores are shared: with one other busy process on 2 cores, 10 epochs of the pbmc68k
    denoising took 3.7 s with 2 threads and 1.9 s with 1 (1.05 s vs 0.9 s when idle).
    """
    if getattr(args, "threads", None) is None:
        import torch

        torch.set_num_threads(1)


def io_kwargs(args: argparse.Namespace) -> dict:
    """Input and plot keyword arguments of ``denoise_to_files`` / ``embed_to_files``, from the flags."""
    return dict(
        genes_by_cells=args.genes_by_cells,
        plots=args.plots,
        color=args.color,
        plot_method=args.plot_method,
    )


def common_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments that ``denoise`` and ``embed`` share, read from the shared flags."""
    return dict(
        layer=args.layer,
        n_latent=args.n_latent,
        n_top_genes=args.n_top_genes,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        drop_empty=args.drop_empty,
        out_dir=args.out_dir,
        device=args.device,
        random_state=args.random_state,
        verbose=True,
    )


DESCRIPTION = (
    HELP + ". Output: the input's cells and genes with the denoised counts (on the input's count "
    "scale) in layers['denoised'] and the latent space in obsm['X_latent']; settings and the training "
    "history in uns['genodeep']['denoise']."
)
EPILOG = (
    "Training: --max-epochs epochs (default 60; 100 for --model linear), Adam. No early stopping: "
    "every epoch is trained and the last epoch's weights are used (the masked objective changes "
    "from step to step and there is no validation set). " + THREADS_NOTE
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    add_io_arguments(
        p,
        latent_default=16,
        out_help="output .h5ad (not the input file) with layers['denoised'] and obsm['X_latent']",
        epochs_help="training epochs (default 60; 100 for --model linear); no early stopping: "
        "all epochs run and the last epoch's weights are kept",
    )
    p.add_argument(
        "--model",
        choices=("zinb", "nb", "ae", "dae", "linear"),
        default="zinb",
        help="zinb/nb count autoencoder (masked training), ae, dae or linear autoencoder (default zinb)",
    )
    p.add_argument("--weight-decay", type=float, default=None)
    add_drop_empty(p)


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.sc import denoise_to_files

    default_threads(args)
    denoise_to_files(
        args.input, args.out, model=args.model, **io_kwargs(args), **common_kwargs(args)
    )
    return 0
