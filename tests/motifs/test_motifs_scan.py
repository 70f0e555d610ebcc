"""FIMO-like scanning: scores against a naive loop, p-values against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from genodeep.motifs import log_odds, reverse_complement_pwm, scan
from genodeep.motifs.scan import _integer_log_odds
from genodeep.seq.simulate import simulate_motif_presence


def _onehot_codes(codes: np.ndarray) -> torch.Tensor:
    """(N, L) codes 0-3 (4 = N) -> (N, 4, L) float32, written out independently of genodeep.seq."""
    out = np.zeros((codes.shape[0], 4, codes.shape[1]), dtype=np.float32)
    for b in range(4):
        out[:, b, :] = codes == b
    return torch.from_numpy(out)


@pytest.mark.parametrize("bg", [None, [0.3, 0.2, 0.2, 0.3]])
def test_p_values_equal_brute_force_enumeration(bg):
    rng = np.random.default_rng(0)
    w = 5
    pwm = rng.dirichlet(np.full(4, 0.5), size=w).T
    words = np.array(list(itertools.product(range(4), repeat=w)), dtype=np.int64)  # all 4^w words
    X = _onehot_codes(words)
    hits = scan(X, {"m": pwm}, threshold=1.0, background=bg, both_strands=False, device="cpu")
    assert len(hits) == 4**w
    hits = hits.sort_values("seq")
    bgv = np.full(4, 0.25) if bg is None else np.asarray(bg)
    prob = np.prod(bgv[words], axis=1)  # background probability of each word

    # exact: P(integerised score >= observed), summed over all words
    _, ints = _integer_log_odds(pwm, bgv, 0.1, 0.01)
    int_score = ints[words, np.arange(w)].sum(axis=1)
    p_brute = np.array([prob[int_score >= s].sum() for s in int_score])
    np.testing.assert_allclose(hits["p_value"].to_numpy(), p_brute, rtol=1e-10, atol=0)

    # the reported score is the real log-odds sum
    lo = log_odds(pwm, bg, pseudocount=0.1)
    real = lo[words, np.arange(w)].sum(axis=1)
    np.testing.assert_allclose(hits["score"].to_numpy(), real, atol=1e-5)

    # and the p-value brackets the p-value of the real score within the rounding error
    delta = 2 * (w * 0.01 / 2) + 1e-9  # each score is off by at most w * bin / 2
    upper = np.array([prob[real >= s - delta].sum() for s in real])
    lower = np.array([prob[real >= s + delta].sum() for s in real])
    p = hits["p_value"].to_numpy()
    assert np.all(p <= upper + 1e-12) and np.all(p >= lower - 1e-12)


def test_scores_match_naive_loop_with_n_and_mixed_widths():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=(6, 40))
    codes[1, 10] = 4  # an N: no window covering it is scored
    codes[4, 0] = 4
    motifs = {
        "w3": rng.dirichlet(np.ones(4), 3).T,
        "w7": rng.dirichlet(np.ones(4), 7).T,
        "w11": rng.dirichlet(np.ones(4), 11).T,
    }
    hits = scan(_onehot_codes(codes), motifs, threshold=1.0, device="cpu")
    got = {(r.seq, r.motif, r.start, r.strand): r.score for r in hits.itertuples()}
    expected = {}
    for name, pwm in motifs.items():
        for strand, mat in (("+", log_odds(pwm)), ("-", log_odds(reverse_complement_pwm(pwm)))):
            w = mat.shape[1]
            for i in range(codes.shape[0]):
                for s in range(codes.shape[1] - w + 1):
                    window = codes[i, s : s + w]
                    if (window == 4).any():
                        continue
                    expected[(i, name, s, strand)] = mat[window, np.arange(w)].sum()
    assert set(got) == set(expected)
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-4)
    row = hits.iloc[0]
    assert row["end"] - row["start"] == motifs[row["motif"]].shape[1]
    assert hits["p_value"].is_monotonic_increasing


def test_reverse_strand_p_value_is_that_of_the_reverse_complement_word():
    rng = np.random.default_rng(2)
    pwm = rng.dirichlet(np.full(4, 0.4), 4).T
    words = np.array(list(itertools.product(range(4), repeat=4)))
    rc_words = (3 - words)[:, ::-1]
    both = scan(_onehot_codes(words), {"m": pwm}, threshold=1.0, device="cpu")
    minus = both[both["strand"] == "-"].sort_values("seq")
    plus_rc = scan(
        _onehot_codes(rc_words), {"m": pwm}, threshold=1.0, both_strands=False, device="cpu"
    ).sort_values("seq")
    np.testing.assert_allclose(
        minus["p_value"].to_numpy(), plus_rc["p_value"].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(minus["score"].to_numpy(), plus_rc["score"].to_numpy(), atol=1e-5)


def test_planted_instances_are_found():
    rng = np.random.default_rng(3)
    # a sharp but not deterministic motif: 90 % on one letter per position
    core = rng.integers(0, 4, size=12)
    pwm = np.full((4, 12), 0.1 / 3)
    pwm[core, np.arange(12)] = 0.9
    seqs, labels, planted = simulate_motif_presence(
        150, 200, {"m": pwm}, n_per_seq=1, random_state=0
    )
    hits = scan(seqs, {"m": pwm}, threshold=1e-4, device="cpu")
    found = set(zip(hits["seq"], hits["start"], hits["strand"]))
    truth = set(zip(planted["seq"], planted["start"], planted["strand"]))
    recall = len(found & truth) / len(truth)
    assert recall >= 0.9
    # instances equal to the consensus must all be found, with the best possible score
    cons = "".join("ACGT"[i] for i in core)
    comp = str.maketrans("ACGT", "TGCA")
    for row in planted.itertuples():
        site = seqs[row.seq][row.start : row.end]
        if row.strand == "-":
            site = site.translate(comp)[::-1]
        if site == cons:
            assert (row.seq, row.start, row.strand) in found
    # few hits away from the planted sites (background windows: 150 * 189 * 2 tests at 1e-4)
    assert len(found - truth) <= 15


def test_scan_inputs_and_errors():
    pwm = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 0, 0]])  # ACG
    hits = scan(["TTACGTT", "ACG", "NNNN"], pwm, threshold=0.02, device="cpu")
    plus = hits[hits["strand"] == "+"]
    assert set(zip(plus["seq"], plus["start"])) == {(0, 2), (1, 0)}
    assert set(hits["motif"]) == {"motif"}
    # CGT (reverse complement of ACG) at 3 in the first sequence
    minus = hits[hits["strand"] == "-"]
    assert set(zip(minus["seq"], minus["start"])) == {(0, 3)}
    assert scan("TTTTTTT", pwm, threshold=1e-3, device="cpu").empty
    assert scan("AC", pwm, device="cpu").empty  # shorter than the motif
    with pytest.raises(ValueError, match="threshold"):
        scan("ACGT", pwm, threshold=0)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        scan(torch.zeros(2, 5, 10), pwm)
    with pytest.raises(ValueError, match="pseudocount"):
        scan("ACGT", pwm, pseudocount=0.0)
