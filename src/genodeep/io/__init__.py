"""Readers and writers for genomic file formats; each gives clear errors naming file and line."""

from __future__ import annotations

from genodeep._lazy import lazy_getattr

_NAMES = {
    "Genome": "genodeep.io.fasta",
    "read_fasta": "genodeep.io.fasta",
    "write_fasta": "genodeep.io.fasta",
    "read_bed": "genodeep.io.bed",
    "write_bed": "genodeep.io.bed",
    "read_signal": "genodeep.io.signal",
    "SignalTrack": "genodeep.io.signal",
    "wig_to_bigwig": "genodeep.io.signal",
    "BigWigWriter": "genodeep.io.bigwig_writer",
    "read_bam": "genodeep.io.reads",
    "read_fragments": "genodeep.io.reads",
    "open_track": "genodeep.io.reads",
    "read_chrom_sizes": "genodeep.io.signal",
    "read_motifs": "genodeep.io.motifs",
    "select_motifs": "genodeep.io.motifs",
    "read_meme": "genodeep.io.meme",
    "write_meme": "genodeep.io.meme",
    "read_jaspar": "genodeep.io.jaspar",
    "write_jaspar": "genodeep.io.jaspar",
    "read_pfm": "genodeep.io.jaspar",
    "counts_to_probabilities": "genodeep.io._motif_common",
    "background_frequencies": "genodeep.io._motif_common",
    "read_counts": "genodeep.io.counts",
    "write_h5ad": "genodeep.io.counts",
    "read_graph": "genodeep.io.graph",
    "iter_vcf": "genodeep.io.vcf",
    "read_vcf_header": "genodeep.io.vcf",
    "Variant": "genodeep.io.vcf",
}
__all__ = list(_NAMES)
__getattr__ = lazy_getattr(__name__, _NAMES)
