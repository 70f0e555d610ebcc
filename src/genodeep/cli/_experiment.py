"""``genodeep experiment``: in-silico experiments reproducing the review's claims."""

from __future__ import annotations

import argparse

HELP = (
    "in-silico experiments: 'spacing' (CNNs vs k-mer models, the review's Fig. 2), 'multimodal', "
    "'transfer' and 'graph' (the review's Fig. 3-4)"
)

#: experiment -> (help, description, --n help)
_SHOWCASES = {
    "multimodal": (
        "sequence + accessibility track vs either alone, where binding = motif AND open chromatin",
        "Train the same CNN on the sequence and the track (late and early fusion), on the sequence only "
        "and on the track only; write multimodal.tsv/.md/.png with test auROC/auPRC per input set.",
        "simulated windows (default 4000; 1000 with --quick)",
    ),
    "transfer": (
        "pretrain on motif tasks, fine-tune on a new task with 100-500 examples vs training from scratch",
        "Pretrain a CNN on 8 motif-presence tasks, then learn a new task (su(Hw) AND CTCF) from few "
        "labelled sequences by fine-tuning, with a frozen trunk, or from scratch; write transfer.tsv/.md "
        "and the learning curve transfer.png.",
        "pretraining sequences (default 4000; 1500 with --quick)",
    ),
    "graph": (
        "graph convolutional network vs the same layers without the graph",
        "Node labels are the majority of the neighbours' hidden states: train a GCN and the same layers "
        "on the identity graph; write graph.tsv/.md/.png with test auROC/accuracy/auPRC.",
        "graph nodes (default 2000; 600 with --quick)",
    ),
}


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

    for name, (help_, description, n_help) in _SHOWCASES.items():
        p = sub.add_parser(name, help=help_, description=description)
        p.add_argument("--out", dest="out_dir", required=True, metavar="DIR", help="output folder")
        p.add_argument("--n", type=int, default=None, help=n_help)
        if name == "transfer":
            p.add_argument(
                "--sizes",
                type=int,
                nargs="+",
                default=None,
                metavar="N",
                help="labelled training-set sizes of the new task (default 100 200 500; 100 300 with --quick)",
            )
        p.add_argument(
            "--random-state", dest="random_state", type=int, default=0, help="seed (default 0)"
        )
        p.add_argument(
            "--quick",
            action="store_true",
            help="smaller data and fewer epochs: seconds instead of tens of seconds",
        )


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.experiment import experiment_to_files

    if args.experiment == "spacing":
        kwargs = {
            k: getattr(args, k)
            for k in ("motifs", "motif_file", "models", "baselines", "max_epochs")
            if getattr(args, k) is not None
        }
        kwargs.update(length=args.length, spacing=args.spacing, k=args.k)
    else:
        kwargs = {"quick": args.quick}
        if getattr(args, "sizes", None) is not None:
            kwargs["sizes"] = args.sizes
    result = experiment_to_files(
        args.experiment,
        args.out_dir,
        n=args.n,
        random_state=args.random_state,
        verbose=not args.quiet,
        **kwargs,
    )
    if args.experiment == "spacing":
        table = result.table[["model", "family", "auroc", "auprc"]]
        print(table.to_string(index=False, float_format="%.3f"))
    else:
        print(result.table.to_string(index=False, float_format="%.3f"))
        print(result.message)
    return 0
