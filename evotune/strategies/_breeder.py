"""The breeder every evolutionary strategy shares, written once: parent
selection, crossover, mutation, self-adaptive step sizes and novelty.

Everything works in the space's unit encoding through :mod:`operators`, and
draws only from the run's ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evotune._validation import InvalidParameterError
from evotune.genome import Genome
from evotune.strategies.base import SearchState
from operators import crossover_sbx, mutate_gaussian, select_best, select_tournament

__all__ = ["SIGMA_MAX", "SIGMA_MIN", "Offspring", "adapt", "breed_ga", "breed_var_or", "novel"]

#: the bounds of a genome's own mutation step, in unit space
SIGMA_MIN, SIGMA_MAX = 0.005, 0.5


@dataclass
class Offspring:
    """Bred rows with, per row, its origin, its parents' ids and its step."""

    genes: np.ndarray
    origins: list[str]
    parents: list[tuple[int, ...]]
    sigmas: np.ndarray

    def __len__(self) -> int:
        return len(self.genes)

    @classmethod
    def join(cls, parts: list[Offspring]) -> Offspring:
        return cls(
            np.vstack([p.genes for p in parts]),
            [o for p in parts for o in p.origins],
            [q for p in parts for q in p.parents],
            np.concatenate([p.sigmas for p in parts]),
        )

    def take(self, idx: np.ndarray) -> Offspring:
        return Offspring(
            self.genes[idx],
            [self.origins[i] for i in idx],
            [self.parents[i] for i in idx],
            self.sigmas[idx],
        )


def adapt(state: SearchState, sigma: np.ndarray) -> np.ndarray:
    """Self-adaptive step sizes: each mutant perturbs its inherited step
    log-normally, and selection keeps the steps that produce good offspring."""
    tau = 1.0 / math.sqrt(2.0 * state.space.n_genes)
    out = sigma * np.exp(tau * state.rng.normal(size=sigma.shape))
    return np.clip(out, SIGMA_MIN, SIGMA_MAX)


def adapt_one(state: SearchState, sigma: float) -> float:
    """:func:`adapt` for one step. It uses ``math.exp``, which differs from
    ``numpy.exp`` in the last bit for some steps: histories recorded before
    the two were shared depend on each being kept as it was."""
    tau = 1.0 / math.sqrt(2.0 * state.space.n_genes)
    return float(np.clip(sigma * math.exp(tau * state.rng.normal()), SIGMA_MIN, SIGMA_MAX))


def breed_ga(
    state: SearchState,
    fit: np.ndarray,
    n_off: int,
    tournament_size: int,
    crossover_prob: float,
    mutation_prob: float,
) -> Offspring:
    """``n_off`` children of tournament-selected pairs: SBX crossover with
    ``crossover_prob``, then Gaussian mutation with ``mutation_prob``."""
    pop, rng, schema = state.population, state.rng, state.space.schema
    genes = np.stack([g.genes for g in pop])
    sig = np.array([g.sigma for g in pop])
    n_sel = n_off + (n_off % 2)
    idx = select_tournament(fit, n_sel, rng, tournsize=tournament_size)
    a, b = genes[idx[0::2]], genes[idx[1::2]]
    c1, c2 = crossover_sbx(a, b, schema, rng)
    crossed = rng.random(len(a)) < crossover_prob
    kids = np.empty((n_sel, genes.shape[1]))
    kids[0::2] = np.where(crossed[:, None], c1, a)
    kids[1::2] = np.where(crossed[:, None], c2, b)
    was_crossed = np.repeat(crossed, 2)
    pa = np.repeat(idx[0::2], 2)
    pb = np.repeat(idx[1::2], 2)
    kids, was_crossed, pa, pb = kids[:n_off], was_crossed[:n_off], pa[:n_off], pb[:n_off]
    kid_sigma = np.where(was_crossed, np.sqrt(sig[pa] * sig[pb]), sig[pa])
    mutated = rng.random(n_off) < mutation_prob
    new_sigma = adapt(state, kid_sigma)
    m = mutate_gaussian(kids, schema, rng, sigma=new_sigma[:, None])
    kids = np.where(mutated[:, None], m, kids)
    kid_sigma = np.where(mutated, new_sigma, kid_sigma)
    origins = [
        "crossover" if c else ("mutation" if mu else "clone") for c, mu in zip(was_crossed, mutated)
    ]
    parents: list[tuple[int, ...]] = [
        (pop[i].id, pop[j].id) if c else (pop[i].id,) for i, j, c in zip(pa, pb, was_crossed)
    ]
    return Offspring(kids, origins, parents, kid_sigma)


def breed_var_or(state: SearchState, crossover_prob: float, mutation_prob: float) -> Offspring:
    """``population_size`` children as DEAP's ``varOr`` makes them: each from
    crossover, mutation or reproduction (a copy)."""
    pop, rng, schema = state.population, state.rng, state.space.schema
    genes = np.stack([g.genes for g in pop])
    sig = np.array([g.sigma for g in pop])
    lam, mu = state.population_size, len(pop)
    p1 = rng.integers(0, mu, size=lam)
    p2 = (p1 + rng.integers(1, max(mu, 2), size=lam)) % mu
    c1, _ = crossover_sbx(genes[p1], genes[p2], schema, rng)
    new_sigma = adapt(state, sig[p1])
    m = mutate_gaussian(genes[p1], schema, rng, sigma=new_sigma[:, None])
    r = rng.random(lam)
    is_cx = r < crossover_prob
    is_mut = ~is_cx & (r < crossover_prob + mutation_prob)
    kids = np.where(is_cx[:, None], c1, np.where(is_mut[:, None], m, genes[p1]))
    kid_sigma = np.where(is_cx, np.sqrt(sig[p1] * sig[p2]), np.where(is_mut, new_sigma, sig[p1]))
    origins = [
        "crossover" if c else ("mutation" if mu_ else "clone") for c, mu_ in zip(is_cx, is_mut)
    ]
    parents: list[tuple[int, ...]] = [
        (pop[i].id, pop[j].id) if c else (pop[i].id,) for i, j, c in zip(p1, p2, is_cx)
    ]
    return Offspring(kids, origins, parents, kid_sigma)


def breed_one(
    state: SearchState, tournament_size: int, crossover_prob: float, mutation_prob: float
) -> Offspring:
    """One child of two tournament-selected parents: crossover with
    ``crossover_prob``, then mutation with ``mutation_prob`` (always when
    there was no crossover, so the child is never a copy)."""
    pop, rng, schema = state.population, state.rng, state.space.schema
    fit = np.array([g.selection_value() for g in pop])
    i, j = select_tournament(fit, 2, rng, tournsize=min(tournament_size, len(pop)))
    a, b = pop[int(i)], pop[int(j)]
    row = a.genes.copy()
    origin, sigma = "mutation", a.sigma
    parents: tuple[int, ...] = (a.id,)
    if len(pop) > 1 and rng.random() < crossover_prob:
        c1, _ = crossover_sbx(a.genes[None, :], b.genes[None, :], schema, rng)
        row, origin, parents = c1[0], "crossover", (a.id, b.id)
        sigma = math.sqrt(a.sigma * b.sigma)
    if origin != "crossover" or rng.random() < mutation_prob:
        sigma = adapt_one(state, sigma)
        row = mutate_gaussian(row[None, :], schema, rng, sigma=sigma)[0]
    return Offspring(row[None, :], [origin], [parents], np.array([sigma]))


def best(genomes: list[Genome], k: int) -> list[Genome]:
    """The ``k`` best genomes by selection value (ties in their order)."""
    if not genomes or k <= 0:
        return []
    fit = np.array([g.selection_value() for g in genomes])
    return [genomes[i] for i in select_best(fit, min(k, len(genomes)))]


def novel(
    state: SearchState,
    row: np.ndarray,
    origin: str,
    sigma: float,
    *,
    fresh: bool,
    taken: Callable[[str], bool],
    mutation_sigma: float,
    max_tries: int,
) -> tuple[np.ndarray, str, str]:
    """``row``, re-drawn until its key is neither evaluated nor ``taken`` (at
    most ``max_tries`` times): resampled when ``fresh``, else mutated with a
    wider step each try, so a crowded region is left."""
    space = state.space
    key = space.key(row)
    tries = 0
    while (key in state.seen or taken(key)) and tries < max_tries:
        tries += 1
        if fresh:
            row = space.sample(1, state.rng, "random")[0]
        else:
            step = max(sigma, 0.5 * mutation_sigma) * (1.0 + tries)
            row = mutate_gaussian(row[None, :], space.schema, state.rng, sigma=step)[0]
            origin = "mutation"
        key = space.key(row)
    return row, origin, key


def check_or_probabilities(strategy: str, crossover_prob: float, mutation_prob: float) -> None:
    """Strategies that draw one of crossover, mutation or reproduction per
    child need the two probabilities to sum to at most 1."""
    if crossover_prob + mutation_prob > 1.0 + 1e-12:
        raise InvalidParameterError(
            f"strategy={strategy!r} draws crossover, mutation or reproduction for each "
            f"offspring, so 'crossover_prob' + 'mutation_prob' must be <= 1, got "
            f"{crossover_prob!r} + {mutation_prob!r}"
        )
