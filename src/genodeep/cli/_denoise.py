"""``genodeep denoise``: denoise a count matrix with a (count) autoencoder; AnnData in, AnnData out."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "denoise a count matrix (.h5ad, 10x folder, CSV/TSV) with a ZINB/NB count autoencoder or an AE"
)


def add_io_arguments(p: argparse.ArgumentParser, *, latent_default: int | None) -> None:
    """Flags shared by denoise, embed and generate (named after the API's keyword arguments)."""
    p.add_argument(
        "input", help="counts: .h5ad, a 10x folder (matrix.mtx[.gz]), .mtx, .csv/.tsv[.gz]"
    )
    p.add_argument("--out", required=True, help="output .h5ad")
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
    p.add_argument(
        "--max-epochs", type=int, default=None, help="training epochs (default per model)"
    )
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


def read_input(args: argparse.Namespace):
    from genodeep.io.counts import read_counts

    adata = read_counts(args.input, genes_by_cells=args.genes_by_cells)
    adata.uns.setdefault("genodeep", {})
    if isinstance(adata.uns["genodeep"], dict):
        adata.uns["genodeep"]["source"] = str(args.input)
    return adata


def write_outputs(adata, args: argparse.Namespace, *, step: str, key: str | None) -> None:
    """Plots (latent space + training curves) then the .h5ad."""
    from genodeep._progress import log
    from genodeep.io.counts import write_h5ad

    if args.plots:
        plots = Path(args.plots)
        plots.mkdir(parents=True, exist_ok=True)
        if key is not None:
            from genodeep.sc.api import plot_latent

            p = plot_latent(
                adata,
                plots / f"latent_{args.plot_method}.png",
                key=key,
                color=args.color,
                method=args.plot_method,
                random_state=args.random_state,
            )
            log(f"wrote {p}")
        write_training_curves(
            adata.uns["genodeep"][step].get("history", {}), plots / "training_curves.png"
        )
    write_h5ad(adata, args.out)
    log(f"wrote {args.out}")


def write_training_curves(history, path: Path) -> None:
    from genodeep._progress import log
    from genodeep.sc.api import plot_history

    if not history or "epoch" not in history:
        return
    log(f"wrote {plot_history(history, path, title='training curves')}")


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
        out_dir=args.out_dir,
        device=args.device,
        random_state=args.random_state,
        verbose=True,
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_io_arguments(p, latent_default=16)
    p.add_argument(
        "--model",
        choices=("zinb", "nb", "ae", "dae", "linear"),
        default="zinb",
        help="zinb/nb count autoencoder (masked training), ae, dae or linear autoencoder (default zinb)",
    )
    p.add_argument("--weight-decay", type=float, default=None)


def run(args: argparse.Namespace) -> int:
    from genodeep.sc.api import denoise

    adata = read_input(args)
    out = denoise(
        adata,
        model=args.model,
        **common_kwargs(args),
    )
    write_outputs(out, args, step="denoise", key="X_latent")
    return 0
