"""``genodeep evaluate``: score a trained run on a split of its data (or another config's data)."""

from __future__ import annotations

import argparse

HELP = "evaluate a trained run (genodeep train's folder) on the test split of its config or another config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run",
        required=True,
        metavar="DIR",
        help="run folder written by genodeep train (or a model/ folder with --data)",
    )
    parser.add_argument(
        "--data",
        dest="config",
        metavar="CONFIG.yaml",
        default=None,
        help="config whose data: section to evaluate on (default: the run's config.yaml)",
    )
    parser.add_argument(
        "--split",
        choices=("train", "valid", "test"),
        default="test",
        help="which split to score (default: test)",
    )
    parser.add_argument(
        "--out",
        dest="out_dir",
        metavar="DIR",
        default=None,
        help="where to write metrics.tsv/.md and predictions (default: RUN/eval-SPLIT)",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also fit the k-mer baselines on the train split and score them",
    )
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=256)
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.predict import evaluate_run

    evaluate_run(
        args.run,
        config=args.config,
        split=args.split,
        out_dir=args.out_dir,
        baselines=args.baselines,
        batch_size=args.batch_size,
        device=args.device,
        verbose=not args.quiet,
    )
    return 0
