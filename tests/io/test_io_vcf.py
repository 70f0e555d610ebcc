"""VCF reading: one row per ALT allele, sharding, and clear errors naming file and line."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genodeep import InputFileError
from genodeep.io.vcf import iter_vcf, read_vcf_header

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _write(tmp_path, body, name="v.vcf", header=HEADER):
    p = tmp_path / name
    text = header + body
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def test_multiallelic_split_and_kinds(tmp_path):
    p = _write(
        tmp_path,
        "chr1\t10\trs1\tA\tG,T\t.\t.\t.\n"
        "chr1\t20\t.\tAC\tA\t.\t.\t.\n"
        "chr1\t30\t.\tA\tATT\t.\t.\t.\n"
        "chr1\t40\t.\tAC\tGT\t.\t.\t.\n"
        "chr1\t50\t.\tA\t<DEL>,*\t.\t.\t.\n",
        name="v.vcf.gz",
    )
    vs = list(iter_vcf(p))
    assert [(v.pos, v.alt, v.allele, v.record) for v in vs] == [
        (10, "G", 1, 0),
        (10, "T", 2, 0),
        (20, "A", 1, 1),
        (30, "ATT", 1, 2),
        (40, "GT", 1, 3),
        (50, "<DEL>", 1, 4),
        (50, "*", 2, 4),
    ]
    assert [v.kind for v in vs] == [
        "snv",
        "snv",
        "deletion",
        "insertion",
        "mnv",
        "symbolic",
        "symbolic",
    ]
    assert vs[5].skip_reason and vs[6].skip_reason and not vs[0].skip_reason
    assert vs[0].line == 3 and vs[0].start == 9
    assert read_vcf_header(p)[-1].startswith("#CHROM")


def test_shards_partition_records(tmp_path):
    body = "".join(f"chr1\t{i + 1}\t.\tA\tC,G\t.\t.\t.\n" for i in range(10))
    p = _write(tmp_path, body)
    all_pos = sorted(v.pos for v in iter_vcf(p))
    parts = [sorted(v.pos for v in iter_vcf(p, shard=(i, 3))) for i in range(3)]
    assert sorted(sum(parts, [])) == all_pos
    assert parts[1] == [2, 2, 5, 5, 8, 8]


@pytest.mark.parametrize(
    ("body", "header", "words"),
    [
        ("chr1\t10\t.\tA\n", HEADER, ["line 3", "8 tab-separated columns"]),
        ("chr1\tten\t.\tA\tC\t.\t.\t.\n", HEADER, ["line 3", "POS"]),
        ("chr1\t0\t.\tA\tC\t.\t.\t.\n", HEADER, ["line 3", "1-based"]),
        ("chr1\t5\t.\tAXG\tC\t.\t.\t.\n", HEADER, ["line 3", "REF"]),
        ("chr1\t5\t.\tA\tC?\t.\t.\t.\n", HEADER, ["line 3", "ALT"]),
        ("chr1\t5\t.\tA\tC\t.\t.\t.\n", "##fileformat=VCFv4.2\n", ["line 2", "#CHROM"]),
        ("", HEADER, ["no variant records"]),
        ("", "", ["no #CHROM header"]),
    ],
)
def test_bad_vcf_errors_name_file_and_line(tmp_path, body, header, words):
    p = _write(tmp_path, body, header=header)
    with pytest.raises(InputFileError) as err:
        list(iter_vcf(p))
    msg = str(err.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_bad_shard_argument(tmp_path):
    p = _write(tmp_path, "chr1\t1\t.\tA\tC\t.\t.\t.\n")
    with pytest.raises(ValueError, match="shard"):
        list(iter_vcf(p, shard=(3, 3)))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="chr1\tACGTN0123456789.,<>*#\n", max_size=200))
def test_fuzz_only_clean_errors(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "f.vcf"
    p.write_text(text)
    try:
        variants = list(iter_vcf(p))
    except (InputFileError, ValueError) as err:
        assert str(p) in str(err)  # every error names the file
    else:
        assert all(v.pos >= 1 and v.ref and set(v.ref) <= set("ACGTN") for v in variants)
