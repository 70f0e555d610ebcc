"""``genodeep simulate``: sequences with planted motifs -> FASTA + labels (+ planted sites)."""

from __future__ import annotations

import argparse

HELP = "simulate sequences with planted motifs (presence or two-motif grammar) and write FASTA + labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (sequences.fa, labels.tsv, planted.tsv)",
    )
    parser.add_argument(
        "--mode",
        choices=["presence", "grammar"],
        default="presence",
        help="presence: one task per motif; grammar: two motifs at a fixed spacing "
        "and order vs. random arrangement (default: presence)",
    )
    parser.add_argument(
        "--motifs",
        metavar="FILE",
        default=None,
        help="motif file (.meme, .jaspar, .pfm); default: the motifs shipped with "
        "genodeep (JASPAR insects incl. Su(Hw) and BEAF-32)",
    )
    parser.add_argument(
        "--names",
        nargs="+",
        metavar="ID",
        default=None,
        help="motifs to use (key, ID or name); default: all (presence) or the first two (grammar)",
    )
    parser.add_argument("--n", type=int, default=2000, help="number of sequences (default 2000)")
    parser.add_argument("--length", type=int, default=200, help="sequence length (default 200)")
    parser.add_argument(
        "--gc", type=float, default=0.5, help="background G+C fraction (default 0.5)"
    )
    parser.add_argument(
        "--n-per-seq",
        dest="n_per_seq",
        type=int,
        default=1,
        help="presence: instances per present motif (default 1)",
    )
    parser.add_argument(
        "--spacing",
        type=int,
        default=10,
        help="grammar: gap between the two motifs in positives (default 10)",
    )
    parser.add_argument(
        "--order",
        choices=["ab", "ba"],
        default="ab",
        help="grammar: order of the two motifs in positives (default ab)",
    )
    parser.add_argument(
        "--positive-fraction",
        dest="positive_fraction",
        type=float,
        default=0.5,
        help="fraction of positives per task (default 0.5)",
    )
    parser.add_argument(
        "--random-state", dest="random_state", type=int, default=None, help="random seed"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.simulate import simulate_to_files

    simulate_to_files(
        args.out,
        mode=args.mode,
        motifs=args.motifs,
        names=args.names,
        n=args.n,
        length=args.length,
        gc=args.gc,
        n_per_seq=args.n_per_seq,
        spacing=args.spacing,
        order=args.order,
        positive_fraction=args.positive_fraction,
        random_state=args.random_state,
    )
    return 0
