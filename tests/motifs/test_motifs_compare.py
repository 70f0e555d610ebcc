"""TOMTOM-like comparison (memelite) with names, orientation and Benjamini–Hochberg q-values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from genodeep.motifs import benjamini_hochberg, compare, reverse_complement_pwm

pytest.importorskip("memelite")


def _database(rng, n=40):
    return {
        f"T{i}": rng.dirichlet(np.full(4, 0.4), size=int(w)).T
        for i, w in enumerate(rng.integers(6, 15, size=n))
    }


def _pearson_best_alignment(query, targets):
    """Independent reference: mean Pearson correlation of aligned columns, query inside target."""
    best = (-np.inf, None, None, None)
    wq = query.shape[1]
    for name, t in targets.items():
        for orient, mat in (("+", t), ("-", reverse_complement_pwm(t))):
            for off in range(mat.shape[1] - wq + 1):
                r = np.mean([np.corrcoef(query[:, j], mat[:, off + j])[0, 1] for j in range(wq)])
                if r > best[0]:
                    best = (r, name, off, orient)
    return best


def test_benjamini_hochberg_matches_scipy(rng):
    p = rng.random(50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p), rtol=1e-12)
    # hand example: p = (0.01, 0.04, 0.03) -> q = (0.03, 0.04, 0.04)
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03]), [0.03, 0.04, 0.04])


def test_self_and_reverse_complement_rank_first(rng):
    db = _database(rng)
    query = rng.dirichlet(np.full(4, 0.3), size=10).T
    db["self"] = query.copy()
    db["self_rc"] = reverse_complement_pwm(query)
    out = compare({"q": query}, db)
    assert list(out.columns) == [
        "query",
        "target",
        "offset",
        "overlap",
        "orientation",
        "score",
        "p_value",
        "e_value",
        "q_value",
    ]
    assert len(out) == len(db)
    top = out.iloc[:2].set_index("target")
    assert set(top.index) == {"self", "self_rc"}
    assert top.loc["self", "orientation"] == "+" and top.loc["self_rc", "orientation"] == "-"
    assert (top["offset"] == 0).all() and (top["overlap"] == 10).all()
    assert (top["p_value"] < 1e-4).all() and (top["q_value"] < 0.01).all()
    assert out["p_value"].is_monotonic_increasing
    np.testing.assert_allclose(out["e_value"], out["p_value"] * len(db))
    np.testing.assert_allclose(out["q_value"], benjamini_hochberg(out["p_value"].to_numpy()))


def test_best_offset_and_orientation_match_pearson_reference(rng):
    db = _database(rng)
    name = next(k for k, v in db.items() if v.shape[1] >= 11)
    target = db[name]
    w = target.shape[1]
    cut = target[:, 2:8]  # a 6-column piece, aligned at target column 2
    queries = {"piece": cut, "piece_rc": reverse_complement_pwm(cut)}
    out = compare(queries, db, n_nearest=1)
    assert len(out) == 2
    for qname, row in out.set_index("query").iterrows():
        r, ref_target, ref_offset, ref_orient = _pearson_best_alignment(queries[qname], db)
        assert r == pytest.approx(1.0)
        assert row["target"] == ref_target == name
        assert row["orientation"] == ref_orient
        assert row["offset"] == ref_offset
    piece = out.set_index("query").loc["piece"]
    piece_rc = out.set_index("query").loc["piece_rc"]
    assert piece["orientation"] == "+" and piece["offset"] == 2
    # in the reverse complement of the target, columns 2..7 sit at w - 8 .. w - 3
    assert piece_rc["orientation"] == "-" and piece_rc["offset"] == w - 8


def test_filters_and_errors(rng):
    db = _database(rng, n=30)
    q = {"a": db["T3"], "b": db["T5"]}
    out = compare(q, db, n_nearest=3)
    assert list(out["query"]) == ["a"] * 3 + ["b"] * 3
    assert out.groupby("query").head(1)["target"].tolist() == ["T3", "T5"]
    strict = compare(q, db, max_q=0.05)
    assert (strict["q_value"] <= 0.05).all() and set(strict["query"]) == {"a", "b"}
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        compare({"bad": np.ones((3, 5))}, db)
    with pytest.raises(ValueError, match="n_nearest"):
        compare(q, db, n_nearest=0)


@pytest.mark.slow
def test_jaspar_insects_beaf_core_matches_beaf(shared_data):
    from genodeep.io.motifs import read_motifs

    db = read_motifs(shared_data / "motifs" / "JASPAR2024_CORE_insects.meme")
    beaf_key = next(k for k in db if k.endswith("BEAF-32"))
    query = reverse_complement_pwm(db[beaf_key][:, 1:7])  # the CGATA core, flipped
    out = compare({"beaf_core": query}, db, n_nearest=5)
    assert out.iloc[0]["target"] == beaf_key
    assert out.iloc[0]["orientation"] == "-"
    assert out.iloc[0]["q_value"] < 0.05
