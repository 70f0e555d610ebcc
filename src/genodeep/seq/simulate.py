"""Simulated sequences with planted motifs (the review's Fig. 2).

Two designs:

- :func:`simulate_motif_presence`: a multitask problem; each sequence carries each motif with
  probability ``positive_fraction`` (``n_per_seq`` instances when present), sampled from the PWM and
  planted on either strand. Task ``k`` is "motif ``k`` is present".
- :func:`simulate_grammar`: a single-task problem in which *both* classes carry the same two motifs;
  positives have them in a fixed order at a fixed gap, negatives in a random order at any other gap.
  k-mer composition is therefore matched and only the arrangement separates the classes, which a
  k-mer model cannot see and a CNN can.

Background bases are i.i.d. with ``P(G) = P(C) = gc / 2`` and ``P(A) = P(T) = (1 - gc) / 2``.
Planted instances are sampled column by column from the motif's probabilities; a ``-`` strand
instance is the reverse complement of a sampled word. Coordinates are 0-based, ``end`` exclusive,
on the sequence's + strand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from genodeep._io_utils import atomic_write
from genodeep._validate import check_choice

__all__ = [
    "sample_background",
    "simulate_motif_presence",
    "simulate_grammar",
    "write_simulation",
]

_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)
_PLANTED_COLUMNS = ["seq", "motif", "start", "end", "strand"]


def _rng(random_state) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _check_gc(gc: float) -> None:
    if not (0.0 <= float(gc) <= 1.0):
        raise ValueError(f"gc must lie in [0, 1] (the G+C fraction), got {gc!r}")


def _check_count(argument: str, value: int, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{argument} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{argument} must be >= {minimum}, got {value}")
    return int(value)


def _background_codes(n: int, length: int, gc: float, rng: np.random.Generator) -> np.ndarray:
    """uint8 codes (n, length), A=0 C=1 G=2 T=3, with G+C fraction ``gc``."""
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    u = rng.random((n, length))
    return np.searchsorted(cdf, u, side="right").astype(np.uint8)


def _to_strings(codes: np.ndarray) -> list[str]:
    letters = _LETTERS[codes]
    return [row.tobytes().decode("ascii") for row in letters]


def _check_pwm(name: str, pwm) -> np.ndarray:
    arr = np.asarray(pwm.detach().cpu() if hasattr(pwm, "detach") else pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise ValueError(
            f"motif {name!r} had shape {arr.shape} while it should have had (4, w) "
            "(rows A, C, G, T)"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr.sum(axis=0) <= 0):
        raise ValueError(
            f"motif {name!r} must hold non-negative probabilities with every column summing to > 0"
        )
    return arr / arr.sum(axis=0)


def _sample_words(pwm: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sample ``k`` words from a PWM (4, w); returns uint8 codes (k, w)."""
    cdf = np.cumsum(pwm, axis=0)  # (4, w)
    # letters after the last non-zero probability must never be drawn, whatever the rounding
    remaining = pwm[::-1].cumsum(axis=0)[::-1]  # remaining[b] = sum of p[b:]
    cdf[:3][remaining[1:] == 0] = 2.0
    u = rng.random((k, pwm.shape[1]))
    # code = number of cdf entries <= u  (per column)
    return (u[:, None, :] >= cdf[None, :3, :]).sum(axis=1).astype(np.uint8)


def _reverse_complement_codes(words: np.ndarray) -> np.ndarray:
    return (3 - words[:, ::-1]).astype(np.uint8)


def _place(widths: Sequence[int], length: int, rng: np.random.Generator) -> np.ndarray:
    """Non-overlapping uniformly random starts for items of ``widths`` in random order."""
    k = len(widths)
    free = length - int(sum(widths))
    order = rng.permutation(k)
    gaps = np.sort(rng.integers(0, free + 1, size=k))
    starts = np.empty(k, dtype=np.int64)
    offset = 0
    for slot, item in enumerate(order):
        starts[item] = gaps[slot] + offset
        offset += widths[item]
    return starts


def sample_background(
    n: int, length: int, *, gc: float = 0.5, random_state: int | np.random.Generator | None = None
) -> list[str]:
    """Random DNA sequences with i.i.d. bases at a given G+C fraction.

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        Length of each sequence.
    gc : float
        Expected G+C fraction in [0, 1]; ``P(G) = P(C) = gc/2``, ``P(A) = P(T) = (1-gc)/2``.
    random_state : int, np.random.Generator or None
        Seed or generator.

    Returns
    -------
    seqs : list[str]
        ``n`` uppercase strings of ``length`` letters from ACGT.
    """
    n = _check_count("n", n, minimum=0)
    length = _check_count("length", length)
    _check_gc(gc)
    return _to_strings(_background_codes(n, length, gc, _rng(random_state)))


def simulate_motif_presence(
    n: int,
    length: int,
    motifs: Mapping[str, np.ndarray],
    *,
    gc: float = 0.5,
    n_per_seq: int = 1,
    positive_fraction: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """Background sequences in which motifs are planted; one presence label per motif.

    Each (sequence, motif) pair is positive independently with probability ``positive_fraction``;
    a positive sequence carries ``n_per_seq`` instances of that motif, each sampled from the PWM,
    on a random strand, at non-overlapping random positions (instances of all motifs in one sequence
    never overlap). Negatives carry no planted instance of the motif (chance matches in the
    background are possible, as in real data).

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        Sequence length; must fit ``n_per_seq`` instances of every motif side by side.
    motifs : Mapping[str, array (4, w)]
        Name -> probabilities, rows A, C, G, T (e.g. from :func:`genodeep.io.read_motifs`).
    gc : float
        Background G+C fraction.
    n_per_seq : int
        Instances of a motif planted in a sequence where it is present.
    positive_fraction : float
        Probability that a motif is present in a sequence.
    random_state : int, np.random.Generator or None
        Seed or generator.

    Returns
    -------
    seqs : list[str]
        ``n`` sequences of ``length`` letters.
    labels : np.ndarray float32, shape (n, n_motifs)
        1 where the motif (column, in ``motifs`` order) was planted in the sequence.
    planted : pandas.DataFrame
        One row per instance: ``seq`` (index into ``seqs``), ``motif``, ``start``, ``end``
        (0-based, end exclusive), ``strand`` (``+``/``-``).
    """
    n = _check_count("n", n, minimum=0)
    length = _check_count("length", length)
    n_per_seq = _check_count("n_per_seq", n_per_seq)
    _check_gc(gc)
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must lie in [0, 1], got {positive_fraction!r}")
    if not isinstance(motifs, Mapping) or len(motifs) == 0:
        raise ValueError("motifs must be a non-empty mapping of name -> (4, w) probabilities")
    names = list(motifs)
    pwms = [_check_pwm(name, motifs[name]) for name in names]
    widths = np.array([p.shape[1] for p in pwms])
    need = int(widths.sum()) * n_per_seq
    if need > length:
        raise ValueError(
            f"length={length} is too short: all {len(names)} motifs x n_per_seq={n_per_seq} need "
            f"{need} bases side by side; use a longer length, fewer motifs or a smaller n_per_seq"
        )
    rng = _rng(random_state)
    codes = _background_codes(n, length, gc, rng)
    labels = (rng.random((n, len(names))) < positive_fraction).astype(np.float32)

    seq_idx: list[np.ndarray] = []
    mot_idx: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    for i in range(n):
        present = np.repeat(np.flatnonzero(labels[i]), n_per_seq)
        if present.size == 0:
            continue
        seq_idx.append(np.full(present.size, i))
        mot_idx.append(present)
        starts.append(_place(widths[present].tolist(), length, rng))
    if seq_idx:
        s_all = np.concatenate(seq_idx)
        m_all = np.concatenate(mot_idx)
        st_all = np.concatenate(starts)
    else:
        s_all = m_all = st_all = np.zeros(0, dtype=np.int64)
    minus = rng.random(s_all.size) < 0.5
    for k, pwm in enumerate(pwms):
        sel = np.flatnonzero(m_all == k)
        if sel.size == 0:
            continue
        words = _sample_words(pwm, sel.size, rng)
        words[minus[sel]] = _reverse_complement_codes(words[minus[sel]])
        cols = st_all[sel, None] + np.arange(pwm.shape[1])
        codes[s_all[sel, None], cols] = words
    order = np.lexsort((st_all, s_all))
    planted = pd.DataFrame(
        {
            "seq": s_all[order].astype(np.int64),
            "motif": np.asarray(names, dtype=object)[m_all[order]] if m_all.size else [],
            "start": st_all[order].astype(np.int64),
            "end": (st_all + widths[m_all])[order].astype(np.int64),
            "strand": np.where(minus, "-", "+")[order],
        },
        columns=_PLANTED_COLUMNS,
    )
    return _to_strings(codes), labels, planted


def simulate_grammar(
    n: int,
    length: int,
    motif_a: np.ndarray,
    motif_b: np.ndarray,
    *,
    spacing: int = 10,
    order: str = "ab",
    gc: float = 0.5,
    positive_fraction: float = 0.5,
    names: tuple[str, str] = ("motif_a", "motif_b"),
    random_state: int | np.random.Generator | None = None,
) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """Two-motif grammar: positives need a fixed order and gap; negatives have the same motifs.

    Every sequence carries one instance of ``motif_a`` and one of ``motif_b`` (both on the + strand,
    sampled from their PWMs). In positives they appear in ``order`` with exactly ``spacing`` bases
    between the end of the first and the start of the second. In negatives the gap is drawn
    uniformly from every other feasible gap (``0 .. length - w_a - w_b``, excluding ``spacing``) and
    the order is random. The pair is placed at a uniformly random position.

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        Sequence length (>= w_a + w_b + spacing, and at least one other gap must fit).
    motif_a, motif_b : array (4, w)
        Probabilities, rows A, C, G, T.
    spacing : int
        Gap (bases) between the end of the first motif and the start of the second in positives.
    order : {"ab", "ba"}
        Which motif comes first (5') in positives.
    gc : float
        Background G+C fraction.
    positive_fraction : float
        Fraction of positives (``round(n * positive_fraction)`` sequences, at random rows).
    names : tuple of 2 str
        Names of ``motif_a`` and ``motif_b`` in ``planted``.
    random_state : int, np.random.Generator or None
        Seed or generator.

    Returns
    -------
    seqs : list[str]
        ``n`` sequences.
    labels : np.ndarray float32, shape (n, 1)
        1 for positives.
    planted : pandas.DataFrame
        Two rows per sequence: ``seq``, ``motif``, ``start``, ``end`` (0-based, exclusive),
        ``strand`` (always ``+``).
    """
    n = _check_count("n", n, minimum=0)
    length = _check_count("length", length)
    spacing = _check_count("spacing", spacing, minimum=0)
    check_choice("order", order, ("ab", "ba"))
    _check_gc(gc)
    if not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must lie in [0, 1], got {positive_fraction!r}")
    if len(names) != 2:
        raise ValueError(f"names must hold 2 names (motif_a, motif_b), got {names!r}")
    pa = _check_pwm(names[0], motif_a)
    pb = _check_pwm(names[1], motif_b)
    wa, wb = pa.shape[1], pb.shape[1]
    max_gap = length - wa - wb
    if spacing > max_gap or max_gap < 1:
        raise ValueError(
            f"length={length} is too short for motifs of width {wa} and {wb} at spacing={spacing}: "
            f"need length >= {wa + wb + max(spacing, 1)}; use a longer length or a smaller spacing"
        )
    rng = _rng(random_state)
    codes = _background_codes(n, length, gc, rng)
    n_pos = int(round(n * positive_fraction))
    labels = np.zeros((n, 1), dtype=np.float32)
    labels[rng.permutation(n)[:n_pos], 0] = 1.0
    pos = labels[:, 0] == 1

    # gaps: fixed for positives, uniform over the other feasible gaps for negatives
    gaps = np.full(n, spacing, dtype=np.int64)
    other = rng.integers(0, max_gap, size=n)  # max_gap values: 0..max_gap except `spacing`
    other = other + (other >= spacing)
    gaps[~pos] = other[~pos]
    a_first = np.where(pos, order == "ab", rng.random(n) < 0.5)
    span = wa + wb + gaps
    offset = (rng.random(n) * (length - span + 1)).astype(np.int64)
    start_a = np.where(a_first, offset, offset + wb + gaps)
    start_b = np.where(a_first, offset + wa + gaps, offset)

    rows = np.arange(n)
    codes[rows[:, None], start_a[:, None] + np.arange(wa)] = _sample_words(pa, n, rng)
    codes[rows[:, None], start_b[:, None] + np.arange(wb)] = _sample_words(pb, n, rng)

    planted = pd.DataFrame(
        {
            "seq": np.repeat(rows, 2),
            "motif": np.tile(np.asarray(names, dtype=object), n),
            "start": np.stack([start_a, start_b], axis=1).reshape(-1),
            "end": np.stack([start_a + wa, start_b + wb], axis=1).reshape(-1),
            "strand": np.full(2 * n, "+"),
        },
        columns=_PLANTED_COLUMNS,
    )
    planted = planted.sort_values(["seq", "start"], kind="stable").reset_index(drop=True)
    return _to_strings(codes), labels, planted


def write_simulation(
    out_dir: str | os.PathLike,
    seqs: Sequence[str],
    labels: np.ndarray,
    planted: pd.DataFrame,
    task_names: Sequence[str],
) -> dict[str, str]:
    """Write a simulation: ``sequences.fa``, ``labels.tsv`` and ``planted.tsv`` (each atomically).

    Sequences are named ``seq0``, ``seq1``, ...; ``labels.tsv`` has a ``name`` column and one column
    per task; ``planted.tsv`` is ``planted`` with a ``name`` column added after ``seq``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder, created when missing.
    seqs : sequence of str
        N sequences.
    labels : array, shape (N, T)
        Labels (a 1-D array is one task).
    planted : pandas.DataFrame
        As returned by the simulators (``seq`` indexes ``seqs``).
    task_names : sequence of str
        T task names (label columns).

    Returns
    -------
    paths : dict[str, str]
        ``{"fasta": ..., "labels": ..., "planted": ...}``.
    """
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    task_names = [str(t) for t in task_names]
    if labels.ndim != 2 or labels.shape[0] != len(seqs):
        raise ValueError(
            f"labels had shape {labels.shape} while it should have had ({len(seqs)}, T): one row "
            "per sequence"
        )
    if labels.shape[1] != len(task_names):
        raise ValueError(
            f"task_names has {len(task_names)} names but labels has {labels.shape[1]} columns; "
            "give one name per label column"
        )
    if len(set(task_names)) != len(task_names) or "name" in task_names:
        raise ValueError(f"task_names must be unique and not 'name', got {task_names}")
    os.makedirs(out_dir, exist_ok=True)
    names = [f"seq{i}" for i in range(len(seqs))]
    paths = {
        "fasta": os.path.join(out_dir, "sequences.fa"),
        "labels": os.path.join(out_dir, "labels.tsv"),
        "planted": os.path.join(out_dir, "planted.tsv"),
    }
    with atomic_write(paths["fasta"], "w") as fh:
        for name, s in zip(names, seqs):
            fh.write(f">{name}\n")
            for k in range(0, len(s), 80):
                fh.write(s[k : k + 80] + "\n")
    table = pd.DataFrame(labels, columns=task_names)
    table.insert(0, "name", names)
    with atomic_write(paths["labels"], "w") as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%g")
    planted = planted.copy()
    idx = planted["seq"].to_numpy(dtype=np.int64) if len(planted) else np.zeros(0, np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(seqs)):
        raise ValueError(f"planted['seq'] must index the {len(seqs)} sequences")
    planted.insert(1, "name", np.asarray(names, dtype=object)[idx] if idx.size else [])
    with atomic_write(paths["planted"], "w") as fh:
        planted.to_csv(fh, sep="\t", index=False)
    return paths
