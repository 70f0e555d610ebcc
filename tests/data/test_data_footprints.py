"""Simulated base-resolution footprints: planted words, profile shapes, bias cuts, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from genodeep.data.footprint_files import write_footprints
from genodeep.data.footprints import (
    FOOTPRINT_TRACKS,
    default_bias_motif,
    iter_footprints,
    simulate_footprints,
)
from genodeep.data.splits import parse_region
from genodeep.io import Genome, read_bed, read_meme, read_signal
from genodeep.io.bed import NARROWPEAK_COLUMNS
from genodeep.seq.encode import encode, one_hot_codes


def _sharp(consensus: str, p: float = 0.97) -> np.ndarray:
    pwm = np.full((4, len(consensus)), (1 - p) / 3)
    pwm[["ACGT".index(c) for c in consensus], np.arange(len(consensus))] = p
    return pwm


MOTIFS = {"alpha": _sharp("TGACGTCATTAG"), "beta": _sharp("GGGATTCCCA")}


def _rc(word: str) -> str:
    return word[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _word(codes: np.ndarray, start: int, end: int, strand: str) -> str:
    w = "".join("ACGT"[c] for c in codes[start:end])
    return _rc(w) if strand == "-" else w


def _aggregate(track: np.ndarray, sites: pd.DataFrame, flank: int) -> np.ndarray:
    """Mean track over [start - flank, end + flank) of equally wide sites, by a plain loop."""
    rows = [track[s - flank : e + flank] for s, e in zip(sites["start"], sites["end"])]
    return np.mean(rows, axis=0)


@pytest.fixture(scope="module")
def chip():
    return simulate_footprints({"chrA": 1_200_000, "chrB": 800_000}, MOTIFS, random_state=3)


def test_shapes_dtypes_and_codes_match_the_one_hot_convention(chip):
    assert chip.chrom_sizes == {"chrA": 1_200_000, "chrB": 800_000}
    assert set(chip.tracks) == {"plus", "minus"} == set(FOOTPRINT_TRACKS["chip-exo"])
    for chrom, size in chip.chrom_sizes.items():
        codes = chip.sequences[chrom]
        assert codes.dtype == np.uint8 and codes.shape == (size,) and codes.max() <= 3
        for t in ("plus", "minus"):
            arr = chip.tracks[t][chrom]
            assert arr.dtype == np.float32 and arr.shape == (size,) and arr.min() >= 0
            assert np.all(arr == np.round(arr))  # counts
    codes = chip.sequences["chrA"][:500]
    letters = "".join("ACGT"[c] for c in codes)
    np.testing.assert_array_equal(encode(letters), codes)  # genodeep.seq's A=0 C=1 G=2 T=3
    np.testing.assert_array_equal(one_hot_codes(codes).numpy().argmax(0), codes)
    gc = np.mean(np.isin(chip.sequences["chrA"], [1, 2]))
    assert abs(gc - 0.42) < 0.01
    assert list(chip.peaks.columns) == list(NARROWPEAK_COLUMNS)
    assert list(chip.sites.columns[:5]) == ["chrom", "start", "end", "motif", "strand"]
    assert chip.sites["start"].dtype == np.int64 and chip.peaks["start"].dtype == np.int64
    # 200 sites per Mb
    assert chip.sites["chrom"].value_counts().to_dict() == {"chrA": 240, "chrB": 160}
    for name, prof in chip.profiles.items():
        total = sum(p.sum() for p in prof.values())
        assert abs(total - 1) < 1e-9 and len(prof["plus"]) == MOTIFS[name].shape[1] + 2 * chip.flank


def test_sites_do_not_overlap_and_lie_inside_chromosomes():
    fp = simulate_footprints(
        {"c1": 50_000, "c2": 30_000}, MOTIFS, sites_per_mb=2000, bias_motif=default_bias_motif(),
        bias_per_mb=5000, random_state=1,
    )  # fmt: skip
    allsites = pd.concat([fp.sites, fp.bias_sites.assign(motif="bias")], ignore_index=True)
    for chrom, size in fp.chrom_sizes.items():
        s = allsites[allsites["chrom"] == chrom].sort_values("start")
        assert len(s) == round(2000 * size / 1e6) + round(5000 * size / 1e6)
        assert s["start"].min() >= fp.flank and s["end"].max() <= size - fp.flank
        assert np.all(s["end"].to_numpy()[:-1] <= s["start"].to_numpy()[1:])
        widths = (s["end"] - s["start"]).to_numpy()
        expected = s["motif"].map({"alpha": 12, "beta": 10, "bias": 6}).to_numpy()
        np.testing.assert_array_equal(widths, expected)
    # peaks are disjoint windows, summits inside them, at a site centre
    for chrom, p in fp.peaks.groupby("chrom"):
        assert np.all(p["end"].to_numpy()[:-1] <= p["start"].to_numpy()[1:])
        summit = p["start"] + p["peak"]
        assert np.all((summit >= p["start"]) & (summit < p["end"]))
        centres = set(((fp.sites.start + fp.sites.end) // 2)[fp.sites.chrom == chrom])
        assert set(summit) <= centres


def test_planted_words_follow_the_strand(chip):
    consensus = {"alpha": "TGACGTCATTAG", "beta": "GGGATTCCCA"}
    hits = [
        _word(chip.sequences[r.chrom], r.start, r.end, r.strand) == consensus[r.motif]
        for r in chip.sites.itertuples()
    ]
    assert np.mean(hits) > 0.6  # 0.97 ** 12 = 0.69 of sampled words are the exact consensus
    flipped = [
        _word(chip.sequences[r.chrom], r.start, r.end, "+" if r.strand == "-" else "-")
        == consensus[r.motif]
        for r in chip.sites.itertuples()
    ]
    assert np.mean(flipped) < 0.05
    assert set(chip.sites["strand"]) == {"+", "-"}


def test_planted_shipped_motif_scores_high_against_its_pwm():
    from genodeep import example_data
    from genodeep.io import read_motifs

    pwm = read_motifs(example_data.motifs())["MA0139.2 CTCF"]
    fp = simulate_footprints({"c": 300_000}, {"CTCF": pwm}, random_state=5)
    logodds = np.log(np.clip(pwm, 1e-6, None) / 0.25)  # (4, w)
    w = pwm.shape[1]
    codes = fp.sequences["c"]

    def score(word_codes):
        return sum(logodds[b, i] for i, b in enumerate(word_codes))

    rc = {"+": lambda x: x, "-": lambda x: 3 - x[::-1]}
    planted = [score(rc[r.strand](codes[r.start : r.end])) for r in fp.sites.itertuples()]
    rng = np.random.default_rng(0)
    random_starts = rng.integers(0, len(codes) - w, size=2000)
    null = np.array([score(codes[s : s + w]) for s in random_starts])
    assert np.mean(np.array(planted) > np.quantile(null, 0.99)) > 0.95


@pytest.mark.parametrize("k,name", [(0, "alpha"), (1, "beta")])
def test_chip_exo_profiles_peak_at_the_motif_offsets(chip, k, name):
    row = chip.shape_params.iloc[k]
    assert row["motif"] == name
    w, R = MOTIFS[name].shape[1], chip.flank
    pos = np.arange(-R, w + R)
    for strand in "+-":
        sites = chip.sites[(chip.sites.motif == name) & (chip.sites.strand == strand)]
        plus = np.concatenate([_aggregate(chip.tracks["plus"][c], g, R)[None] * len(g)
                               for c, g in sites.groupby("chrom")]).sum(0) / len(sites)  # fmt: skip
        minus = np.concatenate([_aggregate(chip.tracks["minus"][c], g, R)[None] * len(g)
                                for c, g in sites.groupby("chrom")]).sum(0) / len(sites)  # fmt: skip
        # the strand flips the shape: on "-" sites the motif's 5' border lies on the right
        left = ("off5", "sd5") if strand == "+" else ("off3", "sd3")
        right = ("off3", "sd3") if strand == "+" else ("off5", "sd5")
        assert pos[plus.argmax()] == -row[left[0]]
        assert pos[minus.argmax()] == w - 1 + row[right[0]]
        # the whole mean profile follows the Gaussian shape (independent scipy computation)
        depth = sites["strength"].mean()
        exp_plus = 0.5 * depth * stats.norm.pdf(pos, -row[left[0]], row[left[1]]) + 0.02
        exp_minus = 0.5 * depth * stats.norm.pdf(pos, w - 1 + row[right[0]], row[right[1]]) + 0.02
        assert np.corrcoef(plus, exp_plus)[0, 1] > 0.95
        assert np.corrcoef(minus, exp_minus)[0, 1] > 0.95
        assert abs(plus.sum() - exp_plus.sum()) < 0.15 * exp_plus.sum()
    other = chip.shape_params.iloc[1 - k]
    assert (row["off5"], row["off3"]) != (other["off5"], other["off3"])


def test_atac_cuts_flank_a_depleted_footprint():
    fp = simulate_footprints({"c": 1_000_000}, MOTIFS, shapes="atac", random_state=2)
    assert set(fp.tracks) == {"cuts"}
    row = fp.shape_params.iloc[0]
    w, R = 12, fp.flank
    pos = np.arange(-R, w + R)
    sites = fp.sites[(fp.sites.motif == "alpha") & (fp.sites.strand == "+")]
    cuts = _aggregate(fp.tracks["cuts"]["c"], sites, R)
    lo, hi = -row["protect5"], w + row["protect3"]
    inside = cuts[(pos >= lo) & (pos < hi)].mean()
    near = cuts[((pos >= lo - 30) & (pos < lo - 5)) | ((pos >= hi + 5) & (pos < hi + 30))].mean()
    assert inside < 0.35 * near
    assert pos[np.argmax(np.where(pos < 0, cuts, -1))] == lo - 3
    assert pos[np.argmax(np.where(pos >= w, cuts, -1))] == hi + 2
    # "-" sites mirror it
    sites = fp.sites[(fp.sites.motif == "alpha") & (fp.sites.strand == "-")]
    cuts = _aggregate(fp.tracks["cuts"]["c"], sites, R)
    assert pos[np.argmax(np.where(pos < 0, cuts, -1))] == -row["protect3"] - 3
    assert pos[np.argmax(np.where(pos >= w, cuts, -1))] == w + row["protect5"] + 2


@pytest.mark.parametrize("shapes", ["chip-exo", "atac"])
def test_bias_motif_raises_the_background_cut_rate_at_its_sites(shapes):
    kw = dict(shapes=shapes, sites_per_mb=20, background_rate=0.05, random_state=4)
    biased = simulate_footprints({"c": 600_000}, MOTIFS, bias_motif=default_bias_motif(),
                                 bias_strength=2.0, **kw)  # fmt: skip
    plain = simulate_footprints({"c": 600_000}, MOTIFS, **kw)
    total_b = sum(biased.tracks[t]["c"] for t in biased.tracks)
    total_p = sum(plain.tracks[t]["c"] for t in plain.tracks)
    in_peak = np.zeros(600_000, dtype=bool)  # peaks of either run
    for peaks in (biased.peaks, plain.peaks):
        for s, e in zip(peaks.start, peaks.end):
            in_peak[s:e] = True
    bs = biased.bias_sites
    # the cut lands on base 3 of the 6-mer, or on its mirror image on "-" words
    centre = np.where(bs.strand == "+", bs.start + 3, bs.end - 1 - 3)
    centre = centre[~in_peak[centre]]
    n = len(centre)
    assert n > 500
    bg = 0.05 * len(biased.tracks)
    # expected cuts there: bias_strength + the background of every track; elsewhere the background
    assert abs(total_b[centre].mean() - (2.0 + bg)) < 4 * np.sqrt((2.0 + bg) / n)
    assert abs(total_p[centre].mean() - bg) < 4 * np.sqrt(bg / n)
    elsewhere = ~in_peak
    elsewhere[centre] = False
    assert abs(total_b[elsewhere].mean() - bg) < 4 * np.sqrt(bg / elsewhere.sum())
    # the bias words are planted (consensus GTTCGA, 0.85 per base)
    words = [_word(biased.sequences["c"], r.start, r.end, r.strand) for r in bs.itertuples()]
    assert np.mean([wd == "GTTCGA" for wd in words]) > 0.3


def test_random_state_makes_it_reproducible_and_iter_matches():
    kw = dict(bias_motif=default_bias_motif(), random_state=7)
    a = simulate_footprints({"x": 40_000, "y": 30_000}, MOTIFS, **kw)
    b = simulate_footprints({"x": 40_000, "y": 30_000}, MOTIFS, **kw)
    c = simulate_footprints({"x": 40_000, "y": 30_000}, MOTIFS, bias_motif=default_bias_motif(),
                            random_state=8)  # fmt: skip
    for chrom in ("x", "y"):
        np.testing.assert_array_equal(a.sequences[chrom], b.sequences[chrom])
        np.testing.assert_array_equal(a.tracks["plus"][chrom], b.tracks["plus"][chrom])
        assert not np.array_equal(a.sequences[chrom], c.sequences[chrom])
    pd.testing.assert_frame_equal(a.sites, b.sites)
    pd.testing.assert_frame_equal(a.peaks, b.peaks)
    parts = list(iter_footprints({"x": 40_000, "y": 30_000}, MOTIFS, **kw))
    assert [list(p.sequences) for p in parts] == [["x"], ["y"]]
    np.testing.assert_array_equal(parts[1].tracks["minus"]["y"], a.tracks["minus"]["y"])
    pd.testing.assert_frame_equal(
        parts[1].sites, a.sites[a.sites.chrom == "y"].reset_index(drop=True)
    )


def test_bad_arguments_say_how_to_fix_them():
    with pytest.raises(ValueError, match="transpose"):
        simulate_footprints({"c": 10_000}, {"m": MOTIFS["alpha"].T})
    with pytest.raises(ValueError, match="Fix: lower sites_per_mb"):
        simulate_footprints({"c": 2_000}, MOTIFS, sites_per_mb=100_000)
    with pytest.raises(ValueError, match="shapes"):
        simulate_footprints({"c": 10_000}, MOTIFS, shapes="dnase")
    with pytest.raises(ValueError, match="Fix"):
        simulate_footprints({"c": 0}, MOTIFS)
    with pytest.raises(ValueError, match="non-empty"):
        simulate_footprints({"c": 10_000}, {})


@pytest.mark.parametrize("n_chroms,shapes", [(2, "chip-exo"), (3, "atac")])
def test_write_footprints_writes_readable_files(tmp_path, n_chroms, shapes):
    paths = write_footprints(tmp_path / "sim", genome_size=60_000, n_chroms=n_chroms,
                             motifs=MOTIFS, shapes=shapes, bias=True, random_state=11)  # fmt: skip
    for p in paths.values():
        assert p.exists() and p.parent == tmp_path / "sim"
    assert not list((tmp_path / "sim").glob(".tmp-*"))
    sizes = {f"chr{i + 1}": 60_000 // n_chroms for i in range(n_chroms)}
    truth = simulate_footprints(sizes, MOTIFS, shapes=shapes, bias_motif=default_bias_motif(),
                                random_state=11)  # fmt: skip
    genome = Genome(paths["genome"], use_cache=False, verbose=False)
    assert genome.chrom_sizes == sizes
    for chrom in sizes:
        np.testing.assert_array_equal(genome.chrom_codes(chrom), truth.sequences[chrom])
    for t in FOOTPRINT_TRACKS[shapes]:
        track = read_signal(paths[t])
        for chrom, size in sizes.items():
            np.testing.assert_array_equal(track.values(chrom, 0, size)[0], truth.tracks[t][chrom])
    sites = read_bed(paths["sites"])
    np.testing.assert_array_equal(sites["start"], truth.sites["start"])
    assert sites["name"].tolist() == truth.sites["motif"].tolist()
    assert sites["strand"].tolist() == truth.sites["strand"].tolist()
    peaks = read_bed(paths["peaks"])
    assert list(peaks.columns) == list(NARROWPEAK_COLUMNS)
    np.testing.assert_array_equal(peaks["peak"], truth.peaks["peak"])
    assert len(read_bed(paths["bias_sites"])) == len(truth.bias_sites)
    meme = read_meme(paths["motifs"])
    assert list(meme) == ["alpha", "beta", "Tn5_bias"]
    np.testing.assert_allclose(meme["alpha"], MOTIFS["alpha"] / MOTIFS["alpha"].sum(0), atol=1e-6)
    data = yaml.safe_load(paths["config"].read_text())["data"]
    assert data["kind"] == "profile" and data["genome"] == "genome.fa"
    assert data["tracks"] == {t: f"{t}.bw" for t in FOOTPRINT_TRACKS[shapes]}
    assert data["peaks"] == "peaks.narrowPeak" and data["input_length"] == 1000
    assert data["output_length"] == 800 and data["background_ratio"] == 0.5
    if n_chroms == 2:
        assert data["strand_pairs"] == [["plus", "minus"]] and data["split"] == "region"
        held = [parse_region(data[k]) for k in ("valid", "test")]
        assert [h[0] for h in held] == ["chr1", "chr2"]
        assert all(abs((e - s) / 60_000 - 0.15) < 0.01 and e == 30_000 for _, s, e in held)
    else:
        assert data["strand_pairs"] == [] and data["split"] == "chrom"
        assert data["valid"] == ["chr2"] and data["test"] == ["chr3"]


def test_write_footprints_default_motifs(tmp_path):
    paths = write_footprints(tmp_path, genome_size=20_000, n_chroms=1, random_state=0)
    assert list(read_meme(paths["motifs"])) == ["CTCF", "Spi1", "FOXA1"]
    data = yaml.safe_load(paths["config"].read_text())["data"]
    assert data["valid"] == "chr1:14000-17000" and data["test"] == "chr1:17000-20000"
    assert "bias_sites" not in paths
