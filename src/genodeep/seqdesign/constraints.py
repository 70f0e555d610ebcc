"""Design constraints: GC range, forbidden sites, fixed positions and an edit budget.

Every design method asks the same two questions of a :class:`Constraints`:

- :meth:`Constraints.allowed`: which single-base substitutions of the current sequences keep (or move
  towards) every constraint? Greedy and beam evolution only ever apply allowed substitutions.
- :meth:`Constraints.valid`: does a whole sequence satisfy the constraints? Gradient design and the GAN
  sample many sequences and keep only valid ones.

Forbidden sites are IUPAC strings (``"GGTCTC"``, ``"TTTTT"``, ``"CANNTG"``) or restriction enzyme names
(:data:`ENZYMES`), matched on both strands. A seed that already holds a forbidden site is not refused: a
design may not hold *more* sites than its seed (report the seed's sites with :meth:`Constraints.site_counts`).
Positions are 0-based; a fixed range ``(start, end)`` is half-open, as in BED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch

from genodeep.seq.encode import reverse_complement

__all__ = ["ENZYMES", "Constraints", "parse_sites"]

#: recognition sites of common cloning enzymes (5' -> 3', both strands are matched)
ENZYMES: dict[str, str] = {
    "AgeI": "ACCGGT",
    "BamHI": "GGATCC",
    "BbsI": "GAAGAC",
    "BglII": "AGATCT",
    "BsaI": "GGTCTC",
    "BsmBI": "CGTCTC",
    "EcoRI": "GAATTC",
    "EcoRV": "GATATC",
    "HindIII": "AAGCTT",
    "KpnI": "GGTACC",
    "MluI": "ACGCGT",
    "NcoI": "CCATGG",
    "NdeI": "CATATG",
    "NheI": "GCTAGC",
    "NotI": "GCGGCCGC",
    "PstI": "CTGCAG",
    "SacI": "GAGCTC",
    "SalI": "GTCGAC",
    "SapI": "GCTCTTC",
    "SmaI": "CCCGGG",
    "SpeI": "ACTAGT",
    "XbaI": "TCTAGA",
    "XhoI": "CTCGAG",
}

_IUPAC = {
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


def parse_sites(items: Sequence[str]) -> list[str]:
    """Enzyme names and IUPAC strings -> upper-case IUPAC strings (duplicates dropped, order kept)."""
    lower = {k.lower(): v for k, v in ENZYMES.items()}
    out: list[str] = []
    for item in items:
        site = lower.get(str(item).strip().lower(), str(item).strip().upper())
        bad = sorted(set(site) - set(_IUPAC))
        if not site or bad:
            raise ValueError(
                f"forbidden site {item!r} is neither an enzyme name ({', '.join(sorted(ENZYMES))}) "
                f"nor an IUPAC string (letters {''.join(_IUPAC)}); bad letters: {''.join(bad)}"
            )
        if site.strip("N") == "":
            raise ValueError(f"forbidden site {item!r} matches every sequence (only N)")
        if site not in out:
            out.append(site)
    return out


def _site_matrix(site: str) -> torch.Tensor:
    """IUPAC string of length k -> (4, k) float mask of the bases each position accepts."""
    m = torch.zeros(4, len(site))
    for j, letter in enumerate(site):
        for b in _IUPAC[letter]:
            m["ACGT".index(b), j] = 1
    return m


@dataclass
class Constraints:
    """What a designed sequence must satisfy.

    Parameters
    ----------
    gc : (float, float), optional
        Allowed GC fraction ``[low, high]`` of the whole sequence.
    forbid : list of str
        Forbidden sites: IUPAC strings or enzyme names (:data:`ENZYMES`), both strands.
    fixed : list of (int, int)
        Half-open 0-based position ranges that keep the seed's bases.
    max_edits : int, optional
        At most this many positions may differ from the seed (Hamming distance).
    """

    gc: tuple[float, float] | None = None
    forbid: Sequence[str] = ()
    fixed: Sequence[tuple[int, int]] = ()
    max_edits: int | None = None
    _sites: list[torch.Tensor] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.gc is not None:
            lo, hi = (float(v) for v in self.gc)
            if not 0 <= lo <= hi <= 1:
                raise ValueError(
                    f"gc must be (low, high) with 0 <= low <= high <= 1; got {self.gc}"
                )
            self.gc = (lo, hi)
        self.forbid = parse_sites(self.forbid)
        mats = []
        for site in self.forbid:
            rc = reverse_complement(site)
            mats.append(_site_matrix(site))
            if rc != site:
                mats.append(_site_matrix(rc))
        self._sites = mats
        fixed = []
        for r in self.fixed:
            start, end = (int(v) for v in r)
            if not 0 <= start < end:
                raise ValueError(
                    f"a fixed range must be (start, end) with 0 <= start < end; got {r}"
                )
            fixed.append((start, end))
        self.fixed = fixed
        if self.max_edits is not None and int(self.max_edits) < 0:
            raise ValueError(f"max_edits must be >= 0; got {self.max_edits}")

    def for_seeds(self, length: int, edits: int | None) -> Constraints:
        """These constraints for seeds of ``length`` bases, with ``edits`` as the edit budget unless
        ``max_edits`` sets one (``None``: no budget); refuses ranges and sites that do not fit."""
        self.check_length(length)
        if self.max_edits is None and edits is not None:
            return replace(self, max_edits=int(edits))
        return self

    def describe(self) -> str:
        """One line for reports, e.g. ``GC 0.35-0.6; no GGTCTC; fixed 0-20; <= 10 edits``."""
        parts = []
        if self.gc is not None:
            parts.append(f"GC {self.gc[0]:g}-{self.gc[1]:g}")
        if self.forbid:
            parts.append("no " + ", ".join(self.forbid) + " (both strands)")
        if self.fixed:
            parts.append("fixed " + ", ".join(f"{s}-{e}" for s, e in self.fixed))
        if self.max_edits is not None:
            parts.append(f"<= {self.max_edits} edits")
        return "; ".join(parts) or "none"

    def check_length(self, length: int) -> None:
        """Refuse fixed ranges past the sequence end and sites longer than the sequence."""
        for s, e in self.fixed:
            if e > length:
                raise ValueError(
                    f"fixed range {s}-{e} runs past the sequence end ({length} bp); "
                    "positions are 0-based, end exclusive"
                )
        for site in self.forbid:
            if len(site) > length:
                raise ValueError(
                    f"forbidden site {site} is longer than the sequences ({length} bp)"
                )

    # ------------------------------------------------------------------------------------------
    # whole sequences
    # ------------------------------------------------------------------------------------------

    def site_counts(self, X: torch.Tensor) -> torch.Tensor:
        """Number of forbidden sites (either strand) in each sequence.

        X : torch.Tensor, shape (N, 4, L), one-hot. Returns (N,) int64.
        """
        X = X.float()
        counts = torch.zeros(X.shape[0], dtype=torch.long, device=X.device)
        for m in self._sites:
            k = m.shape[1]
            if k > X.shape[2]:
                continue
            match = (X.unfold(2, k, 1) * m.to(X.device)[:, None, :]).sum(1)  # (N, S, k)
            counts += (match.sum(-1) == k).sum(-1)
        return counts

    def gc_fraction(self, X: torch.Tensor) -> torch.Tensor:
        """GC fraction of each sequence, (N,), over all L positions."""
        return X[:, 1:3].float().sum((1, 2)) / X.shape[2]

    def valid(self, X: torch.Tensor, seeds: torch.Tensor | None = None) -> torch.Tensor:
        """Whether each sequence satisfies every constraint.

        Parameters
        ----------
        X : torch.Tensor, shape (N, 4, L)
            One-hot sequences.
        seeds : torch.Tensor, shape (N, 4, L), optional
            The seed of each sequence: needed for fixed positions, the edit budget and the site rule
            (no more forbidden sites than the seed); without seeds, a sequence must hold no site.

        Returns
        -------
        torch.Tensor, shape (N,), bool
        """
        ok = torch.ones(X.shape[0], dtype=torch.bool, device=X.device)
        if self.gc is not None:
            gc = self.gc_fraction(X)
            ok &= (gc >= self.gc[0] - 1e-9) & (gc <= self.gc[1] + 1e-9)
        if self._sites:
            limit = self.site_counts(seeds) if seeds is not None else 0
            ok &= self.site_counts(X) <= limit
        if seeds is not None:
            same = (X == seeds).all(1)  # (N, L)
            for s, e in self.fixed:
                ok &= same[:, s:e].all(1)
            if self.max_edits is not None:
                ok &= (~same).sum(1) <= self.max_edits
        return ok

    # ------------------------------------------------------------------------------------------
    # single substitutions
    # ------------------------------------------------------------------------------------------

    def allowed(self, X: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        """Which single-base substitutions of ``X`` keep the constraints.

        Parameters
        ----------
        X : torch.Tensor, shape (N, 4, L)
            Current one-hot sequences.
        seeds : torch.Tensor, shape (N, 4, L)
            Their seeds (fixed positions and the edit budget are counted against them).

        Returns
        -------
        torch.Tensor, shape (N, 4, L), bool
            True where substituting base ``b`` at position ``l`` is allowed; never at the current base.
            A GC fraction outside the range may only move towards it; a substitution that creates a
            forbidden site is never allowed.
        """
        X = X.float()
        n, c, length = X.shape
        ok = X == 0
        if self.gc is not None:
            lo, hi = self.gc[0] * length, self.gc[1] * length
            gc = X[:, 1:3].sum((1, 2))  # (N,)
            is_gc = torch.tensor([0.0, 1.0, 1.0, 0.0], device=X.device)
            new = gc[:, None, None] - X[:, 1:3].sum(1, keepdim=True) + is_gc[None, :, None]

            def dist(v):
                return torch.clamp(lo - v, min=0) + torch.clamp(v - hi, min=0)

            ok &= dist(new) <= dist(gc)[:, None, None] + 1e-9
        for m in self._sites:
            ok &= ~self._creates_site(X, m.to(X.device))
        if self.fixed:
            for s, e in self.fixed:
                ok[:, :, s:e] = False
        if self.max_edits is not None:
            seeds = seeds.float()
            edited = (X != seeds).any(1, keepdim=True)  # (N, 1, L)
            edits = edited.sum(2, keepdim=True)  # (N, 1, 1)
            back = seeds == 1  # substituting the seed's base undoes an edit
            new_edits = edits + (~edited).long() - (edited & back).long()
            ok &= new_edits <= self.max_edits
        return ok

    @staticmethod
    def _creates_site(X: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """(N, 4, L) bool: substituting base b at l completes a site ``m`` (4, k) that was absent."""
        n, _, length = X.shape
        k = m.shape[1]
        out = torch.zeros(n, 4, length, dtype=torch.bool, device=X.device)
        if k > length:
            return out
        match = (X.unfold(2, k, 1) * m[:, None, :]).sum(1)  # (N, S, k): 1 where position j matches
        missing = k - match.sum(-1)  # (N, S)
        n_starts = missing.shape[1]
        for j in range(k):
            # substituting b at s + j: position j then matches iff m[b, j]
            new_missing = missing[:, None, :] + match[:, None, :, j] - m[None, :, j, None]
            hit = (new_missing == 0) & (missing[:, None, :] > 0)
            out[:, :, j : j + n_starts] |= hit
        return out
