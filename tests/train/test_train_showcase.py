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
    from genodeep.train.showcase import multimodal_showcase

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
    from genodeep.train.showcase import transfer_showcase

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
    from genodeep.train.showcase import gcn_showcase

    table = gcn_showcase(n_nodes=600, random_state=0).set_index("model")
    assert table.loc["GCN", "auroc"] > 0.85
    # the MLP sees only the node's own features, which are independent of the label by design
    assert abs(table.loc["MLP (no graph)", "auroc"] - 0.5) < 0.1
    assert table.loc["GCN", "accuracy"] > table.loc["MLP (no graph)", "accuracy"] + 0.2


def test_learning_curve_plot_checks_columns(tmp_path):
    import pandas as pd

    from genodeep.train.showcase import plot_learning_curve

    with pytest.raises(ValueError, match="'method'"):
        plot_learning_curve(pd.DataFrame({"n_train": [1], "auroc": [0.5]}), tmp_path / "x.png")
