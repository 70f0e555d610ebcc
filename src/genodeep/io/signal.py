"""Signal tracks (bigWig, wiggle, bedGraph) read as per-base or binned targets for windows.

- **bigWig** (``.bw``/``.bigwig``, or detected by its magic number) is read lazily through pyBigWig
  (optional dependency ``genodeep[bigwig]``); the file handle is reopened in each DataLoader worker.
- **wiggle** (``.wig[.gz]``; ``variableStep`` and ``fixedStep`` with ``span``/``step``) and
  **bedGraph** (``.bedgraph``/``.bdg``/``.bg[.gz]``) are parsed once (vectorised, no per-base Python)
  into one dense ``float32`` array per chromosome covering the first to the last recorded base,
  NaN where nothing is recorded: 4 bytes per base of that extent. For whole large genomes convert
  them once with :func:`wig_to_bigwig` and read the bigWig instead.

Coordinates are 0-based half-open like BED (a wig's 1-based positions are converted).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from genodeep._io_utils import atomic_path, open_text
from genodeep._validate import (
    InputFileError,
    check_choice,
    check_file_exists,
    near_matches,
    require,
)
from genodeep.io._wig_parse import (
    _BIGWIG_MAGIC,
    _MAX_CELLS,
    _WIG_FIX,
    _detect_format,
    _fill,
    _parse_bedgraph,
    _parse_wig,
)
from genodeep.io.bed import chrom_sizes_of, match_chroms

__all__ = ["SignalTrack", "read_signal", "read_chrom_sizes", "wig_to_bigwig"]

_FORMATS = ("bigwig", "wig", "bedgraph")
_AGGS = ("mean", "sum", "max")
_GAP = 1 << 16  # windows further apart than this are read from the track separately
_MAX_SPAN = 1 << 22  # bases read from the track in one go


# --------------------------------------------------------------------------------------------------
# the track classes


class SignalTrack:
    """A genome-wide numeric signal (coverage, fold change, ...) queried by windows.

    Build one with :func:`read_signal` (files) or :meth:`from_arrays` (in-memory arrays).

    Attributes
    ----------
    chrom_sizes : dict[str, int]
        For a bigWig, its chromosome sizes. For wig/bedGraph/array tracks, the end of the last
        recorded base on each chromosome.
    """

    chrom_sizes: dict[str, int]

    # subclasses implement _fetch(chrom, start, end) -> float32 (end - start,), NaN = no data,
    # for 0 <= start < end <= chrom_sizes[chrom] and chrom one of chrom_sizes.
    def _fetch(self, chrom: str, start: int, end: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], *, offsets: Mapping[str, int] | None = None
    ) -> SignalTrack:
        """A track held in memory.

        Parameters
        ----------
        arrays : Mapping[str, np.ndarray], each shape (L_c,)
            Per-chromosome values (NaN = no data), stored as float32.
        offsets : Mapping[str, int], optional
            0-based genome position of each array's first element (default 0).

        Returns
        -------
        track : SignalTrack
        """
        offsets = dict(offsets or {})
        data = {}
        for chrom, arr in arrays.items():
            a = np.ascontiguousarray(arr, dtype=np.float32)
            if a.ndim != 1:
                raise ValueError(
                    f"arrays[{chrom!r}] had shape {a.shape} while it should have had (L,)"
                )
            off = int(offsets.get(chrom, 0))
            if off < 0:
                raise ValueError(f"offsets[{chrom!r}] must be >= 0, got {off}")
            data[str(chrom)] = (off, a)
        return _ArrayTrack(data)

    def resolve(self, chrom: str) -> str | None:
        """The track's spelling of ``chrom`` (``chr`` prefix harmonised), or None if absent."""
        return match_chroms([chrom], self.chrom_sizes)[chrom]

    def values(
        self,
        chroms: str | Sequence[str],
        starts: int | Iterable[int],
        length: int,
        *,
        bin_size: int = 1,
        agg: str = "mean",
    ) -> np.ndarray:
        """Signal over windows ``[start, start + length)``, per base or in bins.

        Parameters
        ----------
        chroms : str or sequence of str, length N
            Chromosome of each window (one str applies to all). Names are harmonised to the track's
            (``chr`` prefix); a chromosome the track does not contain has no signal (zeros).
        starts : int or array-like of int, shape (N,)
            0-based window starts; windows may extend past the chromosome ends.
        length : int
            Window length in bases.
        bin_size : int, default 1
            Bases per bin; must divide ``length``.
        agg : {"mean", "sum", "max"}, default "mean"
            Aggregation within a bin.

        Returns
        -------
        values : np.ndarray float32, shape (N, length // bin_size)
            Missing data (NaN, bases the track does not record, positions past the chromosome ends)
            counts as 0 *before* aggregation, so ``mean`` is the bin's sum divided by ``bin_size``.
        """
        check_choice("agg", agg, _AGGS)
        length = _positive_int("length", length)
        bin_size = _positive_int("bin_size", bin_size)
        if length % bin_size:
            raise ValueError(
                f"bin_size={bin_size} must divide length={length}; choose a length that is a "
                "multiple of bin_size"
            )
        starts_arr = np.atleast_1d(np.asarray(starts))
        if starts_arr.dtype.kind not in "iu" or starts_arr.ndim != 1:
            raise ValueError(
                f"starts must be integers of shape (N,), got dtype {starts_arr.dtype} shape "
                f"{starts_arr.shape}"
            )
        starts_arr = starts_arr.astype(np.int64)
        n = len(starts_arr)
        chrom_list = [chroms] * n if isinstance(chroms, str) else [str(c) for c in chroms]
        if len(chrom_list) != n:
            raise ValueError(
                f"chroms has {len(chrom_list)} entries but starts has {n}; give one chromosome "
                "per window"
            )
        nb = length // bin_size
        out = np.zeros((n, nb), dtype=np.float32)
        if n == 0:
            return out
        uniq, inverse = np.unique(np.asarray(chrom_list, dtype=object), return_inverse=True)
        mapping = match_chroms([str(u) for u in uniq], self.chrom_sizes)
        for k, name in enumerate(uniq):
            chrom = mapping[str(name)]
            if chrom is None:
                continue
            rows = np.flatnonzero(inverse == k)
            self._values_on(chrom, rows, starts_arr[rows], length, bin_size, agg, out)
        return out

    def _values_on(
        self,
        chrom: str,
        rows: np.ndarray,
        starts: np.ndarray,
        length: int,
        bin_size: int,
        agg: str,
        out: np.ndarray,
    ) -> None:
        size = self.chrom_sizes[chrom]
        order = np.argsort(starts, kind="stable")
        s, rows = starts[order], rows[order]
        # chunks of nearby windows read from the track in one call each
        brk = np.ones(len(s), dtype=bool)
        brk[1:] = np.diff(s) > length + _GAP
        group = np.cumsum(brk) - 1
        first = np.flatnonzero(brk)
        rank = np.arange(len(s)) - first[group]
        max_rows = max(1, _MAX_CELLS // length)
        key = np.stack([group, (s - s[first[group]]) // _MAX_SPAN, rank // max_rows], axis=1)
        new = np.ones(len(s), dtype=bool)
        new[1:] = (key[1:] != key[:-1]).any(axis=1)
        bounds = np.append(np.flatnonzero(new), len(s))
        offsets = np.arange(length, dtype=np.int64)
        for a, b in zip(bounds[:-1], bounds[1:]):
            lo, hi = int(s[a]), int(s[b - 1]) + length
            buf = np.zeros(hi - lo, dtype=np.float32)
            clo, chi = max(lo, 0), min(hi, size)
            if chi > clo:
                vals = self._fetch(chrom, clo, chi)
                buf[clo - lo : chi - lo] = vals
                buf[np.isnan(buf)] = 0.0
            per_base = buf[(s[a:b] - lo)[:, None] + offsets]
            if bin_size == 1:
                out[rows[a:b]] = per_base
                continue
            binned = per_base.reshape(b - a, -1, bin_size)
            if agg == "max":
                out[rows[a:b]] = binned.max(axis=2)
            else:
                total = binned.sum(axis=2, dtype=np.float64)
                out[rows[a:b]] = total / bin_size if agg == "mean" else total

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.chrom_sizes)} chromosomes)"


class _ArrayTrack(SignalTrack):
    """Dense per-chromosome float32 arrays (wig, bedGraph, from_arrays)."""

    def __init__(self, data: dict[str, tuple[int, np.ndarray]], source: str | None = None) -> None:
        self._data = data
        self.source = source
        self.chrom_sizes = {c: off + len(a) for c, (off, a) in data.items()}

    def _fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        off, arr = self._data[chrom]
        out = np.full(end - start, np.nan, dtype=np.float32)
        lo, hi = max(start, off), min(end, off + len(arr))
        if hi > lo:
            out[lo - start : hi - start] = arr[lo - off : hi - off]
        return out

    def __repr__(self) -> str:
        src = f"{self.source!r}, " if self.source else ""
        return f"SignalTrack({src}{len(self._data)} chromosomes, in memory)"


class _BigWigTrack(SignalTrack):
    """A bigWig read lazily through pyBigWig; the handle is reopened after pickling."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._bw = None
        self.chrom_sizes = {str(k): int(v) for k, v in self._handle().chroms().items()}

    def _handle(self):
        if self._bw is None:
            pyBigWig = require("pyBigWig", "bigwig")
            _check_bigwig_header(self.path)
            try:
                self._bw = pyBigWig.open(self.path)
            except RuntimeError as err:
                raise InputFileError(
                    "cannot open as bigWig", path=self.path, fix="check that the file is a bigWig"
                ) from err
        return self._bw

    def _fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        bw = self._handle()
        try:
            vals = bw.values(chrom, int(start), int(end), numpy=True)
        except TypeError:  # pragma: no cover - pyBigWig built without numpy
            vals = bw.values(chrom, int(start), int(end))
        return np.asarray(vals, dtype=np.float32)

    def close(self) -> None:
        """Close the file handle (it is reopened on the next query)."""
        if self._bw is not None:
            self._bw.close()
            self._bw = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_bw"] = None
        return state

    def __repr__(self) -> str:
        return f"SignalTrack({self.path!r}, bigWig, {len(self.chrom_sizes)} chromosomes)"


def _check_bigwig_header(path: str) -> None:
    """Refuse a file with the bigWig magic number whose header points outside the file.

    pyBigWig (libBigWig) trusts the header: garbage after the magic number can crash the process
    (segmentation fault) instead of raising. The 64-byte header's chromosome tree, data and index
    offsets must lie inside the file, and the chromosome tree and the index must start with their
    magic numbers.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:4] not in _BIGWIG_MAGIC:
            return  # not a bigWig at all: pyBigWig refuses it cleanly
        order = "<" if head[:4] == _BIGWIG_MAGIC[0] else ">"
        ok = len(head) == 64
        if ok:
            _, _, _, tree, data, index = struct.unpack(order + "IHHQQQ", head[:32])
            ok = all(64 <= off < size for off in (tree, data, index))
            for off, magic in ((tree, 0x78CA8C91), (index, 0x2468ACE0)):
                if ok:
                    fh.seek(off)
                    word = fh.read(4)
                    ok = len(word) == 4 and struct.unpack(order + "I", word)[0] == magic
    if not ok:
        raise InputFileError(
            "cannot open as bigWig: it starts like one but its header is damaged (offsets outside "
            "the file or no chromosome tree/index where they point)",
            path=path,
            fix="the file is truncated or not a bigWig; re-download or re-create it",
        )


def _positive_int(argument: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")
    return int(value)


def _records_to_track(path: str, records: list, kind: str) -> _ArrayTrack:
    if not records:
        raise InputFileError(
            f"no data lines found in this {kind} file",
            path=path,
            fix="check that this is the intended file" + ("; " + _WIG_FIX if kind == "wig" else ""),
        )
    by_chrom: dict[str, list] = {}
    for chrom, s, e, v, _ in records:
        by_chrom.setdefault(chrom, []).append((s, e, v))
    data = {}
    for chrom, parts in by_chrom.items():
        s = np.concatenate([p[0] for p in parts])
        e = np.concatenate([p[1] for p in parts])
        v = np.concatenate([p[2] for p in parts]).astype(np.float32)
        off = int(s.min())
        arr = np.full(int(e.max()) - off, np.nan, dtype=np.float32)
        _fill(arr, s - off, e - off, v)
        data[chrom] = (off, arr)
    return _ArrayTrack(data, source=path)


def read_signal(path: str | os.PathLike, *, format: str | None = None) -> SignalTrack:
    """Open a bigWig, wiggle or bedGraph signal track.

    Parameters
    ----------
    path : str or os.PathLike
        The file. wig and bedGraph may be gzip/bgzip compressed.
    format : {"bigwig", "wig", "bedgraph"}, optional
        Default: a bigWig is recognised by its magic number, otherwise by the extension
        (``.wig``; ``.bedgraph``/``.bdg``/``.bg``; ``.gz`` ignored), otherwise by the content
        (``variableStep``/``fixedStep`` lines mean wig).

    Returns
    -------
    track : SignalTrack
        Query it with :meth:`SignalTrack.values`.

    Raises
    ------
    InputFileError
        Naming the file and line, for: a wig data line before any ``variableStep``/``fixedStep``
        line ("wig has no chromosome line"), malformed declaration or data lines, non-numeric
        values, wig positions < 1, bedGraph intervals with start >= end or a negative start, and
        files without data.

    Notes
    -----
    wig ``variableStep`` lines ``POS VALUE`` cover ``[POS-1, POS-1+span)``; ``fixedStep`` values cover
    ``[start-1 + i*step, start-1 + i*step + span)``. Where records overlap, a later one wins.
    """
    path = os.fspath(path)
    check_file_exists(path, "signal file")
    if format is None:
        format = _detect_format(path)
    check_choice("format", format, _FORMATS)
    if format == "bigwig":
        return _BigWigTrack(path)
    with open_text(path, "signal file") as fh:
        text = fh.read()
    records = _parse_wig(path, text) if format == "wig" else _parse_bedgraph(path, text)
    return _records_to_track(path, records, format)


# --------------------------------------------------------------------------------------------------
# chromosome sizes and conversion to bigWig


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Chromosome sizes from a FASTA (its ``.fai`` when present), a ``.fai`` or a 2-column table.

    Parameters
    ----------
    path : str or os.PathLike
        A FASTA file (plain or gzip; sizes are counted in one streaming pass unless
        ``<path>.fai`` exists), a samtools ``.fai`` index, or a UCSC ``chrom.sizes``-style table
        (``name<TAB>size`` per line, ``#`` comments allowed).

    Returns
    -------
    sizes : dict[str, int]
        In file order.
    """
    path = os.fspath(path)
    check_file_exists(path, "chromosome sizes file")
    with open_text(path, "chromosome sizes file") as fh:
        first = ""
        for line in fh:
            if line.strip():
                first = line
                break
    if first.startswith(">"):
        fai = path + ".fai"
        if os.path.exists(fai) and os.path.getmtime(fai) >= os.path.getmtime(path):
            return read_chrom_sizes(fai)
        return _fasta_sizes(path)
    sizes: dict[str, int] = {}
    fix = "give one 'name<TAB>size' line per chromosome (a chrom.sizes or .fai file), or a FASTA"
    with open_text(path, "chromosome sizes file") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.split()
            if len(f) < 2:
                raise InputFileError(
                    f"expected 'name size', found {len(f)} field", path=path, line=lineno, fix=fix
                )
            try:
                size = int(f[1])
            except ValueError:
                size = -1
            if size < 1:
                raise InputFileError(
                    f"size {f[1]!r} is not a positive integer", path=path, line=lineno, fix=fix
                )
            if f[0] in sizes:
                raise InputFileError(
                    f"chromosome {f[0]!r} is listed twice", path=path, line=lineno, fix=fix
                )
            sizes[f[0]] = size
    if not sizes:
        raise InputFileError("no chromosome sizes found", path=path, fix=fix)
    return sizes


def _fasta_sizes(path: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    name = None
    with open_text(path, "FASTA file") as fh:
        for line in fh:
            if line.startswith(">"):
                name = line[1:].split(None, 1)[0] if line[1:].strip() else ""
                if not name or name in sizes:
                    raise InputFileError(
                        f"FASTA record name {name!r} is empty or repeated",
                        path=path,
                        fix="give each record a unique name",
                    )
                sizes[name] = 0
            elif name is not None:
                sizes[name] += len(line.strip())
    if not sizes:
        raise InputFileError("no FASTA records found", path=path, fix="pass a FASTA or sizes table")
    return sizes


def _resolve_sizes(chrom_sizes: object) -> dict[str, int]:
    if isinstance(chrom_sizes, (str, os.PathLike)):
        return read_chrom_sizes(chrom_sizes)
    return chrom_sizes_of(chrom_sizes)


def _runs(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal, non-NaN values: (starts, ends, values)."""
    n = len(arr)
    change = np.ones(n, dtype=bool)
    change[1:] = arr[1:] != arr[:-1]  # NaN != NaN: NaN bases are single runs, dropped below
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    vals = arr[starts]
    keep = ~np.isnan(vals)
    return starts[keep], ends[keep], vals[keep]


def wig_to_bigwig(
    path: str | os.PathLike,
    chrom_sizes: object,
    out: str | os.PathLike,
    *,
    format: str | None = None,
) -> str:
    """Convert a wiggle or bedGraph file to bigWig (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        wig (``variableStep``/``fixedStep``) or bedGraph, plain or gzip.
    chrom_sizes : Genome, Mapping[str, int], str or os.PathLike
        Sizes of the genome the signal lies on: a :class:`~genodeep.io.Genome`, a dict, or a path
        to a FASTA / ``.fai`` / ``chrom.sizes`` table (see :func:`read_chrom_sizes`). The bigWig's
        header lists these chromosomes, in this order and spelling (the signal's chromosome names
        are harmonised to them, e.g. ``2R`` -> ``chr2R``).
    out : str or os.PathLike
        Output bigWig. Written through a temporary file: a failure leaves nothing behind.
    format : {"wig", "bedgraph"}, optional
        Input format (default: detected as in :func:`read_signal`).

    Returns
    -------
    out : str
        The written path. Runs of equal values are stored as one bigWig entry; NaN / unrecorded
        bases are left out.

    Raises
    ------
    InputFileError
        For malformed input (see :func:`read_signal`), a chromosome missing from ``chrom_sizes``
        (listing near matches), or signal past a chromosome end.
    """
    path = os.fspath(path)
    track = read_signal(path, format=format)
    if not isinstance(track, _ArrayTrack):
        raise ValueError(f"{path} is already a bigWig; nothing to convert")
    sizes = _resolve_sizes(chrom_sizes)
    mapping = match_chroms(list(track.chrom_sizes), sizes)
    for chrom, target in mapping.items():
        if target is None:
            near = near_matches(chrom, sizes)
            raise InputFileError(
                f"chromosome {chrom!r} is not in the chromosome sizes (near matches: "
                f"{', '.join(near) if near else 'none'})",
                path=path,
                fix="pass the chromosome sizes (or FASTA) of the genome the signal was made on",
            )
        if track.chrom_sizes[chrom] > sizes[target]:
            raise InputFileError(
                f"signal on {chrom!r} reaches base {track.chrom_sizes[chrom]:,}, past the "
                f"chromosome end ({sizes[target]:,} bp)",
                path=path,
                fix="pass the chromosome sizes (or FASTA) of the genome the signal was made on",
            )
    pyBigWig = require("pyBigWig", "bigwig")
    inverse = {t: c for c, t in mapping.items()}
    with atomic_path(out) as tmp:
        bw = pyBigWig.open(tmp, "w")
        try:
            bw.addHeader([(c, int(s)) for c, s in sizes.items()])
            for target in sizes:  # entries must follow the header's chromosome order
                if target not in inverse:
                    continue
                off, arr = track._data[inverse[target]]
                starts, ends, vals = _runs(arr)
                for k in range(0, len(starts), 1 << 20):
                    sl = slice(k, k + (1 << 20))
                    bw.addEntries(
                        [target] * len(starts[sl]),
                        (starts[sl] + off).astype(np.int64),
                        ends=(ends[sl] + off).astype(np.int64),
                        values=vals[sl].astype(np.float64),
                    )
        finally:
            bw.close()
    return os.fspath(out)
