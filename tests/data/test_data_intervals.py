"""Windows: resize, tiling, GC-matched and shuffled negatives; train/valid/test splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genodeep.data import (
    resize,
    sample_gc_matched,
    sample_negatives,
    shuffled_negatives,
    split_by_chrom,
    split_by_region,
    tile_genome,
)
from genodeep.data.splits import parse_region
from genodeep.io.fasta import Genome


def _df(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


# ---- resize / tile ---------------------------------------------------------------------------------


def test_resize_center_and_summit():
    df = _df([("c", 100, 200), ("c", 10, 11)]).assign(peak=[30, -1], name=["a", "b"])
    out = resize(df, 50)
    assert out["start"].tolist() == [125, -15] and out["end"].tolist() == [175, 35]
    assert out["name"].tolist() == ["a", "b"] and df["start"].tolist() == [100, 10]  # copy
    out = resize(df, 51, anchor="summit")  # summit 130; -1 falls back to the centre 10
    assert out["start"].tolist() == [105, -15] and (out["end"] - out["start"]).tolist() == [51, 51]
    with pytest.raises(ValueError, match="'peak' column"):
        resize(df.drop(columns="peak"), 50, anchor="summit")
    with pytest.raises(ValueError, match="anchor"):
        resize(df, 50, anchor="left")
    with pytest.raises(ValueError, match="width"):
        resize(df, 0)


def test_tile_genome():
    sizes = {"chr1": 1000, "chr2": 450, "chr3": 99}
    w = tile_genome(sizes, 100, stride=50)
    assert (w["chrom"] == "chr1").sum() == 19 and (w["chrom"] == "chr2").sum() == 8
    assert (w["end"] - w["start"] == 100).all() and w.index.tolist() == list(range(len(w)))
    c2 = w[w["chrom"] == "chr2"]
    assert c2["start"].tolist() == list(range(0, 351, 50)) and c2["end"].max() <= 450
    assert tile_genome(sizes, 100, chroms=["2"])["chrom"].unique().tolist() == ["chr2"]
    with pytest.raises(ValueError, match="not in the genome"):
        tile_genome(sizes, 100, chroms=["chr9"])
    with pytest.raises(ValueError, match="no window"):
        tile_genome(sizes, 5000)


def _gc_genome(tmp_path, rng, n_blocks=100, block=2000):
    """A chromosome of 2-kb blocks with GC from 0.2 to 0.8, plus an N-rich block."""
    gcs = rng.uniform(0.2, 0.8, n_blocks)
    parts = []
    for gc in gcs:
        p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        parts.append("".join(rng.choice(list("ACGT"), block, p=p)))
    parts[10] = "N" * block
    seq = "".join(parts)
    fa = tmp_path / "gc.fa"
    fa.write_text(">chr1\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n")
    return Genome(fa, verbose=False), gcs, seq


def _gc_of(seq_str):
    s = np.frombuffer(seq_str.encode(), np.uint8)
    acgt = np.isin(s, list(b"ACGT")).sum()
    return np.isin(s, list(b"GC")).sum() / acgt


def test_tile_genome_drops_n_windows(tmp_path, rng):
    genome, _, seq = _gc_genome(tmp_path, rng, n_blocks=20)
    w = tile_genome(genome, 500, max_n_fraction=0.1)
    assert len(w) == 80 - 4 and not ((w["start"] >= 20_000) & (w["start"] < 22_000)).any()


def test_gc_matched_negatives(tmp_path, rng):
    genome, gcs, seq = _gc_genome(tmp_path, rng)
    # positives in GC-rich blocks, so their GC distribution differs from the genome's
    rich = np.setdiff1d(np.flatnonzero(gcs > 0.65), [10])  # block 10 is N
    blocks = rng.choice(rich, 60)
    starts = blocks * 2000 + rng.integers(0, 1500, 60)
    pos = _df([("chr1", int(s), int(s) + 500) for s in starts])
    neg = sample_gc_matched(genome, pos, n=120, random_state=1)
    assert len(neg) == 120 and (neg["end"] - neg["start"] == 500).all()
    # never overlaps a positive (naive check)
    for s, e in zip(neg["start"], neg["end"]):
        assert not ((pos["start"] < e) & (pos["end"] > s)).any()
    # GC recomputed independently from the sequence; N fraction within the limit
    gc_neg = np.array([_gc_of(seq[s:e]) for s, e in zip(neg["start"], neg["end"])])
    n_frac = np.array([seq[s:e].count("N") / 500 for s, e in zip(neg["start"], neg["end"])])
    assert (n_frac <= 0.1).all()
    np.testing.assert_allclose(gc_neg, neg["gc"], atol=1e-12)
    gc_pos = np.array([_gc_of(seq[s:e]) for s, e in zip(pos["start"], pos["end"])])
    h_pos = np.bincount((gc_pos / 0.02).astype(int), minlength=50) / len(gc_pos)
    h_neg = np.bincount((gc_neg / 0.02).astype(int), minlength=50) / len(gc_neg)
    assert 0.5 * np.abs(h_pos - h_neg).sum() < 0.05  # total variation distance
    # uniform random windows would not match (the test can fail)
    rand = rng.integers(0, len(seq) - 500, 300)
    gc_rand = np.array([_gc_of(seq[s : s + 500]) for s in rand if "N" not in seq[s : s + 500]])
    assert abs(gc_rand.mean() - gc_pos.mean()) > 0.1 > abs(gc_neg.mean() - gc_pos.mean()) * 10
    # reproducible; dispatcher gives the same
    again = sample_negatives(genome, pos, n=120, random_state=1)
    pd.testing.assert_frame_equal(neg, again)


def test_gc_matched_respects_exclude(tmp_path, rng):
    genome, _, _ = _gc_genome(tmp_path, rng, n_blocks=30)
    pos = _df([("chr1", 1000, 1200)])
    exclude = _df([("chr1", 0, 30_000)])
    neg = sample_gc_matched(genome, pos, n=50, exclude=exclude, random_state=0)
    assert (neg["start"] >= 30_000).all()
    with pytest.raises(ValueError, match="same width"):
        sample_gc_matched(genome, _df([("chr1", 0, 10), ("chr1", 0, 20)]))


def test_shuffled_negatives_keep_dinucleotides(tmp_path, rng):
    genome, _, seq = _gc_genome(tmp_path, rng, n_blocks=12)
    pos = _df([("chr1", 100, 400), ("chr1", 5000, 5300)])
    X = shuffled_negatives(genome, pos, n=3, random_state=0)
    assert X.shape == (6, 4, 300)
    from genodeep.seq import decode

    for i, s in enumerate(decode(X)):
        orig = seq[pos["start"][i // 3] : pos["end"][i // 3]]
        assert s != orig
        dn = lambda t: sorted(t[k : k + 2] for k in range(len(t) - 1))  # noqa: E731
        assert dn(s) == dn(orig)
    assert sample_negatives(genome, pos, method="shuffle", random_state=0).shape == (2, 4, 300)


# ---- splits ----------------------------------------------------------------------------------------


def _windows(rng, n=300):
    chrom = rng.choice(["chr1", "chr2", "chr3", "chrX"], n)
    start = rng.integers(0, 10_000, n)
    return pd.DataFrame({"chrom": chrom.astype(object), "start": start, "end": start + 200})


def test_split_by_chrom_disjoint_complete(rng):
    w = _windows(rng)
    sp = split_by_chrom(w, valid="2", test=["chrX", "chr3"])
    idx = [set(sp[k].index) for k in ("train", "valid", "test")]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    assert set().union(*idx) == set(w.index)
    assert set(sp["valid"]["chrom"]) == {"chr2"} and set(sp["train"]["chrom"]) == {"chr1"}
    assert split_by_chrom(w, valid=(), test="chr1")["valid"].empty
    with pytest.raises(ValueError, match="both valid and test"):
        split_by_chrom(w, valid=["chr1"], test=["1"])
    with pytest.raises(ValueError, match="near matches"):
        split_by_chrom(w, valid=["chrx"], test=[])
    with pytest.raises(ValueError, match="train split is empty"):
        split_by_chrom(w, valid=["chr1", "chr2"], test=["chr3", "chrX"])


@pytest.mark.parametrize("boundary", ["drop", "centre"])
def test_split_by_region_rules(rng, boundary):
    w = _windows(rng, 500)
    sp = split_by_region(
        w, valid="chr1:2,000-5,000", test=["chr1:6000-9000", "chrX"], boundary=boundary
    )
    regions = {"valid": [("chr1", 2000, 5000)], "test": [("chr1", 6000, 9000), ("chrX", 0, 10**9)]}
    for i, row in w.iterrows():  # naive reference of the documented rule
        mid = (row.start + row.end) // 2
        where = None
        touches = False
        for name, regs in regions.items():
            for c, s, e in regs:
                if row.chrom != c:
                    continue
                touches |= row.start < e and row.end > s
                inside = (s <= row.start and row.end <= e) if boundary == "drop" else s <= mid < e
                if inside:
                    where = name
        if where is None and not (boundary == "drop" and touches):
            where = "train"
        for name in ("train", "valid", "test"):
            assert (i in sp[name].index) == (where == name), (i, name, where)
    if boundary == "centre":
        assert sum(len(v) for v in sp.values()) == len(w)


def test_split_by_region_errors(rng):
    w = _windows(rng)
    with pytest.raises(ValueError, match="overlaps test region"):
        split_by_region(w, valid="chr1:0-5000", test="chr1:4999-6000")
    with pytest.raises(ValueError, match="near matches"):
        split_by_region(w, valid="chr11:0-5", test=None)
    with pytest.raises(ValueError, match="valid split is empty"):
        split_by_region(w, valid="chr1:0-100", test=None)
    with pytest.raises(ValueError, match="cannot read region"):
        split_by_region(w, valid="chr1:5-", test=None)
    with pytest.raises(ValueError, match="start < end"):
        split_by_region(w, valid="chr1:50-5", test=None)
    assert parse_region("chr2R:12,000,000-16,000,000") == ("chr2R", 12_000_000, 16_000_000)
    assert parse_region(("c", 1, 2)) == ("c", 1, 2) and parse_region("c") == ("c", None, None)


def test_gc_matched_fallback_to_nearest_bin(tmp_path, rng, capsys, monkeypatch):
    monkeypatch.setattr("genodeep._progress._QUIET", False)
    genome, gcs, seq = _gc_genome(tmp_path, rng, n_blocks=30)
    top = int(np.argmax(np.where(np.arange(30) == 10, 0, gcs)))  # the GC-richest real block
    pos = _df([("chr1", top * 2000 + k, top * 2000 + k + 300) for k in range(0, 1700, 100)])
    neg = sample_gc_matched(genome, pos, n=300, max_rounds=1, random_state=0)
    assert len(neg) == 300 and "nearest GC bin" in capsys.readouterr().err
    gc_pos = np.mean([_gc_of(seq[s:e]) for s, e in zip(pos["start"], pos["end"])])
    assert neg["gc"].mean() > np.mean(gcs) + 0.05 and abs(neg["gc"].mean() - gc_pos) < 0.2
