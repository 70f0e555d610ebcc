"""Simulated sequences with planted motifs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genodeep.cli.__main__ import main
from genodeep.seq.simulate import (
    sample_background,
    simulate_grammar,
    simulate_motif_presence,
    write_simulation,
)

_COMP = str.maketrans("ACGT", "TGCA")


def _rc(s: str) -> str:
    return s.translate(_COMP)[::-1]


def _pwm(word: str) -> np.ndarray:
    """Deterministic motif: probability 1 for each letter of ``word``."""
    m = np.zeros((4, len(word)))
    for j, c in enumerate(word):
        m["ACGT".index(c), j] = 1.0
    return m


def test_sample_background_gc_and_reproducibility():
    seqs = sample_background(200, 500, gc=0.3, random_state=1)
    assert len(seqs) == 200 and {len(s) for s in seqs} == {500}
    text = "".join(seqs)
    assert set(text) <= set("ACGT")
    gc = (text.count("G") + text.count("C")) / len(text)
    assert abs(gc - 0.3) < 0.01
    # A and T equally likely, G and C equally likely
    assert abs(text.count("A") - text.count("T")) / len(text) < 0.01
    assert sample_background(3, 20, random_state=5) == sample_background(3, 20, random_state=5)
    assert sample_background(3, 20, random_state=5) != sample_background(3, 20, random_state=6)
    assert set("".join(sample_background(5, 50, gc=1.0, random_state=0))) <= set("GC")
    with pytest.raises(ValueError, match="gc"):
        sample_background(2, 10, gc=1.5)


def test_presence_planted_sites_known_answer():
    motifs = {"m1": _pwm("ACCGGTTGGA"), "m2": _pwm("TTTTCCCA")}
    seqs, labels, planted = simulate_motif_presence(
        300, 120, motifs, gc=0.5, n_per_seq=2, random_state=0
    )
    assert labels.shape == (300, 2) and labels.dtype == np.float32
    assert 0.35 < labels.mean() < 0.65
    assert list(planted.columns) == ["seq", "motif", "start", "end", "strand"]
    counts = planted.groupby(["seq", "motif"]).size()
    for (i, name), c in counts.items():
        assert c == 2 and labels[i, list(motifs).index(name)] == 1
    assert len(planted) == 2 * labels.sum()
    words = {k: "".join("ACGT"[i] for i in v.argmax(axis=0)) for k, v in motifs.items()}
    for row in planted.itertuples():
        site = seqs[row.seq][row.start : row.end]
        expected = words[row.motif] if row.strand == "+" else _rc(words[row.motif])
        assert site == expected
    assert set(planted["strand"]) == {"+", "-"}
    # instances in one sequence never overlap
    for _, grp in planted.groupby("seq"):
        g = grp.sort_values("start")
        assert np.all(g["start"].to_numpy()[1:] >= g["end"].to_numpy()[:-1])


def test_presence_samples_letters_from_the_pwm(rng):
    pwm = rng.dirichlet(np.ones(4), size=5).T
    seqs, labels, planted = simulate_motif_presence(
        3000, 12, {"m": pwm}, positive_fraction=1.0, random_state=2
    )
    assert labels.all()
    freq = np.zeros((4, 5))
    for row in planted.itertuples():
        site = seqs[row.seq][row.start : row.end]
        if row.strand == "-":
            site = _rc(site)
        for j, c in enumerate(site):
            freq["ACGT".index(c), j] += 1
    freq /= len(planted)
    # 3000 draws: binomial standard error <= 0.009
    np.testing.assert_allclose(freq, pwm, atol=0.04)


def test_presence_rejects_bad_input():
    with pytest.raises(ValueError, match="too short"):
        simulate_motif_presence(5, 10, {"a": _pwm("ACGTAC"), "b": _pwm("ACGTAC")})
    with pytest.raises(ValueError, match=r"\(4, w\)"):
        simulate_motif_presence(5, 100, {"a": np.ones((6, 4))})


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_grammar_positives_fixed_arrangement_negatives_random(order):
    a, b = "GATTACAGC", "CCGTTA"
    seqs, labels, planted = simulate_grammar(
        400, 80, _pwm(a), _pwm(b), spacing=7, order=order, positive_fraction=0.25, random_state=3
    )
    assert labels.shape == (400, 1) and labels.dtype == np.float32
    assert labels.sum() == 100
    assert (planted.groupby("seq").size() == 2).all()
    neg_orders, neg_gaps = set(), set()
    for i in range(400):
        rows = planted[planted["seq"] == i].set_index("motif")
        sa, sb = rows.loc["motif_a", "start"], rows.loc["motif_b", "start"]
        assert seqs[i][sa : sa + len(a)] == a and seqs[i][sb : sb + len(b)] == b
        first = "ab" if sa < sb else "ba"
        gap = sb - (sa + len(a)) if first == "ab" else sa - (sb + len(b))
        assert gap >= 0
        if labels[i, 0] == 1:
            assert first == order and gap == 7
        else:
            assert gap != 7
            neg_orders.add(first)
            neg_gaps.add(gap)
    assert neg_orders == {"ab", "ba"}
    assert len(neg_gaps) > 20  # gaps spread over the feasible range 0..65


def test_grammar_matches_composition_between_classes():
    # both classes carry the same planted words, so the mean 3-mer content is the same up to noise
    seqs, labels, _ = simulate_grammar(
        2000, 60, _pwm("TGCATACT"), _pwm("CGATAAG"), spacing=4, random_state=4
    )

    def kmer_table(ss):
        t = pd.Series([s[i : i + 3] for s in ss for i in range(len(s) - 2)]).value_counts()
        return t / t.sum()

    pos = kmer_table([s for s, y in zip(seqs, labels[:, 0]) if y == 1])
    neg = kmer_table([s for s, y in zip(seqs, labels[:, 0]) if y == 0])
    diff = (pos - neg).abs().max()
    assert diff < 0.004
    with pytest.raises(ValueError, match="too short"):
        simulate_grammar(5, 12, _pwm("ACGTAC"), _pwm("ACGTAC"), spacing=3)
    with pytest.raises(ValueError, match="order"):
        simulate_grammar(5, 50, _pwm("ACG"), _pwm("ACG"), order="abc")


def test_write_simulation_files(tmp_path):
    seqs, labels, planted = simulate_motif_presence(
        7, 100, {"x": _pwm("ACGTACGT"), "y": _pwm("GGGCCC")}, random_state=0
    )
    paths = write_simulation(tmp_path / "sim", seqs, labels, planted, ["x", "y"])
    fasta = (tmp_path / "sim" / "sequences.fa").read_text().split("\n")
    assert fasta[0] == ">seq0" and fasta[1] == seqs[0][:80] and fasta[2] == seqs[0][80:]
    table = pd.read_csv(paths["labels"], sep="\t")
    assert list(table.columns) == ["name", "x", "y"]
    np.testing.assert_array_equal(table[["x", "y"]].to_numpy(), labels)
    back = pd.read_csv(paths["planted"], sep="\t")
    assert list(back.columns) == ["seq", "name", "motif", "start", "end", "strand"]
    assert (back["name"] == "seq" + back["seq"].astype(str)).all()
    with pytest.raises(ValueError, match="task_names"):
        write_simulation(tmp_path / "bad", seqs, labels, planted, ["x"])
    assert not (tmp_path / "bad" / "sequences.fa").exists()


def test_cli_simulate_grammar_with_shipped_motifs(tmp_path):
    out = tmp_path / "g"
    args = [
        "simulate",
        "--out",
        str(out),
        "--mode",
        "grammar",
        "--names",
        "BEAF-32",
        "su(Hw)",
        "--n",
        "40",
        "--length",
        "100",
        "--spacing",
        "5",
        "--random-state",
        "0",
    ]
    assert main(["-q", *args]) == 0
    planted = pd.read_csv(out / "planted.tsv", sep="\t")
    assert set(planted["motif"]) == {"MA0529.3 BEAF-32", "MA0533.1 su(Hw)"}
    labels = pd.read_csv(out / "labels.tsv", sep="\t")
    assert list(labels.columns) == ["name", "grammar"] and len(labels) == 40
    first = (out / "sequences.fa").read_text()
    assert main(["-q", *args]) == 0  # same seed, same output
    assert (out / "sequences.fa").read_text() == first
    assert main(["-q", "simulate", "--out", str(tmp_path / "e"), "--names", "nosuchmotif"]) == 1


@pytest.mark.slow
def test_cli_simulate_presence_with_jaspar_file(tmp_path, shared_data):
    out = tmp_path / "p"
    motif_file = shared_data / "motifs" / "JASPAR2024_CORE_insects.meme"
    assert (
        main(
            [
                "-q",
                "simulate",
                "--out",
                str(out),
                "--mode",
                "presence",
                "--motifs",
                str(motif_file),
                "--names",
                "MA0529.3",
                "MA0533.1",
                "--n",
                "30",
                "--length",
                "120",
                "--gc",
                "0.4",
                "--random-state",
                "0",
            ]
        )
        == 0
    )
    labels = pd.read_csv(out / "labels.tsv", sep="\t")
    assert list(labels.columns) == ["name", "MA0529.3 BEAF-32", "MA0533.1 su(Hw)"]
