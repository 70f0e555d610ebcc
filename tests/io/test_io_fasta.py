"""Genome windows against pyfaidx, the decoded cache, and clear errors for bad FASTA files."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genodeep._validate import InputFileError
from genodeep.io import Genome, read_fasta, write_fasta
from genodeep.io import _fasta_decode as decode_mod
from genodeep.io import _genome_cache as cache_mod
from genodeep.seq import encode, one_hot

LETTERS = list("ACGTACGTacgtNnRYSWKMBDHVryswkmbdhv")


def as_read(seq: str) -> str:
    """What a Genome returns for a FASTA sequence: uppercase, every IUPAC code as N."""
    return "".join(c if c in "ACGT" else "N" for c in seq.upper())


def write_bgzf(path: Path, data: bytes, block: int = 1000) -> None:
    """A BGZF (bgzip) file: gzip members with the 'BC' extra field, then the EOF block."""
    with open(path, "wb") as fh:
        for i in range(0, len(data), block):
            chunk = data[i : i + block]
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            cdata = comp.compress(chunk) + comp.flush()
            header = struct.pack(
                "<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(cdata) + 25
            )
            fh.write(header + cdata + struct.pack("<II", zlib.crc32(chunk), len(chunk)))
        fh.write(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))


@pytest.fixture
def small_genome(tmp_path, rng):
    seqs = {
        "chr1": "".join(rng.choice(LETTERS, 523)),
        "chr2": "".join(rng.choice(LETTERS, 61)),
        "chrM": "".join(rng.choice(LETTERS, 17)),
        "chr10": "".join(rng.choice(LETTERS, 240)),
    }
    path = tmp_path / "genome.fa"
    write_fasta(path, seqs, line_width=60)
    return path, seqs


def test_windows_match_pyfaidx_including_padding(small_genome, rng):
    pyfaidx = pytest.importorskip("pyfaidx")
    path, seqs = small_genome
    genome = Genome(path, verbose=False)
    ref = pyfaidx.Fasta(str(path), sequence_always_upper=True)
    assert genome.chrom_sizes == {k: len(v) for k, v in seqs.items()}
    full_of = {c: as_read(str(ref[c][:])) for c in seqs}
    chroms, starts, length = [], [], 50
    for _ in range(60):
        c = str(rng.choice(list(seqs)))
        chroms.append(c)
        starts.append(int(rng.integers(-60, len(seqs[c]) + 10)))
    expected = []
    for c, s in zip(chroms, starts):
        n = len(seqs[c])
        full = full_of[c]
        window = "".join(full[p] if 0 <= p < n else "N" for p in range(s, s + length))
        lo, hi = max(s, 0), min(s + length, n)
        if hi > lo:  # pyfaidx's own slice of the part inside the chromosome
            assert window[lo - s : hi - s] == as_read(str(ref[c][lo:hi]))
        expected.append(window)
        assert genome.fetch(c, s, s + length) == window
    np.testing.assert_array_equal(
        genome.one_hot(chroms, starts, length).numpy(), one_hot(expected).numpy()
    )
    np.testing.assert_array_equal(
        genome.window_codes(chroms, np.array(starts), length), encode(expected)
    )
    for c in seqs:
        assert genome.fetch(c, 0, len(seqs[c])) == as_read(str(ref[c][:]))


def test_gzip_bgzip_and_in_memory_decode_identically(small_genome, tmp_path):
    path, seqs = small_genome
    data = path.read_bytes()
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(data))
    bgz = tmp_path / "genome.bgz.fa.gz"
    write_bgzf(bgz, data, block=300)
    plain = Genome(path, verbose=False)
    for other in (
        Genome(gz, verbose=False),
        Genome(bgz, verbose=False),
        Genome(path, use_cache=False),
    ):
        assert other.chrom_sizes == plain.chrom_sizes
        for c, s in seqs.items():
            assert other.fetch(c, -3, len(s) + 3) == "NNN" + as_read(s) + "NNN"


def test_small_chunks_and_event_batches_parse_the_same(small_genome, monkeypatch):
    """Headers and lines split across reads, and many events per read, change nothing."""
    path, seqs = small_genome
    monkeypatch.setattr(decode_mod, "_CHUNK_BYTES", 7)
    monkeypatch.setattr(decode_mod, "_MAX_EVENTS", 1)
    genome = Genome(path, use_cache=False)
    for c, s in seqs.items():
        assert genome.fetch(c, 0, len(s)) == as_read(s)


def test_name_harmonisation_and_unknown_names(small_genome):
    path, _ = small_genome
    genome = Genome(path, verbose=False)
    assert genome.resolve("1") == "chr1"
    assert genome.resolve("chr10") == "chr10"
    assert genome.resolve("MT") == "chrM" and genome.resolve("M") == "chrM"
    assert genome.fetch("2", 0, 5) == genome.fetch("chr2", 0, 5)
    np.testing.assert_array_equal(
        genome.window_codes(["1", "chr1"], [3, 3], 4)[0], genome.codes("chr1", 3, 7)
    )
    assert "1" in genome and "chrX" not in genome
    with pytest.raises(ValueError) as err:
        genome.resolve("chr11")
    assert "chr1" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(ValueError, match="chroms has 1 entries"):
        genome.one_hot(["chr1"], [0, 1], 5)


def test_gc_content_and_edge_windows(small_genome):
    path, seqs = small_genome
    genome = Genome(path, verbose=False)
    gc = genome.gc_content(["chr1", "chr2", "chr1"], [0, -10, 10_000], 100)
    w = as_read(seqs["chr1"][:100])
    assert gc[0] == pytest.approx((w.count("G") + w.count("C")) / sum(w.count(b) for b in "ACGT"))
    w2 = as_read(seqs["chr2"][:90])
    assert gc[1] == pytest.approx(
        (w2.count("G") + w2.count("C")) / sum(w2.count(b) for b in "ACGT")
    )
    assert np.isnan(gc[2])  # entirely past the end
    assert genome.one_hot("chr1", [0, 5], 0).shape == (2, 4, 0)
    assert genome.one_hot("chr1", np.array([0.0]), 3, dtype=torch.float32).dtype == torch.float32
    with pytest.raises(TypeError):
        genome.one_hot("chr1", [0.5], 3)
    with pytest.raises(ValueError, match="end must be >= start"):
        genome.fetch("chr1", 10, 5)
    assert genome.chrom_codes("chr2").shape == (61,)


def test_cache_is_reused_and_rebuilt_when_the_fasta_changes(small_genome, rng):
    path, seqs = small_genome
    g1 = Genome(path, verbose=False)
    assert g1.cache_path.parent == path.parent / (path.name + ".gdcache")
    stamp = (g1.cache_path / "codes.npy").stat().st_mtime_ns
    g2 = Genome(path, verbose=False)
    assert g2.cache_path == g1.cache_path
    assert (g2.cache_path / "codes.npy").stat().st_mtime_ns == stamp
    # same size, new content and time: a new entry, the stale one removed
    new = {k: "".join(rng.choice(list("ACGT"), len(v))) for k, v in seqs.items()}
    old_stat = path.stat()
    write_fasta(path, new, line_width=60)
    assert path.stat().st_size == old_stat.st_size
    os.utime(path, ns=(old_stat.st_atime_ns, old_stat.st_mtime_ns + 5_000_000_000))
    g3 = Genome(path, verbose=False)
    assert g3.cache_path != g1.cache_path
    assert not g1.cache_path.exists()
    for c, s in new.items():
        assert g3.fetch(c, 0, len(s)) == s


@pytest.mark.parametrize("sampled", [False, True])
def test_cache_rebuilt_when_content_changes_with_same_size_and_mtime(
    small_genome, rng, monkeypatch, sampled
):
    """A FASTA rewritten with the same size and its modification time reset (cp -p, rsync -t) is
    decoded again: the cache key includes a hash of the content (sampled blocks for large files)."""
    import genodeep.io._genome_cache as cache_mod

    if sampled:  # the large-file path: hash 64 sampled blocks instead of the whole file
        monkeypatch.setattr(cache_mod, "_HASH_ALL_BYTES", 0)
        monkeypatch.setattr(cache_mod, "_HASH_BLOCK", 16)
    path, seqs = small_genome
    g1 = Genome(path, verbose=False)
    old_stat = path.stat()
    new = {k: "".join(rng.choice(list("ACGT"), len(v))) for k, v in seqs.items()}
    write_fasta(path, new, line_width=60)
    os.utime(path, ns=(old_stat.st_atime_ns, old_stat.st_mtime_ns))
    assert path.stat().st_size == old_stat.st_size
    assert path.stat().st_mtime_ns == old_stat.st_mtime_ns
    g2 = Genome(path, verbose=False)
    assert g2.cache_path != g1.cache_path
    for c, s in new.items():
        assert g2.fetch(c, 0, len(s)) == s
    assert Genome(path, verbose=False).cache_path == g2.cache_path  # and reused once built


def test_cache_dir_fallback_and_crash_safety(small_genome, tmp_path, monkeypatch):
    path, seqs = small_genome
    explicit = Genome(path, cache_dir=tmp_path / "cache", verbose=False)
    assert str(explicit.cache_path).startswith(str(tmp_path / "cache"))
    # FASTA folder not writable -> the user cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    real = cache_mod._writable_root
    monkeypatch.setattr(cache_mod, "_writable_root", lambda r: r.suffix != ".gdcache" and real(r))
    g = Genome(path, verbose=False)
    assert str(g.cache_path).startswith(str(tmp_path / "xdg" / "genodeep"))
    monkeypatch.undo()
    # a crash while decoding leaves no entry and no temporary folder behind
    root = tmp_path / "crash"

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_mod._NpySink, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        Genome(path, cache_dir=root, verbose=False)
    assert [p for p in root.rglob("*") if p.is_dir() and p.parent != root] == []
    monkeypatch.undo()
    good = Genome(path, cache_dir=root, verbose=False)
    assert good.fetch("chr2", 0, 61) == as_read(seqs["chr2"])
    # a damaged entry is rebuilt
    (good.cache_path / "codes.npy").write_bytes(b"garbage")
    again = Genome(path, cache_dir=root, verbose=False)
    assert again.fetch("chr2", 0, 61) == as_read(seqs["chr2"])


def test_pickle_reopens_the_memory_map(small_genome):
    path, seqs = small_genome
    genome = Genome(path, verbose=False)
    blob = pickle.dumps(genome)
    assert len(blob) < 2000  # the genome itself is not pickled
    clone = pickle.loads(blob)
    assert clone.fetch("chr1", 5, 40) == as_read(seqs["chr1"][5:40])


BAD_FILES = [
    (b"", "empty", None),
    (b"\n\n  \n", "no FASTA record", None),
    (b"ACGT\n>chr1\nACGT\n", "before the first header", 1),
    (b">chr1\nACGT\n>chr2\nAC\n>chr1\nGG\n", "appears twice", 5),
    (b">chr1\nACGT\nAC-T\n", "column 3", 3),
    (b">chr1\nACGT\n>\nAC\n", "no name", 3),
    (b">chr1\nACGU\n", "'U'", 2),
]


@pytest.mark.parametrize(("content", "message", "line"), BAD_FILES)
def test_bad_fasta_errors_name_file_and_line(tmp_path, content, message, line):
    path = tmp_path / "bad.fa"
    path.write_bytes(content)
    for read in (lambda: Genome(path, verbose=False), lambda: read_fasta(path)):
        with pytest.raises(InputFileError) as err:
            read()
        text = str(err.value)
        assert "bad.fa" in text and "Fix:" in text
        if message != "no FASTA record":
            assert message in text or (message == "empty" and "no record" in text), text
        if line is not None:
            assert f"line {line}" in text
    assert not list(tmp_path.glob("bad.fa.gdcache/v*"))  # nothing half-built


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "trunc.fa.gz"
    body = np.random.default_rng(0).choice(list(b"ACGT"), 20_000).astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(b">chr1\n" + body)[:2000])
    with pytest.raises(InputFileError, match="trunc.fa.gz"):
        Genome(path, verbose=False)
    with pytest.raises(InputFileError, match="trunc.fa.gz"):
        read_fasta(path)


def test_read_write_fasta_round_trip(tmp_path):
    seqs = {"seq1": "ACGTacgtNNRY", "seq2": "GATTACA" * 30, "empty": ""}
    for name in ("x.fa", "x.fa.gz"):
        write_fasta(tmp_path / name, seqs, line_width=13)
        assert read_fasta(tmp_path / name) == seqs
    write_fasta(tmp_path / "y.fa", list(seqs.items()), line_width=None)
    assert (tmp_path / "y.fa").read_text().splitlines()[3] == "GATTACA" * 30
    (tmp_path / "h.fa").write_text(">seq1 label=1 extra\nACGT\n")
    assert read_fasta(tmp_path / "h.fa") == {"seq1": "ACGT"}
    assert read_fasta(tmp_path / "h.fa", full_header=True) == {"seq1 label=1 extra": "ACGT"}
    # a failing write leaves the existing file untouched
    with pytest.raises(ValueError, match="line breaks"):
        write_fasta(tmp_path / "x.fa", {"ok": "ACGT", "bad\nname": "AC"})
    assert read_fasta(tmp_path / "x.fa") == seqs
    with pytest.raises(ValueError, match="line_width"):
        write_fasta(tmp_path / "z.fa", seqs, line_width=0)


# ------------------------------------------------------------------------------------------------
# fuzzing

_FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
_OK_ERRORS = (InputFileError, ValueError)


def _check_only_clean_errors(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.fa"
        path.write_bytes(content)
        for read in (lambda: Genome(path, use_cache=False), lambda: read_fasta(path)):
            try:
                read()
            except _OK_ERRORS:
                pass


@_FUZZ
@given(st.text(alphabet=st.sampled_from(list(">ACGTNacgtn \t\r\n-*xé;0")), max_size=200))
def test_fuzz_fasta_like_text_raises_only_input_errors(text):
    _check_only_clean_errors(text.encode("utf-8"))


@_FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_raise_only_input_errors(data):
    _check_only_clean_errors(data)
    _check_only_clean_errors(b"\x1f\x8b" + data)  # looks gzipped


names_st = st.text(alphabet=st.sampled_from(list("abcXYZ019_.")), min_size=1, max_size=8)


@_FUZZ
@given(
    st.dictionaries(
        names_st, st.text(alphabet=st.sampled_from(LETTERS), max_size=90), min_size=1, max_size=5
    ),
    st.integers(1, 30),
    st.booleans(),
)
def test_fuzz_valid_fasta_parses_to_what_was_written(records, width, crlf):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ok.fa"
        write_fasta(path, records, line_width=width)
        if crlf:
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        assert read_fasta(path) == records
        genome = Genome(path, use_cache=False)
        assert genome.chrom_sizes == {k: len(v) for k, v in records.items()}
        for name, seq in records.items():
            assert genome.fetch(name, -1, len(seq)) == "N" + as_read(seq)
