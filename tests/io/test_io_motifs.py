"""Motif file readers and writers: MEME minimal format, JASPAR, PFM."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genodeep._validate import InputFileError
from genodeep.io import counts_to_probabilities
from genodeep.io.jaspar import read_jaspar, read_pfm, write_jaspar
from genodeep.io.meme import read_meme, write_meme
from genodeep.io.motifs import read_motifs, select_motifs

HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"

TWO_MOTIFS = (
    HEADER
    + "MOTIF M1 alpha\n"
    + "letter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0\n"
    + "  0.1 0.2 0.3 0.4\n"
    + "  1.0 0.0 0.0 0.0\n"
    + "URL http://example.org/M1\n\n"
    + "MOTIF M2\n"
    + "letter-probability matrix: alength= 4 w= 3\n"
    + "0.25 0.25 0.25 0.25\n0 0 0 1\n0.5 0.5 0 0\n"
)


def _write(tmp_path, text, name="m.meme"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_meme_known_values(tmp_path):
    motifs = read_meme(_write(tmp_path, TWO_MOTIFS))
    assert list(motifs) == ["M1 alpha", "M2"]
    np.testing.assert_allclose(motifs["M1 alpha"], [[0.1, 1.0], [0.2, 0], [0.3, 0], [0.4, 0]])
    np.testing.assert_allclose(motifs["M2"][:, 2], [0.5, 0.5, 0, 0])
    assert motifs["M2"].dtype == np.float64 and motifs["M2"].shape == (4, 3)


def test_read_meme_normalises_rows_and_reads_gzip(tmp_path):
    text = HEADER + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n 2 2 4 0\n"
    path = tmp_path / "m.meme.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    np.testing.assert_allclose(read_motifs(path)["a"][:, 0], [0.25, 0.25, 0.5, 0.0])


def test_read_meme_skips_log_odds_and_reads_custom_dna_alphabet(tmp_path):
    text = (
        'MEME version 5\n\nALPHABET "DNA" DNA-LIKE\nA "Adenine" CC0000 ~ T "Thymine" 008000\n'
        'C "Cytosine" 0000CC ~ G "Guanine" FFB300\nN "Any base" = ACGT\nEND ALPHABET\n\n'
        "MOTIF x\nlog-odds matrix: alength= 4 w= 2 n= 100 bayes= 1 E= 0\n"
        " -1.5 2.0 -3.1 0.1\n 1 1 -1 -1\n"
        "letter-probability matrix: alength= 4 w= 2\n 0.7 0.1 0.1 0.1\n 0.1 0.1 0.1 0.7\n"
    )
    motifs = read_meme(_write(tmp_path, text))
    np.testing.assert_allclose(motifs["x"], [[0.7, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.7]])


@pytest.mark.parametrize(
    "text, line, words",
    [
        (HEADER, None, "no MOTIF"),
        ("", None, "empty"),
        (
            HEADER + "MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.1 0.2 0.7\n0 0 0 1\n",
            12,
            "3 columns",
        ),
        (
            HEADER
            + "MOTIF a\nletter-probability matrix: alength= 4 w= 3\n0.1 0.2 0.6 0.1\n0 0 0 1\n",
            11,
            "w= 3 but has 2",
        ),
        (
            HEADER + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 -0.2 0.6 0.1\n",
            12,
            "negative",
        ),
        (
            HEADER + "MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 nan 0.6 0.1\n",
            12,
            "NaN",
        ),
        ("MEME version 4\n\nALPHABET= ACGU\n\nMOTIF a\n", 3, "alphabet"),
        (
            HEADER + "MOTIF a\nletter-probability matrix: alength= 20 w= 1\n0.5 0.5 0 0\n",
            11,
            "alength",
        ),
        (HEADER + "MOTIF a\nURL x\nMOTIF b\n", 12, "no letter-probability matrix"),
        (HEADER + "MOTIF a\nletter-probability matrix: w= 1\n1 0 0 0\nMOTIF a\n", 13, "twice"),
        (HEADER + "MOTIF a\nletter-probability matrix: w= 1\n0 0 0 0\n", 12, "sums to 0"),
        (
            "MEME version 4\n\nMOTIF CCWGGAAA MEME-1\twidth =   8  sites =  12  llr = 112\n",
            3,
            "meme.txt",
        ),
    ],
)
def test_read_meme_errors_name_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputFileError) as info:
        read_meme(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert words in str(err)


def test_write_meme_round_trip_and_atomic(tmp_path, rng):
    motifs = {
        f"ID{i} name{i}": rng.dirichlet(np.ones(4), size=w).T for i, w in enumerate([1, 5, 12])
    }
    path = tmp_path / "out.meme"
    write_meme(path, motifs)
    back = read_meme(path)
    assert list(back) == list(motifs)
    for k in motifs:
        np.testing.assert_allclose(back[k], motifs[k], atol=2e-6)
    # a failing write leaves no output and no temporary file behind
    bad = dict(motifs)
    bad["zero"] = np.zeros((4, 3))
    target = tmp_path / "bad.meme"
    with pytest.raises(ValueError, match="zero"):
        write_meme(target, bad)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.meme"]
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        write_meme(tmp_path / "x.meme", {"t": np.ones((5, 4))})


@pytest.mark.slow
def test_read_jaspar_insects_meme(shared_data):
    motifs = read_motifs(shared_data / "motifs" / "JASPAR2024_CORE_insects.meme")
    assert len(motifs) == 286
    first = next(iter(motifs))
    assert first == "MA0010.2 br"
    assert motifs[first].shape == (4, 12)
    # first row of MA0010.2 in the file: 0.111111 0.111111 0.111111 0.666667
    np.testing.assert_allclose(
        motifs[first][:, 0], [0.111111, 0.111111, 0.111111, 0.666667], atol=1e-6
    )
    for pwm in motifs.values():
        np.testing.assert_allclose(pwm.sum(axis=0), 1.0, atol=1e-12)
    beaf = select_motifs(motifs, ["BEAF-32"])
    (key,) = beaf
    assert key.startswith("MA0529")
    letters = "".join("ACGT"[i] for i in beaf[key].argmax(axis=0))
    assert "CGATA" in letters
    assert any("su(Hw)" in k for k in motifs)


JASPAR_TEXT = """>MA0004.1 Arnt
A  [ 4 19  0  0  0  0 ]
C  [16  0 20  0  0  0 ]
G  [ 0  1  0 20  0 20 ]
T  [ 0  0  0  0 20  0 ]
>MA0006.1\tAhr::Arnt
T  [ 0  0  0  0  0 20 ]
C  [ 0 20  0  1  0  0 ]
G  [ 0  0 20 19  3  0 ]
A  [20  0  0  0 17  0 ]
"""


def test_read_jaspar_counts_to_probabilities(tmp_path):
    path = _write(tmp_path, JASPAR_TEXT, "db.jaspar")
    motifs = read_jaspar(path)
    assert list(motifs) == ["MA0004.1 Arnt", "MA0006.1 Ahr::Arnt"]
    np.testing.assert_allclose(motifs["MA0004.1 Arnt"][:, 0], [0.2, 0.8, 0, 0])
    # rows given in the order T C G A are mapped back to A C G T
    np.testing.assert_allclose(motifs["MA0006.1 Ahr::Arnt"][:, 4], [17 / 20, 0, 3 / 20, 0])
    # pseudocount: total per column spread over the uniform background
    smooth = read_jaspar(path, pseudocount=4.0)["MA0004.1 Arnt"]
    np.testing.assert_allclose(smooth[:, 0], [(4 + 1) / 24, (16 + 1) / 24, 1 / 24, 1 / 24])
    np.testing.assert_allclose(
        counts_to_probabilities(np.array([[4.0], [16], [0], [0]]), pseudocount=4.0)[:, 0],
        smooth[:, 0],
    )


def test_write_jaspar_round_trip(tmp_path, rng):
    motifs = {
        "A1 x": rng.dirichlet(np.ones(4), size=7).T,
        "A2": rng.dirichlet(np.ones(4), size=3).T,
    }
    path = tmp_path / "out.jaspar"
    write_jaspar(path, motifs)
    back = read_motifs(path)
    for k in motifs:
        np.testing.assert_allclose(back[k], motifs[k], atol=2e-6)
    write_jaspar(path, {"c": np.array([[0.5], [0.25], [0.25], [0.0]])}, nsites=20)
    assert "A  [ 10 ]" in path.read_text()
    np.testing.assert_allclose(read_jaspar(path)["c"][:, 0], [0.5, 0.25, 0.25, 0.0])


def test_read_pfm_with_and_without_header(tmp_path):
    body = "4 19 0\n16 0 20\n0 1 0\n0 0 0\n"
    plain = read_pfm(_write(tmp_path, body, "Arnt.pfm"))
    assert list(plain) == ["Arnt"]
    np.testing.assert_allclose(plain["Arnt"][:, 1], [19 / 20, 0, 1 / 20, 0])
    headed = read_motifs(_write(tmp_path, ">MA1 x\n" + body, "h.pfm"))
    assert list(headed) == ["MA1 x"]
    np.testing.assert_allclose(headed["MA1 x"], plain["Arnt"])


@pytest.mark.parametrize(
    "text, line, words",
    [
        (">m\nA [1 2]\nC [1 2]\nG [1 2]\n", 4, "3 count rows"),
        (">m\nA [1 2]\nC [1 2 3]\nG [1 2]\nT [1 2]\n", 3, "different numbers"),
        (">m\nA [1 -2]\nC [1 2]\nG [1 2]\nT [1 2]\n", 2, "negative"),
        (">m\nA [1 x]\nC [1 2]\nG [1 2]\nT [1 2]\n", 2, "non-numeric"),
        (">m\nA [0 1]\nC [0 2]\nG [0 2]\nT [0 2]\n", 1, "sums to 0"),
        (">m\nA [1]\nC [1]\nG [1]\nG [1]\n", 2, "not A, C, G, T"),
        ("", None, "empty"),
    ],
)
def test_read_jaspar_errors(tmp_path, text, line, words):
    path = _write(tmp_path, text, "bad.jaspar")
    with pytest.raises(InputFileError) as info:
        read_jaspar(path)
    assert info.value.line == line
    assert words in str(info.value)


def test_read_motifs_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        read_motifs(_write(tmp_path, TWO_MOTIFS, "m.xyz"))


def test_select_motifs_by_key_id_and_name(tmp_path):
    motifs = read_meme(_write(tmp_path, TWO_MOTIFS))
    assert list(select_motifs(motifs, ["M2", "alpha"])) == ["M2", "M1 alpha"]
    assert list(select_motifs(motifs, ["M1 alpha"])) == ["M1 alpha"]
    with pytest.raises(ValueError, match="alpha"):
        select_motifs(motifs, ["alpah"])


# --- fuzzing -----------------------------------------------------------------------------------

_LINES = st.sampled_from(
    [
        "MEME version 4",
        "ALPHABET= ACGT",
        "ALPHABET= ACGU",
        "strands: + -",
        "Background letter frequencies",
        "A 0.25 C 0.25 G 0.25 T 0.25",
        "MOTIF m1 a",
        "MOTIF m2",
        "MOTIF",
        "MOTIF 1",
        "letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0",
        "letter-probability matrix: alength= 4 w= x",
        "letter-probability matrix:",
        "log-odds matrix: alength= 4 w= 1",
        "0.1 0.2 0.3 0.4",
        "1 0 0 0",
        "0 0 0 0",
        "-1 2 3 4",
        "0.5 0.5",
        "nan 1 1 1",
        "1e-3 1 1 1",
        "URL http://x",
        "",
        "   ",
        'ALPHABET "DNA"',
        "END ALPHABET",
        'A "Adenine" ~ T "Thymine"',
        "# comment",
        "\x00\x01",
        "inf 0 0 0",
    ]
)


def _check_result(motifs):
    assert isinstance(motifs, dict) and motifs
    for pwm in motifs.values():
        assert pwm.shape[0] == 4 and pwm.shape[1] >= 1
        assert np.all(np.isfinite(pwm)) and np.all(pwm >= 0)
        np.testing.assert_allclose(pwm.sum(axis=0), 1.0, atol=1e-9)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_LINES, max_size=25))
def test_fuzz_read_meme_line_soup(tmp_path, lines):
    path = tmp_path / "fuzz.meme"
    path.write_text("\n".join(lines) + "\n")
    try:
        motifs = read_meme(path)
    except InputFileError as err:
        assert err.path == str(path)
        return
    _check_result(motifs)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_read_meme_mutated_valid_file(tmp_path, data):
    lines = TWO_MOTIFS.splitlines()
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "replace", "truncate"]))
        if action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "replace":
            lines[i] = data.draw(st.text(max_size=20))
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, max(len(lines[i]) - 1, 0)))]
    path = tmp_path / "mut.meme"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        motifs = read_meme(path)
    except InputFileError:
        return
    _check_result(motifs)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    widths=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_fuzz_meme_and_jaspar_round_trip(tmp_path, widths, seed):
    rng = np.random.default_rng(seed)
    motifs = {f"M{i} n{i}": rng.dirichlet(np.full(4, 0.3), size=w).T for i, w in enumerate(widths)}
    for name, writer in (("r.meme", write_meme), ("r.jaspar", write_jaspar)):
        writer(tmp_path / name, motifs)
        back = read_motifs(tmp_path / name)
        assert list(back) == list(motifs)
        for k, v in motifs.items():
            assert np.max(np.abs(back[k] - v)) < 2e-6 * max(1, math.sqrt(v.shape[1]))


def test_meme_files_agree_with_memelite_both_ways(tmp_path, rng):
    """memelite (the reference reader/writer) and ours read each other's MEME files the same."""
    io = pytest.importorskip("memelite.io")
    motifs = {}
    for k, w in enumerate((3, 8, 12)):
        m = rng.random((4, w)) + 0.01
        motifs[f"MA000{k}.1 tf{k}"] = m / m.sum(axis=0)
    ours = tmp_path / "ours.meme"
    write_meme(ours, motifs, background=[0.3, 0.2, 0.2, 0.3], nsites=17)
    theirs = io.read_meme(str(ours))
    assert list(theirs) == list(motifs)
    for name, m in motifs.items():
        np.testing.assert_allclose(theirs[name], m, atol=2e-6)
    written = tmp_path / "memelite.meme"
    io.write_meme(str(written), motifs)
    back = read_meme(written)
    assert list(back) == list(motifs)
    for name, m in motifs.items():
        np.testing.assert_allclose(back[name], m, rtol=1e-12)


def test_jaspar_database_offline_matches_the_shipped_meme():
    """jaspar:insects@2024 read from pyjaspar's SQLite equals JASPAR's own MEME export (shipped)."""
    pytest.importorskip("pyjaspar")
    from genodeep import example_data
    from genodeep.io import read_motifs
    from genodeep.io.jaspar_db import describe_jaspar_spec, jaspar_releases

    if 2024 not in jaspar_releases():
        pytest.skip("this pyjaspar has no JASPAR 2024")
    ours = read_motifs("jaspar:insects@2024")
    meme = read_motifs(example_data.insect_motifs())
    assert list(ours) == sorted(meme)  # same 286 matrices, latest versions, "ID name" keys
    for key, pwm in meme.items():
        np.testing.assert_allclose(ours[key], pwm, atol=2e-6)
    vert = read_motifs("jaspar:vertebrates")
    assert len(vert) > 800 and all(k.startswith(("MA", "UN")) for k in vert)
    assert "vertebrates" in describe_jaspar_spec("jaspar:vertebrates")
    with pytest.raises(ValueError, match="not a JASPAR .* group.*vertebrates"):
        read_motifs("jaspar:vertebrate")
