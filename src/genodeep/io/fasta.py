"""FASTA genomes with fast random access to windows, and small multi-record FASTA files.

:class:`Genome` decodes a FASTA (plain, gzip or bgzip) once into uint8 base codes (A=0, C=1, G=2,
T=3, N and other IUPAC codes=4; lowercase = uppercase) and stores them as one memory-mapped ``.npy``
file plus an ``index.json`` in a cache folder. Windows are then gathered from the memory map and
one-hot encoded by one compiled kernel per batch.

Cache location, first that applies: ``cache_dir`` when given (``<cache_dir>/<name>-<hash>/``); beside
the FASTA as ``<fasta>.gdcache/`` when that folder is writable; ``$XDG_CACHE_HOME/genodeep`` or
``~/.cache/genodeep/<name>-<hash>/``. Inside it each entry is named after the FASTA's size,
modification time and the cache format version, so a changed FASTA is decoded again (and the stale
entry removed). An entry is built in a temporary folder and renamed into place when complete, so a
crash never leaves a half-written cache.

Whole genomes are stored as one array (not one file per chromosome) so that draft assemblies with
hundreds of thousands of scaffolds stay one file and one memory map.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numba
import numpy as np
import torch

from genodeep._io_utils import atomic_write, is_gzip, open_text
from genodeep._progress import log, progress
from genodeep._validate import InputFileError, check_file_exists, near_matches
from genodeep.seq.encode import _CODE_TO_BYTE, BYTE_TO_CODE, _to_dtype

__all__ = ["Genome", "read_fasta", "write_fasta"]

#: bump when the cache layout or the decoding changes; old entries are then rebuilt.
CACHE_FORMAT_VERSION = 1
_CHUNK_BYTES = 1 << 24  # bytes decoded per kernel call
_MAX_EVENTS = 4096  # header starts/ends reported per kernel call
_NPY_HEADER_BYTES = 128
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 6 * 3600

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


# --------------------------------------------------------------------------------------------------
# compiled kernels


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


# --------------------------------------------------------------------------------------------------
# FASTA decoding


class _MemorySink:
    """Collects decoded codes in memory."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def write(self, codes: np.ndarray) -> None:
        if codes.size:
            self.parts.append(codes.copy())

    def result(self) -> np.ndarray:
        arr = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.uint8)
        arr.flags.writeable = False
        return arr


def _npy_header(n: int) -> bytes:
    """A fixed-size (128-byte) .npy v1.0 header for a 1-D uint8 array of ``n`` elements."""
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + str(int(n)) + ",), }"
    header_len = _NPY_HEADER_BYTES - 10
    text = text.ljust(header_len - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", header_len) + text.encode("latin1")


class _NpySink:
    """Streams decoded codes into a .npy file whose header is written once the size is known."""

    def __init__(self, path: Path) -> None:
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.fh.write(_npy_header(0))
        self.n = 0

    def write(self, codes: np.ndarray) -> None:
        if codes.size:
            self.fh.write(memoryview(codes))
            self.n += codes.size

    def close(self) -> None:
        self.fh.seek(0)
        self.fh.write(_npy_header(self.n))
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


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


# --------------------------------------------------------------------------------------------------
# cache management


def _fasta_key(path: Path) -> tuple[str, os.stat_result]:
    st = os.stat(path)
    return f"v{CACHE_FORMAT_VERSION}-{st.st_size}-{st.st_mtime_ns}", st


def _path_hash(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _user_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genodeep"


def _cache_candidates(path: Path, cache_dir: str | os.PathLike | None) -> list[Path]:
    tag = f"{path.name}-{_path_hash(path)}"
    if cache_dir is not None:
        return [Path(cache_dir) / tag]
    return [path.parent / (path.name + ".gdcache"), _user_cache_root() / tag]


def _writable_root(root: Path) -> bool:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(root, os.W_OK | os.X_OK)


def _load_entry(entry: Path, key: str) -> tuple[np.ndarray, list[dict]] | None:
    """Memory-map a complete cache entry, or None when it is missing or inconsistent."""
    index_path = entry / "index.json"
    try:
        with open(index_path, encoding="utf-8") as fh:
            index = json.load(fh)
        if index.get("key") != key or index.get("format") != CACHE_FORMAT_VERSION:
            return None
        chroms = index["chroms"]
        total = int(index["total"])
        if total == 0:
            codes = np.zeros(0, dtype=np.uint8)
            codes.flags.writeable = False
        else:
            codes = np.load(entry / "codes.npy", mmap_mode="r")
        if codes.dtype != np.uint8 or codes.ndim != 1 or codes.shape[0] != total:
            return None
        return codes, chroms
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build_entry(
    path: Path, root: Path, key: str, verbose: bool
) -> tuple[np.ndarray, list[dict], Path] | None:
    """Decode ``path`` into a new entry ``root/key``; None when the folder cannot be written."""
    _cleanup_stale(root, keep=key)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
        tmp.chmod(0o755)  # mkdtemp makes it private; a shared genome's cache should be readable
    except OSError:
        return None
    try:
        if verbose:
            log(f"genodeep: decoding {path} once into the cache {root} (later opens are instant)")
        sink = _NpySink(tmp / "codes.npy")
        try:
            records = _decode_fasta(path, sink, verbose)
        except BaseException:
            sink.fh.close()
            raise
        sink.close()
        chroms, offset = [], 0
        for name, size, line in records:
            chroms.append({"name": name, "size": size, "offset": offset, "line": line})
            offset += size
        index = {
            "format": CACHE_FORMAT_VERSION,
            "key": key,
            "fasta": str(path.resolve()),
            "total": offset,
            "chroms": chroms,
        }
        with open(tmp / "index.json", "w", encoding="utf-8") as fh:
            json.dump(index, fh)
            fh.flush()
            os.fsync(fh.fileno())
        entry = root / key
        try:
            os.rename(tmp, entry)
        except OSError:
            # another process finished the same entry first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    loaded = _load_entry(entry, key)
    if loaded is None:  # pragma: no cover - only on a concurrent, corrupt writer
        return None
    _cleanup_stale(root, keep=key)
    return loaded[0], loaded[1], entry


def _cleanup_stale(root: Path, keep: str) -> None:
    """Remove entries of older versions of the FASTA and abandoned temporary folders."""
    with contextlib.suppress(OSError):
        now = time.time()
        for child in root.iterdir():
            if child.name == keep or not child.is_dir():
                continue
            if child.name.startswith(_TMP_PREFIX):
                with contextlib.suppress(OSError):
                    if now - child.stat().st_mtime > _STALE_TMP_SECONDS:
                        shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith("v"):
                shutil.rmtree(child, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Genome


_MITO = ("chrM", "MT", "chrMT", "M")


class Genome:
    """Random access to windows of a FASTA genome through a decoded, memory-mapped cache.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA file: plain, gzip or bgzip. Record names are the first word of each header line.
        Sequence lines may hold A, C, G, T, N and the IUPAC codes R Y S W K M B D H V in any case
        (whitespace inside them is ignored); every IUPAC code other than A, C, G, T is stored as N.
    cache_dir : str or os.PathLike, optional
        Folder for the decoded cache. Default: ``<fasta>.gdcache/`` beside the FASTA when writable,
        else ``~/.cache/genodeep`` (``$XDG_CACHE_HOME`` is honoured).
    use_cache : bool, default True
        False decodes the FASTA into memory on every open and writes nothing.
    verbose : bool, default True
        Print a line (and a progress bar for large files) while decoding.

    Attributes
    ----------
    chrom_sizes : dict[str, int]
        Chromosome lengths, in file order.
    cache_path : pathlib.Path or None
        The cache entry in use.

    Notes
    -----
    Chromosome names are harmonised: ``chr1`` finds ``1`` and the reverse; ``chrM``, ``MT`` and
    ``M`` find each other. Windows may start before 0 or end past a chromosome's end; those
    positions read as N (code 4, an all-zero one-hot column).

    Examples
    --------
    >>> genome = Genome("dm3.chr2R.fa.gz")                           # doctest: +SKIP
    >>> X = genome.one_hot(["chr2R"] * 2, [1000, 5000], length=500)  # doctest: +SKIP
    >>> X.shape                                                      # doctest: +SKIP
    torch.Size([2, 4, 500])
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
        verbose: bool = True,
    ) -> None:
        check_file_exists(path, "FASTA file")
        self.path = Path(path)
        self._cache_dir = cache_dir
        self._use_cache = bool(use_cache)
        self._verbose = verbose
        self.cache_path: Path | None = None
        codes, chroms = self._open()
        self._set(codes, chroms)

    # -- opening ----------------------------------------------------------------------------------

    def _open(self) -> tuple[np.ndarray, list[dict]]:
        if not self._use_cache:
            sink = _MemorySink()
            records = _decode_fasta(self.path, sink, self._verbose)
            chroms, offset = [], 0
            for name, size, line in records:
                chroms.append({"name": name, "size": size, "offset": offset, "line": line})
                offset += size
            return sink.result(), chroms
        key, _ = _fasta_key(self.path)
        candidates = _cache_candidates(self.path, self._cache_dir)
        for root in candidates:  # an existing entry wins, even in a read-only folder
            loaded = _load_entry(root / key, key)
            if loaded is not None:
                self.cache_path = root / key
                return loaded
        for root in candidates:
            if not _writable_root(root):
                continue
            if (root / key).exists():  # an entry that failed to load (damaged by hand): replace
                shutil.rmtree(root / key, ignore_errors=True)
            built = _build_entry(self.path, root, key, self._verbose)
            if built is not None:
                self.cache_path = built[2]
                return built[0], built[1]
        where = ", ".join(str(c) for c in candidates)
        raise OSError(
            f"cannot write the genome cache for {self.path} in any of: {where}. "
            "Fix: pass cache_dir= a writable folder, or use_cache=False"
        )

    def _set(self, codes: np.ndarray, chroms: list[dict]) -> None:
        self._codes = np.asarray(codes)  # a plain ndarray view of the memory map: cheaper calls
        self._names = [c["name"] for c in chroms]
        self._offsets = np.array([c["offset"] for c in chroms], dtype=np.int64)
        self._sizes = np.array([c["size"] for c in chroms], dtype=np.int64)
        self.chrom_sizes: dict[str, int] = {c["name"]: int(c["size"]) for c in chroms}
        self._lookup: dict[str, int] = {name: i for i, name in enumerate(self._names)}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self.cache_path is not None:  # reopen the memory map instead of pickling the genome
            state["_codes"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._codes is None:
            key = self.cache_path.name
            loaded = _load_entry(self.cache_path, key)
            if loaded is None:
                codes, chroms = self._open()
                self._set(codes, chroms)
            else:
                self._codes = np.asarray(loaded[0])

    def __repr__(self) -> str:
        total = int(self._sizes.sum()) if self._sizes.size else 0
        return f"Genome({str(self.path)!r}, {len(self._names)} chromosomes, {total:,} bp)"

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, chrom: object) -> bool:
        try:
            self._index(chrom)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return False
        return True

    @property
    def names(self) -> list[str]:
        """Chromosome names in file order."""
        return list(self._names)

    # -- names ------------------------------------------------------------------------------------

    def _index(self, chrom: str) -> int:
        idx = self._lookup.get(chrom)  # type: ignore[arg-type]
        if idx is not None:
            return idx
        name = str(chrom)
        candidates = [name]
        if name.lower().startswith("chr"):
            candidates.append(name[3:])
        else:
            candidates.append("chr" + name)
        if name in _MITO:
            candidates.extend(_MITO)
        for cand in candidates:
            idx = self._lookup.get(cand)
            if idx is not None and cand in self.chrom_sizes:
                self._lookup[name] = idx
                with contextlib.suppress(TypeError):
                    self._lookup[chrom] = idx
                return idx
        near = near_matches(name, self._names)
        shown = ", ".join(self._names[:10]) + (" ..." if len(self._names) > 10 else "")
        hint = f"near matches: {', '.join(near)}" if near else f"the genome has: {shown}"
        raise ValueError(
            f"chromosome {name!r} is not in the genome {self.path} ({hint}). "
            "Fix: use the genome's chromosome names"
        )

    def resolve(self, chrom: str) -> str:
        """The genome's name for ``chrom`` (``chr1`` <-> ``1``, ``chrM`` <-> ``MT`` harmonised).

        Raises
        ------
        ValueError
            When no chromosome matches, listing near matches and the FASTA path.
        """
        return self._names[self._index(chrom)]

    # -- windows ----------------------------------------------------------------------------------

    def _windows(
        self, chroms: str | Sequence[str], starts: object, length: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length must be a non-negative integer, got {length!r}")
        st = np.asarray(starts)
        if st.ndim == 0:
            st = st.reshape(1)
        if st.ndim != 1:
            raise ValueError(f"starts had shape {st.shape} while it should have had (N,)")
        if st.dtype.kind not in "iu":
            if (
                st.size
                and st.dtype.kind == "f"
                and np.all(np.isfinite(st))
                and np.all(st == np.round(st))
            ):
                pass
            elif st.size:
                raise TypeError(f"starts must be integers, got dtype {st.dtype}")
        st = np.ascontiguousarray(st, dtype=np.int64)
        n = st.shape[0]
        if isinstance(chroms, str):
            i = self._index(chroms)
            return (
                np.full(n, self._offsets[i], dtype=np.int64),
                np.full(n, self._sizes[i], dtype=np.int64),
                st,
                int(length),
            )
        else:
            if len(chroms) != n:
                raise ValueError(
                    f"chroms has {len(chroms)} entries but starts has {n}; give one chromosome per window"
                )
            lookup = self._lookup
            try:
                idx = np.fromiter(map(lookup.__getitem__, chroms), dtype=np.int64, count=n)
            except (KeyError, TypeError):
                for c in set(chroms):
                    self._index(c)  # raises for an unknown name; caches aliases
                idx = np.fromiter(map(lookup.__getitem__, chroms), dtype=np.int64, count=n)
        return self._offsets[idx], self._sizes[idx], st, int(length)

    def window_codes(
        self, chroms: str | Sequence[str], starts: Iterable[int] | np.ndarray, length: int
    ) -> np.ndarray:
        """Base codes of windows.

        Parameters
        ----------
        chroms : str or sequence of N str
            Chromosome of each window (one name applies to all).
        starts : array-like of int, shape (N,)
            0-based start of each window; may be negative.
        length : int
            Window length L.

        Returns
        -------
        codes : np.ndarray of uint8, shape (N, L)
            A=0, C=1, G=2, T=3, N=4; positions before 0 or past the chromosome end are 4.
        """
        offsets, sizes, st, length = self._windows(chroms, starts, length)
        out = np.empty((st.shape[0], length), dtype=np.uint8)
        _gather_codes_kernel(out, self._codes, offsets, sizes, st)
        return out

    def one_hot(
        self,
        chroms: str | Sequence[str],
        starts: Iterable[int] | np.ndarray,
        length: int,
        *,
        dtype: torch.dtype = torch.int8,
    ) -> torch.Tensor:
        """One-hot encoded windows, gathered and encoded in one compiled pass.

        Parameters
        ----------
        chroms : str or sequence of N str
            Chromosome of each window (one name applies to all).
        starts : array-like of int, shape (N,)
            0-based start of each window; may be negative.
        length : int
            Window length L.
        dtype : torch.dtype, default torch.int8
            int8, uint8 and bool cost no copy; other dtypes one conversion.

        Returns
        -------
        X : torch.Tensor, shape (N, 4, L)
            Channels A, C, G, T; N and positions past the chromosome ends are all-zero columns.
        """
        offsets, sizes, st, length = self._windows(chroms, starts, length)
        out = np.empty((st.shape[0], 4, length), dtype=np.uint8)
        _gather_onehot_kernel(out, self._codes, offsets, sizes, st)
        return _to_dtype(out, dtype)

    def gc_content(
        self, chroms: str | Sequence[str], starts: Iterable[int] | np.ndarray, length: int
    ) -> np.ndarray:
        """GC fraction of windows.

        Returns
        -------
        gc : np.ndarray of float64, shape (N,)
            (G + C) / (A + C + G + T) in each window, ignoring N and positions past the ends; NaN
            for a window with no A, C, G or T.
        """
        offsets, sizes, st, length = self._windows(chroms, starts, length)
        out = np.empty(st.shape[0], dtype=np.float64)
        _gc_kernel(out, self._codes, offsets, sizes, st, np.int64(length))
        return out

    def codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Base codes of ``chrom:start-end`` (0-based, end exclusive), padded with 4 past the ends.

        Returns
        -------
        codes : np.ndarray of uint8, shape (end - start,)
        """
        if int(end) < int(start):
            raise ValueError(f"end must be >= start, got start={start}, end={end}")
        return self.window_codes(chrom, [int(start)], int(end) - int(start))[0]

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Uppercase sequence of ``chrom:start-end`` (0-based, end exclusive), "N" past the ends.

        IUPAC ambiguity codes read back as N (the cache stores A, C, G, T, N).
        """
        return _CODE_TO_BYTE[self.codes(chrom, start, end)].tobytes().decode("ascii")

    def chrom_codes(self, chrom: str) -> np.ndarray:
        """All base codes of one chromosome: a read-only (memory-mapped) uint8 array (size,)."""
        i = self._index(chrom)
        off = int(self._offsets[i])
        return self._codes[off : off + int(self._sizes[i])]


# --------------------------------------------------------------------------------------------------
# small multi-record FASTA files

_VALID_LETTERS = frozenset("ACGTNRYSWKMBDHVacgtnryswkmbdhv")


def read_fasta(path: str | os.PathLike, *, full_header: bool = False) -> dict[str, str]:
    """Read a small multi-record FASTA (plain or gzip) into a dict, sequences as written.

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA file.
    full_header : bool, default False
        Key each record by its whole header line (after '>') instead of its first word.

    Returns
    -------
    seqs : dict[str, str]
        Name -> sequence, in file order; case is kept; line breaks and whitespace removed.

    Raises
    ------
    InputFileError
        Empty file, sequence before the first header, a header without a name, duplicate names, or
        a character that is not a base or IUPAC code (with the line number).
    """
    records: dict[str, list[str]] = {}
    lines_of: dict[str, int] = {}
    current: list[str] | None = None
    try:
        with open_text(path, "FASTA file") as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    text = line[1:].strip()
                    name = text if full_header else (text.split()[0] if text else "")
                    if not name:
                        raise InputFileError(
                            "header line '>' has no name",
                            path=path,
                            line=lineno,
                            fix="write a name after '>', e.g. '>seq1'",
                        )
                    if name in records:
                        raise InputFileError(
                            f"record name {name!r} appears twice (lines {lines_of[name]} and {lineno})",
                            path=path,
                            line=lineno,
                            fix="rename or remove one of the two records",
                        )
                    current = records[name] = []
                    lines_of[name] = lineno
                    continue
                if current is None:
                    raise InputFileError(
                        "sequence found before the first header line",
                        path=path,
                        line=lineno,
                        fix="start the file with a header line '>name' (is this really a FASTA file?)",
                    )
                seq = "".join(line.split())
                bad = set(seq) - _VALID_LETTERS
                if bad:
                    col = 1 + min(raw.find(ch) for ch in bad)
                    ch = raw[col - 1]
                    raise InputFileError(
                        f"character {ch!r} in column {col} is not a DNA base or IUPAC code",
                        path=path,
                        line=lineno,
                        fix=_IUPAC_FIX,
                    )
                current.append(seq)
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, (FileNotFoundError, IsADirectoryError)):
            raise
        raise InputFileError(
            f"could not read the file: {err}",
            path=path,
            fix="the file is truncated or not a valid gzip file; download or compress it again",
        ) from None
    if not records:
        raise InputFileError(
            "FASTA file holds no record (no line starting with '>')",
            path=path,
            fix="check the path; a FASTA file has header lines '>name' each followed by sequence lines",
        )
    return {name: "".join(parts) for name, parts in records.items()}


def write_fasta(
    path: str | os.PathLike,
    seqs: Mapping[str, str] | Iterable[tuple[str, str]],
    line_width: int | None = 80,
) -> None:
    """Write sequences to a FASTA file atomically (gzip when the name ends in ``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; written through a temporary file, so a failure leaves no partial output.
    seqs : mapping name -> sequence, or iterable of (name, sequence)
        Records in order. Names must be non-empty and hold no line break.
    line_width : int or None, default 80
        Bases per line; None writes each sequence on one line.
    """
    if line_width is not None and (
        isinstance(line_width, bool)
        or not isinstance(line_width, (int, np.integer))
        or line_width < 1
    ):
        raise ValueError(f"line_width must be a positive integer or None, got {line_width!r}")
    items = list(seqs.items()) if isinstance(seqs, Mapping) else list(seqs)
    for i, item in enumerate(items):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"seqs[{i}] must be a (name, sequence) pair, got {item!r:.60}")
        name, seq = item
        if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
            raise ValueError(
                f"record {i}: name {name!r} must be a non-empty string without line breaks"
            )
        if not isinstance(seq, str):
            raise TypeError(f"record {name!r}: sequence must be a str, got {type(seq).__name__}")
    with atomic_write(path, "w") as fh:
        for name, seq in items:
            fh.write(f">{name}\n")
            if line_width is None or len(seq) <= line_width:
                fh.write(seq + "\n")
            else:
                fh.write(
                    "\n".join(seq[i : i + line_width] for i in range(0, len(seq), line_width))
                    + "\n"
                )
