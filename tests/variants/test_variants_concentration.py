"""Concentration of SNV effects on motif bases: exact fractions, shift p-values, a planted motif."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genodeep.io.fasta import Genome
from genodeep.variants.concentration import (
    effect_concentration,
    save_effect_concentration_plot,
    window_motif_hits,
)
from genodeep.workflows.variants import score_variants
from toy_models import linear_model, motif_detector

IDX = {"A": 0, "C": 1, "G": 2, "T": 3}
MOTIF = "TGCATACT"
CORE = 60


def _table(effects: dict[tuple[str, int], float]) -> pd.DataFrame:
    rows = [
        {"chrom": c, "pos": p, "ref": "A", "alt": "C", "status": "ok", "max_abs_diff": e}
        for (c, p), e in effects.items()
    ]
    return pd.DataFrame(rows)


def test_fractions_by_hand():
    # one window of 10 bases (pos 101-110), effect 1 everywhere but 6 on bases 103-104
    eff = {("chr1", p): 1.0 for p in range(101, 111)}
    eff[("chr1", 103)] = eff[("chr1", 104)] = 6.0
    table = _table(eff)
    table = pd.concat([table, table.assign(alt="G")], ignore_index=True)  # 2 SNVs per base
    hits = pd.DataFrame({"chrom": ["chr1"], "start": [102], "end": [104]})  # 0-based: pos 103-104
    res = effect_concentration(table, hits, n_permutations=2000)
    assert res.n_windows == 1 and res.n_bases == 10 and res.n_variants == 20
    assert res.fraction_bases == pytest.approx(0.2)
    assert res.fraction_effect == pytest.approx(24 / 40)
    assert res.enrichment == pytest.approx(3.0)
    # the mean over all 10 rotations of the mask is the expected fraction (0.2 of the window's effect)
    assert res.expected_fraction == pytest.approx(0.2)
    assert res.shift_enrichment == pytest.approx(3.0)
    # only the identity shift reaches the observed value: p ~ 1/10 (one window of 10 rotations)
    assert res.p_value == pytest.approx(0.1, abs=0.03)
    assert set(np.round(res.null * 40, 6)) <= {24.0, 14.0, 4.0}
    assert "60.0% of the total |effect| falls on the 20.0% of bases" in res.statement()


def test_bad_inputs():
    table = _table({("chr1", 5): 1.0})
    hits = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [4]})
    with pytest.raises(ValueError, match="hits lacks column"):
        effect_concentration(table, hits.drop(columns=["end"]))
    with pytest.raises(ValueError, match="task='x'.*valid tasks"):
        effect_concentration(table, hits, task="x")
    with pytest.raises(ValueError, match="no scored SNV"):
        effect_concentration(table.assign(status="skipped"), hits)
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        effect_concentration(table, hits, n_permutations=0)


@pytest.fixture
def planted(tmp_path, rng):
    """6 random-sequence loci, each with the motif planted at its centre; an exact motif detector."""

    parts = []
    for _ in range(6):
        bg = "".join(rng.choice(list("ACGT"), 200))
        parts.append(bg[:96] + MOTIF + bg[104:])
    seq = "".join(parts)
    (tmp_path / "g.fa").write_text(f">chr1\n{seq}\n")
    g = Genome(tmp_path / "g.fa", cache_dir=tmp_path / "c")
    model = motif_detector(MOTIF)
    starts = [200 * k + 100 - CORE // 2 for k in range(6)]
    windows = pd.DataFrame({"chrom": "chr1", "start": starts, "end": [s + CORE for s in starts]})
    rows = []
    for s in starts:
        for p0 in range(s, s + CORE):
            rows += [(p0 + 1, seq[p0], a) for a in "ACGT" if a != seq[p0]]
    vcf = tmp_path / "snv.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "".join(f"chr1\t{p}\t.\t{r}\t{a}\t.\t.\t.\n" for p, r, a in rows)
    )
    return g, windows, model, vcf


def test_planted_motif_enrichment(tmp_path, planted):
    g, windows, model, vcf = planted
    table = score_variants(model, g, vcf, length=80, kind="regression", both_strands=False)
    pwm = np.full((4, 8), 0.01)
    for i, b in enumerate(MOTIF):
        pwm[IDX[b], i] = 0.97
    hits = window_motif_hits(g, windows, {"planted": pwm})
    assert len(hits[hits["p_value"] < 1e-4]) >= 6
    assert set(hits["window"]) == set(range(6))
    res = effect_concentration(table, hits, windows=windows, n_permutations=5000)
    assert res.n_windows == 6 and res.n_variants == 6 * CORE * 3
    assert res.enrichment > 5  # all effect on the motif: 1 / (8/60) = 7.5 when only it is hit
    assert res.fraction_effect == pytest.approx(1.0, abs=1e-6)
    assert res.p_value < 1e-3
    # a model that ignores motifs: no enrichment, no significance
    flat = score_variants(
        linear_model(80, seed=5).eval(), g, vcf, length=80, kind="regression", both_strands=False
    )
    null = effect_concentration(flat, hits, windows=windows, n_permutations=5000)
    assert 0.5 < null.enrichment < 2 and null.p_value > 0.01
    png = save_effect_concentration_plot(tmp_path / "conc.png", res, motif="planted")
    assert (tmp_path / "conc.png").stat().st_size > 10_000 and png.endswith("conc.png")
