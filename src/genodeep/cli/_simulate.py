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


def _default_motif_file():
    import importlib.resources

    return importlib.resources.files("genodeep") / "_data" / "motifs.meme"


def run(args: argparse.Namespace) -> int:
    from genodeep._progress import log
    from genodeep.io.motifs import read_motifs, select_motifs
    from genodeep.seq.simulate import simulate_grammar, simulate_motif_presence, write_simulation

    if args.motifs is None:
        res = _default_motif_file()
        if not res.is_file():
            raise FileNotFoundError(
                f"the motifs shipped with genodeep are missing ({res}); give --motifs FILE"
            )
        import importlib.resources

        with importlib.resources.as_file(res) as path:
            motifs = read_motifs(path)
    else:
        motifs = read_motifs(args.motifs)
    if args.names:
        motifs = select_motifs(motifs, args.names)

    if args.mode == "presence":
        seqs, labels, planted = simulate_motif_presence(
            args.n,
            args.length,
            motifs,
            gc=args.gc,
            n_per_seq=args.n_per_seq,
            positive_fraction=args.positive_fraction,
            random_state=args.random_state,
        )
        tasks = list(motifs)
    else:
        if args.names is not None and len(motifs) != 2:
            raise ValueError(f"--mode grammar needs exactly 2 motifs in --names, got {len(motifs)}")
        if len(motifs) < 2:
            raise ValueError("--mode grammar needs 2 motifs; the motif file holds fewer")
        (name_a, pwm_a), (name_b, pwm_b) = list(motifs.items())[:2]
        seqs, labels, planted = simulate_grammar(
            args.n,
            args.length,
            pwm_a,
            pwm_b,
            spacing=args.spacing,
            order=args.order,
            gc=args.gc,
            positive_fraction=args.positive_fraction,
            names=(name_a, name_b),
            random_state=args.random_state,
        )
        tasks = ["grammar"]
    paths = write_simulation(args.out, seqs, labels, planted, tasks)
    log(
        f"wrote {len(seqs)} sequences of {args.length} bp, {len(tasks)} task(s), "
        f"{len(planted)} planted sites to {args.out}"
    )
    for kind, path in paths.items():
        log(f"  {kind}: {path}")
    return 0
