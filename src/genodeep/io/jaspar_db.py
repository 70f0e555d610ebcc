"""The JASPAR database as a motif source, offline: the SQLite releases that the ``pyjaspar`` package ships.

``read_motifs("jaspar:vertebrates")`` (or ``--database jaspar:vertebrates`` on the command line) reads the
CORE collection of a taxonomic group from the newest release installed; ``jaspar`` alone reads every group.
A spec is ``jaspar[:GROUP[,GROUP...]][@YEAR]``, e.g. ``jaspar:insects``, ``jaspar:plants,fungi@2024``. Groups are
JASPAR's ``tax_group`` values (vertebrates, insects, plants, nematodes, fungi, urochordates, ...). Only the
latest version of each matrix is kept; motifs are named ``"MA0533.1 su(Hw)"`` as in JASPAR's MEME files.

The data is JASPAR's (CC BY 4.0; cite Rauluseviciute et al., Nucleic Acids Res 2024); pyjaspar is read from
the user's installation (``pip install pyjaspar``, in genodeep's ``interpret`` extra), never downloaded.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np

from genodeep._validate import near_matches
from genodeep.io._motif_common import counts_to_probabilities

__all__ = ["is_jaspar_spec", "jaspar_releases", "read_jaspar_database", "describe_jaspar_spec"]

_SPEC = re.compile(r"^jaspar(?::(?P<groups>[A-Za-z_,\s-]+))?(?:@(?P<year>\d{4}))?$", re.IGNORECASE)


def is_jaspar_spec(source: object) -> bool:
    """Whether ``source`` names the JASPAR database (``"jaspar"``, ``"jaspar:insects"``, ...)."""
    return isinstance(source, str) and bool(_SPEC.match(source.strip()))


def jaspar_releases() -> dict[int, Path]:
    """``{year: sqlite path}`` of the JASPAR releases pyjaspar ships; ImportError with the install hint."""
    try:
        import pyjaspar
    except ImportError as err:
        raise ImportError(
            "the JASPAR database (jaspar:...) is read from the pyjaspar package; install it with: "
            "pip install pyjaspar (or pip install 'genodeep[interpret]'), or give a MEME/JASPAR file"
        ) from err
    folder = Path(pyjaspar.__file__).parent / "data"
    out = {}
    for path in folder.glob("JASPAR*.sqlite"):
        m = re.search(r"(\d{4})", path.name)
        if m:
            out[int(m.group(1))] = path
    if not out:
        raise ImportError(
            f"pyjaspar is installed but ships no JASPAR*.sqlite in {folder}; reinstall it"
        )
    return dict(sorted(out.items()))


def _parse(spec: str) -> tuple[list[str] | None, int | None]:
    m = _SPEC.match(spec.strip())
    if m is None:
        raise ValueError(
            f"{spec!r} is not a JASPAR spec; use jaspar, jaspar:GROUP[,GROUP] or jaspar:GROUP@YEAR "
            "(e.g. jaspar:vertebrates)"
        )
    groups = m.group("groups")
    names = [g.strip().lower() for g in groups.split(",") if g.strip()] if groups else None
    if names and "all" in names:
        names = None
    return names, int(m.group("year")) if m.group("year") else None


def read_jaspar_database(
    spec: str = "jaspar", *, pseudocount: float = 0.0
) -> dict[str, np.ndarray]:
    """The CORE matrices of a JASPAR release as motifs.

    Parameters
    ----------
    spec : str
        ``jaspar[:GROUP[,GROUP...]][@YEAR]`` (see the module docstring). Default: every group, newest release.
    pseudocount : float
        Total pseudocount per column added to the counts (see
        :func:`genodeep.io.counts_to_probabilities`).

    Returns
    -------
    motifs : dict[str, np.ndarray]
        ``"ID.version name"`` -> float64 probabilities ``(4, w)``, rows A, C, G, T, sorted by ID.
    """
    groups, year = _parse(spec)
    releases = jaspar_releases()
    if year is None:
        year = max(releases)
    if year not in releases:
        raise ValueError(
            f"{spec!r}: JASPAR {year} is not installed; pyjaspar has {sorted(releases)}"
        )
    con = sqlite3.connect(f"file:{releases[year]}?mode=ro", uri=True)
    try:
        known = [
            r[0]
            for r in con.execute("SELECT DISTINCT VAL FROM MATRIX_ANNOTATION WHERE TAG='tax_group'")
        ]
        for g in groups or []:
            if g not in known:
                hint = near_matches(g, known)
                raise ValueError(
                    f"{spec!r}: {g!r} is not a JASPAR {year} group"
                    + (f" (did you mean {', '.join(hint)}?)" if hint else "")
                    + f"; groups are: {', '.join(sorted(known))}"
                )
        rows = con.execute(
            "SELECT m.ID, m.BASE_ID, m.VERSION, m.NAME, a.VAL FROM MATRIX m "
            "JOIN MATRIX_ANNOTATION a ON a.ID = m.ID AND a.TAG = 'tax_group' "
            "WHERE m.COLLECTION = 'CORE'"
        ).fetchall()
        latest: dict[str, tuple] = {}
        for mid, base, version, name, group in rows:
            if groups is not None and group not in groups:
                continue
            if base not in latest or version > latest[base][2]:
                latest[base] = (mid, base, version, name)
        counts: dict[int, dict[str, dict[int, float]]] = {}
        ids = [v[0] for v in latest.values()]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for mid, row, col, val in con.execute(
                f"SELECT ID, row, col, val FROM MATRIX_DATA WHERE ID IN ({marks})", chunk
            ):
                counts.setdefault(mid, {}).setdefault(row.upper(), {})[int(col)] = float(val)
    finally:
        con.close()
    motifs = {}
    for base in sorted(latest):
        mid, _, version, name = latest[base]
        rows_ = counts.get(mid)
        if not rows_:
            continue
        width = max(max(r) for r in rows_.values())
        mat = np.array(
            [[rows_.get(b, {}).get(j, 0.0) for j in range(1, width + 1)] for b in "ACGT"]
        )
        motifs[f"{base}.{version} {name}"] = counts_to_probabilities(mat, pseudocount=pseudocount)
    if not motifs:
        raise ValueError(f"{spec!r}: no CORE matrices for groups {groups} in JASPAR {year}")
    return motifs


def describe_jaspar_spec(spec: str) -> str:
    """A human line for a spec: ``"JASPAR 2026 CORE, vertebrates"``."""
    groups, year = _parse(spec)
    year = year or max(jaspar_releases())
    return f"JASPAR {year} CORE, {', '.join(groups) if groups else 'all taxonomic groups'}"
