"""Motif discovery from attribution scores with TF-MoDISco (modisco-lite), matched to a motif database.

TF-MoDISco (Shrikumar et al. 2018) cuts high-attribution *seqlets* out of the contribution tracks,
clusters them by the similarity of their hypothetical contributions and aggregates each cluster into a
pattern: a letter frequency matrix (PFM), a contribution weight matrix (CWM, mean contribution of the
observed bases) and a hypothetical CWM. modisco-lite's ``TFMoDISco`` does the work; this module feeds it
``(N, L, 4)`` arrays built from our ``(N, 4, L)`` convention, trims each pattern to the positions whose
total |CWM| reaches ``trim_threshold`` x its maximum (modisco-lite's own rule before TOMTOM), and matches
the trimmed PFMs to a database with :func:`genodeep.motifs.compare` (p- and q-values).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genodeep._progress import log
from genodeep._validate import check_positive, require
from genodeep.motifs.compare import compare
from genodeep.motifs.pwm import consensus

__all__ = ["DiscoveryResult", "discover_motifs"]

_SEQLET_COLUMNS = ["pattern", "seq", "start", "end", "strand"]


@dataclass
class DiscoveryResult:
    """What :func:`discover_motifs` returns. Pattern names follow modisco-lite:
    ``pos_patterns.pattern_<k>`` (positive contributions) and ``neg_patterns.pattern_<k>``.

    Attributes
    ----------
    patterns : dict[str, np.ndarray (4, w)]
        Trimmed letter frequencies (PFM, columns sum to 1) of each pattern, rows A, C, G, T.
    cwms : dict[str, np.ndarray (4, w)]
        Trimmed contribution weight matrices (mean contribution of each observed letter).
    hypothetical_cwms : dict[str, np.ndarray (4, w)]
        Trimmed mean hypothetical contributions.
    n_seqlets : dict[str, int]
        Seqlets aggregated into each pattern.
    seqlets : pandas.DataFrame
        One row per seqlet of a pattern: ``pattern``, ``seq`` (row of ``X``), ``start``, ``end`` (the
        untrimmed seqlet, 0-based, end exclusive), ``strand`` (``-``: the pattern matches the
        reverse complement).
    matches : pandas.DataFrame
        The best ``n_nearest`` database matches of each pattern (columns of
        :func:`genodeep.motifs.compare`); empty without a database.
    runtime_s : float
        Wall time of modisco-lite's ``TFMoDISco`` call (seconds).
    trim_offsets : dict[str, int]
        First kept column of each pattern in modisco-lite's untrimmed pattern.
    """

    patterns: dict[str, np.ndarray] = field(default_factory=dict)
    cwms: dict[str, np.ndarray] = field(default_factory=dict)
    hypothetical_cwms: dict[str, np.ndarray] = field(default_factory=dict)
    n_seqlets: dict[str, int] = field(default_factory=dict)
    seqlets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_SEQLET_COLUMNS))
    matches: pd.DataFrame = field(default_factory=pd.DataFrame)
    runtime_s: float = 0.0
    trim_offsets: dict[str, int] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per pattern: ``pattern``, ``n_seqlets``, ``width``, ``consensus`` and its best
        match (``best_match``, ``orientation``, ``p_value``, ``q_value``; empty without a database).
        """
        rows = []
        for name, pfm in self.patterns.items():
            row = {
                "pattern": name,
                "n_seqlets": self.n_seqlets[name],
                "width": pfm.shape[1],
                "consensus": consensus(pfm, iupac=True),
                "best_match": "",
                "orientation": "",
                "p_value": np.nan,
                "q_value": np.nan,
            }
            if len(self.matches):
                m = self.matches[self.matches["query"] == name]
                if len(m):
                    best = m.iloc[0]
                    row.update(
                        best_match=best["target"],
                        orientation=best["orientation"],
                        p_value=float(best["p_value"]),
                        q_value=float(best["q_value"]),
                    )
            rows.append(row)
        cols = ["pattern", "n_seqlets", "width", "consensus", "best_match", "orientation"]
        return pd.DataFrame(rows, columns=cols + ["p_value", "q_value"])


def _as_nl4(arr, argument: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """(N, 4, L) array or tensor -> float32 (N, L, 4) contiguous."""
    a = np.asarray(arr.detach().cpu() if hasattr(arr, "detach") else arr, dtype=np.float32)
    if a.ndim != 3 or a.shape[1] != 4:
        raise ValueError(
            f"{argument} had shape {a.shape} while it should have had (N, 4, L) (channels A, C, G, T)"
        )
    if shape is not None and a.shape != shape:
        raise ValueError(f"{argument} had shape {a.shape} while it should have had {shape} (as X)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{argument} has NaN or infinite values")
    return np.ascontiguousarray(a.transpose(0, 2, 1))


def _trim_bounds(cwm_lw4: np.ndarray, trim_threshold: float) -> tuple[int, int]:
    score = np.abs(cwm_lw4).sum(axis=1)
    keep = np.flatnonzero(score >= trim_threshold * score.max())
    return int(keep.min()), int(keep.max()) + 1


def discover_motifs(
    X,
    attributions=None,
    hypothetical=None,
    *,
    database: Mapping[str, np.ndarray] | str | os.PathLike | None = None,
    max_seqlets: int = 2000,
    window: int | None = None,
    sliding_window_size: int = 20,
    flank_size: int = 5,
    target_seqlet_fdr: float = 0.05,
    min_metacluster_size: int = 100,
    final_min_cluster_size: int = 20,
    trim_to_window_size: int | None = None,
    initial_flank_to_add: int = 10,
    final_flank_to_add: int = 0,
    n_leiden_runs: int = 2,
    trim_threshold: float = 0.3,
    n_nearest: int = 3,
    verbose: bool = False,
) -> DiscoveryResult:
    """Discover motifs from attributions with TF-MoDISco (modisco-lite) and match them to a database.

    Parameters
    ----------
    X : array or tensor, shape (N, 4, L)
        One-hot sequences.
    attributions : array or tensor, shape (N, 4, L), optional
        Contributions of the observed bases. TF-MoDISco computes them itself as
        ``X * hypothetical``; when both are given they are checked to agree (a warning otherwise).
        Given alone (methods without hypothetical scores), they serve as the hypothetical scores.
    hypothetical : array or tensor, shape (N, 4, L), optional
        Hypothetical contributions (e.g. ``deep_lift_shap(..., hypothetical=True)`` or
        :func:`genodeep.interpret.attribute`'s ``.hypothetical``).
    database : Mapping[str, array (4, w)] or motif file path, optional
        Known motifs to match the patterns against (e.g. JASPAR 2024 CORE).
    max_seqlets : int, default 2000
        Seqlets kept per metacluster (positive, negative), in the order found.
    window : int, optional
        Use only the central ``window`` bases of each sequence (modisco-lite's ``--window``);
        default all.
    sliding_window_size, flank_size, target_seqlet_fdr, min_metacluster_size, final_min_cluster_size,
    trim_to_window_size, initial_flank_to_add, final_flank_to_add, n_leiden_runs
        modisco-lite's ``TFMoDISco`` arguments (defaults of its command line, with
        ``target_seqlet_fdr=0.05``). ``min_metacluster_size``: a metacluster needs more seqlets than
        this to be clustered. ``trim_to_window_size`` defaults to the seqlet length
        ``sliding_window_size + 2 * flank_size`` (30 with the defaults, modisco-lite's default); a
        larger value removes every pattern. Lower ``sliding_window_size`` for short motifs and
        sequences, and ``min_metacluster_size`` for small data sets.
    trim_threshold : float, default 0.3
        Patterns are trimmed to the positions whose summed |CWM| is >= this fraction of the maximum.
    n_nearest : int, default 3
        Database matches kept per pattern.
    verbose : bool, default False
        modisco-lite's progress messages.

    Returns
    -------
    DiscoveryResult
        Patterns (trimmed PFMs), CWMs, seqlet counts and coordinates, database matches, runtime.
    """
    if attributions is None and hypothetical is None:
        raise ValueError(
            "give hypothetical= (hypothetical contributions, preferred) or attributions=, each of "
            "shape (N, 4, L)"
        )
    check_positive("max_seqlets", max_seqlets)
    check_positive("n_nearest", n_nearest)
    if not 0 < trim_threshold <= 1:
        raise ValueError(f"trim_threshold must lie in (0, 1], got {trim_threshold!r}")
    one_hot = _as_nl4(X, "X", None)
    shape = (one_hot.shape[0], 4, one_hot.shape[1])
    if hypothetical is not None:
        hyp = _as_nl4(hypothetical, "hypothetical", shape)
        if attributions is not None:
            attr = _as_nl4(attributions, "attributions", shape)
            expected = one_hot * hyp
            scale = max(float(np.abs(expected).max()), 1e-12)
            if float(np.abs(attr - expected).max()) > 1e-3 * scale:
                warnings.warn(
                    "attributions differ from X * hypothetical; TF-MoDISco uses X * hypothetical "
                    "as the contributions",
                    RuntimeWarning,
                    stacklevel=2,
                )
    else:
        hyp = _as_nl4(attributions, "attributions", shape)
    n, length, _ = one_hot.shape
    if window is not None:
        check_positive("window", window)
        if window > length:
            raise ValueError(f"window={window} is longer than the sequences ({length} bases)")
        s = (length - int(window)) // 2
        one_hot = np.ascontiguousarray(one_hot[:, s : s + int(window)])
        hyp = np.ascontiguousarray(hyp[:, s : s + int(window)])
        offset = s
    else:
        offset = 0
    if one_hot.shape[1] < sliding_window_size + 2 * flank_size:
        raise ValueError(
            f"sequences of {one_hot.shape[1]} bases are shorter than a seqlet "
            f"(sliding_window_size + 2 * flank_size = {sliding_window_size + 2 * flank_size}); "
            "lower sliding_window_size/flank_size"
        )
    if trim_to_window_size is None:
        trim_to_window_size = sliding_window_size + 2 * flank_size
    require("modiscolite", "interpret")
    from modiscolite.tfmodisco import TFMoDISco

    t0 = time.perf_counter()
    pos, neg = TFMoDISco(
        one_hot=one_hot,
        hypothetical_contribs=hyp,
        sliding_window_size=sliding_window_size,
        flank_size=flank_size,
        min_metacluster_size=min_metacluster_size,
        max_seqlets_per_metacluster=max_seqlets,
        target_seqlet_fdr=target_seqlet_fdr,
        n_leiden_runs=n_leiden_runs,
        trim_to_window_size=trim_to_window_size,
        initial_flank_to_add=initial_flank_to_add,
        final_flank_to_add=final_flank_to_add,
        final_min_cluster_size=final_min_cluster_size,
        verbose=verbose,
    )
    runtime = time.perf_counter() - t0
    res = DiscoveryResult(runtime_s=runtime)
    rows = []
    for group, patterns in (("pos_patterns", pos), ("neg_patterns", neg)):
        for k, pat in enumerate(patterns or []):
            name = f"{group}.pattern_{k}"
            cwm = np.asarray(pat.contrib_scores, dtype=np.float64)  # (w, 4)
            a, b = _trim_bounds(cwm, trim_threshold)
            pfm = np.asarray(pat.sequence, dtype=np.float64)[a:b].T
            sums = pfm.sum(axis=0, keepdims=True)
            res.patterns[name] = np.where(sums > 0, pfm / np.where(sums > 0, sums, 1), 0.25)
            res.cwms[name] = cwm[a:b].T.copy()
            res.hypothetical_cwms[name] = np.asarray(pat.hypothetical_contribs, dtype=np.float64)[
                a:b
            ].T.copy()
            res.n_seqlets[name] = len(pat.seqlets)
            res.trim_offsets[name] = a
            for sq in pat.seqlets:
                rows.append(
                    (
                        name,
                        int(sq.example_idx),
                        int(sq.start) + offset,
                        int(sq.end) + offset,
                        "-" if sq.is_revcomp else "+",
                    )
                )
    res.seqlets = pd.DataFrame(rows, columns=_SEQLET_COLUMNS)
    log(f"TF-MoDISco: {len(res.patterns)} pattern(s) from {n} sequence(s) in {runtime:.1f} s")
    if database is not None and res.patterns:
        res.matches = compare(res.patterns, database, n_nearest=n_nearest)
    return res
