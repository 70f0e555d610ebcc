"""``genodeep`` entry point.

Each subcommand lives in its own module ``genodeep.cli._<name>`` that defines

- ``HELP``: a one-line description,
- ``add_arguments(parser)``: its flags (named after the API function's keyword arguments),
- ``run(args) -> int | None``: calls the public API.

``SUBCOMMANDS`` below is the one place that lists them; modules are imported only when used so that
``genodeep --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# OpenMP threads that spin while they wait stall when another process shares the cores (10 epochs of a
# denoising run: 3.7 s spinning vs 1.4 s passive with one busy neighbour on 2 cores). Set before torch
# loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from genodeep._version import __version__

# name -> module (relative to genodeep.cli). Keep sorted by workflow order.
SUBCOMMANDS: dict[str, str] = {
    "info": "_info",
    "onehot": "_onehot",
    "simulate": "_simulate",
    "wig2bigwig": "_wig2bigwig",
    "train": "_train",
    "evaluate": "_evaluate",
    "predict": "_predict",
    "experiment": "_experiment",
    "interpret": "_interpret",
    "motifs": "_motifs",
    "score-variants": "_variants",
    "design": "_design",
    "denoise": "_denoise",
    "embed": "_embed",
    "generate": "_generate",
    "tune": "_tune",
    "zoo": "_zoo",
    "export": "_export",
    "demo": "_demo",
}


def _available() -> dict[str, object]:
    mods = {}
    for name, modname in SUBCOMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"genodeep.cli.{modname}")
        except ModuleNotFoundError as err:
            if err.name == f"genodeep.cli.{modname}":
                continue  # not built yet
            raise
    return mods


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="genodeep",
        description="Deep learning for genomics: from genomic files to biological insight.",
    )
    parser.add_argument("--version", action="version", version=f"genodeep {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or status lines"
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for torch (default: one per core, or 1 for denoise/embed/generate; more "
        "threads than cores is refused with a warning and capped)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _available().items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        p.add_argument(
            "-q", "--quiet", action="store_true", help=argparse.SUPPRESS, default=argparse.SUPPRESS
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _thread_count(requested: int) -> int:
    """``--threads``, capped at the available cores with a warning: more torch threads than cores only
    makes them wait for each other."""
    import warnings

    cores = available_cores()
    if requested > cores:
        warnings.warn(
            f"--threads {requested} is more than the {cores} core(s) this process can use; using "
            f"{cores} (oversubscribed threads wait for each other)",
            stacklevel=2,
        )
        return cores
    return requested


def main(argv: list[str] | None = None) -> int:
    from genodeep._progress import is_quiet, set_quiet
    from genodeep._validate import InputFileError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.threads is not None:
        import torch

        torch.set_num_threads(_thread_count(args.threads))
    was_quiet = is_quiet()
    set_quiet(bool(args.quiet) or was_quiet)
    try:
        code = args._run(args)
    except (
        InputFileError,
        ValueError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        ImportError,
        KeyError,
        FloatingPointError,
    ) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"genodeep {args.command}: error: {msg}", file=sys.stderr)
        return 1
    finally:
        set_quiet(was_quiet)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
