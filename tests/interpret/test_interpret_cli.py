"""The attribute() dispatcher, the attribution plots, and `genodeep interpret` / `genodeep motifs` end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep import example_data
from genodeep.cli.__main__ import main
from genodeep.interpret.api import ATTRIBUTION_METHODS, attribute, resolve_target
from genodeep.interpret.deeplift import deep_lift_shap
from genodeep.interpret.gradients import input_x_gradient, integrated_gradients, saliency
from genodeep.interpret.ism import saturation_mutagenesis
from genodeep.interpret.plots import (
    plot_attribution_logo,
    plot_ism_heatmap,
    save_attribution_logo,
    save_ism_heatmap,
)
from genodeep.io import read_motifs, write_fasta, write_meme
from genodeep.models import DeepBind
from genodeep.motifs import compare, log_odds, scan
from genodeep.seq import one_hot, sample_background, simulate_motif_presence
from genodeep.zoo import save_package

GATA = "MA0035.5 GATA1"


def _model(n_tasks: int = 2) -> DeepBind:
    torch.manual_seed(0)
    model = DeepBind(n_tasks=n_tasks, filters=3, width=7, hidden=0)
    db = read_motifs(example_data.motifs())
    with torch.no_grad():
        model.local[0].weight[0] = torch.tensor(log_odds(db[GATA]), dtype=torch.float32)
        model.local[0].bias[0] = -4.0
    return model.eval()


@pytest.fixture
def X():
    return one_hot(sample_background(6, 40, random_state=0), dtype=torch.float32)


# ------------------------------------------------------------------------------------------------
# attribute()


def test_attribute_matches_each_method(X):
    model = _model()
    ism = saturation_mutagenesis(model, X, target=1, device="cpu")
    r = attribute(model, X, method="ism", target=1, device="cpu")
    torch.testing.assert_close(r.scores, ism)
    torch.testing.assert_close(r.hypothetical, ism - ism.mean(1, keepdim=True))
    torch.testing.assert_close(r.attributions, X * r.hypothetical)

    r = attribute(model, X, method="saliency", target=0, device="cpu")
    torch.testing.assert_close(r.scores, saliency(model, X, target=0, device="cpu"))
    assert r.hypothetical is None
    torch.testing.assert_close(r.attributions, X * r.scores)

    r = attribute(model, X, method="ixg", device="cpu")
    torch.testing.assert_close(r.scores, input_x_gradient(model, X, device="cpu"))
    torch.testing.assert_close(r.attributions, r.scores)
    torch.testing.assert_close(X * r.hypothetical, r.attributions)

    r = attribute(model, X, method="ig", n_steps=8, device="cpu")
    torch.testing.assert_close(r.scores, integrated_gradients(model, X, n_steps=8, device="cpu"))
    assert r.hypothetical is None

    r = attribute(model, X, method="deepliftshap", n_shuffles=4, random_state=3, device="cpu")
    dls = deep_lift_shap(model, X, n_shuffles=4, random_state=3, device="cpu")
    torch.testing.assert_close(r.attributions, dls, atol=1e-6, rtol=1e-5)
    hyp = deep_lift_shap(model, X, n_shuffles=4, random_state=3, hypothetical=True, device="cpu")
    torch.testing.assert_close(r.hypothetical, hyp)

    one = attribute(model, X[2], method="ism", device="cpu")
    assert one.attributions.shape == (4, 40)
    torch.testing.assert_close(
        one.scores, attribute(model, X, method="ism", device="cpu").scores[2]
    )


def test_attribute_errors(X):
    model = _model()
    with pytest.raises(ValueError, match="'deepliftshap'"):
        attribute(model, X, method="shap")
    with pytest.raises(TypeError, match="its options are: references, n_shuffles"):
        attribute(model, X, method="deepliftshap", n_steps=3)
    with pytest.raises(TypeError, match="its options are: none"):
        attribute(model, X, method="saliency", fast=False)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        attribute(model, X.transpose(1, 2))
    assert set(ATTRIBUTION_METHODS) == {"ism", "saliency", "ixg", "ig", "deepliftshap"}


def test_resolve_target():
    names = ["BEAF_Kc", "CTCF_Kc"]
    assert resolve_target("CTCF_Kc", names) == 1
    assert resolve_target("0", names) == 0
    assert resolve_target(None, names) is None
    assert resolve_target(["BEAF_Kc", 1], names) == [0, 1]
    with pytest.raises(ValueError, match="did you mean CTCF_Kc"):
        resolve_target("CTCF_KC", names)


def test_attribution_plots(tmp_path, X):
    model = _model()
    r = attribute(model, X, method="ism", device="cpu")
    ax = plot_attribution_logo(r.attributions[0], start=10, end=30, highlight=(12, 18))
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["10", "12"]
    assert len(ax.patches) >= 1  # the highlight band
    ax = plot_ism_heatmap(r.scores[0], X=X[0], start=5, end=25)
    im = ax.get_images()[0]
    assert im.get_array().shape == (4, 20)
    lo, hi = im.get_clim()
    assert lo == pytest.approx(-hi)
    p1 = save_attribution_logo(tmp_path / "a.png", r.attributions[0], title="x")
    p2 = save_ism_heatmap(tmp_path / "b.png", r.scores[0])
    for p in (p1, p2):
        assert open(p, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match=r"\(4, L\)"):
        plot_attribution_logo(r.attributions)
    with pytest.raises(ValueError, match="start=30, end=20"):
        plot_ism_heatmap(r.scores[0], start=30, end=20)


# ------------------------------------------------------------------------------------------------
# CLI end to end


@pytest.fixture
def files(tmp_path):
    model = _model()
    pkg = save_package(
        model,
        tmp_path / "pkg",
        data_spec={"task_names": ["gata", "other"], "kind": "binary", "sequence_length": 40},
    )
    db = read_motifs(example_data.motifs())
    seqs, _, _ = simulate_motif_presence(30, 40, {GATA: db[GATA]}, random_state=0)
    fasta = tmp_path / "seqs.fa"
    write_fasta(fasta, [(f"s{i}", s) for i, s in enumerate(seqs)])
    return {"pkg": pkg, "fasta": fasta, "model": model, "seqs": seqs, "db": db}


def test_interpret_cli_writes_npz_and_plots(files, tmp_path):
    out = tmp_path / "ism"
    assert (
        main(
            [
                "-q",
                "interpret",
                "--model",
                str(files["pkg"]),
                "--sequences",
                str(files["fasta"]),
                "--method",
                "ism",
                "--target",
                "gata",
                "--out",
                str(out),
                "--top",
                "3",
                "--window",
                "30",
            ]
        )
        == 0
    )
    data = np.load(out / "attributions.npz")
    X = one_hot(files["seqs"], dtype=torch.float32)
    np.testing.assert_array_equal(data["X"], X.numpy().astype(np.int8))
    ref = attribute(files["model"], X, method="ism", target=0, device="cpu")
    np.testing.assert_allclose(data["scores"], ref.scores.numpy(), atol=1e-6)
    np.testing.assert_allclose(data["hypothetical"], ref.hypothetical.numpy(), atol=1e-6)
    np.testing.assert_allclose(data["attributions"], ref.attributions.numpy(), atol=1e-6)
    assert list(data["names"]) == [f"s{i}" for i in range(30)]
    assert str(data["method"]) == "ism" and str(data["target"]) == "0"
    with torch.no_grad():
        y = files["model"](X)[:, 0].numpy()
    np.testing.assert_allclose(data["prediction"], y, rtol=1e-5, atol=1e-6)
    top = pd.read_csv(out / "top.tsv", sep="\t")
    assert top["index"].tolist() == list(np.argsort(-y, kind="stable")[:3])
    assert (top["window_end"] - top["window_start"] == 30).all()
    for stem in top["plot"]:
        assert (out / stem).read_bytes()[:4] == b"\x89PNG"
        assert (out / stem.replace(".attribution.", ".ism.")).exists()


def test_interpret_cli_bed_input_and_methods(files, tmp_path):
    genome = tmp_path / "g.fa"
    chrom = "".join(files["seqs"][:5])
    write_fasta(genome, [("chrT", chrom)])
    bed = tmp_path / "r.bed"
    bed.write_text("chrT\t0\t40\nchrT\t45\t75\nchrT\t100\t140\n")
    out = tmp_path / "sal"
    args = ["-q", "interpret", "--model", str(files["pkg"]), "--sequences", str(bed)]
    args += ["--genome", str(genome), "--method", "saliency", "--out", str(out), "--top", "1"]
    assert main(args) == 0
    data = np.load(out / "attributions.npz")
    assert "hypothetical" not in data.files
    # intervals are re-centred to the package's 40-bp input: the 30-bp one reads chrT:40-80
    expected = one_hot([chrom[0:40], chrom[40:80], chrom[100:140]]).numpy()
    np.testing.assert_array_equal(data["X"], expected)
    assert list(data["names"]) == ["chrT:0-40", "chrT:45-75", "chrT:100-140"]

    out2 = tmp_path / "dls"
    args = ["-q", "interpret", "--model", str(files["pkg"]), "--sequences", str(files["fasta"])]
    args += ["--method", "deepliftshap", "--n-shuffles", "4", "--out", str(out2), "--top", "0"]
    assert main(args) == 0
    data = np.load(out2 / "attributions.npz")
    np.testing.assert_allclose(data["attributions"], data["X"] * data["hypothetical"], atol=1e-6)
    assert not (out2 / "plots").exists()


def test_interpret_cli_errors(files, tmp_path, capsys):
    base = ["interpret", "--model", str(files["pkg"]), "--sequences", str(files["fasta"])]
    assert main(base + ["--target", "gatta", "--out", str(tmp_path / "e")]) == 1
    assert "did you mean gata" in capsys.readouterr().err
    assert main(base + ["--n-steps", "4", "--out", str(tmp_path / "e")]) == 1
    assert "--method ig only" in capsys.readouterr().err
    bed = tmp_path / "x.bed"
    bed.write_text("chrT\t0\t40\n")
    assert (
        main(["interpret", "--model", str(files["pkg"]), "--sequences", str(bed), "--out", "o"])
        == 1
    )
    assert "needs genome=" in capsys.readouterr().err


def test_motifs_filters_cli(files, tmp_path):
    db_path = tmp_path / "db.meme"
    write_meme(db_path, files["db"])
    out = tmp_path / "filters"
    args = ["-q", "motifs", "filters", "--model", str(files["pkg"]), "--sequences"]
    args += [str(files["fasta"]), "--database", str(db_path), "--out", str(out), "--min-sites", "3"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*target motifs.*")
        assert main(args) == 0
    table = pd.read_csv(out / "filters.tsv", sep="\t", keep_default_na=False)
    assert table["filter"].tolist() == ["filter_0", "filter_1", "filter_2"]
    row = table.iloc[0]
    assert row["best_match"] == GATA and float(row["q_value"]) < 0.05
    pwms = read_motifs(out / "filters.meme")
    assert "filter_0" in pwms and pwms["filter_0"].shape == (4, 7)
    assert (out / "logos" / "filter_0.png").read_bytes()[:4] == b"\x89PNG"


def test_motifs_scan_and_compare_cli(files, tmp_path):
    db = files["db"]
    query = {GATA: db[GATA], "MA0058.4 MAX": db["MA0058.4 MAX"]}
    q_path, db_path = tmp_path / "q.meme", tmp_path / "db.meme"
    write_meme(q_path, query)
    write_meme(db_path, db)
    out = tmp_path / "hits.tsv"
    assert (
        main(
            ["-q", "motifs", "scan", "--motifs", str(q_path), "--sequences"]
            + [str(files["fasta"]), "--out", str(out), "--threshold", "1e-3"]
        )
        == 0
    )
    hits = pd.read_csv(out, sep="\t")
    ref = scan(files["seqs"], read_motifs(q_path), threshold=1e-3)
    assert len(hits) == len(ref) > 0
    assert hits["seq"].tolist() == [f"s{i}" for i in ref["seq"]]
    np.testing.assert_allclose(hits["p_value"], ref["p_value"], rtol=1e-5)

    out = tmp_path / "cmp.tsv"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*target motifs.*")
        assert (
            main(
                ["-q", "motifs", "compare", "--query", str(q_path), "--database"]
                + [str(db_path), "--out", str(out), "--n-nearest", "2"]
            )
            == 0
        )
        ref = compare(read_motifs(q_path), read_motifs(db_path), n_nearest=2)
    table = pd.read_csv(out, sep="\t")
    assert table["target"].tolist() == ref["target"].tolist()
    assert table["target"][0] == GATA and table["target"][2] == "MA0058.4 MAX"
    np.testing.assert_allclose(table["q_value"], ref["q_value"], rtol=1e-5)


def test_motifs_discover_cli(files, tmp_path, monkeypatch):
    """The discover command reads an interpret NPZ and writes the result files (modisco replaced by a
    stub returning no pattern; the real discovery is tested in tests/motifs/test_motifs_discover.py)."""
    import modiscolite.tfmodisco

    seen = {}

    def fake(**kw):
        seen.update(kw)
        return None, None

    monkeypatch.setattr(modiscolite.tfmodisco, "TFMoDISco", fake)
    out = tmp_path / "dls"
    args = ["-q", "interpret", "--model", str(files["pkg"]), "--sequences", str(files["fasta"])]
    args += ["--method", "ixg", "--out", str(out), "--top", "0"]
    assert main(args) == 0
    disc = tmp_path / "disc"
    args = ["-q", "motifs", "discover", "--attributions", str(out / "attributions.npz")]
    args += ["--out", str(disc), "--sliding-window-size", "10"]
    assert main(args) == 0
    data = np.load(out / "attributions.npz")
    np.testing.assert_array_equal(seen["one_hot"], data["X"].transpose(0, 2, 1))
    np.testing.assert_array_equal(
        seen["hypothetical_contribs"], data["hypothetical"].transpose(0, 2, 1)
    )
    assert seen["sliding_window_size"] == 10 and seen["trim_to_window_size"] == 20
    assert pd.read_csv(disc / "summary.tsv", sep="\t").empty
    bad = tmp_path / "bad.npz"
    np.savez(bad, foo=np.zeros(3))
    assert main(["motifs", "discover", "--attributions", str(bad), "--out", str(disc)]) == 1
