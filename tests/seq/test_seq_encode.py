"""One-hot encoding, decoding and reverse complement against naive references."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from genodeep.seq import ALPHABET, decode, encode, one_hot, one_hot_codes, reverse_complement
from genodeep.seq.encode import codes_from_one_hot

IUPAC = "NRYSWKMBDHV"
ALL_LETTERS = "ACGTacgt" + IUPAC + IUPAC.lower()


def naive_one_hot(seq: str) -> np.ndarray:
    """Reference: one column per base, A/C/G/T rows, any case; everything else all-zero."""
    X = np.zeros((4, len(seq)), dtype=np.int8)
    for j, ch in enumerate(seq.upper()):
        if ch in ALPHABET:
            X[ALPHABET.index(ch), j] = 1
    return X


def random_seqs(rng, n, length, letters=ALL_LETTERS):
    return ["".join(rng.choice(list(letters), length)) for _ in range(n)]


def naive_rc(seq: str) -> str:
    comp = dict(zip("ACGTRYKMSWBDHVN", "TGCAYRMKSWVHDBN"))
    return "".join(comp[c] for c in reversed(seq.upper()))


def test_one_hot_matches_naive_reference(rng):
    seqs = random_seqs(rng, 40, 57)
    X = one_hot(seqs)
    assert X.shape == (40, 4, 57) and X.dtype == torch.int8
    ref = np.stack([naive_one_hot(s) for s in seqs])
    np.testing.assert_array_equal(X.numpy(), ref)


def test_one_hot_across_chunk_boundary(rng, monkeypatch):
    # more sequences than one kernel call takes (5 here) and an error in a later chunk
    monkeypatch.setattr(importlib.import_module("genodeep.seq.encode"), "_BYTES_PER_CHUNK", 45)
    seqs = random_seqs(rng, 1100, 9, "ACGTN")
    np.testing.assert_array_equal(one_hot(seqs).numpy(), np.stack([naive_one_hot(s) for s in seqs]))
    seqs[1050] = seqs[1050][:4] + "X" + seqs[1050][5:]
    with pytest.raises(ValueError, match=r"sequence 1050, position 4: character 'X'"):
        one_hot(seqs)
    with pytest.raises(ValueError, match=r"sequence 1050, position 4: character 'X'"):
        encode(seqs)


def test_single_string_and_bytes():
    X = one_hot("ACGTN")
    assert X.shape == (4, 5)
    np.testing.assert_array_equal(X.numpy(), naive_one_hot("ACGTN"))
    np.testing.assert_array_equal(one_hot(b"acgtn").numpy(), X.numpy())
    np.testing.assert_array_equal(one_hot([b"ACGTN", b"NNNNA"])[0].numpy(), X.numpy())
    np.testing.assert_array_equal(one_hot(np.array(["ACGTN"]))[0].numpy(), X.numpy())


def test_encode_known_codes():
    np.testing.assert_array_equal(encode("ACGTacgtNRYn"), [0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4, 4])
    codes = encode(["AC", "GT"])
    assert codes.dtype == np.uint8 and codes.shape == (2, 2)
    np.testing.assert_array_equal(codes, [[0, 1], [2, 3]])


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8, torch.bool, torch.float64])
def test_dtypes_hold_the_same_values(rng, dtype):
    seqs = random_seqs(rng, 5, 20)
    X = one_hot(seqs, dtype=dtype)
    assert X.dtype == dtype
    np.testing.assert_array_equal(X.to(torch.int8).numpy(), one_hot(seqs).numpy())


def test_one_hot_codes_equals_strings(rng):
    seqs = random_seqs(rng, 8, 30)
    codes = encode(seqs)
    np.testing.assert_array_equal(one_hot_codes(codes).numpy(), one_hot(seqs).numpy())
    np.testing.assert_array_equal(one_hot(codes).numpy(), one_hot(seqs).numpy())
    np.testing.assert_array_equal(
        one_hot_codes(codes.astype(np.int64)).numpy(), one_hot(seqs).numpy()
    )
    assert one_hot_codes(codes[0]).shape == (4, 30)


def test_one_hot_codes_rejects_bad_codes():
    with pytest.raises(ValueError, match=r"sequence 0, position 2 is 7"):
        one_hot_codes(np.array([[0, 1, 7]], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"0-4"):
        one_hot_codes(np.array([[0, -1, 2]]))
    with pytest.raises(TypeError):
        one_hot_codes(np.zeros((2, 3), dtype=np.float32))


def test_decode_round_trip(rng):
    seqs = random_seqs(rng, 10, 33)
    expected = ["".join(c if c in ALPHABET else "N" for c in s.upper()) for s in seqs]
    assert decode(one_hot(seqs)) == expected
    assert decode(one_hot(seqs[0])) == expected[0]
    assert decode(one_hot(seqs).float().numpy()) == expected
    # the largest channel wins for non-binary columns
    probs = torch.tensor([[0.1, 0.7], [0.2, 0.1], [0.6, 0.1], [0.1, 0.1]])
    assert decode(probs) == "GA"


def test_reverse_complement_string_known_answer():
    assert reverse_complement("ACGTRYKMSWBDHVN") == "NBDHVWSKMRYACGT"
    assert reverse_complement("aacG") == "Cgtt"
    assert reverse_complement(b"AACG") == b"CGTT"
    assert reverse_complement(["AC", "GG"]) == ["GT", "CC"]


def test_reverse_complement_of_one_hot_equals_one_hot_of_rc(rng):
    seqs = random_seqs(rng, 6, 41)
    X = one_hot(seqs)
    rc = reverse_complement(X)
    np.testing.assert_array_equal(rc.numpy(), one_hot([naive_rc(s) for s in seqs]).numpy())
    np.testing.assert_array_equal(reverse_complement(X.numpy()), rc.numpy())
    assert torch.equal(reverse_complement(rc), X)  # an involution
    assert torch.equal(X, one_hot(seqs))  # input not modified


def test_invalid_character_names_index_position_and_character():
    with pytest.raises(ValueError, match=r"sequence 1, position 2: character '-'") as err:
        one_hot(["ACGT", "AC-T"])
    assert "IUPAC" in str(err.value) and "Fix" in str(err.value)
    with pytest.raises(ValueError, match=r"sequence 0, position 3: character 'é'"):
        encode(["ACGé"])
    with pytest.raises(ValueError, match=r"position 1: character 'U'"):
        one_hot("AUG")
    with pytest.raises(ValueError, match=r"position 2: byte 0xff"):
        one_hot(b"AC\xffT")


def test_unequal_lengths_and_bad_types():
    with pytest.raises(ValueError, match=r"sequence 2 has length 3"):
        one_hot(["ACGT", "ACGT", "ACG"])
    with pytest.raises(TypeError, match=r"seqs\[1\]"):
        one_hot(["ACGT", 5])
    with pytest.raises(TypeError, match="mixture"):
        one_hot(["ACGT", b"ACGT"])
    with pytest.raises(TypeError, match="already encoded"):
        one_hot(torch.zeros(2, 4, 5))


def test_empty_inputs():
    assert one_hot([]).shape == (0, 4, 0)
    assert one_hot("").shape == (4, 0)
    assert decode(one_hot(["", ""])) == ["", ""]


def test_codes_from_one_hot_marks_n():
    X = one_hot(["ACGTN"])
    np.testing.assert_array_equal(codes_from_one_hot(X), [[0, 1, 2, 3, 4]])


def test_cli_onehot_fasta(tmp_path, rng):
    from genodeep.cli.__main__ import main
    from genodeep.io import write_fasta

    seqs = {f"s{i}": s for i, s in enumerate(random_seqs(rng, 4, 25, "ACGTN"))}
    write_fasta(tmp_path / "in.fa", seqs, line_width=10)
    out = tmp_path / "X.npz"
    assert main(["-q", "onehot", "--fasta", str(tmp_path / "in.fa"), "--out", str(out)]) == 0
    data = np.load(out)
    assert data["X"].dtype == np.int8
    np.testing.assert_array_equal(data["X"], np.stack([naive_one_hot(s) for s in seqs.values()]))
    assert data["names"].tolist() == list(seqs)


def test_cli_onehot_genome_bed(tmp_path, rng):
    pytest.importorskip("genodeep.io.bed")
    from genodeep.cli.__main__ import main
    from genodeep.io import Genome, write_fasta

    chrom = "".join(rng.choice(list("ACGT"), 300))
    write_fasta(tmp_path / "g.fa", {"chr1": chrom})
    (tmp_path / "w.bed").write_text("chr1\t10\t30\n1\t280\t290\n")
    out = tmp_path / "W.npz"
    args = ["-q", "onehot", "--genome", str(tmp_path / "g.fa"), "--bed", str(tmp_path / "w.bed")]
    assert main([*args, "--length", "40", "--out", str(out)]) == 0
    data = np.load(out)
    starts = [20 - 20, 285 - 20]
    assert data["starts"].tolist() == starts
    genome = Genome(tmp_path / "g.fa", verbose=False)
    expected = np.stack([naive_one_hot(genome.fetch("chr1", s, s + 40)) for s in starts])
    np.testing.assert_array_equal(data["X"], expected)
    # unequal intervals without --length: a clear error, no output file
    assert main([*args, "--out", str(tmp_path / "bad.npz")]) == 1
    assert not (tmp_path / "bad.npz").exists()
