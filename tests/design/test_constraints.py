"""Design constraints against plain-string brute force: allowed substitutions, site counts, validity."""

from __future__ import annotations

import re

import pytest
import torch

from genodeep.seqdesign.constraints import ENZYMES, Constraints, parse_sites
from toy_models import random_onehot

IUPAC = {
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "T",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}
COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}


def to_str(x: torch.Tensor) -> str:
    return "".join("ACGT"[i] for i in x.argmax(0).tolist())


def to_onehot(seqs: list[str]) -> torch.Tensor:
    idx = torch.tensor([["ACGT".index(b) for b in s] for s in seqs])
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def revcomp_site(site: str) -> str:
    # the complement of an IUPAC letter is the set of complements of its bases
    out = []
    for letter in reversed(site):
        bases = set(COMP[b] for b in IUPAC[letter])
        out.append(next(k for k, v in IUPAC.items() if set(v) == bases))
    return "".join(out)


def occurrences(seq: str, sites: list[str]) -> set[tuple[str, int]]:
    """Every (pattern, start) where a site or its reverse complement matches, overlaps included."""
    found = set()
    for site in sites:
        for pat in {site, revcomp_site(site)}:
            rx = re.compile("(?=" + "".join(f"[{IUPAC[c]}]" for c in pat) + ")")
            found |= {(pat, m.start()) for m in rx.finditer(seq)}
    return found


def gc_dist(seq: str, gc) -> float:
    v, n = sum(b in "GC" for b in seq), len(seq)
    return max(gc[0] * n - v, 0) + max(v - gc[1] * n, 0)


def brute_allowed(seq: str, seed: str, *, gc=None, sites=(), fixed=(), max_edits=None):
    """(4, L) bool of allowed substitutions, computed on strings."""
    out = torch.zeros(4, len(seq), dtype=torch.bool)
    before = occurrences(seq, list(sites))
    for pos in range(len(seq)):
        for b, base in enumerate("ACGT"):
            if base == seq[pos] or any(s <= pos < e for s, e in fixed):
                continue
            new = seq[:pos] + base + seq[pos + 1 :]
            if gc is not None and gc_dist(new, gc) > gc_dist(seq, gc) + 1e-9:
                continue
            if occurrences(new, list(sites)) - before:
                continue
            if max_edits is not None and sum(a != c for a, c in zip(new, seed)) > max_edits:
                continue
            out[b, pos] = True
    return out


def mutate(X: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Each sequence with ``k`` random positions set to a random (possibly same) base."""
    g = torch.Generator().manual_seed(seed)
    Y = X.clone()
    for i in range(len(Y)):
        pos = torch.randperm(Y.shape[2], generator=g)[:k]
        for p in pos.tolist():
            Y[i, :, p] = 0
            Y[i, torch.randint(0, 4, (1,), generator=g).item(), p] = 1
    return Y


CASES = {
    "gc": dict(gc=(0.45, 0.55)),
    "sites": dict(forbid=["GAATTC", "CANNTG", "BsaI", "TTTTT", "GCW"]),
    "fixed": dict(fixed=[(0, 5), (20, 24)]),
    "budget": dict(max_edits=3),
    "all": dict(gc=(0.4, 0.5), forbid=["CANNTG", "AAT"], fixed=[(10, 15)], max_edits=4),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_allowed_matches_brute_force(case):
    kw = CASES[case]
    cons = Constraints(**kw)
    seeds = random_onehot(12, 30, seed=1)
    X = mutate(seeds, 4, seed=2)  # some sequences at or over the budget
    got = cons.allowed(X, seeds)
    assert got.shape == X.shape and got.dtype == torch.bool
    sites = parse_sites(kw.get("forbid", []))
    for i in range(len(X)):
        want = brute_allowed(
            to_str(X[i]),
            to_str(seeds[i]),
            gc=kw.get("gc"),
            sites=sites,
            fixed=kw.get("fixed", ()),
            max_edits=kw.get("max_edits"),
        )
        assert torch.equal(got[i], want), f"sequence {i}"


@pytest.mark.parametrize(
    "seq, site, pos, base, ok",
    [
        ("TTGAATTATT", "GAATTC", 7, "C", False),  # completes GAATTC
        ("TTCAGGTATT", "CANNTG", 4, "A", True),  # CAAGTA: no site
        ("TTCAGGTATT", "CANNTG", 7, "G", False),  # CAGGTG
        ("AAAAGCCC", "TTTTT", 4, "A", False),  # AAAAA on the forward strand = TTTTT on the reverse
        ("GAGACGTT", "BsaI", 5, "C", False),  # GAGACC = reverse complement of GGTCTC
        ("GAGACGTT", "BsaI", 6, "C", True),
    ],
)
def test_allowed_planted_near_sites(seq, site, pos, base, ok):
    X = to_onehot([seq])
    got = Constraints(forbid=[site]).allowed(X, X)
    assert bool(got[0, "ACGT".index(base), pos]) is ok


def test_existing_site_does_not_block_other_edits():
    seq = "GAATTCAAAAAAGG"
    X = to_onehot([seq])
    got = Constraints(forbid=["EcoRI"]).allowed(X, X)
    assert got[0, :, 8:].sum() == 3 * 6  # everywhere away from the site, every other base is fine
    assert not got[0, X[0].bool()].any()  # never the current base


def test_budget_reverting_an_edit_is_allowed():
    seed = "ACGTACGTAC"
    cur = "TCGTACGTAG"  # two edits, at 0 and 9
    X, S = to_onehot([cur]), to_onehot([seed])
    got = Constraints(max_edits=2).allowed(X, S)
    assert got[0, 0, 0] and got[0, "ACGT".index("C"), 9]  # back to the seed
    assert got[0, 2, 0]  # another non-seed base at an edited position: still 2 edits
    assert got[0, :, 1:9].sum() == 0  # a third position would exceed the budget
    only_back = Constraints(max_edits=1).allowed(X, S)[0]
    assert sorted(map(tuple, only_back.nonzero().tolist())) == [(0, 0), (1, 9)]


@pytest.mark.parametrize("sites", [["CANNTG"], ["RY", "TTT"], ["GGTCTC", "AC"], ["NotI", "WSW"]])
def test_site_counts_match_regex(sites):
    planted = to_onehot(["CAGCTGCATGAGACCGCGGCCGCAATTGTTTT", "GGTCTCAAAAGGAGACCCAACTGTTTGCGGCC"])
    X = torch.cat([random_onehot(20, 32, seed=3), planted])
    got = Constraints(forbid=sites).site_counts(X)
    parsed = parse_sites(sites)
    want = [len(occurrences(to_str(x), parsed)) for x in X]
    assert got.tolist() == want
    assert want[-2] + want[-1] > 0


def test_valid_with_and_without_seeds():
    cons = Constraints(gc=(0.3, 0.7), forbid=["TTT"], fixed=[(0, 4)], max_edits=3)
    seeds = random_onehot(30, 20, seed=4)
    X = mutate(seeds, 3, seed=5)
    got = cons.valid(X, seeds)
    got_plain = cons.valid(X)
    for i in range(len(X)):
        s, x = to_str(seeds[i]), to_str(X[i])
        gc_ok = gc_dist(x, (0.3, 0.7)) == 0
        n_sites = len(occurrences(x, ["TTT"]))
        want = (
            gc_ok
            and n_sites <= len(occurrences(s, ["TTT"]))
            and x[:4] == s[:4]
            and sum(a != b for a, b in zip(x, s)) <= 3
        )
        assert bool(got[i]) is want, i
        assert bool(got_plain[i]) is (gc_ok and n_sites == 0), i
    assert got.any() and (~got).any()
    # a budget of 1 refuses a design with 2 edits
    two = to_onehot(["ACGTACGTAC", "TTGTACGTAC"])
    assert Constraints(max_edits=1).valid(two[1:], two[:1]).tolist() == [False]
    assert Constraints(max_edits=2).valid(two[1:], two[:1]).tolist() == [True]


def test_parse_sites():
    assert parse_sites(["bsai", "EcoRI", "gaattc", "canntg"]) == ["GGTCTC", "GAATTC", "CANNTG"]
    assert ENZYMES["BsaI"] == "GGTCTC"


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(forbid=["GAAXTC"]), "IUPAC"),
        (dict(forbid=["NNN"]), "only N"),
        (dict(forbid=["NoSuchEnzyme"]), "IUPAC"),
        (dict(gc=(0.6, 0.4)), "gc"),
        (dict(gc=(-0.1, 0.5)), "gc"),
        (dict(fixed=[(5, 3)]), "fixed"),
        (dict(fixed=[(-1, 3)]), "fixed"),
        (dict(max_edits=-1), "max_edits"),
    ],
)
def test_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        Constraints(**kw)


def test_check_length():
    with pytest.raises(ValueError, match="past the sequence end"):
        Constraints(fixed=[(10, 25)]).check_length(20)
    with pytest.raises(ValueError, match="longer than"):
        Constraints(forbid=["NotI"]).check_length(6)
    Constraints(fixed=[(10, 20)], forbid=["NotI"]).check_length(20)


def test_describe():
    cons = Constraints(gc=(0.35, 0.6), forbid=["BsaI", "TTTTT"], fixed=[(0, 20)], max_edits=10)
    assert (
        cons.describe() == "GC 0.35-0.6; no GGTCTC, TTTTT (both strands); fixed 0-20; <= 10 edits"
    )
    assert Constraints().describe() == "none"
