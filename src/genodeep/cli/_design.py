"""``genodeep design``: sequences a trained model scores highly, by evolution, gradients or a feedback GAN."""

from __future__ import annotations

import argparse

HELP = "design sequences: greedy/beam evolution, gradient design (Ledidi) or a feedback GAN, with an oracle"

EPILOG = """\
Objective terms (--objective, repeatable): max:TASK, min:TASK, TASK=VALUE (a value on the prediction
scale: probability, rate or count), with an optional weight, 2*max:TASK. TASK is a task name or index.
Several --model packages form an ensemble (their mean is optimised; their disagreement is reported, and
--disagreement W subtracts W times it from the objective).
--oracle packages take no part in the design and score designs, seeds and natural sequences.
Writes into --out: designs.fa, designs.tsv, history.tsv, summary.json, summary.md, plots/ (objective
over rounds; DeepLIFT/SHAP logos of the best designs and their seeds, edits shaded)."""


def _pair(cast, expected: str):
    """An argparse type for ``A-B`` (or ``A:B``) pairs of ``cast`` values."""

    def parse(text: str) -> tuple:
        try:
            a, b = text.replace(":", "-").split("-")
            return cast(a), cast(b)
        except ValueError:
            raise argparse.ArgumentTypeError(  # noqa: B904 (argparse prints the message)
                f"expected {expected}, got {text!r}"
            )

    return parse


_range = _pair(int, "START-END (0-based, end exclusive)")
_gc = _pair(float, "LOW-HIGH GC fractions, e.g. 0.35-0.6")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--model",
        required=True,
        action="append",
        metavar="PKG",
        help="model package, run folder or zoo name (repeat for an ensemble)",
    )
    p.add_argument(
        "--objective",
        action="append",
        metavar="TERM",
        default=None,
        help="objective term (repeatable; default max:0)",
    )
    p.add_argument(
        "--method",
        choices=("evolve", "gradient", "gan"),
        default="evolve",
        help="evolve (greedy/beam, default), gradient (Ledidi-style) or gan (feedback GAN)",
    )
    p.add_argument(
        "--seeds",
        metavar="FILE",
        default=None,
        help="FASTA of seeds of the model's length, or BED with --genome (default: random)",
    )
    p.add_argument("--genome", metavar="FASTA", default=None, help="genome FASTA for BED input")
    p.add_argument(
        "--natural",
        metavar="FILE",
        default=None,
        help="FASTA/BED of natural sequences for the oracle comparison (default: the seeds)",
    )
    p.add_argument(
        "--oracle",
        action="append",
        metavar="PKG",
        default=None,
        help="independent model package(s) that score the designs (repeatable)",
    )
    p.add_argument(
        "-n",
        "--n",
        type=int,
        default=10,
        help="random seeds without --seeds; designs of the GAN (default 10)",
    )
    p.add_argument(
        "--length", type=int, default=None, help="length of random seeds for any-length models"
    )
    p.add_argument("--edits", type=int, default=10, help="edit budget and rounds (default 10)")
    p.add_argument(
        "--beam", type=int, default=1, help="evolve: sequences kept per seed (default 1, greedy)"
    )
    p.add_argument(
        "--steps", type=int, default=None, help="gradient: optimiser steps (default 200)"
    )
    p.add_argument("--rounds", type=int, default=None, help="gan: feedback rounds")
    p.add_argument("--gc", type=_gc, default=None, metavar="LOW-HIGH", help="allowed GC fraction")
    p.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="SITE",
        help="forbidden site: IUPAC string or enzyme name, both strands (repeatable)",
    )
    p.add_argument(
        "--fixed",
        action="append",
        type=_range,
        default=[],
        metavar="START-END",
        help="positions kept from the seed, 0-based, end exclusive (repeatable)",
    )
    p.add_argument(
        "--max-edits",
        dest="max_edits",
        type=int,
        default=None,
        help="most positions that may differ from the seed (default: --edits)",
    )
    p.add_argument(
        "--disagreement",
        type=float,
        default=0.0,
        metavar="W",
        help="ensembles: subtract W x the models' SD of the objective (designs the models agree on; "
        "default 0)",
    )
    p.add_argument(
        "--top", type=int, default=3, help="best designs with attribution logos (default 3)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )
    p.add_argument("--random-state", dest="random_state", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.design import design_to_files

    options = {}
    if args.steps is not None:
        if args.method != "gradient":
            raise ValueError("--steps applies to --method gradient only")
        options["steps"] = args.steps
    if args.rounds is not None:
        if args.method != "gan":
            raise ValueError("--rounds applies to --method gan only")
        options["rounds"] = args.rounds
    if args.beam != 1 and args.method != "evolve":
        raise ValueError("--beam applies to --method evolve only")
    model = args.model if len(args.model) > 1 else args.model[0]
    design_to_files(
        model,
        args.out,
        seeds=args.seeds,
        genome=args.genome,
        natural=args.natural,
        oracle=args.oracle,
        top=args.top,
        verbose=not args.quiet,
        objective=args.objective or ["max:0"],
        method=args.method,
        n=args.n,
        length=args.length,
        edits=args.edits,
        beam=args.beam,
        gc=args.gc,
        forbid=args.forbid,
        fixed=args.fixed,
        max_edits=args.max_edits,
        disagreement=args.disagreement,
        random_state=args.random_state,
        device=args.device,
        **options,
    )
    return 0
