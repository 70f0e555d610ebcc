"""``genodeep motifs``: filters -> PWMs, TF-MoDISco discovery, FIMO-like scanning, TOMTOM-like comparison."""

from __future__ import annotations

import argparse

HELP = "motifs: filters (first-layer filters -> PWMs) | discover (TF-MoDISco) | scan | compare"


DATABASE_HELP = (
    "motifs to match against: a MEME/JASPAR/PFM file, or the JASPAR database offline (pyjaspar): "
    "jaspar:vertebrates, jaspar:insects, jaspar:plants,fungi, jaspar:GROUP@2024, ...; default: all of "
    "JASPAR CORE (the command says which)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    f = sub.add_parser(
        "filters",
        help="PWMs of first-layer convolution filters from the windows that activate them",
        description="Writes filters.meme, filters.tsv (sites, information, best match) and logos/.",
    )
    f.add_argument("--model", required=True, metavar="PKG", help="model package or run folder")
    f.add_argument("--sequences", required=True, metavar="FILE", help="FASTA, or BED with --genome")
    f.add_argument("--genome", metavar="FASTA", default=None)
    f.add_argument("--database", metavar="DB", default=None, help=DATABASE_HELP)
    f.add_argument("--out", required=True, metavar="DIR")
    f.add_argument(
        "--layer",
        default=None,
        help="module name thresholded (default: the first convolution), e.g. its activation",
    )
    f.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="fraction of each filter's maximum activation (default 0.5)",
    )
    f.add_argument("--min-sites", dest="min_sites", type=int, default=10)
    f.add_argument("--batch-size", dest="batch_size", type=int, default=256)
    f.add_argument("--device", default=None)

    d = sub.add_parser(
        "discover",
        help="TF-MoDISco patterns from an attributions.npz, matched to a database",
        description=(
            "Writes patterns.meme, patterns.npz, summary.tsv, matches.tsv, seqlets.tsv and logos/."
        ),
    )
    d.add_argument(
        "--attributions",
        required=True,
        metavar="NPZ",
        help="attributions.npz written by genodeep interpret",
    )
    d.add_argument("--database", metavar="DB", default=None, help=DATABASE_HELP)
    d.add_argument("--out", required=True, metavar="DIR")
    d.add_argument("--max-seqlets", dest="max_seqlets", type=int, default=2000)
    d.add_argument("--window", type=int, default=None, help="central bases used (default: all)")
    d.add_argument("--sliding-window-size", dest="sliding_window_size", type=int, default=20)
    d.add_argument("--flank-size", dest="flank_size", type=int, default=5)
    d.add_argument("--min-metacluster-size", dest="min_metacluster_size", type=int, default=100)
    d.add_argument("--final-min-cluster-size", dest="final_min_cluster_size", type=int, default=20)
    d.add_argument("--n-leiden-runs", dest="n_leiden_runs", type=int, default=2)
    d.add_argument("--trim-threshold", dest="trim_threshold", type=float, default=0.3)
    d.add_argument("--n-nearest", dest="n_nearest", type=int, default=3)

    s = sub.add_parser("scan", help="motif matches with exact p-values (FIMO-like) -> TSV")
    s.add_argument("--motifs", required=True, metavar="MEME", help="MEME, JASPAR or PFM file")
    s.add_argument("--sequences", required=True, metavar="FASTA")
    s.add_argument("--out", required=True, metavar="TSV")
    s.add_argument("--threshold", type=float, default=1e-4, help="p-value cut-off (default 1e-4)")
    s.add_argument("--pseudocount", type=float, default=0.1)
    s.add_argument(
        "--single-strand",
        dest="both_strands",
        action="store_false",
        help="scan the + strand only",
    )
    s.add_argument("--device", default=None)

    c = sub.add_parser("compare", help="TOMTOM-like comparison of motifs with a database -> TSV")
    c.add_argument("--query", required=True, metavar="MEME")
    c.add_argument(
        "--database", required=True, metavar="DB", help="MEME/JASPAR file, or jaspar:GROUP"
    )
    c.add_argument("--out", required=True, metavar="TSV")
    c.add_argument(
        "--n-nearest", dest="n_nearest", type=int, default=None, help="best matches per query"
    )
    c.add_argument("--max-q", dest="max_q", type=float, default=None, help="q-value cut-off")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs: building the parser imports every CLI module
    from genodeep.workflows import motifs as jobs

    verbose = not args.quiet
    if args.action == "filters":
        jobs.filters_to_files(
            args.model,
            args.sequences,
            args.out,
            genome=args.genome,
            database=args.database,
            layer=args.layer,
            threshold=args.threshold,
            min_sites=args.min_sites,
            batch_size=args.batch_size,
            device=args.device,
            verbose=verbose,
        )
    elif args.action == "discover":
        jobs.discover_to_files(
            args.attributions,
            args.out,
            database=args.database,
            max_seqlets=args.max_seqlets,
            window=args.window,
            sliding_window_size=args.sliding_window_size,
            flank_size=args.flank_size,
            min_metacluster_size=args.min_metacluster_size,
            final_min_cluster_size=args.final_min_cluster_size,
            n_leiden_runs=args.n_leiden_runs,
            trim_threshold=args.trim_threshold,
            n_nearest=args.n_nearest,
        )
    elif args.action == "scan":
        jobs.scan_to_file(
            args.motifs,
            args.sequences,
            args.out,
            threshold=args.threshold,
            pseudocount=args.pseudocount,
            both_strands=args.both_strands,
            device=args.device,
            verbose=verbose,
        )
    elif args.action == "compare":
        jobs.compare_to_file(
            args.query, args.database, args.out, n_nearest=args.n_nearest, max_q=args.max_q
        )
    return 0
