"""Dinucleotide shuffles: exact dinucleotide counts, kept ends, randomness and uniformity."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from scipy import stats

from genodeep.seq import decode, dinucleotide_shuffle, one_hot


def dinucs(s: str) -> Counter:
    return Counter(s[i : i + 2] for i in range(len(s) - 1))


def all_walks(seq: str) -> set[str]:
    """Brute force: every sequence starting with seq[0] that uses each dinucleotide of seq once."""
    left = dinucs(seq)
    found: set[str] = set()

    def walk(prefix: str) -> None:
        if len(prefix) == len(seq):
            found.add(prefix)
            return
        for b in "ACGT":
            edge = prefix[-1] + b
            if left[edge] > 0:
                left[edge] -= 1
                walk(prefix + b)
                left[edge] += 1

    walk(seq[0])
    return found


def test_dinucleotide_counts_and_ends_are_preserved(rng):
    seqs = ["".join(rng.choice(list("ACGT"), 1000)) for _ in range(4)]
    seqs.append("".join(rng.choice(list("AAAACGTN"), 1000)))  # skewed, with N
    X = one_hot(seqs)
    S = dinucleotide_shuffle(X, n=5, random_state=0)
    assert S.shape == (5, 5, 4, 1000) and S.dtype == torch.int8
    for i, seq in enumerate(seqs):
        for shuffled in decode(S[i]):
            assert dinucs(shuffled) == dinucs(seq)
            assert shuffled[0] == seq[0] and shuffled[-1] == seq[-1]
            assert shuffled != seq  # a 1 kb sequence essentially never comes back unchanged
    assert len({decode(S[0, r]) for r in range(5)}) == 5


def test_reproducible_and_seed_dependent(rng):
    X = one_hot("".join(rng.choice(list("ACGT"), 300)))
    a = dinucleotide_shuffle(X, n=3, random_state=7)
    assert a.shape == (3, 4, 300)
    assert torch.equal(a, dinucleotide_shuffle(X, n=3, random_state=7))
    assert not torch.equal(a, dinucleotide_shuffle(X, n=3, random_state=8))
    assert torch.equal(
        dinucleotide_shuffle(X, random_state=np.random.default_rng(3)),
        dinucleotide_shuffle(X, random_state=np.random.default_rng(3)),
    )


def test_dtype_kept_and_input_not_modified(rng):
    X = one_hot(["".join(rng.choice(list("ACGT"), 50))]).float()
    before = X.clone()
    S = dinucleotide_shuffle(X, n=2, random_state=0)
    assert S.dtype == torch.float32 and S.shape == (1, 2, 4, 50)
    assert torch.equal(X, before)


def test_uniform_over_all_valid_sequences():
    """Every sequence with the same dinucleotides, first and last base is equally likely."""
    seq = "AACAGTACAAGTCAT"
    valid = sorted(all_walks(seq))
    assert len(valid) > 10
    n = 200 * len(valid)
    S = dinucleotide_shuffle(one_hot(seq), n=n, random_state=1)
    counts = Counter(decode(S))
    assert set(counts) == set(valid)
    chi2 = stats.chisquare([counts[v] for v in valid])
    assert chi2.pvalue > 1e-3, (chi2, counts)


def test_short_sequences_unchanged_and_bad_input():
    X = one_hot(["AC", "GT"])
    assert torch.equal(dinucleotide_shuffle(X, n=2)[:, 0], X)
    with pytest.raises(ValueError, match="one-hot"):
        dinucleotide_shuffle(torch.rand(2, 4, 10))
    with pytest.raises(ValueError, match="shape"):
        dinucleotide_shuffle(torch.zeros(2, 5, 10))
    with pytest.raises(ValueError, match="n must be"):
        dinucleotide_shuffle(X, n=0)
