"""End-to-end profile runs (``data.kind: profile`` / ``simulate_profile``): BPNet, Basenji (binned) and
ChromBPNet (bias step) trained for one epoch on tiny data, then the run folder predicts genome-wide
tracks.

The written predictions are checked against the model run directly, the metrics table against scipy,
and the bigWig of a test window's output stretch against that window's saved prediction.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from genodeep.io import write_fasta
from genodeep.io.bigwig_writer import BigWigWriter
from genodeep.models.spec import LINKS
from genodeep.train.profile_metrics import COVERAGE_METRICS, PROFILE_METRICS
from genodeep.workflows.config import load_config
from genodeep.workflows.tracks import predict_tracks
from genodeep.workflows.train import train_from_config
from genodeep.zoo import load

pyBigWig = pytest.importorskip("pyBigWig")

TRAINING = {"max_epochs": 1, "batch_size": 16, "random_state": 0}


def _sim_data(cache, **kw) -> dict:
    cache.mkdir(exist_ok=True)
    data = {"kind": "simulate_profile", "genome_size": 200_000, "n_chroms": 3, "input_length": 200,
            "output_length": 100, "max_jitter": 16, "cache_dir": str(cache), "random_state": 0}  # fmt: skip
    data.update(kw)
    return data


def _read(path, chrom: str, start: int, end: int) -> np.ndarray:
    bw = pyBigWig.open(str(path))
    try:
        return np.array(bw.values(chrom, start, end), dtype=np.float64)
    finally:
        bw.close()


def _check_run_folder(run, name: str, metric_cols, tasks) -> pd.DataFrame:
    metrics = pd.read_csv(run / "metrics.tsv", sep="\t")
    assert set(metrics["model"]) == {name, "mean_profile"}
    assert set(metric_cols) <= set(metrics.columns)
    for model in (name, "mean_profile"):
        assert metrics.loc[metrics["model"] == model, "task"].tolist() == [*tasks, "mean"]
    assert (run / "plots" / "profiles.png").stat().st_size > 0
    assert (run / "model" / "weights.safetensors").exists()
    return metrics


def _test_window_track(run, data, pred: np.ndarray, out, *, bin_size: int = 1):
    """predict_tracks over the output stretch of test window 0 equals that window's saved prediction
    (per base: a bin's total over bin_size)."""
    ids = data.test.ids
    c, s = ids["chrom"].iloc[0], int(ids["start"].iloc[0])
    offset = (data.input_length - data.output["output_length"]) // 2
    span = data.output["output_length"]
    paths = predict_tracks(run, data.genome, out, chroms=[f"{c}:{s + offset}-{s + offset + span}"],
                           verbose=False)  # fmt: skip
    assert len(paths) == len(data.task_names)
    for t, p in enumerate(paths):
        got = _read(p, c, s + offset, s + offset + span)
        want = np.repeat(pred[0, t] / bin_size, bin_size)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_bpnet_on_simulated_footprints(tmp_path):
    cfg = {"data": _sim_data(tmp_path / "cache"),
           "model": {"name": "bpnet", "filters": 4, "n_layers": 1, "profile_kernel": 5},
           "training": TRAINING}  # fmt: skip
    run = tmp_path / "run"
    res = train_from_config(cfg, out_dir=run, verbose=False)
    data, model = res.data, res.model.eval()
    assert data.task_names == ["plus", "minus"]
    metrics = _check_run_folder(run, "bpnet", PROFILE_METRICS, ["plus", "minus"])
    # the package: a profile spec with the output geometry
    spec = json.loads((run / "model" / "data_spec.json").read_text())
    assert spec["kind"] == "profile" and spec["link"] == "bpnet" and spec["input_length"] == 200
    assert spec["output_length"] == 100 and spec["bin_size"] == 1
    assert load(run).model.config["trim"] == 50
    # saved predictions: the model's expected counts, and the mean training profile
    npz = np.load(run / "predictions.npz")
    with torch.no_grad():
        direct = LINKS["bpnet"](model(data.test.X.float())).numpy()
    np.testing.assert_allclose(npz["bpnet"], direct, rtol=1e-5, atol=1e-6)
    mean = data.train.y.astype(np.float64).mean(0)
    np.testing.assert_allclose(npz["mean_profile"], np.broadcast_to(mean, npz["y_true"].shape),
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_array_equal(npz["y_true"], data.test.y)
    # count correlation, by scipy
    for t, task in enumerate(data.task_names):
        r = stats.pearsonr(np.log1p(data.test.y[:, t].sum(-1)), np.log1p(direct[:, t].sum(-1)))[0]
        row = metrics[(metrics["model"] == "bpnet") & (metrics["task"] == task)]
        np.testing.assert_allclose(row["count_pearson"].item(), r, rtol=1e-4, atol=1e-6)
    _test_window_track(run, data, direct, tmp_path / "pred.bw")
    assert (tmp_path / "pred.plus.bw").exists() and (tmp_path / "pred.minus.bw").exists()


def _coverage_files(d) -> dict:
    """3 chromosomes of 6 kb and one coverage track (Poisson, rate rising with local GC)."""
    rng = np.random.default_rng(4)
    sizes = {"chr1": 6_000, "chr2": 6_000, "chr3": 6_000}
    seqs, cov = {}, {}
    for c, n in sizes.items():
        letters = rng.choice(list("ACGT"), n, p=[0.3, 0.2, 0.2, 0.3])
        seqs[c] = "".join(letters)
        gc = np.convolve(np.isin(letters, ["G", "C"]).astype(float), np.ones(25) / 25, "same")
        cov[c] = rng.poisson(1 + 10 * gc).astype(np.float64)
    write_fasta(d / "genome.fa", seqs)
    with BigWigWriter(d / "cov.bw", sizes) as w:
        for c in sizes:
            w.add(c, 0, cov[c])
    return {"genome": str(d / "genome.fa"), "track": str(d / "cov.bw")}


def test_basenji_binned_coverage(tmp_path):
    f = _coverage_files(tmp_path)
    cfg = {
        "data": {"kind": "profile", "genome": f["genome"], "tracks": {"cov": f["track"]},
                 "input_length": 128, "output_length": 64, "bin_size": 4, "max_jitter": 8,
                 "valid": "chr2", "test": "chr3"},
        "model": {"name": "basenji", "filters": 4, "n_dilated": 1},
        "training": TRAINING,
    }  # fmt: skip
    run = tmp_path / "run"
    res = train_from_config(cfg, out_dir=run, verbose=False)
    data, model = res.data, res.model.eval()
    assert data.test.y.shape[1:] == (1, 16)
    metrics = _check_run_folder(run, "basenji", COVERAGE_METRICS, ["cov"])
    spec = json.loads((run / "model" / "data_spec.json").read_text())
    assert spec["kind"] == "profile" and spec["link"] == "exp" and spec["loss"] == "poisson"
    assert spec["output_length"] == 64 and spec["bin_size"] == 4
    assert model.config["crop_bins"] == 8 and model.config["bin_size"] == 4
    npz = np.load(run / "predictions.npz")
    with torch.no_grad():
        direct = torch.exp(model(data.test.X.float())).numpy()
    np.testing.assert_allclose(npz["basenji"], direct, rtol=1e-5, atol=1e-6)
    row = metrics[(metrics["model"] == "basenji") & (metrics["task"] == "cov")]
    r = stats.pearsonr(data.test.y[:, 0].ravel(), direct[:, 0].ravel())[0]
    np.testing.assert_allclose(row["bin_pearson"].item(), r, rtol=1e-4, atol=1e-6)
    mse = np.mean((data.test.y[:, 0].astype(np.float64) - direct[:, 0]) ** 2)
    np.testing.assert_allclose(row["mse"].item(), mse, rtol=1e-4)
    _test_window_track(run, data, direct, tmp_path / "cov_pred.bw", bin_size=4)


def test_chrombpnet_trains_and_freezes_its_bias(tmp_path):
    cfg = {
        "data": _sim_data(tmp_path / "cache", shapes="atac", bias=True, background_ratio=1.0),
        "model": {"name": "chrombpnet", "filters": 4, "n_layers": 1, "profile_kernel": 5,
                  "bias_filters": 4, "bias_layers": 1},
        "training": TRAINING,
    }  # fmt: skip
    run = tmp_path / "run"
    res = train_from_config(cfg, out_dir=run, verbose=False)
    model, data = res.model, res.data
    assert data.task_names == ["cuts"]
    assert not data.train.ids["peak"].all()  # background windows for the bias step
    # the bias step ran and its weights are those of the frozen bias model after the main fit
    ckpt = torch.load(
        run / "bias_checkpoints" / "best.ckpt", map_location="cpu", weights_only=False
    )
    trained_bias = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    assert model.bias_frozen
    for name, p in model.bias.named_parameters():
        assert not p.requires_grad, name
        torch.testing.assert_close(p.detach(), trained_bias[name], rtol=0, atol=0)
    assert any(p.requires_grad for p in model.accessibility.parameters())
    _check_run_folder(run, "chrombpnet", PROFILE_METRICS, ["cuts"])
    pkg = load(run)
    assert pkg.model.config["bias_trainable"] is False
    assert all(not p.requires_grad for p in pkg.model.bias.parameters())
    for name, p in pkg.model.bias.named_parameters():
        torch.testing.assert_close(p, trained_bias[name], rtol=0, atol=0)
    with torch.no_grad():
        direct = LINKS["bpnet"](model.eval()(data.test.X.float())).numpy()
    _test_window_track(run, data, direct, tmp_path / "atac.bw")


def test_a_new_cache_dir_is_accepted(tmp_path):
    """A cache folder that does not exist yet is not refused as a missing input path."""
    cfg = {"data": {"kind": "simulate_profile", "cache_dir": str(tmp_path / "new")}}
    loaded = load_config(cfg)
    assert loaded["data"]["cache_dir"] == str(tmp_path / "new")
    assert not (tmp_path / "new").exists()  # made when the data is first written, not by the check
