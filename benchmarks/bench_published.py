"""SpliceAI variant scoring speed against the ``spliceai`` 1.3.1 tool itself (issue 16).

Target ``spliceai_variants_per_s``: variants per second of ``genodeep score-variants --model spliceai``
(the imported five-model package; shared reference context, batched ALT windows) divided by the
``spliceai`` CLI's (TensorFlow, one window per variant and model) on the same VCF, genome and annotation
(scripts/compare_spliceai_cli.py's simulated case), timed in the same run on this CPU; goal >= 5x.

The peer runs through its own environment's CLI: ``$GENODEEP_SPLICEAI_CLI`` (default
``/tmp/pubvenv/bin/spliceai``). Without it, or without the imported package (``genodeep zoo import
spliceai``, which needs ``pip install spliceai==1.3.1 --no-deps``), the value is null with the reason.

Run: ``python benchmarks/bench_published.py`` (GENODEEP_BENCH_QUICK=1 for a smoke test).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from _common import result, size, write_results  # noqa: E402
from compare_spliceai_cli import CLI, make_case, run_cli  # noqa: E402

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
                pkg, case["genome"], case["vcf"], tmp / "ours.vcf", case["annotation"]
            )
            t_ours = time.perf_counter() - t0
            t_peer = run_cli(case, tmp / "peer.vcf")
            entry = result(
                t_peer / t_ours,
                TARGET,
                "x",
                peer="spliceai 1.3.1 CLI",
                n_variants=n,
                genodeep_variants_per_s=n / t_ours,
                spliceai_variants_per_s=n / t_peer,
                genodeep_s=t_ours,
                spliceai_s=t_peer,
            )
    write_results("published", {"spliceai_variants_per_s": entry})


if __name__ == "__main__":
    main()
