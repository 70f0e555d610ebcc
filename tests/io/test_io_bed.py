"""BED / narrowPeak reading and writing: values, name harmonisation, errors naming file and line."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genodeep import InputFileError
from genodeep.io.bed import match_chroms, read_bed, write_bed

SIZES = {"chr2R": 1000, "chr2L": 800, "chrM": 50}


def _write(tmp_path, text, name="x.bed"):
    p = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def test_bed3_headers_skipped_and_gzip(tmp_path):
    text = (
        'track name="peaks"\nbrowser position chr2R:1-100\n# comment\n\n'
        "chr2R\t10\t20\nchr2L\t0\t5\n\n#late comment\nchr2R\t30\t31\n"
    )
    for name in ("a.bed", "a.bed.gz"):
        df = read_bed(_write(tmp_path, text, name))
        assert list(df.columns) == ["chrom", "start", "end"]
        assert df["chrom"].tolist() == ["chr2R", "chr2L", "chr2R"]
        assert df["start"].tolist() == [10, 0, 30] and df["end"].tolist() == [20, 5, 31]
        assert df["start"].dtype == np.int64 and df["end"].dtype == np.int64


def test_whitespace_separated_and_crlf(tmp_path):
    df = read_bed(_write(tmp_path, "chr1  10   20 a\r\nchr1 5 6 b\r\n"))
    assert df["start"].tolist() == [10, 5] and df["name"].tolist() == ["a", "b"]


def test_bed6_and_bed12_columns(tmp_path):
    df = read_bed(_write(tmp_path, "c\t1\t5\tp1\t7\t+\nc\t2\t9\tp2\t3\t-\n"))
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "strand"]
    assert df["score"].tolist() == [7, 3] and df["score"].dtype == np.int64
    assert df["strand"].tolist() == ["+", "-"]
    row = "c\t0\t100\tg\t0\t+\t10\t90\t0,0,0\t2\t10,20,\t0,80,\textra\n"
    df = read_bed(_write(tmp_path, row, "b12.bed"))
    assert list(df.columns)[-2:] == ["blockStarts", "extra13"]
    assert df["thickStart"].iat[0] == 10 and df["blockCount"].iat[0] == 2


def test_narrowpeak(tmp_path):
    text = "chr1\t100\t300\tpk1\t500\t.\t12.5\t8.1\t6.2\t50\nchr1\t400\t500\tpk2\t0\t.\t1\t-1\t-1\t-1\n"
    df = read_bed(_write(tmp_path, text, "p.narrowPeak"))
    assert list(df.columns)[-4:] == ["signalValue", "pValue", "qValue", "peak"]
    assert df["signalValue"].tolist() == [12.5, 1.0] and df["peak"].tolist() == [50, -1]
    assert df["peak"].dtype == np.int64 and df["qValue"].dtype == np.float64


def _err(tmp_path, text, name="bad.bed", **kw):
    p = _write(tmp_path, text, name)
    with pytest.raises(InputFileError) as info:
        read_bed(p, **kw)
    return p, info.value


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("chr1\t1\t5\nchr1\t2\t6\t7\n", 2, "4 columns"),
        ("chr1\t1\n", 1, "at least 3 columns"),
        ("chrom\tstart\tend\nchr1\t1\t5\n", 1, "'start' is not an integer"),
        ("chr1\t1\t5\nchr1\t2.5\t6\n", 2, "'2.5' is not an integer"),
        ("chr1\t1\t5\nchr1\t2\tx\n", 2, "end 'x'"),
        ("# h\nchr1\t9\t5\n", 2, "greater than end"),
        ("chr1\t-1\t5\n", 1, "negative start"),
        ("chr1\t1\t5\n\tx\t2\t3\n", 2, "column"),
        ("chr1\t1\t99999999999999999999999\n", 1, "out of range"),
        ("c\t100\t200\tp\t0\t.\t1\t1\t1\t150\n", 1, "summit offset"),
        ("c\t100\t200\tp\t0\t.\tx\t1\t1\t5\n", 1, "signalValue"),
    ],
)
def test_malformed_records_name_file_and_line(tmp_path, text, line, words):
    p, err = _err(tmp_path, text)
    assert str(p) in str(err) and f"line {line}" in str(err) and err.line == line
    assert words in str(err) and "Fix:" in str(err)


@pytest.mark.parametrize("text", ["", "\n\n", 'track name="x"\n# nothing\n'])
def test_empty_file(tmp_path, text):
    p, err = _err(tmp_path, text)
    assert str(p) in str(err) and "no BED records" in str(err)


def test_genome_harmonises_chr_prefix(tmp_path):
    p = _write(tmp_path, "2R\t1\t5\nM\t0\t10\n2L\t3\t800\n")
    df = read_bed(p, genome=SIZES)
    assert df["chrom"].tolist() == ["chr2R", "chrM", "chr2L"]
    rev = read_bed(_write(tmp_path, "chr2R\t1\t5\n", "r.bed"), genome={"2R": 10})
    assert rev["chrom"].tolist() == ["2R"]


def test_unknown_contig_lists_near_matches_and_fix(tmp_path):
    p, err = _err(tmp_path, "chr2R\t1\t5\n# x\n2Rhet\t1\t5\nchr3L\t1\t5\n", genome=SIZES)
    assert str(p) in str(err) and err.line == 3
    assert "'2Rhet'" in str(err) and "chr2R" in str(err)  # near match listed
    assert "drop_unknown=True" in str(err) and "1 other contig" in str(err)


def test_drop_unknown_and_chroms_log_counts(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("genodeep._progress._QUIET", False)
    p = _write(tmp_path, "chr2R\t1\t5\nchr3L\t1\t5\nchr3L\t7\t9\nchr2L\t0\t4\n")
    df = read_bed(p, genome=SIZES, drop_unknown=True)
    assert df["chrom"].tolist() == ["chr2R", "chr2L"] and df.index.tolist() == [0, 1]
    assert "dropped 2 of 4 records" in capsys.readouterr().err
    df = read_bed(p, genome=SIZES, chroms=["2R"])  # resolved to the genome's chr2R
    assert df["chrom"].tolist() == ["chr2R"]
    df = read_bed(p, chroms="chr3L")  # no genome: names as in the file
    assert df["start"].tolist() == [1, 7]
    with pytest.raises(ValueError, match="not in the genome"):
        read_bed(p, genome=SIZES, chroms=["chrX"])
    with pytest.raises(InputFileError, match="no records on chroms"):
        read_bed(p, chroms=["chrX"])


def test_interval_past_chromosome_end(tmp_path):
    p, err = _err(tmp_path, "chr2R\t1\t5\nchrM\t10\t51\n", genome=SIZES)
    assert err.line == 2 and "past the chromosome end" in str(err) and "50 bp" in str(err)
    read_bed(p, genome={**SIZES, "chrM": 51})  # exactly at the end is fine


def test_real_genome_object(tmp_path):
    from genodeep.io.fasta import Genome

    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\nACGTACGTAC\n>chr2\nAAAA\n")
    genome = Genome(fa, verbose=False)
    df = read_bed(_write(tmp_path, "1\t0\t10\n2\t1\t4\n"), genome=genome)
    assert df["chrom"].tolist() == ["chr1", "chr2"]
    with pytest.raises(InputFileError, match="past the chromosome end"):
        read_bed(_write(tmp_path, "chr2\t0\t5\n", "c.bed"), genome=genome)


def test_match_chroms():
    m = match_chroms(["1", "chrX", "MT", "chrUn", "x"], ["chr1", "X", "chrM", "chrx"])
    assert m == {"1": "chr1", "chrX": "X", "MT": "chrM", "chrUn": None, "x": "chrx"}
    assert match_chroms(["1"], ["chr1", "1"])["1"] == "1"  # exact wins
    assert match_chroms(["2"], ["chr2", "Chr2"])["2"] is None  # ambiguous


def test_write_bed_roundtrip(tmp_path, rng):
    n = 50
    start = rng.integers(0, 10_000, n)
    df = pd.DataFrame(
        {
            "chrom": rng.choice(["chr1", "chr2"], n).astype(object),
            "start": start,
            "end": start + rng.integers(0, 500, n),
            "name": [f"p{i}" for i in range(n)],
            "score": rng.integers(0, 1000, n),
            "strand": rng.choice(["+", "-", "."], n).astype(object),
        }
    )
    for name in ("o.bed", "o.bed.gz"):
        write_bed(tmp_path / name, df, track_line='track name="t"')
        back = read_bed(tmp_path / name)
        pd.testing.assert_frame_equal(back, df, check_dtype=False)
    peaks = df.iloc[:, :3].assign(signalValue=1.5, peak=0)
    write_bed(tmp_path / "p.narrowPeak", peaks)
    back = read_bed(tmp_path / "p.narrowPeak")
    assert back["peak"].tolist() == [0] * n and back["name"].iat[0] == "."
    assert back["pValue"].tolist() == [-1.0] * n


def test_write_bed_rejects_bad_rows_and_leaves_no_file(tmp_path):
    df = pd.DataFrame({"chrom": ["c"], "start": [5], "end": [3]})
    with pytest.raises(ValueError, match="row 0"):
        write_bed(tmp_path / "o.bed", df)
    with pytest.raises(ValueError, match="lacks"):
        write_bed(tmp_path / "o.bed", df[["chrom", "start"]])
    assert list(tmp_path.iterdir()) == []


# ---- fuzz ------------------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fuzz_arbitrary_text(tmp_path, text):
    p = tmp_path / "fuzz.bed"
    p.write_text(text, encoding="utf-8")
    try:
        df = read_bed(p, genome={"chr1": 100, "2": 50}, drop_unknown=True)
    except ValueError:  # InputFileError is a ValueError
        return
    assert (df["start"] >= 0).all() and (df["start"] <= df["end"]).all()


_field = st.sampled_from(["chr1", "2", "-3", "10", "x", "", "1.5", "track", "#", " ", "99"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_field, min_size=0, max_size=11), max_size=6),
       sep=st.sampled_from(["\t", " "]))  # fmt: skip
def test_fuzz_bed_like_lines(tmp_path, rows, sep):
    p = tmp_path / "fuzz2.bed"
    p.write_text("\n".join(sep.join(r) for r in rows))
    try:
        df = read_bed(p)
    except InputFileError as err:
        assert str(p) in str(err)
        return
    assert len(df) >= 1 and (df["start"] <= df["end"]).all()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    starts=st.lists(st.integers(0, 10**9), min_size=1, max_size=20),
    widths=st.lists(st.integers(0, 10**6), min_size=20, max_size=20),
)
def test_fuzz_roundtrip(tmp_path, starts, widths):
    df = pd.DataFrame(
        {
            "chrom": ["chrZ"] * len(starts),
            "start": starts,
            "end": np.add(starts, widths[: len(starts)]),
        }
    )
    write_bed(tmp_path / "rt.bed", df)
    pd.testing.assert_frame_equal(read_bed(tmp_path / "rt.bed"), df, check_dtype=False)


@pytest.mark.slow
def test_real_insulator_beds(shared_data):
    paths = sorted((shared_data / "dm3" / "insulators").glob("*.bed"))
    assert len(paths) == 8
    total = sum(len(read_bed(p)) for p in paths)
    on_2r = sum(len(read_bed(p, genome={"chr2R": 21_146_708}, drop_unknown=True)) for p in paths)
    assert (total, on_2r) == (28_799, 5_152)  # the counts given in the data README
    with pytest.raises(InputFileError, match="drop_unknown"):
        read_bed(paths[0], genome={"chr2R": 21_146_708})
