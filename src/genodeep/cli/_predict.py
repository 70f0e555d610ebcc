"""``genodeep predict``: apply a trained model to a FASTA file or to BED intervals of a genome."""

from __future__ import annotations

import argparse

HELP = "predict with a trained model for FASTA sequences or BED intervals (+ genome); write TSV, NPZ or bigWig"

EPILOG = """\
Output by extension: .tsv (one row per sequence/interval, one column per task), .npz (arrays y_hat,
task_names and the identifiers) or .bw/.bigwig (BED input only). In bigWig output every interval
carries its window's prediction over its own span; where intervals overlap, the boundary is the
midpoint between their centres. With several tasks, --task picks one, otherwise one file per task is
written (OUT.<task>.bw). BED intervals are re-centred to the model's input length before reading the
genome; binary models report probabilities (sigmoid of the logits)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="run folder written by genodeep train, or its model/ folder",
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", metavar="FILE", help="sequences (of the model's input length)")
    src.add_argument("--bed", metavar="FILE", help="intervals; needs --genome")
    parser.add_argument("--genome", metavar="FASTA", default=None, help="genome FASTA for --bed")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .tsv, .npz or .bw")
    parser.add_argument(
        "--task", default=None, help="task written to bigWig (default: all, one file each)"
    )
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=256)
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep._progress import log
    from genodeep.workflows.predict import predict_file

    table = predict_file(
        args.model,
        fasta=args.fasta,
        bed=args.bed,
        genome=args.genome,
        out=args.out,
        task=args.task,
        batch_size=args.batch_size,
        device=args.device,
        verbose=not args.quiet,
    )
    log(f"wrote predictions for {len(table)} sequence(s) to {args.out}")
    return 0
