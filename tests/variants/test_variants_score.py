"""Variant scoring: exact windows for SNVs and indels, REF checks, contig names, outputs."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep import InputFileError
from genodeep.io.fasta import Genome
from genodeep.workflows.variants import score_variants
from toy_models import linear_model, motif_detector

L = 20
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
IDX = {"A": 0, "C": 1, "G": 2, "T": 3}


@pytest.fixture
def genome(tmp_path, rng):
    seq = "".join(rng.choice(list("ACGT"), 200))
    (tmp_path / "g.fa").write_text(f">chr1\n{seq}\n>chr2\n{seq[::-1]}\n")
    return Genome(tmp_path / "g.fa", cache_dir=tmp_path / "cache"), seq


def _vcf(tmp_path, lines, name="v.vcf"):
    p = tmp_path / name
    p.write_text(HEADER + "".join("\t".join(map(str, r)) + "\n" for r in lines))
    return p


def _linear_score(model, window: str) -> float:
    w = model.weight.detach().numpy()[0]
    return float(sum(w[IDX[b], i] for i, b in enumerate(window) if b in IDX) + model.bias.item())


def _window(seq: str, start: int) -> str:
    padded = "N" * L + seq + "N" * L
    return padded[start + L : start + 2 * L]


def test_snv_and_indel_windows_exact(tmp_path, genome):
    g, seq = genome
    model = linear_model(L, seed=3).eval()
    c = L // 2
    pos = 60  # 1-based; 0-based start 59
    s0 = pos - 1
    ref_b = seq[s0]
    alt_b = "ACGT"[(IDX[ref_b] + 1) % 4]
    rows = [
        ("1", pos, "snv", ref_b, alt_b, ".", ".", "."),  # '1' harmonised to chr1
        ("chr1", pos, "del", seq[s0 : s0 + 3], seq[s0], ".", ".", "."),
        ("chr1", pos, "ins", seq[s0], seq[s0] + "GGT", ".", ".", "."),
        ("chr1", 5, "edge", seq[4], alt_b if seq[4] != alt_b else ref_b, ".", ".", "."),
    ]
    df = score_variants(
        model, g, _vcf(tmp_path, rows), length=L, kind="regression", both_strands=False
    )
    assert df["status"].tolist() == ["ok"] * 4
    ref_win = _window(seq, s0 - c)
    expect_alt = {
        "snv": ref_win[:c] + alt_b + ref_win[c + 1 :],
        "del": (ref_win[:c] + seq[s0] + seq[s0 + 3 :])[:L],
        "ins": (ref_win[:c] + seq[s0] + "GGT" + seq[s0 + 1 :])[:L],
    }
    for name, alt_win in expect_alt.items():
        row = df[df["id"] == name].iloc[0]
        assert row["task_0.ref"] == pytest.approx(_linear_score(model, ref_win), abs=1e-4)
        assert row["task_0.alt"] == pytest.approx(_linear_score(model, alt_win), abs=1e-4)
    edge = df[df["id"] == "edge"].iloc[0]  # window passes the chromosome start: padded with N
    edge_ref = _window(seq, 4 - c)
    assert edge_ref.startswith("N" * 6)
    assert edge["task_0.ref"] == pytest.approx(_linear_score(model, edge_ref), abs=1e-4)
    assert (df["task_0.diff"] == df["task_0.alt"] - df["task_0.ref"]).all()


def test_binary_columns_and_multiallelic(tmp_path, genome):
    g, seq = genome
    model = linear_model(L, n_tasks=2, seed=1).eval()
    rows = [
        (
            "chr1",
            50,
            "m",
            seq[49],
            "ACGT".replace(seq[49], "")[:2].replace("", ",")[1:-1],
            ".",
            ".",
            ".",
        ),
        ("chr1", 70, "sym", seq[69], "<DEL>", ".", ".", "."),
    ]
    df = score_variants(model, g, _vcf(tmp_path, rows), length=L, task_names=["a", "b"])
    assert df["id"].tolist() == ["m", "m", "sym"]
    assert df["status"].tolist() == ["ok", "ok", "skipped"]
    assert "symbolic" in df["reason"].iloc[2]
    ok = df.iloc[:2]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert np.allclose(
        ok["a.logodds"],
        logit(ok["a.alt"].astype(float)) - logit(ok["a.ref"].astype(float)),
        atol=1e-5,
    )
    assert np.allclose(
        ok["b.logfc"],
        np.log2((ok["b.alt"].astype(float) + 1e-6) / (ok["b.ref"].astype(float) + 1e-6)),
    )
    best = np.abs(ok[["a.diff", "b.diff"]].to_numpy(float)).max(axis=1)
    assert np.allclose(ok["max_abs_diff"].astype(float), best)


def test_both_strands_average(tmp_path, genome):
    g, seq = genome
    model = linear_model(L, seed=2).eval()
    p = _vcf(tmp_path, [("chr1", 80, ".", seq[79], "ACGT".replace(seq[79], "")[0], ".", ".", ".")])
    one = score_variants(model, g, p, length=L, kind="regression", both_strands=False)
    both = score_variants(model, g, p, length=L, kind="regression", both_strands=True)
    rc_model = linear_model(L, seed=2).eval()
    with torch.no_grad():
        rc_model.weight.copy_(torch.flip(model.weight, dims=(1, 2)))
    rc = score_variants(rc_model, g, p, length=L, kind="regression", both_strands=False)
    assert both["task_0.ref"].iloc[0] == pytest.approx(
        (one["task_0.ref"].iloc[0] + rc["task_0.ref"].iloc[0]) / 2, abs=1e-5
    )


def test_ref_mismatch_policies(tmp_path, genome):
    g, seq = genome
    wrong = "ACGT".replace(seq[29], "")[0]
    p = _vcf(tmp_path, [("chr1", 30, "bad", wrong, seq[29], ".", ".", ".")])
    model = linear_model(L).eval()
    with pytest.raises(InputFileError) as err:
        score_variants(model, g, p, length=L)
    msg = str(err.value)
    assert (
        "line 4" in msg and f"REF allele {wrong}" in msg and f"genome, which has {seq[29]}" in msg
    )
    skipped = score_variants(model, g, p, length=L, on_ref_mismatch="skip")
    assert skipped["status"].tolist() == ["skipped"]
    with pytest.warns(UserWarning, match="line 4"):
        warned = score_variants(model, g, p, length=L, on_ref_mismatch="warn")
    assert warned["status"].tolist() == ["ref_mismatch"] and np.isfinite(
        warned["task_0.diff"].iloc[0]
    )


def test_unknown_contig_and_length_mismatch(tmp_path, genome):
    g, seq = genome
    p = _vcf(tmp_path, [("chrX", 30, ".", "A", "C", ".", ".", ".")])
    with pytest.raises(ValueError, match="chrX"):
        score_variants(linear_model(L).eval(), g, p, length=L)
    from genodeep.models import build_model

    model = build_model("basset", n_tasks=1, input_length=600)
    with pytest.raises(ValueError, match="input length 600"):
        score_variants(model, g, p, length=L)


def test_outputs_tsv_vcf_atomic(tmp_path, genome):
    g, seq = genome
    model = linear_model(L, n_tasks=2).eval()
    rows = [
        ("chr1", 40 + i, f"v{i}", seq[39 + i], "ACGT".replace(seq[39 + i], "")[0], ".", ".", "DP=3")
        for i in range(5)
    ]
    p = _vcf(tmp_path, rows)
    table = score_variants(model, g, p, length=L, task_names=["a", "b"])
    tsv = score_variants(
        model, g, p, out=tmp_path / "o.tsv", length=L, task_names=["a", "b"], chunk_size=2
    )
    back = pd.read_csv(tsv, sep="\t")
    assert np.allclose(back["a.diff"], table["a.diff"].astype(float), atol=1e-5)
    out_vcf = score_variants(
        model, g, p, out=tmp_path / "o.vcf.gz", length=L, task_names=["a", "b"]
    )
    with gzip.open(out_vcf, "rt") as fh:
        text = fh.read().splitlines()
    assert text[:2] == HEADER.splitlines()[:2]
    assert any(line.startswith("##INFO=<ID=GD_a,") for line in text)
    data = [line for line in text if not line.startswith("#")]
    assert len(data) == 5 and data[0].split("\t")[7].startswith("DP=3;GD_STATUS=ok;GD_MAXABS=")
    first = dict(kv.split("=") for kv in data[0].split("\t")[7].split(";"))
    assert float(first["GD_b"]) == pytest.approx(float(table["b.diff"].iloc[0]), abs=1e-5)
    # a failing run leaves no output file behind
    bad = _vcf(
        tmp_path,
        rows + [("chr1", 30, "bad", "ACGT".replace(seq[29], "")[0], "A", ".", ".", ".")],
        "bad.vcf",
    )
    with pytest.raises(InputFileError):
        score_variants(model, g, bad, out=tmp_path / "never.tsv", length=L, chunk_size=2)
    assert not (tmp_path / "never.tsv").exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".tmp-")]


def test_planted_motif_variants(tmp_path, rng):
    """A motif detector: SNVs destroying the planted motif lower the score; SNVs outside do nothing."""

    motif = "TGCATACT"
    bg = "".join(
        rng.choice(list("AC"), 100)
    )  # background that cannot contain the motif's Ts/Gs runs
    seq = bg[:46] + motif + bg[54:]
    (tmp_path / "m.fa").write_text(f">chr1\n{seq}\n")
    g = Genome(tmp_path / "m.fa", cache_dir=tmp_path / "c")
    model = motif_detector(motif)
    rows = []
    for pos0 in list(range(46, 54)) + [30, 38, 58, 64]:  # all windows hold the motif
        alt = "G" if seq[pos0] != "G" else "A"
        rows.append(("chr1", pos0 + 1, f"p{pos0}", seq[pos0], alt, ".", ".", "."))
    df = score_variants(
        model, g, _vcf(tmp_path, rows), length=40, kind="regression", both_strands=False
    )
    inside = df[df["pos"].between(47, 54)]["task_0.diff"].astype(float)
    outside = df[~df["pos"].between(47, 54)]["task_0.diff"].astype(float)
    assert (inside < -0.5).all()
    assert np.allclose(outside, 0.0, atol=1e-6)


# --- issue 14: unscorable alleles, too-short windows, output checks before scoring, BCF -------------


def test_ref_n_alt_equal_ref_and_genome_n_are_skipped_not_ok(tmp_path, rng):
    """REF of (or containing) N, ALT equal to REF, ALT with N, and a genome N under the REF allele
    get status 'skipped' with a reason and no numbers; a plain SNV beside them is still ok."""
    seq = "".join(rng.choice(list("ACGT"), 120))
    seq = seq[:59] + "NN" + seq[61:]  # genome N at 1-based 60-61
    (tmp_path / "n.fa").write_text(f">chr1\n{seq}\n")
    g = Genome(tmp_path / "n.fa", cache_dir=tmp_path / "c")
    alt = "ACGT"[(IDX[seq[29]] + 1) % 4]
    rows = [
        ("chr1", 60, "refN_at_genomeN", "N", "A", ".", ".", "."),
        ("chr1", 30, "refN_elsewhere", "N", alt, ".", ".", "."),
        ("chr1", 30, "refNmixed", seq[29] + "N", seq[29], ".", ".", "."),
        ("chr1", 30, "same", seq[29], seq[29], ".", ".", "."),
        ("chr1", 30, "altN", seq[29], "N", ".", ".", "."),
        ("chr1", 61, "genomeN", "A", "C", ".", ".", "."),
        ("chr1", 30, "fine", seq[29], alt, ".", ".", "."),
    ]
    df = score_variants(
        linear_model(L, seed=1).eval(), g, _vcf(tmp_path, rows), length=L, kind="regression"
    )
    by = df.set_index("id")
    assert by.loc["fine", "status"] == "ok" and np.isfinite(by.loc["fine", "task_0.diff"])
    expect = {
        "refN_at_genomeN": "REF is N",
        "refN_elsewhere": "REF is N",
        "refNmixed": "REF is N",
        "same": "ALT equals REF",
        "altN": "ALT contains N",
        "genomeN": "genome has N",
    }
    for vid, reason in expect.items():
        assert by.loc[vid, "status"] == "skipped", vid
        assert reason in by.loc[vid, "reason"], (vid, by.loc[vid, "reason"])
        assert np.isnan(float(by.loc[vid, "task_0.diff"])), vid


def test_length_shorter_than_first_filter_is_refused_up_front(tmp_path, genome):
    from toy_models import tiny_deepbind

    g, _ = genome
    missing = tmp_path / "never_read.vcf"  # the check comes before the VCF is opened
    with pytest.raises(ValueError) as err:
        score_variants(tiny_deepbind().eval(), g, missing, length=4, kind="regression")
    msg = str(err.value)
    assert "length=4" in msg and "--length" in msg and "first filter 6 bases" in msg
    assert "use --length 6 or more" in msg


def test_length_the_model_cannot_take_is_refused_before_scoring(tmp_path, genome):
    """A model that runs only on other lengths (a dense layer sized for 30 bases) fails a probe run
    with a length error, not a matrix-shape traceback in the middle of the scoring."""
    g, seq = genome
    model = torch.nn.Sequential(
        torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.Linear(2 * 28, 1)
    ).eval()
    p = _vcf(tmp_path, [("chr1", 50, ".", seq[49], "ACGT".replace(seq[49], "")[0], ".", ".", ".")])
    with pytest.raises(ValueError, match="length=20 .*does not fit the model.*fails on a 20-base"):
        score_variants(model, g, p, length=L, kind="regression")


def test_parquet_dependency_checked_before_scoring(tmp_path, genome, monkeypatch):
    import sys

    import genodeep.workflows.variants as wv

    g, seq = genome
    p = _vcf(tmp_path, [("chr1", 50, ".", seq[49], "ACGT".replace(seq[49], "")[0], ".", ".", ".")])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)

    def never(*a, **k):
        raise AssertionError("scoring started before the output was checked")

    monkeypatch.setattr(wv, "iter_scores", never)
    with pytest.raises(ImportError, match=r"pyarrow.*pip install 'genodeep\[vcf\]'"):
        score_variants(linear_model(L).eval(), g, p, out=tmp_path / "o.parquet", length=L)
    with pytest.raises(ValueError, match=r"use a \.tsv"):
        score_variants(linear_model(L).eval(), g, p, out=tmp_path / "o.csv", length=L)
    assert not list(tmp_path.glob("o.*"))


def _bcf(tmp_path, text: str):
    cyvcf2 = pytest.importorskip("cyvcf2")
    src = tmp_path / "src.vcf"
    src.write_text(text)
    reader = cyvcf2.VCF(str(src))
    out = tmp_path / "v.bcf"
    writer = cyvcf2.Writer(str(out), reader, mode="wb")
    for rec in reader:
        writer.write_record(rec)
    writer.close()
    reader.close()
    return out


def test_bcf_input_annotated_vcf_refused_and_warnings_name_the_record(tmp_path, genome):
    g, seq = genome
    header = HEADER.replace("##contig=<ID=1>", "##contig=<ID=chr1,length=200>")
    wrong = "ACGT".replace(seq[29], "")[0]
    bcf = _bcf(tmp_path, header + f"chr1\t30\tbad\t{wrong}\t{seq[29]}\t.\t.\t.\n")
    model = linear_model(L).eval()
    with pytest.raises(ValueError, match=r"BCF.*\.tsv\.gz or \.parquet.*bcftools view"):
        score_variants(model, g, bcf, out=tmp_path / "o.vcf.gz", length=L)
    assert not (tmp_path / "o.vcf.gz").exists()
    with pytest.warns(UserWarning) as rec:
        df = score_variants(model, g, bcf, length=L, on_ref_mismatch="warn")
    msgs = [str(w.message) for w in rec]
    assert any("record chr1:30" in m for m in msgs) and not any("line None" in m for m in msgs)
    assert df["status"].tolist() == ["ref_mismatch"]


def test_score_variants_takes_a_package_path(tmp_path):
    """gd.score_variants('runs/x', ...) loads the path like every other entry point."""
    import genodeep as gd
    from genodeep.models import build_model
    from genodeep.zoo import save_package

    torch.manual_seed(0)
    model = build_model("deepbind", n_tasks=1, filters=3, width=5, hidden=0)
    pkg = save_package(model, tmp_path / "pkg", data_spec={"task_names": ["t"], "input_length": 20})
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), size=200))
    fa = tmp_path / "g.fa"
    fa.write_text(f">chr1\n{seq}\n")
    vcf = tmp_path / "v.vcf"
    alt = "A" if seq[99] != "A" else "C"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t100\t.\t{seq[99]}\t{alt}\t.\t.\t.\n"
    )
    by_path = gd.score_variants(str(pkg), str(fa), vcf)
    by_object = gd.score_variants(gd.load(pkg), str(fa), vcf)
    assert by_path["status"].tolist() == ["ok"]
    np.testing.assert_allclose(by_path["t.diff"], by_object["t.diff"])
