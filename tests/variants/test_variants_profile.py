"""Variant scoring of profile models (BPNet counts, Basenji bins): effects checked against the model run
by hand and scipy's JS distance, indels aligned by genome coordinates, skips, and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from genodeep import InputFileError
from genodeep.io.fasta import Genome
from genodeep.models import build_model
from genodeep.models.spec import ModelSpec
from genodeep.variants.profile import _Setup, _stats, score_profile_variants
from genodeep.workflows.variants import score_variants
from genodeep.zoo import load, save_package

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
L, TRIM = 60, 10  # BPNet: outputs cover the central 40 bases
IDX = {"A": 0, "C": 1, "G": 2, "T": 3}


@pytest.fixture
def seq():
    return "".join(np.random.default_rng(5).choice(list("ACGT"), 300))


@pytest.fixture
def genome(tmp_path, seq):
    (tmp_path / "g.fa").write_text(f">chr1\n{seq}\n")
    return Genome(tmp_path / "g.fa", cache_dir=tmp_path / "cache")


def _vcf(tmp_path, rows, name="v.vcf"):
    p = tmp_path / name
    p.write_text(HEADER + "".join("\t".join(map(str, r)) + "\t.\t.\t.\n" for r in rows))
    return p


def _bpnet_package(tmp_path, *, pairs=True, name="pkg"):
    torch.manual_seed(1)
    model = build_model("bpnet", n_tasks=2, filters=4, n_layers=1, profile_kernel=5, trim=TRIM)
    with torch.no_grad():
        model.head.linear.bias.fill_(3.0)  # totals of ~20 reads: log2fc well away from 0
        model.head.profile.weight.mul_(4.0)  # profiles with shape
    extra = {"output_length": L - 2 * TRIM, "bin_size": 1}
    if pairs:
        extra["strand_pairs"] = [["plus", "minus"]]
    spec = ModelSpec(kind="profile", loss="bpnet", input_length=L, task_names=["plus", "minus"],
                     extra=extra)  # fmt: skip
    return save_package(model, tmp_path / name, data_spec=spec)


def _onehot(window: str) -> np.ndarray:
    x = np.zeros((4, len(window)), dtype=np.float32)
    for i, b in enumerate(window):
        if b in IDX:
            x[IDX[b], i] = 1
    return x


def _labelled_window(seq: str, s0: int, allele: str, ref_len: int, length: int) -> list:
    """The scoring window as (base, label): genome bases labelled ("g", 0-based coordinate), the
    allele's bases ("g", s0 + i) while they stand for a REF base, else ("ins", i)."""
    c = length // 2
    out = []
    for g in range(s0 - c, s0):
        out.append((seq[g] if 0 <= g < len(seq) else "N", ("g", g)))
    for i, b in enumerate(allele):
        out.append((b, ("g", s0 + i) if i < ref_len else ("ins", i)))
    g = s0 + ref_len
    while len(out) < length:
        out.append((seq[g] if g < len(seq) else "N", ("g", g)))
        g += 1
    return out[:length]


def _predict_bpnet(model, windows: list[str], both: bool, perm) -> np.ndarray:
    """Expected counts (N, T, S) in float64, computed here from the raw heads."""

    def run(X):
        with torch.no_grad():
            logits, log_counts = model(X)
        p = torch.softmax(logits.double(), -1).numpy()
        return p * np.expm1(log_counts.double().numpy())[..., None]

    X = torch.tensor(np.stack([_onehot(w) for w in windows]))
    y = run(X)
    if both:  # channels A C G T reversed = complement; positions reversed
        y = (y + run(X.flip(1).flip(2))[:, perm, ::-1]) / 2
    return y


@pytest.mark.parametrize("both", [False, True])
def test_bpnet_effects_match_a_hand_computation(tmp_path, genome, seq, both):
    pkg = load(_bpnet_package(tmp_path))
    s0 = 149  # 0-based first REF base
    alt_b = "ACGT"[(IDX[seq[s0]] + 1) % 4]
    rows = [
        ("chr1", s0 + 1, "snv", seq[s0], alt_b),
        ("chr1", s0 + 1, "del", seq[s0 : s0 + 4], seq[s0]),
        ("chr1", s0 + 1, "ins", seq[s0], seq[s0] + "GGTCA"),
        ("chr1", s0 + 1, "mnv", seq[s0 : s0 + 2], "AA" if seq[s0 : s0 + 2] != "AA" else "CC"),
    ]
    df = score_profile_variants(pkg, genome, _vcf(tmp_path, rows), both_strands=both)
    assert df["status"].tolist() == ["ok"] * 4
    assert df.columns[:8].tolist() == [
        "chrom",
        "pos",
        "id",
        "ref",
        "alt",
        "kind",
        "status",
        "reason",
    ]
    perm = [1, 0]  # plus <-> minus after a reverse complement
    off, S = TRIM, L - 2 * TRIM
    for r in df.itertuples(index=False):
        ref_w = _labelled_window(seq, s0, r.ref, len(r.ref), L)
        alt_w = _labelled_window(seq, s0, r.alt, len(r.ref), L)
        y = _predict_bpnet(
            pkg.model, ["".join(b for b, _ in w) for w in (ref_w, alt_w)], both, perm
        )
        ref_out = {lab: j for j, (_, lab) in enumerate(ref_w[off : off + S])}
        alt_out = {lab: j for j, (_, lab) in enumerate(alt_w[off : off + S])}
        shared = [lab for lab in ref_out if lab in alt_out]  # same genome base in both outputs
        jr = np.array([ref_out[lab] for lab in shared])
        ja = np.array([alt_out[lab] for lab in shared])
        row = df[df["id"] == r.id].iloc[0]
        for t, name in enumerate(["plus", "minus"]):
            ref_p, alt_p = y[0, t], y[1, t]
            assert row[f"{name}.ref_total"] == pytest.approx(ref_p.sum(), rel=1e-5)
            assert row[f"{name}.alt_total"] == pytest.approx(alt_p.sum(), rel=1e-5)
            lfc = np.log2((alt_p.sum() + 1) / (ref_p.sum() + 1))
            assert row[f"{name}.log2fc"] == pytest.approx(lfc, rel=1e-4, abs=1e-6)
            jsd = jensenshannon(ref_p[jr], alt_p[ja], base=2)
            assert row[f"{name}.jsd"] == pytest.approx(jsd, rel=1e-4, abs=1e-6)
            diff = np.abs(alt_p[ja] - ref_p[jr])
            assert row[f"{name}.max_abs_diff"] == pytest.approx(diff.max(), rel=1e-4)
            assert row[f"{name}.max_pos"] == shared[int(diff.argmax())][1] - s0
        assert abs(row["max_abs_log2fc"]) == pytest.approx(
            max(abs(row["plus.log2fc"]), abs(row["minus.log2fc"]))
        )
    assert (df.loc[df["id"] == "snv", "plus.jsd"] > 1e-4).all()  # the model does see the variant


def test_skips_mismatch_and_no_change(tmp_path, genome, seq):
    pkg = load(_bpnet_package(tmp_path))
    wrong = "A" if seq[99] != "A" else "C"
    rows = [
        ("chr1", 100, "wrong", wrong, "T" if wrong != "T" else "G"),
        ("chr1", 120, "same", seq[119], seq[119]),
        ("chr1", 130, "good", seq[129], "A" if seq[129] != "A" else "C"),
    ]
    vcf = _vcf(tmp_path, rows)
    with pytest.raises(InputFileError, match="does not match the genome"):
        score_profile_variants(pkg, genome, vcf)
    df = score_profile_variants(pkg, genome, vcf, on_ref_mismatch="skip")
    assert df["status"].tolist() == ["skipped", "skipped", "ok"]
    assert df["reason"].iloc[0] == "REF does not match the genome"
    assert "ALT equals REF" in df["reason"].iloc[1]
    assert df.loc[:1, "plus.log2fc"].isna().all() and df.loc[:1, "plus.max_pos"].isna().all()
    assert df.loc[:1, "max_task"].tolist() == ["", ""]
    assert np.isfinite(df.loc[2, "plus.log2fc"])
    with pytest.warns(UserWarning, match="line 3: chr1:100"):
        warned = score_profile_variants(pkg, genome, vcf, on_ref_mismatch="warn")
    assert warned["status"].tolist() == ["ref_mismatch", "skipped", "ok"]
    assert np.isfinite(warned.loc[0, "plus.jsd"])  # scored with the genome's bases
    # the same scorer behind score_variants for a profile package
    via_workflow = score_variants(pkg, genome, vcf, on_ref_mismatch="skip")
    pd.testing.assert_frame_equal(via_workflow, df)


def test_a_model_blind_to_the_variant_gives_zero(tmp_path, genome, seq):
    pkg = load(_bpnet_package(tmp_path))
    with torch.no_grad():
        for p in pkg.model.parameters():
            p.zero_()
        pkg.model.head.linear.bias.fill_(2.0)  # same uniform profile and total for every window
    rows = [("chr1", 150, "x", seq[149], "A" if seq[149] != "A" else "C")]
    df = score_profile_variants(pkg, genome, _vcf(tmp_path, rows))
    for name in ("plus", "minus"):
        assert df[f"{name}.log2fc"].iloc[0] == 0.0
        assert df[f"{name}.jsd"].iloc[0] == 0.0
        assert df[f"{name}.max_abs_diff"].iloc[0] == 0.0
        assert df[f"{name}.max_pos"].isna().all()  # no position changed
        assert df[f"{name}.ref_total"].iloc[0] == pytest.approx(np.expm1(2.0), rel=1e-5)


def test_stats_identical_profiles_and_indel_alignment():
    setup = _Setup(20, 4, 12, 1, ("t",), "bpnet", None, np.arange(1))
    rng = np.random.default_rng(0)
    ref = rng.random((3, 1, 12)) * 5
    out = _stats(ref, ref.copy(), np.array([1, 3, 1]), np.array([1, 1, 4]), setup)
    assert np.all(out["log2fc"] == 0)
    assert np.all(out["max_abs_diff"][0] == 0) and np.all(out["jsd"][0] == 0)
    # a 2-base deletion at c=10 (output base 6): ref outputs 6..7 deleted, 8.. matched to alt 6..
    alt = ref.copy()
    alt[1, 0, 7:10] = ref[1, 0, 9:12]
    out = _stats(ref[1:2], alt[1:2], np.array([3]), np.array([1]), setup)
    assert out["jsd"][0, 0] == pytest.approx(0.0, abs=1e-12)
    assert out["max_abs_diff"][0, 0] == pytest.approx(0.0, abs=1e-12)
    assert out["log2fc"][0, 0] != 0  # the totals do change


def test_basenji_bins_exp_link_and_transform(tmp_path, genome, seq):
    torch.manual_seed(2)
    length, b, crop = 64, 4, 1
    model = build_model("basenji", n_tasks=2, filters=4, bin_size=b, n_dilated=1, crop_bins=crop,
                        dropout=0.0)  # fmt: skip
    with torch.no_grad():  # a sharper model: effects well above float32 rounding
        model.local[0].weight.mul_(5.0)
        model.head.out.weight.mul_(3.0)
        model.head.out.bias.fill_(1.0)
    S = length - 2 * crop * b
    spec = ModelSpec(kind="profile", loss="poisson", input_length=length, task_names=["x", "y"],
                     extra={"output_length": S, "bin_size": b, "target_transform": "sqrt"})  # fmt: skip
    assert spec.link == "exp"
    pkg = load(save_package(model, tmp_path / "basenji", data_spec=spec))
    s0 = 139
    rows = [("chr1", s0 + 1, "v", seq[s0], "ACGT"[(IDX[seq[s0]] + 2) % 4])]
    df = score_profile_variants(pkg, genome, _vcf(tmp_path, rows), both_strands=False)
    c = length // 2
    ref_w = seq[s0 - c : s0 - c + length]
    alt_w = ref_w[:c] + rows[0][4] + ref_w[c + 1 :]
    with torch.no_grad():
        raw = pkg.model(torch.tensor(np.stack([_onehot(ref_w), _onehot(alt_w)])))
    y = np.exp(raw.double().numpy()) ** 2  # rates of sqrt-counts -> counts per bin
    for t, name in enumerate(["x", "y"]):
        ref_p, alt_p = y[0, t], y[1, t]
        row = df.iloc[0]
        assert row[f"{name}.log2fc"] == pytest.approx(
            np.log2((alt_p.sum() + 1) / (ref_p.sum() + 1)), rel=1e-4, abs=1e-6
        )
        assert row[f"{name}.jsd"] == pytest.approx(jensenshannon(ref_p, alt_p, base=2), rel=1e-4)
        d = np.abs(alt_p - ref_p) / b  # per base
        assert row[f"{name}.max_abs_diff"] == pytest.approx(d.max(), rel=1e-4)
        assert row[f"{name}.max_pos"] == crop * b + int(d.argmax()) * b - c


def test_bad_geometry_and_arguments_are_refused(tmp_path, genome, seq):
    pkg = load(_bpnet_package(tmp_path))
    vcf = _vcf(tmp_path, [("chr1", 150, "x", seq[149], "A" if seq[149] != "A" else "C")])
    with pytest.raises(ValueError, match="differs from the profile model's input length 60"):
        score_profile_variants(pkg, genome, vcf, length=50)
    spec = pkg.spec
    spec.extra["output_length"] = 30  # the model predicts 40 positions
    with pytest.raises(ValueError, match=r"predicts shape \(2, 40\).*2 track\(s\) x 30"):
        score_profile_variants(pkg.model, genome, vcf, spec=spec)
    with pytest.raises(ValueError, match="not a profile model"):
        score_profile_variants(
            pkg.model, genome, vcf, spec=ModelSpec(kind="regression", input_length=L)
        )
    with pytest.raises(ValueError, match="spec is needed"):
        score_profile_variants(pkg.model, genome, vcf)


def test_cli_writes_tsv_and_annotated_vcf(tmp_path, genome, seq, capsys):
    from genodeep.cli.__main__ import main

    pkg = _bpnet_package(tmp_path)
    rows = [
        ("chr1", p + 1, f"v{p}", seq[p], "G" if seq[p] != "G" else "A") for p in (100, 150, 200)
    ]
    rows.append(("chr1", 251, "del", seq[250:253], seq[250]))
    vcf = _vcf(tmp_path, rows)
    fa = tmp_path / "g.fa"
    common = ["-q", "score-variants", "--model", str(pkg), "--genome", str(fa), "--vcf", str(vcf)]
    out = tmp_path / "res" / "scored.tsv"
    assert main([*common, "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    expect = score_profile_variants(load(pkg), genome, vcf)
    assert table["id"].tolist() == expect["id"].tolist() and (table["status"] == "ok").all()
    for col in ("plus.log2fc", "minus.jsd", "plus.max_abs_diff", "max_abs_log2fc"):
        np.testing.assert_allclose(table[col], expect[col], rtol=1e-5)
    assert table["minus.max_pos"].tolist() == expect["minus.max_pos"].tolist()
    # annotated VCF: per-track log2fc and JSD in INFO
    out_vcf = tmp_path / "scored.vcf"
    assert main([*common, "--out", str(out_vcf), "--one-strand"]) == 0
    text = out_vcf.read_text()
    assert "##INFO=<ID=GD_plus_LOG2FC,Number=A,Type=Float" in text and "ID=GD_minus_JSD" in text
    records = [line for line in text.splitlines() if line.startswith("chr1")]
    one = score_profile_variants(load(pkg), genome, vcf, both_strands=False)
    info = dict(kv.split("=") for kv in records[1].split("\t")[7].split(";"))
    assert info["GD_STATUS"] == "ok"
    assert float(info["GD_plus_LOG2FC"]) == pytest.approx(one["plus.log2fc"].iloc[1], rel=1e-4)
    assert float(info["GD_minus_JSD"]) == pytest.approx(one["minus.jsd"].iloc[1], rel=1e-4)
    # attribution maps are not offered for profile models: a clear error, nothing written
    capsys.readouterr()
    bad = tmp_path / "bad.tsv"
    assert main([*common, "--out", str(bad), "--attributions", "2"]) == 1
    assert "not offered for profile models" in capsys.readouterr().err and not bad.exists()
