"""VCF reading: one row per ALT allele, sharding, and clear errors naming file and line."""

from __future__ import annotations

import ctypes
import gzip
import sys

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


# --- BCF and region queries through cyvcf2 (htslib) ---------------------------------------------

CONTIG_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n##contig=<ID=chr2,length=1000>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)
BODY = (
    "".join(f"chr1\t{10 * i}\t.\tA\tC,G\t.\t.\t.\n" for i in range(1, 20))
    + "chr2\t5\trs5\tAC\tA\t.\t.\t.\n"
    + "chr2\t9\t.\tA\t<DEL>,*\t.\t.\t.\n"
)


def _htslib_copy(tmp_path, text, name, index=True):
    """Write ``text`` (a VCF) as bgzipped VCF (``.vcf.gz`` + ``.tbi``) or BCF (``.bcf`` + ``.csi``).

    cyvcf2's Writer compresses; the index is built by ``bcf_index_build`` of the htslib that
    cyvcf2 bundles (what ``tabix -p vcf`` and ``bcftools index`` call).
    """
    cyvcf2 = pytest.importorskip("cyvcf2")
    src = tmp_path / "src.vcf"
    src.write_text(text)
    out = tmp_path / name
    reader = cyvcf2.VCF(str(src))
    writer = cyvcf2.Writer(str(out), reader, mode="wb" if name.endswith(".bcf") else "wz")
    for rec in reader:
        writer.write_record(rec)
    writer.close()
    reader.close()
    if index:
        lib = ctypes.CDLL(cyvcf2.cyvcf2.__file__)
        lib.bcf_index_build.argtypes = [ctypes.c_char_p, ctypes.c_int]
        # min_shift 0 builds a tabix .tbi (bgzipped VCF), 14 a CSI index (BCF)
        assert lib.bcf_index_build(str(out).encode(), 14 if name.endswith(".bcf") else 0) == 0
    return out


def _key(vs):
    return [(v.chrom, v.pos, v.id, v.ref, v.alt, v.record, v.allele) for v in vs]


def test_bcf_reads_like_the_text_vcf(tmp_path):
    text = _write(tmp_path, BODY, header=CONTIG_HEADER)
    bcf = _htslib_copy(tmp_path, CONTIG_HEADER + BODY, "v.bcf", index=False)
    want = list(iter_vcf(text))
    got = list(iter_vcf(bcf))
    assert _key(got) == _key(want)
    assert len(got) == 19 * 2 + 3
    assert all(v.line is None for v in got) and want[0].line == 5
    assert [v.kind for v in got[-2:]] == ["symbolic", "symbolic"]
    assert read_vcf_header(bcf)[-1].startswith("#CHROM")
    assert any(h.startswith("##contig=<ID=chr2") for h in read_vcf_header(bcf))
    # shards count the same records
    assert _key(iter_vcf(bcf, shard=(1, 4))) == _key(iter_vcf(text, shard=(1, 4)))


@pytest.mark.parametrize("name", ["v.vcf.gz", "v.bcf"])
def test_region_query_on_indexed_file(tmp_path, name):
    p = _htslib_copy(tmp_path, CONTIG_HEADER + BODY, name)
    vs = list(iter_vcf(p, region="chr1:50-100"))
    assert sorted({v.pos for v in vs}) == [50, 60, 70, 80, 90, 100]
    assert [(v.record, v.allele, v.alt) for v in vs[:3]] == [(0, 1, "C"), (0, 2, "G"), (1, 1, "C")]
    assert all(v.line is None for v in vs)
    whole = list(iter_vcf(p, region="chr2"))
    assert [(v.pos, v.id, v.ref, v.alt) for v in whole] == [
        (5, "rs5", "AC", "A"),
        (9, ".", "A", "<DEL>"),
        (9, ".", "A", "*"),
    ]
    # the same records as filtering a full read, and the region's records can be sharded
    full = [v for v in iter_vcf(p) if v.chrom == "chr1" and 50 <= v.pos <= 100]
    assert [(v.pos, v.alt) for v in vs] == [(v.pos, v.alt) for v in full]
    assert sorted({v.pos for v in iter_vcf(p, region="chr1:50-100", shard=(0, 2))}) == [50, 70, 90]
    assert list(iter_vcf(p, region="chr1:500-600")) == []  # an empty region yields nothing
    assert [v.pos for v in iter_vcf(p, region="chr1:1,000-2,000")] == []


@pytest.mark.parametrize(
    ("region", "error", "words"),
    [
        ("1:10-20", InputFileError, ["contig '1'", "chr1"]),
        ("chrX", InputFileError, ["contig 'chrX'"]),
        ("chr1:x-3", ValueError, ["chrom:start-end"]),
        ("chr1:30-10", ValueError, ["end >= start"]),
        ("", ValueError, ["region"]),
    ],
)
def test_bad_region_errors(tmp_path, region, error, words):
    p = _htslib_copy(tmp_path, CONTIG_HEADER + BODY, "v.vcf.gz")
    with pytest.raises(error) as err:
        list(iter_vcf(p, region=region))
    for w in words:
        assert w in str(err.value)


def test_region_needs_an_indexed_bgzip_file(tmp_path):
    pytest.importorskip("cyvcf2")
    plain = _write(tmp_path, BODY, header=CONTIG_HEADER)
    with pytest.raises(InputFileError, match="bgzip") as err:
        list(iter_vcf(plain, region="chr1"))
    assert str(plain) in str(err.value) and "tabix" in str(err.value)
    unindexed = _htslib_copy(tmp_path, CONTIG_HEADER + BODY, "u.vcf.gz", index=False)
    with pytest.raises(InputFileError, match="index") as err:
        list(iter_vcf(unindexed, region="chr1"))
    assert str(unindexed) in str(err.value)


def test_bcf_records_are_validated_and_errors_name_file_and_record(tmp_path):
    body = "chr1\t10\t.\tA\tC\t.\t.\t.\nchr1\t20\t.\tAXG\tC\t.\t.\t.\n"
    bcf = _htslib_copy(tmp_path, CONTIG_HEADER + body, "bad.bcf", index=False)
    with pytest.raises(InputFileError) as err:
        list(iter_vcf(bcf))
    msg = str(err.value)
    assert str(bcf) in msg and "record chr1:20" in msg and "REF 'AXG'" in msg


def test_empty_bcf_is_an_error(tmp_path):
    bcf = _htslib_copy(tmp_path, CONTIG_HEADER, "empty.bcf", index=False)
    with pytest.raises(InputFileError, match="no variant records"):
        list(iter_vcf(bcf))


def test_bcf_without_cyvcf2_says_how_to_install(tmp_path, monkeypatch):
    bcf = _htslib_copy(tmp_path, CONTIG_HEADER + BODY, "v.bcf", index=False)
    monkeypatch.setitem(sys.modules, "cyvcf2", None)
    with pytest.raises(ImportError, match=r"genodeep\[vcf\]"):
        list(iter_vcf(bcf))
    # a text VCF needs no optional dependency
    assert len(list(iter_vcf(_write(tmp_path, BODY, header=CONTIG_HEADER)))) == 41
