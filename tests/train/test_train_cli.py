"""``genodeep train / evaluate / predict`` end to end on a tiny genome, and the pieces behind them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from genodeep._validate import InputFileError
from genodeep.cli.__main__ import main
from genodeep.data.sources import load_fasta_data, load_genome_data
from genodeep.io.interval_bigwig import interval_spans
from genodeep.workflows.predict import predict_file
from genodeep.workflows.tables import markdown_table, summary_table
from genodeep.workflows.train import save_model
from genodeep.zoo import load as load_model

MOTIF = "TGCATACTGA"


def _genome(tmp_path: Path, rng) -> tuple[Path, Path]:
    """Two random chromosomes; MOTIF planted in every 'peak' (BED written beside)."""
    sizes = {"chrA": 6000, "chrB": 2400}
    seqs, peaks = {}, []
    for chrom, size in sizes.items():
        s = list(rng.choice(list("ACGT"), size=size))
        for start in range(150, size - 100, 400):
            s[start : start + len(MOTIF)] = MOTIF
            peaks.append((chrom, start - 20, start + 30))
        seqs[chrom] = "".join(s)
    fa = tmp_path / "genome.fa"
    fa.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    bed = tmp_path / "peaks.bed"
    bed.write_text("track name=test\n" + "".join(f"{c}\t{s}\t{e}\n" for c, s, e in peaks))
    return fa, bed


def _config(tmp_path: Path, rng) -> Path:
    fa, bed = _genome(tmp_path, rng)
    cfg = {
        "description": "tiny end-to-end test",
        "data": {
            "kind": "genome",
            "genome": fa.name,
            "beds": {"site": bed.name},
            "width": 100,
            "stride": 50,
            "min_overlap": 0.5,
            "valid": "chrA:4500-6000",
            "test": "chrB",
        },
        "model": {"name": "deepbind", "filters": 4, "width": 10, "hidden": 0},
        "training": {"max_epochs": 5, "batch_size": 32, "lr": 0.02, "random_state": 0},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_train_evaluate_predict_through_the_cli(tmp_path, rng):
    pytest.importorskip("pyBigWig")
    import pyBigWig

    cfg = _config(tmp_path, rng)
    run = tmp_path / "run"
    assert main(["-q", "train", str(cfg), "--out", str(run), "--baselines", "--max-epochs", "2",
                 "--set", "baselines.models=[logistic]", "--set", "baselines.k=3"]) == 0  # fmt: skip
    for name in ("config.yaml", "metrics.tsv", "metrics.md", "predictions.tsv", "predictions.npz",
                 "history.tsv", "model/weights.safetensors", "model/config.json", "plots/roc.png",
                 "plots/pr.png", "plots/training_curves.png"):  # fmt: skip
        assert (run / name).exists(), name
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["training"]["max_epochs"] == 2  # the flag overrode the config's 5
    assert resolved["model"]["n_tasks"] == 1 and resolved["training"]["loss"] == "bce"
    assert resolved["data"]["genome"] == str((tmp_path / "genome.fa").resolve())
    metrics = pd.read_csv(run / "metrics.tsv", sep="\t")
    assert list(dict.fromkeys(metrics["model"])) == ["deepbind", "logistic"]
    history = pd.read_csv(run / "history.tsv", sep="\t")
    assert len(history) == 2

    # evaluate re-scores the test split from the saved model: the same numbers as at training time
    assert main(["-q", "evaluate", "--run", str(run)]) == 0
    again = pd.read_csv(run / "eval-test" / "metrics.tsv", sep="\t")
    deep = metrics[metrics["model"] == "deepbind"].reset_index(drop=True)
    np.testing.assert_allclose(
        again[["auroc", "auprc"]].to_numpy(), deep[["auroc", "auprc"]].to_numpy(), atol=1e-6
    )

    # predict from FASTA: the test windows' sequences give the predictions stored by train
    preds = pd.read_csv(run / "predictions.tsv", sep="\t")
    from genodeep.io import Genome

    g = Genome(tmp_path / "genome.fa")
    some = preds.iloc[::3].reset_index(drop=True)
    fasta = tmp_path / "windows.fa"
    fasta.write_text(
        "".join(f">w{i}\n{g.fetch(r.chrom, r.start, r.end)}\n" for i, r in some.iterrows())
    )
    out_tsv = tmp_path / "p.tsv"
    assert (
        main(["-q", "predict", "--model", str(run), "--fasta", str(fasta), "--out", str(out_tsv)])
        == 0
    )
    got = pd.read_csv(out_tsv, sep="\t")
    assert list(got.columns) == ["id", "site"]
    np.testing.assert_allclose(got["site"], some["deepbind:site"], atol=1e-5)

    # predict from BED + genome, to TSV, NPZ and bigWig: one value per interval span
    bed = tmp_path / "q.bed"
    rows = preds.iloc[::2].reset_index(drop=True)  # every other window: adjacent, non-overlapping
    bed.write_text("".join(f"{r.chrom}\t{r.start}\t{r.end}\n" for r in rows.itertuples()))
    assert main(["-q", "predict", "--model", str(run / "model"), "--bed", str(bed), "--genome",
                 str(tmp_path / "genome.fa"), "--out", str(tmp_path / "q.bw")]) == 0  # fmt: skip
    assert main(["-q", "predict", "--model", str(run), "--bed", str(bed), "--genome",
                 str(tmp_path / "genome.fa"), "--out", str(tmp_path / "q.npz")]) == 0  # fmt: skip
    npz = np.load(tmp_path / "q.npz")
    np.testing.assert_allclose(npz["y_hat"][:, 0], rows["deepbind:site"], atol=1e-5)
    bw = pyBigWig.open(str(tmp_path / "q.bw"))
    try:
        for chrom, start, end, want in zip(
            rows["chrom"], rows["start"], rows["end"], rows["deepbind:site"]
        ):
            (value,) = bw.stats(chrom, int(start), int(end), type="mean")
            assert value == pytest.approx(want, abs=1e-5)
    finally:
        bw.close()


def test_run_folders_are_not_overwritten_and_resume_keeps_settings(tmp_path, rng, capsys):
    """A second start in a run folder is refused; --resume refuses changed settings, so the config and
    the package never record a learning rate the training did not use."""
    cfg = _config(tmp_path, rng)
    run = tmp_path / "run"
    base = ["-q", "train", str(cfg), "--out", str(run), "--max-epochs", "1"]
    assert main(base) == 0
    capsys.readouterr()
    assert main(base) == 1  # no flag: the finished run is kept
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert main([*base, "--resume", "--set", "training.lr=0.5"]) == 1
    err = capsys.readouterr().err
    assert "training.lr: 0.02 in the run, 0.5 now" in err
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["lr"] == 0.02
    # more epochs on the same settings: allowed
    assert main(["-q", "train", str(cfg), "--out", str(run), "--max-epochs", "2", "--resume"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["max_epochs"] == 2
    # a deliberate fresh start replaces the run
    assert main([*base, "--overwrite", "--set", "training.lr=0.5"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["lr"] == 0.5


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "none.yaml")]) == 1
    assert "config file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {"data": {"kind": "simulate", "n": 10, "length": 30}, "model": {"name": "cnn"}}
        )
    )
    assert main(["train", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: model.name" in err and "deepbind" in err
    assert main(["predict", "--model", str(tmp_path), "--bed", "x.bed", "--out", "o.tsv"]) == 1
    assert "needs genome" in capsys.readouterr().err


def test_train_flags_map_to_config_overrides():
    import argparse

    from genodeep.cli import _train

    p = argparse.ArgumentParser()
    _train.add_arguments(p)
    args = p.parse_args(["c.yaml", "--devices", "2", "--num-nodes", "3", "--strategy", "ddp", "--max-epochs", "7",
                         "--set", "training.lr=0.5", "--set", "data.width=64"])  # fmt: skip
    assert _train.overrides_from_args(args) == {
        "training.max_epochs": 7,
        "training.devices": 2,
        "training.num_nodes": 3,
        "training.strategy": "ddp",
        "training.lr": 0.5,
        "data.width": 64,
    }
    assert (
        _train.overrides_from_args(p.parse_args(["c.yaml", "--devices", "auto"]))[
            "training.devices"
        ]
        == "auto"
    )


def test_genome_loader_splits_by_region_and_subsamples_negatives(tmp_path, rng):
    fa, bed = _genome(tmp_path, rng)
    kw = dict(beds={"site": str(bed)}, width=100, stride=50, valid="chrA:4500-6000", test="chrB")
    full = load_genome_data(fa, **kw)
    assert full.task_names == ["site"] and full.kind == "binary" and full.input_length == 100
    assert set(full.test.ids["chrom"]) == {"chrB"}
    v = full.valid.ids
    assert (v["chrom"] == "chrA").all() and (v["start"] >= 4500).all() and (v["end"] <= 6000).all()
    t = full.train.ids
    assert ((t["chrom"] == "chrA") & (t["end"] <= 4500)).all()
    # X rows are the windows' sequences
    from genodeep.io import Genome
    from genodeep.seq import one_hot

    g = Genome(fa)
    r = full.test.ids.iloc[3]
    np.testing.assert_array_equal(
        full.test.X[3], one_hot(g.fetch(r.chrom, int(r.start), int(r.end)))
    )
    sub = load_genome_data(fa, **kw, train_negatives=0.25, random_state=1)
    pos = lambda s: int(np.nansum(s.y))  # noqa: E731
    assert pos(sub.train) == pos(full.train)  # every positive window kept
    n_neg_full = len(full.train) - pos(full.train)
    n_neg_sub = len(sub.train) - pos(sub.train)
    assert 0.1 * n_neg_full < n_neg_sub < 0.4 * n_neg_full
    assert len(sub.test) == len(full.test)  # held-out sets are never subsampled
    with pytest.raises(ValueError, match="exactly one of beds"):
        load_genome_data(fa, width=100, test="chrB")


def test_genome_loader_checks_beds_against_the_genome(tmp_path, rng, capsys):
    """Peaks on contigs the genome lacks or past a chromosome end are never dropped silently."""
    fa, bed = _genome(tmp_path, rng)
    kw = dict(width=100, stride=50, valid="chrA:4500-6000", test="chrB")
    # every peak on a contig the genome lacks: an error naming the file and both sets of names
    elsewhere = tmp_path / "elsewhere.bed"
    elsewhere.write_text("chr2L\t100\t150\nchr3R\t500\t550\n")
    with pytest.raises(InputFileError, match="none of the records") as err:
        load_genome_data(fa, beds={"site": str(elsewhere)}, **kw)
    assert "elsewhere.bed" in str(err.value) and "chrA" in str(err.value)
    # some off the genome: dropped with a count; 'A' is harmonised to 'chrA'
    mixed = tmp_path / "mixed.bed"
    mixed.write_text(bed.read_text() + "chrZ\t10\t60\nA\t150\t200\n")
    data = load_genome_data(fa, beds={"site": str(mixed)}, **kw)
    assert "dropped 1 of" in capsys.readouterr().err
    ref = load_genome_data(fa, beds={"site": str(bed)}, **kw)
    assert np.nansum(data.train.y) == np.nansum(ref.train.y)
    # past the end of a chromosome: an error naming the line
    past = tmp_path / "past.bed"
    past.write_text("chrB\t2300\t2500\n")
    with pytest.raises(InputFileError, match="past the chromosome end") as err:
        load_genome_data(fa, beds={"site": str(past)}, **kw)
    assert "past.bed" in str(err.value) and "line 1" in str(err.value)


def test_fasta_loader_reads_header_labels_and_splits(tmp_path, rng):
    seqs = ["".join(rng.choice(list("ACGT"), size=30)) for _ in range(50)]
    labels = rng.random((50, 2)) < 0.5
    fa = tmp_path / "s.fa"
    fa.write_text(
        "".join(
            f">s{i} labels={int(a)},{int(b)}\n{s}\n"
            for i, (s, (a, b)) in enumerate(zip(seqs, labels))
        )
    )
    d = load_fasta_data(fa, valid_fraction=0.2, test_fraction=0.2, random_state=0)
    assert d.kind == "binary" and d.input_length == 30 and len(d.task_names) == 2
    assert len(d.train) + len(d.valid) + len(d.test) == 50
    assert len(d.test) == 10 and len(d.valid) == 10
    names = pd.concat([d.train.ids, d.valid.ids, d.test.ids])["name"]
    assert sorted(names) == sorted(f"s{i}" for i in range(50))
    i = int(d.test.ids["name"].iloc[0][1:])
    np.testing.assert_array_equal(d.test.y[0], labels[i].astype(np.float32))
    # the same labels from a table (shuffled rows, named columns; one missing label)
    plain = tmp_path / "plain.fa"
    plain.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    table = pd.DataFrame(
        {
            "name": [f"s{i}" for i in range(50)],
            "open": labels[:, 0] * 1.0,
            "bound": labels[:, 1] * 1.0,
        }
    )
    table.loc[7, "bound"] = np.nan
    table.sample(frac=1, random_state=0).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False, na_rep="NA"
    )
    t = load_fasta_data(
        plain, labels=tmp_path / "labels.tsv", valid_fraction=0.2, test_fraction=0.2, random_state=0
    )
    assert t.task_names == ["open", "bound"]
    np.testing.assert_array_equal(t.test.y, d.test.y)
    all_names = pd.concat([t.train.ids, t.valid.ids, t.test.ids])["name"].tolist()
    all_y = np.concatenate([t.train.y, t.valid.y, t.test.y])
    assert np.isnan(all_y[all_names.index("s7"), 1])


def test_save_and_load_model_round_trip(tmp_path):
    from genodeep.models import build_model

    torch.manual_seed(0)
    model = build_model("deepbind", n_tasks=2, filters=3, width=5, hidden=0)
    path = save_model(
        model,
        tmp_path / "m",
        data_spec={"task_names": ["a", "b"], "kind": "binary", "sequence_length": 20},
    )
    pkg = load_model(tmp_path / "m")
    X = torch.randint(0, 2, (4, 4, 20)).float()
    with torch.no_grad():
        np.testing.assert_allclose(pkg.model(X).numpy(), model.eval()(X).numpy(), atol=1e-6)
    assert pkg.data_spec["task_names"] == ["a", "b"]
    assert (path / "weights.safetensors").exists() and (path / "config.json").exists()
    with pytest.raises(InputFileError, match="not a genodeep model package"):
        load_model(tmp_path)


def test_predict_file_needs_one_input(tmp_path):
    from genodeep.models import build_model

    model = build_model("deepbind", n_tasks=1, filters=2, width=3, hidden=0)
    with pytest.raises(ValueError, match="exactly one input"):
        predict_file(model)
    with pytest.raises(ValueError, match="needs genome"):
        predict_file(model, bed="x.bed")
    fa = tmp_path / "a.fa"
    fa.write_text(">a\nACGTACGTAA\n>b\nACGTACGTAC\n")
    with pytest.raises(ValueError, match=r"\.tsv, \.npz or \.bw"):
        predict_file(model, fasta=fa, out=tmp_path / "o.csv")
    with pytest.raises(ValueError, match="needs genomic intervals"):
        predict_file(model, fasta=fa, out=tmp_path / "o.bw")
    table = predict_file(model, fasta=fa)
    with torch.no_grad():
        from genodeep.seq import one_hot

        ref = model.eval()(one_hot(["ACGTACGTAA", "ACGTACGTAC"]).float())[:, 0].numpy()
    np.testing.assert_allclose(table["task_0"], ref, atol=1e-6)  # a bare module gives raw outputs


def test_interval_spans_cut_overlaps_at_the_midpoint_between_centres():
    spans = interval_spans(["c", "c", "c", "d", "c"], [0, 50, 200, 0, 50], [100, 150, 300, 10, 150])
    # c: [0,100) and [50,150) overlap -> boundary between centres 50 and 100 = 75; the duplicate
    # [50,150) (same centre) takes the second half of their common span
    c = spans[spans["chrom"] == "c"]
    assert c[["start", "end", "row"]].values.tolist() == [
        [0, 75, 0],
        [75, 100, 1],
        [100, 150, 4],
        [200, 300, 2],
    ]
    assert spans[spans["chrom"] == "d"][["start", "end"]].values.tolist() == [[0, 10]]
    assert (spans["end"] > spans["start"]).all()


def test_markdown_and_summary_tables():
    df = pd.DataFrame(
        {
            "model": ["m", "m", "b", "b"],
            "task": ["t1", "mean", "t1", "mean"],
            "auroc": [0.9, 0.9, 0.6, 0.6],
            "n": [10, 10, 10, 10],
            "note": ["", "macro", "", "macro"],
        }
    )
    s = summary_table(df)
    assert s.values.tolist() == [["m", 0.9], ["b", 0.6]]
    md = markdown_table(s)
    assert md.splitlines()[0] == "| model | auroc |" and "| m | 0.900 |" in md


# ---- FASTA + labels as a first-class input (issue 15) ---------------------------------------------


def test_train_help_lists_every_fasta_key():
    from genodeep.cli._train import EPILOG
    from genodeep.data.sources import loader_parameters

    lines = EPILOG.splitlines()
    for key in loader_parameters("fasta")[0]:
        assert any(line.split()[:1] == [key] for line in lines), key
    assert "examples/fasta_labels.yaml" in EPILOG and "label=1" in EPILOG
    assert "positional" in EPILOG


def test_predict_fasta_writes_id_and_one_column_per_task(tmp_path):
    from genodeep.models import build_model
    from genodeep.seq import one_hot

    torch.manual_seed(0)
    model = build_model("deepbind", n_tasks=2, filters=3, width=5, hidden=0)
    pkg = save_model(
        model,
        tmp_path / "m",
        data_spec={"task_names": ["open", "bound"], "kind": "binary", "input_length": 12},
    )
    seqs = ["ACGTACGTACGT", "TTTTACGTACGA", "GGGCACGTACGT"]
    fa = tmp_path / "q.fa"
    fa.write_text("".join(f">q{i} some words\n{s}\n" for i, s in enumerate(seqs)))
    out = tmp_path / "p.tsv"
    assert main(["-q", "predict", "--model", str(pkg), "--fasta", str(fa), "--out", str(out)]) == 0
    got = pd.read_csv(out, sep="\t")
    assert list(got.columns) == ["id", "open", "bound"]
    assert got["id"].tolist() == ["q0", "q1", "q2"]
    with torch.no_grad():
        ref = torch.sigmoid(model.eval()(one_hot(seqs).float())).numpy()
    np.testing.assert_allclose(got[["open", "bound"]].to_numpy(), ref, atol=1e-5)
    assert main(["-q", "predict", "--model", str(pkg), "--fasta", str(fa), "--out",
                 str(tmp_path / "p.npz")]) == 0  # fmt: skip
    arrays = np.load(tmp_path / "p.npz")
    assert arrays["id"].tolist() == ["q0", "q1", "q2"]
    # a task named like the identifier column keeps both
    pkg2 = save_model(
        model, tmp_path / "m2", data_spec={"task_names": ["id", "x"], "kind": "binary"}
    )
    table = predict_file(pkg2, fasta=fa)
    assert list(table.columns) == ["id", "score:id", "x"] and table["id"].tolist()[0] == "q0"


@pytest.mark.slow
def test_fasta_labels_example_trains_and_predicts(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    run = tmp_path / "run"
    assert main(["-q", "train", str(repo / "examples" / "fasta_labels.yaml"), "--out", str(run),
                 "--baselines", "--max-epochs", "3"]) == 0  # fmt: skip
    metrics = pd.read_csv(run / "metrics.tsv", sep="\t")
    assert list(dict.fromkeys(metrics["model"])) == [
        "basset",
        "logistic",
        "gradient_boosting",
        "positional",
    ]
    mean = metrics[metrics["task"] == "donor"].set_index("model")
    # the donor signal is positional: the one-hot baseline sees it, 4-mer counts much less
    assert mean.loc["positional", "auroc"] > 0.95 > 0.85 > mean.loc["logistic", "auroc"]
    preds = pd.read_csv(run / "predictions.tsv", sep="\t")
    assert len(preds) == 499 and preds["name"].iloc[0].startswith("chr2R:78")
    out = tmp_path / "p.tsv"
    test_fa = repo / "examples" / "data" / "splice_donors_chr2R_7.8-8.0M.fa.gz"
    assert (
        main(["-q", "predict", "--model", str(run), "--fasta", str(test_fa), "--out", str(out)])
        == 0
    )
    got = pd.read_csv(out, sep="\t")
    assert list(got.columns) == ["id", "donor"]
    assert got["id"].tolist() == preds["name"].tolist()
    np.testing.assert_allclose(got["donor"], preds["basset:donor"], atol=1e-5)
