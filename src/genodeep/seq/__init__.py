"""Sequence encodings, k-mers, shuffles and simulation."""

from __future__ import annotations

from genodeep._lazy import lazy_getattr

# The encoding functions are imported eagerly: the submodule ``encode`` shares its name with the
# function ``encode``, and an eager import keeps the package attribute bound to the function.
from genodeep.seq.encode import (
    ALPHABET,
    codes_from_one_hot,
    decode,
    decode_codes,
    encode,
    one_hot,
    one_hot_codes,
    reverse_complement,
)

_NAMES = {
    "kmer_counts": "genodeep.seq.kmers",
    "kmer_names": "genodeep.seq.kmers",
    "dinucleotide_shuffle": "genodeep.seq.shuffle",
    "sample_background": "genodeep.seq.simulate",
    "simulate_motif_presence": "genodeep.seq.simulate",
    "simulate_grammar": "genodeep.seq.simulate",
    "write_simulation": "genodeep.seq.simulate",
}
__all__ = [
    "ALPHABET",
    "codes_from_one_hot",
    "decode",
    "decode_codes",
    "encode",
    "one_hot",
    "one_hot_codes",
    "reverse_complement",
    *_NAMES,
]
__getattr__ = lazy_getattr(__name__, _NAMES)
