"""The splatter-like simulator (genodeep.sc.simulate)."""

from __future__ import annotations

import numpy as np
import pytest

from genodeep.sc.simulate import simulate_counts


def test_shapes_reproducibility_and_dropout():
    a = simulate_counts(200, 80, n_groups=3, n_batches=2, random_state=1)
    b = simulate_counts(200, 80, n_groups=3, n_batches=2, random_state=1)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts.shape == a.true_means.shape == (200, 80)
    assert set(np.unique(a.groups)) == {0, 1, 2} and set(np.unique(a.batches)) == {0, 1}
    assert (a.counts <= a.true_counts).all()  # dropout only removes
    assert (a.counts == 0).mean() > (a.true_counts == 0).mean()
    nodrop = simulate_counts(200, 80, dropout=False, random_state=1)
    np.testing.assert_array_equal(nodrop.counts, nodrop.true_counts)


def test_true_means_are_the_poisson_means_and_library_sizes_hold():
    s = simulate_counts(3000, 50, dropout=False, bcv_common=0.1, random_state=0)
    # Poisson: E[counts | means] = means -> per-gene sums agree within a few standard errors
    tot_c, tot_m = s.true_counts.sum(0), s.true_means.sum(0)
    z = (tot_c - tot_m) / np.sqrt(tot_m)
    assert np.abs(z).max() < 5
    # base means sum to the library sizes (cells' expected totals)
    np.testing.assert_allclose(s.base_means.sum(1), s.library_sizes, rtol=1e-10)
    assert abs(np.log(np.median(s.library_sizes)) - 7.0) < 0.05


def test_groups_differ_in_their_de_genes():
    s = simulate_counts(
        1500, 200, n_groups=2, de_prob=0.3, de_fac_loc=1.0, dropout=False, random_state=3
    )
    prop = s.base_means / s.base_means.sum(1, keepdims=True)
    lfc = np.log(prop[s.groups == 1].mean(0) / prop[s.groups == 0].mean(0))
    expected = np.log(s.de_factors[1] / s.de_factors[0])
    expected -= np.log((s.de_factors[1] * prop[s.groups == 0].mean(0)).sum())  # renormalisation
    assert np.corrcoef(lfc, expected)[0, 1] > 0.99
    assert (s.de_factors != 1).mean() == pytest.approx(0.3, abs=0.06)


def test_to_anndata_and_errors():
    pytest.importorskip("anndata")
    a = simulate_counts(30, 10, n_batches=2, random_state=0).to_anndata()
    assert a.shape == (30, 10) and "true_means" in a.layers
    assert list(a.obs["group"].cat.categories)[0] == "group0"
    with pytest.raises(ValueError, match="group_probs must be 3 non-negative numbers summing to 1"):
        simulate_counts(10, 5, n_groups=3, group_probs=[0.5, 0.5])
    with pytest.raises(ValueError, match="n_cells must be > 0"):
        simulate_counts(0, 5)
