"""``genodeep predict``: apply a trained model to a FASTA file or to BED intervals of a genome."""

from __future__ import annotations

import argparse

HELP = (
    "predict with a trained model for FASTA sequences or BED intervals (+ genome), or genome-wide "
    "tracks of a profile model; write TSV, NPZ or bigWig"
)

EPILOG = """\
Output by extension: .tsv (one row per sequence/interval, one column per task), .npz (arrays y_hat,
task_names and the identifiers) or .bw/.bigwig (BED input only). In bigWig output every interval
carries its window's prediction over its own span; where intervals overlap, the boundary is the
midpoint between their centres. With several tasks, --task picks one, otherwise one file per task is
written (OUT.<task>.bw). BED intervals are re-centred to the model's input length before reading the
genome; binary models report probabilities (sigmoid of the logits).

Profile and coverage models (trained with data.kind: profile) predict genome-wide tracks: --chrom
(names or chr:start-end, repeatable), --regions BED, or --genome-wide, with --genome and --out OUT.bw.
Windows tile the stretches so that their outputs cover every base once; the tracks hold expected
counts per base (BPNet), or a binned model's per-bin prediction divided by its bin size (per-base
units, any target_transform undone), one file per track (OUT.<track>.bw).
Memory stays flat whatever the genome's size (chunks of --chunk windows).

--attributions counts|profile writes, instead of predictions, each base's contribution (DeepLIFT/SHAP
by default, --method ixg for speed) to the count head or to the profile shape, as one bigWig
(--task picks one track; a ChromBPNet is explained through its bias-free accessibility model)."""


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
    src.add_argument(
        "--chrom",
        action="append",
        metavar="NAME",
        help="profile models: chromosome or chr:start-end",
    )
    src.add_argument("--regions", metavar="BED", help="profile models: stretches to predict")
    src.add_argument(
        "--genome-wide", dest="genome_wide", action="store_true",
        help="profile models: every chromosome of --genome",
    )  # fmt: skip
    parser.add_argument("--genome", metavar="FASTA", default=None, help="genome FASTA for --bed")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .tsv, .npz or .bw")
    parser.add_argument(
        "--task", default=None, help="task written to bigWig (default: all, one file each)"
    )
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=256)
    parser.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="profile models: windows read and written per chunk (512; 128 with --attributions)",
    )
    parser.add_argument(
        "--attributions",
        choices=("counts", "profile"),
        default=None,
        help="profile models: write attribution scores of this head instead of predictions",
    )
    parser.add_argument(
        "--method", default="deepliftshap", help="--attributions: deepliftshap (default), ixg, ..."
    )
    parser.add_argument(
        "--n-shuffles",
        dest="n_shuffles",
        type=int,
        default=10,
        help="--attributions deepliftshap: shuffled references per window (default 10)",
    )
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep._progress import log

    if args.chrom or args.regions or args.genome_wide:
        from genodeep.workflows.tracks import attribution_tracks, predict_tracks

        if args.genome is None:
            raise ValueError("--chrom, --regions and --genome-wide need --genome FASTA")
        where = dict(chroms=args.chrom, regions=args.regions, device=args.device,
                     verbose=not args.quiet)  # fmt: skip
        if args.attributions:
            paths = attribution_tracks(
                args.model, args.genome, args.out, head=args.attributions, task=args.task,
                method=args.method, n_shuffles=args.n_shuffles, batch_size=min(args.batch_size, 64),
                chunk=args.chunk or 128, **where,
            )  # fmt: skip
        else:
            paths = predict_tracks(args.model, args.genome, args.out, task=args.task,
                                   batch_size=args.batch_size, chunk=args.chunk or 512,
                                   **where)  # fmt: skip
        log("wrote " + ", ".join(str(p) for p in paths))
        return 0
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
