"""``genodeep generate``: new expression profiles from a GAN (WGAN-GP) or the count VAE."""

from __future__ import annotations

import argparse
from pathlib import Path

from genodeep.cli._denoise import add_io_arguments, read_input, write_outputs

HELP = (
    "generate expression profiles with a WGAN-GP or the count VAE, with a two-sample quality check"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    from genodeep._progress import log
    from genodeep.sc.api import generate, plot_generated

    adata = read_input(args)
    key = "n_noise" if args.model == "gan" else "n_latent"
    model_kwargs = None if args.n_latent is None else {key: args.n_latent}
    out = generate(
        adata,
        args.n,
        model=args.model,
        layer=args.layer,
        n_top_genes=args.n_top_genes,
        holdout=args.holdout,
        model_kwargs=model_kwargs,
        max_epochs=args.max_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        out_dir=args.out_dir,
        device=args.device,
        random_state=args.random_state,
        verbose=True,
    )
    q = out.uns["genodeep"]["generate"]["quality"]
    if q:
        log(
            "quality (classifier two-sample AUC vs held-out cells; 0.5 = indistinguishable): "
            f"generated {q['auc']:.3f}, training cells {q['reference_auc']:.3f}, "
            f"independent genes {q['independent_genes_auc']:.3f}"
        )
    if args.plots:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        p = plot_generated(
            adata,
            out,
            Path(args.plots) / f"generated_{args.plot_method}.png",
            layer=args.layer,
            method=args.plot_method,
            random_state=args.random_state,
        )
        log(f"wrote {p}")
    write_outputs(out, args, step="generate", key=None)
    return 0
