"""Profile (BPNet/ChromBPNet) and coverage (Basenji) metrics against scipy and hand loops."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import jensenshannon

from genodeep.train.profile_metrics import (
    COVERAGE_METRICS,
    PROFILE_METRICS,
    coverage_metrics,
    jensen_shannon_distance,
    per_window_jsd,
    profile_metrics,
)


def _scipy_jsd(p: np.ndarray, q: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 on empty rows
        return float(jensenshannon(p, q, base=2))


def _peaks(rng, n=200, length=100, width=4.0, depth=(300, 3000)):
    """Gaussian peaks at random centres; reads drawn from them at random depths."""
    x = np.arange(length)
    centres = rng.integers(30, 70, n)
    pi = np.exp(-0.5 * ((x[None] - centres[:, None]) / width) ** 2) + 1e-3
    pi /= pi.sum(axis=1, keepdims=True)
    totals = rng.integers(*depth, n)
    y = np.stack([rng.multinomial(d, p) for d, p in zip(totals, pi)]).astype(float)
    return y[:, None], pi[:, None], totals[:, None].astype(float)


# ------------------------------------------------------------------------------------- JSD
def test_jsd_matches_scipy_row_by_row_with_zeros(rng):
    p = rng.poisson(0.7, size=(40, 30)).astype(float)  # many zero positions
    q = rng.random((40, 30)) * (rng.random((40, 30)) < 0.5)
    p[3] = 0.0  # an empty row -> NaN
    q[7] = 0.0
    got = jensen_shannon_distance(p, q)
    ref = np.array([_scipy_jsd(a, b) for a, b in zip(p, q)])
    assert got.shape == (40,)
    assert np.isnan(got[3]) and np.isnan(got[7])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12, equal_nan=True)
    # another axis, and a 1-D pair gives a scalar
    np.testing.assert_allclose(
        jensen_shannon_distance(p.T, q.T, axis=0), ref, atol=1e-12, equal_nan=True
    )
    assert jensen_shannon_distance(p[0], q[0]) == pytest.approx(ref[0], abs=1e-12)


def test_jsd_known_values_and_errors():
    assert jensen_shannon_distance([1, 0, 0], [0, 0, 5]) == pytest.approx(1.0)  # disjoint supports
    assert jensen_shannon_distance([2, 4, 6], [1, 2, 3]) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(jensen_shannon_distance([1, np.nan], [1, 1]))
    with pytest.raises(ValueError, match="negative"):
        jensen_shannon_distance([0.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"had shape \(2, 3\) while q had \(2, 4\)"):
        jensen_shannon_distance(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="out of range"):
        jensen_shannon_distance(np.ones((2, 3)), np.ones((2, 3)), axis=2)


# ------------------------------------------------------------------------------------- profiles
def test_bounds_order_truth_uniform_and_a_shifted_model(rng):
    y, pi, totals = _peaks(rng)
    truth = profile_metrics(y, pi, totals).loc["task_0"]
    uniform = profile_metrics(y, np.full_like(y, 1 / y.shape[-1]), totals).loc["task_0"]
    shifted = profile_metrics(y, np.roll(pi, 8, axis=-1), totals).loc["task_0"]
    # same seed -> same references for every prediction
    assert truth["jsd_shuffled"] == uniform["jsd_shuffled"] == shifted["jsd_shuffled"]
    assert truth["jsd_ideal"] == uniform["jsd_ideal"]
    assert 0 < truth["jsd_ideal"] < truth["jsd_shuffled"]
    # predicting the generating distribution beats the half-depth pseudo-replicate (see module docs):
    # jsd_norm is a little below 0, far from 1
    assert truth["jsd"] < truth["jsd_ideal"]
    assert -0.5 < truth["jsd_norm"] <= 0.0
    # a flat prediction of peaked profiles is close to the shuffled reference
    assert uniform["jsd_norm"] > 0.7
    assert truth["jsd"] < shifted["jsd"] < uniform["jsd"] < uniform["jsd_shuffled"]
    assert 0 < shifted["jsd_norm"] < uniform["jsd_norm"] < 1
    assert truth["count_pearson"] == pytest.approx(1.0)  # the true totals were given
    for row in (truth, uniform, shifted):  # the stated formula
        norm = (row["jsd"] - row["jsd_ideal"]) / (row["jsd_shuffled"] - row["jsd_ideal"])
        assert row["jsd_norm"] == pytest.approx(norm, abs=1e-12)


def test_profile_metrics_match_scipy_on_a_small_case(rng):
    n, t, length = 30, 2, 25
    y = rng.poisson(0.5 + rng.gamma(2.0, 2.0, size=(n, t, 1)), size=(n, t, length)).astype(float)
    y[0, 0] = 0.0  # no reads: out of n and JSD, still in the count and bin metrics
    y[1, 1, 4] = np.nan  # a missing value drops the whole profile
    logits = rng.normal(size=(n, t, length))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    counts = np.exp(rng.normal(3.0, 1.0, size=(n, t)))
    df = profile_metrics(y, probs, counts, task_names=["a", "b"], random_state=3)

    assert list(df.index) == ["a", "b", "mean"]
    assert list(df.columns) == ["n", *PROFILE_METRICS]
    for i, name in enumerate(["a", "b"]):
        keep = ~np.isnan(y[:, i]).any(-1)
        yk, pk, ck = y[keep, i], probs[keep, i], counts[keep, i]
        has = yk.sum(-1) > 0
        assert df.loc[name, "n"] == has.sum()
        jsd = np.median([_scipy_jsd(a, b) for a, b in zip(yk[has], pk[has])])
        assert df.loc[name, "jsd"] == pytest.approx(jsd, abs=1e-12)
        lt, lp = np.log1p(yk.sum(-1)), np.log1p(ck)
        assert df.loc[name, "count_pearson"] == pytest.approx(stats.pearsonr(lt, lp)[0], abs=1e-12)
        assert df.loc[name, "count_spearman"] == pytest.approx(
            stats.spearmanr(lt, lp)[0], abs=1e-12
        )
        bt, bp = yk.ravel(), (pk * ck[:, None]).ravel()
        assert df.loc[name, "bin_pearson"] == pytest.approx(stats.pearsonr(bt, bp)[0], abs=1e-12)
        assert df.loc[name, "bin_spearman"] == pytest.approx(stats.spearmanr(bt, bp)[0], abs=1e-12)
    assert df.loc["a", "n"] == n - 1 and df.loc["b", "n"] == n - 1
    assert df.loc["mean", "n"] == 2 * (n - 1)
    for c in PROFILE_METRICS:
        vals = df.loc[["a", "b"], c].to_numpy(dtype=float)
        ref = np.nanmean(vals) if np.isfinite(vals).any() else np.nan
        np.testing.assert_allclose(df.loc["mean", c], ref, atol=1e-12, equal_nan=True)
    # flat profiles without positional structure: shuffling barely changes them, so the shuffled
    # reference falls below the pseudo-replicate one and jsd_norm is undefined
    assert (df.loc[["a", "b"], "jsd_shuffled"] < df.loc[["a", "b"], "jsd_ideal"]).all()
    assert df.loc[["a", "b", "mean"], "jsd_norm"].isna().all()
    # the table is reproducible
    pd.testing.assert_frame_equal(
        df, profile_metrics(y, probs, counts, task_names=["a", "b"], random_state=3)
    )


def test_references_follow_their_definition(rng):
    """The shuffled and pseudo-replicate medians, redone with scipy on the same random draws."""
    y, pi, totals = _peaks(rng, n=40, depth=(20, 200))
    df = profile_metrics(y, pi, totals, random_state=7)
    r = np.random.default_rng(7)
    obs = y[:, 0]
    shuffled = r.permuted(obs, axis=-1)
    half = r.binomial(obs.astype(np.int64), 0.5).astype(float)
    ref_sh = np.median([_scipy_jsd(a, b) for a, b in zip(obs, shuffled)])
    ideal = [_scipy_jsd(a, b) for a, b in zip(half, obs - half)]
    assert df.loc["task_0", "jsd_shuffled"] == pytest.approx(ref_sh, abs=1e-12)
    assert df.loc["task_0", "jsd_ideal"] == pytest.approx(np.nanmedian(ideal), abs=1e-12)
    # the halves really are a split of the reads
    assert (half >= 0).all() and (half <= obs).all()


def test_non_integer_counts_warn_and_leave_the_ideal_undefined(rng):
    y, pi, totals = _peaks(rng, n=20)
    with pytest.warns(UserWarning, match="not integer-valued"):
        df = profile_metrics(y * 0.37, pi, totals * 0.37)
    assert np.isnan(df.loc["task_0", "jsd_ideal"]) and np.isnan(df.loc["task_0", "jsd_norm"])
    assert np.isfinite(df.loc["task_0", "jsd"]) and np.isfinite(df.loc["task_0", "jsd_shuffled"])


def test_constant_totals_give_nan_correlations_and_torch_inputs_work(rng):
    y, pi, _ = _peaks(rng, n=30, depth=(1000, 1001))  # every profile has exactly 1000 reads
    counts = rng.uniform(500, 1500, size=(30, 1))
    df = profile_metrics(torch.from_numpy(y), torch.from_numpy(pi), torch.from_numpy(counts))
    assert np.isnan(df.loc["task_0", "count_pearson"]) and np.isnan(
        df.loc["task_0", "count_spearman"]
    )
    assert df.loc["task_0", "n"] == 30


def test_per_window_jsd(rng):
    y, pi, _ = _peaks(rng, n=10)
    y = np.concatenate([y, y[:, :, ::-1]], axis=1)  # (10, 2, L)
    p = np.concatenate([pi, pi], axis=1)
    y[2, 1] = 0.0
    y[3, 0, 0] = np.nan
    got = per_window_jsd(y, p)
    assert got.shape == (10, 2)
    assert np.isnan(got[2, 1]) and np.isnan(got[3, 0])
    for i, j in [(0, 0), (5, 1), (9, 0)]:
        assert got[i, j] == pytest.approx(_scipy_jsd(y[i, j], p[i, j]), abs=1e-12)


def test_profile_shape_and_value_errors(rng):
    y, pi, totals = _peaks(rng, n=5, length=20)
    with pytest.raises(
        ValueError, match=r"y_true had shape \(5, 20\) while it should have had 3 axes"
    ):
        profile_metrics(y[:, 0], pi[:, 0], totals)
    with pytest.raises(ValueError, match=r"profile_pred had shape \(5, 1, 19\).*\(5, 1, 20\)"):
        profile_metrics(y, pi[..., :19], totals)
    with pytest.raises(ValueError, match=r"counts_pred had shape \(5,\) while it should have had"):
        profile_metrics(y, pi, totals[:, 0])
    with pytest.raises(ValueError, match="do not sum to 1.*softmax"):
        profile_metrics(y, np.abs(rng.normal(size=pi.shape)), totals)
    with pytest.raises(ValueError, match="negative.*softmax"):
        bad = pi.copy()
        bad[0, 0, :2] += [-0.5, 0.5]  # still sums to 1
        profile_metrics(y, bad, totals)
    with pytest.raises(ValueError, match="counts_pred has 1 negative.*expm1"):
        profile_metrics(y, pi, np.where(np.arange(5)[:, None] == 0, -1.0, totals))
    with pytest.raises(ValueError, match="non-finite"):
        profile_metrics(y, pi, np.full_like(totals, np.nan))
    with pytest.raises(ValueError, match="y_true has .* negative"):
        profile_metrics(-y, pi, totals)
    with pytest.raises(ValueError, match="2 names but the arrays have 1 task"):
        profile_metrics(y, pi, totals, task_names=["a", "b"])
    with pytest.raises(ValueError, match="must not contain 'mean'"):
        profile_metrics(y, pi, totals, task_names=["mean"])
    with pytest.raises(ValueError, match=r"y_true had shape \(5, 20\)"):
        per_window_jsd(y[:, 0], pi[:, 0])


# ------------------------------------------------------------------------------------- coverage
def test_coverage_metrics_match_hand_computation(rng):
    n, t, b = 12, 2, 16
    y_pred = rng.gamma(2.0, 3.0, size=(n, t, b))
    y_true = rng.poisson(y_pred).astype(float)
    y_true[2, 0, 5] = (
        np.nan
    )  # a missing bin: out of the bin columns, its window out of window_pearson
    y_true[7, 1, :3] = np.nan
    df = coverage_metrics(y_true, y_pred, task_names=["x", "y"])
    assert list(df.index) == ["x", "y", "mean"]
    assert list(df.columns) == ["n", *COVERAGE_METRICS]
    for i, name in enumerate(["x", "y"]):
        yt, yp = y_true[:, i], y_pred[:, i]
        k = ~np.isnan(yt)
        assert df.loc[name, "n"] == k.sum()
        assert df.loc[name, "bin_pearson"] == pytest.approx(
            stats.pearsonr(yt[k], yp[k])[0], abs=1e-12
        )
        assert df.loc[name, "bin_spearman"] == pytest.approx(
            stats.spearmanr(yt[k], yp[k])[0], abs=1e-12
        )
        ref_log = stats.pearsonr(np.log1p(yt[k]), np.log1p(yp[k]))[0]
        assert df.loc[name, "bin_pearson_log"] == pytest.approx(ref_log, abs=1e-12)
        whole = [w for w in range(n) if not np.isnan(yt[w]).any()]
        tot_t = [sum(yt[w]) for w in whole]
        tot_p = [sum(yp[w]) for w in whole]
        assert len(whole) == n - 1
        assert df.loc[name, "window_pearson"] == pytest.approx(
            stats.pearsonr(tot_t, tot_p)[0], abs=1e-12
        )
        sq = [(a - p) ** 2 for a, p in zip(yt[k], yp[k])]
        assert df.loc[name, "mse"] == pytest.approx(sum(sq) / len(sq), rel=1e-12)
    assert df.loc["mean", "n"] == df.loc[["x", "y"], "n"].sum()
    for c in COVERAGE_METRICS:
        assert df.loc["mean", c] == pytest.approx(df.loc[["x", "y"], c].mean(), abs=1e-12)


def test_coverage_negative_values_and_errors(rng):
    y = rng.normal(size=(6, 1, 8))
    df = coverage_metrics(y, y + rng.normal(scale=0.1, size=y.shape))
    assert np.isnan(df.loc["task_0", "bin_pearson_log"])  # log1p undefined for negative values
    assert df.loc["task_0", "bin_pearson"] > 0.9
    with pytest.raises(
        ValueError, match=r"y_true had shape \(6, 8\) while it should have had 3 axes \(N, T, B\)"
    ):
        coverage_metrics(y[:, 0], y[:, 0])
    with pytest.raises(ValueError, match=r"y_pred had shape \(6, 1, 7\) while it should have had"):
        coverage_metrics(y, y[..., :7])
    with pytest.raises(ValueError, match="y_pred has 1 non-finite"):
        bad = y.copy()
        bad[4, 0, 3] = np.inf
        coverage_metrics(y, bad)
