"""SpliceAI variant scoring speed against the ``spliceai`` 1.3.1 tool itself (issue 16).

Target ``spliceai_variants_per_s``: variants per second of ``genodeep score-variants --model spliceai``
(the imported five-model package run over position ranges: the reference computed once per cluster of
variants, each layer only where the scored outputs read it, each ALT allele only where it changes the
activations; genodeep.variants.splice) divided by the ``spliceai`` CLI's (TensorFlow, full windows, ref
and alt, one variant and model at a time) on the same VCF, genome and annotation
(scripts/compare_spliceai_cli.py's simulated case), timed in the same run on this CPU; goal >= 5x.

Both sides run as command-line tools in a subprocess, so both times include start-up (Python, the
framework, loading the five models); the in-process time of ``score_spliceai_to_files`` is reported
too. The two annotated VCFs are compared (2 decimals, as written): ``max_abs_delta_vcf``. The full
precision check against the tool is scripts/compare_spliceai_cli.py.

The peer runs through its own environment's CLI: ``$GENODEEP_SPLICEAI_CLI`` (default
``/tmp/pubvenv/bin/spliceai``). Without it, or without the imported package (``genodeep zoo import
spliceai``, which needs ``pip install spliceai==1.3.1 --no-deps``), the value is null with the reason.

Run: ``python benchmarks/bench_published.py`` (GENODEEP_BENCH_QUICK=1 for a smoke test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# as the genodeep CLI does: OpenMP threads that spin while they wait stall on shared cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from _common import result, size, write_results  # noqa: E402
from compare_spliceai_cli import CLI, compare, make_case, run_cli, vcf_scores  # noqa: E402

TARGET = 5.0


def _package(root: Path):
    """The imported SpliceAI package (in a scratch zoo), or (None, reason)."""
    from genodeep import zoo
    from genodeep.workflows.published import import_published

    try:
        import_published("spliceai", root=root, overwrite=True)
    except ImportError as err:
        return None, str(err)
    return zoo.load("spliceai", root=root), None


def _run_ours(case: dict, package: Path, out: Path) -> float:
    """``genodeep score-variants --model PACKAGE`` in a subprocess; its wall time in seconds."""
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "genodeep.cli",
            "score-variants",
            "--model",
            str(package),
            "--genome",
            str(case["genome"]),
            "--vcf",
            str(case["vcf"]),
            "--annotation",
            str(case["annotation"]),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t


def main() -> None:
    from genodeep.workflows.spliceai import score_spliceai_to_files

    n_snv = size(40, 6)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        case = make_case(tmp / "case", n_snv=n_snv, n_indel=size(8, 2))
        pkg, reason = _package(tmp / "zoo")
        n = case["n_variants"]
        if pkg is None:
            entry = result(None, TARGET, "x", peer="spliceai 1.3.1 CLI", reason=reason)
        elif not Path(CLI).exists():
            entry = result(
                None,
                TARGET,
                "x",
                peer="spliceai 1.3.1 CLI",
                reason=f"spliceai CLI not found at {CLI}; set GENODEEP_SPLICEAI_CLI",
            )
        else:
            t0 = time.perf_counter()
            score_spliceai_to_files(
                pkg, case["genome"], case["vcf"], tmp / "inproc.vcf", case["annotation"]
            )
            t_inproc = time.perf_counter() - t0
            t_ours = _run_ours(case, tmp / "zoo" / "spliceai", tmp / "ours.vcf")
            t_peer = run_cli(case, tmp / "peer.vcf")
            worst, n_scores, problems = compare(
                vcf_scores(tmp / "ours.vcf"), vcf_scores(tmp / "peer.vcf"), 0.0100001
            )
            entry = result(
                t_peer / t_ours,
                TARGET,
                "x",
                peer="spliceai 1.3.1 CLI",
                n_variants=n,
                genodeep_variants_per_s=n / t_ours,
                spliceai_variants_per_s=n / t_peer,
                genodeep_s=t_ours,
                genodeep_in_process_s=t_inproc,
                spliceai_s=t_peer,
                scores_compared=n_scores,
                max_abs_delta_vcf=worst,
                problems=problems,
            )
    write_results("published", {"spliceai_variants_per_s": entry})


if __name__ == "__main__":
    main()
