"""In-silico experiments on hand-set models whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genodeep.interpret.experiments import insert_motif_effect, spacing_effect
from genodeep.interpret.plots import plot_spacing_effect, save_figure
from genodeep.seq import encode, one_hot, sample_background

A_SITE, B_SITE = "GATAAG", "CACGTG"


class _ExactMatch(nn.Module):
    """Per-position indicator (N, 1, L - w + 1) of an exact match of ``site`` (conv + bias + ReLU)."""

    def __init__(self, site: str):
        super().__init__()
        w = len(site)
        self.conv = nn.Conv1d(4, 1, w)
        with torch.no_grad():
            self.conv.weight.copy_(one_hot(site, dtype=torch.float32)[None])
            self.conv.bias.fill_(-(w - 1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class _SpacingModel(nn.Module):
    """Output = number of (a, b) pairs with b starting exactly ``gap`` bases after a ends."""

    def __init__(self, gap: int):
        super().__init__()
        self.a, self.b = _ExactMatch(A_SITE), _ExactMatch(B_SITE)
        self.shift = len(A_SITE) + gap

    def forward(self, x):
        a, b = self.a(x)[:, 0], self.b(x)[:, 0]
        s = self.shift
        return (a[:, :-s] * b[:, s:]).sum(-1, keepdim=True)


class _Linear(nn.Module):
    """``y[n, t] = sum W[t] * X[n]`` (two tasks)."""

    def __init__(self, length: int):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.W = nn.Parameter(torch.randn(2, 4, length, generator=g))

    def forward(self, x):
        return torch.einsum("ncl,tcl->nt", x, self.W)


def test_spacing_effect_peaks_only_at_the_learned_spacing():
    model = _SpacingModel(gap=4).eval()
    table = spacing_effect(
        model, A_SITE, B_SITE, range(0, 9), n_background=40, length=80, random_state=0, device="cpu"
    )
    assert table["spacing"].tolist() == list(range(9))
    # exactly one pair is created at spacing 4 and none elsewhere (backgrounds have no exact pair)
    expected = np.where(table["spacing"] == 4, 1.0, 0.0)
    np.testing.assert_allclose(table["mean"], expected, atol=1e-6)
    np.testing.assert_allclose(table["sem"], 0.0, atol=1e-6)
    np.testing.assert_allclose(table["effect_a"], 0.0, atol=1e-6)
    np.testing.assert_allclose(table["effect_b"], 0.0, atol=1e-6)
    np.testing.assert_allclose(table["interaction"], expected, atol=1e-6)
    assert (table["n"] == 40).all()

    ax = plot_spacing_effect(table, title="a-b spacing")
    assert len(ax.lines) >= 2
    assert ax.get_xlabel().startswith("spacing")


def test_motif_given_as_matrix_inserts_its_consensus():
    model = _SpacingModel(gap=2).eval()
    pwm_a = one_hot(A_SITE, dtype=torch.float32).numpy() * 0.7 + 0.075  # argmax = A_SITE
    table = spacing_effect(model, pwm_a, B_SITE, [1, 2], n_background=10, length=40, device="cpu")
    np.testing.assert_allclose(table["mean"], [0.0, 1.0], atol=1e-6)


def test_insert_motif_effect_equals_weight_difference_of_a_linear_model():
    length, site = 50, "TTGACGCA"
    model = _Linear(length).eval()
    res = insert_motif_effect(
        model, site, n_background=30, length=length, gc=0.4, target=1, random_state=7, device="cpu"
    )
    # reference: the same backgrounds, effect = sum_j W[site_j, pos+j] - W[bg_j, pos+j]
    bg = encode(sample_background(30, length, gc=0.4, random_state=7))
    pos = (length - len(site)) // 2
    W = model.W[1].detach().numpy().astype(np.float64)
    codes = encode(site).reshape(-1)
    cols = np.arange(pos, pos + len(site))
    expected = W[codes, cols].sum() - W[bg[:, cols], cols].sum(axis=1)
    np.testing.assert_allclose(res.effects, expected, rtol=1e-5, atol=1e-5)
    assert res.mean == pytest.approx(expected.mean(), abs=1e-5)
    assert res.sem == pytest.approx(expected.std(ddof=1) / np.sqrt(30), rel=1e-4)
    mean, effects = res  # unpacks as (mean, per-sequence)
    assert effects.shape == (30,)

    # an explicit position, and user-given backgrounds
    X = one_hot(sample_background(5, length, random_state=1), dtype=torch.float32)
    res2 = insert_motif_effect(model, site, background=X, position=0, target=0, device="cpu")
    W0 = model.W[0].detach().numpy()
    Xn = X.numpy()
    ref = W0[codes, np.arange(len(site))].sum() - (Xn[:, :, : len(site)] * W0[:, : len(site)]).sum(
        axis=(1, 2)
    )
    np.testing.assert_allclose(res2.effects, ref, rtol=1e-5, atol=1e-5)


def test_experiment_errors():
    model = _Linear(20).eval()
    with pytest.raises(ValueError, match="length is needed"):
        insert_motif_effect(model, "ACGT")
    with pytest.raises(ValueError, match="longer than the sequences"):
        insert_motif_effect(model, "ACGT" * 6, length=20)
    with pytest.raises(ValueError, match=r"position=17 must lie in 0\.\.16"):
        insert_motif_effect(model, "ACGT", length=20, position=17)
    with pytest.raises(ValueError, match="N or ambiguity"):
        insert_motif_effect(model, "ACNT", length=20)
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        insert_motif_effect(model, np.ones((5, 3)), length=20)
    with pytest.raises(ValueError, match="need 26 bases"):
        spacing_effect(model, "ACGTAC", "ACGTAC", [14], length=20)
    with pytest.raises(ValueError, match="spacings must be >= 0"):
        spacing_effect(model, "ACG", "ACG", [-1, 2], length=20)


def test_save_spacing_plot(tmp_path):
    import pandas as pd

    table = pd.DataFrame({"spacing": [0, 1], "mean": [0.1, 0.5], "sem": [0.01, 0.02]})
    path = save_figure(plot_spacing_effect(table).figure, tmp_path / "sp.png")
    assert open(path, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="no column 'sem'"):
        plot_spacing_effect(table.drop(columns="sem"))
