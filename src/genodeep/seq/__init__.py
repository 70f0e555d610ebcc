"""Sequence encodings, k-mers, shuffles and simulation."""

from __future__ import annotations

from genodeep._lazy import lazy_getattr

_NAMES = {
    "ALPHABET": "genodeep.seq.encode",
    "encode": "genodeep.seq.encode",
    "one_hot": "genodeep.seq.encode",
    "one_hot_codes": "genodeep.seq.encode",
    "decode": "genodeep.seq.encode",
    "reverse_complement": "genodeep.seq.encode",
    "kmer_counts": "genodeep.seq.kmers",
    "kmer_names": "genodeep.seq.kmers",
    "dinucleotide_shuffle": "genodeep.seq.shuffle",
    "sample_background": "genodeep.seq.simulate",
    "simulate_motif_presence": "genodeep.seq.simulate",
    "simulate_grammar": "genodeep.seq.simulate",
    "write_simulation": "genodeep.seq.simulate",
}
__all__ = list(_NAMES)
__getattr__ = lazy_getattr(__name__, _NAMES)
