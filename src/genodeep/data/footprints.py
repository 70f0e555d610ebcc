"""Simulated base-resolution footprints: planted motifs that emit strand-specific read profiles.

The ground truth for profile models (BPNet-style ChIP-exo, ChromBPNet-style ATAC): every planted
motif instance leaves a known shape in the reads, so a profile model's attributions, clustered by
TF-MoDISco, should recover the planted motifs; and a sequence bias planted genome-wide (a Tn5-like
preference) should vanish from a bias-corrected accessibility model's attributions.

Generative model, per chromosome (every step vectorised; one generator per chromosome, so
:func:`iter_footprints` and :func:`simulate_footprints` give the same numbers):

1. Background bases i.i.d. with ``P(G) = P(C) = gc / 2`` (codes A=0, C=1, G=2, T=3, as
   :func:`genodeep.seq.one_hot_codes` reads them).
2. ``round(sites_per_mb * size / 1e6)`` motif sites (motif chosen uniformly) and, with a bias motif,
   ``round(bias_per_mb * size / 1e6)`` bias sites are placed at non-overlapping random positions
   at least ``flank`` bases from the chromosome ends, each on a random strand; each word is sampled
   from its PWM (reverse-complemented on ``-``).
3. Every track gets background reads: Poisson(``background_rate``) per base.
4. Each motif site with expected read count ``strength = depth * exp(N(0, 0.5^2) - 0.125)``
   (mean ``depth``) adds Poisson(``strength * profile``) reads, where ``profile`` is the motif's
   shape (its values over all tracks sum to 1; :attr:`Footprints.profiles`):

   - ``chip-exo`` (tracks ``plus``, ``minus``; half the reads each): plus-strand 5' ends form a
     Gaussian peak ``off5`` bases before the motif's 5' end (sd ``sd5``), minus-strand 5' ends a
     peak ``off3`` bases after its 3' end (sd ``sd3``); the four numbers differ between motifs
     (:attr:`Footprints.shape_params`), so a profile model can tell the motifs apart.
   - ``atac`` (track ``cuts``): a broad accessibility bump (sd 50 bases) around the motif, depleted
     to 10 % over the footprint (the motif plus ``protect5``/``protect3`` bases on its 5'/3' sides),
     with sharp cut peaks (sd 1) 2 bases outside both footprint edges.

   A ``-`` site emits the mirror image with the strands swapped (the reverse complement of the
   ``+`` picture), so the data are strand-symmetric as real data are.
5. Each bias site adds Poisson(``bias_strength``) cuts at the word's centre base (on ``-`` sites
   the mirrored base), split evenly between ``plus`` and ``minus`` for ChIP-exo. Bias sites lie
   everywhere, in peaks and outside them, so a bias model fit on background windows learns the
   bias motif.

Peaks are ``peak_width`` windows centred on the motif sites, merged where they overlap (the summit
is the centre of the strongest site in the merged window).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from genodeep._validate import check_choice, check_positive
from genodeep.seq.simulate import _reverse_complement_codes, _sample_words

__all__ = [
    "Footprints",
    "FOOTPRINT_TRACKS",
    "DEFAULT_BIAS_CONSENSUS",
    "default_bias_motif",
    "simulate_footprints",
    "iter_footprints",
]

#: The tracks each kind of footprint writes.
FOOTPRINT_TRACKS = {"chip-exo": ("plus", "minus"), "atac": ("cuts",)}
_MIRROR = {"plus": "minus", "minus": "plus", "cuts": "cuts"}
#: Consensus of the default Tn5-like bias 6-mer (:func:`default_bias_motif`).
DEFAULT_BIAS_CONSENSUS = "GTTCGA"
_SITE_COLUMNS = ["chrom", "start", "end", "motif", "strand", "strength"]
_BIAS_COLUMNS = ["chrom", "start", "end", "strand"]
_PEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand",
                 "signalValue", "pValue", "qValue", "peak"]  # fmt: skip
_STRENGTH_SD = 0.5
_ATAC_BROAD_SD = 50.0
_ATAC_FLANK_SD = 1.0
_ATAC_EDGE_GAP = 2  # bases between a footprint edge and its cut peak
_ATAC_DEPLETION = 0.1
_CHUNK = 1 << 22  # bases of background sequence drawn at a time


@dataclass
class Footprints:
    """A simulated genome with base-resolution read tracks (what :func:`simulate_footprints` returns).

    Attributes
    ----------
    kind : {"chip-exo", "atac"}
        The profile shapes.
    sequences : dict[str, np.ndarray uint8, shape (size,)]
        Base codes per chromosome, A=0 C=1 G=2 T=3.
    tracks : dict[str, dict[str, np.ndarray float32, shape (size,)]]
        Track name (``plus``/``minus`` or ``cuts``) -> chromosome -> read 5'-end (cut) counts per base.
    sites : pandas.DataFrame
        Planted motif sites: ``chrom``, ``start``, ``end`` (0-based, end exclusive), ``motif``,
        ``strand`` (``+``/``-``), ``strength`` (expected reads of the site over all tracks).
    peaks : pandas.DataFrame
        narrowPeak columns (``chrom start end name score strand signalValue pValue qValue peak``):
        merged windows around the sites; ``peak`` is the summit offset from ``start``,
        ``signalValue`` the observed reads in the window over all tracks, ``pValue`` the
        -log10 Poisson upper tail of that count under the background, ``qValue`` -1.
    bias_sites : pandas.DataFrame
        Planted bias words: ``chrom``, ``start``, ``end``, ``strand`` (empty without a bias motif).
    motifs : dict[str, np.ndarray float64, shape (4, w)]
        The planted PWMs (columns normalised), rows A, C, G, T.
    bias_motif : np.ndarray float64, shape (4, w_b), or None
        The planted bias PWM.
    profiles : dict[str, dict[str, np.ndarray float64, shape (w + 2 * flank,)]]
        Motif -> track -> expected reads per unit strength of a ``+`` site over
        ``[start - flank, end + flank)``; summed over positions and tracks it is 1.
    flank : int
        Bases the profiles reach beyond a motif on either side.
    shape_params : pandas.DataFrame
        One row per motif: ``off5 sd5 off3 sd3`` (chip-exo) or ``protect5 protect3`` (atac).
    """

    kind: str
    sequences: dict[str, np.ndarray]
    tracks: dict[str, dict[str, np.ndarray]]
    sites: pd.DataFrame
    peaks: pd.DataFrame
    bias_sites: pd.DataFrame
    motifs: dict[str, np.ndarray]
    bias_motif: np.ndarray | None
    profiles: dict[str, dict[str, np.ndarray]]
    flank: int
    shape_params: pd.DataFrame = field(repr=False)

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name -> length, in order."""
        return {c: int(s.shape[0]) for c, s in self.sequences.items()}

    @property
    def track_names(self) -> tuple[str, ...]:
        """``("plus", "minus")`` or ``("cuts",)``."""
        return FOOTPRINT_TRACKS[self.kind]


@dataclass
class _Spec:
    """Checked settings shared by all chromosomes."""

    kind: str
    names: list[str]
    pwms: list[np.ndarray]
    bias: np.ndarray | None
    profiles: dict[str, dict[str, np.ndarray]]
    bias_profile: dict[str, np.ndarray] | None
    flank: int
    shape_params: pd.DataFrame
    sites_per_mb: float
    bias_per_mb: float
    depth: float
    bias_strength: float
    background_rate: float
    peak_width: int
    gc: float


# --------------------------------------------------------------------------------------------------
# checks


def _check_pwm(name: str, pwm: object) -> np.ndarray:
    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        fix = (
            "transpose it (pwm.T)"
            if arr.ndim == 2 and arr.shape[1] == 4
            else "give rows A, C, G, T"
        )
        raise ValueError(
            f"motif {name!r} had shape {arr.shape} while it should have had (4, w) (rows A, C, G, T, "
            f"as genodeep.io.read_motifs returns). Fix: {fix}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr.sum(axis=0) <= 0):
        raise ValueError(
            f"motif {name!r} must hold finite non-negative probabilities with every column summing "
            "to > 0. Fix: pass a probability (or count) matrix"
        )
    return arr / arr.sum(axis=0)


def _check_sizes(chrom_sizes: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(chrom_sizes, Mapping) or not chrom_sizes:
        raise ValueError(
            "chrom_sizes must be a non-empty mapping. Fix: pass e.g. {'chr1': 1_000_000}"
        )
    out = {}
    for chrom, size in chrom_sizes.items():
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(
                f"chromosome {chrom!r} has size {size!r}. Fix: give every size as a positive integer"
            )
        out[str(chrom)] = int(size)
    return out


def _check_nonneg(argument: str, value: float) -> float:
    if not np.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}. Fix: use e.g. 0")
    return float(value)


def default_bias_motif(consensus: str = DEFAULT_BIAS_CONSENSUS, p: float = 0.85) -> np.ndarray:
    """A soft PWM (4, w) with probability ``p`` on each base of ``consensus`` (the rest shared)."""
    if not consensus or any(c not in "ACGT" for c in consensus) or not 0.25 <= p <= 1.0:
        raise ValueError(
            f"consensus must be a non-empty ACGT string and p in [0.25, 1], got {consensus!r}, {p!r}"
        )
    pwm = np.full((4, len(consensus)), (1.0 - p) / 3.0)
    pwm[["ACGT".index(c) for c in consensus], np.arange(len(consensus))] = p
    return pwm


# --------------------------------------------------------------------------------------------------
# profile shapes


def _gauss(pos: np.ndarray, mu: float, sd: float) -> np.ndarray:
    g = np.exp(-0.5 * ((pos - mu) / sd) ** 2)
    return g / g.sum()


def _shape_params(kind: str, names: list[str]) -> pd.DataFrame:
    k = np.arange(len(names))
    if kind == "chip-exo":
        return pd.DataFrame({"motif": names, "off5": 3 + 6 * (k % 4), "sd5": 1.5 + 0.5 * (k % 3),
                             "off3": 14 - 4 * (k % 4), "sd3": 2.5 - 0.5 * (k % 3)})  # fmt: skip
    return pd.DataFrame({"motif": names, "protect5": 2 + 3 * (k % 4), "protect3": 8 - 2 * (k % 4)})


def _flank(kind: str, params: pd.DataFrame) -> int:
    if kind == "chip-exo":
        reach = np.maximum(params["off5"] + 4 * params["sd5"], params["off3"] + 4 * params["sd3"])
        return int(math.ceil(float(reach.max()))) + 1
    return int(math.ceil(3 * _ATAC_BROAD_SD))


def _motif_profile(kind: str, width: int, row: pd.Series, flank: int) -> dict[str, np.ndarray]:
    """Expected reads of a ``+`` site per unit strength over ``[start - flank, end + flank)``."""
    pos = np.arange(-flank, width + flank, dtype=np.float64)
    if kind == "chip-exo":
        return {
            "plus": 0.5 * _gauss(pos, -float(row["off5"]), float(row["sd5"])),
            "minus": 0.5 * _gauss(pos, width - 1 + float(row["off3"]), float(row["sd3"])),
        }
    lo, hi = -int(row["protect5"]), width + int(row["protect3"])  # footprint [lo, hi)
    broad = _gauss(pos, (width - 1) / 2, _ATAC_BROAD_SD)
    broad = broad * np.where((pos >= lo) & (pos < hi), _ATAC_DEPLETION, 1.0)
    gap = _ATAC_EDGE_GAP
    edges = _gauss(pos, lo - 1 - gap, _ATAC_FLANK_SD) + _gauss(pos, hi + gap, _ATAC_FLANK_SD)
    rate = 0.5 * broad / broad.sum() + 0.5 * edges / edges.sum()
    return {"cuts": rate / rate.sum()}


def _bias_profile(kind: str, width: int) -> dict[str, np.ndarray]:
    delta = np.zeros(width)
    delta[width // 2] = 1.0
    if kind == "chip-exo":
        return {"plus": 0.5 * delta, "minus": 0.5 * delta}
    return {"cuts": delta}


def _make_spec(kind, motifs, bias_motif, **settings) -> _Spec:
    check_choice("shapes", kind, tuple(FOOTPRINT_TRACKS))
    if not isinstance(motifs, Mapping) or not motifs:
        raise ValueError(
            "motifs must be a non-empty mapping of name -> (4, w) PWM. Fix: e.g. "
            "genodeep.io.read_motifs(genodeep.example_data.motifs())"
        )
    names = [str(n) for n in motifs]
    pwms = [_check_pwm(n, motifs[n]) for n in motifs]
    bias = None if bias_motif is None else _check_pwm("bias_motif", bias_motif)
    params = _shape_params(kind, names)
    flank = _flank(kind, params)
    profiles = {
        n: _motif_profile(kind, p.shape[1], params.iloc[i], flank)
        for i, (n, p) in enumerate(zip(names, pwms))
    }
    bias_profile = None if bias is None else _bias_profile(kind, bias.shape[1])
    return _Spec(kind=kind, names=names, pwms=pwms, bias=bias, profiles=profiles,
                 bias_profile=bias_profile, flank=flank, shape_params=params, **settings)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# one chromosome


def _background(size: int, gc: float, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. base codes (size,) uint8 at G+C fraction ``gc``, drawn in chunks of 16-bit integers."""
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2])
    cuts = np.round(np.cumsum(p) * 65536).astype(np.uint32)
    out = np.empty(size, dtype=np.uint8)
    for s in range(0, size, _CHUNK):
        u = rng.integers(0, 65536, size=min(_CHUNK, size - s), dtype=np.uint16)
        code = (u >= cuts[0]).astype(np.uint8)
        code += u >= cuts[1]
        code += u >= cuts[2]
        out[s : s + len(u)] = code
    return out


def _place(widths: np.ndarray, size: int, margin: int, rng: np.random.Generator, chrom: str):
    """Non-overlapping uniformly random starts in ``[margin, size - margin)`` for ``widths`` (n,)."""
    free = size - 2 * margin - int(widths.sum())
    if free < 0:
        raise ValueError(
            f"chromosome {chrom!r} ({size} bases) cannot hold {len(widths)} non-overlapping sites "
            f"({int(widths.sum())} bases) {margin} bases from its ends. Fix: lower sites_per_mb or "
            "bias_per_mb, or use longer chromosomes"
        )
    order = rng.permutation(len(widths))
    w = widths[order]
    gaps = np.sort(rng.integers(0, free + 1, size=len(widths)))
    starts = np.empty(len(widths), dtype=np.int64)
    starts[order] = margin + gaps + np.cumsum(w) - w
    return starts


def _emit(tracks, profile, flank, starts, minus, strength, rng) -> None:
    """Add Poisson(strength * profile) reads of the sites ``starts`` (n,) to ``tracks`` in place."""
    for name, arr in tracks.items():
        for flip in (False, True):
            sel = minus == flip
            if not sel.any():
                continue
            kernel = profile[_MIRROR[name]][::-1] if flip else profile[name]
            counts = rng.poisson(strength[sel, None] * kernel[None, :])
            i, j = np.nonzero(counts)
            np.add.at(arr, starts[sel][i] - flank + j, counts[i, j].astype(np.float32))


def _add_background(arr: np.ndarray, rate: float, rng: np.random.Generator) -> None:
    """Poisson(rate) reads per base: a Poisson total spread uniformly (same law, far fewer draws)."""
    n = rng.poisson(rate * arr.shape[0]) if rate > 0 else 0
    pos, counts = np.unique(rng.integers(0, arr.shape[0], size=n), return_counts=True)
    arr[pos] += counts.astype(np.float32)


def _peaks(chrom, size, sites: pd.DataFrame, tracks, spec: _Spec) -> pd.DataFrame:
    if sites.empty:
        kinds = dict(zip(_PEAK_COLUMNS, [object, np.int64, np.int64, object, np.int64, object]))
        kinds["peak"] = np.int64
        return pd.DataFrame({c: np.array([], dtype=kinds.get(c, float)) for c in _PEAK_COLUMNS})
    order = np.argsort(sites["start"].to_numpy(), kind="stable")
    centre = ((sites["start"].to_numpy() + sites["end"].to_numpy()) // 2)[order]
    strength = sites["strength"].to_numpy()[order]
    lo = np.clip(centre - spec.peak_width // 2, 0, size)
    hi = np.clip(lo + spec.peak_width, 0, size)
    new = np.ones(len(lo), dtype=bool)
    new[1:] = lo[1:] >= np.maximum.accumulate(hi)[:-1]
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    start, end = lo[first], np.maximum.reduceat(hi, first)
    best = np.lexsort((-strength, group))[first]  # the strongest site of each group
    summit = centre[best]
    signal = np.zeros(len(first))
    for arr in tracks.values():
        signal += np.array([float(arr[s:e].sum()) for s, e in zip(start, end)])
    bias_rate = spec.bias_per_mb / 1e6 * spec.bias_strength if spec.bias is not None else 0.0
    mu = (end - start) * (spec.background_rate * len(tracks) + bias_rate)
    logp = stats.poisson.logsf(signal - 1, np.maximum(mu, 1e-12))
    top = signal.max() if signal.size and signal.max() > 0 else 1.0
    return pd.DataFrame({
        "chrom": chrom, "start": start.astype(np.int64), "end": end.astype(np.int64),
        "name": [f"{chrom}_peak{i}" for i in range(len(first))],
        "score": np.clip(np.round(1000 * signal / top), 0, 1000).astype(np.int64), "strand": ".",
        "signalValue": signal, "pValue": np.minimum(-logp / np.log(10), 1e6), "qValue": -1.0,
        "peak": (summit - start).astype(np.int64),
    }, columns=_PEAK_COLUMNS)  # fmt: skip


def _simulate_chrom(chrom: str, size: int, spec: _Spec, rng: np.random.Generator) -> Footprints:
    codes = _background(size, spec.gc, rng)
    widths = np.array([p.shape[1] for p in spec.pwms], dtype=np.int64)
    n_sites = int(round(spec.sites_per_mb * size / 1e6))
    n_bias = int(round(spec.bias_per_mb * size / 1e6)) if spec.bias is not None else 0
    motif = rng.integers(0, len(spec.pwms), size=n_sites)
    wb = 0 if spec.bias is None else spec.bias.shape[1]
    item_widths = np.concatenate([widths[motif], np.full(n_bias, wb, dtype=np.int64)])
    starts = _place(item_widths, size, spec.flank, rng, chrom)
    minus = rng.random(len(starts)) < 0.5
    groups = [(spec.pwms[k], np.flatnonzero(motif == k)) for k in range(len(spec.pwms))]
    if n_bias:
        groups.append((spec.bias, n_sites + np.arange(n_bias)))
    for pwm, idx in groups:
        words = _sample_words(pwm, len(idx), rng)
        words[minus[idx]] = _reverse_complement_codes(words[minus[idx]])
        codes[starts[idx, None] + np.arange(pwm.shape[1])] = words
    tracks = {t: np.zeros(size, dtype=np.float32) for t in FOOTPRINT_TRACKS[spec.kind]}
    for arr in tracks.values():
        _add_background(arr, spec.background_rate, rng)
    strength = spec.depth * np.exp(rng.normal(-(_STRENGTH_SD**2) / 2, _STRENGTH_SD, size=n_sites))
    for k, name in enumerate(spec.names):
        sel = np.flatnonzero(motif == k)
        _emit(tracks, spec.profiles[name], spec.flank, starts[sel], minus[sel], strength[sel], rng)
    b = n_sites + np.arange(n_bias)
    if n_bias:
        s = np.full(n_bias, spec.bias_strength)
        _emit(tracks, spec.bias_profile, 0, starts[b], minus[b], s, rng)
    site_order = np.argsort(starts[:n_sites], kind="stable")
    sites = pd.DataFrame({
        "chrom": chrom, "start": starts[:n_sites], "end": starts[:n_sites] + widths[motif],
        "motif": np.asarray(spec.names, dtype=object)[motif],
        "strand": np.where(minus[:n_sites], "-", "+"), "strength": strength,
    }, columns=_SITE_COLUMNS).iloc[site_order].reset_index(drop=True)  # fmt: skip
    bias_order = np.argsort(starts[b], kind="stable")
    bias_sites = pd.DataFrame({
        "chrom": chrom, "start": starts[b], "end": starts[b] + wb,
        "strand": np.where(minus[b], "-", "+"),
    }, columns=_BIAS_COLUMNS).iloc[bias_order].reset_index(drop=True)  # fmt: skip
    return Footprints(
        kind=spec.kind, sequences={chrom: codes},
        tracks={t: {chrom: arr} for t, arr in tracks.items()}, sites=sites,
        peaks=_peaks(chrom, size, sites, tracks, spec), bias_sites=bias_sites,
        motifs=dict(zip(spec.names, spec.pwms)), bias_motif=spec.bias, profiles=spec.profiles,
        flank=spec.flank, shape_params=spec.shape_params,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# public API


def iter_footprints(
    chrom_sizes: Mapping[str, int],
    motifs: Mapping[str, np.ndarray],
    *,
    sites_per_mb: float = 200.0,
    depth: float = 100.0,
    bias_motif: np.ndarray | None = None,
    bias_strength: float = 2.0,
    bias_per_mb: float = 1000.0,
    background_rate: float = 0.02,
    peak_width: int = 200,
    shapes: str = "chip-exo",
    gc: float = 0.42,
    random_state: int | np.random.Generator | None = 0,
) -> Iterator[Footprints]:
    """Simulate one chromosome at a time: yields a one-chromosome :class:`Footprints` per chromosome.

    Same arguments and the same numbers as :func:`simulate_footprints` (each chromosome has its own
    random stream), holding one chromosome in memory at a time: for writing large genomes.
    """
    sizes = _check_sizes(chrom_sizes)
    if not 0.0 <= float(gc) <= 1.0:
        raise ValueError(f"gc must lie in [0, 1] (the G+C fraction), got {gc!r}. Fix: e.g. 0.42")
    check_positive("depth", depth)
    if (
        isinstance(peak_width, bool)
        or not isinstance(peak_width, (int, np.integer))
        or peak_width < 1
    ):
        raise ValueError(
            f"peak_width must be a positive integer, got {peak_width!r}. Fix: e.g. 200"
        )
    spec = _make_spec(
        shapes, motifs, bias_motif, sites_per_mb=_check_nonneg("sites_per_mb", sites_per_mb),
        bias_per_mb=_check_nonneg("bias_per_mb", bias_per_mb), depth=float(depth),
        bias_strength=_check_nonneg("bias_strength", bias_strength),
        background_rate=_check_nonneg("background_rate", background_rate),
        peak_width=int(peak_width), gc=float(gc),
    )  # fmt: skip
    if isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(0, 2**63))
    seeds = np.random.SeedSequence(random_state).spawn(len(sizes))
    for (chrom, size), seed in zip(sizes.items(), seeds):
        yield _simulate_chrom(chrom, size, spec, np.random.default_rng(seed))


def simulate_footprints(
    chrom_sizes: Mapping[str, int],
    motifs: Mapping[str, np.ndarray],
    *,
    sites_per_mb: float = 200.0,
    depth: float = 100.0,
    bias_motif: np.ndarray | None = None,
    bias_strength: float = 2.0,
    bias_per_mb: float = 1000.0,
    background_rate: float = 0.02,
    peak_width: int = 200,
    shapes: str = "chip-exo",
    gc: float = 0.42,
    random_state: int | np.random.Generator | None = 0,
) -> Footprints:
    """Simulate a genome whose planted motifs leave base-resolution read profiles.

    See the module docstring for the generative model.

    Parameters
    ----------
    chrom_sizes : Mapping[str, int]
        Chromosome name -> length, in order.
    motifs : Mapping[str, np.ndarray, shape (4, w)]
        Name -> PWM, rows A, C, G, T (as :func:`genodeep.io.read_motifs` returns; counts are
        normalised per column). The i-th motif gets the i-th profile shape.
    sites_per_mb : float, default 200
        Planted motif sites per megabase (motif chosen uniformly per site).
    depth : float, default 100
        Mean expected reads per site over all tracks (each site's strength is log-normal around it).
    bias_motif : np.ndarray, shape (4, w_b), optional
        A sequence bias (e.g. :func:`default_bias_motif`, a Tn5-like 6-mer) planted genome-wide.
    bias_strength : float, default 2.0
        Expected extra cuts at each bias site.
    bias_per_mb : float, default 1000
        Bias sites per megabase.
    background_rate : float, default 0.02
        Background reads per base per track.
    peak_width : int, default 200
        Width of the window around each site that becomes a peak (overlapping windows merge).
    shapes : {"chip-exo", "atac"}, default "chip-exo"
        ``chip-exo``: tracks ``plus`` and ``minus``; ``atac``: one track ``cuts``.
    gc : float, default 0.42
        Background G+C fraction.
    random_state : int, np.random.Generator or None, default 0
        Seed.

    Returns
    -------
    Footprints
        Sequences, tracks, sites, peaks, bias sites and the ground-truth profiles.

    Raises
    ------
    ValueError
        Bad arguments (each message ends with a ``Fix:``), or a chromosome too short for its sites.
    """
    parts = list(
        iter_footprints(
            chrom_sizes, motifs, sites_per_mb=sites_per_mb, depth=depth, bias_motif=bias_motif,
            bias_strength=bias_strength, bias_per_mb=bias_per_mb, background_rate=background_rate,
            peak_width=peak_width, shapes=shapes, gc=gc, random_state=random_state,
        )
    )  # fmt: skip
    first = parts[0]
    return Footprints(
        kind=first.kind,
        sequences={c: s for p in parts for c, s in p.sequences.items()},
        tracks={t: {c: a for p in parts for c, a in p.tracks[t].items()} for t in first.tracks},
        sites=pd.concat([p.sites for p in parts], ignore_index=True),
        peaks=pd.concat([p.peaks for p in parts], ignore_index=True),
        bias_sites=pd.concat([p.bias_sites for p in parts], ignore_index=True),
        motifs=first.motifs, bias_motif=first.bias_motif, profiles=first.profiles,
        flank=first.flank, shape_params=first.shape_params,
    )  # fmt: skip
