"""``genodeep train`` on multimodal, graph and transfer-learning configs: the examples run end to end,
their model packages reload with their graphs and predict the same, and bad node names are reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import genodeep
from genodeep._validate import InputFileError
from genodeep.cli.__main__ import main
from genodeep.data.sources import build_data
from genodeep.workflows.config import load_config
from genodeep.workflows.predict import predict_outputs
from genodeep.workflows.train import train_from_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
METRIC_COLUMNS = ["model", "task", "auroc", "auprc", "accuracy", "n", "n_pos", "note"]


def _train(example: str, run: Path, *overrides: str) -> pd.DataFrame:
    args = ["-q", "train", str(EXAMPLES / example), "--out", str(run)]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 0
    for name in ("config.yaml", "metrics.tsv", "predictions.tsv", "model/config.json"):
        assert (run / name).exists(), name
    return pd.read_csv(run / "metrics.tsv", sep="\t")


def _reload_predicts_the_same(run: Path, name: str) -> None:
    """The saved package (rebuilt by genodeep.load, graph included) gives predictions.tsv's values."""
    cfg = load_config(run / "config.yaml")
    data = build_data(cfg["data"])
    pkg = genodeep.load(run / "model")
    got = predict_outputs(pkg.model, data.test.X, rows=data.test.rows, kind=data.kind)
    table = pd.read_csv(run / "predictions.tsv", sep="\t")
    want = table[[f"{name}:{t}" for t in data.task_names]].to_numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_multimodal_example_learns_motif_and_track(tmp_path):
    run = tmp_path / "mm"
    metrics = _train("multimodal.yaml", run, "baselines.k=3")
    assert list(metrics.columns) == METRIC_COLUMNS
    auroc = metrics.set_index(["model", "task"])["auroc"]
    # label = motif AND open: one input alone reaches at most 5/6; seen with batch norm: 0.98-1.0
    assert auroc["multimodal", "bound"] > 0.9
    assert auroc["multimodal", "bound"] > auroc["logistic", "bound"] + 0.1
    _reload_predicts_the_same(run, "multimodal")
    spec = genodeep.load(run / "model").data_spec
    assert spec["inputs"] == ["sequence", "track"] and spec["input_kind"] == "multimodal"
    assert main(["-q", "evaluate", "--run", str(run)]) == 0
    again = pd.read_csv(run / "eval-test" / "metrics.tsv", sep="\t")
    assert again["auroc"].iloc[0] == pytest.approx(auroc["multimodal", "bound"], abs=1e-6)


def test_multimodal_with_features_and_early_fusion(tmp_path):
    run = tmp_path / "mm"
    _train("multimodal.yaml", run, "data.n=300", "data.n_features=3", "model.fusion=early",
           "training.max_epochs=1", "baselines=false")  # fmt: skip
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["track_channels"] == 1 and resolved["model"]["n_features"] == 3
    _reload_predicts_the_same(run, "multimodal")


def test_gcn_example_trains_on_the_whole_graph_and_reloads_with_it(tmp_path):
    run = tmp_path / "gcn"
    metrics = _train("gcn.yaml", run, "data.n_nodes=400", "training.max_epochs=60")
    assert list(metrics.columns) == METRIC_COLUMNS
    assert list(metrics["model"].unique()) == ["gcn"]  # no k-mer baselines for graphs
    test_nodes = pd.read_csv(run / "predictions.tsv", sep="\t")
    assert len(test_nodes) == 200 and test_nodes["name"].str.startswith("g").all()  # half the nodes
    assert metrics["auroc"].iloc[0] > 0.75  # neighbours' majority: 0.87 here; chance 0.5
    pkg = genodeep.load(run / "model")
    assert pkg.model.n_nodes == 400 and pkg.model.adj_values.numel() > 400
    _reload_predicts_the_same(run, "gcn")
    history = pd.read_csv(run / "history.tsv", sep="\t")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]


def test_graph_expression_example_reads_an_h5ad_and_a_gene_network(tmp_path):
    run = tmp_path / "ge"
    metrics = _train("graph_expression.yaml", run, "training.max_epochs=2", "model.dense=[8]")
    assert list(metrics.columns) == METRIC_COLUMNS
    tasks = set(metrics["task"]) - {"mean"}
    assert {"Dendritic", "CD14+ Monocyte", "CD19+ B"} <= tasks and len(tasks) == 10
    pkg = genodeep.load(run / "model")
    assert pkg.model.n_nodes == 765
    _reload_predicts_the_same(run, "graph_expression")


def _graph_files(tmp_path: Path, *, mistype_features=False, mistype_labels=False):
    from genodeep.data.simulate import simulate_graph_labels

    sim = simulate_graph_labels(120, n_features=4, signal=2.0, random_state=0)
    names = list(sim.graph.nodes)
    edges = tmp_path / "edges.tsv"
    df = sim.graph.to_dataframe()
    edges.write_text("".join(f"{s}\t{t}\n" for s, t in zip(df["source"], df["target"])))
    feats = pd.DataFrame(sim.features.numpy(), columns=[f"f{i}" for i in range(4)])
    feats.insert(0, "node", [n.upper() if mistype_features else n for n in names])
    feats.to_csv(tmp_path / "features.tsv", sep="\t", index=False)
    labels = pd.DataFrame({"node": names, "state": sim.y[:, 0].numpy()})
    if mistype_labels:
        labels["node"] = [n.upper() for n in names]
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    cfg = {
        "data": {"kind": "graph", "edges": "edges.tsv", "features": "features.tsv",
                 "labels": "labels.tsv", "valid_fraction": 0.2, "test_fraction": 0.3},
        "model": {"name": "gcn", "hidden": [8]},
        "training": {"max_epochs": 3, "lr": 0.01},
    }  # fmt: skip
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_graph_files_train_and_mistyped_names_are_reported(tmp_path):
    result = train_from_config(_graph_files(tmp_path), out_dir=tmp_path / "run", verbose=False)
    assert result.data.input_kind == "graph_nodes" and len(result.data.test) == 36
    assert result.model.n_nodes == 120 and result.model.in_channels == 4

    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(InputFileError) as err:
        train_from_config(_graph_files(bad, mistype_features=True), out_dir=bad / "run")
    msg = str(err.value)
    assert str(bad / "edges.tsv") in msg and "none of the" in msg and "'G0'" in msg

    bad = tmp_path / "bad_labels"
    bad.mkdir()
    with pytest.raises(InputFileError) as err:
        train_from_config(_graph_files(bad, mistype_labels=True), out_dir=bad / "run")
    msg = str(err.value)
    assert str(bad / "labels.tsv") in msg and "none of the 120 names" in msg
    assert "'G0' (did you mean 'g0'?)" in msg


def test_model_and_data_of_different_kinds_are_an_error(tmp_path):
    path = _graph_files(tmp_path)
    with pytest.raises(ValueError, match="model 'deepbind' reads sequence.*graph_nodes"):
        train_from_config(path, out_dir=tmp_path / "run", overrides={"model": {"name": "deepbind"}})


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("pre") / "deepbind"
    _train("deepbind.yaml", run, "data.n=300", "training.max_epochs=1", "baselines=false")
    return run


def test_transfer_example_freezes_the_named_layers(tmp_path, pretrained_run):
    run = tmp_path / "transfer"
    metrics = _train("transfer.yaml", run, f"model.pretrained={pretrained_run}", "data.n=300",
                     "training.max_epochs=2")  # fmt: skip
    assert list(metrics["task"].unique()) == ["MA0139.2 CTCF", "mean"]
    before = genodeep.load(pretrained_run / "model").model.state_dict()
    after = genodeep.load(run / "model").model.state_dict()
    for key in ("local.0.weight", "local.0.bias"):  # freeze: [local]
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["head.1.weight"], after["head.1.weight"])  # lr * 0.1, not frozen
    assert after["head.3.weight"].shape == (1, 32)  # the new head: one task
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["name"] == "deepbind"
    assert resolved["model"]["pretrained"] == str(pretrained_run)
    _reload_predicts_the_same(run, "deepbind")


def test_transfer_head_add_keeps_the_old_tasks(tmp_path, pretrained_run):
    run = tmp_path / "add"
    _train("transfer.yaml", run, f"model.pretrained={pretrained_run}", "model.head=add",
           "model.freeze=null", "model.freeze_depth=-1", "data.n=200",
           "training.max_epochs=1")  # fmt: skip
    before = genodeep.load(pretrained_run / "model")
    after = genodeep.load(run / "model")
    old = before.data_spec["task_names"]
    assert after.data_spec["task_names"] == [*old, "MA0139.2 CTCF"]
    # everything but the output layer frozen, and the old outputs' rows of it kept by "add"
    w0, w1 = before.model.state_dict(), after.model.state_dict()
    assert torch.equal(w0["head.1.weight"], w1["head.1.weight"])
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 200)), 4).permute(0, 2, 1).float()
    with torch.no_grad():
        old_out, new_out = before.model(x), after.model(x)
    assert new_out.shape == (5, 4)
    # the old tasks have no labels in this data (NaN, masked): their outputs are unchanged
    torch.testing.assert_close(new_out[:, :3], old_out, atol=1e-6, rtol=0)


def test_genome_windows_with_a_bigwig_track_feed_a_multimodal_model(tmp_path):
    pyBigWig = pytest.importorskip("pyBigWig")
    rng = np.random.default_rng(0)
    size = 4000
    (tmp_path / "g.fa").write_text(">chrA\n" + "".join(rng.choice(list("ACGT"), size)) + "\n")
    (tmp_path / "peaks.bed").write_text("chrA\t1000\t1100\nchrA\t2500\t2600\nchrA\t3300\t3400\n")
    signal = np.zeros(size)
    signal[1000:1100] = signal[2500:2600] = signal[3300:3400] = 5.0  # open where the peaks are
    bw = pyBigWig.open(str(tmp_path / "acc.bw"), "w")
    bw.addHeader([("chrA", size)])
    bw.addEntries("chrA", 0, values=signal.tolist(), span=1, step=1)
    bw.close()
    cfg = {
        "data": {"kind": "genome", "genome": "g.fa", "beds": {"peak": "peaks.bed"}, "width": 100,
                 "tracks": {"acc": "acc.bw"}, "track_bin": 10, "features": ["acc.bw"],
                 "valid": "chrA:0-600", "test": "chrA:3000-4000"},
        "model": {"name": "multimodal", "filters": [4], "widths": [5], "dense": [4]},
        "training": {"max_epochs": 2, "batch_size": 8},
    }  # fmt: skip
    path = tmp_path / "tracks.yaml"
    path.write_text(yaml.safe_dump(cfg))
    data = build_data(load_config(path)["data"])
    x, track, feats = data.train.X
    assert data.inputs == ("sequence", "track", "features") and data.input_kind == "multimodal"
    assert track.shape == (len(data.train), 1, 10) and feats.shape == (len(data.train), 1)
    ids = data.train.ids
    row = int(np.flatnonzero(ids["start"].to_numpy() == 1000)[0])
    np.testing.assert_allclose(track[row, 0], np.log1p(5.0), rtol=1e-6)  # per 10 bp bin, log1p
    np.testing.assert_allclose(feats[row, 0], np.log1p(5.0), rtol=1e-6)  # window mean
    assert float(track[ids["start"].to_numpy() == 700].abs().max()) == 0.0  # closed window
    run = tmp_path / "run"
    train_from_config(path, out_dir=run, verbose=False)
    model = genodeep.load(run / "model").model
    assert (model.track_channels, model.n_features) == (1, 1)
    _reload_predicts_the_same(run, "multimodal")
