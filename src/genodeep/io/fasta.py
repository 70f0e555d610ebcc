"""FASTA genomes with fast random access to windows, and small multi-record FASTA files.

:class:`Genome` decodes a FASTA (plain, gzip or bgzip) once into uint8 base codes (A=0, C=1, G=2,
T=3, N and other IUPAC codes=4; lowercase = uppercase) and stores them as one memory-mapped ``.npy``
file plus an ``index.json`` in a cache folder. Windows are then gathered from the memory map and
one-hot encoded by one compiled kernel per batch.

The cache (location, versioning, crash safety) is described in :mod:`genodeep.io._genome_cache`;
decoding and the window kernels are in :mod:`genodeep.io._fasta_decode`.

Whole genomes are stored as one array (not one file per chromosome) so that draft assemblies with
hundreds of thousands of scaffolds stay one file and one memory map.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from genodeep._io_utils import atomic_write, open_text
from genodeep._validate import InputFileError, check_file_exists, near_matches
from genodeep.io._fasta_decode import (
    _IUPAC_FIX,
    _gather_codes_kernel,
    _gather_onehot_kernel,
    _gc_kernel,
)
from genodeep.io._genome_cache import _load_entry, _open_codes
from genodeep.seq.encode import _CODE_TO_BYTE, _to_dtype

__all__ = ["Genome", "read_fasta", "write_fasta"]


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
        codes, chroms, self.cache_path = _open_codes(
            self.path, self._cache_dir, use_cache=self._use_cache, verbose=self._verbose
        )
        return codes, chroms

    def _set(self, codes: np.ndarray, chroms: list[dict]) -> None:
        self._map = getattr(codes, "_mmap", None)  # the memory map behind the cache, if any
        self._codes = np.asarray(codes)  # a plain ndarray view of the memory map: cheaper calls
        self._names = [c["name"] for c in chroms]
        self._offsets = np.array([c["offset"] for c in chroms], dtype=np.int64)
        self._sizes = np.array([c["size"] for c in chroms], dtype=np.int64)
        self.chrom_sizes: dict[str, int] = {c["name"]: int(c["size"]) for c in chroms}
        self._lookup: dict[str, int] = {name: i for i, name in enumerate(self._names)}

    def release(self) -> None:
        """Let the OS drop the pages of the genome cache this process has read (they stay in the page
        cache and are read again on demand): a long pass over a large genome then keeps a flat
        resident size. A no-op for a genome held in ordinary memory."""
        if self._map is not None and hasattr(self._map, "madvise"):
            with contextlib.suppress(OSError, ValueError):
                self._map.madvise(mmap.MADV_DONTNEED)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_map"] = None
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
                self._map = getattr(loaded[0], "_mmap", None)
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
