"""Read-derived signal tracks: BAM 5'/3' ends and coverage, fragments files, open_track.

Expected counts come from a plain loop over the read specifications (CIGAR parsed by a regex),
never from pysam's own coordinates.
"""

from __future__ import annotations

import gzip
import pickle
import re

import numpy as np
import pytest

from genodeep import InputFileError
from genodeep.io import reads as reads_mod
from genodeep.io.reads import open_track, read_bam, read_fragments
from genodeep.io.signal import SignalTrack

pysam = pytest.importorskip("pysam")

SIZES = {"chr1": 300, "chr2": 60}
# (chrom, pos, cigar, reverse, mapq, extra flags)
READS = [
    ("chr1", 10, "10M", False, 60, 0),  # + [10, 20)
    ("chr1", 12, "5M2D5M", True, 60, 0),  # - [12, 24), 5' end 23; deletion 17-18 not covered
    ("chr1", 12, "10M", False, 60, 0x400),  # duplicate: never counted
    ("chr1", 30, "8M", True, 5, 0),  # low MAPQ, - [30, 38)
    ("chr1", 30, "3S7M", False, 60, 0),  # soft clip: alignment starts at 30
    ("chr1", 60, "10M", False, 60, 0x100),  # secondary
    ("chr1", 61, "10M", True, 60, 0x800),  # supplementary
    ("chr1", 62, "10M", False, 60, 0x200),  # QC fail
    ("chr1", 100, "10M", False, 60, 0),
    ("chr1", 100, "10M", False, 60, 0),  # same start twice, not duplicate-flagged
    ("chr1", 140, "10M", True, 60, 0),  # 5' end 149
    ("chr1", 0, "6M", True, 60, 0),  # near the chromosome start: 5' end 5
    ("chr1", 200, "5M50N5M", False, 60, 0),  # spliced: covers [200, 205) and [255, 260)
    ("chr1", 290, "10M", False, 60, 0),  # near the chromosome end
    ("chr2", 5, "10M", True, 60, 0),
]
SKIP = 0x4 | 0x100 | 0x200 | 0x400 | 0x800


def _cigar(cigar: str) -> list[tuple[int, str]]:
    return [(int(n), op) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar)]


def _ref_len(cigar: str) -> int:
    return sum(n for n, op in _cigar(cigar) if op in "MDN=X")


def _write_bam(path, reads, sizes=SIZES, *, paired=None, index=True):
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}
    raw = str(path) + ".unsorted.bam"
    names = list(sizes)
    with pysam.AlignmentFile(raw, "wb", header=header) as fh:
        for k, (chrom, pos, cigar, rev, mapq, flag) in enumerate(reads):
            a = pysam.AlignedSegment(fh.header)
            qlen = sum(n for n, op in _cigar(cigar) if op in "MIS=X")
            a.query_name = f"r{k}" if paired is None else paired[k][0]
            a.query_sequence = "A" * qlen
            a.query_qualities = pysam.qualitystring_to_array("I" * qlen)
            a.flag = flag | (0x10 if rev else 0)
            a.reference_id = names.index(chrom)
            a.reference_start = pos
            a.mapping_quality = mapq
            a.cigarstring = cigar
            if paired is not None:
                _, mate_pos, tlen = paired[k]
                a.next_reference_id = a.reference_id
                a.next_reference_start = mate_pos
                a.template_length = tlen
            fh.write(a)
    pysam.sort("-o", str(path), raw)
    if index:
        pysam.index(str(path))
    return path


def _expected(chrom, end="5p", strand="both", shifts=(0, 0), min_mapq=0, reads=READS):
    size = SIZES[chrom]
    out = np.zeros(size, np.float32)
    for c, pos, cigar, rev, mapq, flag in reads:
        if c != chrom or flag & SKIP or mapq < min_mapq:
            continue
        if (strand == "+" and rev) or (strand == "-" and not rev):
            continue
        ref_end = pos + _ref_len(cigar)
        if end == "coverage":
            p = pos
            for n, op in _cigar(cigar):
                if op in "M=X":
                    out[p : p + n] += 1
                if op in "MDN=X":
                    p += n
            continue
        if end == "5p":
            p = ref_end - 1 + shifts[1] if rev else pos + shifts[0]
        else:
            p = pos if rev else ref_end - 1
        if 0 <= p < size:
            out[p] += 1
    return out


@pytest.fixture(scope="module")
def bam(tmp_path_factory):
    return _write_bam(tmp_path_factory.mktemp("bam") / "reads.bam", READS)


def _whole(track, chrom):
    return track.values(chrom, [0], SIZES[chrom])[0]


@pytest.mark.parametrize("end", ["5p", "3p", "coverage"])
@pytest.mark.parametrize("strand", ["both", "+", "-"])
def test_bam_counts_match_hand_loop(bam, end, strand):
    track = read_bam(bam, end=end, strand=strand)
    assert track.chrom_sizes == SIZES
    for chrom in SIZES:
        np.testing.assert_array_equal(_whole(track, chrom), _expected(chrom, end, strand))


def test_bam_known_positions(bam):
    five = _whole(read_bam(bam), "chr1")
    assert five[10] == 1 and five[23] == 1 and five[5] == 1  # + start, - end - 1 (with deletion)
    assert five[12] == 0  # the duplicate
    assert five[100] == 2 and five[30] == 1 and five[37] == 1  # low MAPQ counted at min_mapq=0
    assert five[60:75].sum() == 0  # secondary, supplementary, QC fail
    assert _whole(read_bam(bam, min_mapq=30), "chr1")[37] == 0
    cov = _whole(read_bam(bam, end="coverage"), "chr1")
    assert cov[17] == 1 and cov[18] == 1  # only the + read: the - read has a deletion there
    np.testing.assert_array_equal(cov[200:262], [1] * 5 + [0] * 50 + [1] * 5 + [0, 0])


@pytest.mark.parametrize("min_mapq", [0, 5, 6, 60])
def test_bam_min_mapq(bam, min_mapq):
    track = read_bam(bam, min_mapq=min_mapq)
    np.testing.assert_array_equal(_whole(track, "chr1"), _expected("chr1", min_mapq=min_mapq))


@pytest.mark.parametrize(
    "kwargs, shifts",
    [({"shift": 3}, (3, -3)), ({"shift": -15}, (-15, 15)), ({"shift": 15}, (15, -15)),
     ({"atac": True}, (4, -5))],
)  # fmt: skip
def test_bam_shift_and_atac_in_windows(bam, kwargs, shifts):
    """Each window read on its own, starting anywhere (ends shifted across the window edges)."""
    track = read_bam(bam, **kwargs)
    full = _expected("chr1", shifts=shifts)
    padded = np.concatenate([np.zeros(20, np.float32), full, np.zeros(40, np.float32)])
    for start in range(-20, 300, 3):
        got = track.values("chr1", [start], 16)[0]
        np.testing.assert_array_equal(got, padded[start + 20 : start + 36], err_msg=str(start))
    for a, b in [(1, 2), (25, 26), (41, 49), (134, 137), (270, 300)]:
        np.testing.assert_array_equal(track._fetch("chr1", a, b), full[a:b], err_msg=f"{a}-{b}")
    if kwargs.get("shift") == 15:  # + read [10, 20) counted at 25, outside its own span
        assert full[25] == 1 and track._fetch("chr1", 25, 26)[0] == 1


def test_bam_binned_values(bam):
    track = read_bam(bam, end="coverage")
    starts = np.array([0, 96, 140, 280])
    per_base = np.stack(
        [np.pad(_expected("chr1", "coverage"), (0, 20))[s : s + 40] for s in starts]
    )
    for agg in ("sum", "mean", "max"):
        got = track.values(["chr1"] * 4, starts, 40, bin_size=8, agg=agg)
        ref = getattr(per_base.reshape(4, 5, 8), agg)(axis=2)
        np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_bam_missing_chromosome_and_chr_prefix(bam):
    track = read_bam(bam)
    assert not track.values("chrX", [0, 10], 20).any()
    np.testing.assert_array_equal(track.values("1", [0], 50), track.values("chr1", [0], 50))


def test_bam_pickle_and_reopen(bam):
    track = read_bam(bam, atac=True)
    before = track.values(["chr1", "chr2"], [0, 0], 60)
    again = pickle.loads(pickle.dumps(track))  # DataLoader workers reopen the file
    assert again._bam is None
    np.testing.assert_array_equal(again.values(["chr1", "chr2"], [0, 0], 60), before)
    handle = track._bam
    track._pid = -1  # as in a forked worker: the inherited handle is not used
    np.testing.assert_array_equal(track.values(["chr1", "chr2"], [0, 0], 60), before)
    assert track._bam is not handle
    track.close()
    assert track._bam is None


# paired reads: pair A read1 + at 50, read2 - at 130 (fragment [50, 140)); pair B read2 + at 200,
# read1 - at 220 ([200, 230)); pair C improperly paired; pair E [300, 310); one unpaired read
PAIRS = [
    ("chr2", 50, "10M", False, 60, 0x1 | 0x2 | 0x20 | 0x40),
    ("chr2", 130, "10M", True, 60, 0x1 | 0x2 | 0x80),
    ("chr2", 220, "10M", True, 60, 0x1 | 0x2 | 0x40),
    ("chr2", 200, "10M", False, 60, 0x1 | 0x2 | 0x20 | 0x80),
    ("chr2", 10, "10M", False, 60, 0x1 | 0x40),
    ("chr2", 350, "10M", False, 60, 0x1 | 0x80),
    ("chr2", 300, "10M", True, 60, 0x1 | 0x2 | 0x40),  # pair E: both mates start at 300
    ("chr2", 300, "10M", False, 60, 0x1 | 0x2 | 0x20 | 0x80),
    ("chr2", 380, "10M", False, 60, 0),
]
MATES = [("A", 130, 90), ("A", 50, -90), ("B", 200, -30), ("B", 220, 30), ("C", 350, 0),
         ("C", 10, 0), ("E", 300, -10),
         ("E", 300, 10), ("D", 0, 0)]  # fmt: skip


def test_bam_paired_modes(tmp_path):
    path = _write_bam(tmp_path / "p.bam", PAIRS, {"chr2": 400}, paired=MATES)
    exp = np.zeros(400, np.float32)
    exp[[50, 139, 200, 229, 300, 309]] = 1
    np.testing.assert_array_equal(
        read_bam(path, paired_as="fragments").values("chr2", [0], 400)[0], exp
    )
    cov = np.zeros(400, np.float32)
    cov[50:140] += 1
    cov[200:230] += 1
    cov[300:310] += 1
    frag = read_bam(path, paired_as="fragments", end="coverage")
    np.testing.assert_array_equal(frag.values("chr2", [0], 400)[0], cov)
    np.testing.assert_array_equal(frag.values("chr2", [100], 20)[0], cov[100:120])  # mates outside
    atac = np.zeros(400, np.float32)
    atac[54:135] += 1
    atac[204:225] += 1
    atac[304:305] += 1
    got = read_bam(path, paired_as="fragments", end="coverage", atac=True).values("chr2", [0], 400)
    np.testing.assert_array_equal(got[0], atac)
    r1 = np.zeros(400, np.float32)
    r1[[50, 229, 10, 309]] = 1
    np.testing.assert_array_equal(read_bam(path, paired_as="read1").values("chr2", [0], 400)[0], r1)
    every = read_bam(path).values("chr2", [0], 400)[0]
    assert every.sum() == 9 and every[380] == 1


def test_bam_argument_errors(bam):
    with pytest.raises(ValueError, match="either atac=True or shift"):
        read_bam(bam, atac=True, shift=2)
    with pytest.raises(ValueError, match="do not apply to end='3p'"):
        read_bam(bam, end="3p", shift=2)
    with pytest.raises(ValueError, match="end='5p' or end='coverage'"):
        read_bam(bam, end="3p", paired_as="fragments")
    with pytest.raises(ValueError, match="strand"):
        read_bam(bam, strand="plus")
    with pytest.raises(ValueError, match="min_mapq must be >= 0"):
        read_bam(bam, min_mapq=-1)
    with pytest.raises(InputFileError, match="none of the first 15 reads is paired"):
        read_bam(bam, paired_as="fragments")


def test_bam_file_errors(tmp_path, bam):
    unindexed = _write_bam(tmp_path / "noidx.bam", READS[:3], index=False)
    with pytest.raises(
        InputFileError, match=r"no index.*Fix: index it: samtools index .*noidx\.bam"
    ):
        read_bam(unindexed)
    (tmp_path / "text.bam").write_text("hello\n")
    with pytest.raises(InputFileError, match="not a BAM"):
        read_bam(tmp_path / "text.bam")
    (tmp_path / "s.bam").write_text("@HD\tVN:1.6\n")
    with pytest.raises(InputFileError, match="SAM text"):
        read_bam(tmp_path / "s.bam")
    with gzip.open(tmp_path / "g.bam", "wb") as fh:
        fh.write(b"chr1\t1\t2\n")
    with pytest.raises(InputFileError, match="no BAM magic"):
        read_bam(tmp_path / "g.bam")
    data = bam.read_bytes()
    (tmp_path / "cut.bam").write_bytes(data[: len(data) - 40])
    with pytest.raises(InputFileError, match="truncated"):
        read_bam(tmp_path / "cut.bam")
    with pysam.AlignmentFile(tmp_path / "u.bam", "wb", header={"HD": {"VN": "1.6"}}) as fh:
        a = pysam.AlignedSegment(fh.header)
        a.query_name, a.query_sequence, a.flag = "r", "ACGT", 4
        fh.write(a)
    with pytest.raises(InputFileError, match="unaligned"):
        read_bam(tmp_path / "u.bam")
    with pytest.raises(FileNotFoundError):
        read_bam(tmp_path / "absent.bam")


# --------------------------------------------------------------------------------------------------
# fragments

FRAGS = """# id=test
#  another header line
chr1\t10\t20\tAAA-1\t2
chr1\t15\t16\tBBB-1\t1

chr2\t0\t5\tAAA-1
chr1\t18\t30\tCCC-1\t1
chr1\t40\t41\tBBB-1\t3
"""


def _frag_expected(text, barcodes=None):
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if barcodes is not None and f[3] not in barcodes:
            continue
        count = int(f[4]) if len(f) > 4 else 1
        arr = out.setdefault(f[0], np.zeros(50, np.float32))
        arr[int(f[1])] += count
        arr[int(f[2]) - 1] += count
    return out


def _check_fragments(track, expected):
    assert set(track.chrom_sizes) == set(expected)
    for chrom, arr in expected.items():
        np.testing.assert_array_equal(track.values(chrom, [0], 50)[0], arr)


def test_fragments_counts_plain_and_gzip(tmp_path):
    plain = tmp_path / "a.fragments.tsv"
    plain.write_text(FRAGS)
    gz = tmp_path / "a.fragments.tsv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(FRAGS)
    for path in (plain, gz):
        track = read_fragments(path)
        _check_fragments(track, _frag_expected(FRAGS))
        chr1 = track.values("chr1", [0], 50)[0]
        assert chr1[10] == 2 and chr1[19] == 2 and chr1[15] == 2 and chr1[40] == 6
        assert track.chrom_sizes == {"chr1": 41, "chr2": 5}


def test_fragments_block_boundaries(tmp_path, monkeypatch):
    path = tmp_path / "f.tsv"
    path.write_text(FRAGS.rstrip("\n"))  # no final newline
    for chunk in (1, 7, 23):
        monkeypatch.setattr(reads_mod, "_CHUNK_CHARS", chunk)
        _check_fragments(read_fragments(path), _frag_expected(FRAGS))
    bad = FRAGS + "chr1\t5\tx\n"
    path.write_text(bad)
    with pytest.raises(InputFileError) as err:
        read_fragments(path)
    assert err.value.line == len(bad.splitlines())


def test_fragments_barcodes(tmp_path):
    path = tmp_path / "f.tsv"
    path.write_text(FRAGS)
    _check_fragments(read_fragments(path, barcodes={"AAA-1"}), _frag_expected(FRAGS, {"AAA-1"}))
    wl = tmp_path / "barcodes.tsv"
    wl.write_text("BBB-1\nCCC-1\textra\n\n")
    _check_fragments(read_fragments(path, barcodes=wl), _frag_expected(FRAGS, {"BBB-1", "CCC-1"}))
    with pytest.raises(InputFileError, match="no fragment of the given barcodes.*'-1'"):
        read_fragments(path, barcodes=["AAA"])
    with pytest.raises(ValueError, match="empty"):
        read_fragments(path, barcodes=set())


@pytest.mark.parametrize(
    "line, message",
    [("chr1\t1.5\t20", "not an integer"), ("chr1\t20\t20", "end <= start"), ("chr1\t20", "at least 3"),
     ("chr1\t-1\t5", "negative"), ("chr1\t1\t5\tA\t0", "count is below 1"),
     ("chr1\t1\t5\tA\tn", "count 'n' is not an integer")],
)  # fmt: skip
def test_fragments_malformed_line_number(tmp_path, line, message):
    path = tmp_path / "f.tsv"
    path.write_text(FRAGS + line + "\nchr1\t1\t2\n")
    with pytest.raises(InputFileError, match=message) as err:
        read_fragments(path)
    assert err.value.line == len(FRAGS.splitlines()) + 1 == 9
    assert err.value.path == str(path)


def test_fragments_truncated_gzip_and_empty(tmp_path):
    text = "".join(f"chr1\t{i}\t{i + 50}\tAAA-1\t1\n" for i in range(20000))
    data = gzip.compress(text.encode())
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="truncated"):
        read_fragments(cut)
    empty = tmp_path / "e.tsv"
    empty.write_text("# nothing\n")
    with pytest.raises(InputFileError, match="no fragment lines"):
        read_fragments(empty)


# --------------------------------------------------------------------------------------------------
# open_track


def test_open_track_dispatch(tmp_path, bam):
    frag = tmp_path / "atac_fragments.tsv.gz"
    with gzip.open(frag, "wt") as fh:
        fh.write(FRAGS)
    _check_fragments(open_track(str(frag)), _frag_expected(FRAGS))
    odd = tmp_path / "cells.txt"
    odd.write_text(FRAGS)
    track = open_track({"path": odd, "format": "fragments", "barcodes": ["AAA-1"]})
    _check_fragments(track, _frag_expected(FRAGS, {"AAA-1"}))
    np.testing.assert_array_equal(_whole(open_track(bam), "chr1"), _expected("chr1"))
    cov = open_track({"path": str(bam), "end": "coverage", "strand": "-"})
    np.testing.assert_array_equal(_whole(cov, "chr1"), _expected("chr1", "coverage", "-"))
    bg = tmp_path / "t.bedGraph"
    bg.write_text("chr1\t2\t5\t1.5\n")
    np.testing.assert_array_equal(
        open_track(bg).values("chr1", [0], 6)[0], [0, 0, 1.5, 1.5, 1.5, 0]
    )
    mem = SignalTrack.from_arrays({"chr1": np.ones(3)})
    assert open_track(mem) is mem


def test_open_track_bad_specs(tmp_path, bam):
    with pytest.raises(
        ValueError, match=r"'strnad'.*strand, end, shift, atac, min_mapq, paired_as"
    ):
        open_track({"path": bam, "strnad": "+"})
    bg = tmp_path / "t.bedGraph"
    bg.write_text("chr1\t2\t5\t1.5\n")
    with pytest.raises(ValueError, match=r"'shift' for a bigWig/wig/bedGraph track.*path, format"):
        open_track({"path": bg, "shift": 3})
    with pytest.raises(ValueError, match="'barcodes'.*format 'bam'"):
        open_track({"path": bam, "barcodes": ["A"]})
    with pytest.raises(ValueError, match="no 'path'"):
        open_track({"format": "bam"})
    with pytest.raises(ValueError, match="format='cram'"):
        open_track({"path": bam, "format": "cram"})
