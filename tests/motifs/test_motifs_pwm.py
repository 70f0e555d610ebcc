"""PWM utilities and sequence logos."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from genodeep.motifs import (
    consensus,
    information_content,
    log_odds,
    pfm_to_pwm,
    plot_logo,
    reverse_complement_pwm,
    save_logo,
    trim,
)


def _onehot(word: str) -> np.ndarray:
    m = np.zeros((4, len(word)))
    for j, c in enumerate(word):
        m["ACGT".index(c), j] = 1.0
    return m


def test_information_content_known_values():
    pwm = np.array(
        [[0.25, 1.0, 0.5, 0.0], [0.25, 0.0, 0.5, 1.0], [0.25, 0.0, 0.0, 0.0], [0.25, 0.0, 0.0, 0.0]]
    )
    np.testing.assert_allclose(information_content(pwm), [0.0, 2.0, 1.0, 2.0], atol=1e-12)
    assert information_content(pwm, total=True) == pytest.approx(5.0)
    # with a background, a certain C is worth log2(1 / 0.1) bits
    bg = [0.4, 0.1, 0.1, 0.4]
    assert information_content(pwm[:, 3:], bg)[0] == pytest.approx(math.log2(10))
    # relative entropy computed directly for a random column
    col = np.array([0.1, 0.2, 0.3, 0.4])
    expected = sum(p * math.log2(p / q) for p, q in zip(col, bg))
    assert information_content(col[:, None], bg)[0] == pytest.approx(expected)
    # counts are normalised per column
    np.testing.assert_allclose(information_content(pwm * 17), information_content(pwm))
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        information_content(np.ones((4,)))


def test_trim_removes_only_the_ends():
    uniform = np.full(4, 0.25)
    weak = np.array([0.3, 0.25, 0.25, 0.2])  # IC < 0.2 bits
    cols = [uniform, weak, [1, 0, 0, 0], weak, [0, 0.5, 0.5, 0], uniform]
    pwm = np.array(cols, dtype=float).T
    out, offset = trim(pwm, 0.2, return_offset=True)
    assert offset == 2 and out.shape == (4, 3)
    np.testing.assert_allclose(out, pwm[:, 2:5])
    np.testing.assert_allclose(trim(pwm, 1.5), pwm[:, 2:3])
    with pytest.raises(ValueError, match="min_ic"):
        trim(pwm, 2.5)


def test_reverse_complement_pwm():
    pwm = _onehot("AACGT")
    rc = reverse_complement_pwm(pwm)
    assert "".join("ACGT"[i] for i in rc.argmax(0)) == "ACGTT"
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 7))
    np.testing.assert_array_equal(reverse_complement_pwm(reverse_complement_pwm(x)), x)
    np.testing.assert_array_equal(reverse_complement_pwm(x)[1], x[1][::-1, ::-1])


def test_pfm_to_pwm_pseudocount():
    pfm = np.array([[3.0, 0], [1, 0], [0, 2], [0, 2]])
    np.testing.assert_allclose(pfm_to_pwm(pfm), [[0.75, 0], [0.25, 0], [0, 0.5], [0, 0.5]])
    out = pfm_to_pwm(pfm, pseudocount=1.0, background=[0.1, 0.4, 0.4, 0.1])
    np.testing.assert_allclose(out[:, 0], [3.1 / 5, 1.4 / 5, 0.4 / 5, 0.1 / 5])
    with pytest.raises(ValueError, match="sums to 0"):
        pfm_to_pwm(np.zeros((4, 2)))


def test_log_odds_is_the_log_likelihood_ratio():
    rng = np.random.default_rng(1)
    pwm = rng.dirichlet(np.ones(4), size=4).T
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    lo = log_odds(pwm, bg, pseudocount=0.0)
    for word in itertools.product(range(4), repeat=4):
        p_motif = np.prod([pwm[b, j] for j, b in enumerate(word)])
        p_bg = np.prod([bg[b] for b in word])
        assert sum(lo[b, j] for j, b in enumerate(word)) == pytest.approx(math.log2(p_motif / p_bg))
    sharp = _onehot("AC")
    assert log_odds(sharp, pseudocount=0)[0, 0] == pytest.approx(2.0)
    assert np.isneginf(log_odds(sharp, pseudocount=0)[1, 0])
    # smoothing: (0 + 0.1 * 0.25) / 1.1 against 0.25
    assert log_odds(sharp)[1, 0] == pytest.approx(math.log2(0.1 / 1.1))


def test_consensus_plain_and_iupac():
    cols = [
        [0.6, 0.2, 0.1, 0.1],  # A (> 0.5 and > 2x the second)
        [0.45, 0.05, 0.45, 0.05],  # R = A/G
        [0.3, 0.3, 0.38, 0.02],  # V = A/C/G (T near absent)
        [0.25, 0.25, 0.25, 0.25],  # N
        [0.0, 0.1, 0.1, 0.8],  # T
        [0.0, 0.5, 0.0, 0.5],  # Y = C/T
    ]
    pwm = np.array(cols).T
    assert consensus(pwm, iupac=True) == "ARVNTY"
    assert consensus(pwm) == "AAGATC"
    assert consensus(_onehot("TATCGATA")) == "TATCGATA"


def _is_png(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        return img.size


@pytest.mark.parametrize("mode", ["information", "probability", "weight"])
def test_save_logo_writes_png(tmp_path, mode):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 9)) if mode == "weight" else rng.dirichlet(np.ones(4), 9).T
    path = tmp_path / f"logo_{mode}.png"
    out = save_logo(path, values, mode=mode, title=mode)
    assert out == str(path)
    width, height = _is_png(path)
    assert width > 100 and height > 50
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_plot_logo_heights_and_errors():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    pwm = _onehot("ACG")
    pwm[:, 2] = 0.25
    out = plot_logo(pwm, ax, mode="information")
    assert out is ax and ax.get_ylabel() == "bits"
    from genodeep.motifs.logo import _logo_matrix

    # letter heights (w, 4): certain positions stand 2 bits tall, the uniform one 0
    expected = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(_logo_matrix(pwm, "information", None), expected, atol=1e-12)
    half = np.array([[0.5], [0.5], [0.0], [0.0]])
    np.testing.assert_allclose(_logo_matrix(half, "information", None), [[0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(_logo_matrix(half * 3, "probability", None), [[0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(_logo_matrix(-half, "weight", None), [[-0.5, -0.5, 0, 0]])
    with pytest.raises(ValueError, match="mode"):
        plot_logo(pwm, mode="bits")
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        plot_logo(np.ones((3, 4)))
