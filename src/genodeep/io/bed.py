"""BED, BED-like and narrowPeak interval files.

Records are 0-based, half-open ``[start, end)`` as in the BED specification. The reader accepts
BED3 ... BED12 (and extra columns beyond 12), ENCODE narrowPeak (exactly 10 columns), plain or gzip/bgzip,
tab-separated (or, when a line has no tab, whitespace-separated), and skips blank lines and ``track``,
``browser`` and ``#`` header lines wherever they appear.

Chromosome names are harmonised to a genome's spelling when one is given (``2R`` in the file,
``chr2R`` in the genome, ``MT``/``chrM``): see :func:`read_bed`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_write, open_text
from genodeep._progress import log
from genodeep._validate import InputFileError, near_matches

__all__ = ["BED_COLUMNS", "NARROWPEAK_COLUMNS", "read_bed", "write_bed"]

#: The 12 standard BED column names, in file order.
BED_COLUMNS = (
    "chrom", "start", "end", "name", "score", "strand",
    "thickStart", "thickEnd", "itemRgb", "blockCount", "blockSizes", "blockStarts",
)  # fmt: skip
#: ENCODE narrowPeak (BED6+4) column names, in file order; ``peak`` is the summit offset from start.
NARROWPEAK_COLUMNS = (
    "chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak",
)  # fmt: skip

_HEADER_WORDS = ("track", "browser")
_FIX_COLUMNS = (
    "give every record the same tab-separated columns: chrom, start, end (then optional BED "
    "columns); put header lines behind '#'"
)


# --------------------------------------------------------------------------------------------------
# chromosome names


def _canonical(name: str) -> str:
    """Name without a ``chr`` prefix, with ``M``/``MT`` (mitochondrion) unified."""
    s = name[3:] if name[:3].lower() == "chr" and len(name) > 3 else name
    return "M" if s.upper() in ("M", "MT") else s


def match_chroms(names: Iterable[str], reference: Iterable[str]) -> dict[str, str | None]:
    """Map each of ``names`` to its spelling in ``reference``.

    An exact match wins; otherwise a name matches when exactly one reference name agrees with it up
    to a ``chr`` prefix and the ``M``/``MT`` spelling of the mitochondrion (``2R`` -> ``chr2R``,
    ``chrMT`` -> ``M``). Names with no match, or an ambiguous one, map to ``None``.

    Parameters
    ----------
    names : iterable of str
        Names to look up.
    reference : iterable of str
        The names to map onto (e.g. a genome's chromosomes).

    Returns
    -------
    mapping : dict[str, str or None]
    """
    ref = list(dict.fromkeys(reference))
    ref_set = set(ref)
    by_canon: dict[str, list[str]] = {}
    for r in ref:
        by_canon.setdefault(_canonical(r), []).append(r)
    out: dict[str, str | None] = {}
    for n in names:
        if n in out:
            continue
        if n in ref_set:
            out[n] = n
        else:
            hits = by_canon.get(_canonical(n), [])
            out[n] = hits[0] if len(hits) == 1 else None
    return out


def chrom_sizes_of(genome: object) -> dict[str, int]:
    """``{chrom: size}`` of a :class:`~genodeep.io.fasta.Genome` or of a mapping of sizes."""
    sizes = getattr(genome, "chrom_sizes", None)
    if sizes is None:
        if not isinstance(genome, Mapping):
            raise TypeError(
                "genome must be a genodeep.io.Genome or a mapping {chrom: size}, got "
                f"{type(genome).__name__}"
            )
        sizes = genome
    return {str(k): int(v) for k, v in sizes.items()}


# --------------------------------------------------------------------------------------------------
# reading


def _column_names(ncol: int) -> list[str]:
    if ncol == 10:
        return list(NARROWPEAK_COLUMNS)
    if ncol <= 12:
        return list(BED_COLUMNS[:ncol])
    return list(BED_COLUMNS) + [f"extra{i}" for i in range(13, ncol + 1)]


def _parse_ints(
    values: list[str], linenos: list[int], path: str, what: str, fix: str
) -> np.ndarray:
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    for v, ln in zip(values, linenos):
        try:
            x = int(v)
        except ValueError:
            raise InputFileError(
                f"{what} {v!r} is not an integer", path=path, line=ln, fix=fix
            ) from None
        if not -(2**63) <= x < 2**63:
            raise InputFileError(f"{what} {v!r} is out of range", path=path, line=ln, fix=fix)
    raise InputFileError(f"cannot read the {what} column", path=path, fix=fix)  # pragma: no cover


def _parse_floats(values: list[str], linenos: list[int], path: str, what: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except (ValueError, OverflowError):
        pass
    for v, ln in zip(values, linenos):
        try:
            float(v)
        except ValueError:
            raise InputFileError(
                f"{what} {v!r} is not a number",
                path=path,
                line=ln,
                fix=f"write a number (or -1 when unknown) in the {what} column",
            ) from None
    raise InputFileError(f"cannot read the {what} column", path=path)  # pragma: no cover


def _maybe_numeric(values: list[str]) -> object:
    """Numeric array when every value parses (int64 if all integral), else the strings."""
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array(values, dtype=np.float64)
    except (ValueError, OverflowError):
        return np.array(values, dtype=object)


def _split_records(path: str) -> tuple[list[list[str]], list[int], int]:
    rows: list[list[str]] = []
    linenos: list[int] = []
    ncol = 0
    first_line = 0
    n_lines = 0
    with open_text(path, "BED file") as fh:
        for lineno, raw in enumerate(fh, 1):
            n_lines = lineno
            line = raw.rstrip()
            if not line.strip():
                continue
            word = line.split(None, 1)[0]
            if word[0] == "#" or word in _HEADER_WORDS:
                continue
            fields = line.split("\t") if "\t" in line else line.split()
            if not ncol:
                ncol, first_line = len(fields), lineno
                if ncol < 3:
                    raise InputFileError(
                        f"a BED record needs at least 3 columns (chrom, start, end), found {ncol}",
                        path=path,
                        line=lineno,
                        fix=_FIX_COLUMNS,
                    )
            elif len(fields) != ncol:
                raise InputFileError(
                    f"record has {len(fields)} columns but the first record (line {first_line}) "
                    f"has {ncol}",
                    path=path,
                    line=lineno,
                    fix=_FIX_COLUMNS,
                )
            rows.append(fields)
            linenos.append(lineno)
    if not rows:
        raise InputFileError(
            f"no BED records found ({n_lines} lines read, all blank or headers)",
            path=path,
            fix="check that this is the intended file; records look like 'chr1<TAB>100<TAB>200'",
        )
    return rows, linenos, ncol


def _frame_from_rows(
    path: str, rows: list[list[str]], linenos: list[int], ncol: int
) -> pd.DataFrame:
    names = _column_names(ncol)
    cols = list(zip(*rows))
    data: dict[str, object] = {}
    chrom = np.array(cols[0], dtype=object)
    empty = np.flatnonzero(chrom == "")
    if empty.size:
        raise InputFileError(
            "empty chromosome name", path=path, line=linenos[empty[0]], fix=_FIX_COLUMNS
        )
    data["chrom"] = chrom
    int_fix = "coordinates are whole numbers of bases (0-based start, exclusive end)"
    header_fix = int_fix + "; remove a header line or start it with '#'"
    start = _parse_ints(list(cols[1]), linenos, path, "start", header_fix)
    end = _parse_ints(list(cols[2]), linenos, path, "end", header_fix)
    bad = np.flatnonzero(start < 0)
    if bad.size:
        raise InputFileError(
            f"negative start {start[bad[0]]}",
            path=path,
            line=linenos[bad[0]],
            fix="BED starts are 0-based and must be >= 0",
        )
    bad = np.flatnonzero(start > end)
    if bad.size:
        i = bad[0]
        raise InputFileError(
            f"start {start[i]} is greater than end {end[i]}",
            path=path,
            line=linenos[i],
            fix="swap start and end, or drop the record",
        )
    data["start"], data["end"] = start, end
    for j in range(3, ncol):
        name, values = names[j], list(cols[j])
        if ncol == 10 and name in ("signalValue", "pValue", "qValue"):
            data[name] = _parse_floats(values, linenos, path, name)
        elif ncol == 10 and name == "peak":
            peak = _parse_ints(
                values, linenos, path, "peak", "peak is the summit offset from start, or -1"
            )
            width = end - start
            bad = np.flatnonzero((peak < -1) | ((peak >= width) & (peak != -1)))
            if bad.size:
                i = bad[0]
                raise InputFileError(
                    f"summit offset peak={peak[i]} lies outside the interval of width {width[i]}",
                    path=path,
                    line=linenos[i],
                    fix="peak is the 0-based summit offset from start (0 <= peak < end - start), "
                    "or -1 when unknown",
                )
            data[name] = peak
        elif name in ("score", "thickStart", "thickEnd", "blockCount"):
            data[name] = _maybe_numeric(values)
        else:
            data[name] = np.array(values, dtype=object)
    return pd.DataFrame(data)


def read_bed(
    path: str | os.PathLike,
    *,
    genome: object | None = None,
    chroms: Iterable[str] | None = None,
    drop_unknown: bool = False,
) -> pd.DataFrame:
    """Read a BED, BED-like or narrowPeak file.

    Parameters
    ----------
    path : str or os.PathLike
        The file (plain, gzip or bgzip). Lines that are blank or start with ``#``, ``track`` or
        ``browser`` are skipped. Columns are split on tabs, or on whitespace for lines without a tab.
        Every record must have the same number of columns (at least 3). A file with exactly 10
        columns is read as ENCODE narrowPeak.
    genome : Genome or Mapping[str, int], optional
        A :class:`genodeep.io.Genome` or ``{chrom: size}``. When given, chromosome names are
        harmonised to the genome's spelling automatically whenever the match is unambiguous (a
        ``chr`` prefix present on one side only, ``M``/``MT``/``chrM``), contigs missing from the
        genome raise an error listing near matches (unless ``drop_unknown``), and intervals ending
        past the chromosome end raise an error.
    chroms : iterable of str, optional
        Keep only records on these chromosomes (spelled as in the genome when one is given, else as
        in the file; ``chr`` prefixes are harmonised the same way). Other records are dropped and
        the count is logged.
    drop_unknown : bool, default False
        With ``genome``: drop records on contigs the genome lacks (logging how many) instead of
        raising. Useful when the genome holds only some chromosomes (e.g. a FASTA of chr2R only with
        genome-wide peak files).

    Returns
    -------
    df : pandas.DataFrame, one row per record (RangeIndex)
        Columns ``chrom`` (str), ``start``, ``end`` (int64, 0-based half-open), then the optional
        columns present: BED ``name, score, strand, thickStart, thickEnd, itemRgb, blockCount,
        blockSizes, blockStarts`` (``extra13``... beyond 12), or narrowPeak ``name, score, strand,
        signalValue, pValue, qValue`` (float64) and ``peak`` (int64 summit offset from start, -1 when
        unknown). ``score`` is numeric when every value parses as a number.

    Raises
    ------
    InputFileError
        Naming the file, the line and the fix, for: fewer than 3 or an inconsistent number of
        columns, non-integer coordinates (e.g. a header line without ``#``), a negative start,
        start > end, a narrowPeak summit outside its interval, a file with no records, and (with
        ``genome``) contigs missing from the genome or intervals past a chromosome end.
    """
    path = os.fspath(path)
    rows, linenos, ncol = _split_records(path)
    df = _frame_from_rows(path, rows, linenos, ncol)
    lines = np.asarray(linenos, dtype=np.int64)
    del rows

    sizes = None if genome is None else chrom_sizes_of(genome)
    file_chroms = list(dict.fromkeys(df["chrom"]))
    keep = np.ones(len(df), dtype=bool)
    if sizes is not None:
        mapping = match_chroms(file_chroms, sizes)
        unknown = [c for c, m in mapping.items() if m is None]
        if unknown:
            is_unknown = df["chrom"].isin(unknown).to_numpy()
            if not drop_unknown and chroms is None:
                first = int(np.flatnonzero(is_unknown)[0])
                name = df["chrom"].iat[first]
                near = near_matches(name, sizes)
                hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
                others = (
                    ""
                    if len(unknown) == 1
                    else f"; {len(unknown) - 1} other contig(s) are also missing"
                )
                raise InputFileError(
                    f"chromosome {name!r} is not in the genome{hint}; {int(is_unknown.sum())} "
                    f"record(s) lie on contigs the genome lacks{others}. Genome chromosomes: "
                    f"{_preview(sizes)}",
                    path=path,
                    line=int(lines[first]),
                    fix="use the genome the intervals were called on, or pass drop_unknown=True "
                    "(or chroms=[...]) to drop records on contigs the genome lacks",
                )
            if drop_unknown:
                keep &= ~is_unknown
                log(
                    f"read_bed: dropped {int(is_unknown.sum())} of {len(df)} records of {path} on "
                    f"{len(unknown)} contig(s) missing from the genome ({_preview(unknown)})"
                )
        renamed = {c: m for c, m in mapping.items() if m is not None and m != c}
        if renamed:
            df["chrom"] = df["chrom"].map(lambda c: renamed.get(c, c))
    if chroms is not None:
        wanted = [str(c) for c in ([chroms] if isinstance(chroms, str) else chroms)]
        if sizes is not None:
            cmap = match_chroms(wanted, sizes)
            missing = [c for c, m in cmap.items() if m is None]
            if missing:
                raise ValueError(
                    f"chroms={wanted!r}: {missing[0]!r} is not in the genome (near matches: "
                    f"{near_matches(missing[0], sizes)}); choose among {_preview(sizes)}"
                )
        else:
            cmap = match_chroms(wanted, file_chroms)
        targets = {m if m is not None else c for c, m in cmap.items()}
        in_chroms = df["chrom"].isin(targets).to_numpy()
        n_drop = int((keep & ~in_chroms).sum())
        keep &= in_chroms
        if n_drop:
            log(
                f"read_bed: kept chroms {sorted(targets)}; dropped {n_drop} other records of {path}"
            )
        if not keep.any():
            raise InputFileError(
                f"no records on chroms {sorted(targets)}; the file has {_preview(file_chroms)}",
                path=path,
                fix="check the chromosome names in chroms=",
            )
    if not keep.all():
        df = df.loc[keep].reset_index(drop=True)
        lines = lines[keep]
    if sizes is not None:
        limit = df["chrom"].map(sizes).to_numpy(dtype=np.int64)
        bad = np.flatnonzero(df["end"].to_numpy() > limit)
        if bad.size:
            i = int(bad[0])
            raise InputFileError(
                f"interval {df['chrom'].iat[i]}:{df['start'].iat[i]}-{df['end'].iat[i]} ends past "
                f"the chromosome end ({limit[i]:,} bp)",
                path=path,
                line=int(lines[i]),
                fix="use the genome assembly the intervals were made for, or clip/remove the record",
            )
    return df


def _preview(names: Iterable[str], k: int = 8) -> str:
    names = list(names)
    text = ", ".join(names[:k])
    return text + (f", ... ({len(names)} in all)" if len(names) > k else "")


# --------------------------------------------------------------------------------------------------
# writing


def write_bed(path: str | os.PathLike, df: pd.DataFrame, *, track_line: str | None = None) -> None:
    """Write intervals as BED (or narrowPeak when ``df`` has narrowPeak columns), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; gzip-compressed when it ends in ``.gz``. Written through a temporary file, so a
        failure leaves no partial output.
    df : pandas.DataFrame
        Columns ``chrom``, ``start``, ``end`` (integers, 0 <= start <= end) and optionally the standard
        BED or narrowPeak columns (see :func:`read_bed`). Columns are written in the standard order up
        to the last one present; missing ones before it are filled with ``.`` (name, strand),
        ``0`` (score) or ``-1`` (narrowPeak values). Other columns are not written.
    track_line : str, optional
        A ``track ...`` header line to write first.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks the column(s) {missing}; a BED needs chrom, start, end")
    start = np.asarray(df["start"])
    end = np.asarray(df["end"])
    if start.dtype.kind not in "iu" or end.dtype.kind not in "iu":
        raise TypeError(
            f"start/end must be integer columns, got {start.dtype}/{end.dtype}; convert with "
            "df.astype({'start': 'int64', 'end': 'int64'})"
        )
    bad = np.flatnonzero((start < 0) | (start > end))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"row {i} has start={start[i]}, end={end[i]}; BED needs 0 <= start <= end")
    narrow = any(c in df.columns for c in ("signalValue", "pValue", "qValue", "peak"))
    order = NARROWPEAK_COLUMNS if narrow else BED_COLUMNS
    last = max(i for i, c in enumerate(order) if c in df.columns)
    fill = {"name": ".", "score": 0, "strand": ".", "signalValue": -1, "pValue": -1,
            "qValue": -1, "peak": -1, "thickStart": None, "thickEnd": None}  # fmt: skip
    out = pd.DataFrame(index=df.index)
    for c in order[: last + 1]:
        if c in df.columns:
            out[c] = df[c]
        elif c == "thickStart":
            out[c] = start
        elif c == "thickEnd":
            out[c] = end
        else:
            out[c] = fill.get(c, ".")
    with atomic_write(path, "w") as fh:
        if track_line:
            fh.write(track_line.rstrip("\n") + "\n")
        out.to_csv(fh, sep="\t", header=False, index=False, na_rep=".")
