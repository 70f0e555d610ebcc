"""``genodeep simulate``: sequences with planted motifs -> FASTA + labels (+ planted sites)."""

from __future__ import annotations

import argparse

HELP = (
    "simulate sequences with planted motifs (presence or two-motif grammar) and write FASTA + labels, "
    "or a genome with read footprints (--mode footprints) for profile models"
)

EPILOG = """\
--mode footprints writes a genome (genome.fa), read tracks (plus.bw + minus.bw for chip-exo, cuts.bw
for atac), peaks.narrowPeak, sites.bed, motifs.meme and profile.yaml, a config whose data: section
reads them (add a model: section, or let genodeep train pick BPNet). Planted motifs emit their own
read shapes; --bias plants a Tn5-like 6-mer everywhere (for ChromBPNet)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (sequences.fa, labels.tsv, planted.tsv)",
    )
    parser.add_argument(
        "--mode",
        choices=["presence", "grammar", "footprints"],
        default="presence",
        help="presence: one task per motif; grammar: two motifs at a fixed spacing "
        "and order vs. random arrangement; footprints: a genome with read tracks "
        "(default: presence)",
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
    foot = parser.add_argument_group("--mode footprints")
    foot.add_argument("--genome-size", dest="genome_size", type=int, default=1_000_000)
    foot.add_argument("--n-chroms", dest="n_chroms", type=int, default=2)
    foot.add_argument("--shapes", choices=["chip-exo", "atac"], default="chip-exo")
    foot.add_argument("--bias", action="store_true", help="plant a Tn5-like bias 6-mer")
    foot.add_argument("--sites-per-mb", dest="sites_per_mb", type=float, default=200.0)
    foot.add_argument("--depth", type=float, default=100.0, help="mean reads per site")


def run(args: argparse.Namespace) -> int:
    if args.mode == "footprints":
        from genodeep._progress import log
        from genodeep.data.footprint_files import write_footprints

        paths = write_footprints(
            args.out, genome_size=args.genome_size, n_chroms=args.n_chroms,
            motifs=args.motifs, shapes=args.shapes, bias=args.bias,
            sites_per_mb=args.sites_per_mb, depth=args.depth,
            random_state=0 if args.random_state is None else args.random_state,
        )  # fmt: skip
        log("wrote " + ", ".join(p.name for p in paths.values()) + f" in {args.out}")
        return 0
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
