"""Motif files: read any supported format by extension, and pick motifs by name.

Formats: MEME minimal format (:mod:`genodeep.io.meme`), JASPAR ``.jaspar`` and ``.pfm``
(:mod:`genodeep.io.jaspar`).

Every reader returns ``dict[str, np.ndarray]``: one float64 array of shape ``(4, w)`` per motif, rows
A, C, G, T, each column a probability distribution (summing to 1). Keys are the text of the file's
motif header with runs of whitespace collapsed to one space, e.g. ``"MA0010.2 br"``; the file's order
is kept. Malformed files raise :class:`~genodeep._validate.InputFileError` naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from genodeep._validate import near_matches
from genodeep.io._motif_common import _key
from genodeep.io.jaspar import read_jaspar, read_pfm
from genodeep.io.jaspar_db import is_jaspar_spec, read_jaspar_database
from genodeep.io.meme import read_meme

__all__ = ["read_motifs", "select_motifs"]


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
        rows); a trailing ``.gz`` is allowed. Or the JASPAR database offline: ``"jaspar"``,
        ``"jaspar:vertebrates"``, ``"jaspar:insects@2024"`` (see :mod:`genodeep.io.jaspar_db`).
    pseudocount : float
        For count formats (JASPAR, PFM): total pseudocount per column (see
        :func:`counts_to_probabilities`). Ignored for MEME files, which hold probabilities.

    Returns
    -------
    motifs : dict[str, np.ndarray]
        Name -> float64 probabilities of shape (4, w), rows A, C, G, T, in file order.
    """
    if is_jaspar_spec(path):
        return read_jaspar_database(str(path), pseudocount=pseudocount)
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
