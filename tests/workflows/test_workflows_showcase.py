"""The three demonstrations (multimodal, transfer, GCN), at small sizes.

Each trains several small models; they run on one thread (a loaded 2-core machine makes torch's
thread pool far slower than one core) and are restored afterwards.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_multimodal_beats_sequence_only_and_track_only(one_thread):
    from genodeep.workflows.showcase import multimodal_showcase

    table = multimodal_showcase(n=1000, length=100, max_epochs=20, random_state=0).set_index(
        "model"
    )
    bound = table.attrs["single_input_auroc_bound"]
    assert bound == pytest.approx(5 / 6)
    best_single = max(table.loc["sequence only", "auroc"], table.loc["track only", "auroc"])
    for fused in ("multimodal (late)", "multimodal (early)"):
        assert table.loc[fused, "auroc"] > 0.95
        assert table.loc[fused, "auroc"] > best_single + 0.08
    # neither single input can beat the analytic bound by more than noise (250 test windows)
    assert best_single < bound + 0.07


@pytest.mark.slow
def test_fine_tuning_beats_training_from_scratch(one_thread, tmp_path):
    from genodeep.workflows.showcase import transfer_showcase

    table = transfer_showcase(
        motifs=("MA0533.1", "MA0531.2", "MA0106.3", "MA0460.1"),
        sizes=(100, 300),
        n_pretrain=1500,
        n_test=400,
        length=120,
        filters=32,
        pretrain_epochs=15,
        max_epochs=40,
        out_dir=tmp_path,
        random_state=0,
    )
    assert table.attrs["pretrain_auroc"] > 0.9
    assert table.attrs["new_task"] == "MA0533.1 su(Hw) AND MA0531.2 CTCF"
    wide = table.pivot(index="n_train", columns="method", values="auroc")
    assert list(wide.index) == [100, 300]
    assert (wide["fine-tune"] > wide["scratch"] + 0.15).all()
    assert (wide["frozen trunk"] > wide["scratch"] + 0.15).all()
    png = tmp_path / "transfer_learning_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "transfer_learning_curve.tsv").exists()


@pytest.mark.slow
def test_gcn_beats_the_graph_free_mlp(one_thread):
    from genodeep.workflows.showcase import gcn_showcase

    table = gcn_showcase(n_nodes=600, random_state=0).set_index("model")
    assert table.loc["GCN", "auroc"] > 0.85
    # the MLP sees only the node's own features, which are independent of the label by design
    assert abs(table.loc["MLP (no graph)", "auroc"] - 0.5) < 0.1
    assert table.loc["GCN", "accuracy"] > table.loc["MLP (no graph)", "accuracy"] + 0.2


def test_learning_curve_plot_checks_columns(tmp_path):
    import pandas as pd

    from genodeep.workflows.showcase import plot_learning_curve

    with pytest.raises(ValueError, match="'method'"):
        plot_learning_curve(pd.DataFrame({"n_train": [1], "auroc": [0.5]}), tmp_path / "x.png")


# --------------------------------------------------------------------------------------------------
# writers, claim checks and `genodeep experiment multimodal|transfer|graph`

_PNG = b"\x89PNG\r\n\x1a\n"

# tiny sizes on top of --quick: about a second each on one thread
_TINY = {
    "multimodal": (["--n", "400"], ["model", "inputs", "n_params", "auroc", "auprc"]),
    "transfer": (["--n", "600", "--sizes", "60", "100"], ["n_train", "method", "auroc", "auprc"]),
    "graph": (["--n", "300"], ["model", "uses_graph", "auroc", "accuracy", "auprc"]),
}


@pytest.mark.parametrize("name", list(_TINY))
def test_experiment_cli_writes_table_markdown_and_plot(name, tmp_path, capsys, one_thread):
    import pandas as pd

    from genodeep.cli.__main__ import main

    extra, columns = _TINY[name]
    assert main(["-q", "experiment", name, "--out", str(tmp_path), "--quick", *extra]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t")
    assert list(table.columns) == columns
    assert table["auroc"].between(0, 1).all() and table["auprc"].between(0, 1).all()
    md = (tmp_path / f"{name}.md").read_text()
    assert "quick=True" in md and "random_state=0" in md
    claim = md.strip().splitlines()[-1]
    assert claim.endswith(("holds", "does NOT hold")) and claim in out
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:8] == _PNG
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[:2] > (200, 300)
    if name == "transfer":
        assert table["n_train"].tolist() == [60] * 3 + [100] * 3
        assert "n_pretrain=600" in md and "sizes=[60, 100]" in md


def test_tiny_graph_and_multimodal_runs_separate_the_models(tmp_path, one_thread):
    from genodeep.workflows.showcase_files import showcase_to_files

    graph = showcase_to_files("graph", tmp_path, quick=True, n_nodes=300, random_state=0)
    t = graph.table.set_index("model")
    # the graph-free layers see only each node's own features, independent of its label
    assert abs(t.loc["MLP (no graph)", "auroc"] - 0.5) < 0.15
    assert t.loc["GCN", "auroc"] > t.loc["MLP (no graph)", "auroc"] + 0.25
    assert graph.holds and graph.claim["gcn_auroc"] == pytest.approx(t.loc["GCN", "auroc"])
    assert graph.paths == {e: tmp_path / f"graph.{e}" for e in ("tsv", "md", "png")}

    # 600 windows: the best fused model is near-perfect while either input alone is capped near 5/6
    mm = showcase_to_files("multimodal", tmp_path, quick=True, n=600, random_state=0)
    fused = mm.table["inputs"] == "sequence + track"
    assert mm.table.loc[fused, "auroc"].max() > 0.95
    assert mm.table.loc[fused, "auroc"].max() > mm.table.loc[~fused, "auroc"].max() + 0.05
    assert mm.holds and mm.message.startswith("multimodal auROC")


def _known(name, **cols):
    import pandas as pd

    return pd.DataFrame(cols)


def test_claim_checks_known_answers():
    from genodeep.workflows.showcase_files import gcn_claim, multimodal_claim, transfer_claim

    mm = _known(
        "multimodal",
        model=["late", "early", "seq", "track"],
        inputs=["sequence + track", "sequence + track", "sequence", "track"],
        auroc=[0.90, 0.99, 0.83, 0.82],
    )
    c = multimodal_claim(mm)
    assert c["holds"] and c["multimodal_auroc"] == 0.99 and c["margin"] == pytest.approx(0.16)
    assert c["message"].startswith("multimodal auROC 0.990 beats sequence-only 0.830")
    mm.loc[3, "auroc"] = 0.95  # the track alone comes within 0.04
    c = multimodal_claim(mm)
    assert not c["holds"] and c["message"].endswith("does NOT hold")

    tr = _known(
        "transfer",
        n_train=[100, 100, 500, 500],
        method=["scratch", "fine-tune", "scratch", "fine-tune"],
        auroc=[0.5, 0.9, 0.88, 0.91],
    )
    c = transfer_claim(tr)  # at 500 examples scratch catches up: margin 0.03 < 0.05
    assert not c["holds"] and c["min_margin_seen"] == pytest.approx(0.03)
    assert c["sizes"] == [100, 500] and c["scratch_auroc"] == [0.5, 0.88]
    assert transfer_claim(tr, min_margin=0.03)["holds"]

    g = _known("graph", model=["GCN", "MLP"], uses_graph=[True, False], auroc=[0.93, 0.54])
    assert gcn_claim(g)["holds"] and gcn_claim(g)["margin"] == pytest.approx(0.39)
    assert not gcn_claim(g, min_margin=0.5)["holds"]


def test_showcase_to_files_rejects_unknown_names(tmp_path):
    from genodeep.workflows.showcase_files import showcase_to_files

    with pytest.raises(ValueError, match="choose one of"):
        showcase_to_files("spacing", tmp_path)
    assert not list(tmp_path.iterdir())
