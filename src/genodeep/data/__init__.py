"""Genomic windows, splits, labels and torch Datasets.

- intervals: :func:`resize`, :func:`tile_genome`, negatives (:func:`sample_gc_matched`,
  :func:`shuffled_negatives`, :func:`sample_negatives`)
- splits: :func:`split_by_chrom`, :func:`split_by_region`
- labels: :func:`multitask_labels`, :func:`overlap_labels`, :func:`tile_and_label`,
  :func:`labels_from_table`
- datasets: :class:`GenomeDataset`, :class:`SequenceDataset`, :func:`read_fasta_dataset`
"""

from __future__ import annotations

from genodeep.data.datasets import GenomeDataset, SequenceDataset, read_fasta_dataset
from genodeep.data.intervals import (
    resize,
    sample_gc_matched,
    sample_negatives,
    shuffled_negatives,
    tile_genome,
)
from genodeep.data.labels import (
    labels_from_table,
    multitask_labels,
    overlap_labels,
    tile_and_label,
)
from genodeep.data.splits import split_by_chrom, split_by_region

__all__ = [
    "resize",
    "tile_genome",
    "sample_gc_matched",
    "shuffled_negatives",
    "sample_negatives",
    "split_by_chrom",
    "split_by_region",
    "multitask_labels",
    "overlap_labels",
    "tile_and_label",
    "labels_from_table",
    "GenomeDataset",
    "SequenceDataset",
    "read_fasta_dataset",
]
