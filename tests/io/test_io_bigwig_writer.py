"""BigWigWriter: values written in order read back exactly through pyBigWig; bad order is refused and a
failed block leaves no file."""

from __future__ import annotations

import numpy as np
import pytest

from genodeep.io.bigwig_writer import BigWigWriter

pyBigWig = pytest.importorskip("pyBigWig")

SIZES = {"chrA": 1_000, "chrB": 333}


def _read(path, chrom: str) -> np.ndarray:
    bw = pyBigWig.open(str(path))
    try:
        return np.array(bw.values(chrom, 0, bw.chroms()[chrom]), dtype=np.float64)
    finally:
        bw.close()


def test_per_base_values_round_trip(tmp_path, rng):
    path = tmp_path / "x.bw"
    smooth = rng.normal(size=1_000).astype(np.float32)  # few equal neighbours: fixed-step path
    runs = np.repeat(rng.integers(0, 4, size=37), 9)[:333].astype(np.float64)  # runs of equals
    with BigWigWriter(path, SIZES) as w:
        w.add("chrA", 0, smooth[:400])
        w.add("chrA", 400, smooth[400:])
        w.add("chrB", 0, runs)
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == SIZES
    bw.close()
    np.testing.assert_allclose(_read(path, "chrA"), smooth, rtol=0, atol=0)
    np.testing.assert_array_equal(_read(path, "chrB"), runs)


def test_span_covers_bins_and_is_cut_at_the_chromosome_end(tmp_path, rng):
    path = tmp_path / "binned.bw"
    vals = rng.random(90) + 0.5  # 90 bins of 4 = 360 bases past chrB's 333; and >= 64 entries
    few = np.array([1.0, 2.0, 2.0, 3.0])
    with BigWigWriter(path, SIZES) as w:
        w.add("chrA", 10, few, span=5)  # runs path: [10, 30)
        w.add("chrA", 100, vals[:70], span=3)  # fixed-step path: [100, 310)
        w.add("chrB", 5, vals, span=4)
    a = _read(path, "chrA")
    want_a = np.full(1_000, np.nan)
    want_a[10:30] = np.repeat(few, 5)
    want_a[100:310] = np.repeat(vals[:70], 3)
    np.testing.assert_allclose(a, want_a, rtol=1e-6)
    b = _read(path, "chrB")
    want_b = np.full(333, np.nan)
    want_b[5:] = np.repeat(vals, 4)[: 333 - 5]
    np.testing.assert_allclose(b, want_b, rtol=1e-6)


def test_nan_values_are_gaps(tmp_path):
    path = tmp_path / "gaps.bw"
    vals = np.arange(200, dtype=np.float64)
    vals[50:60] = np.nan
    vals[120] = np.nan
    with BigWigWriter(path, {"chrA": 1_000}) as w:
        w.add("chrA", 0, vals)
        w.add("chrA", 300, np.full(20, np.nan))  # nothing but gap
        w.add("chrA", 320, [5.0, 5.0])
    got = _read(path, "chrA")
    want = np.full(1_000, np.nan)
    want[:200] = vals
    want[320:322] = 5.0
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-6)
    bw = pyBigWig.open(str(path))
    # the gap has no entry at all (not a zero): pyBigWig sees no interval there
    assert bw.intervals("chrA", 50, 60) in (None, ())
    bw.close()


@pytest.mark.parametrize(
    ("calls", "match"),
    [
        ([("chrA", 0, 10), ("chrA", 5, 10)], "before the end of the previous entry"),
        ([("chrB", 0, 10), ("chrA", 0, 10)], "header order"),
        ([("chrZ", 0, 10)], "not in the bigWig header"),
    ],
)
def test_out_of_order_entries_are_refused_and_leave_no_file(tmp_path, calls, match):
    path = tmp_path / "bad.bw"
    with pytest.raises(ValueError, match=match):
        with BigWigWriter(path, SIZES) as w:
            for chrom, start, n in calls:
                w.add(chrom, start, np.ones(n))
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


def test_a_failure_inside_the_block_keeps_an_older_file(tmp_path):
    path = tmp_path / "keep.bw"
    with BigWigWriter(path, {"chrA": 100}) as w:
        w.add("chrA", 0, np.full(100, 2.0))
    with pytest.raises(RuntimeError, match="boom"):
        with BigWigWriter(path, {"chrA": 100}) as w:
            w.add("chrA", 0, np.full(100, 9.0))
            raise RuntimeError("boom")
    np.testing.assert_array_equal(_read(path, "chrA"), np.full(100, 2.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bw"]


def test_misuse_is_refused(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        BigWigWriter(tmp_path / "e.bw", {})
    w = BigWigWriter(tmp_path / "o.bw", SIZES)
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        w.add("chrA", 0, [1.0])
    with pytest.raises(ValueError, match="span"):
        with BigWigWriter(tmp_path / "s.bw", SIZES) as w:
            w.add("chrA", 0, [1.0], span=0)
    assert not (tmp_path / "s.bw").exists()


def test_values_past_the_end_are_dropped_and_later_entries_may_follow(tmp_path):
    path = tmp_path / "end.bw"
    with BigWigWriter(path, SIZES) as w:
        w.add("chrB", 330, np.arange(10, dtype=np.float64))  # only 330, 331, 332 fit
        w.add("chrB", 400, np.ones(5))  # wholly past the end: nothing
    got = _read(path, "chrB")
    assert np.isnan(got[:330]).all()
    np.testing.assert_array_equal(got[330:], [0.0, 1.0, 2.0])


def test_entries_end_at_the_chromosome_end(tmp_path, rng):
    path = tmp_path / "clip.bw"
    vals = rng.random(100) + 1.0  # varied and >= 64: the fixed-step path
    with BigWigWriter(path, SIZES) as w:
        w.add("chrB", 6, vals, span=4)  # 327 bases left: the last bin is cut at 333
    got = _read(path, "chrB")
    np.testing.assert_allclose(got[6:], np.repeat(vals, 4)[:327], rtol=1e-6)
    bw = pyBigWig.open(str(path))
    ends = [e for _, e, _ in bw.intervals("chrB")]
    bw.close()
    assert max(ends) <= SIZES["chrB"]
