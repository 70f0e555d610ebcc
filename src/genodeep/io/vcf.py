"""Streaming VCF reader with record-level validation.

Records are parsed line by line (plain, gzip or bgzip) so that every error names the file and the line,
memory stays bounded, and a VCF of millions of variants can be split into shards processed by
independent workers (``shard=(i, n)`` keeps every n-th record starting at i).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from genodeep._io_utils import open_text
from genodeep._validate import InputFileError

_BASES = re.compile(r"^[ACGTNacgtn]+$")


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
    line : int
        1-based line number in the file.
    """

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    record: int
    allele: int
    line: int

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


def read_vcf_header(path: str | os.PathLike) -> list[str]:
    """Header lines (``##...`` and the ``#CHROM`` line), without newlines."""
    out = []
    with open_text(path, "VCF") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            out.append(line.rstrip("\n"))
    return out


def iter_vcf(path: str | os.PathLike, *, shard: tuple[int, int] | None = None) -> Iterator[Variant]:
    """Yield one :class:`Variant` per ALT allele of each data line.

    Parameters
    ----------
    path : path
        VCF (plain, gzip or bgzip).
    shard : (i, n), optional
        Keep records whose 0-based index ``r`` satisfies ``r % n == i``.

    Raises
    ------
    InputFileError
        Missing ``#CHROM`` header, fewer than 8 columns, non-integer or < 1 POS, REF with characters other
        than A, C, G, T, N, ALT that is neither bases nor a symbolic allele, or a VCF with no records.
    """
    if shard is not None:
        i, n = shard
        if not (isinstance(i, int) and isinstance(n, int) and n >= 1 and 0 <= i < n):
            raise ValueError(
                f"shard must be (i, n) with 0 <= i < n, got {shard!r}; e.g. --shard 0/4"
            )
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
            yield from _parse_line(line, path, lineno, record)
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


def _parse_line(line: str, path, lineno: int, record: int) -> Iterator[Variant]:
    cols = line.rstrip("\n").rstrip("\r").split("\t")
    if len(cols) < 8:
        raise InputFileError(
            f"expected at least 8 tab-separated columns, found {len(cols)}",
            path=path,
            line=lineno,
            fix="VCF columns are tab-separated: CHROM POS ID REF ALT QUAL FILTER INFO",
        )
    chrom, pos_s, vid, ref, alts = cols[0], cols[1], cols[2], cols[3].upper(), cols[4]
    try:
        pos = int(pos_s)
    except ValueError:
        raise InputFileError(f"POS {pos_s!r} is not an integer", path=path, line=lineno) from None
    if pos < 1:
        raise InputFileError(
            f"POS {pos} is below 1 (VCF positions are 1-based)", path=path, line=lineno
        )
    if not _BASES.match(ref):
        raise InputFileError(
            f"REF {cols[3]!r} has characters other than A, C, G, T, N", path=path, line=lineno
        )
    for k, alt in enumerate(alts.split(","), 1):
        a = alt.upper() if _BASES.match(alt) else alt
        if not (
            _BASES.match(alt)
            or alt in ("*", ".")
            or alt.startswith("<")
            or "[" in alt
            or "]" in alt
        ):
            raise InputFileError(
                f"ALT {alt!r} is neither bases (A, C, G, T, N) nor a symbolic allele",
                path=path,
                line=lineno,
            )
        yield Variant(chrom, pos, vid, ref, a, record, k, lineno)
