"""genodeep: deep learning for genomics, from genomic files to biological insight.

The public API is flat and curated here; heavy modules are imported only when first used::

    import genodeep as gd
    X = gd.one_hot(["ACGT", "GGCA"])          # (2, 4, 4)
    genome = gd.Genome("genome.fa.gz")
"""

from __future__ import annotations

import importlib
import os

# numba's OpenMP layer makes modisco-lite refuse to fork and fall back to a 10x slower in-process path;
# the workqueue layer is safe for every kernel genodeep compiles. A user's own setting wins.
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

from genodeep._version import __version__

# public name -> module that defines it
_API: dict[str, str] = {
    # errors and shared helpers
    "InputFileError": "genodeep._validate",
    "predict": "genodeep._batching",
    # sequences
    "one_hot": "genodeep.seq.encode",
    "decode": "genodeep.seq.encode",
    "reverse_complement": "genodeep.seq.encode",
    "kmer_counts": "genodeep.seq.kmers",
    "dinucleotide_shuffle": "genodeep.seq.shuffle",
    "simulate_grammar": "genodeep.seq.simulate",
    "simulate_motif_presence": "genodeep.seq.simulate",
    # files
    "Genome": "genodeep.io.fasta",
    "read_fasta": "genodeep.io.fasta",
    "write_fasta": "genodeep.io.fasta",
    "read_bed": "genodeep.io.bed",
    "write_bed": "genodeep.io.bed",
    "read_signal": "genodeep.io.signal",
    "wig_to_bigwig": "genodeep.io.signal",
    "read_motifs": "genodeep.io.motifs",
    "write_meme": "genodeep.io.meme",
    # windows, labels, datasets
    "tile_and_label": "genodeep.data.labels",
    "multitask_labels": "genodeep.data.labels",
    "sample_negatives": "genodeep.data.intervals",
    "split_by_chrom": "genodeep.data.splits",
    "split_by_region": "genodeep.data.splits",
    "GenomeDataset": "genodeep.data.datasets",
    "SequenceDataset": "genodeep.data.datasets",
    # models and training
    "build_model": "genodeep.models",
    "MODELS": "genodeep.models",
    "fit": "genodeep.train.fit",
    "evaluate_predictions": "genodeep.train.metrics",
    "train_from_config": "genodeep.workflows.train",
    "tune": "genodeep.workflows.tune",
    # motifs
    "scan": "genodeep.motifs.scan",
    "compare": "genodeep.motifs.compare",
    "save_logo": "genodeep.motifs.logo",
    # single cell
    "read_counts": "genodeep.io.counts",
    "denoise": "genodeep.sc.api",
    "embed": "genodeep.sc.api",
    "generate": "genodeep.sc.api",
    # multimodal, transfer, graphs
    "MultimodalModel": "genodeep.models.multimodal",
    "GCN": "genodeep.models.gcn",
    "read_graph": "genodeep.io.graph",
    "fine_tune": "genodeep.train.transfer",
    # interpretation
    "attribute": "genodeep.interpret.api",
    "saturation_mutagenesis": "genodeep.interpret.ism",
    "saliency": "genodeep.interpret.gradients",
    "input_x_gradient": "genodeep.interpret.gradients",
    "integrated_gradients": "genodeep.interpret.gradients",
    "deep_lift_shap": "genodeep.interpret.deeplift",
    "discover_motifs": "genodeep.motifs.discover",
    "filters_to_pwms": "genodeep.interpret.filters",
    # variants
    "score_variants": "genodeep.workflows.variants",
    "variant_attributions": "genodeep.variants",
    "effect_concentration": "genodeep.variants",
    "score_profile_variants": "genodeep.variants.profile",
    # sequence design
    "design": "genodeep.seqdesign.api",
    "Constraints": "genodeep.seqdesign.constraints",
    # signal tracks
    "load_profile_data": "genodeep.data.profile",
    "write_footprints": "genodeep.data.footprint_files",
    "predict_tracks": "genodeep.workflows.tracks",
    "attribution_tracks": "genodeep.workflows.tracks",
    "profile_metrics": "genodeep.train.profile_metrics",
    "BigWigWriter": "genodeep.io.bigwig_writer",
    # sharing
    "load": "genodeep.zoo.resolve",
    "save_package": "genodeep.zoo.package",
    "export_onnx": "genodeep.zoo.export",
    "export_torchscript": "genodeep.zoo.export",
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
