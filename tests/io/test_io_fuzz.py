"""Fuzzing the readers with truncated and garbled files.

A reader given a file cut at any byte (plain or gzip) or with random bytes or lines put into it may
read it, or refuse it with an ``InputFileError``/``ValueError`` whose message names the file; any other
exception (``EOFError``, ``zlib.error``, ``IndexError``, ``UnicodeDecodeError`` ...) is a bug.
"""

from __future__ import annotations

import gzip
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genodeep.io.bed import read_bed
from genodeep.io.fasta import Genome, read_fasta
from genodeep.io.jaspar import read_jaspar, read_pfm
from genodeep.io.meme import read_meme
from genodeep.io.signal import read_signal
from genodeep.io.vcf import iter_vcf

FASTA = ">chr1 test\nACGTACGTNNacgtRYACGT\nACGTAC\n>chr2\nGGGGCCCCAAAATTTT\n"
BED = (
    "track name=x\n"
    "chr1\t10\t50\tp1\t500\t+\t3.5\t-1\t2.1\t20\n"
    "chr1\t60\t90\tp2\t100\t-\t2.0\t-1\t1.0\t15\n"
    "chr2\t0\t12\tp3\t0\t.\t1.0\t-1\t0.5\t6\n"
)
VCF = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    "chr1\t5\trs1\tA\tC,G\t50\tPASS\tDP=3\n"
    "chr1\t9\t.\tAC\tA\t.\t.\t.\n"
    "chr1\t12\t.\tG\t<DEL>\t.\t.\t.\n"
)
MEME = (
    "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
    "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
    "MOTIF M1 one\nletter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0\n"
    " 0.1 0.2 0.3 0.4\n 1.0 0.0 0.0 0.0\n\n"
    "MOTIF M2\nletter-probability matrix: alength= 4 w= 3\n"
    "0.25 0.25 0.25 0.25\n0 0 0 1\n0.5 0.5 0 0\n"
)
JASPAR = (
    ">MA0001.1 AGL3\n"
    "A  [ 0  3 79 40 ]\nC  [94 75  4  3 ]\nG  [ 1  0  3  4 ]\nT  [ 2 19 11 50 ]\n"
    ">MA0002.1 X\n"
    "A  [ 1  2 ]\nC  [ 3  4 ]\nG  [ 5  6 ]\nT  [ 7  8 ]\n"
)
PFM = ">m1\n0 3 79\n94 75 4\n1 0 3\n2 19 11\n"
WIG = (
    "track type=wiggle_0\n"
    "variableStep chrom=chr1 span=2\n10 1.5\n20 2.5\n"
    "fixedStep chrom=chr2 start=5 step=3 span=2\n1\n2\n3.5\n"
)
BEDGRAPH = "track type=bedGraph\nchr1\t0\t10\t1.5\nchr1\t10\t25\t-2\nchr2\t3\t9\t0.25\n"

READERS = {
    "fa": (FASTA, read_fasta),
    "genome.fa": (FASTA, lambda p: Genome(p, use_cache=False, verbose=False).chrom_sizes),
    "narrowPeak": (BED, read_bed),
    "vcf": (VCF, lambda p: list(iter_vcf(p))),
    "meme": (MEME, read_meme),
    "jaspar": (JASPAR, read_jaspar),
    "pfm": (PFM, read_pfm),
    "wig": (WIG, read_signal),
    "bedGraph": (BEDGRAPH, read_signal),
}

_counter = itertools.count()


def _check(folder, suffix: str, data: bytes, reader) -> None:
    path = os.path.join(folder, f"f{next(_counter)}.{suffix}")
    with open(path, "wb") as fh:
        fh.write(data)
    try:
        reader(path)
    except ValueError as err:  # InputFileError is a ValueError
        assert os.path.basename(path) in str(err), f"the error does not name the file: {err}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz"))


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 50)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@pytest.mark.parametrize("suffix", list(READERS))
def test_intact_files_read(folder, suffix):
    text, reader = READERS[suffix]
    _check(folder, suffix, text.encode(), reader)
    _check(folder, suffix + ".gz", gzip.compress(text.encode()), reader)


@pytest.mark.parametrize("suffix", list(READERS))
@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True), gz=st.booleans())
def test_truncated(folder, suffix, cut, gz):
    text, reader = READERS[suffix]
    data = gzip.compress(text.encode(), mtime=0) if gz else text.encode()
    _check(folder, suffix + (".gz" if gz else ""), data[: int(cut * len(data))], reader)


@pytest.mark.parametrize("suffix", list(READERS))
@FUZZ
@given(
    at=st.floats(0, 1),
    garbage=st.binary(min_size=1, max_size=40),
    replace=st.booleans(),
    gz=st.booleans(),
)
def test_garbage_bytes(folder, suffix, at, garbage, replace, gz):
    text, reader = READERS[suffix]
    data = text.encode()
    if gz and at > 0.5:  # garbage inside the compressed stream
        data = gzip.compress(data, mtime=0)
    i = int(at * len(data))
    data = data[:i] + garbage + data[i + (len(garbage) if replace else 0) :]
    if gz and at <= 0.5:  # garbage in the text, then compressed
        data = gzip.compress(data, mtime=0)
    _check(folder, suffix + (".gz" if gz else ""), data, reader)


_LINE = st.text(
    alphabet=st.sampled_from(list("ACGTN>#@ \t.-+0123456789e=:[]chrMOTIF\r")), max_size=30
)


@pytest.mark.parametrize("suffix", list(READERS))
@FUZZ
@given(lineno=st.integers(0, 40), lines=st.lists(_LINE, min_size=1, max_size=3), drop=st.booleans())
def test_garbage_lines(folder, suffix, lineno, lines, drop):
    text, reader = READERS[suffix]
    rows = text.splitlines(keepends=True)
    i = min(lineno, len(rows))
    rows[i : i + (1 if drop else 0)] = [line + "\n" for line in lines]
    _check(folder, suffix, "".join(rows).encode(), reader)


def test_gzip_truncation_names_file_line_and_fix(tmp_path):
    """The shared text opener turns a cut gzip stream into a file/line/fix error."""
    from genodeep import InputFileError

    body = VCF + "".join(f"chr1\t{i}\t.\tA\tC\t.\t.\t.\n" for i in range(20, 20000))
    data = gzip.compress(body.encode())
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as err:
        list(iter_vcf(path))
    msg = str(err.value)
    assert str(path) in msg and "EOFError" in msg and err.value.line > 1000
    assert f"after line {err.value.line - 1:,}" in msg
    assert "truncated or not gzip; re-download or re-compress it" in msg
