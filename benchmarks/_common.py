"""Shared harness of the benchmark scripts: alternating timings, a printed table, a JSON of results.

Every ``benchmarks/bench_NAME.py`` times genodeep and a named peer in turn (A B A B ...), prints a
table and writes ``benchmarks/results/bench_NAME.json`` mapping each target's name to
``{"value", "target", "unit", "higher_is_better", "peer"}`` (``"value": null`` and a ``"reason"``
when the peer is missing), as described in docs/performance.md.

Set ``GENODEEP_BENCH_QUICK=1`` for a smoke test with tiny sizes (numbers then mean nothing).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

torch.set_num_threads(int(os.environ.get("GENODEEP_BENCH_THREADS", "2")))

QUICK = os.environ.get("GENODEEP_BENCH_QUICK", "") not in ("", "0")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def size(full: int, quick: int) -> int:
    """``quick`` under ``GENODEEP_BENCH_QUICK=1``, else ``full``."""
    return quick if QUICK else full


def _stats(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def time_it(fn: Callable[[], object], rounds: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median/min/max seconds of ``fn()`` over ``rounds`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return _stats(times)


def compare(
    name: str,
    ours: Callable[[], object],
    peer: Callable[[], object] | None,
    rounds: int = 5,
    warmup: int = 1,
) -> dict:
    """Time ``ours`` and ``peer`` alternately (A B A B ...), ``rounds`` times each.

    Returns
    -------
    dict with ``name``, ``ours`` and ``peer`` ({median, min, max} seconds; ``peer`` is None when
    there is no peer) and ``speedup`` = peer median / ours median (None without a peer).
    """
    for _ in range(warmup):
        ours()
        if peer is not None:
            peer()
    t_ours: list[float] = []
    t_peer: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
        if peer is not None:
            t0 = time.perf_counter()
            peer()
            t_peer.append(time.perf_counter() - t0)
    s_ours = _stats(t_ours)
    s_peer = _stats(t_peer) if peer is not None else None
    speedup = s_peer["median"] / s_ours["median"] if s_peer is not None else None
    return {"name": name, "ours": s_ours, "peer": s_peer, "speedup": speedup, "rounds": rounds}


def result(
    value: float | None,
    target: float,
    unit: str,
    *,
    higher_is_better: bool = True,
    peer: str,
    reason: str | None = None,
    **details: object,
) -> dict:
    """One entry of a results JSON (``reason`` is required when ``value`` is None)."""
    entry: dict = {
        "value": None if value is None else float(value),
        "target": target,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "peer": peer,
    }
    if value is None:
        entry["reason"] = reason or "peer not available"
    elif reason:
        entry["note"] = reason
    if details:
        entry["details"] = details
    return entry


def met(entry: dict) -> bool | None:
    """Whether an entry meets its target (None when it has no value)."""
    if entry["value"] is None:
        return None
    if entry["higher_is_better"]:
        return entry["value"] >= entry["target"]
    return entry["value"] <= entry["target"]


def print_table(bench_name: str, results: dict[str, dict]) -> None:
    """Print the targets of one benchmark as a fixed-width table."""
    rows = [("target", "value", "goal", "unit", "met", "peer")]
    for name, e in results.items():
        value = "n/a" if e["value"] is None else f"{e['value']:.3g}"
        goal = ("≥ " if e["higher_is_better"] else "≤ ") + f"{e['target']:g}"
        ok = met(e)
        rows.append(
            (
                name,
                value,
                goal,
                e["unit"],
                "-" if ok is None else ("yes" if ok else "NO"),
                e["peer"],
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    title = f"bench_{bench_name}" + (" (QUICK: sizes shrunk, numbers meaningless)" if QUICK else "")
    print(f"\n{title}")
    for j, r in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        if j == 0:
            print("  ".join("-" * w for w in widths))
        elif results[r[0]]["value"] is None:
            print(f"    reason: {results[r[0]]['reason']}")


def print_timings(timings: list[dict], unit_label: str = "ms") -> None:
    """Print median/min/max of :func:`compare` results (ours vs peer)."""
    print("\ntimings (median [min-max] over rounds, A B A B order)")
    for t in timings:
        o = t["ours"]
        line = f"  {t['name']}: genodeep {_fmt(o)}"
        if t["peer"] is not None:
            line += f" | peer {_fmt(t['peer'])} | speed-up {t['speedup']:.2f}x"
        print(line)


def _fmt(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e3:.2f} ms [{s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f}]"


def write_results(bench_name: str, results: dict[str, dict]) -> Path:
    """Write ``benchmarks/results/bench_NAME.json`` and print the table; returns the path.

    A QUICK run writes ``bench_NAME.quick.json`` so it never overwrites a full run's numbers.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = ".quick.json" if QUICK else ".json"
    path = RESULTS_DIR / f"bench_{bench_name}{suffix}"
    payload = dict(results)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
    print_table(bench_name, results)
    print(
        f"\n(torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; written to {path})"
    )
    return path
