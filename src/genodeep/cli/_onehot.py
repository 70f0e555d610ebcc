"""``genodeep onehot``: one-hot encode a FASTA file, or windows of a genome, into an ``.npz``.

Two modes, each a thin call of the public API:

- ``--fasta seqs.fa --out X.npz``: every record (all of one length) through
  :func:`genodeep.seq.one_hot`;
- ``--genome genome.fa --bed peaks.bed [--length L] --out X.npz``: the BED intervals (resized to
  ``L`` bp around their centre when ``--length`` is given) through :meth:`genodeep.io.Genome.one_hot`.

The ``.npz`` holds ``X`` (int8, shape (N, 4, L), channels A, C, G, T) and ``names`` (the record
names, or ``chrom:start-end`` of each window); in genome mode also ``chroms`` and ``starts``.
"""

from __future__ import annotations

import argparse

import numpy as np

from genodeep._io_utils import atomic_path
from genodeep._progress import log

HELP = "one-hot encode a FASTA file, or BED windows of a genome, into an .npz of int8 (N, 4, L)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", help="FASTA of equal-length sequences to encode")
    src.add_argument("--genome", help="genome FASTA (plain, gzip or bgzip) to take windows from")
    parser.add_argument("--bed", help="BED file of windows (with --genome)")
    parser.add_argument(
        "--length",
        type=int,
        default=None,
        help="window length around each BED interval's centre (default: the intervals as given)",
    )
    parser.add_argument("--cache-dir", default=None, help="folder for the decoded genome cache")
    parser.add_argument("--out", required=True, help="output .npz")


def run(args: argparse.Namespace) -> int:
    # genodeep.io and genodeep.seq pull in torch: imported when the subcommand runs, so that
    # `genodeep --help` (which imports every subcommand module) stays fast
    if args.fasta is not None:
        if args.bed is not None or args.length is not None:
            raise ValueError("--bed and --length go with --genome, not with --fasta")
        from genodeep.io import read_fasta
        from genodeep.seq import one_hot

        records = read_fasta(args.fasta)
        names = list(records)
        X = one_hot(list(records.values()))
        extra: dict[str, np.ndarray] = {}
    else:
        if args.bed is None:
            raise ValueError("--genome needs --bed with the windows to encode")
        from genodeep.io import Genome, read_bed

        genome = Genome(args.genome, cache_dir=args.cache_dir)
        bed = read_bed(args.bed, genome=genome)
        starts = bed["start"].to_numpy(np.int64)
        ends = bed["end"].to_numpy(np.int64)
        if args.length is not None:
            if args.length < 1:
                raise ValueError(f"--length must be a positive integer, got {args.length}")
            length = int(args.length)
            starts = starts + (ends - starts) // 2 - length // 2
        else:
            widths = np.unique(ends - starts)
            if widths.size > 1:
                raise ValueError(
                    f"the intervals of {args.bed} have {widths.size} different lengths "
                    f"({widths.min()} to {widths.max()} bp). Fix: pass --length to take windows "
                    "of one length around their centres"
                )
            length = int(widths[0]) if widths.size else 0
        chroms = bed["chrom"].astype(str).tolist()
        X = genome.one_hot(chroms, starts, length)
        names = [f"{c}:{s}-{s + length}" for c, s in zip(chroms, starts.tolist())]
        extra = {"chroms": np.array(chroms), "starts": starts}
    with atomic_path(args.out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, X=X.numpy(), names=np.array(names), **extra)
    log(f"wrote {tuple(X.shape)} int8 one-hot to {args.out}")
    return 0
