"""Streaming VCF/BCF reader with record-level validation.

Two paths, one set of rules (:func:`_check_record`) and one :class:`Variant` type:

* A text VCF (plain, gzip or bgzip) read from start to end is parsed line by line here, so that every
  error names the file and the line, memory stays bounded, and no optional dependency is needed.
  htslib is not used for this on purpose: through cyvcf2 0.35 a blank line or a non-integer POS in a
  text VCF crashes the process (segmentation fault), a line with fewer than 8 columns is silently
  padded with missing values, undeclared contigs are reported on stderr, and htslib gives no line
  numbers.
* BCF files and region queries (``region="chr1:100-200"`` on a bgzipped VCF with a tabix ``.tbi`` or
  CSI ``.csi`` index, or an indexed BCF) go through cyvcf2 (htslib; ``pip install 'genodeep[vcf]'``).
  Those records have no text line: :attr:`Variant.line` is ``None`` and errors name the file and the
  record (``chrom:pos``) instead.

A VCF of millions of variants can be split into shards processed by independent workers
(``shard=(i, n)`` keeps every n-th record starting at i).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from genodeep._io_utils import GZIP_ERRORS, is_gzip, open_text
from genodeep._validate import InputFileError, check_file_exists, near_matches, require

_BASES = re.compile(r"^[ACGTNacgtn]+$")
_REGION = re.compile(r"^(?P<chrom>.+):(?P<start>[\d,]+)(?:-(?P<end>[\d,]*))?$")
_INDEX_FIX = (
    "region queries need a bgzip-compressed VCF with a tabix or CSI index beside it "
    "(bgzip file.vcf && tabix -p vcf file.vcf.gz, or bcftools index), or an indexed BCF"
)


@dataclass(frozen=True)
class Variant:
    """One ALT allele of a VCF record.

    Attributes
    ----------
    chrom : str
        Contig as written in the VCF.
    pos : int
        1-based position of the first REF base (VCF ``POS``).
    id : str
    ref, alt : str
        Alleles, uppercase. ``alt`` may be symbolic (``<DEL>``, ``*``, breakends); see ``skip_reason``.
    record : int
        0-based index of the record among data lines (the same for every ALT of a multi-allelic record).
    allele : int
        1-based ALT index within the record.
    line : int or None
        1-based line number in the file; ``None`` for records read through htslib (BCF input or a
        region query), which have no text line.
    """

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    record: int
    allele: int
    line: int | None

    @property
    def start(self) -> int:
        """0-based start of the REF allele."""
        return self.pos - 1

    @property
    def kind(self) -> str:
        """``snv``, ``mnv``, ``insertion``, ``deletion``, ``complex`` or ``symbolic``."""
        if self.skip_reason:
            return "symbolic"
        if len(self.ref) == len(self.alt):
            return "snv" if len(self.ref) == 1 else "mnv"
        if (
            self.ref
            and self.alt
            and (self.alt.startswith(self.ref) or self.ref.startswith(self.alt))
        ):
            return "insertion" if len(self.alt) > len(self.ref) else "deletion"
        return "complex"

    @property
    def skip_reason(self) -> str:
        """Why this allele cannot be scored from sequence ('' when it can)."""
        a = self.alt
        if a == "*":
            return "'*' allele (overlapping deletion) has no sequence"
        if a.startswith("<"):
            return f"symbolic allele {a} has no explicit sequence"
        if "[" in a or "]" in a:
            return "breakend allele has no explicit sequence"
        if a == ".":
            return "no ALT allele (monomorphic record)"
        return ""


def _is_bcf(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a BCF file (BGZF-compressed or not), judged by its magic bytes."""
    check_file_exists(path, "VCF")
    if is_gzip(path):
        try:
            with gzip.open(path, "rb") as fh:
                magic = fh.read(3)
        except GZIP_ERRORS:
            return False  # the text reader then names the file and the line
    else:
        with open(path, "rb") as fh:
            magic = fh.read(3)
    return magic == b"BCF"


def read_vcf_header(path: str | os.PathLike) -> list[str]:
    """Header lines (``##...`` and the ``#CHROM`` line), without newlines; VCF or BCF."""
    if _is_bcf(path):
        reader = _open_htslib(path)
        try:
            return reader.raw_header.rstrip("\n").split("\n")
        finally:
            reader.close()
    out = []
    with open_text(path, "VCF") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            out.append(line.rstrip("\n"))
    return out


def iter_vcf(
    path: str | os.PathLike,
    *,
    shard: tuple[int, int] | None = None,
    region: str | None = None,
) -> Iterator[Variant]:
    """Yield one :class:`Variant` per ALT allele of each record.

    Parameters
    ----------
    path : path
        VCF (plain, gzip or bgzip) or BCF. BCF input needs cyvcf2 (``pip install 'genodeep[vcf]'``).
    shard : (i, n), optional
        Keep records whose 0-based index ``r`` satisfies ``r % n == i`` (``r`` counts the records of
        the file, or of the region when ``region`` is given).
    region : str, optional
        ``"chrom"``, ``"chrom:start"`` or ``"chrom:start-end"`` (1-based, inclusive, as in tabix and
        bcftools): only records overlapping it. Needs cyvcf2 and a bgzipped VCF with a ``.tbi`` or
        ``.csi`` index beside it, or an indexed BCF. A region with no records yields nothing.

    Raises
    ------
    InputFileError
        Missing ``#CHROM`` header, fewer than 8 columns, non-integer or < 1 POS, REF with characters other
        than A, C, G, T, N, ALT that is neither bases nor a symbolic allele, or a VCF with no records;
        a region on a contig the file does not have, or on a file without an index.
    ValueError
        A malformed ``shard`` or ``region`` argument.

    Notes
    -----
    In a region query htslib parses the text lines: it stops at a line it cannot parse (e.g. a blank
    line inside an indexed file) and prints the reason to stderr. Reading the whole file without
    ``region`` reports such a line with its number.
    """
    if shard is not None:
        i, n = shard
        if not (isinstance(i, int) and isinstance(n, int) and n >= 1 and 0 <= i < n):
            raise ValueError(
                f"shard must be (i, n) with 0 <= i < n, got {shard!r}; e.g. --shard 0/4"
            )
    if region is not None and (not isinstance(region, str) or not region.strip()):
        raise ValueError(
            f"region must be a string like 'chr1:100-200' (1-based, inclusive), got {region!r}"
        )
    if region is not None or _is_bcf(path):
        yield from _iter_htslib(path, shard, region)
    else:
        yield from _iter_text(path, shard)


def _iter_text(path, shard: tuple[int, int] | None) -> Iterator[Variant]:
    seen_header = False
    record = -1
    n_records = 0
    with open_text(path, "VCF") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##"):
                continue
            if line.startswith("#"):
                if not line.upper().startswith("#CHROM"):
                    raise InputFileError(
                        "header line should start with #CHROM", path=path, line=lineno
                    )
                seen_header = True
                continue
            if not line.strip():
                continue
            if not seen_header:
                raise InputFileError(
                    "data line before the #CHROM header line",
                    path=path,
                    line=lineno,
                    fix="a VCF needs a '#CHROM POS ID REF ALT QUAL FILTER INFO' header line",
                )
            record += 1
            n_records += 1
            if shard is not None and record % shard[1] != shard[0]:
                continue
            cols = line.rstrip("\n").rstrip("\r").split("\t")
            if len(cols) < 8:
                raise InputFileError(
                    f"expected at least 8 tab-separated columns, found {len(cols)}",
                    path=path,
                    line=lineno,
                    fix="VCF columns are tab-separated: CHROM POS ID REF ALT QUAL FILTER INFO",
                )
            try:
                pos = int(cols[1])
            except ValueError:
                raise InputFileError(
                    f"POS {cols[1]!r} is not an integer", path=path, line=lineno
                ) from None
            yield from _check_record(
                cols[0], pos, cols[2], cols[3], cols[4].split(","), record, path, lineno, ""
            )
    if not seen_header:
        raise InputFileError(
            "no #CHROM header line (empty or not a VCF)",
            path=path,
            fix="check the file; a VCF starts with ##fileformat and a #CHROM line",
        )
    if n_records == 0:
        raise InputFileError(
            "the VCF has no variant records", path=path, fix="check the file is the one you meant"
        )


def _check_record(
    chrom: str,
    pos: int,
    vid: str,
    ref: str,
    alts: list[str],
    record: int,
    path,
    lineno: int | None,
    where: str,
) -> Iterator[Variant]:
    """Validate one record (the rules shared by both paths) and yield its alleles.

    ``where`` prefixes messages about records without a line number (``"record chr1:10: "``).
    """
    if pos < 1:
        raise InputFileError(
            f"{where}POS {pos} is below 1 (VCF positions are 1-based)", path=path, line=lineno
        )
    if not _BASES.match(ref):
        raise InputFileError(
            f"{where}REF {ref!r} has characters other than A, C, G, T, N", path=path, line=lineno
        )
    ref = ref.upper()
    for k, alt in enumerate(alts, 1):
        bases = _BASES.match(alt)
        if not (bases or alt in ("*", ".") or alt.startswith("<") or "[" in alt or "]" in alt):
            raise InputFileError(
                f"{where}ALT {alt!r} is neither bases (A, C, G, T, N) nor a symbolic allele",
                path=path,
                line=lineno,
            )
        yield Variant(chrom, pos, vid, ref, alt.upper() if bases else alt, record, k, lineno)


def _open_htslib(path):
    cyvcf2 = require("cyvcf2", "vcf")
    check_file_exists(path, "VCF")
    try:
        # samples="-": genotypes are never needed here, so htslib skips them
        return cyvcf2.VCF(os.fspath(path), lazy=True, samples="-")
    except Exception as err:  # cyvcf2 raises OSError or a bare Exception
        raise InputFileError(
            f"htslib could not read the header ({err})",
            path=path,
            fix="check the file; a VCF starts with ##fileformat and a #CHROM line",
        ) from None


def _check_region(region: str, path, contigs: list[str]) -> None:
    chrom = region
    m = None if region in contigs else _REGION.match(region)
    if m is None and region not in contigs and ":" in region:
        raise ValueError(
            f"region {region!r} should be 'chrom', 'chrom:start' or 'chrom:start-end' "
            "(1-based, inclusive), e.g. 'chr1:100-200'"
        )
    if m is not None:
        chrom = m["chrom"]
        start = int(m["start"].replace(",", ""))
        end = m["end"].replace(",", "") if m["end"] else ""
        if start < 1 or (end and int(end) < start):
            raise ValueError(
                f"region {region!r}: start must be >= 1 and end >= start (1-based, inclusive)"
            )
    if chrom not in contigs:
        close = near_matches(chrom, contigs)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputFileError(
            f"region {region!r}: contig {chrom!r} is not in the file{hint}",
            path=path,
            fix=f"use one of its contigs ({', '.join(contigs[:10])}{', ...' if len(contigs) > 10 else ''})",
        )


def _iter_htslib(path, shard: tuple[int, int] | None, region: str | None) -> Iterator[Variant]:
    reader = _open_htslib(path)
    try:
        if region is None:
            records = iter(reader)
        else:
            if not is_gzip(path):
                raise InputFileError(
                    "a region query needs a bgzip-compressed, indexed file",
                    path=path,
                    fix=_INDEX_FIX,
                )
            if not any(os.path.exists(f"{os.fspath(path)}{ext}") for ext in (".tbi", ".csi")):
                raise InputFileError(
                    "a region query needs an index (.tbi or .csi) beside the file",
                    path=path,
                    fix=_INDEX_FIX,
                )
            _check_region(region, path, list(reader.seqnames))
            records = reader(region)
        record = -1
        last = "the header"
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception as err:  # cyvcf2 raises bare Exceptions (unparsable record, bad index)
                raise InputFileError(
                    f"htslib could not read on after {last} ({type(err).__name__}: {err})",
                    path=path,
                    fix="check the file, e.g. with bcftools view",
                ) from None
            record += 1
            chrom, pos = rec.CHROM, rec.POS
            last = f"{chrom}:{pos}"
            if shard is not None and record % shard[1] != shard[0]:
                continue
            alts = rec.ALT or ["."]
            yield from _check_record(
                chrom, pos, rec.ID or ".", rec.REF, alts, record, path, None, f"record {last}: "
            )
    finally:
        reader.close()
    if region is None and record < 0:
        raise InputFileError(
            "the VCF has no variant records", path=path, fix="check the file is the one you meant"
        )
