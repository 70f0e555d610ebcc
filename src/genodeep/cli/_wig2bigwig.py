"""``genodeep wig2bigwig``: convert a wiggle or bedGraph track to bigWig."""

from __future__ import annotations

import argparse

from genodeep._progress import log

HELP = "convert a wiggle (variableStep/fixedStep) or bedGraph file to bigWig"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="IN", help="input .wig or .bedgraph (optionally .gz)")
    parser.add_argument(
        "--chrom-sizes",
        dest="chrom_sizes",
        required=True,
        metavar="GENOME",
        help="chromosome sizes: a FASTA (plain/gzip), its .fai, or a 'name<TAB>size' table",
    )
    parser.add_argument("--out", required=True, metavar="OUT.bw", help="output bigWig")
    parser.add_argument(
        "--format",
        choices=("wig", "bedgraph"),
        default=None,
        help="input format (default: from the extension, else the content)",
    )


def run(args: argparse.Namespace) -> int:
    # imported when the subcommand runs (pandas, numpy): `genodeep --help` stays fast
    from genodeep.io.signal import wig_to_bigwig

    out = wig_to_bigwig(args.path, args.chrom_sizes, args.out, format=args.format)
    log(f"wrote {out}")
    return 0
