"""Variant scoring throughput vs the pure forward-pass bound of the same ref + alt windows.

Target (issue 5): genodeep's ``score_variants`` (VCF parsing, REF checks, window building, one-hot,
forward of ref and alt, effect table) reaches >= 0.9x the variants/s of the bare forward pass over
pre-built ref + alt one-hot tensors, same Basset-like model (performance.md), same batch size.

Run: ``python benchmarks/bench_variants.py`` (``GENODEEP_BENCH_QUICK=1`` for a smoke test).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from _common import compare, print_timings, result, size, write_results

from genodeep._batching import predict
from genodeep.io.fasta import Genome
from genodeep.models import build_model
from genodeep.seq.encode import one_hot_codes
from genodeep.workflows.variants import score_variants

N_VARIANTS = size(1500, 64)
LENGTH = 600
BATCH = 64
ROUNDS = size(5, 2)


def main() -> None:
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), 2_000_000).tobytes().decode()
    (tmp / "g.fa").write_text(
        ">chr1\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n"
    )
    genome = Genome(tmp / "g.fa", cache_dir=tmp / "cache")
    pos = np.sort(rng.choice(np.arange(1000, len(seq) - 1000), N_VARIANTS, replace=False))
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for p in pos:
        ref = seq[p]
        alt = "ACGT"[("ACGT".index(ref) + 1 + rng.integers(3)) % 4]
        lines.append(f"chr1\t{p + 1}\t.\t{ref}\t{alt}\t.\t.\t.")
    vcf = tmp / "v.vcf"
    vcf.write_text("\n".join(lines) + "\n")

    model = build_model("basset", n_tasks=164, input_length=LENGTH).eval()
    c = LENGTH // 2
    ref_codes = genome.window_codes(["chr1"] * len(pos), pos - c, LENGTH)
    alt_codes = ref_codes.copy()
    for i in range(len(pos)):
        alt_codes[i, c] = "ACGT".index(lines[2 + i].split("\t")[4])
    X = one_hot_codes(np.concatenate([ref_codes, alt_codes]))

    def ours():
        return score_variants(
            model, genome, vcf, batch_size=BATCH, both_strands=False, device="cpu"
        )

    def bound():
        return predict(model, X, batch_size=BATCH, device="cpu")

    with torch.inference_mode():
        t = compare("score ref+alt", ours, bound, rounds=ROUNDS)
    print_timings([t])
    ours_vps = N_VARIANTS / t["ours"]["median"]
    bound_vps = N_VARIANTS / t["peer"]["median"]
    write_results(
        "variants",
        {
            "variants_per_s_vs_forward_bound": result(
                ours_vps / bound_vps,
                0.9,
                "x of bound",
                peer="bare forward pass of the same ref+alt one-hot windows",
                ours_variants_per_s=ours_vps,
                bound_variants_per_s=bound_vps,
                n_variants=N_VARIANTS,
                batch_size=BATCH,
            )
        },
    )


if __name__ == "__main__":
    main()
