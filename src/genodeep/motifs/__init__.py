"""Motifs: PWM utilities, FIMO-like scanning, TOMTOM-like comparison, sequence logos and discovery.

Reading and writing motif files lives in :mod:`genodeep.io` (``read_motifs``, ``write_meme``, ...); the
file-level jobs (``genodeep motifs ...``) live in :mod:`genodeep.workflows.motifs`.

The functions are imported eagerly: ``scan`` and ``compare`` share their names with their modules,
and a lazy map would hand out the module instead of the function once the module had been imported.
Heavy optional dependencies (logomaker, memelite) are still imported only when used.
"""

from __future__ import annotations

from genodeep.motifs.compare import benjamini_hochberg, compare
from genodeep.motifs.discover import DiscoveryResult, discover_motifs
from genodeep.motifs.logo import plot_logo, save_logo, save_motif_logo
from genodeep.motifs.pwm import (
    consensus,
    information_content,
    log_odds,
    pfm_to_pwm,
    reverse_complement_pwm,
    trim,
)
from genodeep.motifs.scan import scan

__all__ = [
    "information_content",
    "trim",
    "reverse_complement_pwm",
    "pfm_to_pwm",
    "log_odds",
    "consensus",
    "scan",
    "compare",
    "benjamini_hochberg",
    "plot_logo",
    "save_logo",
    "save_motif_logo",
    "discover_motifs",
    "DiscoveryResult",
]
