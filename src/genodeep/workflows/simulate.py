"""Simulated sequences with planted motifs, written to files: the API behind ``genodeep simulate``.

:func:`simulate_to_files` reads a motif file (default: the motifs shipped with genodeep), simulates
sequences with :func:`genodeep.seq.simulate_motif_presence` (one task per motif) or
:func:`genodeep.seq.simulate_grammar` (two motifs at a fixed spacing and order vs a random
arrangement) and writes ``sequences.fa``, ``labels.tsv`` and ``planted.tsv``
(:func:`genodeep.seq.simulate.write_simulation`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from genodeep import example_data
from genodeep._progress import log
from genodeep.io.motifs import read_motifs, select_motifs
from genodeep.seq.simulate import simulate_grammar, simulate_motif_presence, write_simulation

__all__ = ["simulate_to_files"]


def simulate_to_files(
    out_dir: str | os.PathLike,
    *,
    mode: Literal["presence", "grammar"] = "presence",
    motifs: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    n: int = 2000,
    length: int = 200,
    gc: float = 0.5,
    n_per_seq: int = 1,
    spacing: int = 10,
    order: Literal["ab", "ba"] = "ab",
    positive_fraction: float = 0.5,
    random_state: int | None = None,
) -> dict[str, str]:
    """Simulate ``n`` sequences with planted motifs; write ``sequences.fa``, ``labels.tsv``, ``planted.tsv``.

    Parameters
    ----------
    out_dir : path
        Output folder (created).
    mode : {"presence", "grammar"}
        ``presence``: one task per motif; ``grammar``: two motifs at a fixed spacing and order
        (positives) vs a random arrangement (negatives), one task ``grammar``.
    motifs : path, optional
        Motif file (.meme, .jaspar, .pfm); default the motifs shipped with genodeep
        (:func:`genodeep.example_data.motifs`).
    names : sequence of str, optional
        Motifs to use (key, ID or name); default all (presence) or the first two (grammar).
    n, length : int
        Number of sequences and their length.
    gc : float
        Background G+C fraction.
    n_per_seq : int
        ``presence``: instances per present motif.
    spacing : int
        ``grammar``: gap between the two motifs in positives.
    order : {"ab", "ba"}
        ``grammar``: order of the two motifs in positives.
    positive_fraction : float
        Fraction of positives per task.
    random_state : int, optional
        Seed.

    Returns
    -------
    dict[str, str]
        ``{"fasta": ..., "labels": ..., "planted": ...}``.

    Raises
    ------
    ValueError
        ``grammar`` without exactly two motifs.
    FileNotFoundError
        The motif file (or the shipped one) is missing.
    """
    if motifs is None:
        shipped = example_data.motifs()
        if not shipped.is_file():
            raise FileNotFoundError(
                f"the motifs shipped with genodeep are missing ({shipped}); give --motifs FILE"
            )
        motifs = shipped
    pwms = read_motifs(motifs)
    if names:
        pwms = select_motifs(pwms, names)

    if mode == "presence":
        seqs, labels, planted = simulate_motif_presence(
            n,
            length,
            pwms,
            gc=gc,
            n_per_seq=n_per_seq,
            positive_fraction=positive_fraction,
            random_state=random_state,
        )
        tasks = list(pwms)
    else:
        if names is not None and len(pwms) != 2:
            raise ValueError(f"--mode grammar needs exactly 2 motifs in --names, got {len(pwms)}")
        if len(pwms) < 2:
            raise ValueError("--mode grammar needs 2 motifs; the motif file holds fewer")
        (name_a, pwm_a), (name_b, pwm_b) = list(pwms.items())[:2]
        seqs, labels, planted = simulate_grammar(
            n,
            length,
            pwm_a,
            pwm_b,
            spacing=spacing,
            order=order,
            gc=gc,
            positive_fraction=positive_fraction,
            names=(name_a, name_b),
            random_state=random_state,
        )
        tasks = ["grammar"]
    paths = write_simulation(out_dir, seqs, labels, planted, tasks)
    log(
        f"wrote {len(seqs)} sequences of {length} bp, {len(tasks)} task(s), "
        f"{len(planted)} planted sites to {out_dir}"
    )
    for kind, path in paths.items():
        log(f"  {kind}: {path}")
    return paths
