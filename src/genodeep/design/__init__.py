"""Sequence design: edit or generate sequences that a trained model scores highly, under constraints.

- :mod:`~genodeep.design.objective`: what to optimise (maximise, minimise or reach a value of tasks, over
  one model or an ensemble);
- :mod:`~genodeep.design.constraints`: GC range, forbidden sites, fixed positions, edit budget;
- :mod:`~genodeep.design.evolve`: greedy and beam in-silico evolution (each round one fast ISM pass);
- :mod:`~genodeep.design.gradient`: gradient design with straight-through Gumbel-softmax edits (Ledidi);
- :mod:`~genodeep.design.gan`: a feedback GAN (FBGAN) that learns to generate high-scoring sequences;
- :mod:`~genodeep.design.api`: :func:`design`, one entry point for the three methods, with the oracle check.
"""
