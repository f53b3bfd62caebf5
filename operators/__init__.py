"""Genetic operators on encoded genomes: the lowest layer of evotune.

Every function here is pure and vectorised: it takes a 2-D ``float64`` array of
encoded genes (one row per genome), a :class:`GeneSchema` that says what each
column holds, and an explicit :class:`numpy.random.Generator`, and returns new
arrays. Numeric genes live in the unit interval ``[0, 1]`` (log parameters are
already in log space there); categorical genes hold the index of a choice; bit
genes hold 0 or 1, and a group of them (a feature mask) may bound how many are set.

This package never imports ``evotune``; ``evotune`` composes it.

Examples
--------
>>> import numpy as np
>>> from operators import GeneSchema, mutate_gaussian
>>> schema = GeneSchema.from_lists(kinds=["float", "categorical"], n_choices=[0, 3])
>>> rng = np.random.default_rng(0)
>>> out = mutate_gaussian(np.array([[0.5, 1.0]]), schema, rng, sigma=0.1)
>>> out.shape
(1, 2)
"""

from operators.crossover import crossover_blend, crossover_sbx, crossover_uniform
from operators.mutation import mutate_bitflip, mutate_gaussian, mutate_polynomial
from operators.schema import BIT, CATEGORICAL, FLOAT, INTEGER, GeneSchema, repair
from operators.selection import select_best, select_tournament

__all__ = [
    "BIT",
    "CATEGORICAL",
    "FLOAT",
    "INTEGER",
    "GeneSchema",
    "crossover_blend",
    "crossover_sbx",
    "crossover_uniform",
    "mutate_bitflip",
    "mutate_gaussian",
    "mutate_polynomial",
    "repair",
    "select_best",
    "select_tournament",
]
