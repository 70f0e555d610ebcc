"""Attribution maps of the top variants: windows, alignment, ISM deltas, the writer and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep.interpret.api import attribute
from genodeep.io.fasta import Genome
from genodeep.seq.encode import one_hot
from genodeep.variants.attribution import (
    align_to_reference,
    top_variants,
    variant_attributions,
)
from genodeep.workflows.variants import (
    attributions_dir,
    save_variant_attributions,
    score_variants,
)
from toy_models import linear_model, motif_detector

L = 20
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
IDX = {"A": 0, "C": 1, "G": 2, "T": 3}
MOTIF = "TGCATACT"


def _vcf(tmp_path, rows, name="v.vcf"):
    p = tmp_path / name
    p.write_text(HEADER + "".join("\t".join(map(str, r)) + "\t.\t.\t.\n" for r in rows))
    return p


@pytest.fixture
def planted(tmp_path, rng):
    """A genome with one planted motif at 0-based 46..53 and a model that detects exactly that motif."""

    bg = "".join(rng.choice(list("AC"), 100))
    seq = bg[:46] + MOTIF + bg[54:]
    (tmp_path / "m.fa").write_text(f">chr1\n{seq}\n")
    g = Genome(tmp_path / "m.fa", cache_dir=tmp_path / "c")
    model = motif_detector(MOTIF)
    return g, seq, model


def test_align_to_reference_rule():
    alt = np.arange(4 * 10, dtype=np.float32).reshape(4, 10)
    same = align_to_reference(alt, 5, 1, 1)
    assert np.array_equal(same, alt)  # SNV: position by position
    dele = align_to_reference(alt, 5, 3, 1)  # deletion of 2 bases after the anchor at 5
    assert np.array_equal(dele[:, :6], alt[:, :6])
    assert np.all(dele[:, 6:8] == 0)  # deleted bases have no alt counterpart
    assert np.array_equal(dele[:, 8:], alt[:, 6:8])  # right flank shifted back by 2
    ins = align_to_reference(alt, 5, 1, 3)  # insertion of 2 bases
    assert np.array_equal(ins[:, :6], alt[:, :6])
    assert np.array_equal(ins[:, 6:8], alt[:, 8:10])
    assert np.all(ins[:, 8:] == 0)  # counterparts fall outside the alt window


def test_shapes_ranking_and_indel_alignment(tmp_path, rng):
    seq = "".join(rng.choice(list("ACGT"), 200))
    (tmp_path / "g.fa").write_text(f">chr1\n{seq}\n")
    g = Genome(tmp_path / "g.fa", cache_dir=tmp_path / "cache")
    model = linear_model(L, n_tasks=2, seed=4).eval()
    rows = [
        ("chr1", p, f"s{p}", seq[p - 1], "ACGT".replace(seq[p - 1], "")[0]) for p in range(60, 70)
    ]
    rows += [("chr1", 80, "del", seq[79:82], seq[79]), ("chr1", 90, "ins", seq[89], seq[89] + "GT")]
    rows += [("chr1", 100, "sym", seq[99], "<DEL>")]
    table = score_variants(
        model, g, _vcf(tmp_path, rows), length=L, task_names=["a", "b"], both_strands=False
    )
    res = variant_attributions(model, g, table, top=12, flank=5, length=L, both_strands=False)
    n = len(res.table)
    assert n == 12  # the symbolic allele is never picked
    assert res.ref.shape == res.alt.shape == res.delta.shape == res.X_ref.shape == (n, 4, L)
    eff = res.table["max_abs_diff"].to_numpy(float)
    assert np.all(np.diff(eff) <= 0) and res.table["rank"].tolist() == list(range(1, n + 1))
    assert (res.table["attr_task"] == res.table["max_task"]).all()
    # the rebuilt windows are the scoring windows: the model reproduces the scored ref and alt values
    for i, r in res.table.iterrows():
        t = ["a", "b"].index(r["attr_task"])
        with torch.no_grad():
            y = torch.sigmoid(model(torch.from_numpy(np.stack([res.X_ref[i], res.X_alt[i]]))))
        assert float(y[0, t]) == pytest.approx(r[f"{r['attr_task']}.ref"], abs=1e-5)
        assert float(y[1, t]) == pytest.approx(r[f"{r['attr_task']}.alt"], abs=1e-5)
    # indels: delta is the alt map aligned on the reference minus the ref map
    for name in ("del", "ins"):
        i = int(np.flatnonzero(res.table["id"] == name)[0])
        r = res.table.iloc[i]
        aligned = align_to_reference(res.alt[i], L // 2, len(r["ref"]), len(r["alt"]))
        assert np.allclose(res.delta[i], aligned - res.ref[i])
    one = variant_attributions(model, g, table, top=3, task="b", length=L, both_strands=False)
    assert (one.table["attr_task"] == "b").all()
    b = one.table["b.diff"].abs().to_numpy(float)
    assert b[0] == pytest.approx(np.nanmax(table["b.diff"].abs().to_numpy(float)))


def test_planted_motif_ism_delta(tmp_path, planted):
    g, seq, model = planted
    pos0 = 49  # inside the motif (0-based)
    alt_b = "G" if seq[pos0] != "G" else "A"
    rows = [("chr1", pos0 + 1, "hit", seq[pos0], alt_b), ("chr1", 39, "out", seq[38], "G")]
    table = score_variants(
        model, g, _vcf(tmp_path, rows), length=40, kind="regression", both_strands=False
    )
    res = variant_attributions(model, g, table, top=2, method="ism", both_strands=False, length=40)
    assert res.table["id"].tolist() == ["hit", "out"]  # the motif-destroying SNV ranks first
    c = res.center
    assert abs(res.delta[0, :, c].sum()) > 0.1  # non-zero delta at the variant base
    assert np.abs(res.delta[1]).max() < 1e-6  # outside the motif (still in the window): no change
    # independent reference: windows cut from the sequence string, ISM of each, their difference
    ref_win = seq[pos0 - 20 : pos0 + 20]
    alt_win = ref_win[:20] + alt_b + ref_win[21:]
    ism = attribute(model, one_hot([ref_win, alt_win]).float(), method="ism", target=0)
    assert np.allclose(res.ref[0], ism.attributions[0].numpy(), atol=1e-5)
    assert np.allclose(res.delta[0], (ism.attributions[1] - ism.attributions[0]).numpy(), atol=1e-5)
    # the motif's bases lose their contribution in the alt allele
    motif_cols = slice(46 - (pos0 - 20), 54 - (pos0 - 20))
    assert res.ref[0][:, motif_cols].sum() > res.alt[0][:, motif_cols].sum() + 0.5
    # both strands: the average of the forward map and the flipped map of the reverse complement
    both = variant_attributions(model, g, table, top=1, method="ism", both_strands=True, length=40)
    rc = attribute(
        model, torch.flip(one_hot([ref_win]).float(), dims=(1, 2)), method="ism", target=0
    )
    expect = (ism.attributions[0] + torch.flip(rc.attributions[0], dims=(0, 1))) / 2
    assert np.allclose(both.ref[0], expect.numpy(), atol=1e-5)


def test_writer_npz_pngs_atomic(tmp_path, planted):
    g, seq, model = planted
    rows = [("chr1", p + 1, f"v{p}", seq[p], "G" if seq[p] != "G" else "A") for p in (47, 50, 52)]
    table = score_variants(
        model, g, _vcf(tmp_path, rows), length=40, kind="regression", both_strands=False
    )
    res = variant_attributions(model, g, table, top=2, flank=10, length=40)
    out = save_variant_attributions(res, tmp_path / "attr")
    with np.load(out / "attributions.npz") as z:
        assert z["ref"].shape == z["delta"].shape == (2, 4, 40)
        assert np.allclose(z["delta"], res.delta) and int(z["center"]) == 20
        assert list(z["variant"]) == [
            f"chr1:{r.pos}:{r.ref}>{r.alt}" for r in res.table.itertuples()
        ]
    tsv = pd.read_csv(out / "variants.tsv", sep="\t")
    assert tsv["rank"].tolist() == [1, 2]
    for png in tsv["png"]:
        assert (out / png).stat().st_size > 5000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    # a failing write leaves the previous folder untouched and no temp folder
    broken = res.__class__(**{**res.__dict__, "flank": 10_000})
    with pytest.raises(ValueError):
        save_variant_attributions(broken, tmp_path / "attr")
    assert (out / "attributions.npz").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".old-"))]


def test_attributions_dir_names():
    assert attributions_dir("x/scored.tsv.gz").name == "scored_attributions"
    assert attributions_dir("scored.vcf.gz").name == "scored_attributions"
    assert attributions_dir("s.parquet").name == "s_attributions"


def test_bad_arguments(tmp_path, planted):
    g, seq, model = planted
    alt = "A" if seq[47] != "A" else "C"  # a real change: ALT == REF is skipped, not scored
    p = _vcf(tmp_path, [("chr1", 48, "v", seq[47], alt)])
    table = score_variants(model, g, p, length=40, kind="regression")
    with pytest.raises(ValueError, match="top must be a positive integer"):
        variant_attributions(model, g, table, top=0, length=40)
    with pytest.raises(ValueError, match=r"task='tsak_0' is not a task.*did you mean task_0"):
        variant_attributions(model, g, table, task="tsak_0", length=40)
    with pytest.raises(ValueError, match="method"):
        variant_attributions(model, g, table, method="lime", length=40)
    with pytest.raises(ValueError, match="lacks column"):
        top_variants(table.drop(columns=["status"]))
    with pytest.raises(ValueError, match="no scored variant"):
        top_variants(table.assign(status="skipped"))
    with pytest.raises(ValueError, match="flank=30 does not fit in the 40-base window"):
        variant_attributions(model, g, table, flank=30, length=40)
    with pytest.raises(ValueError, match="scored as 'ok'.*genome"):  # table from another genome
        variant_attributions(model, g, table.assign(ref="T" if seq[47] != "T" else "A"), length=40)
    with pytest.raises(ValueError, match="attributions= needs out="):
        score_variants(model, g, p, length=40, attributions=2)
    with pytest.raises(ValueError, match="attribution_flank=50 does not fit"):
        score_variants(
            model, g, p, out=tmp_path / "o.tsv", length=40, attributions=2, attribution_flank=50
        )
    assert not (tmp_path / "o.tsv").exists()


@pytest.fixture
def package(tmp_path, planted):
    from genodeep.zoo import save_package

    g, seq, model = planted
    pkg = save_package(
        model,
        tmp_path / "pkg",
        data_spec={"sequence_length": 40, "task_names": ["motif"], "kind": "regression"},
    )
    return pkg, tmp_path / "m.fa", seq


def test_cli_end_to_end(tmp_path, package, capsys):
    from genodeep.cli.__main__ import main

    pkg, fasta, seq = package
    rows = [("chr1", p + 1, f"v{p}", seq[p], "G" if seq[p] != "G" else "A") for p in range(40, 60)]
    vcf = _vcf(tmp_path, rows)
    out = tmp_path / "res" / "scored.tsv.gz"
    common = [
        "-q",
        "score-variants",
        "--model",
        str(pkg),
        "--genome",
        str(fasta),
        "--vcf",
        str(vcf),
    ]
    code = main([*common, "--out", str(out), "--attributions", "3", "--attribution-flank", "8"])
    assert code == 0
    table = pd.read_csv(out, sep="\t")
    folder = tmp_path / "res" / "scored_attributions"
    tsv = pd.read_csv(folder / "variants.tsv", sep="\t")
    order = table["max_abs_diff"].abs().sort_values(ascending=False, kind="stable").index
    best = table.loc[order[:3], "id"]
    assert tsv["id"].tolist() == best.tolist()  # the 3 largest effects, in order
    assert len(list(folder.glob("*.png"))) == 3
    with np.load(folder / "attributions.npz") as z:
        assert z["delta"].shape == (3, 4, 40) and str(z["method"]) == "ism"
    # bad arguments: clear messages, exit code 1, no output written
    capsys.readouterr()
    bad_out = tmp_path / "bad.tsv"
    assert (
        main([*common, "--out", str(bad_out), "--attributions", "2", "--attribution-task", "motfi"])
        == 1
    )
    err = capsys.readouterr().err
    assert "attribution_task='motfi' is not a task" in err and "did you mean motif" in err
    assert main([*common, "--out", str(bad_out), "--attributions", "-1"]) == 1
    assert "attributions must be a number of variants >= 0" in capsys.readouterr().err
    assert not bad_out.exists()
