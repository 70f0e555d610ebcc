"""``genodeep tune``: hyperparameter search (optuna) over the ``search:`` section of a training config."""

from __future__ import annotations

import argparse

HELP = "search hyperparameters declared in a training config's search: section (optuna TPE/random, pruning)"

EPILOG = """\
The config is a `genodeep train` YAML plus a search: section of dotted keys and ranges:
  search:
    model.filters: {int: [8, 64], log: true}
    training.lr:   {float: [1.0e-4, 1.0e-2], log: true}
    model.name:    {choice: [deepbind, basset]}
Each trial trains in DIR/trials/trial_NNNN/; DIR gets trials.tsv, best_config.yaml (run it with
`genodeep train DIR/best_config.yaml`), optimization_history.png and study.db (SQLite storage).
Several machines join one study with the same --storage URL and --study-name, e.g.
  genodeep tune tune.yaml --out runs/tune --storage postgresql://user:pw@host/optuna --study-name s1"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "config", metavar="CONFIG.yaml", help="training config with a search: section"
    )
    parser.add_argument("--out", dest="out_dir", required=True, metavar="DIR", help="study folder")
    parser.add_argument(
        "--n-trials", dest="n_trials", type=int, default=None,
        help="trials to run (default 20 when --timeout is not given either)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop starting trials after S seconds",
    )
    parser.add_argument("--sampler", choices=("tpe", "random"), default="tpe")
    parser.add_argument(
        "--pruner", choices=("hyperband", "median", "none"), default="hyperband",
        help="stop unpromising trials early on the per-epoch validation metric",
    )  # fmt: skip
    parser.add_argument(
        "--metric", default=None,
        help="validation value to optimise, e.g. valid_auroc (default: training.early_stopping, else valid_loss)",
    )  # fmt: skip
    parser.add_argument("--direction", choices=("minimize", "maximize"), default=None)
    parser.add_argument(
        "--n-jobs", dest="n_jobs", type=int, default=1, help="trials run in parallel processes"
    )
    parser.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="optuna storage (default sqlite:///DIR/study.db)",
    )
    parser.add_argument("--study-name", dest="study_name", default=None)
    parser.add_argument(
        "--random-state", dest="random_state", type=int, default=0, help="sampler seed (default 0)"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.tune import tune

    tune(
        args.config,
        out_dir=args.out_dir,
        n_trials=args.n_trials,
        timeout=args.timeout,
        sampler=args.sampler,
        pruner=None if args.pruner == "none" else args.pruner,
        metric=args.metric,
        direction=args.direction,
        n_jobs=args.n_jobs,
        storage=args.storage,
        study_name=args.study_name,
        random_state=args.random_state,
        verbose=not args.quiet,
    )
    return 0
