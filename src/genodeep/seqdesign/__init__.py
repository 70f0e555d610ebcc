"""Sequence design: edit or generate sequences that a trained model scores highly, under constraints.

- :mod:`~genodeep.seqdesign.objective`: what to optimise (maximise, minimise or reach a value of tasks, over
  one model or an ensemble);
- :mod:`~genodeep.seqdesign.constraints`: GC range, forbidden sites, fixed positions, edit budget;
- :mod:`~genodeep.seqdesign.evolve`: greedy and beam in-silico evolution (each round one fast ISM pass);
- :mod:`~genodeep.seqdesign.gradient`: gradient design with straight-through Gumbel-softmax edits (Ledidi);
- :mod:`~genodeep.seqdesign.gan`: a feedback GAN (FBGAN) that learns to generate high-scoring sequences;
- :mod:`~genodeep.seqdesign.api`: :func:`design`, one entry point for the three methods, with the oracle check.
"""
