"""Labels for windows: multitask binary labels from BED files, or labels from a table."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genodeep._io_utils import open_text
from genodeep._validate import InputFileError, check_choice
from genodeep.data.intervals import check_windows, tile_genome
from genodeep.io.bed import chrom_sizes_of, match_chroms, read_bed

__all__ = ["multitask_labels", "overlap_labels", "tile_and_label", "labels_from_table", "task_name"]

_MAX_PAIRS = 1 << 22  # window/interval pairs examined at once
_MISSING = frozenset({"", "na", "nan", "n/a", "."})


def task_name(path: str | os.PathLike) -> str:
    """Task name of a BED path: the file name without ``.gz`` and its BED-like extension."""
    name = Path(path).name
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in (".bed", ".narrowPeak", ".broadPeak", ".bedgraph", ".txt", ".tsv"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def overlap_labels(
    windows: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    min_overlap: float = 0.5,
    relative_to: str = "smaller",
) -> np.ndarray:
    """Whether each window overlaps an interval enough (one task).

    The rule: window ``w`` is positive when some single interval ``i`` overlaps it by
    ``ov = min(w.end, i.end) - max(w.start, i.start) > 0`` bases with ``ov >= min_overlap * D``,
    where ``D`` is ``min(len(w), len(i))`` for ``relative_to="smaller"`` (half of the window, or half
    of the peak when the peak is smaller), ``len(w)`` for ``"window"`` and ``len(i)`` for
    ``"interval"``.

    Parameters
    ----------
    windows : pandas.DataFrame, N rows
        chrom/start/end.
    intervals : pandas.DataFrame
        chrom/start/end; chromosome names are harmonised to the windows' (``chr`` prefix).
    min_overlap : float in (0, 1], default 0.5
    relative_to : {"smaller", "window", "interval"}, default "smaller"

    Returns
    -------
    positive : np.ndarray of bool, shape (N,)
    """
    check_windows(windows, "windows")
    check_windows(intervals, "intervals")
    min_overlap = float(min_overlap)
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must be in (0, 1] (a fraction), got {min_overlap}")
    check_choice("relative_to", relative_to, ("smaller", "window", "interval"))
    w_chrom = windows["chrom"].to_numpy()
    w_start = windows["start"].to_numpy(dtype=np.int64)
    w_end = windows["end"].to_numpy(dtype=np.int64)
    out = np.zeros(len(windows), dtype=bool)
    mapping = match_chroms(list(dict.fromkeys(intervals["chrom"])), list(dict.fromkeys(w_chrom)))
    for chrom, group in intervals.groupby("chrom", sort=False):
        target = mapping[chrom]
        if target is None:
            continue
        rows = np.flatnonzero(w_chrom == target)
        if rows.size == 0 or group.empty:
            continue
        s = group["start"].to_numpy(dtype=np.int64)
        order = np.argsort(s, kind="stable")
        s = s[order]
        e = group["end"].to_numpy(dtype=np.int64)[order]
        longest = int((e - s).max())
        ws, we = w_start[rows], w_end[rows]
        # candidates: intervals starting before the window's end and after (window start - longest)
        hi = np.searchsorted(s, we, side="left")
        lo = np.searchsorted(s, ws - longest, side="right")
        counts = np.maximum(hi - lo, 0)
        cum = np.cumsum(counts)
        edges = np.searchsorted(cum, np.arange(_MAX_PAIRS, cum[-1] + 1, _MAX_PAIRS), "left") + 1
        bounds = np.unique(np.concatenate([[0], np.minimum(edges, len(rows)), [len(rows)]]))
        for a, b in zip(bounds[:-1], bounds[1:]):
            c = counts[a:b]
            total = int(c.sum())
            if total == 0:
                continue
            widx = np.repeat(np.arange(a, b), c)
            iidx = np.repeat(lo[a:b], c) + (np.arange(total) - np.repeat(np.cumsum(c) - c, c))
            ov = np.minimum(we[widx], e[iidx]) - np.maximum(ws[widx], s[iidx])
            wl = we[widx] - ws[widx]
            il = e[iidx] - s[iidx]
            if relative_to == "smaller":
                denom = np.minimum(wl, il)
            elif relative_to == "window":
                denom = wl
            else:
                denom = il
            ok = (ov > 0) & (ov >= min_overlap * denom)
            out[rows[np.unique(widx[ok])]] = True
    return out


def multitask_labels(
    windows: pd.DataFrame,
    beds: Mapping[str, str | os.PathLike | pd.DataFrame] | Sequence[str | os.PathLike],
    *,
    min_overlap: float = 0.5,
    relative_to: str = "smaller",
    genome: object | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Binary labels of windows, one task per BED file.

    A window is positive for a task when one interval of that task's BED overlaps it by at least
    ``min_overlap`` of the smaller of the two (default ``relative_to="smaller"``: with 0.5, half the
    window is covered or half the peak lies in the window); see :func:`overlap_labels` for the exact
    rule and the other choices. Vectorised per chromosome with sorted arrays (no loop over windows).

    Parameters
    ----------
    windows : pandas.DataFrame, N rows
        chrom/start/end.
    beds : Mapping[str, path or DataFrame] or sequence of paths
        Task name -> BED file (read with :func:`genodeep.io.read_bed`) or intervals DataFrame. A
        sequence of paths names each task after its file (``BEAF_Kc.bed`` -> ``BEAF_Kc``). Records on
        chromosomes without windows are ignored; ``chr`` prefixes are harmonised to the windows'.
    min_overlap : float in (0, 1], default 0.5
    relative_to : {"smaller", "window", "interval"}, default "smaller"
    genome : Genome or Mapping[str, int], optional
        The genome the windows come from. BED files are then checked against it as
        :func:`genodeep.io.read_bed` does: chromosome names are harmonised (``chr`` prefixes, ``M``/``MT``),
        records past a chromosome end are an error naming the line, records on contigs the genome lacks
        are dropped with a count logged, and a file none of whose records lies on the genome is an error.

    Returns
    -------
    y : np.ndarray float32, shape (N, T)
        1.0 = positive, 0.0 = negative.
    task_names : list[str], length T
        In the order of ``beds``.
    """
    check_windows(windows, "windows")
    if isinstance(beds, Mapping):
        items = [(str(k), v) for k, v in beds.items()]
    elif isinstance(beds, (str, os.PathLike, pd.DataFrame)):
        raise TypeError(
            "beds must be a mapping {task: path or DataFrame} or a list of paths, got a single "
            f"{type(beds).__name__}; wrap it: [path] or {{'task': df}}"
        )
    else:
        items = [(task_name(p), p) for p in beds]
    names = [k for k, _ in items]
    if not items:
        raise ValueError("beds is empty; give at least one BED file")
    if len(set(names)) != len(names):
        raise ValueError(f"task names must be unique, got {names}")
    y = np.zeros((len(windows), len(items)), dtype=np.float32)
    for t, (_, src) in enumerate(items):
        intervals = src if isinstance(src, pd.DataFrame) else _read_task_bed(src, genome)
        y[:, t] = overlap_labels(
            windows, intervals, min_overlap=min_overlap, relative_to=relative_to
        )
    return y, names


def _read_task_bed(path: str | os.PathLike, genome: object | None) -> pd.DataFrame:
    """A task's BED, checked against ``genome`` when one is given (see :func:`multitask_labels`)."""
    if genome is None:
        return read_bed(path)
    intervals = read_bed(path, genome=genome, drop_unknown=True)
    if len(intervals) == 0:
        file_chroms = list(dict.fromkeys(read_bed(path)["chrom"]))
        sizes = chrom_sizes_of(genome)
        raise InputFileError(
            f"none of the records lies on a chromosome of the genome: the file has "
            f"{', '.join(file_chroms[:8])}; the genome has {', '.join(list(sizes)[:8])}"
            f"{' ...' if len(sizes) > 8 else ''}",
            path=path,
            fix="use the genome the peaks were called on (same assembly and chromosome names), or "
            "rename the chromosomes in the BED file",
        )
    return intervals


def tile_and_label(
    genome: object,
    beds: Mapping[str, str | os.PathLike | pd.DataFrame] | Sequence[str | os.PathLike],
    *,
    width: int,
    stride: int | None = None,
    chroms: Sequence[str] | None = None,
    min_overlap: float = 0.5,
    relative_to: str = "smaller",
    max_n_fraction: float | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Tile a genome into windows and label them from BED files (a multitask data set).

    :func:`genodeep.data.tile_genome` followed by :func:`multitask_labels`. For the insulator
    example: ``tile_and_label(Genome("chr2R.fa.gz"), sorted(glob("insulators/*.bed")), width=1000,
    stride=500)`` gives the windows of chr2R and 8 binary tasks (records on other chromosomes are
    ignored).

    Parameters
    ----------
    genome : Genome or Mapping[str, int]
    beds : Mapping[str, path or DataFrame] or sequence of paths
        As in :func:`multitask_labels`.
    width : int
        Window width.
    stride : int, optional
        Step between windows (default ``width``).
    chroms : sequence of str, optional
        Chromosomes to tile (default all of the genome's).
    min_overlap, relative_to
        The labelling rule of :func:`overlap_labels`.
    max_n_fraction : float, optional
        Drop windows with more N than this (needs a Genome).

    Returns
    -------
    windows : pandas.DataFrame, N rows (RangeIndex)
        chrom, start, end.
    y : np.ndarray float32, shape (N, T)
    task_names : list[str], length T
    """

    windows = tile_genome(
        genome, width, stride=stride, chroms=chroms, max_n_fraction=max_n_fraction
    )
    y, names = multitask_labels(
        windows, beds, min_overlap=min_overlap, relative_to=relative_to, genome=genome
    )
    return windows, y, names


def _sniff_sep(path: str, first: str) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".csv"):
        return ","
    if name.endswith((".tsv", ".tab")):
        return "\t"
    return "\t" if "\t" in first else ","


def labels_from_table(path: str | os.PathLike, *, sep: str | None = None) -> pd.DataFrame:
    """Read labels from a TSV/CSV table with a header line.

    Parameters
    ----------
    path : str or os.PathLike
        Table (plain or gzip). Blank lines and lines starting with ``#`` are skipped. Key columns:
        ``chrom, start, end`` (labels of genomic windows) and/or ``name`` (labels of named
        sequences, e.g. FASTA records); when neither is present the first column is taken as
        ``name``. Every other column is a task.
    sep : str, optional
        Column separator (default: ``,`` for ``.csv``, tab for ``.tsv``/``.tab``, else tab when the
        header has one, else ``,``).

    Returns
    -------
    table : pandas.DataFrame
        The key columns (``start``/``end`` int64) then one float32 column per task, in file order;
        empty cells and ``NA``/``NaN``/``.`` are NaN (missing labels, to be masked in the loss).
        ``table.attrs["tasks"]`` lists the task columns.

    Raises
    ------
    InputFileError
        Naming the file and line: no header or rows, rows with a different number of fields, a
        non-numeric label, non-integer coordinates, duplicate names, no task column.
    """
    path = os.fspath(path)
    with open_text(path, "label table") as fh:
        kept = [(i, ln) for i, ln in enumerate(fh, 1) if ln.strip() and not ln.startswith("#")]
    if not kept:
        raise InputFileError(
            "the label table is empty", path=path, fix="write a header line then one row per item"
        )
    sep = sep or _sniff_sep(path, kept[0][1])
    linenos = [i for i, _ in kept]
    rows = list(csv.reader((ln.rstrip("\r\n") for _, ln in kept), delimiter=sep))
    header = [h.strip() for h in rows[0]]
    fix = f"give every row the {len(header)} columns of the header line ({sep!r}-separated)"
    if len(set(header)) != len(header):
        raise InputFileError(
            f"the header has duplicate column names {header}", path=path, line=linenos[0], fix=fix
        )
    body = rows[1:]
    if not body:
        raise InputFileError(
            "the label table has a header but no rows", path=path, line=linenos[0], fix=fix
        )
    for k, r in enumerate(body):
        if len(r) != len(header):
            raise InputFileError(
                f"row has {len(r)} fields but the header has {len(header)}",
                path=path,
                line=linenos[k + 1],
                fix=fix,
            )
    columns = list(zip(*body))
    data: dict[str, object] = {}
    if {"chrom", "start", "end"} <= set(header):
        keys = ["chrom", "start", "end"] + (["name"] if "name" in header else [])
    elif "name" in header:
        keys = ["name"]
    else:
        keys = [header[0]]
    for key in keys:
        col = [v.strip() for v in columns[header.index(key)]]
        if key in ("start", "end"):
            try:
                data[key] = np.array(col, dtype=np.int64)
            except (ValueError, OverflowError):
                k = next(i for i, v in enumerate(col) if not _is_int(v))
                raise InputFileError(
                    f"{key} {col[k]!r} is not an integer",
                    path=path,
                    line=linenos[k + 1],
                    fix="coordinates are whole numbers (0-based start, exclusive end)",
                ) from None
        else:  # chrom/name with coordinates, else the single key column, called "name"
            data[key if len(keys) >= 3 else "name"] = np.array(col, dtype=object)
    if "name" in data and "chrom" not in data:
        names = pd.Series(data["name"])
        dup = names.duplicated()
        if dup.any():
            k = int(np.flatnonzero(dup)[0])
            raise InputFileError(
                f"name {names[k]!r} appears twice",
                path=path,
                line=linenos[k + 1],
                fix="give each row a unique name",
            )
    tasks = [h for h in header if h not in keys]
    if not tasks:
        raise InputFileError(
            f"no label columns besides the key column(s) {keys}",
            path=path,
            line=linenos[0],
            fix="add one column per task",
        )
    for task in tasks:
        col = [v.strip() for v in columns[header.index(task)]]
        cells = ["nan" if v.lower() in _MISSING else v for v in col]
        try:
            data[task] = np.array(cells, dtype=np.float32)
        except (ValueError, OverflowError):
            k = next(i for i, v in enumerate(cells) if not _is_float(v))
            raise InputFileError(
                f"label {col[k]!r} in column {task!r} is not a number",
                path=path,
                line=linenos[k + 1],
                fix="labels are numbers (0/1 for classes); leave the cell empty or write NA "
                "for a missing label",
            ) from None
    table = pd.DataFrame(data)
    table.attrs["tasks"] = tasks
    return table


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _is_int(v: str) -> bool:
    try:
        int(v)
    except ValueError:
        return False
    return True
