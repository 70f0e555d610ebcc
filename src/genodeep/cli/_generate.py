"""``genodeep generate``: new expression profiles from a GAN (WGAN-GP) or the count VAE."""

from __future__ import annotations

import argparse

from genodeep.cli._denoise import THREADS_NOTE, add_io_arguments, default_threads

HELP = (
    "generate expression profiles with a WGAN-GP or the count VAE, with a two-sample quality check"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = THREADS_NOTE
    add_io_arguments(p, latent_default=None)
    p.add_argument(
        "-n", "--n", type=int, default=500, help="number of profiles to generate (default 500)"
    )
    p.add_argument(
        "--model", choices=("gan", "vae"), default="gan", help="gan (WGAN-GP, default) or vae"
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        help="fraction of cells held out for the quality check (default 0.2)",
    )


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.sc import generate_to_files

    default_threads(args)
    key = "n_noise" if args.model == "gan" else "n_latent"
    model_kwargs = None if args.n_latent is None else {key: args.n_latent}
    generate_to_files(
        args.input,
        args.out,
        args.n,
        model=args.model,
        genes_by_cells=args.genes_by_cells,
        layer=args.layer,
        n_top_genes=args.n_top_genes,
        holdout=args.holdout,
        model_kwargs=model_kwargs,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        plots=args.plots,
        plot_method=args.plot_method,
        out_dir=args.out_dir,
        device=args.device,
        random_state=args.random_state,
        verbose=True,
    )
    return 0
