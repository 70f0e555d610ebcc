"""``genodeep embed``: latent space of cells from an scVI-style VAE, an autoencoder or PCA."""

from __future__ import annotations

import argparse

from genodeep.cli._denoise import add_io_arguments, common_kwargs, read_input, write_outputs

HELP = "embed cells in a low-dimensional latent space (NB/ZINB VAE with optional batch correction, AE, PCA)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_io_arguments(p, latent_default=10)
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


def run(args: argparse.Namespace) -> int:
    from genodeep.sc.api import embed

    adata = read_input(args)
    out = embed(
        adata,
        model=args.model,
        batch_key=args.batch_key,
        **common_kwargs(args),
    )
    write_outputs(out, args, step="embed", key="X_genodeep")
    return 0
