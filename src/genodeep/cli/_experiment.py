"""``genodeep experiment``: in-silico experiments reproducing the review's claims."""

from __future__ import annotations

import argparse

HELP = "in-silico experiments; 'spacing': CNNs vs k-mer models on motif-spacing grammar (the review's Fig. 2)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    p = sub.add_parser(
        "spacing",
        help="two motifs at a fixed spacing (positives) vs random spacing (negatives)",
        description="Train the CNN, the dilated CNN, the fully connected network and the k-mer "
        "baselines on simulated motif-spacing data; write spacing.tsv/.md/.png with held-out auROC/auPRC.",
    )
    p.add_argument("--out", dest="out_dir", required=True, metavar="DIR", help="output folder")
    p.add_argument("--n", type=int, default=4000, help="simulated sequences (default 4000)")
    p.add_argument("--length", type=int, default=200, help="sequence length (default 200)")
    p.add_argument(
        "--spacing", type=int, default=10, help="gap between the motifs in positives (default 10)"
    )
    p.add_argument(
        "--motifs",
        nargs=2,
        metavar="ID",
        default=None,
        help="two motif IDs or names (default: MA0529.3 BEAF-32, MA0531.2 CTCF)",
    )
    p.add_argument(
        "--motif-file",
        dest="motif_file",
        metavar="FILE",
        default=None,
        help="motif file (default: the motifs shipped with genodeep)",
    )
    p.add_argument(
        "--models", nargs="+", default=None, help="deep models: cnn dilated mlp (default: all)"
    )
    p.add_argument(
        "--baselines",
        nargs="*",
        default=None,
        help="k-mer baselines (default: logistic random_forest gradient_boosting)",
    )
    p.add_argument("--k", type=int, default=4, help="k-mer length of the baselines (default 4)")
    p.add_argument(
        "--max-epochs", dest="max_epochs", type=int, default=None, help="epochs per deep model"
    )
    p.add_argument("--random-state", dest="random_state", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from genodeep.train.experiment import spacing_experiment

    kwargs = {
        k: getattr(args, k)
        for k in ("motifs", "motif_file", "models", "baselines", "max_epochs")
        if getattr(args, k) is not None
    }
    table = spacing_experiment(
        n=args.n,
        length=args.length,
        spacing=args.spacing,
        k=args.k,
        out_dir=args.out_dir,
        random_state=args.random_state,
        verbose=not args.quiet,
        **kwargs,
    )
    print(table[["model", "family", "auroc", "auprc"]].to_string(index=False, float_format="%.3f"))
    return 0
