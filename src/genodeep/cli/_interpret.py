"""``genodeep interpret``: attribution scores of a model's predictions, with logos and ISM heatmaps."""

from __future__ import annotations

import argparse

HELP = "attribution scores (ISM, saliency, input x gradient, IG, DeepLIFT/SHAP) with logos and ISM heatmaps"

EPILOG = """\
Writes into --out: attributions.npz (X, attributions, scores, hypothetical when the method has them,
names, prediction, method, target, task_names; `genodeep motifs discover --attributions` reads it),
top.tsv and plots/ (attribution logo and ISM heatmap of the --top sequences with the highest explained
output). Methods: ism (exact in-silico saturation mutagenesis), saliency (|dy/dx|), ixg (input x
gradient), ig (integrated gradients, zero baseline), deepliftshap (DeepLIFT/SHAP, dinucleotide-shuffled
references; hypothetical scores for TF-MoDISco)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from genodeep.interpret.api import ATTRIBUTION_METHODS

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--model", required=True, metavar="PKG", help="model package (or genodeep train run folder)"
    )
    parser.add_argument(
        "--sequences",
        required=True,
        metavar="FILE",
        help="FASTA of sequences of the model's length, or BED intervals (with --genome)",
    )
    parser.add_argument(
        "--genome", metavar="FASTA", default=None, help="genome FASTA for BED input"
    )
    parser.add_argument(
        "--method", default="ism", choices=list(ATTRIBUTION_METHODS), help="default: ism"
    )
    parser.add_argument(
        "--target",
        default=None,
        metavar="TASK",
        help="task name or index to explain (default: the sum of all outputs)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--top", type=int, default=5, help="sequences plotted (highest output first; default 5)"
    )
    parser.add_argument(
        "--window", type=int, default=60, help="bases shown in each plot (default 60)"
    )
    parser.add_argument(
        "--n-shuffles",
        dest="n_shuffles",
        type=int,
        default=None,
        help="deepliftshap: shuffled references per sequence (default 20)",
    )
    parser.add_argument(
        "--n-steps",
        dest="n_steps",
        type=int,
        default=None,
        help="ig: integration points (default 50)",
    )
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=None)
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )
    parser.add_argument("--random-state", dest="random_state", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.interpret import interpret_to_files

    options = {}
    if args.n_shuffles is not None:
        if args.method != "deepliftshap":
            raise ValueError("--n-shuffles applies to --method deepliftshap only")
        options["n_shuffles"] = args.n_shuffles
    if args.n_steps is not None:
        if args.method != "ig":
            raise ValueError("--n-steps applies to --method ig only")
        options["n_steps"] = args.n_steps
    interpret_to_files(
        args.model,
        args.sequences,
        args.out,
        genome=args.genome,
        method=args.method,
        target=args.target,
        top=args.top,
        window=args.window,
        batch_size=args.batch_size,
        device=args.device,
        random_state=args.random_state,
        verbose=not args.quiet,
        **options,
    )
    return 0
