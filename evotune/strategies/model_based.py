"""``strategy="model_based"``: Bayesian optimisation, searched by evolution.

Generation 0 samples the space (``initial_sampling``). Each later generation
fits a Gaussian process to every evaluation so far
(:mod:`~evotune.strategies._surrogate`), then *evolves* candidates on the model rather
than on real fits: a population of random points and mutants of the best
evaluated genomes is improved for a few rounds by Gaussian mutation (the
space's own operators, so integers, categories, masks and conditions stay
valid) under the expected improvement. The generation's batch is picked one
candidate at a time, each pick believed by the model at its predicted mean
before the next (the kriging believer), so the batch spreads over distinct
promising regions and every worker has a candidate. A genome already
evaluated or already in the batch is never proposed.

Everything is drawn from the run's random state and the model is refitted
from the history at each generation, so the history is the same at any
``n_jobs`` and after a resume (the model is never stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.stats import norm

from evotune._validation import check_int
from evotune.strategies._breeder import Offspring
from evotune.strategies._generational import Generational, default
from evotune.strategies._gp import Believer, GaussianProcess
from evotune.strategies._surrogate import (
    fit_surrogate,
    model_features,
    subsample,
    transform_scores,
)
from evotune.strategies.base import SearchState
from operators.mutation import mutate_gaussian

__all__ = ["ModelBased"]

# step sizes (unit interval) of the acquisition search's mutants: local
# refinements next to wide jumps
_SIGMAS = (0.02, 0.05, 0.1, 0.2)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float) -> np.ndarray:
    """Expected improvement over ``best`` ('higher is better').

    Examples
    --------
    >>> ei = expected_improvement(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.5, 0.0)
    >>> bool(ei[1] > ei[0] > 0)
    True
    """
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)


@dataclass
class ModelBased(Generational):
    """Model-based evolution (see the module's docstring).

    Parameters
    ----------
    n_candidates : int, default=1000
        Points of the acquisition search's population (random and mutants).
    n_rounds : int, default=3
        Rounds of mutation and selection on the model.
    max_model_points : int, default=256
        The model is fitted on at most this many evaluations (the best half
        and the most recent others), so its cost stays bounded in long runs.
    xi : float, default=0.01
        The improvement asked of the expected improvement, in standardised units.
    max_novelty_tries : int, default=100
        Re-draws of a proposal that is not new.

    Examples
    --------
    >>> from evotune import Float, evolve
    >>> res = evolve(lambda p: -(p["x"] - 0.3) ** 2, {"x": Float(-1, 1)},
    ...              strategy="model_based", population_size=4, generations=3,
    ...              random_state=0)
    >>> sorted(set(res.history["origin"]))
    ['initial', 'model']
    """

    name: ClassVar[str] = "model_based"
    fresh: ClassVar[bool] = True
    n_candidates: int = 1000
    n_rounds: int = 3
    max_model_points: int = 256
    xi: float = 0.01
    max_novelty_tries: int = field(default=default("max_novelty_tries"))
    mutation_sigma: float = field(default=default("mutation_sigma"), init=False, repr=False)

    def __post_init__(self) -> None:
        self.n_candidates = check_int("n_candidates", self.n_candidates, low=10)
        self.n_rounds = check_int("n_rounds", self.n_rounds, low=0)
        self.max_model_points = check_int("max_model_points", self.max_model_points, low=4)
        self.max_novelty_tries = check_int("max_novelty_tries", self.max_novelty_tries, low=0)
        if not (isinstance(self.xi, (int, float)) and 0 <= self.xi < float("inf")):
            raise ValueError(f"'xi' must be a finite number >= 0, got {self.xi!r}")

    # the model's data ---------------------------------------------------------
    def _training(self, state: SearchState) -> tuple[np.ndarray, np.ndarray]:
        """Encoded genes and fitness of at most ``max_model_points`` evaluations."""
        fit = np.asarray(state.history_fitness, dtype=np.float64)
        idx = subsample(fit, self.max_model_points)
        genes = np.stack([state.history_genes[i] for i in idx])
        return genes, fit[idx]

    # the acquisition's search ---------------------------------------------------
    def _mutants(self, state: SearchState, parents: np.ndarray, n: int) -> np.ndarray:
        """``n`` mutants of the rows of ``parents``, with mixed step sizes."""
        rows = parents[state.rng.integers(0, len(parents), size=n)]
        sigma = np.asarray(_SIGMAS)[state.rng.integers(0, len(_SIGMAS), size=n)][:, None]
        return mutate_gaussian(rows, state.space.schema, state.rng, sigma=sigma)

    def _score(
        self, state: SearchState, model: GaussianProcess, genes: np.ndarray, best: float
    ) -> Any:
        mean, std = model.predict(model_features(state.space, genes))
        return expected_improvement(mean, std, best, self.xi)

    def _search(
        self, state: SearchState, model: GaussianProcess, genes: np.ndarray, best: float
    ) -> Any:
        """A population evolved on the expected improvement: random points and
        mutants of the best evaluated genomes, then rounds of mutating the
        best of them."""
        fit = np.asarray(state.history_fitness)
        top = genes[np.argsort(-np.where(np.isfinite(fit), fit, -np.inf), kind="stable")[:5]]
        half = self.n_candidates // 2
        pool = np.vstack(
            [
                state.space.sample(self.n_candidates - half, state.rng, "random"),
                self._mutants(state, top, half),
            ]
        )
        acq = self._score(state, model, pool, best)
        for _ in range(self.n_rounds):
            elite = pool[np.argsort(-acq, kind="stable")[:10]]
            children = self._mutants(state, elite, self.n_candidates // 4)
            pool = np.vstack([pool, children])
            acq = np.concatenate([acq, self._score(state, model, children, best)])
        return pool

    def _pick(
        self, state: SearchState, pool: np.ndarray, batch: Believer, best: float
    ) -> list[int]:
        """A batch of ``population_size`` distinct new candidates, each believed
        at its predicted mean before the next pick."""
        chosen: list[int] = []
        keys: set[str] = set()
        allowed = np.ones(len(batch.X), dtype=bool)
        while len(chosen) < state.population_size:
            acq = expected_improvement(batch.mean, batch.std, best, self.xi)
            acq[~allowed] = -np.inf
            pick = -1
            for i in np.argsort(-acq, kind="stable"):
                if not allowed[i]:
                    break
                allowed[i] = False
                key = state.space.key(pool[i])
                if key not in state.seen and key not in keys:
                    pick = int(i)
                    keys.add(key)
                    break
            if pick < 0:
                break
            chosen.append(pick)
            batch.condition(pick)
            # a believed improvement is one the next picks must beat
            best = max(best, float(batch.mean[pick]))
        return chosen

    def propose(self, state: SearchState) -> Offspring:
        genes, fit = self._training(state)
        if not np.isfinite(fit).any():
            return self.initial(state)  # nothing to learn from: sample afresh
        y = transform_scores(fit)
        X = model_features(state.space, genes)
        from threadpoolctl import threadpool_limits

        model = fit_surrogate(X, y, state.rng)
        with threadpool_limits(1):
            pool = self._search(state, model, genes, float(y.max()))
            batch = model.batch(model_features(state.space, pool))
            chosen = self._pick(state, pool, batch, float(y.max()))
        n_new = len(chosen)
        rest = state.space.sample(state.population_size - n_new, state.rng, "random")
        out = np.vstack([pool[chosen], rest]) if n_new else rest
        origins = ["model"] * n_new + ["initial"] * len(rest)
        return Offspring(out, origins, [()] * len(out), np.full(len(out), self.mutation_sigma))
