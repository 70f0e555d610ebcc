"""Per-interval values (one prediction per window) written as a bigWig track."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_path
from genodeep._validate import require


def interval_spans(chroms, starts, ends) -> pd.DataFrame:
    """Non-overlapping spans for per-interval values, sorted by chromosome and start.

    Where consecutive intervals (sorted by start) overlap, the boundary is the midpoint between their
    centres (clipped to the overlap), so each base takes the value of the interval whose centre is
    nearest. Meant for windows of one width (tiles, re-centred peaks); an interval nested in the
    previous one ends that one at their boundary.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom, start, end, row`` (``row`` = index of the input interval), empty spans dropped.
    """
    df = pd.DataFrame(
        {
            "chrom": np.asarray(chroms),
            "start": np.asarray(starts, dtype=np.int64),
            "end": np.asarray(ends, dtype=np.int64),
        }
    )
    df["row"] = np.arange(len(df))
    df = df.sort_values(["chrom", "start", "end", "row"], kind="stable").reset_index(drop=True)
    out = []
    for _, sub in df.groupby("chrom", sort=False):
        s0, e0 = sub["start"].to_numpy(), sub["end"].to_numpy()
        s, e = s0.copy(), e0.copy()
        for i in range(len(s) - 1):
            if e[i] > s[i + 1]:
                mid = (s0[i] + e0[i] + s0[i + 1] + e0[i + 1]) // 4  # between the original centres
                cut = min(max(mid, s[i + 1]), e[i])
                e[i] = cut
                s[i + 1] = max(s[i + 1], cut)
        spans = sub.assign(start=s, end=e)
        out.append(spans[spans["end"] > spans["start"]])
    return pd.concat(out, ignore_index=True) if out else df.iloc[:0]


def write_interval_bigwig(
    path, ids: pd.DataFrame, values: np.ndarray, chrom_sizes: Mapping[str, int]
) -> Path:
    """Write one value per interval (``ids``: chrom, start, end) to a bigWig, atomically."""

    pyBigWig = require("pyBigWig", "bigwig")
    spans = interval_spans(ids["chrom"], ids["start"], ids["end"])
    order = [c for c in chrom_sizes if c in set(spans["chrom"])]
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(tmp, "w")
        try:
            bw.addHeader([(c, int(chrom_sizes[c])) for c in chrom_sizes])
            for c in order:
                sub = spans[spans["chrom"] == c]
                bw.addEntries(
                    [c] * len(sub),
                    sub["start"].astype(int).tolist(),
                    ends=sub["end"].astype(int).tolist(),
                    values=[float(values[r]) for r in sub["row"]],
                )
        finally:
            bw.close()
    return Path(path)
