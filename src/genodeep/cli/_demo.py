"""``genodeep demo``: the whole workflow on shipped real data, with an HTML report."""

from __future__ import annotations

import argparse

HELP = "run the whole workflow on data shipped with genodeep and write an HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo-report", help="report folder (default: demo-report)")
    p.add_argument("--steps", nargs="+", default=None, help="run only these steps (default: all)")
    p.add_argument("--quick", action="store_true", help="smaller models, fewer epochs")
    p.add_argument("--random-state", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.demo import run_demo

    run_demo(args.out, steps=args.steps, quick=args.quick, random_state=args.random_state)
    return 0
