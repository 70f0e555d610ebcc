"""Motif files: MEME minimal format, JASPAR ``.jaspar`` and ``.pfm``.

Every reader returns ``dict[str, np.ndarray]``: one float64 array of shape ``(4, w)`` per motif, rows
A, C, G, T, each column a probability distribution (summing to 1). Keys are the text of the file's
motif header with runs of whitespace collapsed to one space, e.g. ``"MA0010.2 br"``; the file's order
is kept. Malformed files raise :class:`~genodeep._validate.InputFileError` naming the file and line.

MEME minimal format (https://meme-suite.org/meme/doc/meme-format.html)::

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

JASPAR format (counts, one row per letter)::

    >MA0004.1 Arnt
    A  [ 4 19  0  0  0  0 ]
    C  [16  0 20  0  0  0 ]
    G  [ 0  1  0 20  0 20 ]
    T  [ 0  0  0  0 20  0 ]

``.pfm`` files hold the four rows of counts without the letters (optionally after a ``>`` header).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from genodeep._io_utils import atomic_write, open_text
from genodeep._validate import InputFileError, check_positive, near_matches

__all__ = [
    "read_motifs",
    "read_meme",
    "write_meme",
    "read_jaspar",
    "write_jaspar",
    "read_pfm",
    "select_motifs",
]

_LETTERS = "ACGT"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token)) or token.lower() in ("nan", "inf", "-inf", "+inf")


def _key(text: str) -> str:
    return " ".join(text.split())


def counts_to_probabilities(
    counts: np.ndarray, *, pseudocount: float = 0.0, background: Sequence[float] | None = None
) -> np.ndarray:
    """Turn a count (or unnormalised) matrix into column probabilities.

    Parameters
    ----------
    counts : np.ndarray, shape (4, w)
        Non-negative counts, rows A, C, G, T.
    pseudocount : float
        Total pseudocount added to each column, spread over the letters by ``background``:
        ``p[b, j] = (counts[b, j] + pseudocount * background[b]) / (sum_b counts[b, j] + pseudocount)``
        (the MEME suite's convention). 0 keeps the observed frequencies.
    background : sequence of 4 floats, optional
        Letter frequencies A, C, G, T; uniform by default.

    Returns
    -------
    probs : np.ndarray float64, shape (4, w)
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != 4:
        raise ValueError(
            f"counts had shape {counts.shape} while it should have had (4, w) (rows A, C, G, T)"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and >= 0; got negative, NaN or infinite values")
    check_positive("pseudocount", pseudocount, allow_zero=True)
    bg = _background(background)
    totals = counts.sum(axis=0) + pseudocount
    if np.any(totals <= 0):
        bad = int(np.flatnonzero(totals <= 0)[0])
        raise ValueError(
            f"column {bad} of the count matrix sums to 0; give pseudocount > 0 or fix the counts"
        )
    return (counts + pseudocount * bg[:, None]) / totals


def _background(background: Sequence[float] | Mapping[str, float] | None) -> np.ndarray:
    """Background letter frequencies as a float64 array (4,), validated and normalised."""
    if background is None:
        return np.full(4, 0.25)
    if isinstance(background, Mapping):
        missing = [b for b in _LETTERS if b not in background]
        if missing:
            raise ValueError(f"background is missing letters {missing}; give A, C, G and T")
        background = [background[b] for b in _LETTERS]
    bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise ValueError(
            f"background must be 4 positive frequencies for A, C, G, T, got {background!r}"
        )
    return bg / bg.sum()


def _check_motifs(
    motifs: Mapping[str, np.ndarray], argument: str = "motifs"
) -> dict[str, np.ndarray]:
    """Validate a mapping of motif name -> (4, w) matrix; return float64 copies."""
    if not isinstance(motifs, Mapping):
        raise TypeError(
            f"{argument} must be a mapping of name -> (4, w) array, got {type(motifs).__name__}"
        )
    if len(motifs) == 0:
        raise ValueError(f"{argument} is empty; give at least one motif")
    out: dict[str, np.ndarray] = {}
    for name, pwm in motifs.items():
        if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
            raise ValueError(f"motif name {name!r} must be a non-empty single-line string")
        arr = np.asarray(pwm.detach().cpu() if hasattr(pwm, "detach") else pwm, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
            raise ValueError(
                f"motif {name!r} had shape {arr.shape} while it should have had (4, w) with w >= 1 "
                "(rows A, C, G, T; transpose a (w, 4) matrix)"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"motif {name!r} has negative, NaN or infinite values")
        out[name] = arr
    return out


# ---------------------------------------------------------------------------------------------
# MEME
# ---------------------------------------------------------------------------------------------


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
    bg = _background(background)
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


def _normalise_columns(pwm: np.ndarray, name: str) -> np.ndarray:
    sums = pwm.sum(axis=0)
    if np.any(sums <= 0):
        raise ValueError(f"motif {name!r} has a column summing to 0; it cannot be written")
    return pwm / sums


# ---------------------------------------------------------------------------------------------
# JASPAR / PFM
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# dispatch and selection
# ---------------------------------------------------------------------------------------------

_READERS = {
    ".meme": "meme",
    ".txt": "meme",
    ".jaspar": "jaspar",
    ".pfm": "pfm",
}


def read_motifs(path: str | os.PathLike, *, pseudocount: float = 0.0) -> dict[str, np.ndarray]:
    """Read a motif file, choosing the format by extension.

    Parameters
    ----------
    path : str or os.PathLike
        ``.meme``/``.txt`` (MEME minimal format), ``.jaspar`` (JASPAR counts) or ``.pfm`` (four count
        rows); a trailing ``.gz`` is allowed.
    pseudocount : float
        For count formats (JASPAR, PFM): total pseudocount per column (see
        :func:`counts_to_probabilities`). Ignored for MEME files, which hold probabilities.

    Returns
    -------
    motifs : dict[str, np.ndarray]
        Name -> float64 probabilities of shape (4, w), rows A, C, G, T, in file order.
    """
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    kind = _READERS.get(ext)
    if kind is None:
        raise ValueError(
            f"path={os.fspath(path)!r}: cannot tell the motif format from the extension {ext!r}; "
            f"use one of {', '.join(_READERS)} (optionally .gz) or call read_meme/read_jaspar/read_pfm"
        )
    if kind == "meme":
        return read_meme(path)
    if kind == "jaspar":
        return read_jaspar(path, pseudocount=pseudocount)
    return read_pfm(path, pseudocount=pseudocount)


def select_motifs(motifs: Mapping[str, np.ndarray], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Pick motifs by key, by ID (first word) or by name (the rest), case-insensitively for names.

    Parameters
    ----------
    motifs : Mapping[str, array (4, w)]
        As returned by :func:`read_motifs`, keys ``"ID name"``.
    names : iterable of str
        E.g. ``["MA0529.3 BEAF-32"]``, ``["MA0529.3"]`` or ``["BEAF-32"]``.

    Returns
    -------
    selected : dict[str, np.ndarray]
        The chosen motifs under their full keys, in the order of ``names``.

    Raises
    ------
    ValueError
        A name matches no motif (near matches are listed) or several.
    """
    keys = list(motifs)
    out: dict[str, np.ndarray] = {}
    for query in names:
        q = _key(query)
        if q in motifs:
            out[q] = motifs[q]
            continue
        hits = [k for k in keys if k.split(" ", 1)[0] == q]
        if not hits:
            hits = [k for k in keys if k.partition(" ")[2].lower() == q.lower()]
        if not hits:
            hits = [k for k in keys if k.lower() == q.lower()]
        if len(hits) == 1:
            out[hits[0]] = motifs[hits[0]]
            continue
        if len(hits) > 1:
            raise ValueError(
                f"motif name {query!r} matches several motifs: {', '.join(hits)}; give the full "
                "'ID name' key"
            )
        candidates = keys + [k.split(" ", 1)[0] for k in keys] + [k.partition(" ")[2] for k in keys]
        near = near_matches(q, [c for c in candidates if c])
        hint = f"; did you mean {', '.join(repr(c) for c in near)}?" if near else ""
        raise ValueError(
            f"motif name {query!r} is not among the {len(keys)} motifs{hint} "
            "(give a key 'ID name', an ID or a name from the motif file)"
        )
    return out
