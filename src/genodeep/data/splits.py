"""Train/valid/test splits of genomic windows that avoid leakage between the sets.

Hold out whole chromosomes (:func:`split_by_chrom`) or, when a genome has few chromosomes, whole
regions (:func:`split_by_region`). Every split keeps the rows' original index labels, so labels
stored in an array aligned with a RangeIndex are selected with ``y[split["train"].index]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from genodeep._validate import check_choice, near_matches
from genodeep.data.intervals import check_windows
from genodeep.io.bed import match_chroms

__all__ = ["split_by_chrom", "split_by_region", "parse_region"]

_REGION_RE = re.compile(r"^\s*([^:\s]+)(?::([\d,_]+)-([\d,_]+))?\s*$")
_REGION_FIX = (
    "write regions as 'chrom:start-end' (0-based, end exclusive; commas allowed) or 'chrom'"
)


def _names(value: str | Iterable[str], argument: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise TypeError(
            f"{argument} must be a chromosome name or a list of names, got {value!r}"
        ) from None


def _resolve(names: list[str], df_chroms: list[str], argument: str) -> list[str]:
    mapping = match_chroms(names, df_chroms)
    for name, target in mapping.items():
        if target is None:
            near = near_matches(name, df_chroms)
            hint = f"near matches: {near}" if near else f"the windows are on {df_chroms[:10]}"
            raise ValueError(
                f"{argument}: chromosome {name!r} has no windows ({hint}). Fix: use the windows' "
                "chromosome names"
            )
    return [mapping[n] for n in names]


def _check_nonempty(out: dict[str, pd.DataFrame], requested: dict[str, bool]) -> None:
    for name, df in out.items():
        if requested[name] and df.empty:
            fix = "hold out fewer" if name == "train" else "choose other"
            raise ValueError(
                f"the {name} split is empty (no window falls in it). Fix: {fix} chromosomes or "
                "regions"
            )


def split_by_chrom(
    df: pd.DataFrame,
    *,
    valid: str | Iterable[str] = (),
    test: str | Iterable[str] = (),
) -> dict[str, pd.DataFrame]:
    """Split windows by chromosome: held-out chromosomes go to valid/test, the rest to train.

    Parameters
    ----------
    df : pandas.DataFrame
        Windows with a ``chrom`` column.
    valid, test : str or iterable of str
        Chromosomes of the validation and test sets (``chr`` prefixes harmonised to ``df``'s).
        Either may be empty, giving an empty set.

    Returns
    -------
    splits : dict[str, pandas.DataFrame]
        ``{"train", "valid", "test"}``, disjoint and together all rows of ``df``, each keeping the
        original index labels.

    Raises
    ------
    ValueError
        A chromosome in both valid and test, a chromosome with no windows (listing near matches),
        or an empty train set.
    """
    check_windows(df, "df")
    chroms = list(dict.fromkeys(df["chrom"]))
    v = _resolve(_names(valid, "valid"), chroms, "valid")
    t = _resolve(_names(test, "test"), chroms, "test")
    both = sorted(set(v) & set(t))
    if both:
        raise ValueError(
            f"chromosome(s) {both} are in both valid and test; each held-out chromosome belongs "
            "to one set"
        )
    col = df["chrom"]
    in_v = col.isin(v).to_numpy()
    in_t = col.isin(t).to_numpy()
    out = {"train": df.loc[~in_v & ~in_t], "valid": df.loc[in_v], "test": df.loc[in_t]}
    _check_nonempty(out, {"train": True, "valid": bool(v), "test": bool(t)})
    return out


def parse_region(region: str | tuple) -> tuple[str, int | None, int | None]:
    """``"chr2R:12,000,000-16,000,000"`` -> ``("chr2R", 12000000, 16000000)``.

    A bare ``"chr2R"`` (or a 1-tuple) means the whole chromosome: ``(chrom, None, None)``. Tuples
    ``(chrom, start, end)`` pass through. Coordinates are 0-based, end exclusive.
    """
    if isinstance(region, tuple):
        if len(region) == 1:
            return str(region[0]), None, None
        if len(region) == 3:
            chrom, start, end = region
            start, end = int(start), int(end)
        else:
            raise ValueError(f"region {region!r} must be (chrom, start, end). Fix: {_REGION_FIX}")
    elif isinstance(region, str):
        m = _REGION_RE.match(region)
        if not m:
            raise ValueError(f"cannot read region {region!r}. Fix: {_REGION_FIX}")
        chrom = m.group(1)
        if m.group(2) is None:
            return chrom, None, None
        start = int(m.group(2).replace(",", "").replace("_", ""))
        end = int(m.group(3).replace(",", "").replace("_", ""))
    else:
        raise TypeError(f"region must be a str or a tuple, got {type(region).__name__}")
    if start < 0 or end <= start:
        raise ValueError(f"region {region!r} needs 0 <= start < end. Fix: {_REGION_FIX}")
    return str(chrom), start, end


def _regions(value: object, argument: str) -> list[tuple[str, int | None, int | None]]:
    if value is None:
        return []
    if isinstance(value, (str, tuple)):
        return [parse_region(value)]
    return [parse_region(r) for r in value]


def split_by_region(
    df: pd.DataFrame,
    *,
    valid: str | tuple | Iterable[str | tuple] | None,
    test: str | tuple | Iterable[str | tuple] | None,
    boundary: str = "drop",
) -> dict[str, pd.DataFrame]:
    """Split windows by genomic region (for genomes with one or few chromosomes).

    Parameters
    ----------
    df : pandas.DataFrame
        Windows with chrom/start/end.
    valid, test : str, tuple or list of them, or None
        Held-out regions, e.g. ``"chr2R:12000000-16000000"`` (0-based, end exclusive; commas
        allowed), ``("chr2R", 12_000_000, 16_000_000)``, a bare chromosome name (the whole
        chromosome), or a list of such. ``None`` gives an empty set.
    boundary : {"drop", "centre"}, default "drop"
        Windows that straddle a region boundary. ``"drop"``: a window goes to valid/test only when
        it lies entirely inside one of that set's regions, to train only when it overlaps no
        held-out region, and to no set otherwise, so no base is shared between train and a
        held-out set. ``"centre"``: every window goes to the set whose region holds its centre base
        ``(start + end) // 2`` (train when none does); nothing is dropped, but windows at a boundary
        share bases with the neighbouring set.

    Returns
    -------
    splits : dict[str, pandas.DataFrame]
        ``{"train", "valid", "test"}``, disjoint, each keeping the original index labels.

    Raises
    ------
    ValueError
        Overlapping valid and test regions, a region on a chromosome with no windows (listing near
        matches), malformed regions, or an empty set (train, or a requested valid/test).
    """
    check_windows(df, "df")
    check_choice("boundary", boundary, ("drop", "centre"))
    chroms = list(dict.fromkeys(df["chrom"]))
    regs = {}
    for name, value in (("valid", valid), ("test", test)):
        parsed = _regions(value, name)
        resolved = _resolve([r[0] for r in parsed], chroms, name)
        regs[name] = [(c, r[1], r[2]) for c, r in zip(resolved, parsed)]
    for cv, sv, ev in regs["valid"]:
        for ct, st, et in regs["test"]:
            if cv == ct and _overlap(sv, ev, st, et):
                raise ValueError(
                    f"valid region {_fmt(cv, sv, ev)} overlaps test region {_fmt(ct, st, et)}; "
                    "held-out regions must be disjoint"
                )
    chrom = df["chrom"].to_numpy()
    start = df["start"].to_numpy(dtype=np.int64)
    end = df["end"].to_numpy(dtype=np.int64)
    centre = (start + end) // 2
    inside = {}
    touches = np.zeros(len(df), dtype=bool)
    for name in ("valid", "test"):
        hit = np.zeros(len(df), dtype=bool)
        for c, s, e in regs[name]:
            on = chrom == c
            s = -(2**62) if s is None else s
            e = 2**62 if e is None else e
            if boundary == "drop":
                hit |= on & (start >= s) & (end <= e)
            else:
                hit |= on & (centre >= s) & (centre < e)
            touches |= on & (start < e) & (end > s)
        inside[name] = hit
    if boundary == "drop":
        train = ~touches
    else:
        train = ~inside["valid"] & ~inside["test"]
    out = {"train": df.loc[train], "valid": df.loc[inside["valid"]], "test": df.loc[inside["test"]]}
    _check_nonempty(out, {"train": True, "valid": bool(regs["valid"]), "test": bool(regs["test"])})
    return out


def _overlap(s1: int | None, e1: int | None, s2: int | None, e2: int | None) -> bool:
    s1, s2 = (-(2**62) if s is None else s for s in (s1, s2))
    e1, e2 = (2**62 if e is None else e for e in (e1, e2))
    return s1 < e2 and s2 < e1


def _fmt(c: str, s: int | None, e: int | None) -> str:
    return c if s is None else f"{c}:{s}-{e}"
