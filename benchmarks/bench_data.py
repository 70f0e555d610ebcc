"""Data-layer speed against tangermeme 1.6 (issue 2).

Targets (docs/performance.md):

- ``onehot_strings``: one-hot of 10,000 x 1 kb Python strings through ``genodeep.seq.one_hot`` vs
  tangermeme's batched kernel ``tangermeme.utils._one_hot_encode_rows`` (the one ``extract_loci``
  uses), same strings, same int8 (N, 4, L) output; target >= 1.0x.
- ``genome_windows``: 10,000 random 1 kb windows + one-hot from a random 100 Mb FASTA (4
  chromosomes, 60 bp lines) through ``Genome.one_hot`` (cache built before timing) vs
  ``tangermeme.io.extract_loci`` on the same loci (its defaults, which read the FASTA through a
  memory map and a numba kernel); target >= 1.2x.
- ``dinucleotide_shuffle``: 20 shuffles of 1 kb sequences (DeepLIFT references) vs
  ``tangermeme.ersatz.dinucleotide_shuffle``; reported as ms per sequence, target >= 1.0x.

Run: ``python benchmarks/bench_data.py`` (GENODEEP_BENCH_QUICK=1 for a smoke test).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import compare, print_timings, result, size, write_results  # noqa: E402

from genodeep.io import Genome  # noqa: E402
from genodeep.seq import dinucleotide_shuffle, one_hot  # noqa: E402

ROUNDS = 5


def _peer(module: str):
    try:
        return __import__(module, fromlist=["_"]), None
    except ImportError as err:
        return None, f"{module} is not installed ({err}); pip install tangermeme==1.6 to compare"


def random_strings(n: int, length: int, rng: np.random.Generator, with_n: bool = True) -> list[str]:
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    arr = letters[rng.integers(0, 4, size=(n, length))]
    if with_n:  # a few N, as in real sequence
        arr[rng.integers(0, n, size=n // 10), rng.integers(0, length, size=n // 10)] = ord("N")
    return [row.tobytes().decode("ascii") for row in arr]


def write_random_fasta(
    path: Path, sizes: dict[str, int], rng: np.random.Generator, width: int = 60
):
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as fh:
        for name, n in sizes.items():
            fh.write(f">{name}\n".encode())
            seq = letters[rng.integers(0, 4, size=n)]
            full = (n // width) * width
            body = seq[:full].reshape(-1, width)
            lines = np.concatenate([body, np.full((body.shape[0], 1), 10, np.uint8)], axis=1)
            fh.write(lines.tobytes())
            if full < n:
                fh.write(seq[full:].tobytes() + b"\n")


def bench_onehot(rng: np.random.Generator, timings: list, results: dict) -> None:
    n, length = size(10_000, 500), size(1_000, 200)
    seqs = random_strings(n, length, rng)
    utils, reason = _peer("tangermeme.utils")
    peer = (lambda: utils._one_hot_encode_rows(seqs)) if utils else None
    if utils:
        assert torch.equal(one_hot(seqs), torch.from_numpy(utils._one_hot_encode_rows(seqs)))
    t = compare(f"one-hot {n} x {length} strings", lambda: one_hot(seqs), peer, rounds=ROUNDS)
    timings.append(t)
    bases = n * length
    results["onehot_strings"] = result(
        t["speedup"],
        1.0,
        "x (peer time / genodeep time)",
        peer="tangermeme 1.6 utils._one_hot_encode_rows (batched numba kernel)",
        reason=reason,
        genodeep_gbases_per_s=bases / t["ours"]["median"] / 1e9,
        peer_gbases_per_s=None if t["peer"] is None else bases / t["peer"]["median"] / 1e9,
        n=n,
        length=length,
    )


def bench_genome(rng: np.random.Generator, timings: list, results: dict, tmp: Path) -> None:
    chrom_len, n, length = size(25_000_000, 250_000), size(10_000, 500), size(1_000, 200)
    sizes = {f"chr{i + 1}": chrom_len for i in range(4)}
    fasta = tmp / "genome.fa"
    write_random_fasta(fasta, sizes, rng)
    t0 = time.perf_counter()
    genome = Genome(fasta, verbose=False)
    build_s = time.perf_counter() - t0
    names = list(sizes)
    chroms = [names[i] for i in rng.integers(0, len(names), size=n)]
    starts = rng.integers(0, chrom_len - length, size=n)
    io, reason = _peer("tangermeme.io")
    peer = None
    if io:
        import pandas as pd

        loci = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + length})

        def peer():
            return io.extract_loci(loci, str(fasta), in_window=length, verbose=False)

        X_peer = peer()  # builds pyfaidx's .fai before timing, checks equality
        assert torch.equal(genome.one_hot(chroms, starts, length), X_peer.to(torch.int8))
    t = compare(
        f"{n} windows x {length} bp from {4 * chrom_len / 1e6:g} Mb FASTA",
        lambda: genome.one_hot(chroms, starts, length),
        peer,
        rounds=ROUNDS,
    )
    timings.append(t)
    results["genome_windows"] = result(
        t["speedup"],
        1.2,
        "x (peer time / genodeep time)",
        peer="tangermeme 1.6 io.extract_loci (defaults)",
        reason=reason,
        genodeep_windows_per_s=n / t["ours"]["median"],
        peer_windows_per_s=None if t["peer"] is None else n / t["peer"]["median"],
        cache_build_s=build_s,
        n=n,
        length=length,
    )
    # not a target: opening the genome again (cache hit) and one batch, as a first call would pay
    t0 = time.perf_counter()
    Genome(fasta, verbose=False).one_hot(chroms, starts, length)
    print(
        f"\nGenome open (cache hit) + first batch: {(time.perf_counter() - t0) * 1e3:.1f} ms; "
        f"cache build for {4 * chrom_len / 1e6:g} Mb: {build_s:.2f} s"
    )


def bench_shuffle(rng: np.random.Generator, timings: list, results: dict) -> None:
    n, length, n_shuf = size(100, 10), 1_000, 20
    X = one_hot(random_strings(n, length, rng, with_n=False))
    ersatz, reason = _peer("tangermeme.ersatz")
    Xf = X.float()
    peer = (lambda: ersatz.dinucleotide_shuffle(Xf, n=n_shuf, random_state=0)) if ersatz else None
    t = compare(
        f"dinucleotide shuffle {n} x {length} bp, {n_shuf} each",
        lambda: dinucleotide_shuffle(X, n=n_shuf, random_state=0),
        peer,
        rounds=ROUNDS,
    )
    timings.append(t)
    results["dinucleotide_shuffle"] = result(
        t["speedup"],
        1.0,
        "x (peer time / genodeep time)",
        peer="tangermeme 1.6 ersatz.dinucleotide_shuffle",
        reason=reason,
        genodeep_ms_per_seq=t["ours"]["median"] / n * 1e3,
        peer_ms_per_seq=None if t["peer"] is None else t["peer"]["median"] / n * 1e3,
        shuffles_per_seq=n_shuf,
        length=length,
    )


def main() -> None:
    rng = np.random.default_rng(0)
    timings: list = []
    results: dict = {}
    bench_onehot(rng, timings, results)
    with tempfile.TemporaryDirectory(prefix="genodeep-bench-") as tmp:
        bench_genome(rng, timings, results, Path(tmp))
    bench_shuffle(rng, timings, results)
    print_timings(timings)
    write_results("data", results)


if __name__ == "__main__":
    main()
