"""Labels: overlap rule vs a naive loop, multitask labels from BED files, label tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genodeep import InputFileError
from genodeep.data import labels_from_table, multitask_labels, overlap_labels, tile_and_label
from genodeep.io.bed import write_bed


def _random_intervals(rng, n, chroms=("chr1", "chr2"), max_len=400):
    start = rng.integers(0, 5000, n)
    return pd.DataFrame(
        {
            "chrom": rng.choice(chroms, n).astype(object),
            "start": start,
            "end": start + rng.integers(0, max_len, n),
        }
    )


def _naive(windows, intervals, min_overlap, relative_to):
    out = np.zeros(len(windows), bool)
    for i, w in enumerate(windows.itertuples()):
        for iv in intervals.itertuples():
            if iv.chrom != w.chrom:
                continue
            ov = min(w.end, iv.end) - max(w.start, iv.start)
            wl, il = w.end - w.start, iv.end - iv.start
            d = {"smaller": min(wl, il), "window": wl, "interval": il}[relative_to]
            if ov > 0 and ov >= min_overlap * d:
                out[i] = True
                break
    return out


@pytest.mark.parametrize("relative_to", ["smaller", "window", "interval"])
@pytest.mark.parametrize("min_overlap", [0.5, 0.1, 1.0])
def test_overlap_labels_match_naive_loop(rng, relative_to, min_overlap):
    windows = _random_intervals(rng, 150, chroms=("chr1", "chr2", "chr3"), max_len=300)
    intervals = _random_intervals(rng, 80, max_len=600)
    intervals.loc[0, ["start", "end"]] = [0, 5000]  # one long interval: many candidates
    got = overlap_labels(windows, intervals, min_overlap=min_overlap, relative_to=relative_to)
    np.testing.assert_array_equal(got, _naive(windows, intervals, min_overlap, relative_to))
    assert 0 < got.sum() < len(got)


def test_overlap_rule_known_cases():
    w = pd.DataFrame({"chrom": ["c"] * 4, "start": [0, 100, 200, 300], "end": [100, 200, 300, 400]})
    peaks = pd.DataFrame({"chrom": ["c", "c"], "start": [60, 240], "end": [140, 260]})
    # peak 60-140 covers 40 bp of windows 0 and 1: half of the smaller (80 -> 40) -> both positive
    # peak 240-260 lies inside window 2 (20 of 20 bp) -> positive by "smaller", not by "window"
    assert overlap_labels(w, peaks).tolist() == [True, True, True, False]
    assert overlap_labels(w, peaks, relative_to="window").tolist() == [False] * 4
    assert overlap_labels(w, peaks, min_overlap=0.6).tolist() == [False, False, True, False]
    with pytest.raises(ValueError, match="min_overlap"):
        overlap_labels(w, peaks, min_overlap=0)


def test_multitask_labels_from_files_and_frames(tmp_path, rng):
    windows = _random_intervals(rng, 100, max_len=300)
    tasks = {f"T{k}": _random_intervals(rng, 30) for k in range(3)}
    paths = []
    for name, df in tasks.items():
        p = tmp_path / f"{name}.bed.gz"
        # write one file with "1"/"2" names: harmonised to the windows' chr1/chr2
        write_bed(p, df.assign(chrom=df["chrom"].str.replace("chr", "")) if name == "T1" else df)
        paths.append(p)
    y, names = multitask_labels(windows, paths)
    assert names == ["T0", "T1", "T2"] and y.dtype == np.float32 and y.shape == (100, 3)
    for k, df in enumerate(tasks.values()):
        np.testing.assert_array_equal(y[:, k], _naive(windows, df, 0.5, "smaller"))
    y2, names2 = multitask_labels(windows, {"b": tasks["T2"], "a": paths[0]})
    assert names2 == ["b", "a"] and (y2 == y[:, [2, 0]]).all()
    with pytest.raises(TypeError, match="wrap it"):
        multitask_labels(windows, paths[0])
    with pytest.raises(ValueError, match="empty"):
        multitask_labels(windows, {})


def test_tile_and_label():
    peaks = pd.DataFrame({"chrom": ["chr1", "chr9"], "start": [250, 0], "end": [350, 100]})
    windows, y, names = tile_and_label({"chr1": 1000}, {"p": peaks}, width=200, stride=100)
    assert windows["start"].tolist() == list(range(0, 801, 100))
    assert y[:, 0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0] and names == ["p"]


def test_labels_from_table(tmp_path):
    p = tmp_path / "l.tsv"
    p.write_text("name\tA\tB\n# comment\ns1\t1\t0\ns2\t\tNA\n\ns3\t0.5\t1\n")
    t = labels_from_table(p)
    assert t["name"].tolist() == ["s1", "s2", "s3"] and t.attrs["tasks"] == ["A", "B"]
    np.testing.assert_array_equal(t["A"].to_numpy(), np.array([1, np.nan, 0.5], np.float32))
    assert t["B"].dtype == np.float32 and np.isnan(t["B"][1])
    c = tmp_path / "w.csv"
    c.write_text("chrom,start,end,task1\nchr1,0,100,1\nchr1,100,200,0\n")
    t = labels_from_table(c)
    assert t.columns.tolist() == ["chrom", "start", "end", "task1"] and t["end"].dtype == np.int64
    f = tmp_path / "first.txt"
    f.write_text("id\tx\na\t1\n")
    assert labels_from_table(f).columns.tolist() == ["name", "x"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name\tA\ns1\t1\ns2\tyes\n", 3, "'yes' in column 'A' is not a number"),
        ("name\tA\ns1\t1\n\ns2\t1\t0\n", 4, "3 fields"),
        ("name\tA\ns1\t1\ns1\t0\n", 3, "appears twice"),
        ("name\tA\n", 1, "no rows"),
        ("name\n", 1, "no rows"),
        ("name\nx\n", 1, "no label columns"),
        ("chrom\tstart\tend\tA\nc\t1\t5\t1\nc\tx\t5\t1\n", 3, "start 'x'"),
    ],
)
def test_label_table_errors(tmp_path, text, line, words):
    p = tmp_path / "bad.tsv"
    p.write_text(text)
    with pytest.raises(InputFileError) as info:
        labels_from_table(p)
    assert str(p) in str(info.value) and info.value.line == line and words in str(info.value)


def test_empty_label_table(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("\n# only a comment\n")
    with pytest.raises(InputFileError, match="empty") as info:
        labels_from_table(p)
    assert str(p) in str(info.value)


@pytest.mark.slow
def test_real_insulator_labels(shared_data):
    from genodeep.io.bed import read_bed

    paths = sorted((shared_data / "dm3" / "insulators").glob("*.bed"))
    windows, y, names = tile_and_label({"chr2R": 21_146_708}, paths, width=1000, stride=1000)
    assert names[0] == "BEAF_Kc" and y.shape == (21_146, 8)
    for k, p in enumerate(paths):
        peaks = read_bed(p, chroms=["chr2R"])
        # each peak (all are < 2 kb) makes at least one window positive and at most 3
        assert len(peaks) // 2 <= y[:, k].sum() <= 3 * len(peaks)
        head = windows[:300]
        near = peaks[peaks["start"] < head["end"].max()]
        np.testing.assert_array_equal(y[:300, k], _naive(head, near, 0.5, "smaller"))
