"""``genodeep design`` and ``gd.design`` end to end on small packages: the three methods, the oracle check,
the files, and clear refusals."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

import genodeep as gd
from genodeep.cli.__main__ import main
from genodeep.zoo import save_package

L = 60


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("design")
    out = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = gd.build_model("deepbind", n_tasks=2, filters=8, width=7).eval()
        out.append(
            save_package(
                model,
                root / f"m{seed}",
                data_spec={"input_length": L, "task_names": ["a", "b"], "kind": "binary"},
            )
        )
    g = torch.Generator().manual_seed(3)
    seqs = ["".join("ACGT"[i] for i in torch.randint(0, 4, (L,), generator=g)) for _ in range(40)]
    fasta = root / "natural.fa"
    gd.write_fasta(fasta, {f"s{i}": s for i, s in enumerate(seqs)})
    return root, out, fasta


def test_design_api_evolve_with_oracle(packages):
    _, (m0, m1), fasta = packages
    seqs = list(gd.read_fasta(fasta).values())
    res = gd.design(
        m0, seqs[:4], objective=["max:a", "min:b"], oracle=m1, natural=seqs, edits=3,
        forbid=["EcoRI"], gc=(0.2, 0.8),
    )  # fmt: skip
    t = res.table
    assert len(t) == 4 and (t["edits"] <= 3).all() and t["valid"].all()
    assert (t["objective"] >= t["seed_objective"] - 1e-6).all()
    # the table's objective is the objective of the designed sequences themselves
    from genodeep.seqdesign.objective import Objective

    pkg = gd.load(m0)
    obj = Objective([pkg.model], [pkg.spec], ["max:a", "min:b"])
    assert torch.allclose(obj(res.X), torch.tensor(t["objective"].to_numpy()), atol=1e-5)
    o = res.summary["oracle"]
    assert o["natural_n"] == 40 and 0 <= o["designs_above_natural_max"] <= 1
    assert {"oracle_objective", "oracle_a", "oracle_b"} <= set(t.columns)


def test_design_ensemble_reports_disagreement(packages):
    _, (m0, m1), _ = packages
    res = gd.design([m0, m1], n=3, objective="a=0.6", edits=2)
    assert (res.table["objective_sd"] > 0).all()
    assert "a_sd" in res.table


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("evolve", ["--beam", "2"]),
        ("gradient", ["--steps", "20"]),
        ("gan", ["--rounds", "2", "-n", "4"]),
    ],
)
def test_cli_three_methods(packages, tmp_path, method, extra):
    _, (m0, m1), fasta = packages
    out = tmp_path / method
    args = ["-q", "design", "--model", str(m0), "--oracle", str(m1), "--objective", "max:a"]
    args += ["--seeds", str(fasta), "--method", method, "--edits", "3", "--top", "1"]
    args += ["--forbid", "BsaI", "--out", str(out), *extra]
    assert main(args) == 0
    table = pd.read_csv(out / "designs.tsv", sep="\t")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == method and "oracle" in summary
    assert len(gd.read_fasta(out / "designs.fa")) == len(table) > 0
    assert table["valid"].all()
    assert (out / "summary.md").read_text().startswith(f"# Designs ({method})")
    assert list((out / "plots").glob("logo_*.png")) and (out / "plots" / "history.png").exists()


def test_refusals(packages, tmp_path, capsys):
    root, (m0, _), fasta = packages
    with pytest.raises(ValueError, match="de novo"):
        gd.design(m0, n=20, method="gan", fixed=[(0, 5)])
    with pytest.raises(ValueError, match="model reads 60 bp"):
        gd.design(m0, ["ACGT" * 10])
    with pytest.raises(ValueError, match="not a task"):
        gd.design(m0, n=2, objective="max:c")
    with pytest.raises(ValueError, match="not understood"):
        gd.design(m0, n=2, objective="maximise a")
    code = main(["design", "--model", str(m0), "--steps", "5", "--out", str(tmp_path / "x")])
    assert code != 0
    assert "--steps applies to --method gradient only" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_ensemble_keeps_task_names(packages, tmp_path):
    _, (m0, m1), fasta = packages
    out = tmp_path / "ens"
    args = ["-q", "design", "--model", str(m0), "--model", str(m1), "--objective", "max:a"]
    assert (
        main([*args, "--seeds", str(fasta), "--edits", "2", "--top", "1", "--out", str(out)]) == 0
    )
    table = pd.read_csv(out / "designs.tsv", sep="\t")
    assert {"a", "a_sd", "objective_sd"} <= set(table.columns)
    assert (table["objective_sd"] > 0).all()
    assert json.loads((out / "summary.json").read_text())["models"] == 2


def test_disagreement_penalty_moves_designs_where_models_agree(packages, tmp_path):
    _, (m0, m1), fasta = packages
    seeds = list(gd.read_fasta(fasta).values())[:8]
    free = gd.design([m0, m1], seeds, objective="max:a", edits=4)
    held = gd.design([m0, m1], seeds, objective="max:a", edits=4, disagreement=3.0)
    assert held.summary["disagreement_weight"] == 3.0 and free.summary["disagreement_weight"] == 0
    assert held.table["objective_sd"].mean() < free.table["objective_sd"].mean()
    out = tmp_path / "agree"
    args = ["-q", "design", "--model", str(m0), "--model", str(m1), "--objective", "max:a"]
    args += ["--seeds", str(fasta), "--edits", "2", "--top", "1", "--disagreement", "2"]
    assert main([*args, "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["disagreement_weight"] == 2.0
    assert "minus 2 x their SD" in (out / "summary.md").read_text()
