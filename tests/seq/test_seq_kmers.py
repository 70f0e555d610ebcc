"""k-mer counts against collections.Counter."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from genodeep.seq import kmer_counts, kmer_names, one_hot


def rc(s: str) -> str:
    return s.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def counter_reference(seq: str, k: int, collapse: bool) -> Counter:
    counts: Counter = Counter()
    for i in range(len(seq) - k + 1):
        kmer = seq[i : i + k]
        if set(kmer) <= set("ACGT"):
            counts[min(kmer, rc(kmer)) if collapse else kmer] += 1
    return counts


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("collapse", [False, True])
def test_counts_match_counter(rng, k, collapse):
    seqs = ["".join(rng.choice(list("ACGTACGTN"), 120)) for _ in range(6)]
    counts = kmer_counts(seqs, k, collapse_rc=collapse)
    names = kmer_names(k, collapse_rc=collapse)
    assert counts.dtype == np.float32 and counts.shape == (6, len(names))
    for row, seq in zip(counts, seqs):
        ref = counter_reference(seq, k, collapse)
        expected = np.array([ref.get(name, 0) for name in names], dtype=np.float32)
        np.testing.assert_array_equal(row, expected)


def test_lowercase_and_one_hot_input_agree(rng):
    seqs = ["".join(rng.choice(list("ACGTN"), 50)) for _ in range(3)]
    a = kmer_counts(seqs, 3)
    np.testing.assert_array_equal(kmer_counts([s.lower() for s in seqs], 3), a)
    np.testing.assert_array_equal(kmer_counts(one_hot(seqs), 3), a)
    np.testing.assert_array_equal(kmer_counts(one_hot(seqs).float().numpy(), 3), a)
    np.testing.assert_array_equal(kmer_counts(seqs[0], 3), a[:1])


def test_known_answer_and_palindromes():
    names = kmer_names(2)
    c = kmer_counts("AAAA", 2)[0]
    assert c[names.index("AA")] == 3 and c.sum() == 3
    # "ACGT" is its own reverse complement: counted once per occurrence when collapsing
    cn = kmer_names(4, collapse_rc=True)
    c = kmer_counts("ACGTNACGT", 4, collapse_rc=True)[0]
    assert c[cn.index("ACGT")] == 2 and c.sum() == 2
    # "AC" and its reverse complement "GT" share the canonical column "AC"
    c2 = kmer_counts("ACNGT", 2, collapse_rc=True)[0]
    assert c2[kmer_names(2, collapse_rc=True).index("AC")] == 2


def test_names_sizes_order_and_normalize():
    assert kmer_names(1) == ["A", "C", "G", "T"]
    assert kmer_names(2)[:5] == ["AA", "AC", "AG", "AT", "CA"]
    assert len(kmer_names(8)) == 4**8
    for k in (1, 2, 3, 4, 6):
        expected = (4**k + 4 ** (k // 2)) // 2 if k % 2 == 0 else 4**k // 2
        assert len(kmer_names(k, collapse_rc=True)) == expected
    assert all(n <= rc(n) for n in kmer_names(5, collapse_rc=True))
    normed = kmer_counts(["ACGTTGCA", "NNNNNNNN"], 3, normalize=True)
    assert normed[0].sum() == pytest.approx(1.0) and normed[1].sum() == 0


def test_bad_k():
    with pytest.raises(ValueError, match="between 1 and 8"):
        kmer_counts("ACGT", 9)
    with pytest.raises(ValueError, match="between 1 and 8"):
        kmer_names(0)
    with pytest.raises(TypeError):
        kmer_counts("ACGT", 2.5)
    assert kmer_counts("ACG", 5).sum() == 0  # longer than the sequence: no k-mer
