"""Genome-wide tracks of profile/coverage models (``genodeep predict --chrom/--regions/--genome-wide``).

Each bigWig is compared base by base with a direct computation: the model run on each tile's one-hot
window, built here from the FASTA strings and padded with N past the chromosome ends, through the
package's link.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep.cli.__main__ import main
from genodeep.io import Genome, write_bed, write_fasta
from genodeep.models import build_model
from genodeep.models.spec import LINKS, ModelSpec
from genodeep.workflows.tracks import (
    Geometry,
    predict_tracks,
    stream_tracks,
    tile_starts,
    track_paths,
    track_regions,
)
from genodeep.zoo import save_package

pyBigWig = pytest.importorskip("pyBigWig")

L, TRIM = 64, 16
S = L - 2 * TRIM  # 32 output bases per window
SIZES = {"c1": 150, "c2": 97}  # not multiples of S (nor of 4)


def _onehot(seq: str) -> torch.Tensor:
    arr = np.array(list(seq))[None, :] == np.array(list("ACGT"))[:, None]
    return torch.from_numpy(arr.astype(np.float32))


def _window(seq: str, start: int, length: int) -> str:
    """``seq[start:start+length]`` with N outside the chromosome."""
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, start + length))


def _read(path, chrom: str) -> np.ndarray:
    bw = pyBigWig.open(str(path))
    try:
        return np.array(bw.values(chrom, 0, bw.chroms()[chrom]), dtype=np.float64)
    finally:
        bw.close()


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("tracks")
    rng = np.random.default_rng(1)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}
    seqs["c1"] = seqs["c1"][:60] + "N" * 5 + seqs["c1"][65:]
    write_fasta(d / "g.fa", seqs, line_width=50)
    return {"dir": d, "fasta": str(d / "g.fa"), "seqs": seqs}


@pytest.fixture(scope="module")
def bpnet_pkg(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(
        "bpnet", n_tasks=2, filters=4, n_layers=1, profile_kernel=5, trim=TRIM
    ).eval()
    spec = ModelSpec(kind="profile", loss="bpnet", input_length=L, task_names=["a", "b"],
                     extra={"output_length": S, "bin_size": 1})  # fmt: skip
    path = save_package(model, tmp_path_factory.mktemp("pkg") / "bpnet", data_spec=spec)
    return path, model


@pytest.fixture(scope="module")
def basenji_pkg(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("basenji", n_tasks=2, filters=4, bin_size=4, n_dilated=1, crop_bins=4)
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    assert model.output_geometry(L) == (16, 8, 4)
    spec = ModelSpec(kind="profile", loss="poisson", input_length=L, task_names=["a", "b"],
                     extra={"output_length": 32, "bin_size": 4})  # fmt: skip
    assert spec.link == "exp"
    path = save_package(model, tmp_path_factory.mktemp("pkg") / "basenji", data_spec=spec)
    return path, model


def _direct(model, seq: str, lo: int, hi: int, *, link: str, offset: int, span: int, bin_size: int):
    """``(slice, values (T, n))`` per tile of ``[lo, hi)``, by forwarding each tile's window."""
    for s in range(lo, hi, span):
        x = _onehot(_window(seq, s - offset, L))[None]
        with torch.no_grad():
            y = LINKS[link](model(x))[0].double().numpy()  # (T, n_out)
        per_base = np.repeat(y / bin_size, bin_size, axis=-1)  # (T, span)
        n = min(span, len(seq) - s, hi - s)
        yield slice(s, s + n), per_base[:, :n]


def _expected(model, genome, regions, *, link="bpnet", offset=TRIM, span=S, bin_size=1):
    """{chrom: (T, size) expected values, NaN where nothing is predicted}."""
    want = {c: np.full((2, n), np.nan) for c, n in SIZES.items()}
    for c, lo, hi in regions:
        for sl, vals in _direct(model, genome["seqs"][c], lo, hi, link=link, offset=offset,
                                span=span, bin_size=bin_size):  # fmt: skip
            want[c][:, sl] = vals
    return want


def _check(paths, want, *, mask=None):
    for t, path in enumerate(paths):
        for c in SIZES:
            got = _read(path, c)
            w = want[c][t]
            if mask is not None:
                keep = mask[c]
                got, w = got[keep], w[keep]
            np.testing.assert_array_equal(np.isnan(got), np.isnan(w), err_msg=f"{path} {c}")
            ok = ~np.isnan(w)
            np.testing.assert_allclose(got[ok], w[ok], rtol=2e-5, atol=1e-6, err_msg=f"{path} {c}")


# ------------------------------------------------------------------------------- small functions


def test_tile_starts_and_track_paths(tmp_path):
    assert tile_starts(10, 100, 32).tolist() == [10, 42, 74]
    assert tile_starts(0, 32, 32).tolist() == [0]
    assert track_paths(tmp_path / "o.bw", ["x"]) == [tmp_path / "o.bw"]
    assert track_paths(tmp_path / "o.bigwig", ["x", "y"]) == [
        tmp_path / "o.x.bigwig", tmp_path / "o.y.bigwig"
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"\.bw or \.bigwig"):
        track_paths(tmp_path / "o.tsv", ["x"])


def test_track_regions_merges_and_orders(genome, tmp_path):
    g = Genome(genome["fasta"])
    bed = tmp_path / "r.bed"
    write_bed(bed, pd.DataFrame({"chrom": ["c2", "c1", "c1", "c1", "c1"],
                                 "start": [5, 40, 10, 90, 120], "end": [30, 70, 50, 100, 121]}))  # fmt: skip
    got = track_regions(g, regions=bed)
    assert got.values.tolist() == [["c1", 10, 70], ["c1", 90, 100], ["c1", 120, 121], ["c2", 5, 30]]
    whole = track_regions(g)
    assert whole.values.tolist() == [["c1", 0, 150], ["c2", 0, 97]]
    some = track_regions(g, chroms=["c2", "c1:20-40", "c1:30-1000"])
    assert some.values.tolist() == [["c1", 20, 150], ["c2", 0, 97]]


@pytest.mark.parametrize("bin_size", [1, 4])
def test_stream_tracks_tiles_every_base_once(genome, tmp_path, bin_size):
    """A function whose output at each position is the GC count of the bases it covers: the track must
    read back as the GC indicator of every base, whatever the chunking."""
    offset, span = 16, 32
    geo = Geometry(length=L, offset=offset, span=span, bin_size=bin_size)

    def gc(x: torch.Tensor) -> np.ndarray:
        ind = x[:, 1:3, offset : offset + span].sum(1)  # (B, span)
        return ind.reshape(len(x), 1, span // bin_size, bin_size).sum(-1).numpy()

    g = Genome(genome["fasta"])
    out = tmp_path / "gc.bw"
    stream_tracks(gc, g, track_regions(g), geo, [out], chunk=2, verbose=False)
    for c, seq in genome["seqs"].items():
        ind = np.array([ch in "GC" for ch in seq], dtype=np.float64)
        pad = -len(seq) % bin_size
        want = np.repeat(np.append(ind, np.zeros(pad)).reshape(-1, bin_size).sum(1), bin_size)
        np.testing.assert_array_equal(_read(out, c), want[: len(seq)])


# ------------------------------------------------------------------------------- predict_tracks


def test_predict_tracks_bpnet_matches_a_direct_computation(genome, bpnet_pkg, tmp_path):
    pkg, model = bpnet_pkg
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "pred.bw", batch_size=3, chunk=2,
                           verbose=False)  # fmt: skip
    assert paths == [tmp_path / "pred.a.bw", tmp_path / "pred.b.bw"]
    regions = [(c, 0, n) for c, n in SIZES.items()]
    want = _expected(model, genome, regions)
    _check(paths, want)
    for c in SIZES:  # every base has a value, and expected counts are >= 0
        assert (_read(paths[0], c) >= 0).all()


def test_predict_tracks_over_overlapping_bed_regions(genome, bpnet_pkg, tmp_path):
    pkg, model = bpnet_pkg
    bed = tmp_path / "r.bed"
    write_bed(bed, pd.DataFrame({"chrom": ["c1", "c1", "c2", "c1"], "start": [40, 10, 60, 120],
                                 "end": [90, 60, 97, 140]}))  # fmt: skip
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "r.bw", regions=bed, verbose=False)
    # merged: c1 [10, 90) tiled from 10, not [10, 60) + [40, 90)
    want = _expected(model, genome, [("c1", 10, 90), ("c1", 120, 140), ("c2", 60, 97)])
    _check(paths, want)


def test_predict_tracks_chrom_stretch(genome, bpnet_pkg, tmp_path):
    pkg, model = bpnet_pkg
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "s.bw", chroms=["c1:33-101"],
                           verbose=False)  # fmt: skip
    _check(paths, _expected(model, genome, [("c1", 33, 101)]))


def test_predict_tracks_binned_model_per_base_units(genome, basenji_pkg, tmp_path):
    pkg, model = basenji_pkg
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "cov.bw", chunk=3, verbose=False)
    regions = [(c, 0, n) for c, n in SIZES.items()]
    want = _expected(model, genome, regions, link="exp", offset=16, span=32, bin_size=4)
    _check(paths, want)
    # by hand for the first bin of c2: exp(output) / bin_size on each of its 4 bases
    with torch.no_grad():
        raw = model(_onehot(_window(genome["seqs"]["c2"], -16, L))[None])[0, :, 0].double()
    for t, path in enumerate(paths):
        np.testing.assert_allclose(_read(path, "c2")[:4], np.exp(raw[t].item()) / 4, rtol=2e-5)


def test_binned_regions_one_base_apart(genome, basenji_pkg, tmp_path):
    """Two stretches that do not touch (one base apart) with ends inside a bin: both are predicted."""
    pkg, model = basenji_pkg
    bed = tmp_path / "gap.bed"
    write_bed(bed, pd.DataFrame({"chrom": ["c1", "c1"], "start": [0, 51], "end": [50, 100]}))
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "gap.bw", regions=bed, verbose=False)
    want = _expected(model, genome, [("c1", 0, 50), ("c1", 51, 100)], link="exp", offset=16,
                     span=32, bin_size=4)  # fmt: skip
    inside = {"c1": np.r_[np.arange(0, 50), np.arange(51, 100)], "c2": np.arange(97)}
    _check(paths, want, mask=inside)


def test_a_non_profile_package_is_refused(genome, tmp_path):
    model = build_model("bpnet", n_tasks=1, filters=4, n_layers=1, heads="global")
    pkg = save_package(model, tmp_path / "cls", data_spec=ModelSpec(
        kind="binary", input_length=L, task_names=["x"]))  # fmt: skip
    with pytest.raises(ValueError, match="genome-wide tracks need a profile"):
        predict_tracks(pkg, genome["fasta"], tmp_path / "x.bw", verbose=False)
    assert not (tmp_path / "x.bw").exists()
    # a profile spec without output_length is refused too
    prof = build_model("bpnet", n_tasks=1, filters=4, n_layers=1, trim=TRIM)
    pkg2 = save_package(prof, tmp_path / "noout", data_spec=ModelSpec(
        kind="profile", loss="bpnet", input_length=L, task_names=["x"]))  # fmt: skip
    with pytest.raises(ValueError, match="genome-wide tracks need a profile"):
        predict_tracks(pkg2, genome["fasta"], tmp_path / "y.bw", verbose=False)


def test_unknown_chromosome_is_refused(genome, bpnet_pkg, tmp_path):
    pkg, _ = bpnet_pkg
    with pytest.raises(ValueError):
        predict_tracks(pkg, genome["fasta"], tmp_path / "u.bw", chroms=["chrZZ"], verbose=False)
    assert not list(tmp_path.glob("u*.bw"))


# ------------------------------------------------------------------------------- CLI


def test_cli_predict_chrom_regions_and_genome_wide(genome, bpnet_pkg, tmp_path, capsys):
    pkg, model = bpnet_pkg
    out = tmp_path / "cli.bw"
    argv = ["-q", "predict", "--model", str(pkg), "--genome", genome["fasta"], "--out", str(out)]
    assert main([*argv, "--chrom", "c2", "--chunk", "1", "--batch-size", "2"]) == 0
    paths = [tmp_path / "cli.a.bw", tmp_path / "cli.b.bw"]
    assert all(p.exists() for p in paths)
    want = _expected(model, genome, [("c2", 0, SIZES["c2"])])
    _check(paths, want)

    bed = tmp_path / "r.bed"
    write_bed(bed, pd.DataFrame({"chrom": ["c1"], "start": [5], "end": [77]}))
    out2 = tmp_path / "reg.bw"
    argv2 = ["-q", "predict", "--model", str(pkg), "--genome", genome["fasta"], "--out", str(out2)]
    assert main([*argv2, "--regions", str(bed)]) == 0
    _check([tmp_path / "reg.a.bw", tmp_path / "reg.b.bw"],
           _expected(model, genome, [("c1", 5, 77)]))  # fmt: skip

    out3 = tmp_path / "all.bw"
    argv3 = ["-q", "predict", "--model", str(pkg), "--genome", genome["fasta"], "--out", str(out3)]
    assert main([*argv3, "--genome-wide"]) == 0
    _check([tmp_path / "all.a.bw", tmp_path / "all.b.bw"],
           _expected(model, genome, [(c, 0, n) for c, n in SIZES.items()]))  # fmt: skip


def test_cli_predict_tracks_needs_a_genome(bpnet_pkg, tmp_path, capsys):
    pkg, _ = bpnet_pkg
    code = main(["-q", "predict", "--model", str(pkg), "--chrom", "c1", "--out",
                 str(tmp_path / "x.bw")])  # fmt: skip
    assert code == 1
    assert "need --genome" in capsys.readouterr().err


def test_predict_tracks_undoes_the_target_transform(genome, basenji_pkg, tmp_path):
    """A model trained on sqrt(bin totals) with MSE: written value = max(output, 0)**2 / bin_size."""
    _, model = basenji_pkg
    spec = ModelSpec(kind="profile", loss="mse", input_length=L, task_names=["a", "b"],
                     extra={"output_length": 32, "bin_size": 4, "target_transform": "sqrt"})  # fmt: skip
    assert spec.link == "identity"
    pkg = save_package(model, tmp_path / "sq", data_spec=spec)
    paths = predict_tracks(pkg, genome["fasta"], tmp_path / "sq.bw", chroms=["c2"], verbose=False)
    seq = genome["seqs"]["c2"]
    want = np.full((2, SIZES["c2"]), np.nan)
    for s in range(0, SIZES["c2"], 32):
        with torch.no_grad():
            y = model(_onehot(_window(seq, s - 16, L))[None])[0].double().numpy()
        vals = np.repeat(np.maximum(y, 0) ** 2 / 4, 4, axis=-1)
        n = min(32, SIZES["c2"] - s)
        want[:, s : s + n] = vals[:, :n]
    for t, path in enumerate(paths):
        np.testing.assert_allclose(_read(path, "c2"), want[t], rtol=2e-5, atol=1e-6)


def test_a_stretch_past_the_chromosome_end_is_refused(genome, bpnet_pkg, tmp_path):
    pkg, _ = bpnet_pkg
    with pytest.raises(ValueError):
        predict_tracks(pkg, genome["fasta"], tmp_path / "past.bw", chroms=["c1:200-300"],
                       verbose=False)  # fmt: skip


def test_cli_task_is_not_silently_ignored_for_tracks(genome, bpnet_pkg, tmp_path):
    pkg, _ = bpnet_pkg
    out = tmp_path / "one.bw"
    code = main(["-q", "predict", "--model", str(pkg), "--genome", genome["fasta"], "--out",
                 str(out), "--chrom", "c2", "--task", "a"])  # fmt: skip
    assert code != 0 or not (tmp_path / "one.b.bw").exists()
