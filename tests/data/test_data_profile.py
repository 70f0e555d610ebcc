"""Profile data (``data.kind: profile``): windows around summits or tiles, per-base targets from bigWigs,
and the training dataset that jitters and reverse-complements sequence and profile together.

Every check compares with an independent computation: the FASTA strings written here (or
``Genome.fetch``), a one-hot built by string comparison, and bigWig values read with pyBigWig.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep.data.profile import (
    TRANSFORMS,
    ProfileDataset,
    load_profile_data,
    peak_windows,
    squash,
    strand_permutation,
)
from genodeep.io import Genome, write_bed, write_fasta
from genodeep.io.bed import NARROWPEAK_COLUMNS
from genodeep.io.bigwig_writer import BigWigWriter

pyBigWig = pytest.importorskip("pyBigWig")

L, S = 200, 100  # input and output length of the windows
FLANK = (L - S) // 2
SIZES = {"chr1": 20_000, "chr2": 12_000, "chr3": 12_000}
N_BLOCK = ("chr1", 15_000, 15_400)  # a stretch of N
GAP = ("chr1", 1_000, 1_020)  # no data in the minus track (reads as 0)
_COMP = str.maketrans("ACGTN", "TGCAN")


def _onehot(seq: str) -> np.ndarray:
    """(4, len) one-hot of a string by letter comparison (N -> zero column)."""
    return (np.array(list(seq))[None, :] == np.array(list("ACGT"))[:, None]).astype(np.float32)


def _rc(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


def _random_genome(rng: np.random.Generator) -> dict[str, str]:
    """GC-rich first halves (GC 0.7), AT-rich second halves (GC 0.3), one block of N on chr1."""
    seqs = {}
    for chrom, n in SIZES.items():
        gc = rng.random(n) < np.where(np.arange(n) < n // 2, 0.7, 0.3)
        first = rng.random(n) < 0.5
        letters = np.where(gc, np.where(first, "G", "C"), np.where(first, "A", "T"))
        if chrom == N_BLOCK[0]:
            letters[N_BLOCK[1] : N_BLOCK[2]] = "N"
        seqs[chrom] = "".join(letters)
    return seqs


def _peak_table() -> pd.DataFrame:
    """Peaks in the GC-rich halves: summits (column 10) at +30, one without a summit (-1), one on a
    contig the genome lacks and one whose window would run past the chromosome start."""
    rows = []
    for chrom, n in SIZES.items():
        for s in range(300, n // 2 - 400, 700):
            rows.append((chrom, s, s + 100, f"{chrom}_{s}", 0, ".", 1.0, -1.0, -1.0, 30))
    rows.append(("chr2", 6_000 - 500, 6_000 - 400, "nosummit", 0, ".", 1.0, -1.0, -1.0, -1))
    rows.append(("chrUn", 100, 200, "unknown", 0, ".", 1.0, -1.0, -1.0, 10))
    rows.append(("chr3", 10, 60, "edge", 0, ".", 1.0, -1.0, -1.0, 5))
    return pd.DataFrame(rows, columns=list(NARROWPEAK_COLUMNS))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small genome, two strand tracks (plus, minus: Poisson counts) and peaks, written to files."""
    d = tmp_path_factory.mktemp("profile")
    rng = np.random.default_rng(0)
    seqs = _random_genome(rng)
    write_fasta(d / "genome.fa", seqs)
    values = {}
    with BigWigWriter(d / "plus.bw", SIZES) as p, BigWigWriter(d / "minus.bw", SIZES) as m:
        for chrom, n in SIZES.items():
            plus = rng.poisson(1.0, n).astype(np.float64)
            minus = rng.poisson(3.0, n).astype(np.float64)
            if chrom == GAP[0]:
                minus[GAP[1] : GAP[2]] = np.nan
            p.add(chrom, 0, plus)
            m.add(chrom, 0, minus)
            values[chrom] = (plus, minus)
    peaks = _peak_table()
    write_bed(d / "peaks.narrowPeak", peaks)
    return {
        "dir": d,
        "genome": str(d / "genome.fa"),
        "tracks": {"plus": str(d / "plus.bw"), "minus": str(d / "minus.bw")},
        "peaks": str(d / "peaks.narrowPeak"),
        "seqs": seqs,
        "peak_table": peaks,
    }


def _bw_targets(files, ids: pd.DataFrame, offset: int, span: int, names=("plus", "minus")):
    """(N, T, span) values read with pyBigWig directly (missing data -> 0)."""
    out = np.zeros((len(ids), len(names), span), dtype=np.float64)
    for t, name in enumerate(names):
        bw = pyBigWig.open(files["tracks"][name])
        for i, (c, s) in enumerate(zip(ids["chrom"], ids["start"])):
            out[i, t] = np.nan_to_num(
                np.array(bw.values(c, int(s) + offset, int(s) + offset + span))
            )
        bw.close()
    return out


def _strings(files, ids: pd.DataFrame, length: int = L) -> list[str]:
    return [files["seqs"][c][int(s) : int(s) + length] for c, s in zip(ids["chrom"], ids["start"])]


def _load(files, **kw):
    args = dict(tracks=files["tracks"], strand_pairs=[["plus", "minus"]], peaks=files["peaks"],
                input_length=L, output_length=S, valid="chr2", test="chr3", max_jitter=0,
                rc_augment=False, background_ratio=0.5, random_state=0)  # fmt: skip
    args.update(kw)
    return load_profile_data(files["genome"], **args)


# ------------------------------------------------------------------------------- small functions


def test_strand_permutation_swaps_the_pairs_only():
    names = ["cov", "plus", "minus", "a+", "a-"]
    perm = strand_permutation(names, [["plus", "minus"], ["a-", "a+"]])
    assert perm.tolist() == [0, 2, 1, 4, 3]
    assert strand_permutation(names, None).tolist() == [0, 1, 2, 3, 4]
    # y_rc = y[:, perm, ::-1]: channel "plus" of the flipped row is "minus" of the original
    y = np.arange(5 * 3).reshape(1, 5, 3)
    y_rc = y[:, perm, ::-1]
    assert (y_rc[0, names.index("plus")] == y[0, names.index("minus"), ::-1]).all()


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ([["plus", "nope"]], "not one of the tracks"),
        ([["plus", "minus"], ["minus", "cov"]], "two strand pairs"),
        ([["plus", "minus", "cov"]], r"\[plus, minus\] pairs"),
    ],
)
def test_strand_permutation_refuses_bad_pairs(pairs, match):
    with pytest.raises(ValueError, match=match):
        strand_permutation(["cov", "plus", "minus"], pairs)


def test_squash_matches_numpy_and_inverts():
    y = np.array([[0.0, 1.0, 4.0, 9.0, 2.5]], dtype=np.float32)
    assert squash(y, None) is y
    np.testing.assert_allclose(squash(y, "sqrt"), np.sqrt(y.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(squash(y, "log1p"), np.log1p(y.astype(np.float64)), rtol=1e-6)
    assert squash(y, "sqrt").dtype == np.float32
    for name, (fwd, inv) in TRANSFORMS.items():
        np.testing.assert_allclose(inv(fwd(y.astype(np.float64))), y, rtol=1e-6, err_msg=name)


# ------------------------------------------------------------------------------- ProfileDataset


def test_dataset_without_augmentation_reads_the_windows(files):
    data = _load(files)
    ds = data.train.dataset
    ids = data.train.ids
    X, y = ds.get_batch(np.arange(len(ds)))
    assert X.dtype == torch.float32 and X.shape == (len(ids), 4, L)
    assert y.shape == (len(ids), 2, S)
    want_X = np.stack([_onehot(s) for s in _strings(files, ids)])
    np.testing.assert_array_equal(X.numpy(), want_X)
    np.testing.assert_array_equal(y.numpy(), _bw_targets(files, ids, FLANK, S))
    # the stored split arrays are the same windows; valid and test too
    np.testing.assert_array_equal(data.train.X.numpy(), want_X)
    np.testing.assert_array_equal(data.train.y, y.numpy())
    for part in (data.valid, data.test):
        want = np.stack([_onehot(s) for s in _strings(files, part.ids)])
        np.testing.assert_array_equal(part.X.numpy(), want)
        np.testing.assert_array_equal(part.y, _bw_targets(files, part.ids, FLANK, S))
    # Genome.fetch agrees with the strings written
    g = Genome(files["genome"])
    assert (
        g.fetch(ids["chrom"][0], int(ids["start"][0]), int(ids["start"][0]) + L)
        == _strings(files, ids.iloc[:1])[0]
    )
    # __getitem__ is one row of get_batch
    x0, y0 = ds[0]
    np.testing.assert_array_equal(x0.numpy(), want_X[0])


def test_missing_data_in_a_track_reads_as_zero(files):
    chrom, lo, hi = GAP
    data = _load(files, peaks=None, regions=[f"{chrom}:{lo - 150}-{hi + 150}", "chr2:0-400",
                                             "chr3:0-400"])  # fmt: skip
    ids, y = data.train.ids, data.train.y
    hit = 0
    for i, s in enumerate(ids["start"]):
        out_lo = int(s) + FLANK
        for pos in range(max(lo, out_lo), min(hi, out_lo + S)):
            assert y[i, 1, pos - out_lo] == 0  # minus has no data here
            hit += 1
    assert hit > 0


def test_reverse_complement_flips_sequence_and_swaps_strands(files):
    seed = 5
    fwd = _load(files, random_state=seed)
    data = _load(files, rc_augment=True, random_state=seed)
    ds, ids = data.train.dataset, data.train.ids
    n = len(ds)
    X, y = ds.get_batch(np.arange(n))
    strings = _strings(files, ids)
    targets = _bw_targets(files, ids, FLANK, S)  # (N, plus/minus, S)
    flipped = []
    for i in range(n):
        plain = _onehot(strings[i])
        rc = _onehot(_rc(strings[i]))
        rc_y = np.stack([targets[i, 1, ::-1], targets[i, 0, ::-1]])  # minus->plus, reversed
        if np.array_equal(X[i].numpy(), plain):
            np.testing.assert_array_equal(y[i].numpy(), targets[i])
            flipped.append(False)
        else:
            np.testing.assert_array_equal(X[i].numpy(), rc)
            np.testing.assert_array_equal(y[i].numpy(), rc_y)
            flipped.append(True)
    assert 0 < sum(flipped) < n
    # the documented draw order: shifts first (all 0 here), then one coin per row
    rng = np.random.default_rng(seed)
    rng.integers(0, 1, size=n)
    np.testing.assert_array_equal(flipped, rng.random(n) < 0.5)
    # the stored training targets are the unflipped ones
    np.testing.assert_array_equal(data.train.y, fwd.train.y)


def _marked(J: int, span: int, n_tracks: int = 2, spike_at: int = 20, flank: int = 12):
    """One window: sequence all A except a G aligned with a spike of the first track."""
    length = span + 2 * flank
    codes = np.zeros((1, length + 2 * J), dtype=np.uint8)
    codes[0, spike_at + flank] = 2  # G at the base whose target holds the spike
    targets = np.zeros((1, n_tracks, span + 2 * J), dtype=np.float32)
    targets[0, 0, spike_at] = 7.0
    return codes, targets, length


@pytest.mark.parametrize(("bin_size", "rc"), [(1, False), (1, True), (4, False), (4, True)])
def test_jitter_moves_sequence_and_targets_together(bin_size, rc):
    J, span, flank = 8, 40, 12
    codes, targets, length = _marked(J, span, spike_at=21, flank=flank)
    ds = ProfileDataset(codes, targets, input_length=length, bin_size=bin_size, max_jitter=J,
                        rc_augment=rc, channel_perm=np.array([1, 0]), random_state=3)  # fmt: skip
    X, y = ds.get_batch(np.zeros(300, dtype=np.int64))
    X, y = X.numpy(), y.numpy()
    assert y.shape == (300, 2, span // bin_size)
    marker = X[:, 1] + X[:, 2]  # C or G: the one base that is not A/T
    assert (marker.sum(1) == 1).all()
    mpos = marker.argmax(1)
    spikes = np.argwhere(y > 0)  # (row, channel, position)
    assert len(spikes) == 300 and (np.sort(spikes[:, 0]) == np.arange(300)).all()
    order = np.argsort(spikes[:, 0])
    pos, chan = spikes[order, 2], spikes[order, 1]
    np.testing.assert_array_equal(pos, (mpos - flank) // bin_size)  # moves with the sequence
    assert (y[np.arange(300), chan, pos] == 7.0).all()
    is_g = X[np.arange(300), 2, mpos] == 1  # G: forward strand; C: reverse complement
    np.testing.assert_array_equal(chan, np.where(is_g, 0, 1))  # flipped rows: spike on the pair
    assert is_g.all() if not rc else 0 < is_g.sum() < 300
    # shifts seen: every multiple of bin_size in [-J, J], nothing else
    fwd_pos = np.where(is_g, mpos, length - 1 - mpos)
    shift = 21 + flank - J - fwd_pos  # the marker is codes[21 + flank] = X[fwd_pos] at shift + J
    assert set(shift.tolist()) == set(range(-J, J + 1, bin_size))


def test_binned_targets_are_sums_per_bin_and_transform_applies(files):
    b, L2, S2 = 4, 208, 96  # flank 56: a multiple of 4
    data = _load(files, input_length=L2, output_length=S2, bin_size=b, target_transform="sqrt",
                 max_jitter=8)  # fmt: skip
    flank = (L2 - S2) // 2
    for part in (data.train, data.valid, data.test):
        raw = _bw_targets(files, part.ids, flank, S2)
        want = np.sqrt(raw.reshape(len(raw), 2, S2 // b, b).sum(-1))
        assert part.y.shape == (len(part.ids), 2, S2 // b)
        np.testing.assert_allclose(part.y, want, rtol=1e-6)
    assert data.output == {"output_length": S2, "bin_size": b, "target_transform": "sqrt",
                           "strand_pairs": [["plus", "minus"]]}  # fmt: skip
    assert data.model_args == {"trim": flank, "crop_bins": flank // b, "bin_size": b}
    # the dataset's jittered batches are sums of the jittered bases too
    ds = ProfileDataset(data.train.dataset.codes, data.train.dataset.targets, input_length=L2,
                        bin_size=b, max_jitter=8, rc_augment=False, random_state=1)  # fmt: skip
    X, y = ds.get_batch(np.arange(len(ds)))
    for i in range(len(ds)):
        seq = files["seqs"][data.train.ids["chrom"][i]]
        start = int(data.train.ids["start"][i])
        shifts = [s for s in range(-8, 9, b)
                  if np.array_equal(X[i].numpy(), _onehot(seq[start + s : start + s + L2]))]  # fmt: skip
        assert len(shifts) == 1
        s = shifts[0]
        moved = data.train.ids.iloc[[i]].assign(start=start + s)
        window = _bw_targets(files, moved, flank, S2)[0]  # pyBigWig, at the shifted window
        np.testing.assert_allclose(y[i].numpy(), window.reshape(2, -1, b).sum(-1), rtol=1e-6)


# ------------------------------------------------------------------------------- windows


def _expected_peak_windows(files, width: int) -> set[tuple[str, int]]:
    """Windows centred on summits (start + col 10) or centres, kept when inside the chromosome."""
    out = set()
    for r in files["peak_table"].itertuples(index=False):
        if r.chrom not in SIZES:
            continue
        centre = r.start + r.peak if r.peak >= 0 else (r.start + r.end) // 2
        lo = centre - width // 2
        if lo >= 0 and lo + width <= SIZES[r.chrom]:
            out.add((r.chrom, lo))
    return out


def test_peak_windows_centre_on_the_summits(files):
    g = Genome(files["genome"])
    df = peak_windows(g, files["peaks"], L)
    assert list(df.columns) == ["chrom", "start", "end"]
    assert (df["end"] - df["start"] == L).all()
    got = set(zip(df["chrom"], df["start"].astype(int)))
    want = _expected_peak_windows(files, L)
    assert got == want
    assert ("chr2", 5_500 + 50 - L // 2) in got  # the peak without a summit: its centre
    assert not any(c == "chr3" and s < 0 for c, s in got)  # the edge peak was dropped


def test_load_profile_data_counts_and_places_windows(files):
    data = _load(files, background_ratio=0.5)
    ids = pd.concat([data.train.ids, data.valid.ids, data.test.ids], ignore_index=True)
    assert list(ids.columns) == ["chrom", "start", "end", "peak"]
    fg = ids[ids["peak"]]
    want = _expected_peak_windows(files, L)
    assert set(zip(fg["chrom"], fg["start"].astype(int))) == want
    assert len(ids) - len(fg) == round(0.5 * len(want))
    assert data.kind == "profile" and data.task_names == ["plus", "minus"]
    assert data.input_length == L


def test_background_avoids_peaks_and_matches_gc(files):
    data = _load(files, background_ratio=1.0)
    ids = pd.concat([data.train.ids, data.valid.ids, data.test.ids], ignore_index=True)
    bg, fg = ids[~ids["peak"]], ids[ids["peak"]]
    assert len(bg) == len(fg)
    peaks = files["peak_table"]
    for c, s, e in bg[["chrom", "start", "end"]].itertuples(index=False):
        p = peaks[peaks["chrom"] == c]
        assert not ((p["start"] < e) & (p["end"] > s)).any(), (c, s, e)

    def gc(df):
        strings = _strings(files, df)
        return np.array([(x.count("G") + x.count("C")) / max(1, len(x) - x.count("N"))
                         for x in strings])  # fmt: skip

    # peaks lie in GC-rich halves (0.7); the genome averages 0.5; matched background follows the peaks
    assert abs(gc(bg).mean() - gc(fg).mean()) < 0.08
    assert gc(bg).mean() > 0.6


def test_no_background_with_ratio_zero(files):
    data = _load(files, background_ratio=0.0)
    for part in (data.train, data.valid, data.test):
        assert part.ids["peak"].all()


def test_split_by_chrom(files):
    data = _load(files)
    assert set(data.train.ids["chrom"]) == {"chr1"}
    assert set(data.valid.ids["chrom"]) == {"chr2"}
    assert set(data.test.ids["chrom"]) == {"chr3"}


def test_tiles_over_regions_and_split_by_region(files):
    regions = ["chr1:1000-4000", "chr2:0-1000"]
    data = _load(files, peaks=None, regions=regions, stride=50, split="region",
                 valid="chr1:1000-2000", test="chr2:0-1000")  # fmt: skip
    ids = pd.concat([data.train.ids, data.valid.ids, data.test.ids], ignore_index=True)
    assert not ids["peak"].any()
    all_tiles = {("chr1", s) for s in range(1000, 4000 - L + 1, 50)}
    all_tiles |= {("chr2", s) for s in range(0, 1000 - L + 1, 50)}
    got = set(zip(ids["chrom"], ids["start"].astype(int)))
    assert got <= all_tiles
    # valid/test windows lie inside their regions; train overlaps neither; straddlers are dropped
    v, t, tr = data.valid.ids, data.test.ids, data.train.ids
    assert ((v["chrom"] == "chr1") & (v["start"] >= 1000) & (v["end"] <= 2000)).all()
    assert (t["chrom"] == "chr2").all()
    assert ((tr["chrom"] == "chr1") & (tr["start"] >= 2000)).all()
    dropped = all_tiles - got
    assert dropped == {("chr1", s) for s in range(1000, 4000 - L + 1, 50) if s < 2000 < s + L}
    # default stride: the output span, so outputs tile the regions
    d2 = _load(files, peaks=None, regions=["chr1:0-3000", "chr2:0-600", "chr3:0-600"])
    starts = sorted(d2.train.ids["start"].astype(int))
    assert starts == list(range(0, 3000 - L + 1, S))


def test_windows_with_many_n_are_dropped(files):
    chrom, lo, hi = N_BLOCK
    data = _load(files, peaks=None, regions=[f"{chrom}:{lo - 1000}-{hi + 1000}", "chr2:0-400",
                                             "chr3:0-400"], max_n_fraction=0.1)  # fmt: skip
    starts = data.train.ids["start"].to_numpy()
    n_frac = np.array([(max(0, min(s + L, hi) - max(s, lo))) / L for s in starts])
    assert (n_frac <= 0.1).all()
    every = range(lo - 1000, hi + 1000 - L + 1, S)
    dropped = [s for s in every if max(0, min(s + L, hi) - max(s, lo)) / L > 0.1]
    assert dropped and set(starts) == set(every) - set(dropped)


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"output_length": 300}, "must be <= input_length"),
        ({"output_length": 99}, "even"),
        ({"output_length": 100, "bin_size": 3}, "multiples of bin_size"),
        ({"output_length": 96, "bin_size": 4, "max_jitter": 2}, "multiples of bin_size"),
        ({"output_length": 0}, "output_length"),
        ({"split": "random"}, "split"),
        ({"target_transform": "log"}, "target_transform"),
    ],
)
def test_bad_arguments_are_refused(files, kw, match):
    with pytest.raises(ValueError, match=match):
        _load(files, **kw)


def test_negative_track_values_are_refused(files, tmp_path):
    sizes = {c: n for c, n in SIZES.items()}
    with BigWigWriter(tmp_path / "neg.bw", sizes) as w:
        for c, n in sizes.items():
            w.add(c, 0, np.full(n, -0.5))
    with pytest.raises(ValueError, match="negative values"):
        _load(files, tracks={"log": str(tmp_path / "neg.bw")}, strand_pairs=None)


def test_strand_pairs_naming_an_unknown_track_is_refused(files):
    with pytest.raises(ValueError, match="'minuss'.*not one of the tracks"):
        _load(files, strand_pairs=[["plus", "minuss"]])


def test_no_tracks_is_refused(files):
    with pytest.raises(ValueError, match="at least one signal track"):
        _load(files, tracks={}, strand_pairs=None)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"valid": None, "test": None}, "valid split of the profile windows is empty"),
        ({"test": None}, "test split of the profile windows is empty"),
        (
            {
                "split": "region",
                "valid": "chr1:0-20000",
                "test": "chr2:0-12000",
                "regions": ["chr1:0-1000", "chr2:0-1000"],
                "peaks": None,
            },
            "empty",
        ),  # fmt: skip
    ],
)
def test_an_empty_split_is_refused(files, kw, match):
    with pytest.raises(ValueError, match=match):
        _load(files, **kw)


@pytest.mark.parametrize(
    "kw",
    [
        {"background_ratio": -1.0},
        {"stride": 0, "peaks": None, "regions": ["chr1:0-1000", "chr2:0-1000", "chr3:0-1000"]},
    ],
)
def test_bad_ratio_or_stride_is_refused(files, kw):
    with pytest.raises(ValueError):
        _load(files, **kw)
