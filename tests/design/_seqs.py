"""String-level references shared by the design tests: sequences as text, Hamming distances, site matches."""

from __future__ import annotations

import re

import torch

COMP = str.maketrans("ACGT", "TGCA")


def strings(X: torch.Tensor) -> list[str]:
    """One-hot (N, 4, L) -> N strings."""
    return ["".join("ACGT"[i] for i in x.argmax(0).tolist()) for x in X]


def hamming(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Positions where two one-hot batches (N, 4, L) differ, (N,)."""
    return (X.argmax(1) != Y.argmax(1)).sum(1)


def site_starts(seq: str, patterns: list[str]) -> set[tuple[str, int]]:
    """Overlapping (pattern, start) matches on both strands; patterns are regexes of plain bases or '.'."""
    rc = seq.translate(COMP)[::-1]
    found = set()
    for p in patterns:
        found |= {(p, m.start()) for m in re.finditer(f"(?={p})", seq)}
        found |= {(p + "-", len(seq) - m.start() - len(p)) for m in re.finditer(f"(?={p})", rc)}
    return found
