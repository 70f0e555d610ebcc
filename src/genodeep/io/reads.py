"""Base-resolution signal tracks from aligned reads: indexed BAM files and 10x-style fragment files.

- :func:`read_bam` counts, per base, the reads' 5' ends, 3' ends or aligned bases, lazily from an
  indexed BAM through pysam (optional dependency ``genodeep[bam]``); the file handle is reopened in
  each process (DataLoader workers, forked or spawned).
- :func:`read_fragments` counts Tn5 insertions (both ends of each fragment) of a fragments file
  in memory.
- :func:`open_track` is the one entry point for configs: a path or a mapping of a path and the
  reader's keyword arguments, to any :class:`~genodeep.io.signal.SignalTrack`.

Coordinates are 0-based half-open like BED.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from genodeep._io_utils import GZIP_ERRORS, open_text
from genodeep._validate import InputFileError, check_choice, check_file_exists, require
from genodeep.io.signal import SignalTrack, read_signal

__all__ = ["read_bam", "read_fragments", "open_track"]

_STRANDS = ("both", "+", "-")
_ENDS = ("5p", "3p", "coverage")
_PAIRED_AS = ("reads", "read1", "read2", "fragments")
# unmapped, secondary, QC fail, duplicate, supplementary
_SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800
# flags a read must carry for each paired_as: paired + read1 / read2; paired + proper pair
_NEED_FLAGS = {"reads": 0, "read1": 0x1 | 0x40, "read2": 0x1 | 0x80, "fragments": 0x1 | 0x2}
_ATAC_SHIFT = (4, -5)  # Tn5: + strand 5' ends +4, - strand 5' ends -5 (ChromBPNet, ArchR)
#: longest fragment (template length) counted by paired_as="fragments" with end="coverage"
MAX_FRAGMENT = 2000
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CHUNK_CHARS = 1 << 24  # characters of a fragments file parsed at a time
_MAX_POS = (1 << 31) - 1  # the largest position a BAM can hold


# --------------------------------------------------------------------------------------------------
# BAM


class _BamTrack(SignalTrack):
    """Per-base read-end counts or coverage of an indexed BAM, read lazily through pysam."""

    def __init__(
        self,
        path: str,
        *,
        strand: str,
        end: str,
        shifts: tuple[int, int],
        min_mapq: int,
        paired_as: str,
    ) -> None:
        self.path = path
        self.strand = strand
        self.end = end
        self.shifts = shifts
        self.min_mapq = min_mapq
        self.paired_as = paired_as
        self._bam = None
        self._pid = None
        bam = self._handle()
        self.chrom_sizes = {str(c): int(n) for c, n in zip(bam.references, bam.lengths)}
        if paired_as != "reads":
            self._check_paired()

    def _handle(self):
        """The pysam handle of this process (reopened after pickling or forking)."""
        if self._bam is None or self._pid != os.getpid():
            pysam = require("pysam", "bam")
            _check_bam_file(self.path)
            try:
                bam = pysam.AlignmentFile(self.path, "rb", check_sq=False)
            except (OSError, ValueError) as err:
                raise InputFileError(
                    f"cannot open as BAM ({err})",
                    path=self.path,
                    fix="the file is damaged or not a BAM; re-create it (samtools sort -o FILE)",
                ) from err
            problem = None
            if not bam.references:
                problem = "the header lists no reference sequences (@SQ lines): reads are unaligned"
                fix = "align the reads to a genome first and pass the sorted, indexed BAM"
            elif not bam.has_index():
                problem = (
                    "the BAM has no index (.bai or .csi beside it), which reading windows needs"
                )
                fix = f"index it: samtools index {self.path}"
            if problem:
                bam.close()
                raise InputFileError(problem, path=self.path, fix=fix)
            self._bam, self._pid = bam, os.getpid()
        return self._bam

    def _check_paired(self) -> None:
        """Refuse paired_as='read1'/'read2'/'fragments' on a BAM whose first reads are unpaired."""
        bam = self._handle()
        seen = paired = 0
        for read in bam.head(1000):
            seen += 1
            paired += read.flag & 0x1
        if seen and not paired:
            raise InputFileError(
                f"paired_as={self.paired_as!r} counts paired reads, but none of the first {seen} "
                "reads is paired",
                path=self.path,
                fix="use paired_as='reads' for single-end data",
            )

    def _margin(self) -> int:
        if self.paired_as == "fragments" and self.end == "coverage":
            return MAX_FRAGMENT
        return max(abs(s) for s in self.shifts)

    def _reads(self, chrom: str, start: int, end: int):
        """Reads passing the filters that overlap [start - margin, end + margin)."""
        bam = self._handle()
        lo = max(0, start - self._margin())
        hi = min(self.chrom_sizes[chrom], end + self._margin())
        need, q = _NEED_FLAGS[self.paired_as], self.min_mapq
        try:
            for read in bam.fetch(chrom, lo, hi):
                flag = read.flag
                if flag & _SKIP_FLAGS or flag & need != need or read.mapping_quality < q:
                    continue
                if read.reference_end is None:  # no aligned base
                    continue
                yield read
        except OSError as err:
            raise InputFileError(
                f"reading {chrom}:{lo}-{hi} failed ({err})",
                path=self.path,
                fix="the file is truncated or damaged; re-create it and its index",
            ) from err

    def _fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        if self.end == "coverage":
            if self.paired_as == "fragments":
                lo, hi = self._fragment_spans(chrom, start, end)
            else:
                lo, hi = self._blocks(chrom, start, end)
            return _coverage(lo, hi, start, end)
        pos = self._end_positions(chrom, start, end)
        keep = (pos >= start) & (pos < end)
        return np.bincount(pos[keep] - start, minlength=end - start).astype(np.float32)

    def _strand_ok(self, reverse: bool) -> bool:
        return self.strand == "both" or (self.strand == "-") == reverse

    def _end_positions(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Shifted 5' (or 3') end of each selected read, shape (R,)."""
        three = self.end == "3p"
        out = []
        for read in self._reads(chrom, start, end):
            rev = read.is_reverse
            if not self._strand_ok(rev):
                continue
            if rev != three:  # 5' end of a reverse read, 3' end of a forward read
                out.append(read.reference_end - 1 + self.shifts[1])
            else:
                out.append(read.reference_start + self.shifts[0])
        return np.asarray(out, dtype=np.int64)

    def _blocks(self, chrom: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Aligned blocks (CIGAR M/=/X; no deletions or skips) of the selected reads."""
        blocks = []
        for read in self._reads(chrom, start, end):
            if self._strand_ok(read.is_reverse):
                blocks.extend(read.get_blocks())
        arr = np.asarray(blocks, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    def _fragment_spans(self, chrom: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """[left, right) of each properly paired fragment, counted once from its leftmost mate."""
        spans = []
        for read in self._reads(chrom, start, end):
            tlen, mate = abs(read.template_length), read.next_reference_start
            if not 0 < tlen <= MAX_FRAGMENT or read.next_reference_id != read.reference_id:
                continue
            if read.reference_start > mate or (read.reference_start == mate and read.is_read2):
                continue  # the other mate stands for this fragment
            spans.append((read.reference_start + self.shifts[0], read.reference_start + tlen))
        arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1] + self.shifts[1]

    def close(self) -> None:
        """Close the file handle (it is reopened on the next query)."""
        if self._bam is not None:
            self._bam.close()
            self._bam = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_bam"] = None
        state["_pid"] = None
        return state

    def __repr__(self) -> str:
        return (
            f"SignalTrack({self.path!r}, BAM {self.end} strand={self.strand}, "
            f"{len(self.chrom_sizes)} chromosomes)"
        )


def _coverage(lo: np.ndarray, hi: np.ndarray, start: int, end: int) -> np.ndarray:
    """Number of intervals [lo, hi) covering each base of [start, end), float32 shape (end-start,)."""
    n = end - start
    lo = np.clip(lo - start, 0, n)
    hi = np.clip(hi - start, 0, n)
    keep = hi > lo
    diff = np.bincount(lo[keep], minlength=n + 1) - np.bincount(hi[keep], minlength=n + 1)
    return np.cumsum(diff[:n]).astype(np.float32)


def _check_bam_file(path: str) -> None:
    """Refuse SAM text, CRAM, other files and a BAM cut short, before pysam sees them."""
    check_file_exists(path, "BAM file")
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, os.path.getsize(path) - len(_BGZF_EOF)))
        tail = fh.read()
    convert = f"convert it: samtools sort -o {path}.sorted.bam {path}; then samtools index it"
    if head.startswith(b"CRAM"):
        raise InputFileError("this is a CRAM file, not a BAM", path=path, fix=convert)
    if head[:2] != b"\x1f\x8b":
        kind = "SAM text" if head[:1] == b"@" else "not a BAM (not BGZF-compressed)"
        raise InputFileError(f"the file is {kind}", path=path, fix=convert)
    try:
        with gzip.open(path, "rb") as gz:
            magic = gz.read(4)
    except GZIP_ERRORS:
        magic = b""
    if magic != b"BAM\x01":
        raise InputFileError(
            "the file is gzip-compressed but not a BAM (no BAM magic number)",
            path=path,
            fix="pass a coordinate-sorted, indexed BAM (samtools sort, samtools index)",
        )
    if tail != _BGZF_EOF:
        raise InputFileError(
            "the BAM has no BGZF end-of-file marker: it is truncated",
            path=path,
            fix="re-create or re-download it, then index it: samtools index FILE",
        )


def _int_arg(name: str, value: object, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def read_bam(
    path: str | os.PathLike,
    *,
    strand: str = "both",
    end: str = "5p",
    shift: int = 0,
    atac: bool = False,
    min_mapq: int = 0,
    paired_as: str = "reads",
) -> SignalTrack:
    """Per-base read counts of an indexed BAM, as a lazy signal track.

    Parameters
    ----------
    path : str or os.PathLike
        A coordinate-sorted BAM with its index (``.bai`` or ``.csi``) beside it.
    strand : {"both", "+", "-"}, default "both"
        Count reads on this strand only (a read's own strand, also for paired reads).
    end : {"5p", "3p", "coverage"}, default "5p"
        What is counted per base: each read's 5' end (``reference_start`` for a forward read,
        ``reference_end - 1`` for a reverse read; soft clips are not part of the alignment), its
        3' end, or its aligned bases (CIGAR ``M``/``=``/``X``; deletions and skips are not covered).
    shift : int, default 0
        Move 5' ends ``shift`` bases downstream on each strand (ChIP-seq fragment shift: forward
        ends ``+shift``, reverse ends ``-shift``); may be negative. Only with ``end="5p"``, or
        with ``paired_as="fragments"`` where it moves both ends of each fragment inwards.
    atac : bool, default False
        Apply the Tn5 shift: forward 5' ends +4, reverse 5' ends -5 (ChromBPNet, ArchR). Not
        together with ``shift``.
    min_mapq : int, default 0
        Skip reads with a lower mapping quality. Unmapped, secondary, supplementary, QC-failed
        and duplicate-flagged reads are always skipped.
    paired_as : {"reads", "read1", "read2", "fragments"}, default "reads"
        ``"reads"``: every read counts by itself (mates of a pair too). ``"read1"``/``"read2"``:
        only that mate of each pair. ``"fragments"``: only properly paired mates; with
        ``end="5p"`` each mate's 5' end (the two ends of the fragment, each a Tn5 insertion for
        ATAC-seq), with ``end="coverage"`` every base of the fragment from the leftmost mate's
        start over the template length (fragments longer than ``MAX_FRAGMENT`` = 2000 bases are
        not counted). Mates are filtered (``min_mapq``, flags) one by one.

    Returns
    -------
    track : SignalTrack
        ``track.values(chroms, starts, length, bin_size=...)`` gives counts of shape
        ``(N, length // bin_size)``; a chromosome the BAM lacks gives zeros. ``chrom_sizes`` comes
        from the BAM header. The track can be pickled (DataLoader workers reopen the file).

    Raises
    ------
    InputFileError
        For a file that is SAM text, CRAM, not a BAM, truncated, unaligned (no ``@SQ``) or not
        indexed ("index it: samtools index FILE"), and for ``paired_as`` other than ``"reads"``
        on single-end data.
    ValueError
        For invalid arguments.
    """
    check_choice("strand", strand, _STRANDS)
    check_choice("end", end, _ENDS)
    check_choice("paired_as", paired_as, _PAIRED_AS)
    shift = _int_arg("shift", shift)
    min_mapq = _int_arg("min_mapq", min_mapq, minimum=0)
    if atac and shift:
        raise ValueError(
            "atac=True applies the Tn5 shift (+4 / -5) itself. Fix: pass either atac=True or shift"
        )
    shifts = _ATAC_SHIFT if atac else (shift, -shift)
    if any(shifts) and end != "5p" and not (end == "coverage" and paired_as == "fragments"):
        raise ValueError(
            f"shift/atac move 5' ends; they do not apply to end={end!r}. Fix: use end='5p' (or "
            "end='coverage' with paired_as='fragments'), or drop shift/atac"
        )
    if paired_as == "fragments" and end == "3p":
        raise ValueError(
            "a fragment's ends are its mates' 5' ends. Fix: use end='5p' or end='coverage' with "
            "paired_as='fragments', or paired_as='reads' for 3' ends"
        )
    if paired_as == "fragments" and end == "coverage" and strand != "both":
        raise ValueError(
            "fragment coverage has no strand. Fix: use strand='both', or paired_as='read1'"
        )
    return _BamTrack(
        os.fspath(path),
        strand=strand,
        end=end,
        shifts=(int(shifts[0]), int(shifts[1])),
        min_mapq=min_mapq,
        paired_as=paired_as,
    )


# --------------------------------------------------------------------------------------------------
# fragments files

_FRAG_FIX = (
    "give tab-separated 'chrom start end [barcode [count]]' lines with integer 0 <= start < end "
    "and count >= 1 ('#' lines are comments)"
)


def _read_barcodes(barcodes: str | os.PathLike | Iterable[str]) -> set[str]:
    """A barcode whitelist: a collection of strings or a file with one barcode a line."""
    if isinstance(barcodes, (str, os.PathLike)):
        out = set()
        with open_text(barcodes, "barcode file") as fh:
            for line in fh:
                word = line.split("\t", 1)[0].strip()
                if word and not word.startswith("#"):
                    out.add(word)
    else:
        out = {str(b) for b in barcodes}
    if not out:
        raise ValueError("the barcode whitelist is empty. Fix: pass at least one barcode, or None")
    return out


def _ints(values: list[str], linenos: np.ndarray, path: str, what: str) -> np.ndarray:
    """Column of integers, or an InputFileError naming the first line that is not one."""
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        for value, lineno in zip(values, linenos):
            try:
                int(value)
            except (ValueError, OverflowError):
                raise InputFileError(
                    f"{what} {value.strip()!r} is not an integer",
                    path=path,
                    line=int(lineno),
                    fix=_FRAG_FIX,
                ) from None
        raise  # pragma: no cover - numpy refused what int() accepts


def _first_bad(bad: np.ndarray, linenos: np.ndarray, message: str, path: str) -> None:
    if bad.any():
        k = int(np.argmax(bad))
        raise InputFileError(message, path=path, line=int(linenos[k]), fix=_FRAG_FIX)


class _Insertions:
    """Per-chromosome float32 insertion counts, grown as positions arrive."""

    def __init__(self) -> None:
        self.counts: dict[str, np.ndarray] = {}

    def add(self, chrom: str, pos: np.ndarray, weight: np.ndarray) -> None:
        acc = self.counts.get(chrom, np.zeros(0, dtype=np.float32))
        lo, hi = int(pos.min()), int(pos.max()) + 1
        if hi > len(acc):
            grown = np.zeros(max(hi, len(acc) + len(acc) // 2), dtype=np.float32)
            grown[: len(acc)] = acc
            acc = grown
        if hi - lo <= 8 * len(pos):  # sorted files: a short stretch per block
            acc[lo:hi] += np.bincount(pos - lo, weights=weight, minlength=hi - lo)
        else:
            np.add.at(acc, pos, weight)
        self.counts[chrom] = acc

    def arrays(self) -> dict[str, np.ndarray]:
        """Counts trimmed to the last insertion on each chromosome."""
        return {c: a[: int(np.flatnonzero(a)[-1]) + 1] for c, a in self.counts.items() if a.any()}


def _parse_chunk(
    lines: list[str], first_line: int, path: str, whitelist: set[str] | None, out: _Insertions
) -> int:
    """Add the insertions of one block of lines; returns the number of fragments kept."""
    rows, linenos = [], []
    for k, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
            linenos.append(first_line + k)
    if not rows:
        return 0
    linenos = np.asarray(linenos)
    ncol = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    need = 4 if whitelist is not None else 3
    _first_bad(ncol < need, linenos, f"expected at least {need} tab-separated fields", path)
    if whitelist is not None:
        keep = np.fromiter((r[3].strip() in whitelist for r in rows), dtype=bool, count=len(rows))
        rows = [r for r, k in zip(rows, keep) if k]
        linenos = linenos[keep]
        if not rows:
            return 0
    start = _ints([r[1] for r in rows], linenos, path, "start")
    end = _ints([r[2] for r in rows], linenos, path, "end")
    count = _ints([r[4] if len(r) > 4 else "1" for r in rows], linenos, path, "count")
    _first_bad(start < 0, linenos, "start is negative", path)
    _first_bad(end <= start, linenos, "end <= start: the fragment is empty", path)
    _first_bad(
        end > _MAX_POS, linenos, f"end is past {_MAX_POS:,}, longer than any chromosome", path
    )
    _first_bad(count < 1, linenos, "count is below 1", path)
    codes, names = pd.factorize(pd.Series([r[0].strip() for r in rows], dtype=object))
    weight = count.astype(np.float32)
    for k, chrom in enumerate(names):
        sel = codes == k
        w = weight[sel]
        out.add(str(chrom), np.concatenate([start[sel], end[sel] - 1]), np.concatenate([w, w]))
    return len(rows)


def read_fragments(
    path: str | os.PathLike, *, barcodes: str | os.PathLike | Iterable[str] | None = None
) -> SignalTrack:
    """Tn5 insertion counts of a 10x-style fragments file, in memory.

    Parameters
    ----------
    path : str or os.PathLike
        Tab-separated ``chrom start end [barcode [count]]`` lines (plain, gzip or bgzip; ``#``
        lines are comments), 0-based half-open fragments whose ends are already Tn5-shifted as
        10x Cell Ranger ATAC writes them.
    barcodes : set of str, or str / os.PathLike, optional
        Keep only fragments of these cell barcodes (4th column): a collection, or a file with one
        barcode a line (first tab field; plain or gzip). Default: all fragments.

    Returns
    -------
    track : SignalTrack
        Each fragment adds ``count`` (5th column, default 1) insertions at ``start`` and at
        ``end - 1``. Held as one dense float32 array per chromosome from base 0 to the last
        insertion: 4 bytes per base (about 12 GB for a whole human genome; read a chromosome
        subset or convert to bigWig for that).

    Raises
    ------
    InputFileError
        Naming the line, for too few fields, non-integer start/end/count, a negative start,
        ``end <= start``, a count below 1; for a truncated gzip file; and when no fragment is
        left (an empty file, or no barcode of the whitelist in the file).
    """
    path = os.fspath(path)
    check_file_exists(path, "fragments file")
    whitelist = None if barcodes is None else _read_barcodes(barcodes)
    out = _Insertions()
    kept, lineno, rest = 0, 1, ""
    with open_text(path, "fragments file") as fh:
        while True:
            block = fh.read(_CHUNK_CHARS)
            text = rest + block
            cut = text.rfind("\n") + 1 if block else len(text)
            lines, rest = text[:cut].split("\n"), text[cut:]
            if lines[-1] == "":
                lines.pop()
            kept += _parse_chunk(lines, lineno, path, whitelist, out)
            lineno += len(lines)
            if not block:
                break
    if not kept:
        fix = _FRAG_FIX
        if whitelist is not None:
            fix = (
                f"check that the {len(whitelist)} barcodes (e.g. {min(whitelist)!r}) are spelled "
                "as in the file's 4th column (a '-1' suffix differs)"
            )
        why = "no fragment lines" if whitelist is None else "no fragment of the given barcodes"
        raise InputFileError(why, path=path, fix=fix)
    return SignalTrack.from_arrays(out.arrays())


# --------------------------------------------------------------------------------------------------
# one entry point for configs

_SIGNAL_FORMATS = ("bigwig", "wig", "bedgraph")
_TRACK_FORMATS = (*_SIGNAL_FORMATS, "bam", "fragments")
_BAM_KEYS = ("strand", "end", "shift", "atac", "min_mapq", "paired_as")
_FORMAT_KEYS = {"bam": _BAM_KEYS, "fragments": ("barcodes",)}


def _detect_track_format(path: str) -> str | None:
    """'bam' or 'fragments' from the file name; None leaves it to :func:`read_signal`."""
    name = os.path.basename(path).lower()
    if name.endswith((".bam", ".sam", ".cram")):
        return "bam"
    if "fragments" in name and name.endswith((".tsv", ".tsv.gz", ".bed.gz")):
        return "fragments"
    return None


def open_track(spec: str | os.PathLike | Mapping | SignalTrack) -> SignalTrack:
    """Open any signal track a config names.

    Parameters
    ----------
    spec : str, os.PathLike, Mapping or SignalTrack
        A path: ``.bam`` (:func:`read_bam` with its defaults), a fragments file (a name containing
        ``fragments`` and ending ``.tsv``, ``.tsv.gz`` or ``.bed.gz``; :func:`read_fragments`), or
        a bigWig / wig / bedGraph (:func:`~genodeep.io.signal.read_signal`). Or a mapping
        ``{"path": ..., "format": ..., **options}``: ``format`` (optional) is one of ``bigwig``,
        ``wig``, ``bedgraph``, ``bam``, ``fragments``; the options are the keyword arguments of
        :func:`read_bam` (``strand``, ``end``, ``shift``, ``atac``, ``min_mapq``, ``paired_as``)
        or :func:`read_fragments` (``barcodes``). A SignalTrack is returned as it is.

    Returns
    -------
    track : SignalTrack

    Raises
    ------
    ValueError
        For a mapping without ``path``, an unknown ``format``, or keys the format does not take
        (the message lists the valid keys).
    """
    if isinstance(spec, SignalTrack):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        spec = {"path": spec}
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"a track is given as a path or a mapping with 'path', got {type(spec).__name__}"
        )
    options = dict(spec)
    if "path" not in options:
        raise ValueError(f"the track {dict(spec)!r} has no 'path'. Fix: give {{path: FILE, ...}}")
    path = os.fspath(options.pop("path"))
    fmt = options.pop("format", None)
    if fmt is not None:
        fmt = str(fmt).lower()
        check_choice("format", fmt, _TRACK_FORMATS)
    else:
        fmt = _detect_track_format(path)
    valid = _FORMAT_KEYS.get(fmt, ())
    unknown = sorted(k for k in options if k not in valid)
    if unknown:
        what = f"format {fmt!r}" if fmt else "a bigWig/wig/bedGraph track"
        keys = ", ".join(("path", "format", *valid))
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))} for {what}. Fix: use only: {keys}"
        )
    if fmt == "bam":
        return read_bam(path, **options)
    if fmt == "fragments":
        return read_fragments(path, **options)
    return read_signal(path, format=fmt)
