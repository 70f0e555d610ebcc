"""Feedback GAN: the feedback raises scores, designs are distinct valid one-hot, seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genodeep.seqdesign.gan import GanResult, feedback_gan

KMER = "GATA"  # not self-overlapping, so str.count counts every occurrence


def _onehot(idx: np.ndarray) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.from_numpy(idx).long(), 4).permute(0, 2, 1).float()


def _strings(X: torch.Tensor) -> list[str]:
    letters = np.array(list("ACGT"))
    return ["".join(row) for row in letters[X.argmax(1).cpu().numpy()]]


def _kmer_count(X: torch.Tensor) -> np.ndarray:
    return np.array([s.count(KMER) for s in _strings(X)], dtype=float)


def _kmer_score(X: torch.Tensor) -> torch.Tensor:
    return torch.tensor(_kmer_count(X), dtype=torch.float32)


def _real(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """Random sequences; every fourth one carries the k-mer once."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, (n, length))
    for i in range(0, n, 4):
        p = rng.integers(0, length - len(KMER))
        idx[i, p : p + len(KMER)] = ["ACGT".index(c) for c in KMER]
    return _onehot(idx)


@pytest.fixture(scope="module")
def kmer_run() -> tuple[torch.Tensor, GanResult]:
    torch.set_num_threads(1)
    X = _real(96, 42)  # 42: not a multiple of the networks' stride
    res = feedback_gan(
        _kmer_score, X, n_designs=20, rounds=8, steps_per_round=10, random_state=0, device="cpu"
    )
    return X, res


def test_feedback_raises_scores(kmer_run):
    X, res = kmer_run
    real_mean = _kmer_count(X).mean()
    design_counts = _kmer_count(res.X)
    np.testing.assert_allclose(res.scores.numpy(), design_counts)
    assert design_counts.mean() > 2 * real_mean
    h = res.history
    assert list(h["round"]) == list(range(8))
    assert h["n_replaced"].iloc[:2].eq(0).all()  # first quarter of the rounds: no feedback
    assert h["n_replaced"].sum() > 0
    assert h["mean_feedback_set"].iloc[0] == pytest.approx(real_mean)
    assert h["mean_feedback_set"].iloc[-1] > h["mean_feedback_set"].iloc[0]
    # replace="worst" (default): an accepted sequence always displaces a lower score
    assert (np.diff(h["mean_feedback_set"].to_numpy()) >= -1e-9).all()


def test_oldest_replacement_is_a_ring_buffer():
    X = _real(48, 30, seed=4)
    res = feedback_gan(
        _kmer_score, X, n_designs=8, rounds=4, steps_per_round=5, replace="oldest", device="cpu"
    )
    h = res.history
    assert h["n_replaced"].sum() > 0 and len(res.X) == 8
    # each accepted sequence scores above the feedback set's median when it enters
    assert h["mean_feedback_set"].iloc[-1] >= h["mean_feedback_set"].iloc[0]


def test_shapes_onehot_distinct_sorted(kmer_run):
    _, res = kmer_run
    assert res.X.shape == (20, 4, 42) and res.X.dtype == torch.float32
    assert res.scores.shape == (20,)
    assert ((res.X == 0) | (res.X == 1)).all() and (res.X.sum(1) == 1).all()
    assert len(set(_strings(res.X))) == 20
    assert (np.diff(res.scores.numpy()) <= 0).all()
    cols = [
        "round",
        "mean_generated",
        "best_generated",
        "mean_feedback_set",
        "n_replaced",
        "seconds",
    ]
    assert list(res.history.columns) == cols


def test_valid_is_respected():
    length = 30
    X = _real(64, length, seed=1)
    n_invalid = []

    def gc(X):
        return X[:, 1:3].sum((1, 2)) / X.shape[-1]

    def valid(X):
        ok = gc(X) <= 0.5
        n_invalid.append(int((~ok).sum()))
        return ok

    res = feedback_gan(gc, X, n_designs=30, rounds=4, steps_per_round=10, valid=valid, device="cpu")
    assert sum(n_invalid) > 0  # the generator does make sequences that must be filtered out
    assert len(res.X) == 30
    gc_frac = np.array([(s.count("C") + s.count("G")) / length for s in _strings(res.X)])
    assert (gc_frac <= 0.5).all()
    np.testing.assert_allclose(res.scores.numpy(), gc_frac, atol=1e-6)


def test_no_valid_sequence_warns():
    X = _real(32, 24, seed=2)
    with pytest.warns(UserWarning, match="distinct valid"):
        res = feedback_gan(
            _kmer_score,
            X,
            n_designs=5,
            rounds=1,
            steps_per_round=1,
            valid=lambda X: torch.zeros(len(X), dtype=torch.bool),
            device="cpu",
        )
    assert res.X.shape == (0, 4, 24) and res.scores.shape == (0,)
    assert np.isnan(res.history["mean_generated"].iloc[0])


def test_same_seed_same_designs():
    X = _real(48, 25, seed=3)
    kw = dict(n_designs=10, rounds=2, steps_per_round=3, device="cpu")
    a = feedback_gan(_kmer_score, X, random_state=7, **kw)
    b = feedback_gan(_kmer_score, X, random_state=7, **kw)
    c = feedback_gan(_kmer_score, X, random_state=8, **kw)
    assert torch.equal(a.X, b.X) and torch.equal(a.scores, b.scores)
    assert _strings(a.X) != _strings(c.X)
    assert torch.equal(X, _real(48, 25, seed=3))  # the input is not modified


def test_bad_inputs():
    X = _real(32, 24)
    with pytest.raises(ValueError, match=r"shape \(N, 4, L\)"):
        feedback_gan(_kmer_score, X[0])
    with pytest.raises(ValueError, match=r"shape \(N, 4, L\)"):
        feedback_gan(_kmer_score, X[:, :3])
    with pytest.raises(ValueError, match="replace"):
        feedback_gan(_kmer_score, X, replace="newest")
    soft = X.clone()
    soft[0, :, 5] = 0.25
    with pytest.raises(ValueError, match="one-hot"):
        feedback_gan(_kmer_score, soft)
    with pytest.raises(ValueError, match="at least 16"):
        feedback_gan(_kmer_score, X[:15])
    with pytest.raises(ValueError, match="at least 8 bp"):
        feedback_gan(_kmer_score, X[:, :, :5])
    with pytest.raises(ValueError, match="n_designs must be > 0"):
        feedback_gan(_kmer_score, X, n_designs=0)
    with pytest.raises(ValueError, match=r"shape \(32,\).*got shape \(32, 1\)"):
        feedback_gan(lambda X: torch.zeros(len(X), 1), X, device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        feedback_gan(lambda X: torch.full((len(X),), float("nan")), X, device="cpu")
    with pytest.raises(TypeError, match="torch.Tensor"):
        feedback_gan(_kmer_score, X.numpy())
