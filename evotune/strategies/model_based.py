"""``strategy="model_based"``: Bayesian optimisation, searched by evolution.

The initial design samples the space (``initial_sampling``). Then, each time
a result is told, one child is proposed from a Gaussian process fitted to
every evaluation so far (:mod:`~evotune.strategies._surrogate`), the
candidates still being evaluated believed at the model's mean (the kriging
believer), so ``in_flight`` workers stay busy with distinct candidates. The
child is found by *evolving* candidates on the model rather than on real
fits: a population of random points and mutants of the best evaluated
genomes is improved for a few rounds by Gaussian mutation (the space's own
operators, so integers, categories, masks and conditions stay valid) under
the expected improvement. A genome already evaluated or being evaluated is
never proposed.

It is asynchronous (:mod:`~evotune.strategies._asynchronous`): results are
applied in birth order, everything is drawn from the run's random state and
the model is refitted from the history, so the history is the same at any
``n_jobs`` and after a resume (the model is never stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr

from evotune._validation import check_int
from evotune.settings import check
from evotune.strategies._asynchronous import Asynchronous
from evotune.strategies._generational import default
from evotune.strategies._gp import GaussianProcess
from evotune.strategies._surrogate import (
    fit_hyperparameters,
    model_features,
    subsample,
    transform_scores,
)
from evotune.strategies.base import SearchState
from operators.mutation import mutate_gaussian

__all__ = ["ModelBased"]

# the defaults of n_initial (at most) and in_flight, chosen on the public suite
_N_INITIAL = 10
_IN_FLIGHT = 2

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
    gain = mean - best - xi
    z = gain / std
    return gain * ndtr(z) + std * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def refit_point(n: int) -> int:
    """The history length whose prefix the kernel's hyperparameters are fitted
    on when ``n`` evaluations are in: every ``n`` while the history is short,
    then every ``r`` evaluations, ``r`` the power of two at most ``n / 20``
    (every 3-5 % of growth), so the fit's cost per child stays small in long
    runs. A function of ``n`` only, so a resumed run refits at the same points.

    Examples
    --------
    >>> [refit_point(n) for n in (10, 39, 40, 41, 1000, 1023, 1024, 1049)]
    [10, 39, 40, 40, 992, 992, 1024, 1024]
    """
    if n < 40:
        return n
    r = 1 << int(np.log2(n / 20))
    return n - n % r


@dataclass
class ModelBased(Asynchronous):
    """Model-based evolution (see the module's docstring).

    Parameters
    ----------
    n_initial : int or None, default=None
        Genomes of the initial design (``None``: ``population_size`` up to
        10, as Optuna's TPE and scikit-optimize start with 10).
    in_flight : int or None, default=None
        Candidates evaluated at once (``None``: 2); each new one is proposed
        knowing every result before it and believing those in flight at the
        model's mean. Each candidate's folds run in parallel too, so two
        5-fold candidates keep ten workers busy. 1 is sequential Bayesian
        optimisation; more keeps more workers busy with candidates chosen
        knowing less (on the public suite, 2 found the best models at 30
        evaluations, 1 and 4 a little worse: ``benchmarks/results/``).
    n_candidates : int, default=1000
        Points of the acquisition search's population (random and mutants).
    n_rounds : int, default=3
        Rounds of mutation and selection on the model.
    max_model_points : int, default=128
        The model's posterior uses at most this many evaluations (the best
        half and the most recent), so its cost stays bounded in long runs.
    xi : float, default=0.01
        The improvement asked of the expected improvement, in standardised units.
    max_novelty_tries : int, default=20
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
    n_initial: int | None = None
    in_flight: int | None = field(default=default("in_flight"))
    n_candidates: int = 1000
    n_rounds: int = 3
    max_model_points: int = 128
    xi: float = 0.01
    max_novelty_tries: int = field(default=default("max_novelty_tries"))
    mutation_sigma: float = field(default=default("mutation_sigma"), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n_initial is not None:
            self.n_initial = check_int("n_initial", self.n_initial, low=1)
        self.in_flight = check("in_flight", self.in_flight)
        self.n_candidates = check_int("n_candidates", self.n_candidates, low=10)
        self.n_rounds = check_int("n_rounds", self.n_rounds, low=0)
        self.max_model_points = check_int("max_model_points", self.max_model_points, low=4)
        self.max_novelty_tries = check_int("max_novelty_tries", self.max_novelty_tries, low=0)
        if not (isinstance(self.xi, (int, float)) and 0 <= self.xi < float("inf")):
            raise ValueError(f"'xi' must be a finite number >= 0, got {self.xi!r}")

    def start(self, state: SearchState) -> None:
        super().start(state)
        self._theta: tuple[int, np.ndarray] | None = None

    def _n_initial(self, state: SearchState) -> int:
        if self.n_initial is None:
            return min(state.population_size, _N_INITIAL)
        return self.n_initial

    def in_flight_in_force(self, population_size: int) -> int:
        return _IN_FLIGHT if self.in_flight is None else self.in_flight

    # the model ---------------------------------------------------------------
    def _model(self, state: SearchState) -> tuple[GaussianProcess, np.ndarray, np.ndarray] | None:
        """The GP of the history with the pending candidates believed, the
        training genes and their fitness; None when nothing succeeded yet."""
        fit = np.asarray(state.history_fitness, dtype=np.float64)
        if not np.isfinite(fit).any():
            return None
        space = state.space
        m = refit_point(len(fit))
        if self._theta is None or self._theta[0] != m:
            idx = subsample(fit[:m], self.max_model_points)
            genes_m = np.stack([state.history_genes[i] for i in idx])
            y_m = transform_scores(fit[idx])
            self._theta = (m, fit_hyperparameters(model_features(space, genes_m), y_m, seed=m))
        idx = subsample(fit, self.max_model_points)
        genes = np.stack([state.history_genes[i] for i in idx])
        gp = GaussianProcess.with_theta(self._theta[1])
        gp.refactor(model_features(space, genes), transform_scores(fit[idx]))
        pending = [g.genes for g in self._in_play()]
        if pending:
            gp = gp.believe(model_features(space, np.stack(pending)))
        return gp, genes, fit[idx]

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
        self,
        state: SearchState,
        model: GaussianProcess,
        genes: np.ndarray,
        fit: np.ndarray,
        best: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A population evolved on the expected improvement, and its values:
        random points and mutants of the best evaluated genomes, then rounds
        of mutating the best of them."""
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
        return pool, acq

    def _child(self, state: SearchState) -> None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            built = self._model(state)
            if built is None:  # nothing to learn from: sample afresh
                row = state.space.sample(1, state.rng, "random")[0]
                self._born(state, row, "initial", (), self.mutation_sigma, fresh=True)
                return
            gp, genes, fit = built
            best = float(gp.y_.max())
            pool, acq = self._search(state, gp, genes, fit, best)
        taken = {g.key for g in self._in_play()}
        for i in np.argsort(-acq, kind="stable"):
            key = state.space.key(pool[i])
            if key not in state.seen and key not in taken:
                self._born(state, pool[i], "model", (), self.mutation_sigma, fresh=False)
                return
        # every candidate of the search is taken: a random new one
        row = state.space.sample(1, state.rng, "random")[0]
        self._born(state, row, "initial", (), self.mutation_sigma, fresh=True)
