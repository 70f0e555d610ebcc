"""Development tasks for checking defaults on several kinds of signal (motif presence, positional sites,
regression): each builder writes FASTA + label files into a folder and returns a ``data:`` config section.

- ``splice``: fly splice sites from real RNA-seq-supported introns (dm3 chr2R:7-8 Mb, ``../shared/data``):
  windows centred on a GT (donor task) or AG (acceptor task) dinucleotide in transcript orientation;
  positives are annotated sites, decoys the same dinucleotide elsewhere in the region (1:20); held out by
  region (valid chr2R:7.70-7.85 Mb, test 7.85-8.0 Mb).
- ``positional``: simulated sites at a fixed offset (rare positives, 1:20) against the same motif elsewhere.

Nothing in genodeep knows these tasks: they are data a user could hand over.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
INTRONS = SHARED / "dm3" / "rnaseq_introns_chr2R_7M-8M.gff"
CHR2R = SHARED / "dm3" / "chr2R.fa.gz"
_RC = str.maketrans("ACGTN", "TGCAN")


def _read_chr2r() -> str:
    with gzip.open(CHR2R, "rt") as fh:
        return "".join(line.strip() for line in fh if not line.startswith(">")).upper()


def _rc(s: str) -> str:
    return s.translate(_RC)[::-1]


def _sites(seq: str) -> dict[str, set[tuple[int, str]]]:
    """Annotated (position of the dinucleotide's first base, strand) per site type, 0-based."""
    out: dict[str, set] = {"donor": set(), "acceptor": set()}
    for line in INTRONS.read_text().splitlines():
        f = line.split("\t")
        start, end = int(f[3]) - 1, int(f[4])  # 0-based half-open intron
        first, last = seq[start : start + 2], seq[end - 2 : end]
        if first == "GT" and last == "AG":
            out["donor"].add((start, "+"))
            out["acceptor"].add((end - 2, "+"))
        elif first == "CT" and last == "AC":
            out["donor"].add((end - 2, "-"))
            out["acceptor"].add((start, "-"))
    return out


def _window(seq: str, pos: int, strand: str, width: int) -> str:
    """``width`` bases centred on the dinucleotide at ``pos`` (its first base at width // 2), oriented."""
    if strand == "+":
        s = pos - width // 2
        return seq[s : s + width]
    s = (
        pos + 2 - (width - width // 2)
    )  # mirror: the dinucleotide's first base lands at width // 2 after RC
    return _rc(seq[s : s + width])


def splice(
    out: Path, *, site: str = "donor", width: int = 200, decoys: int = 20, seed: int = 0
) -> dict:
    """Write ``{train,valid,test}.fa`` + ``.tsv`` labels for one splice-site type; return the data section."""
    seq = _read_chr2r()
    sites = _sites(seq)[site]
    motif = "GT" if site == "donor" else "AG"
    lo, hi = 7_000_000 + width, 8_000_000 - width
    plus = [i for i in range(lo, hi) if seq[i : i + 2] == motif]
    minus = [i for i in range(lo, hi) if seq[i : i + 2] == _rc(motif)]
    candidates = [(i, "+") for i in plus] + [(i, "-") for i in minus]
    positives = [s for s in sites if lo <= s[0] < hi]
    rng = np.random.default_rng(seed)
    negatives = [c for c in candidates if c not in sites]
    pick = rng.choice(
        len(negatives), size=min(len(negatives), decoys * len(positives)), replace=False
    )
    rows = [(p, 1) for p in positives] + [(negatives[i], 0) for i in pick]
    out.mkdir(parents=True, exist_ok=True)
    parts = {"train": [], "valid": [], "test": []}
    for (pos, strand), label in rows:
        part = "test" if pos >= 7_850_000 else "valid" if pos >= 7_700_000 else "train"
        parts[part].append((f"chr2R_{pos}_{strand}", _window(seq, pos, strand, width), label))
    section = {"kind": "fasta"}
    for part, items in parts.items():
        items.sort()
        fa, tsv = out / f"{site}_{part}.fa", out / f"{site}_{part}.tsv"
        fa.write_text("".join(f">{n}\n{s}\n" for n, s, _ in items))
        tsv.write_text("name\t" + site + "\n" + "".join(f"{n}\t{y}\n" for n, _, y in items))
        key = "" if part == "train" else f"{part}_"
        section[f"{key}fasta"] = str(fa)
        section[f"{key}labels"] = str(tsv)
    return section


def positional(
    out: Path, *, n: int = 8000, width: int = 200, offset: int = 60, seed: int = 0
) -> dict:
    """Simulated positional sites (rare positives, 1 in 21): a positive carries a Su(Hw) site sampled from
    its JASPAR matrix at ``offset`` (jittered by up to 2 bases); half the negatives carry the same kind of
    site at least 12 bases away from ``offset``, the other half none. Returns a fasta data section."""
    from genodeep import example_data
    from genodeep.io import read_motifs
    from genodeep.io.motifs import select_motifs

    (pwm,) = select_motifs(read_motifs(example_data.motifs()), ["MA0533.1"]).values()  # (4, w)
    pwm = np.asarray(pwm, dtype=float)
    w = pwm.shape[1]
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("ACGT"))
    far = [o for o in range(0, width - w) if abs(o - offset) >= 12]
    seqs, ys = [], []
    for _ in range(n):
        s = rng.choice(alphabet, size=width)
        y = int(rng.random() < 1 / 21)
        at = (
            offset + int(rng.integers(-2, 3))
            if y
            else (int(rng.choice(far)) if rng.random() < 0.5 else None)
        )
        if at is not None:
            site = [alphabet[rng.choice(4, p=pwm[:, j] / pwm[:, j].sum())] for j in range(w)]
            s[at : at + w] = site
        seqs.append("".join(s))
        ys.append(y)
    out.mkdir(parents=True, exist_ok=True)
    fa, tsv = out / "positional.fa", out / "positional.tsv"
    fa.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    tsv.write_text("name\tsite\n" + "".join(f"s{i}\t{y}\n" for i, y in enumerate(ys)))
    return {"kind": "fasta", "fasta": str(fa), "labels": str(tsv)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    for site in ("donor", "acceptor"):
        sec = splice(args.out, site=site)
        n = {
            p: sum(1 for _ in open(sec[f"{k}fasta"])) // 2
            for p, k in (("train", ""), ("valid", "valid_"), ("test", "test_"))
        }
        print(site, n)
    print(positional(args.out))
