"""genodeep: deep learning for genomics, from genomic files to biological insight.

The public API is flat and curated here; heavy modules are imported only when first used::

    import genodeep as gd
    X = gd.one_hot(["ACGT", "GGCA"])          # (2, 4, 4)
    genome = gd.Genome("genome.fa.gz")
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    # errors and helpers
    "InputFileError": "genodeep._validate",
    "predict": "genodeep._batching",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genodeep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
