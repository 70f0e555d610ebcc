"""``genodeep info``: versions of genodeep and its optional dependencies."""

from __future__ import annotations

import argparse
import importlib.metadata as md

from genodeep._version import __version__

HELP = "print genodeep's version, the device it would use and which optional extras are installed"

_PACKAGES = [
    "torch",
    "lightning",
    "numpy",
    "pyBigWig",
    "cyvcf2",
    "anndata",
    "logomaker",
    "modisco-lite",
    "memelite",
    "optuna",
    "onnx",
    "onnxruntime",
    "umap-learn",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    from genodeep._device import resolve_device

    print(f"genodeep {__version__}")
    print(f"device: {resolve_device(None)}")
    for name in _PACKAGES:
        try:
            print(f"  {name:14s} {md.version(name)}")
        except md.PackageNotFoundError:
            print(f"  {name:14s} not installed")
    return 0
