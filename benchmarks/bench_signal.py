"""Genome-wide prediction of a profile model to bigWig: speed against the bare forward pass, and memory
against the genome's size.

Targets (docs/performance.md):
- ``tracks_vs_forward``: windows/s of ``genodeep.workflows.tracks.predict_tracks`` over one chromosome
  (load the package, read the genome, one-hot, forward, link, write bigWig) / windows/s of the bare
  forward pass of the same model on as many one-hot windows already in memory, same batch size and
  threads, alternating 3 rounds each after a warm-up, medians (>= 0.9);
- ``memory_100mb_vs_10mb``: peak resident memory (VmHWM: all of it, the genome cache's mapped pages
  included) of the whole prediction on a 100 Mb simulated genome / on a 10 Mb one (<= 1.10, flat). Each run is its own process, so each peak is its own; both genomes'
  caches are built beforehand (building a cache is a one-time step, not prediction).

Model: a BPNet with random weights (prediction cost does not depend on the weights), input 2114 bp,
output 1000 bp, one track; 32 filters and 6 dilated layers for the speed run, and a small one (8
filters, 2 layers) for the memory runs, so that 100 Mb (100k windows) runs in a few minutes on 2 cores.

Run: ``python benchmarks/bench_signal.py`` (``GENODEEP_BENCH_QUICK=1``: 1 and 3 Mb, tiny model).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from _common import QUICK, result, write_results

from genodeep.io import Genome
from genodeep.models import build_model
from genodeep.models.spec import ModelSpec
from genodeep.zoo import save_package

HERE = Path(__file__).resolve().parent
INPUT, OUTPUT = 2114, 1000


def _genome(path: Path, size: int, n_chroms: int = 4, seed: int = 0) -> Path:
    """A random genome of ``size`` bases in ``n_chroms`` chromosomes, written line by line."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        for c in range(n_chroms):
            fh.write(f">chr{c + 1}\n".encode())
            left = size // n_chroms
            while left:
                n = min(left, 1 << 20)
                line = letters[rng.integers(0, 4, n)]
                fh.write(b"\n".join(line[i : i + 80].tobytes() for i in range(0, n, 80)) + b"\n")
                left -= n
    tmp.replace(path)
    return path


def _package(path: Path, filters: int, n_layers: int) -> Path:
    if path.exists():
        return path
    torch.manual_seed(0)
    model = build_model("bpnet", filters=filters, n_layers=n_layers, trim=(INPUT - OUTPUT) // 2)
    spec = ModelSpec(input_length=INPUT, task_names=["signal"], kind="profile", loss="bpnet",
                     model_name="bpnet", extra={"output_length": OUTPUT, "bin_size": 1})  # fmt: skip
    save_package(model, path, data_spec=spec)
    return path


class _PeakAnon:
    """Peak of ``RssAnon`` (anonymous resident memory, i.e. not file-backed pages) sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status("RssAnon"))
            time.sleep(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _bare_rate(package: str, n: int, batch: int) -> float:
    """Windows/s of the bare forward pass over ``n`` one-hot windows already in memory."""
    from genodeep.zoo import load

    net = load(package).model.eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (n, INPUT)), 4).transpose(1, 2)
    x = x.float().contiguous()
    with torch.inference_mode():
        net(x[:batch])
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            net(x[i : i + batch])
        return n / (time.perf_counter() - t0)


def child(genome: str, package: str, out: str, batch: int, speed: int) -> None:
    """One measured run in its own process. Memory mode (``speed=0``): predict the whole genome and
    report the peaks. Speed mode: predict chr1 and run the bare bound on as many windows, alternating,
    ``speed`` rounds each (medians)."""
    from genodeep.workflows.tracks import predict_tracks

    torch.set_num_threads(int(os.environ.get("GENODEEP_BENCH_THREADS", "2")))
    sizes = Genome(genome, verbose=False).chrom_sizes
    if speed:
        n = -(-sizes["chr1"] // OUTPUT)
        rates, bare = [], []
        predict_tracks(package, genome, out, chroms=["chr1"], batch_size=batch, verbose=False)
        _bare_rate(
            package, min(n, 256), batch
        )  # warm-up of both (page cache, kernels), not counted
        for _ in range(speed):
            t0 = time.perf_counter()
            predict_tracks(package, genome, out, chroms=["chr1"], batch_size=batch, verbose=False)
            rates.append(n / (time.perf_counter() - t0))
            bare.append(_bare_rate(package, n, batch))
        print(json.dumps({"windows": n, "rate": float(np.median(rates)),
                          "rate_bare": float(np.median(bare)), "rounds": speed}))  # fmt: skip
        return
    n_windows = sum(-(-s // OUTPUT) for s in sizes.values())
    with _PeakAnon() as anon:
        t0 = time.perf_counter()
        predict_tracks(package, genome, out, batch_size=batch, verbose=False)
        seconds = time.perf_counter() - t0
    print(json.dumps({"windows": n_windows, "seconds": seconds, "rate": n_windows / seconds,
                      "vmhwm": _status("VmHWM"), "anon_peak": anon.peak}))  # fmt: skip


def _run_child(genome: Path, package: Path, out: Path, batch: int, speed: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(genome), str(package), str(out), str(batch),
           str(speed)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    work = Path(tempfile.gettempdir()) / "genodeep_bench_signal"
    work.mkdir(exist_ok=True)
    small_mb, big_mb = (1, 3) if QUICK else (10, 100)
    genomes = {}
    for mb in (small_mb, big_mb):
        genomes[mb] = _genome(work / f"random_{mb}mb.fa", mb * 1_000_000)
        Genome(genomes[mb], verbose=False)  # build the cache outside the measured runs
    speed_pkg = _package(
        work / ("pkg_tiny" if QUICK else "pkg_speed"), *((8, 2) if QUICK else (32, 6))
    )
    mem_pkg = _package(work / "pkg_tiny", 8, 2)
    batch = 64
    speed = _run_child(genomes[small_mb], speed_pkg, work / "speed.bw", batch, 3)
    ratio = speed["rate"] / speed["rate_bare"]
    mem = {mb: _run_child(genomes[mb], mem_pkg, work / f"mem_{mb}.bw", batch, 0)
           for mb in (small_mb, big_mb)}  # fmt: skip
    growth = mem[big_mb]["vmhwm"] / mem[small_mb]["vmhwm"]
    mib = 1 << 20
    results = {
        "tracks_vs_forward": result(
            ratio, 0.9, "x the bare forward pass (windows/s)",
            peer="the same model's forward pass on one-hot windows in memory, same batch and threads",
            windows=speed["windows"], windows_per_s=speed["rate"], bare_windows_per_s=speed["rate_bare"],
            rounds=speed["rounds"], model="bpnet 32 filters x 6 layers, 2114 -> 1000 bp",
            what="chr1 of the small genome, process start-up excluded, package loading included",
        ),
        "memory_100mb_vs_10mb": result(
            growth, 1.10, f"peak RSS on {big_mb} Mb / on {small_mb} Mb", higher_is_better=False,
            peer=f"the same prediction on a {small_mb} Mb genome",
            vmhwm_mib={str(mb): m["vmhwm"] / mib for mb, m in mem.items()},
            anon_peak_mib={str(mb): m["anon_peak"] / mib for mb, m in mem.items()},
            seconds={str(mb): m["seconds"] for mb, m in mem.items()},
            windows={str(mb): m["windows"] for mb, m in mem.items()},
        ),
    }  # fmt: skip
    write_results("signal", results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        g, p, o, b, n = sys.argv[2:7]
        child(g, p, o, int(b), int(n))
    else:
        main()
