"""The spacing experiment (the review's Fig. 2): the claim check, a small run, and its CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from genodeep.cli.__main__ import main
from genodeep.workflows.experiment import spacing_claim, spacing_experiment


def _table(cnn, dilated, kmers):
    rows = [
        {"model": "cnn", "family": "deep", "auroc": cnn},
        {"model": "dilated", "family": "deep", "auroc": dilated},
        {"model": "mlp", "family": "deep", "auroc": 0.99},  # not in the CNN family: never counts
    ]
    rows += [
        {"model": f"b{i}", "family": "k-mer baseline", "auroc": a} for i, a in enumerate(kmers)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("cnn", "dilated", "kmers", "holds", "margin"),
    [
        (0.97, 0.90, [0.55, 0.60], True, 0.37),  # best CNN-family model counts
        (0.90, 0.94, [0.50], False, 0.44),  # below 0.95
        (0.96, 0.50, [0.50, 0.90], False, 0.06),  # margin below 0.1
        (0.95, 0.10, [0.85], True, 0.10),  # both targets met exactly
    ],
)
def test_claim_known_answers(cnn, dilated, kmers, holds, margin):
    claim = spacing_claim(_table(cnn, dilated, kmers))
    assert claim["holds"] is holds
    assert claim["margin"] == pytest.approx(margin)
    assert ("does NOT hold" in claim["message"]) is (not holds)


@pytest.mark.slow
def test_small_spacing_run_separates_cnn_from_kmers(tmp_path):
    table = spacing_experiment(
        n=1200,
        length=80,
        spacing=6,
        models=("cnn",),
        baselines=("logistic",),
        max_epochs=4,
        out_dir=tmp_path,
        random_state=0,
    )
    assert list(table["model"]) == ["cnn", "logistic"]
    assert list(table["family"]) == ["deep", "k-mer baseline"]
    assert table["auroc"].between(0, 1).all() and table["auprc"].between(0, 1).all()
    cnn, kmer = table["auroc"].tolist()
    # same k-mer composition in both classes: the k-mer model is at chance, the CNN is not
    assert abs(kmer - 0.5) < 0.12
    assert cnn > kmer + 0.2
    for name in ("spacing.tsv", "spacing.md", "spacing.png"):
        assert (tmp_path / name).exists()
    saved = pd.read_csv(tmp_path / "spacing.tsv", sep="\t")
    assert saved["auroc"].tolist() == pytest.approx(table["auroc"].tolist(), abs=1e-6)
    assert "Fig. 2 claim" in (tmp_path / "spacing.md").read_text()
    assert table.attrs["settings"]["spacing"] == 6


def test_experiment_cli_and_argument_errors(tmp_path, capsys):
    assert main(["-q", "experiment", "spacing", "--out", str(tmp_path), "--n", "200", "--length", "60",
                 "--models", "mlp", "--baselines", "logistic", "--max-epochs", "1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "mlp" in out and "logistic" in out
    assert (tmp_path / "spacing.tsv").exists()
    with pytest.raises(ValueError, match="choose one of"):
        spacing_experiment(models=("transformer",))
    with pytest.raises(ValueError, match="2 motifs"):
        spacing_experiment(motifs=("MA0529.3",))
