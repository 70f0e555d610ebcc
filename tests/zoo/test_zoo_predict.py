"""Zoo models run end to end (FASTA, BED + genome); run folders load and add; info shows the card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import genodeep
from genodeep import InputFileError
from genodeep.cli.__main__ import main
from genodeep.models import build_model
from genodeep.seq import one_hot
from genodeep.workflows.predict import predict_file
from genodeep.zoo import add, info, load, save_package

L = 30
SPEC = {"sequence_length": L, "task_names": ["ctcf", "suhw"], "kind": "binary"}


def _model():
    torch.manual_seed(2)
    return build_model("deepbind", n_tasks=2, filters=8, width=5, hidden=4).eval()


def _random_seq(rng, n):
    return "".join(rng.choice(list("ACGT"), n))


def _expected(model, seqs):
    with torch.no_grad():
        return torch.sigmoid(model(one_hot(seqs).float())).numpy()


@pytest.fixture
def zoo_root(tmp_path):
    pkg = save_package(
        _model(),
        tmp_path / "pkg",
        data_spec=SPEC,
        metadata={"description": "toy insulator model", "metrics": {"auroc": 0.875}},
    )
    root = tmp_path / "zoo"
    add(pkg, name="toy", root=root)
    return root


def test_predict_sequences_fasta(tmp_path, zoo_root, rng):
    seqs = [_random_seq(rng, L) for _ in range(5)]
    fasta = tmp_path / "seqs.fa"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    out = tmp_path / "preds.tsv"
    root = ["zoo", "--root", str(zoo_root)]
    assert main(["-q", *root, "predict", "toy", "--sequences", str(fasta), "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert table.columns.tolist() == ["id", "ctcf", "suhw"]
    assert table["id"].tolist() == [f"s{i}" for i in range(5)]
    np.testing.assert_allclose(
        table[["ctcf", "suhw"]].to_numpy(), _expected(_model(), seqs), atol=1e-5
    )
    # the old spelling keeps working
    assert main(["-q", *root, "predict", "toy", "--fasta", str(fasta), "--out", str(out)]) == 0


def test_predict_bed_genome(tmp_path, zoo_root, rng):
    chroms = {"chrA": _random_seq(rng, 200), "chrB": _random_seq(rng, 150)}
    genome = tmp_path / "genome.fa"
    genome.write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    intervals = [("chrA", 10, 10 + L), ("chrA", 120, 120 + L), ("chrB", 50, 50 + L)]
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in intervals))
    out = tmp_path / "preds.tsv"
    argv = ["-q", "zoo", "--root", str(zoo_root), "predict", "toy", "--bed", str(bed)]
    assert main([*argv, "--genome", str(genome), "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert table[["chrom", "start", "end"]].values.tolist() == [list(i) for i in intervals]
    seqs = [chroms[c][s:e] for c, s, e in intervals]
    np.testing.assert_allclose(
        table[["ctcf", "suhw"]].to_numpy(), _expected(_model(), seqs), atol=1e-5
    )
    assert main([*argv, "--out", str(out)]) == 1  # --bed without --genome


def test_predict_refuses_altered_model(tmp_path, zoo_root):
    (zoo_root / "toy" / "data_spec.json").write_text('{"kind": "regression"}')
    fasta = tmp_path / "s.fa"
    fasta.write_text(">s\n" + "A" * L + "\n")
    with pytest.raises(InputFileError, match="sha256"):
        predict_file("toy", fasta=fasta, zoo_root=zoo_root)


def test_info_shows_spec_metrics_checksums(zoo_root, capsys):
    assert main(["zoo", "--root", str(zoo_root), "info", "toy"]) == 0
    text = capsys.readouterr().out
    assert "task_names: `['ctcf', 'suhw']`" in text and "input_length: `30`" in text
    assert "auroc: 0.875" in text
    sums = (zoo_root / "toy" / "checksums.sha256").read_text().split()
    assert f"- weights.safetensors: `{sums[sums.index('weights.safetensors') - 1]}`" in text
    assert text == info("toy", root=zoo_root) + "\n"


def _run_folder(tmp_path):
    """The layout `genodeep train` writes: config, metrics, ... and the package in model/."""
    run = tmp_path / "runs" / "insulators"
    save_package(_model(), run / "model", data_spec=SPEC)
    (run / "config.yaml").write_text("model: {name: deepbind}\n")
    (run / "metrics.tsv").write_text("model\ttask\tauroc\n")
    return run


def test_run_folder_loads_and_adds(tmp_path):
    run = _run_folder(tmp_path)
    x = torch.rand(2, 4, L)
    assert torch.equal(genodeep.load(run).model(x), _model()(x))
    assert load(run).path == run / "model"
    root = tmp_path / "zoo"
    assert add(run, root=root) == "insulators"
    assert add(run / "model", root=root, name="again") == "again"
    assert main(["zoo", "--root", str(root), "add", str(run), "--name", "cli"]) == 0
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["again", "cli", "insulators"]


def test_folder_without_package_names_what_was_looked_for(tmp_path, capsys):
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    with pytest.raises(InputFileError) as err:
        genodeep.load(empty)
    assert "checksums.sha256" in str(err.value) and "model/" in str(err.value)
    assert str(empty) in str(err.value)
    assert main(["zoo", "--root", str(tmp_path / "zoo"), "add", str(empty)]) == 1
    assert "model/" in capsys.readouterr().err
