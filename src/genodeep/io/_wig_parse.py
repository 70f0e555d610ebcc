"""wiggle and bedGraph text parsing for :mod:`genodeep.io.signal` (vectorised, no per-base Python).

Each parser returns records ``(chrom, starts, ends, values, first line)`` with 0-based half-open
intervals; errors name the file and line. :func:`_detect_format` tells bigWig, wig and bedGraph apart.
"""

from __future__ import annotations

import re

import numpy as np

from genodeep._io_utils import open_text
from genodeep._validate import InputFileError

_MAX_CELLS = 1 << 24  # per-base values gathered at once before binning
_BIGWIG_MAGIC = (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26")
_WIG_FIX = (
    "start each block of data lines with a declaration line 'variableStep chrom=NAME [span=N]' or "
    "'fixedStep chrom=NAME start=POS step=N [span=N]'; if this is a bedGraph file, name it "
    ".bedgraph or pass format='bedgraph'"
)


def _detect_format(path: str) -> str:
    with open(path, "rb") as fh:
        if fh.read(4) in _BIGWIG_MAGIC:
            return "bigwig"
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = name.rsplit(".", 1)[-1]
    if ext in ("bw", "bigwig"):
        return "bigwig"  # a .bw without the magic number: let pyBigWig say what is wrong
    if ext == "wig":
        return "wig"
    if ext in ("bedgraph", "bdg", "bg"):
        return "bedgraph"
    with open_text(path) as fh:
        for _, line in zip(range(1000), fh):
            word = line.split(None, 1)[0] if line.strip() else ""
            if word in ("variableStep", "fixedStep"):
                return "wig"
            if word == "track" and "type=bedgraph" in line.lower():
                return "bedgraph"
            if word and word not in ("track", "browser") and not word.startswith("#"):
                return "bedgraph"
    return "wig"


_DECL_RE = re.compile(r"^(?:variableStep|fixedStep|track|browser|#)[^\n]*", re.M)
_BEDGRAPH_HEADER_RE = re.compile(r"^(?:track|browser|#)[^\n]*", re.M)


def _block_lines(seg: str, first_line: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the non-blank lines of a text segment (slow path)."""
    out = []
    for k, line in enumerate(seg.split("\n")):
        fields = line.split()
        if fields:
            out.append((first_line + k, fields))
    return out


def _parse_data_block(
    seg: str, first_line: int, per_line: int, path: str, fix: str
) -> tuple[list[int], list[list[str]]]:
    """Validated per-line fields of a block: every non-blank line has ``per_line`` numeric fields.

    The last ``per_line - n_int`` fields are floats, the ones before integers (except a leading
    chromosome field for bedGraph, ``per_line == 4``). Slow path: only used when the fast,
    whole-block conversion fails, to name the offending line.
    """
    linenos, rows = [], []
    for ln, fields in _block_lines(seg, first_line):
        if len(fields) != per_line:
            raise InputFileError(
                f"data line has {len(fields)} fields, expected {per_line}",
                path=path,
                line=ln,
                fix=fix,
            )
        for j, tok in enumerate(fields):
            conv = float if j == per_line - 1 else int
            if per_line == 4 and j == 0:
                continue
            try:
                conv(tok)
            except ValueError:
                raise InputFileError(
                    f"{tok!r} is not {'a number' if conv is float else 'an integer'}",
                    path=path,
                    line=ln,
                    fix=fix,
                ) from None
        linenos.append(ln)
        rows.append(fields)
    return linenos, rows


def _convert_block(seg: str, n_fields: int, kinds: tuple) -> list[np.ndarray] | None:
    """Fast path: split a block into columns; None when its shape or numbers are off."""
    tokens = seg.split()
    lines = seg.split("\n")
    n = len(lines) - lines.count("")
    if len(tokens) != n_fields * n:
        return None
    try:
        return [np.array(tokens[j::n_fields], dtype=kind) for j, kind in enumerate(kinds)]
    except (ValueError, OverflowError):
        return None


def _parse_declaration(line: str, lineno: int, path: str) -> dict:
    tokens = line.split()
    kind = tokens[0]
    if kind not in ("variableStep", "fixedStep"):
        raise InputFileError(
            f"unrecognised declaration {kind!r}", path=path, line=lineno, fix=_WIG_FIX
        )
    decl: dict = {"kind": kind}
    allowed = ("chrom", "span") if kind == "variableStep" else ("chrom", "start", "step", "span")
    for tok in tokens[1:]:
        key, sep, value = tok.partition("=")
        if not sep or not value:
            raise InputFileError(
                f"cannot read {tok!r} in the {kind} line (expected key=value)",
                path=path,
                line=lineno,
                fix=_WIG_FIX,
            )
        if key not in allowed:
            raise InputFileError(
                f"unknown field {key!r} in the {kind} line (allowed: {', '.join(allowed)})",
                path=path,
                line=lineno,
                fix=_WIG_FIX,
            )
        if key == "chrom":
            decl[key] = value
            continue
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise InputFileError(
                f"{key}={value} in the {kind} line must be a positive integer",
                path=path,
                line=lineno,
                fix=_WIG_FIX,
            )
        decl[key] = number
    if "chrom" not in decl:
        raise InputFileError(f"the {kind} line has no chrom=", path=path, line=lineno, fix=_WIG_FIX)
    if kind == "fixedStep" and "start" not in decl:
        raise InputFileError(
            "the fixedStep line has no start=", path=path, line=lineno, fix=_WIG_FIX
        )
    decl.setdefault("span", 1)
    decl.setdefault("step", 1)
    decl["next"] = decl.get("start", 1) - 1  # fixedStep: 0-based start of the next value
    return decl


def _segments(text: str, pattern: re.Pattern) -> list[tuple[str, int, str | None, int]]:
    """Split text at lines matching ``pattern``.

    Returns (data segment, its first line number, the matched line that follows it or None, that
    line's number) in file order; the first segment is the text before the first matched line.
    """
    out = []
    pos, line = 0, 1
    for m in pattern.finditer(text):
        seg = text[pos : m.start()]
        decl_line = line + seg.count("\n")
        out.append((seg, line, m.group(0), decl_line))
        pos, line = m.end(), decl_line
    out.append((text[pos:], line, None, 0))
    return out


def _parse_wig(path: str, text: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]:
    records = []
    decl: dict | None = None
    for seg, first_line, header, header_line in _segments(text, _DECL_RE):
        if seg.strip():
            if decl is None:
                ln = next(ln for ln, _ in _block_lines(seg, first_line))
                raise InputFileError(
                    "wig has no chromosome line before its first data line",
                    path=path,
                    line=ln,
                    fix=_WIG_FIX,
                )
            if decl["kind"] == "variableStep":
                cols = _convert_block(seg, 2, (np.int64, np.float64))
                if cols is None:
                    _, rows = _parse_data_block(seg, first_line, 2, path, _WIG_FIX)
                    cols = [np.array([int(r[0]) for r in rows], dtype=np.int64),
                            np.array([float(r[1]) for r in rows], dtype=np.float64)]  # fmt: skip
                pos, val = cols
                bad = np.flatnonzero(pos < 1)
                if bad.size:
                    ln = _block_lines(seg, first_line)[int(bad[0])][0]
                    raise InputFileError(
                        f"position {pos[bad[0]]} is not >= 1 (wig positions are 1-based)",
                        path=path,
                        line=ln,
                        fix=_WIG_FIX,
                    )
                starts = pos - 1
            else:
                cols = _convert_block(seg, 1, (np.float64,))
                if cols is None:
                    _, rows = _parse_data_block(seg, first_line, 1, path, _WIG_FIX)
                    cols = [np.array([float(r[0]) for r in rows], dtype=np.float64)]
                (val,) = cols
                n = len(val)
                starts = decl["next"] + decl["step"] * np.arange(n, dtype=np.int64)
                decl["next"] += decl["step"] * n
            records.append((decl["chrom"], starts, starts + decl["span"], val, first_line))
        if header is not None and header.startswith(("variableStep", "fixedStep")):
            decl = _parse_declaration(header, header_line, path)
    return records


def _parse_bedgraph(
    path: str, text: str
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]:
    fix = "bedGraph lines are 'chrom<TAB>start<TAB>end<TAB>value' (0-based, end exclusive)"
    parts = []
    for seg, first_line, _, _ in _segments(text, _BEDGRAPH_HEADER_RE):
        if not seg.strip():
            continue
        cols = _convert_block(seg, 4, (object, np.int64, np.int64, np.float64))
        linenos = None
        if cols is None:
            linenos, rows = _parse_data_block(seg, first_line, 4, path, fix)
            cols = [np.array([r[j] for r in rows], dtype=kind)
                    for j, kind in enumerate((object, np.int64, np.int64, np.float64))]  # fmt: skip
        chrom, start, end, val = cols
        bad = np.flatnonzero((start < 0) | (start >= end))
        if bad.size:
            if linenos is None:
                linenos = [ln for ln, _ in _block_lines(seg, first_line)]
            i = int(bad[0])
            raise InputFileError(
                f"interval start={start[i]}, end={end[i]} is empty or negative",
                path=path,
                line=linenos[i],
                fix=fix,
            )
        parts.append((chrom, start, end, val, first_line))
    records = []
    for chrom, start, end, val, first_line in parts:
        codes, names = _factorize(chrom)
        for k, name in enumerate(names):
            sel = codes == k
            records.append((str(name), start[sel], end[sel], val[sel], first_line))
    return records


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list]:
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return codes, list(uniques)


def _fill(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, vals: np.ndarray) -> None:
    """``arr[s:e] = v`` for every record, vectorised (later records win where they overlap)."""
    lengths = ends - starts
    if lengths.size and (lengths == 1).all():
        arr[starts] = vals
        return
    cum = np.cumsum(lengths)
    # chunks of records covering at most _MAX_CELLS bases each (bounds the index arrays)
    cut = np.searchsorted(cum, np.arange(_MAX_CELLS, cum[-1] + _MAX_CELLS, _MAX_CELLS), "left")
    bounds = np.unique(np.concatenate([[0], np.minimum(cut + 1, len(lengths)), [len(lengths)]]))
    for a, b in zip(bounds[:-1], bounds[1:]):
        ln = lengths[a:b]
        total = int(ln.sum())
        within = np.arange(total) - np.repeat(np.cumsum(ln) - ln, ln)
        arr[np.repeat(starts[a:b], ln) + within] = np.repeat(vals[a:b], ln)
