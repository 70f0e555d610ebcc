"""MEME minimal motif format (https://meme-suite.org/meme/doc/meme-format.html), read and write.

::

    MEME version 4

    ALPHABET= ACGT

    strands: + -

    Background letter frequencies
    A 0.25 C 0.25 G 0.25 T 0.25

    MOTIF MA0010.2 br
    letter-probability matrix: alength= 4 w= 3 nsites= 9 E= 0
      0.1  0.1  0.1  0.7
      ...
    URL http://jaspar.genereg.net/matrix/MA0010.2

:func:`read_meme` returns ``{"ID name": (4, w) float64}`` (rows A, C, G, T, columns normalised) and
raises :class:`~genodeep._validate.InputFileError` naming the file and line.

Why not ``memelite.io.read_meme``/``write_meme``: on the same files memelite's reader neither reads
gzip nor checks the alphabet, ``alength``, ``w=`` against the rows, duplicate names (a repeated
motif silently replaces the first) or negative values; it fails with a bare ``ValueError`` (no file,
no line) on a blank line between a matrix header and its rows, skips an indented
``letter-probability`` line (dropping the motif), and returns the rows as written (not normalised).
Its writer always writes a uniform background and ``nsites= 1``, with no choice of precision. Both
formats agree on well-formed files; ``tests/io/test_io_motifs.py`` checks that each reads the other's
output.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence

import numpy as np

from genodeep._io_utils import atomic_write, open_text
from genodeep._validate import InputFileError
from genodeep.io._motif_common import (
    _LETTERS,
    _check_motifs,
    _is_number,
    _key,
    _normalise_columns,
    background_frequencies,
)

__all__ = ["read_meme", "write_meme"]


def read_meme(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a MEME minimal-format motif file (versions 4 and 5).

    Parameters
    ----------
    path : str or os.PathLike
        ``.meme``/``.txt`` file, plain or gzip. Only the DNA alphabet (A, C, G, T) is accepted
        (``ALPHABET= ACGT`` or a custom ``ALPHABET ... END ALPHABET`` block with these core letters).
        ``log-odds matrix`` sections, ``URL`` lines, ``strands`` and the background block are read
        past; every motif needs a ``letter-probability matrix``.

    Returns
    -------
    motifs : dict[str, np.ndarray]
        ``"ID [name]"`` -> float64 array of shape (4, w), rows A, C, G, T; each column normalised to
        sum to 1 (MEME files round to 6 decimals).

    Raises
    ------
    InputFileError
        Empty file or no ``MOTIF`` line, a non-DNA alphabet, ``alength`` other than 4, a row without
        4 numbers, ``w=`` disagreeing with the number of rows, negative/NaN/infinite values, a motif
        without a matrix, or a duplicated motif name; the message names the file and line.
    """
    motifs: dict[str, np.ndarray] = {}
    with open_text(path, "MEME motif file") as fh:
        lines = fh.read().splitlines()
    if not any(line.strip() for line in lines):
        raise InputFileError(
            "the file is empty", path=path, fix="give a MEME minimal-format file with MOTIF entries"
        )
    i = 0
    n = len(lines)
    current: str | None = None  # name of the motif whose matrix is awaited
    current_line = 0
    while i < n:
        raw = lines[i]
        line = raw.strip()
        lineno = i + 1
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("ALPHABET"):
            i = _meme_alphabet(lines, i, line, path, lineno)
            continue
        if line.startswith("MOTIF"):
            if current is not None:
                raise InputFileError(
                    f"motif {current!r} (line {current_line}) has no letter-probability matrix",
                    path=path,
                    line=lineno,
                    fix="add a 'letter-probability matrix: alength= 4 w= W' line and W rows",
                )
            rest = line[len("MOTIF") :]
            name = _key(rest)
            if re.search(r"\bMEME-\d+\s+width\s*=", rest):
                raise InputFileError(
                    "this is MEME's full text output (meme.txt), not the minimal motif format",
                    path=path,
                    line=lineno,
                    fix="convert it with the MEME suite: meme2meme meme.txt > motifs.meme",
                )
            if not name or not line[len("MOTIF") :][:1].isspace():
                raise InputFileError(
                    "MOTIF line without an identifier",
                    path=path,
                    line=lineno,
                    fix="write 'MOTIF ID [name]'",
                )
            if name in motifs:
                raise InputFileError(
                    f"motif {name!r} appears twice",
                    path=path,
                    line=lineno,
                    fix="give each motif a unique 'MOTIF ID name' line",
                )
            current, current_line = name, lineno
            continue
        low = line.lower()
        if low.startswith("letter-probability matrix"):
            if current is None:
                raise InputFileError(
                    "letter-probability matrix before any MOTIF line",
                    path=path,
                    line=lineno,
                    fix="start each motif with 'MOTIF ID [name]'",
                )
            params = _meme_params(line, path, lineno)
            mat, i = _meme_rows(lines, i, params, path, lineno, current)
            motifs[current] = mat
            current = None
            continue
        if low.startswith("log-odds matrix"):
            params = _meme_params(line, path, lineno)
            _, i = _meme_rows(lines, i, params, path, lineno, current or "?", check_values=False)
            continue
        # other lines (MEME version, strands, URL, free text) are not needed here
        if low.startswith("background letter frequencies"):
            i = _meme_background(lines, i, path)
    if current is not None:
        raise InputFileError(
            f"motif {current!r} has no letter-probability matrix",
            path=path,
            line=current_line,
            fix="add a 'letter-probability matrix: alength= 4 w= W' line and W rows",
        )
    if not motifs:
        raise InputFileError(
            "no MOTIF found",
            path=path,
            fix="a MEME minimal-format file needs 'MOTIF ID name' lines, each followed by a "
            "'letter-probability matrix' (is this a JASPAR/.pfm file? use read_jaspar/read_pfm)",
        )
    return motifs


def _meme_alphabet(lines: list[str], i: int, line: str, path, lineno: int) -> int:
    """Check the ALPHABET declaration; return the index of the next unread line."""
    if line.startswith("ALPHABET="):
        letters = line[len("ALPHABET=") :].strip()
        if letters.upper() != _LETTERS:
            raise InputFileError(
                f"alphabet {letters!r} is not supported; only DNA (ACGT) motifs are read",
                path=path,
                line=lineno,
                fix="convert the motifs to the DNA alphabet 'ALPHABET= ACGT'",
            )
        return i
    # custom alphabet block: ALPHABET "name" [DNA-LIKE] ... END ALPHABET
    core: list[str] = []
    n = len(lines)
    while i < n:
        text = lines[i].strip()
        i += 1
        if text.upper().startswith("END ALPHABET"):
            if sorted(core) != sorted(_LETTERS):
                raise InputFileError(
                    f"alphabet with core letters {''.join(core) or 'none'} is not supported; only "
                    "DNA (A, C, G, T) motifs are read",
                    path=path,
                    line=lineno,
                    fix="convert the motifs to the DNA alphabet",
                )
            return i
        unquoted = re.sub(r'"[^"]*"', " ", text)
        if not text or text.startswith("#") or "=" in unquoted:
            continue  # ambiguity definitions like 'N "Any base" = ACGT'
        for part in unquoted.split("~"):
            tokens = part.split()
            if tokens and len(tokens[0]) == 1:
                core.append(tokens[0].upper())
    raise InputFileError(
        "ALPHABET block without 'END ALPHABET'",
        path=path,
        line=lineno,
        fix="close the custom alphabet with 'END ALPHABET' or use 'ALPHABET= ACGT'",
    )


def _meme_background(lines: list[str], i: int, path) -> int:
    """Read past the background frequency line(s), checking they are 'letter number' pairs."""
    n = len(lines)
    while i < n and not lines[i].strip():
        i += 1
    while i < n:
        tokens = lines[i].split()
        if (
            not tokens
            or len(tokens) % 2
            or not all(len(t) == 1 and t.isalpha() for t in tokens[0::2])
            or not all(_is_number(t) for t in tokens[1::2])
        ):
            break
        for letter, value in zip(tokens[0::2], tokens[1::2]):
            v = float(value)
            if not math.isfinite(v) or v < 0:
                raise InputFileError(
                    f"background frequency of {letter} is {value}",
                    path=path,
                    line=i + 1,
                    fix="background frequencies must be finite and >= 0",
                )
        i += 1
    return i


def _meme_params(line: str, path, lineno: int) -> dict[str, float]:
    """Parse 'key= value' pairs after the colon of a matrix header line."""
    _, _, rest = line.partition(":")
    params: dict[str, float] = {}
    for key, value in re.findall(r"([A-Za-z]+)\s*=\s*(\S+)", rest):
        try:
            params[key.lower()] = float(value)
        except ValueError:
            raise InputFileError(
                f"{key}= {value!r} is not a number",
                path=path,
                line=lineno,
                fix="write e.g. 'letter-probability matrix: alength= 4 w= 10'",
            ) from None
    if "alength" in params and params["alength"] != 4:
        raise InputFileError(
            f"alength= {params['alength']:g} but only DNA (4 letters) is supported",
            path=path,
            line=lineno,
            fix="use DNA motifs with alength= 4",
        )
    if "w" in params:
        w = params["w"]
        if not (math.isfinite(w) and w == int(w) and w >= 1):
            raise InputFileError(
                f"w= {w:g} is not a positive integer",
                path=path,
                line=lineno,
                fix="w= must give the number of matrix rows",
            )
    return params


def _meme_rows(
    lines: list[str],
    i: int,
    params: dict[str, float],
    path,
    header_line: int,
    name: str,
    *,
    check_values: bool = True,
) -> tuple[np.ndarray, int]:
    """Read the matrix rows that follow a matrix header; return (matrix (4, w), next index)."""
    w = int(params["w"]) if "w" in params else None
    rows: list[list[float]] = []
    n = len(lines)
    while i < n and (w is None or len(rows) < w):
        text = lines[i].strip()
        if not text:
            if rows and w is None:
                break
            i += 1
            continue
        tokens = text.split()
        if not all(_is_number(t) for t in tokens):
            break
        if len(tokens) != 4:
            raise InputFileError(
                f"matrix row of motif {name!r} has {len(tokens)} columns, expected 4 (A C G T)",
                path=path,
                line=i + 1,
                fix="each row must hold 4 probabilities",
            )
        values = [float(t) for t in tokens]
        if check_values and any(not math.isfinite(v) or v < 0 for v in values):
            raise InputFileError(
                f"matrix row of motif {name!r} has a negative, NaN or infinite value: {text}",
                path=path,
                line=i + 1,
                fix="probabilities must be finite and >= 0",
            )
        rows.append(values)
        i += 1
    if w is not None and len(rows) != w:
        raise InputFileError(
            f"motif {name!r} declares w= {w} but has {len(rows)} matrix rows",
            path=path,
            line=header_line,
            fix="make w= equal the number of rows",
        )
    if not rows:
        raise InputFileError(
            f"motif {name!r} has an empty matrix",
            path=path,
            line=header_line,
            fix="add one row of 4 probabilities per motif position",
        )
    mat = np.asarray(rows, dtype=np.float64).T
    if check_values:
        sums = mat.sum(axis=0)
        if np.any(sums <= 0):
            bad = int(np.flatnonzero(sums <= 0)[0])
            raise InputFileError(
                f"row {bad + 1} of motif {name!r} sums to 0",
                path=path,
                line=header_line + 1 + bad,
                fix="each row must hold probabilities summing to 1",
            )
        mat = mat / sums
    return mat, i


def write_meme(
    path: str | os.PathLike,
    motifs: Mapping[str, np.ndarray],
    *,
    background: Sequence[float] | None = None,
    nsites: int = 20,
    precision: int = 6,
) -> None:
    """Write motifs in MEME minimal format (version 4), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (``.gz`` compresses).
    motifs : Mapping[str, array (4, w)]
        Name -> probabilities (or counts, which are normalised per column), rows A, C, G, T. The name
        is written after ``MOTIF`` ("ID name").
    background : sequence of 4 floats, optional
        Letter frequencies for the header; uniform by default.
    nsites : int
        Value of ``nsites=`` in each matrix header.
    precision : int
        Decimals per probability (6 as MEME writes).
    """
    motifs = _check_motifs(motifs)
    bg = background_frequencies(background)
    with atomic_write(path, "w") as fh:
        fh.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n")
        fh.write("Background letter frequencies\n")
        fh.write(" ".join(f"{b} {v:.{precision}f}" for b, v in zip(_LETTERS, bg)) + "\n\n")
        for name, pwm in motifs.items():
            probs = _normalise_columns(pwm, name)
            fh.write(f"MOTIF {name}\n")
            fh.write(
                f"letter-probability matrix: alength= 4 w= {probs.shape[1]} nsites= {nsites} E= 0\n"
            )
            for col in probs.T:
                fh.write(" " + " ".join(f" {v:.{precision}f}" for v in col) + "\n")
            fh.write("\n")
