"""``genodeep embed``: latent space of cells from an scVI-style VAE, an autoencoder or PCA."""

from __future__ import annotations

import argparse

from genodeep.cli._denoise import (
    THREADS_NOTE,
    add_drop_empty,
    add_io_arguments,
    common_kwargs,
    default_threads,
    io_kwargs,
)

HELP = "embed cells in a low-dimensional latent space (NB/ZINB VAE with optional batch correction, AE, PCA)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = THREADS_NOTE
    add_io_arguments(
        p,
        latent_default=10,
        out_help="output .h5ad (not the input file) with the latent space in obsm['X_genodeep']",
        epochs_help="training epochs (default 100 for vae/zinb-vae, 60 for zinb/nb/ae/dae, "
        "100 for linear); no early stopping: the last epoch's weights are kept",
    )
    p.add_argument(
        "--model",
        choices=("vae", "zinb-vae", "zinb", "nb", "ae", "dae", "linear", "pca"),
        default="vae",
        help="vae (NB, scVI-style; default), zinb-vae, count/plain autoencoders or pca",
    )
    p.add_argument(
        "--batch-key",
        default=None,
        help="obs column with the batch of each cell (batch correction)",
    )
    p.add_argument("--weight-decay", type=float, default=None)
    add_drop_empty(p)


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.sc import embed_to_files

    default_threads(args)
    embed_to_files(
        args.input,
        args.out,
        model=args.model,
        batch_key=args.batch_key,
        **io_kwargs(args),
        **common_kwargs(args),
    )
    return 0
