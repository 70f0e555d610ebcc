"""First-layer filters -> PWMs: exact counts against a naive loop, planted motifs recovered and matched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from genodeep import example_data
from genodeep.interpret.filters import filter_matches, filters_to_pwms
from genodeep.io import read_motifs
from genodeep.models import DeepBind
from genodeep.motifs import log_odds
from genodeep.seq import one_hot, simulate_motif_presence

PLANTED = ("MA0035.5 GATA1", "MA0058.4 MAX")


def _naive_counts(
    conv: nn.Conv1d, X: torch.Tensor, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Reference: loop over every (sequence, filter, position), windows cut from a zero-padded copy."""
    with torch.no_grad():
        act = conv(X).numpy()
    n_f = act.shape[1]
    span = conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
    if conv.padding == "same":
        left = (span - 1) // 2
    else:
        left = conv.padding[0]
    Xp = np.zeros((X.shape[0], 4, X.shape[2] + 2 * span), dtype=np.float64)
    Xp[:, :, left : left + X.shape[2]] = X.numpy()
    counts = np.zeros((n_f, 4, span))
    sites = np.zeros(n_f, dtype=int)
    for f in range(n_f):
        mx = act[:, f].max()
        if mx <= 0:
            continue
        for i in range(act.shape[0]):
            for p in range(act.shape[2]):
                if act[i, f, p] > threshold * mx:
                    counts[f] += Xp[i, :, p : p + span]
                    sites[f] += 1
    return counts, sites


class _DilatedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 5, 4, padding="same", dilation=2)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv1d(5, 2, 3)

    def forward(self, x):
        return self.conv2(self.act(self.conv(x))).amax(-1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DeepBind(filters=6, width=7, padding="full", hidden=0),
        lambda: DeepBind(filters=4, width=6, padding="same", hidden=4),
        _DilatedNet,
    ],
    ids=["deepbind-full", "deepbind-same-even", "dilated-same"],
)
def test_counts_equal_naive_loop(make):
    torch.manual_seed(1)
    model = make().eval()
    X = one_hot(["".join(np.random.default_rng(i).choice(list("ACGT"), 40)) for i in range(13)])
    X = X.float()
    X[3, :, 5:8] = 0  # N bases count no letter
    conv = [m for m in model.modules() if isinstance(m, nn.Conv1d)][0]
    res = filters_to_pwms(model, X, threshold=0.4, min_sites=1, batch_size=5, device="cpu")
    ref_counts, ref_sites = _naive_counts(conv, X, 0.4)
    for f in range(conv.out_channels):
        key = f"filter_{f}"
        np.testing.assert_array_equal(res.counts[key], ref_counts[f])
        assert res.n_sites[key] == ref_sites[f]
        if ref_sites[f] >= 1:
            col = ref_counts[f].sum(0, keepdims=True)
            expected = np.where(col > 0, ref_counts[f] / np.where(col > 0, col, 1), 0.25)
            np.testing.assert_allclose(res.pwms[key], expected)
    assert res.layer == ("conv" if make is _DilatedNet else "local.0")


def test_activation_layer_gives_same_sites_as_its_convolution():
    """Thresholding relu(conv) at a positive fraction selects the same windows as conv itself."""
    model = DeepBind(filters=4, width=5, hidden=0).eval()
    X = one_hot(["".join(np.random.default_rng(i).choice(list("ACGT"), 30)) for i in range(20)])
    a = filters_to_pwms(model, X, min_sites=1, device="cpu")
    b = filters_to_pwms(model, X, layer="local.1", min_sites=1, device="cpu")
    assert b.layer == "local.1"
    for key in a.counts:
        np.testing.assert_array_equal(a.counts[key], b.counts[key])


def test_planted_motifs_are_recovered_and_matched():
    db = read_motifs(example_data.motifs())
    pwms = [db[k] for k in PLANTED]
    seqs, _, _ = simulate_motif_presence(
        200, 60, dict(zip(PLANTED, pwms)), positive_fraction=0.6, random_state=1
    )
    X = one_hot(seqs)
    width = max(p.shape[1] for p in pwms)
    model = DeepBind(filters=3, width=width, hidden=0).eval()
    with torch.no_grad():
        conv = model.local[0]
        conv.weight.zero_()
        conv.bias.fill_(-100.0)  # filter 2 never fires
        for k, pwm in enumerate(pwms):
            lo = torch.tensor(log_odds(pwm), dtype=torch.float32)
            conv.weight[k, :, : lo.shape[1]] = lo
            conv.bias[k] = 0.0
    res = filters_to_pwms(model, X, threshold=0.6, device="cpu")
    assert set(res.pwms) == {"filter_0", "filter_1"}
    assert res.n_sites["filter_2"] == 0 and res.max_activation["filter_2"] < 0
    # the recovered frequencies are close to the planted PWMs (over the motif's columns)
    for k, pwm in enumerate(pwms):
        got = res.pwms[f"filter_{k}"][:, : pwm.shape[1]]
        assert np.abs(got - pwm).max() < 0.3
        assert np.corrcoef(got.ravel(), pwm.ravel())[0, 1] > 0.9
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*target motifs.*")
        table = filter_matches(res, db)
    assert list(table["filter"]) == ["filter_0", "filter_1", "filter_2"]
    assert list(table["best_match"][:2]) == list(PLANTED)
    assert (table["q_value"][:2] < 0.05).all()
    assert table["best_match"][2] == "" and np.isnan(table["q_value"][2])
    assert table["ic"][0] > 5  # bits
    # without a database the match columns are empty
    bare = filter_matches(res)
    assert (bare["best_match"] == "").all() and bare["n_sites"].tolist() == table[
        "n_sites"
    ].tolist()


def test_filter_argument_errors():
    model = _DilatedNet().eval()
    X = torch.zeros(2, 4, 20)
    with pytest.raises(ValueError, match="deeper convolution"):
        filters_to_pwms(model, X, layer="conv2")
    with pytest.raises(ValueError, match="did you mean conv"):
        filters_to_pwms(model, X, layer="conv3")
    with pytest.raises(ValueError, match="threshold must lie"):
        filters_to_pwms(model, X, threshold=1.5)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        filters_to_pwms(model, torch.zeros(2, 20, 4))
    with pytest.raises(ValueError, match="no nn.Conv1d"):
        filters_to_pwms(nn.Sequential(nn.Flatten(), nn.Linear(80, 1)), X)
    strided = nn.Sequential(nn.Conv1d(4, 2, 3, stride=2))
    with pytest.raises(ValueError, match="stride 2"):
        filters_to_pwms(strided, X)
