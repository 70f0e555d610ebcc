"""Build ``src/genodeep/_data/rnaseq_chr2R_7M-8M.bw`` from the public RNA-seq coverage wiggle.

The source is augustus-doc's ``tutorial/data/chr2R.7M-8M.wig`` (RNA-seq read coverage over dm3
chr2R:7,000,000-8,000,000). Its coordinates are moved onto the shipped genome slice
(``dm3_chr2R_6M-14M.fa.gz``, one record ``chr2R_6M_14M`` starting at dm3 chr2R:6,000,000), so the
track and the shipped genome agree.

Run: ``python scripts/make_rnaseq_track.py WIG [OUT]``.
"""

from __future__ import annotations

import sys

import numpy as np

from genodeep import example_data
from genodeep.io import Genome, read_signal
from genodeep.io.bigwig_writer import BigWigWriter

SLICE_START = 6_000_000


def main(wig: str, out: str) -> None:
    genome = Genome(example_data.genome())
    (chrom,) = genome.chrom_sizes
    track = read_signal(wig)
    (src,) = track.chrom_sizes
    end = track.chrom_sizes[src]
    values = track.values(src, [0], end)[0]
    first = int(np.flatnonzero(values)[0])
    with BigWigWriter(out, genome.chrom_sizes) as bw:
        bw.add(chrom, first - SLICE_START, values[first:])
    print(f"wrote {out}: {chrom}:{first - SLICE_START:,}-{end - SLICE_START:,}")


if __name__ == "__main__":
    main(
        sys.argv[1],
        sys.argv[2] if len(sys.argv) > 2 else "src/genodeep/_data/rnaseq_chr2R_7M-8M.bw",
    )
