"""genodeep's SpliceAI scores against the ``spliceai`` tool itself, on a simulated genome and made-up genes.

Writes a random genome with a plus-strand and a minus-strand gene (exons with GT/AG boundaries), their
annotation in the ``spliceai -A`` format and a VCF of SNVs, insertions, deletions, a multi-allelic record,
an MNV and a variant outside any gene; runs the ``spliceai`` CLI (``$GENODEEP_SPLICEAI_CLI``, default
``/tmp/pubvenv/bin/spliceai``; the original, TensorFlow) and its scores at full precision (the tool's
own ``get_delta_scores``, run in its environment with a 6-decimal format instead of 2), and
``genodeep score-variants --model spliceai``; every score must agree within 1e-4 and every position
exactly::

    .venv/bin/python scripts/compare_spliceai_cli.py [--n-snv 40] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOL = 1e-4
CLI = os.environ.get("GENODEEP_SPLICEAI_CLI", "/tmp/pubvenv/bin/spliceai")

#: run in the spliceai environment: its get_delta_scores with 6 decimals instead of 2
_PRECISE = r"""
import inspect, sys, pysam
import spliceai.utils as u
src = inspect.getsource(u.get_delta_scores).replace(":.2f", ":.6f")
exec(src, u.__dict__)
ann = u.Annotator(sys.argv[1], sys.argv[2])
for rec in pysam.VariantFile(sys.argv[3]):
    for s in u.get_delta_scores(rec, ann, int(sys.argv[4]), int(sys.argv[5])):
        print(rec.chrom, rec.pos, rec.ref, s, sep="\t")
"""


def make_case(folder: Path, *, n_snv: int = 40, n_indel: int = 8, seed: int = 0) -> dict[str, Path]:
    """A simulated genome (one 60 kb chromosome), two genes and a VCF; returns their paths."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n = 60_000
    seq = rng.choice(list("ACGT"), size=n)
    genes = [("GENEP", "+", 12_000, 30_000), ("GENEM", "-", 32_000, 48_000)]
    lines = ["#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END"]
    sites = []
    for name, strand, tx0, tx1 in genes:
        bounds = np.sort(rng.choice(np.arange(tx0 + 300, tx1 - 300, 50), size=8, replace=False))
        starts = [tx0, *bounds[1::2]]
        ends = [*bounds[0::2], tx1]
        for e in ends[
            :-1
        ]:  # donor GT after the exon end (plus strand; CT before on the minus strand)
            seq[e : e + 2] = list("GT") if strand == "+" else list("CT")
        for s in starts[1:]:
            seq[s - 2 : s] = list("AG") if strand == "+" else list("AC")
        sites += [*starts, *ends]
        lines.append(
            f"{name}\tchr1\t{strand}\t{tx0}\t{tx1}\t{','.join(map(str, starts))},\t"
            f"{','.join(map(str, ends))},"
        )
    (folder / "genes.txt").write_text("\n".join(lines) + "\n")
    with open(folder / "genome.fa", "w") as fh:
        fh.write(">chr1\n")
        s = "".join(seq)
        fh.write("\n".join(s[i : i + 60] for i in range(0, n, 60)) + "\n")
    recs = []
    near = [p + d for p in sites for d in (-3, -1, 0, 1, 2, 5)]
    pos = sorted(
        set(rng.choice(near, size=n_snv // 2).tolist())
        | set(rng.integers(12_500, 47_500, size=n_snv // 2).tolist())
    )
    for p in pos:  # 1-based positions
        ref = seq[p - 1]
        alt = rng.choice([b for b in "ACGT" if b != ref])
        recs.append((p, ref, alt))
    for p in rng.integers(13_000, 47_000, size=n_indel):
        p = int(p)
        if rng.random() < 0.5:
            recs.append((p, seq[p - 1], seq[p - 1] + "".join(rng.choice(list("ACGT"), size=3))))
        else:
            recs.append((p, "".join(seq[p - 1 : p + 3]), seq[p - 1]))
    p = 20_000
    recs.append((p, seq[p - 1], ",".join(b for b in "ACGT" if b != seq[p - 1])))  # multi-allelic
    recs.append((p + 7, "".join(seq[p + 6 : p + 8]), "".join(rng.choice(list("ACGT"), size=2))))
    recs.append((5_000, seq[4_999], "A" if seq[4_999] != "A" else "C"))  # outside the genes
    recs.sort()
    with open(folder / "variants.vcf", "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=60000>\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, (p, r, a) in enumerate(recs):
            fh.write(f"chr1\t{p}\tv{i}\t{r}\t{a}\t.\t.\t.\n")
    return {
        "genome": folder / "genome.fa",
        "annotation": folder / "genes.txt",
        "vcf": folder / "variants.vcf",
        "n_variants": len(recs),
    }


def run_cli(case: dict, out: Path, *, distance: int = 50, mask: int = 0) -> float:
    """Run the spliceai CLI; return its wall time in seconds."""
    t = time.perf_counter()
    subprocess.run(
        [
            CLI,
            "-I",
            str(case["vcf"]),
            "-O",
            str(out),
            "-R",
            str(case["genome"]),
            "-A",
            str(case["annotation"]),
            "-D",
            str(distance),
            "-M",
            str(mask),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return time.perf_counter() - t


def precise_scores(case: dict, *, distance: int = 50, mask: int = 0) -> dict:
    """{(pos, ref, alt, gene): [DS..., DP...]} from the tool's own code at 6 decimals."""
    python = str(Path(CLI).with_name("python"))
    res = subprocess.run(
        [
            python,
            "-c",
            _PRECISE,
            str(case["genome"]),
            str(case["annotation"]),
            str(case["vcf"]),
            str(distance),
            str(mask),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    lines = [x.split("\t") for x in res.stdout.splitlines()]
    return _parse(f for f in lines if len(f) == 4)  # keras prints progress bars to stdout


def _parse(rows) -> dict:
    out = {}
    for _, pos, ref, entry in rows:
        f = entry.split("|")
        out[(int(pos), ref, f[0], f[1])] = f[2:]
    return out


def vcf_scores(path: Path) -> dict:
    rows = []
    for line in open(path):
        if line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        for item in f[7].split(";"):
            if item.startswith("SpliceAI="):
                rows += [(f[0], f[1], f[3], e) for e in item[9:].split(",")]
    return _parse(rows)


def compare(ours: dict, theirs: dict, tol: float) -> tuple[float, int, list[str]]:
    """(max |delta| of DS, number of scores compared, problems)."""
    problems, worst, n = [], 0.0, 0
    if set(ours) != set(theirs):
        problems.append(
            f"different alleles: only ours {set(ours) - set(theirs)}, only theirs "
            f"{set(theirs) - set(ours)}"
        )
    for k in set(ours) & set(theirs):
        a, b = ours[k], theirs[k]
        if a[0] == "." or b[0] == ".":
            if a != b:
                problems.append(f"{k}: {a} vs {b}")
            continue
        for x, y in zip(a[:4], b[:4]):
            worst = max(worst, abs(float(x) - float(y)))
            n += 1
        if a[4:] != b[4:]:
            problems.append(f"{k}: positions {a[4:]} vs {b[4:]}")
    if worst > tol:
        problems.append(f"max |delta| {worst:.3g} > {tol}")
    return worst, n, problems


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n-snv", type=int, default=40)
    p.add_argument("--keep", default=None, help="write the case and outputs here")
    p.add_argument("--mask", type=int, default=0, choices=(0, 1))
    args = p.parse_args()
    from genodeep.workflows.spliceai import score_spliceai_to_files

    folder = Path(args.keep or tempfile.mkdtemp(prefix="spliceai-cmp-"))
    case = make_case(folder, n_snv=args.n_snv)
    t_cli = run_cli(case, folder / "spliceai_cli.vcf", mask=args.mask)
    t = time.perf_counter()
    score_spliceai_to_files(
        "spliceai",
        case["genome"],
        case["vcf"],
        folder / "genodeep.vcf",
        case["annotation"],
        mask=bool(args.mask),
    )
    t_ours = time.perf_counter() - t
    table = score_spliceai_to_files(
        "spliceai",
        case["genome"],
        case["vcf"],
        folder / "genodeep.tsv",
        case["annotation"],
        mask=bool(args.mask),
    )
    ours_precise = {
        (r.pos, r.ref, r.alt, r.gene): [
            f"{r.DS_AG:.6f}",
            f"{r.DS_AL:.6f}",
            f"{r.DS_DG:.6f}",
            f"{r.DS_DL:.6f}",
            str(r.DP_AG),
            str(r.DP_AL),
            str(r.DP_DG),
            str(r.DP_DL),
        ]
        if r.DS_AG == r.DS_AG
        else ["."] * 8
        for r in table.itertuples()
        if r.gene and (r.DS_AG == r.DS_AG or r.status.startswith("multi"))
    }
    w1, n1, p1 = compare(ours_precise, precise_scores(case, mask=args.mask), TOL)
    w2, n2, p2 = compare(
        vcf_scores(folder / "genodeep.vcf"), vcf_scores(folder / "spliceai_cli.vcf"), 0.0100001
    )
    print(f"case: {case['n_variants']} VCF records in {folder}")
    print(
        f"full precision (spliceai's get_delta_scores, 6 decimals): {n1} scores, max |delta| = {w1:.3g}"
    )
    print(f"CLI VCF (2 decimals): {n2} scores, max |delta| = {w2:.3g}")
    print(f"time: spliceai CLI {t_cli:.1f} s, genodeep {t_ours:.1f} s")
    for msg in p1 + p2:
        print("PROBLEM:", msg)
    ok = not p1 and not [m for m in p2 if "max |delta|" not in m]
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
