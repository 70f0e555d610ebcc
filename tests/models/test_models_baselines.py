"""k-mer and positional baselines: known answers (a planted k-mer, a motif at a fixed offset), equality
with scikit-learn called directly, NaN-label masking, and gapped k-mer counts against a naive loop."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from genodeep.models.baselines import (
    BASELINES,
    FEATURES,
    POSITIONAL_ALPHA,
    POSITIONAL_C,
    fit_baselines,
    gapped_kmer_counts,
    kmer_features,
    make_baseline,
    onehot_features,
)
from genodeep.seq import kmer_counts, one_hot


def _random_seqs(rng, n, length):
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def _planted(rng, n=300, length=50, word="GATC", copies=3):
    """Random sequences; the positives (half) carry ``copies`` instances of ``word``."""
    seqs = _random_seqs(rng, n, length)
    y = (rng.random(n) < 0.5).astype(np.float32)
    out = []
    for s, lab in zip(seqs, y):
        s = list(s)
        if lab:
            for start in rng.choice(
                np.arange(0, length - len(word), len(word) + 1), size=copies, replace=False
            ):
                s[start : start + len(word)] = word
        out.append("".join(s))
    return out, y[:, None]


def _auroc(y, p):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y.ravel(), p.ravel())


def test_planted_kmer_is_found_by_every_baseline(rng):
    seqs, y = _planted(rng)
    tr, te = slice(0, 200), slice(200, None)
    preds = fit_baselines(seqs[tr], y[tr], seqs[te], y[te], kind="binary", k=4)
    assert list(preds) == ["logistic", "random_forest", "gradient_boosting", "positional"]
    assert _auroc(y[te], preds["logistic"]) > 0.99
    assert _auroc(y[te], preds["random_forest"]) > 0.95
    assert _auroc(y[te], preds["gradient_boosting"]) > 0.95
    for p in preds.values():
        assert p.shape == (100, 1) and p.dtype == np.float32


def test_one_hot_and_string_inputs_agree(rng):
    seqs, y = _planted(rng, n=120)
    X = one_hot(seqs)
    a = fit_baselines(seqs[:80], y[:80], seqs[80:], models=("logistic",))["logistic"]
    b = fit_baselines(X[:80], y[:80], X[80:], models=("logistic",))["logistic"]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_matches_sklearn_called_directly(rng):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seqs, y = _planted(rng, n=200)
    F = kmer_counts(seqs, 3, collapse_rc=True, normalize=True)
    ref_lr = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    ref_lr.fit(F[:150], y[:150, 0].astype(int))
    ref_rf = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=2, max_features="sqrt", random_state=3
    )
    ref_rf.fit(F[:150], y[:150, 0].astype(int))
    got = fit_baselines(
        seqs[:150], y[:150], seqs[150:], models=("logistic", "random_forest"), k=3, random_state=3
    )
    np.testing.assert_allclose(
        got["logistic"][:, 0], ref_lr.predict_proba(F[150:])[:, 1], atol=1e-6
    )
    np.testing.assert_allclose(
        got["random_forest"][:, 0], ref_rf.predict_proba(F[150:])[:, 1], atol=1e-6
    )


def test_regression_ridge_matches_sklearn(rng):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seqs = _random_seqs(rng, 150, 40)
    F = kmer_counts(seqs, 2, collapse_rc=True, normalize=True)
    y = (F @ rng.normal(size=F.shape[1]))[:, None] + rng.normal(scale=0.01, size=(150, 1))
    ref = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(F[:100], y[:100, 0])
    got = fit_baselines(seqs[:100], y[:100], seqs[100:], kind="regression", models=("linear",), k=2)
    np.testing.assert_allclose(got["linear"][:, 0], ref.predict(F[100:]), rtol=1e-5, atol=1e-5)
    assert np.corrcoef(got["linear"][:, 0], y[100:, 0])[0, 1] > 0.9


def test_nan_labels_are_masked_per_task(rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seqs, y1 = _planted(rng, n=200)
    y = np.concatenate([y1, 1 - y1], axis=1)
    y[:40, 1] = np.nan  # task 1 misses its first 40 labels
    got = fit_baselines(seqs[:150], y[:150], seqs[150:], models=("logistic",), k=3)["logistic"]
    F = kmer_counts(seqs, 3, collapse_rc=True, normalize=True)
    keep = np.arange(40, 150)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    ref.fit(F[keep], y[keep, 1].astype(int))
    np.testing.assert_allclose(got[:, 1], ref.predict_proba(F[150:])[:, 1], atol=1e-6)
    assert np.isfinite(got).all()


def test_single_class_task_predicts_its_rate(rng):
    seqs = _random_seqs(rng, 60, 30)
    y = np.zeros((60, 1), dtype=np.float32)
    got = fit_baselines(seqs[:40], y[:40], seqs[40:], models=("logistic", "random_forest"), k=2)
    for p in got.values():
        np.testing.assert_array_equal(p, 0.0)


def test_bad_arguments_say_what_to_do(rng):
    seqs = _random_seqs(rng, 20, 30)
    y = rng.random((20, 1))
    with pytest.raises(ValueError, match="use 'linear'"):
        fit_baselines(seqs[:10], y[:10], seqs[10:], kind="regression", models=("logistic",))
    with pytest.raises(ValueError, match="choose one of"):
        fit_baselines(seqs[:10], y[:10] > 0.5, seqs[10:], models=("svm",))
    with pytest.raises(ValueError, match="kind='regression'"):
        fit_baselines(seqs[:10], y[:10], seqs[10:], kind="binary", models=("logistic",))
    with pytest.raises(ValueError, match="rows"):
        fit_baselines(seqs[:10], y[:9], seqs[10:], models=("logistic",))
    assert set(BASELINES) == {
        "logistic",
        "linear",
        "random_forest",
        "gradient_boosting",
        "positional",
    }
    assert set(FEATURES) == set(BASELINES)
    assert make_baseline("gradient_boosting", kind="regression").__class__.__name__.startswith(
        "HistGradient"
    )


def _naive_gapped(seq: str, k: int, gap: int) -> dict[tuple[str, str], int]:
    h1 = k // 2
    h2 = k - h1
    out: dict[tuple[str, str], int] = {}
    for i in range(len(seq) - (k + gap) + 1):
        a, b = seq[i : i + h1], seq[i + h1 + gap : i + h1 + gap + h2]
        if "N" in a + b:
            continue
        out[(a, b)] = out.get((a, b), 0) + 1
    return out


def test_gapped_kmers_match_a_naive_loop(rng):
    seqs = _random_seqs(rng, 5, 25)
    seqs[0] = seqs[0][:10] + "N" + seqs[0][11:]
    k, max_gap = 4, 3
    got = gapped_kmer_counts(seqs, k, max_gap, collapse_rc=False, normalize=False)
    words = ["".join(p) for p in product("ACGT", repeat=2)]
    assert got.shape == (5, max_gap * 16 * 16)
    for i, s in enumerate(seqs):
        for g in range(1, max_gap + 1):
            ref = _naive_gapped(s, k, g)
            block = got[i, (g - 1) * 256 : g * 256].reshape(16, 16)
            for ia, a in enumerate(words):
                for ib, b in enumerate(words):
                    assert block[ia, ib] == ref.get((a, b), 0)


def test_gapped_rc_collapse_is_strand_symmetric(rng):
    from genodeep.seq import reverse_complement

    seqs = _random_seqs(rng, 4, 40)
    rc = [reverse_complement(s) for s in seqs]
    a = gapped_kmer_counts(seqs, 4, 2, collapse_rc=True)
    b = gapped_kmer_counts(rc, 4, 2, collapse_rc=True)
    np.testing.assert_allclose(a, b, atol=1e-7)
    full = kmer_features(seqs, k=4, gapped=2)
    assert full.shape[1] == kmer_counts(seqs, 4, collapse_rc=True).shape[1] + a.shape[1]
    np.testing.assert_allclose(full[:, -a.shape[1] :], a)


# ------------------------------------------------------------------------------ positional baseline

MOTIF = "TGACTCAG"


def _positional_task(rng, n=600, length=100, offset=40):
    """Every sequence carries MOTIF once: positives at ``offset``, negatives anywhere else."""
    y = (rng.random(n) < 0.5).astype(np.float32)
    seqs = []
    for label in y:
        s = list(rng.choice(list("ACGT"), size=length))
        if label:
            start = offset
        else:
            start = offset
            while abs(start - offset) < 3:
                start = int(rng.integers(0, length - len(MOTIF)))
        s[start : start + len(MOTIF)] = MOTIF
        seqs.append("".join(s))
    return seqs, y[:, None]


def test_positional_baseline_sees_what_kmer_counts_cannot(rng):
    """Same words in positives and negatives, only the offset differs: k-mer counts are blind to it."""
    seqs, y = _positional_task(rng)
    tr, te = slice(0, 400), slice(400, None)
    preds = fit_baselines(
        seqs[tr], y[tr], seqs[te], kind="binary", models=("logistic", "positional"), k=4
    )
    assert _auroc(y[te], preds["positional"]) > 0.9
    assert _auroc(y[te], preds["logistic"]) < 0.7
    # one-hot input gives the same predictions as strings
    X = one_hot(seqs)
    again = fit_baselines(X[tr], y[tr], X[te], models=("positional",))["positional"]
    np.testing.assert_allclose(again, preds["positional"], atol=1e-6)


def test_onehot_features_are_the_flattened_one_hot(rng):
    seqs = _random_seqs(rng, 6, 12)
    seqs[2] = seqs[2][:5] + "N" + seqs[2][6:]
    X = one_hot(seqs).numpy()
    F = onehot_features(seqs)
    assert F.shape == (6, 48) and F.dtype == np.float32
    np.testing.assert_array_equal(F, X.reshape(6, 48))
    np.testing.assert_array_equal(onehot_features(X), F)
    assert F[2].reshape(4, 12)[:, 5].sum() == 0  # N is all-zero
    # column c * L + i is base c at position i
    assert F[0, "ACGT".index(seqs[0][7]) * 12 + 7] == 1
    with pytest.raises(ValueError, match="one length"):
        onehot_features(["ACGT", "ACG"])


def test_positional_matches_sklearn_called_directly_with_nan_and_multitask(rng):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seqs, y1 = _positional_task(rng, n=300, length=40, offset=10)
    X = one_hot(seqs).numpy().reshape(300, -1)
    y = np.concatenate([y1, 1 - y1], axis=1)
    y[:50, 1] = np.nan  # task 1 misses its first 50 labels
    got = fit_baselines(seqs[:200], y[:200], seqs[200:], models=("positional",))["positional"]
    assert got.shape == (100, 2) and np.isfinite(got).all()
    for t, keep in ((0, np.arange(200)), (1, np.arange(50, 200))):
        ref = make_pipeline(
            StandardScaler(with_std=False), LogisticRegression(C=POSITIONAL_C, max_iter=300)
        ).fit(X[keep], y[keep, t].astype(int))
        np.testing.assert_allclose(got[:, t], ref.predict_proba(X[200:])[:, 1], atol=1e-5)

    # regression: a target set by two bases at two positions; ridge on the one-hot recovers it
    yr = (2.0 * X[:, 1 * 40 + 5] - X[:, 3 * 40 + 30])[:, None] + rng.normal(0, 0.1, (300, 1))
    yr[::7] = np.nan
    got = fit_baselines(
        seqs[:200], yr[:200], seqs[200:], kind="regression", models=("positional",)
    )["positional"]
    keep = ~np.isnan(yr[:200, 0])
    ref = make_pipeline(StandardScaler(with_std=False), Ridge(alpha=POSITIONAL_ALPHA))
    ref.fit(X[:200][keep], yr[:200][keep, 0])
    np.testing.assert_allclose(got[:, 0], ref.predict(X[200:]), rtol=1e-4, atol=1e-4)
    ok = ~np.isnan(yr[200:, 0])
    assert np.corrcoef(got[ok, 0], yr[200:][ok, 0])[0, 1] > 0.9
    # the default regression set includes it, the k-mer ridge beside it
    both = fit_baselines(seqs[:200], yr[:200], seqs[200:], kind="regression", k=2)
    assert list(both) == ["linear", "random_forest", "gradient_boosting", "positional"]


def test_positional_needs_one_length_in_train_and_test(rng):
    a, b = _random_seqs(rng, 20, 30), _random_seqs(rng, 10, 31)
    y = (rng.random((20, 1)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="one length"):
        fit_baselines(a, y, b, models=("positional",))
    fit_baselines(a, y, b, models=("logistic",), k=2)  # k-mer counts take any length


@pytest.mark.slow
def test_positional_baseline_is_fast_on_10000_windows_of_400_bp(rng):
    import time

    codes = rng.integers(0, 4, size=(10_000, 400))
    X = np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)
    y = ((codes[:, 200] == 2) | (rng.random(10_000) < 0.05)).astype(np.float32)
    start = time.perf_counter()
    got = fit_baselines(X[:8000], y[:8000], X[8000:], models=("positional",))["positional"]
    seconds = time.perf_counter() - start
    assert _auroc(y[8000:], got) > 0.9
    assert seconds < 30, f"positional baseline took {seconds:.1f} s (about 1 s expected)"
