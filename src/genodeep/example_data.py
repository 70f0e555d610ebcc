"""Paths of the small real data sets shipped inside genodeep (see ``_data/README.md``).

>>> from genodeep import example_data
>>> fasta = example_data.genome()            # dm3 chr2R:6-14 Mb, one record "chr2R_6M_14M"
>>> peaks = example_data.insulator_peaks()   # {"BEAF_Kc": path, ...} 8 ChIP-chip tasks
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The shipped genome record and where it lies in dm3 (0-based start of the slice on chr2R).
GENOME_RECORD = "chr2R_6M_14M"
DM3_CHROM = "chr2R"
DM3_OFFSET = 6_000_000

INSULATOR_TASKS = (
    "BEAF_Kc",
    "BEAF_Mbn2",
    "CTCF_Kc",
    "CTCF_Mbn2",
    "Cp190_Kc",
    "Cp190_Mbn2",
    "SuHw_Kc",
    "SuHw_Mbn2",
)


def _path(*parts: str) -> Path:
    return Path(str(resources.files("genodeep").joinpath("_data", *parts)))


def genome() -> Path:
    """gzip FASTA of dm3 chr2R:6,000,000-14,000,000 (8 Mb), record ``chr2R_6M_14M``."""
    return _path("dm3_chr2R_6M-14M.fa.gz")


def insulator_peaks() -> dict[str, Path]:
    """The 8 insulator ChIP-chip BED files (protein x cell line) in slice coordinates."""
    return {task: _path("insulators", f"{task}.bed") for task in INSULATOR_TASKS}


def motifs() -> Path:
    """MEME file with 17 JASPAR 2024 CORE motifs (su(Hw), BEAF-32, CTCF, ...)."""
    return _path("motifs.meme")


def insect_motifs() -> Path:
    """gzip MEME file with all 286 JASPAR 2024 CORE insect matrices (the database for fly motifs)."""
    return _path("JASPAR2024_CORE_insects.meme.gz")


def insulator_config() -> Path:
    """The ``genodeep train`` config of the insulator model (the demo's; also ``examples/insulators.yaml``)."""
    return _path("configs", "insulators.yaml")


def pbmc_counts() -> Path:
    """AnnData ``.h5ad`` with 700 PBMCs x 765 genes of raw UMI counts, ``obs['bulk_labels']``."""
    return _path("pbmc68k_counts.h5ad")


def rnaseq_coverage() -> Path:
    """bigWig of real RNA-seq read coverage over dm3 chr2R:7-8 Mb, on the shipped genome's record
    (slice coordinates 1,000,000-2,000,000): a signal track for coverage models."""
    return _path("rnaseq_chr2R_7M-8M.bw")
