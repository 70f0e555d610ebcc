"""FASTA decoding: compiled kernels that turn FASTA bytes into uint8 base codes, and window gathers.

The parser runs over 16 MB chunks (plain, gzip or bgzip input) and reports header starts/ends as
events, so that any FASTA is decoded in bounded memory into a sink (see
:mod:`genodeep.io._genome_cache`); errors name the file, line and column. The gather kernels read
windows of a decoded genome (one-hot, codes, GC content) for :class:`genodeep.io.fasta.Genome`.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np

from genodeep._io_utils import is_gzip
from genodeep._progress import progress
from genodeep._validate import InputFileError
from genodeep.seq.encode import BYTE_TO_CODE

_CHUNK_BYTES = 1 << 24  # bytes decoded per kernel call
_MAX_EVENTS = 4096  # header starts/ends reported per kernel call
_IUPAC_FIX = (
    "sequence lines may hold only A, C, G, T, N and the IUPAC codes R Y S W K M B D H V (any case); "
    "replace the character by N (or the right base)"
)

# parser state slots
_S_AT_LINE_START = 0
_S_IN_HEADER = 1
_S_LINE = 2
_S_SEEN_HEADER = 3
_S_N_OUT = 4
_S_ERROR = 5
_S_ERROR_POS = 6
_S_ERROR_LINE = 7
_S_LINE_START = 8
_S_BASE = 9
_S_ERROR_COL = 10
_N_STATE = 11

_ERR_CHAR = 1
_ERR_BEFORE_HEADER = 2


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _parse_kernel(
    buf, start, table, out, state, ev_kind, ev_pos, ev_out, ev_line
):  # pragma: no cover
    """Decode FASTA bytes ``buf[start:]`` into codes appended to ``out``.

    Header starts (kind 0, ``pos`` = first byte after '>') and ends (kind 1, ``pos`` = the newline)
    are reported as events with the number of codes written so far. Stops early when the event
    buffer is full or on an error (recorded in ``state``). Returns (next index, number of events).
    """
    n = buf.shape[0]
    max_ev = ev_kind.shape[0]
    at_start = state[_S_AT_LINE_START]
    in_hdr = state[_S_IN_HEADER]
    line = state[_S_LINE]
    seen = state[_S_SEEN_HEADER]
    n_out = state[_S_N_OUT]
    line_start = state[_S_LINE_START]
    base = state[_S_BASE]
    n_ev = 0
    i = start
    while i < n:
        b = buf[i]
        if in_hdr:
            if b == 10:
                ev_kind[n_ev] = 1
                ev_pos[n_ev] = i
                ev_out[n_ev] = n_out
                ev_line[n_ev] = line
                n_ev += 1
                in_hdr = 0
                at_start = 1
                line += 1
                line_start = base + i + 1
                if n_ev >= max_ev:
                    i += 1
                    break
            i += 1
            continue
        if b == 10:
            at_start = 1
            line += 1
            line_start = base + i + 1
            i += 1
            continue
        if b == 13 or b == 32 or b == 9:
            i += 1
            continue
        if at_start and b == 62:
            ev_kind[n_ev] = 0
            ev_pos[n_ev] = i + 1
            ev_out[n_ev] = n_out
            ev_line[n_ev] = line
            n_ev += 1
            in_hdr = 1
            seen = 1
            i += 1
            if n_ev >= max_ev:
                break
            continue
        at_start = 0
        c = table[b]
        if c == 255 or seen == 0:
            state[_S_ERROR] = _ERR_BEFORE_HEADER if seen == 0 else _ERR_CHAR
            state[_S_ERROR_POS] = i
            state[_S_ERROR_LINE] = line
            state[_S_ERROR_COL] = base + i - line_start + 1
            break
        out[n_out] = c
        n_out += 1
        i += 1
    state[_S_AT_LINE_START] = at_start
    state[_S_IN_HEADER] = in_hdr
    state[_S_LINE] = line
    state[_S_SEEN_HEADER] = seen
    state[_S_N_OUT] = n_out
    state[_S_LINE_START] = line_start
    return i, n_ev


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _gather_onehot_kernel(out, genome, offsets, sizes, starts):  # pragma: no cover - compiled
    """``out[i]`` (4, L) = one-hot of ``genome[offsets[i] + starts[i] :][:L]``; code 4 past the ends."""
    n = out.shape[0]
    length = out.shape[2]
    flat = out.reshape(-1)
    row = np.empty(length, dtype=np.uint8)
    ul = np.uint64(length)
    for i in range(n):
        s = starts[i]
        size = sizes[i]
        off = offsets[i]
        if s >= 0 and s + length <= size:
            src = np.uint64(off + s)
            for j in range(length):
                row[np.uint64(j)] = genome[src + np.uint64(j)]
        else:
            for j in range(length):
                p = s + j
                if p >= 0 and p < size:
                    row[np.uint64(j)] = genome[np.uint64(off + p)]
                else:
                    row[np.uint64(j)] = 4
        dst = np.uint64(i) * np.uint64(4) * ul
        for k in range(4):
            kk = np.uint8(k)
            b = dst + np.uint64(k) * ul
            for j in range(length):
                flat[b + np.uint64(j)] = row[np.uint64(j)] == kk


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _gather_codes_kernel(out, genome, offsets, sizes, starts):  # pragma: no cover - compiled
    """``out[i]`` (L,) = ``genome[offsets[i] + starts[i] :][:L]`` with code 4 past the ends."""
    n, length = out.shape
    for i in range(n):
        s = starts[i]
        size = sizes[i]
        off = offsets[i]
        o = out[i]
        if s >= 0 and s + length <= size:
            src = np.uint64(off + s)
            for j in range(length):
                o[np.uint64(j)] = genome[src + np.uint64(j)]
        else:
            for j in range(length):
                p = s + j
                o[np.uint64(j)] = genome[np.uint64(off + p)] if (p >= 0 and p < size) else 4


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _gc_kernel(out, genome, offsets, sizes, starts, length):  # pragma: no cover - compiled
    """``out[i]`` = (G + C) / (A + C + G + T) in each window; NaN when it holds no A/C/G/T."""
    for i in range(out.shape[0]):
        s = starts[i]
        lo = max(s, 0)
        hi = min(s + length, sizes[i])
        off = offsets[i]
        gc = 0
        acgt = 0
        for p in range(lo, hi):
            c = genome[np.uint64(off + p)]
            acgt += c < 4
            gc += (c == 1) | (c == 2)
        out[i] = gc / acgt if acgt > 0 else np.nan


def _iter_chunks(path: Path, verbose: bool) -> Iterator[np.ndarray]:
    """Yield the (decompressed) bytes of ``path`` as writable uint8 arrays of up to 16 MB."""
    compressed = is_gzip(path)
    opener = gzip.open if compressed else open
    size = os.path.getsize(path)
    total = None if compressed else max(1, -(-size // _CHUNK_BYTES))
    buf = bytearray(_CHUNK_BYTES)
    view = memoryview(buf)

    def reads() -> Iterator[np.ndarray]:
        with opener(path, "rb") as fh:
            while True:
                got = fh.readinto(view)
                if not got:
                    return
                yield np.frombuffer(buf, dtype=np.uint8, count=got)

    desc = f"decoding {path.name}"
    show = verbose and size > (64 << 20)  # a bar only for files over 64 MB
    try:
        yield from progress(reads(), total=total, desc=desc, verbose=show)
    except (OSError, EOFError, zlib.error) as err:
        raise InputFileError(
            f"could not read the file: {err}",
            path=path,
            fix="the file is truncated or not a valid gzip/bgzip file; download or compress it again",
        ) from None


def _header_name(raw: bytes, path: Path, line: int) -> str:
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        raise InputFileError(
            "header line '>' has no name",
            path=path,
            line=line,
            fix="write a name after '>', e.g. '>chr1'",
        )
    return text.split()[0]


def _decode_fasta(path: Path, sink, verbose: bool) -> list[tuple[str, int, int]]:
    """Decode ``path`` into ``sink``; return [(name, size, header line)] in file order."""
    state = np.zeros(_N_STATE, dtype=np.int64)
    state[_S_AT_LINE_START] = 1
    state[_S_LINE] = 1
    ev_kind = np.empty(_MAX_EVENTS, dtype=np.int64)
    ev_pos = np.empty(_MAX_EVENTS, dtype=np.int64)
    ev_out = np.empty(_MAX_EVENTS, dtype=np.int64)
    ev_line = np.empty(_MAX_EVENTS, dtype=np.int64)
    out = np.empty(_CHUNK_BYTES, dtype=np.uint8)
    records: list[tuple[str, int, int]] = []
    seen_names: dict[str, int] = {}
    current: list | None = None  # [name, size, line]
    header_parts: list[bytes] = []
    header_line = 0
    any_bytes = False

    def open_record(name: str, line: int) -> None:
        nonlocal current
        if name in seen_names:
            raise InputFileError(
                f"chromosome name {name!r} appears twice (headers on lines {seen_names[name]} and {line})",
                path=path,
                line=line,
                fix="rename or remove one of the two records; names must be unique",
            )
        seen_names[name] = line
        current = [name, 0, line]

    def close_record() -> None:
        nonlocal current
        if current is not None:
            records.append((current[0], current[1], current[2]))
            current = None

    base = 0
    with contextlib.closing(_iter_chunks(path, verbose)) as chunks:
        for chunk in chunks:
            any_bytes = True
            state[_S_BASE] = base
            state[_S_N_OUT] = 0
            i = 0
            prev_out = 0
            hdr_start = 0 if state[_S_IN_HEADER] else -1
            while True:
                i, n_ev = _parse_kernel(
                    chunk, i, BYTE_TO_CODE, out, state, ev_kind, ev_pos, ev_out, ev_line
                )
                for e in range(n_ev):
                    pos, n_out = int(ev_pos[e]), int(ev_out[e])
                    if ev_kind[e] == 0:  # header start: codes so far belong to the current record
                        if current is not None:
                            sink.write(out[prev_out:n_out])
                            current[1] += n_out - prev_out
                        prev_out = n_out
                        close_record()
                        hdr_start = pos
                        header_parts = []
                        header_line = int(ev_line[e])
                    else:  # header end
                        header_parts.append(chunk[hdr_start:pos].tobytes())
                        open_record(
                            _header_name(b"".join(header_parts), path, header_line), header_line
                        )
                        header_parts = []
                        hdr_start = -1
                if state[_S_ERROR]:
                    _raise_parse_error(path, chunk, state)
                if i >= chunk.shape[0]:
                    break
            n_out = int(state[_S_N_OUT])
            if current is not None:
                sink.write(out[prev_out:n_out])
                current[1] += n_out - prev_out
            if state[_S_IN_HEADER] and hdr_start >= 0:
                header_parts.append(chunk[hdr_start:].tobytes())
            base += chunk.shape[0]
    if state[_S_IN_HEADER]:  # last line is a header without a newline
        open_record(_header_name(b"".join(header_parts), path, header_line), header_line)
    close_record()
    if not records:
        what = "is empty" if not any_bytes else "holds no FASTA record (no line starting with '>')"
        raise InputFileError(
            f"FASTA file {what}",
            path=path,
            fix="check the path; a FASTA file has header lines '>name' each followed by sequence lines",
        )
    return records


def _raise_parse_error(path: Path, chunk: np.ndarray, state: np.ndarray) -> None:
    line, col = int(state[_S_ERROR_LINE]), int(state[_S_ERROR_COL])
    if state[_S_ERROR] == _ERR_BEFORE_HEADER:
        raise InputFileError(
            "sequence found before the first header line",
            path=path,
            line=line,
            fix="start the file with a header line '>name' (is this really a FASTA file?)",
        )
    byte = int(chunk[int(state[_S_ERROR_POS])])
    char = repr(chr(byte)) if 32 <= byte < 127 else f"byte 0x{byte:02x}"
    raise InputFileError(
        f"character {char} in column {col} is not a DNA base or IUPAC code",
        path=path,
        line=line,
        fix=_IUPAC_FIX,
    )
