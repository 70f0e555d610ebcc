"""Signal tracks: wig/bedGraph parsing with known answers, binning vs numpy, bigWig round trip."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genodeep import InputFileError
from genodeep.io.signal import SignalTrack, read_chrom_sizes, read_signal, wig_to_bigwig

WIG = """browser position chr1:1-100
track type=wiggle_0 name=test
variableStep chrom=chr1
3 1.5
5 2
variableStep chrom=chr1 span=3
10 4

fixedStep chrom=chr2 start=2 step=5 span=2
7
8
# comment inside
9
"""


def _expected_wig() -> dict[str, np.ndarray]:
    chr1 = np.full(20, np.nan, np.float32)
    chr1[2], chr1[4], chr1[9:12] = 1.5, 2.0, 4.0  # 1-based 3, 5 and 10..12
    chr2 = np.full(20, np.nan, np.float32)
    for k, v in enumerate([7, 8, 9]):  # 1-based starts 2, 7, 12 with span 2
        chr2[1 + 5 * k : 3 + 5 * k] = v
    return {"chr1": chr1, "chr2": chr2}


def _per_base(track, chrom, n=20):
    return track.values(chrom, [0], n)[0]


def test_wig_known_values(tmp_path):
    for name in ("t.wig", "t.wig.gz"):
        p = tmp_path / name
        if name.endswith(".gz"):
            with gzip.open(p, "wt") as fh:
                fh.write(WIG)
        else:
            p.write_text(WIG)
        track = read_signal(p)
        exp = _expected_wig()
        for chrom in ("chr1", "chr2"):
            np.testing.assert_array_equal(_per_base(track, chrom), np.nan_to_num(exp[chrom]))
        assert track.chrom_sizes == {"chr1": 12, "chr2": 13}


def test_bedgraph_known_values(tmp_path):
    p = tmp_path / "t.bedgraph"
    p.write_text("track type=bedGraph\nchr1\t0\t3\t1.0\nchr1 5 6 -2\n\nchrX\t2\t4\t0.5\n")
    track = read_signal(p)
    np.testing.assert_array_equal(_per_base(track, "chr1", 8), [1, 1, 1, 0, 0, -2, 0, 0])
    np.testing.assert_array_equal(_per_base(track, "X", 5), [0, 0, 0.5, 0.5, 0])  # chr harmonised
    np.testing.assert_array_equal(_per_base(track, "chr9", 3), [0, 0, 0])  # absent: no signal
    # content sniffing for an unknown extension
    q = tmp_path / "t.txt"
    q.write_text(p.read_text())
    np.testing.assert_array_equal(_per_base(read_signal(q), "chr1", 8), _per_base(track, "chr1", 8))


def _naive(arrays, chroms, starts, length, bin_size, agg):
    out = np.zeros((len(starts), length // bin_size), np.float64)
    for i, (c, s) in enumerate(zip(chroms, starts)):
        base = np.zeros(length)
        a = arrays.get(c)
        for j in range(length):
            p = s + j
            if a is not None and 0 <= p < len(a) and not np.isnan(a[p]):
                base[j] = a[p]
        b = base.reshape(-1, bin_size)
        out[i] = {"mean": b.mean(1), "sum": b.sum(1), "max": b.max(1)}[agg]
    return out


@pytest.mark.parametrize(("bin_size", "agg"), [(1, "mean"), (4, "mean"), (4, "sum"), (8, "max")])
def test_binned_values_match_naive(rng, bin_size, agg):
    arrays = {}
    for c, n in (("chr1", 300), ("chr2", 120)):
        a = rng.normal(size=n).astype(np.float32)
        a[rng.random(n) < 0.3] = np.nan
        arrays[c] = a
    track = SignalTrack.from_arrays(arrays)
    chroms = rng.choice(["chr1", "chr2", "chr3"], 40).tolist()
    starts = rng.integers(-50, 330, 40)
    got = track.values(chroms, starts, 32, bin_size=bin_size, agg=agg)
    assert got.shape == (40, 32 // bin_size) and got.dtype == np.float32
    np.testing.assert_allclose(got, _naive(arrays, chroms, starts, 32, bin_size, agg), atol=1e-5)


def test_from_arrays_offsets_and_argument_errors():
    track = SignalTrack.from_arrays({"c": np.array([1.0, 2.0, 3.0])}, offsets={"c": 10})
    np.testing.assert_array_equal(track.values("c", [9], 5)[0], [0, 1, 2, 3, 0])
    with pytest.raises(ValueError, match="must divide"):
        track.values("c", [0], 10, bin_size=3)
    with pytest.raises(ValueError, match="agg"):
        track.values("c", [0], 10, agg="median")
    with pytest.raises(ValueError, match="one chromosome per window"):
        track.values(["c", "c"], [0], 10)
    with pytest.raises(ValueError, match="integers"):
        track.values("c", [0.5], 10)


def test_chunked_reads_equal_single_reads(rng, monkeypatch):
    """Windows grouped into chunks (nearby windows read together) give the per-window answer."""
    import genodeep.io.signal as sig

    a = rng.normal(size=5000).astype(np.float32)
    track = SignalTrack.from_arrays({"c": a})
    starts = np.sort(rng.integers(0, 4900, 200))
    whole = track.values("c", starts, 64)
    monkeypatch.setattr(sig, "_GAP", 0)
    monkeypatch.setattr(sig, "_MAX_SPAN", 100)
    monkeypatch.setattr(sig, "_MAX_CELLS", 128)
    np.testing.assert_array_equal(track.values("c", starts, 64), whole)
    np.testing.assert_array_equal(whole, a[starts[:, None] + np.arange(64)])


def test_bigwig_roundtrip_equals_wig(tmp_path, rng):
    p = tmp_path / "t.wig"
    p.write_text(WIG.replace("chr1", "1"))  # harmonised to the sizes' chr1
    sizes = tmp_path / "g.sizes"
    sizes.write_text("chr1\t40\nchr2\t30\nchr3\t5\n")
    out = wig_to_bigwig(p, sizes, tmp_path / "t.bw")
    bw = read_signal(out)
    assert bw.chrom_sizes == {"chr1": 40, "chr2": 30, "chr3": 5}
    wig = read_signal(p)
    starts = rng.integers(-5, 35, 30)
    for chrom in ("chr1", "chr2"):
        for bin_size, agg in ((1, "mean"), (2, "sum"), (5, "max")):
            np.testing.assert_allclose(
                bw.values(chrom, starts, 10, bin_size=bin_size, agg=agg),
                wig.values(chrom, starts, 10, bin_size=bin_size, agg=agg),
                atol=1e-6,
            )
    exp = np.nan_to_num(_expected_wig()["chr1"])
    np.testing.assert_array_equal(bw.values("chr1", [0], 20)[0], exp)
    again = pickle.loads(pickle.dumps(bw))  # DataLoader workers reopen the file
    np.testing.assert_array_equal(again.values("chr1", [0], 20)[0], exp)


def test_bedgraph_to_bigwig_with_fasta_sizes(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">chrA desc\nACGTACGTAC\nACG\n>chrB\nAC\n")
    assert read_chrom_sizes(fa) == {"chrA": 13, "chrB": 2}
    bg = tmp_path / "s.bdg"
    bg.write_text("chrA\t0\t5\t2\nchrA\t5\t13\t3\nchrB\t0\t2\t1\n")
    bw = read_signal(wig_to_bigwig(bg, fa, tmp_path / "s.bw"))
    np.testing.assert_array_equal(bw.values("chrA", [0], 13)[0], [2] * 5 + [3] * 8)
    np.testing.assert_array_equal(bw.values("chrB", [-1], 4)[0], [0, 1, 1, 0])


def test_cli_wig2bigwig(tmp_path):
    from genodeep.cli.__main__ import main

    p = tmp_path / "t.wig"
    p.write_text(WIG)
    sizes = tmp_path / "g.tsv"
    sizes.write_text("chr1\t100\nchr2\t100\n")
    assert (
        main(
            [
                "-q",
                "wig2bigwig",
                str(p),
                "--chrom-sizes",
                str(sizes),
                "--out",
                str(tmp_path / "o.bw"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(
        read_signal(tmp_path / "o.bw").values("chr2", [0], 20)[0],
        np.nan_to_num(_expected_wig()["chr2"]),
    )
    sizes.write_text("chr1\t100\n")
    assert (
        main(
            [
                "-q",
                "wig2bigwig",
                str(p),
                "--chrom-sizes",
                str(sizes),
                "--out",
                str(tmp_path / "x.bw"),
            ]
        )
        == 1
    )
    assert not (tmp_path / "x.bw").exists()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("track name=x\n10 1.0\nvariableStep chrom=chr1\n", 2, "wig has no chromosome line"),
        ("variableStep chrom=chr1\n1 1\n2 x\n", 3, "'x' is not a number"),
        ("variableStep chrom=chr1\n1 1\n\n2 3 4\n", 4, "3 fields"),
        ("variableStep chrom=chr1\n1 1\n0 2\n", 3, "1-based"),
        ("variableStep\n1 1\n", 1, "no chrom="),
        ("fixedStep chrom=chr1 step=1\n1\n", 1, "no start="),
        ("fixedStep chrom=chr1 start=0 step=1\n1\n", 1, "positive integer"),
        ("variableStep chrom=chr1 step=5\n1 1\n", 1, "unknown field 'step'"),
        ("variableStep chrom=chr1 span\n1 1\n", 1, "key=value"),
        ("fixedStep chrom=c start=1\n1\n2\n1.5.5\n", 4, "not a number"),
    ],
)
def test_wig_errors_name_file_and_line(tmp_path, text, line, words):
    p = tmp_path / "bad.wig"
    p.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_signal(p)
    assert (
        str(p) in str(info.value) and info.value.line == line and f"line {line}" in str(info.value)
    )
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("chr1\t0\t5\t1\nchr1\t5\t5\t2\n", 2, "empty or negative"),
        ("chr1\t0\t5\t1\n# c\nchr1\t-1\t5\t2\n", 3, "empty or negative"),
        ("chr1\t0\t5\nchr1\t5\t6\t2\n", 1, "3 fields"),
        ("chr1\t0\t5\t1\nchr1\t5\t6\tzz\n", 2, "'zz' is not a number"),
    ],
)
def test_bedgraph_errors(tmp_path, text, line, words):
    p = tmp_path / "bad.bedGraph"
    p.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_signal(p)
    assert str(p) in str(info.value) and info.value.line == line and words in str(info.value)


def test_not_a_bigwig(tmp_path):
    p = tmp_path / "x.bw"
    p.write_text("hello\n")
    with pytest.raises(InputFileError, match="cannot open as bigWig") as info:
        read_signal(p)
    assert str(p) in str(info.value)


def test_empty_signal_files(tmp_path):
    for name, text in (("e.wig", "track x=1\n"), ("e.bedgraph", "")):
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(InputFileError, match="no data lines") as info:
            read_signal(p)
        assert str(p) in str(info.value)


def test_conversion_errors_leave_no_output(tmp_path):
    p = tmp_path / "t.wig"
    p.write_text(WIG)
    out = tmp_path / "o.bw"
    with pytest.raises(InputFileError, match="past the chromosome end"):
        wig_to_bigwig(p, {"chr1": 11, "chr2": 100}, out)
    with pytest.raises(InputFileError, match="'chr2' is not in the chromosome sizes") as info:
        wig_to_bigwig(p, {"chr1": 100, "chr22": 100}, out)
    assert "near matches: chr22" in str(info.value) and str(p) in str(info.value)
    bad = tmp_path / "s.tsv"
    bad.write_text("chr1\t100\nchr2\tbig\n")
    with pytest.raises(InputFileError) as info:
        wig_to_bigwig(p, bad, out)
    assert info.value.line == 2
    assert not out.exists() and sorted(x.name for x in tmp_path.iterdir()) == ["s.tsv", "t.wig"]


@pytest.mark.slow
def test_real_rnaseq_wig(shared_data, tmp_path):
    path = shared_data / "dm3" / "rnaseq_chr2R_7M-8M.wig.gz"
    with gzip.open(path, "rt") as fh:  # independent reading of the first data lines
        lines = [ln.split() for ln in fh.read().splitlines()[3:2003]]
    pos = np.array([int(a) for a, _ in lines]) - 1
    val = np.array([float(b) for _, b in lines], np.float32)
    track = read_signal(path)
    lo = int(pos[0])
    length = int(pos[-1]) + 1 - lo
    expect = np.zeros(length, np.float32)
    expect[pos - lo] = val
    np.testing.assert_array_equal(track.values("chr2R", [lo], length)[0], expect)
    out = wig_to_bigwig(path, {"chr2R": 21_146_708}, tmp_path / "rna.bw")
    bw = read_signal(out)
    starts = np.arange(7_000_000, 8_000_000, 10_000)
    np.testing.assert_allclose(
        bw.values("chr2R", starts, 10_000, bin_size=100, agg="sum"),
        track.values("chr2R", starts, 10_000, bin_size=100, agg="sum"),
        rtol=1e-6,
    )
    assert track.values("chr2R", starts, 10_000, bin_size=10_000, agg="sum").sum() > 0


_wig_line = st.sampled_from(
    ["variableStep chrom=c", "variableStep chrom=c span=3", "fixedStep chrom=c start=5 step=2",
     "fixedStep chrom=d start=1", "track x", "1 2", "3 4.5", "7", "nan", "0 1", "-1", "c 1 5 2",
     "c\t0\t3\t1", "", "#", "x y", "2 3 4", "variableStep", "fixedStep chrom=c"]
)  # fmt: skip


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_wig_line, max_size=8), fmt=st.sampled_from(["wig", "bedgraph"]))
def test_fuzz_signal_parsers(tmp_path, lines, fmt):
    p = tmp_path / f"f.{fmt}"
    p.write_text("\n".join(lines))
    try:
        track = read_signal(p)
    except InputFileError as err:
        assert str(p) in str(err)
        return
    for chrom, size in track.chrom_sizes.items():
        v = track.values(chrom, [0], size + 2)
        assert v.shape == (1, size + 2) and v[0, -1] == 0


@pytest.mark.parametrize(
    "body",
    [b"\xff" * 200, b"ck type=wiggle_0\nvariableStep chrom=chr1 span=2\n10 1.5\n20 2.5\n"],
)
def test_bigwig_magic_with_damaged_header_is_an_error_not_a_crash(tmp_path, body):
    """libBigWig trusts the header: these files crashed the process (segmentation fault) in
    pyBigWig.open. The header's offsets are checked first (found by tests/io/test_io_fuzz.py)."""
    p = tmp_path / "damaged.bw"
    p.write_bytes(b"\x26\xfc\x8f\x88" + body)
    with pytest.raises(InputFileError, match="cannot open as bigWig.*header is damaged") as info:
        read_signal(p)
    assert str(p) in str(info.value)
