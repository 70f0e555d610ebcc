"""JASPAR ``.jaspar`` and ``.pfm`` count matrices, read and write.

JASPAR format (counts, one row per letter)::

    >MA0004.1 Arnt
    A  [ 4 19  0  0  0  0 ]
    C  [16  0 20  0  0  0 ]
    G  [ 0  1  0 20  0 20 ]
    T  [ 0  0  0  0 20  0 ]

``.pfm`` files hold the four rows of counts without the letters (optionally after a ``>`` header).
Readers return ``{"ID name": (4, w) float64}`` probabilities (rows A, C, G, T) and raise
:class:`~genodeep._validate.InputFileError` naming the file and line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from genodeep._io_utils import atomic_write, open_text
from genodeep._validate import InputFileError, check_positive
from genodeep.io._motif_common import (
    _LETTERS,
    _check_motifs,
    _is_number,
    _key,
    _normalise_columns,
    counts_to_probabilities,
)

__all__ = ["read_jaspar", "read_pfm", "write_jaspar"]


_JASPAR_ROW = re.compile(r"^([ACGTacgt])\s*:?\s*\[?([^\]]*)\]?\s*$")


def read_jaspar(path: str | os.PathLike, *, pseudocount: float = 0.0) -> dict[str, np.ndarray]:
    """Read a JASPAR-format file (one or more ``>ID name`` records of four count rows).

    Parameters
    ----------
    path : str or os.PathLike
        ``.jaspar`` file, plain or gzip. Each record is a ``>`` header followed by rows
        ``A [ c1 c2 ... ]`` for A, C, G and T (any order, brackets optional).
    pseudocount : float
        Total pseudocount added per column before normalising (see :func:`counts_to_probabilities`).

    Returns
    -------
    motifs : dict[str, np.ndarray]
        ``"ID name"`` -> float64 probabilities of shape (4, w), rows A, C, G, T.
    """
    check_positive("pseudocount", pseudocount, allow_zero=True)
    records = _read_count_records(path, lettered=True)
    return {
        name: _to_probs(counts, pseudocount, path, line, name)
        for name, (counts, line) in records.items()
    }


def read_pfm(path: str | os.PathLike, *, pseudocount: float = 0.0) -> dict[str, np.ndarray]:
    """Read a ``.pfm`` file: four rows of counts (A, C, G, T), with or without ``>`` headers.

    Rows may also carry JASPAR letter labels and brackets. A file without a header gives one motif
    named after the file (its name without extension).

    Returns
    -------
    motifs : dict[str, np.ndarray]
        Name -> float64 probabilities of shape (4, w), rows A, C, G, T.
    """
    check_positive("pseudocount", pseudocount, allow_zero=True)
    records = _read_count_records(path, lettered=False)
    return {
        name: _to_probs(counts, pseudocount, path, line, name)
        for name, (counts, line) in records.items()
    }


def _to_probs(counts: np.ndarray, pseudocount: float, path, line: int, name: str) -> np.ndarray:
    try:
        return counts_to_probabilities(counts, pseudocount=pseudocount)
    except ValueError as err:
        raise InputFileError(
            f"motif {name!r}: {err}",
            path=path,
            line=line,
            fix="give pseudocount > 0 or fix the counts",
        ) from None


def _read_count_records(path, *, lettered: bool) -> dict[str, tuple[np.ndarray, int]]:
    """Parse '>' records of 4 count rows; return name -> (counts (4, w), header line)."""
    with open_text(path, "motif file") as fh:
        lines = fh.read().splitlines()
    if not any(line.strip() for line in lines):
        raise InputFileError("the file is empty", path=path, fix="give a JASPAR or PFM motif file")
    default_name = _stem(path)
    records: dict[str, tuple[np.ndarray, int]] = {}
    name: str | None = None
    header_line = 1
    rows: list[tuple[str | None, list[float], int]] = []

    def flush() -> None:
        nonlocal rows
        if name is None and not rows:
            return
        label = name if name is not None else default_name
        if len(rows) != 4:
            raise InputFileError(
                f"motif {label!r} has {len(rows)} count rows, expected 4 (A, C, G, T)",
                path=path,
                line=rows[-1][2] if rows else header_line,
                fix="give exactly four rows of counts per motif, in the order A, C, G, T",
            )
        widths = {len(r[1]) for r in rows}
        if len(widths) != 1:
            bad = next(r for r in rows if len(r[1]) != len(rows[0][1]))
            raise InputFileError(
                f"motif {label!r}: rows have different numbers of columns "
                f"({', '.join(str(len(r[1])) for r in rows)})",
                path=path,
                line=bad[2],
                fix="every row needs one count per motif position",
            )
        letters = [r[0] for r in rows]
        if all(letter is not None for letter in letters):
            if sorted(letters) != sorted(_LETTERS):
                raise InputFileError(
                    f"motif {label!r}: row letters {''.join(letters)} are not A, C, G, T",
                    path=path,
                    line=rows[0][2],
                    fix="label the rows A, C, G and T",
                )
            order = [letters.index(b) for b in _LETTERS]
        else:
            order = [0, 1, 2, 3]
        counts = np.asarray([rows[k][1] for k in order], dtype=np.float64)
        if label in records:
            raise InputFileError(
                f"motif {label!r} appears twice",
                path=path,
                line=header_line,
                fix="give each motif a unique header",
            )
        records[label] = (counts, header_line)
        rows = []

    for idx, raw in enumerate(lines):
        lineno = idx + 1
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(">"):
            flush()
            name = _key(text[1:])
            header_line = lineno
            if not name:
                raise InputFileError(
                    "empty '>' header", path=path, line=lineno, fix="write '>ID name'"
                )
            continue
        letter: str | None = None
        body = text
        m = _JASPAR_ROW.match(text)
        if m:
            letter, body = m.group(1).upper(), m.group(2)
        elif lettered and not _is_number(text.split()[0]):
            raise InputFileError(
                f"expected a row like 'A [ 1 2 3 ]', got {text[:60]!r}",
                path=path,
                line=lineno,
                fix="JASPAR rows start with the letter (A, C, G or T) then the counts in brackets",
            )
        tokens = body.replace("[", " ").replace("]", " ").split()
        if not tokens or not all(_is_number(t) for t in tokens):
            raise InputFileError(
                f"count row has non-numeric values: {text[:60]!r}",
                path=path,
                line=lineno,
                fix="rows hold numbers separated by spaces",
            )
        values = [float(t) for t in tokens]
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise InputFileError(
                f"count row has a negative, NaN or infinite value: {text[:60]!r}",
                path=path,
                line=lineno,
                fix="counts must be finite and >= 0",
            )
        if len(rows) == 4:
            raise InputFileError(
                "more than 4 count rows in one motif",
                path=path,
                line=lineno,
                fix="give exactly four rows (A, C, G, T) per motif; start the next with '>'",
            )
        if name is None and not rows:
            header_line = lineno
        rows.append((letter, values, lineno))
    flush()
    if not records:
        raise InputFileError(
            "no motif found", path=path, fix="give '>ID name' records of 4 count rows"
        )
    return records


def _stem(path) -> str:
    name = Path(os.fspath(path)).name
    for ext in (".gz", ".pfm", ".jaspar", ".txt"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name or "motif"


def write_jaspar(
    path: str | os.PathLike,
    motifs: Mapping[str, np.ndarray],
    *,
    nsites: int | None = None,
    precision: int = 6,
) -> None:
    """Write motifs in JASPAR format, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.jaspar`` file (``.gz`` compresses).
    motifs : Mapping[str, array (4, w)]
        Name -> probabilities (or counts), rows A, C, G, T.
    nsites : int, optional
        When given, write integer counts ``round(p * nsites)`` like JASPAR's own files; by default
        write the probabilities themselves with ``precision`` decimals (``read_jaspar`` reads both and
        the round trip is exact to ``precision`` decimals).
    """
    motifs = _check_motifs(motifs)
    if nsites is not None:
        check_positive("nsites", nsites)
    with atomic_write(path, "w") as fh:
        for name, pwm in motifs.items():
            probs = _normalise_columns(pwm, name)
            fh.write(f">{name}\n")
            for b, row in zip(_LETTERS, probs):
                if nsites is None:
                    vals = " ".join(f"{v:.{precision}f}" for v in row)
                else:
                    vals = " ".join(f"{int(round(v * nsites)):d}" for v in row)
                fh.write(f"{b}  [ {vals} ]\n")
