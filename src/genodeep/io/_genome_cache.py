"""The decoded-genome cache behind :class:`genodeep.io.fasta.Genome`.

Cache location, first that applies: ``cache_dir`` when given (``<cache_dir>/<name>-<hash>/``); beside
the FASTA as ``<fasta>.gdcache/`` when that folder is writable; ``$XDG_CACHE_HOME/genodeep`` or
``~/.cache/genodeep/<name>-<hash>/``. Inside it each entry is named after the FASTA's size,
modification time, a hash of its content (whole up to 4 MB, else 64 sampled 16 kB blocks) and the
cache format version, so a changed FASTA is decoded again (and the stale entry removed), even one
rewritten with the same size and modification time. An entry is built in a temporary folder and renamed into place when complete, so a
crash never leaves a half-written cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from genodeep._progress import log
from genodeep.io._fasta_decode import _decode_fasta

#: bump when the cache layout or the decoding changes; old entries are then rebuilt.
CACHE_FORMAT_VERSION = 1
_NPY_HEADER_BYTES = 128
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 6 * 3600
_HASH_ALL_BYTES = 4 << 20  # FASTA files up to this size are hashed whole for the cache key
_HASH_BLOCKS = 64  # larger ones: this many blocks ...
_HASH_BLOCK = 16 << 10  # ... of this many bytes


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


def _fasta_key(path: Path) -> tuple[str, os.stat_result]:
    st = os.stat(path)
    digest = _content_digest(path, st.st_size)
    return f"v{CACHE_FORMAT_VERSION}-{st.st_size}-{st.st_mtime_ns}-{digest}", st


def _content_digest(path: Path, size: int) -> str:
    """A hash of the FASTA's bytes: all of them up to 4 MB, else 64 blocks of 16 kB spread evenly
    (first and last included): about 1 MB read, milliseconds even for a 3 GB genome.

    Size and modification time alone miss a file rewritten with the same size and its time reset
    (``cp -p``, ``rsync -t``, ``os.utime``); the sampled blocks catch any such rewrite that changes
    the bases they cover, which for a different genome or assembly is all of them.
    """
    h = hashlib.sha1(str(size).encode())
    with open(path, "rb") as fh:
        if size <= _HASH_ALL_BYTES:
            h.update(fh.read())
        else:
            last = size - _HASH_BLOCK
            for k in range(_HASH_BLOCKS):
                fh.seek(last * k // (_HASH_BLOCKS - 1))
                h.update(fh.read(_HASH_BLOCK))
    return h.hexdigest()[:16]


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


def _open_codes(
    path: Path, cache_dir: str | os.PathLike | None, *, use_cache: bool, verbose: bool
) -> tuple[np.ndarray, list[dict], Path | None]:
    """Codes (memory-mapped when cached), chromosome records and the cache entry (None: in memory)."""
    if not use_cache:
        sink = _MemorySink()
        records = _decode_fasta(path, sink, verbose)
        chroms, offset = [], 0
        for name, size, line in records:
            chroms.append({"name": name, "size": size, "offset": offset, "line": line})
            offset += size
        return sink.result(), chroms, None
    key, _ = _fasta_key(path)
    candidates = _cache_candidates(path, cache_dir)
    for root in candidates:  # an existing entry wins, even in a read-only folder
        loaded = _load_entry(root / key, key)
        if loaded is not None:
            return loaded[0], loaded[1], root / key
    for root in candidates:
        if not _writable_root(root):
            continue
        if (root / key).exists():  # an entry that failed to load (damaged by hand): replace
            shutil.rmtree(root / key, ignore_errors=True)
        built = _build_entry(path, root, key, verbose)
        if built is not None:
            return built
    where = ", ".join(str(c) for c in candidates)
    raise OSError(
        f"cannot write the genome cache for {path} in any of: {where}. "
        "Fix: pass cache_dir= a writable folder, or use_cache=False"
    )
