"""``strategy="hyperband"``: successive-halving brackets inside the evolution.

Hyperband (Li et al., 2018) runs brackets of successive halving: a bracket
starts many candidates on a small budget of steps, keeps the best
``1 / reduction_factor`` of them for a budget ``reduction_factor`` times
larger, and so on up to a full training; the brackets trade how many
candidates start against how long each trains before it is judged. Each
rung is one generation of the run.

As in DEHB (Awad et al., 2021), the candidates are bred, not sampled at
random, once there is something to breed from: a bracket's first rung is
bred (tournament selection, SBX crossover, Gaussian mutation, as the GA
does) from the best ``1 / reduction_factor`` of the evaluations so far at
the highest budget that has at least ``reduction_factor`` of them, and a
promoted candidate keeps its parameters, so each rung judges what the rung
below found. The very first
rung is sampled as generation 0 of every strategy is (seeds first).

A candidate trains for its rung's budget: the worker stops it after that many
:func:`evotune.report_step` calls, its score the last value reported; a
promoted candidate is trained again from its start. With a
:class:`~evotune.Trainable` the budget counts ``step()`` calls, and a promoted
candidate continues from the checkpoint of its rung below, training only the
steps it lacks. Its row says ``pruned`` ("trained for its
budget of N steps"), ranks below every complete evaluation and is never the
best; a full training is a plain ``ok`` row. Decisions depend only on the
scores told, so the history is the same at any ``n_jobs``, on any backend and
after a resume.

The schedule: ``s_max = floor(log_eta(max_resource / min_resource))``; bracket
``s`` (from ``s_max`` down to 0, then again) starts
``ceil(population_size * (s_max + 1) / (s + 1) * eta ** (s - s_max))``
candidates on ``max_resource * eta ** -s`` steps, so ``population_size`` is
the size of the widest rung.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from evotune._validation import InvalidParameterError, check_int
from evotune.genome import Genome
from evotune.records import FAILED_STATUSES, Evaluation
from evotune.strategies._breeder import Offspring, breed_ga, novel
from evotune.strategies._generational import (
    default,
    enlist,
    matched,
    refuse_if_pending,
    sampled,
)
from evotune.strategies.base import SearchState

__all__ = ["Hyperband", "schedule"]


def schedule(
    max_resource: int, min_resource: int, reduction_factor: int, population_size: int
) -> list[list[tuple[int, int]]]:
    """The brackets of one Hyperband iteration: per rung, (candidates, budget).

    Examples
    --------
    >>> schedule(27, 1, 3, 27)[0]
    [(27, 1), (9, 3), (3, 9), (1, 27)]
    >>> [b[0] for b in schedule(27, 1, 3, 27)]
    [(27, 1), (12, 3), (6, 9), (4, 27)]
    """
    eta = reduction_factor
    s_max = 0
    while min_resource * eta ** (s_max + 1) <= max_resource:
        s_max += 1
    out = []
    for s in range(s_max, -1, -1):
        start = Fraction(population_size * (s_max + 1), s + 1) * Fraction(eta) ** (s - s_max)
        n = math.ceil(start)
        rungs = []
        for i in range(s + 1):
            size = max(1, math.floor(Fraction(n) / eta**i))
            k = s_max - s + i
            budget = (
                max_resource
                if k == s_max
                else max(min_resource, round(Fraction(max_resource) / eta ** (s_max - k)))
            )
            rungs.append((size, budget))
        out.append(rungs)
    return out


@dataclass
class Hyperband:
    """Hyperband brackets whose candidates are bred (see the module's docstring).

    Parameters
    ----------
    max_resource : int, optional
        The steps of a full training (the ``report_step`` calls of a whole
        run of the objective). By default the objective's ``max_steps``
        (``CrossValScore(..., max_steps=N)``, ``EvolutionarySearchCV(...,
        max_steps=N)``); a plain callable needs it given.
    min_resource : int, default=1
        The budget of the smallest rung.
    reduction_factor : int, default=3
        η: one in η candidates of a rung is promoted to the next.
    crossover_prob, mutation_prob, mutation_sigma, max_novelty_tries
        The breeder's, as for ``"ga"``.

    Examples
    --------
    >>> from evotune import Float, evolve, report_step
    >>> def train(p):
    ...     for epoch in range(9):
    ...         report_step(epoch, -((p["lr"] - 0.3) ** 2) * 9 / (epoch + 1))
    ...     return -((p["lr"] - 0.3) ** 2)
    >>> r = evolve(train, {"lr": Float(0.0, 1.0)}, strategy=Hyperband(max_resource=9),
    ...            population_size=9, generations=6, random_state=0)
    >>> sorted(set(r.history["status"]))
    ['ok', 'pruned']
    """

    name: ClassVar[str] = "hyperband"
    asynchronous: ClassVar[bool] = False
    multi_objective: ClassVar[bool] = False
    #: it stops candidates itself: a pruning rule would fight its rungs
    stops_candidates: ClassVar[bool] = True
    #: a Trainable's promoted candidates continue from their checkpoints
    continues_trainings: ClassVar[bool] = True
    max_resource: int | None = None
    min_resource: int = 1
    reduction_factor: int = 3
    crossover_prob: float = field(default=default("crossover_prob"))
    mutation_prob: float = field(default=default("mutation_prob"))
    mutation_sigma: float = field(default=default("mutation_sigma"))
    max_novelty_tries: int = field(default=default("max_novelty_tries"))

    def __post_init__(self) -> None:
        from evotune.settings import check

        check_int("max_resource", self.max_resource, low=1, allow_none=True)
        check_int("min_resource", self.min_resource, low=1)
        check_int("reduction_factor", self.reduction_factor, low=2)
        for name in ("crossover_prob", "mutation_prob", "mutation_sigma", "max_novelty_tries"):
            setattr(self, name, check(name, getattr(self, name)))
        # set by for_objective for a Trainable: promoted candidates continue from checkpoints
        self._trainable = False

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def for_objective(self, objective: Any) -> Hyperband:
        """This strategy with ``max_resource`` taken from ``objective`` when not
        given; for a Trainable, promoted candidates continue from checkpoints."""
        if getattr(objective, "trainable", None) is not None:
            if self.max_resource is None:
                raise InvalidParameterError(
                    "strategy='hyperband' with a Trainable needs the step() calls of a full "
                    "training: pass strategy=Hyperband(max_resource=N)"
                )
            out = copy.deepcopy(self)
            out._trainable = True
            return out
        if self.max_resource is not None:
            return self
        steps = getattr(objective, "max_steps", None)
        if steps is None:
            raise InvalidParameterError(
                "strategy='hyperband' needs the number of steps of a full training: pass "
                "strategy=Hyperband(max_resource=N) with an objective that calls "
                "evotune.report_step once a step, or CrossValScore(..., max_steps=N)"
            )
        return type(self)(**{**self.params(), "max_resource": int(steps)})

    # ---------------------------------------------------------------- protocol
    def start(self, state: SearchState) -> None:
        if self.max_resource is None:
            raise InvalidParameterError(
                "Hyperband: 'max_resource' must be given (the steps of a full training)"
            )
        if self.min_resource > self.max_resource:
            raise InvalidParameterError(
                f"Hyperband: 'min_resource' ({self.min_resource}) must be <= 'max_resource' "
                f"({self.max_resource})"
            )
        self._brackets = schedule(
            self.max_resource, self.min_resource, self.reduction_factor, state.population_size
        )
        self._bracket, self._rung = 0, 0
        self._pending: dict[int, Genome] = {}
        self._carried: list[Genome] = []
        # the rung just told, best first, and every score at each budget
        self._last: list[Genome] = []
        self._value: dict[str, float] = {}
        # each genome's budget (steps of training it reaches), each key's checkpoint
        self._level: dict[str, int] = {}
        self._ckpt: dict[str, str | None] = {}
        self._by_budget: dict[int, list[Genome]] = {}

    def ask(self, state: SearchState, limit: int | None) -> list[Genome]:
        refuse_if_pending(self._pending, state.generation)
        for _ in range(sum(len(b) for b in self._brackets) + 1):
            size, budget = self._brackets[self._bracket][self._rung]
            if self._rung == 0:
                new, self._carried = self._first_rung(state, size, budget)
            else:
                new, self._carried = self._promote(state, size, budget)
            if new or not self._carried:
                break
            # every promoted candidate is known at that budget: judge them and go on
            self._last = self._ranked(self._carried)
            self._carried = []
            self._advance()
        return enlist(state, new, self._pending, limit)

    def tell(self, state: SearchState, evaluations: Sequence[Evaluation]) -> None:
        pairs = matched(self._pending, evaluations, state.generation)
        by_id = {g.id: ev for g, ev in pairs}
        told: list[Genome] = []
        for g, ev in pairs:
            self._check_reported(g, ev)
            if g.partial and ev.status == "ok" and not ev.reports:
                # a score told by ask/tell for a candidate with a budget: a rung's score
                ev = replace(
                    ev, status="pruned", error=f"trained for its budget of {g.budget} steps"
                )
            state.record(g, ev)
            self._value[g.key] = ev.mean_score if ev.status in ("ok", "pruned") else math.nan
            self._ckpt[g.key] = ev.checkpoint
            self._by_budget.setdefault(self._budget_of(g), []).append(g)
            told.append(g)
        self._pending = {}
        rung = told + self._carried
        self._carried = []
        state.population = rung
        self._last = self._ranked(rung)
        state.hall_of_fame.update([g for g in told if math.isfinite(g.score)])
        failed = sum(1 for g in told if by_id[g.id].status in FAILED_STATUSES)
        budget = self._brackets[self._bracket][self._rung][1]
        extra = {"bracket": len(self._brackets) - 1 - self._bracket, "budget": budget}
        self._advance()
        state.close_generation(len(told), failed, extra)

    def _advance(self) -> None:
        """On to the next rung, or the next bracket's first when this one is done."""
        self._rung += 1
        if self._rung >= len(self._brackets[self._bracket]) or not self._last:
            self._bracket = (self._bracket + 1) % len(self._brackets)
            self._rung = 0

    def finish(self, state: SearchState) -> None:
        """A rung is closed when it is told: nothing is left open."""

    # ----------------------------------------------------------------- helpers
    def _budget_of(self, g: Genome) -> int:
        return self._level[g.key]

    def checkpoints_in_use(self) -> set[str]:
        """The checkpoints of the rung just told: the next rung continues from its best."""
        return {c for g in self._last if (c := self._ckpt.get(g.key)) is not None}

    def _key(self, key: str, budget: int) -> str:
        # a full training keeps the plain key (what any strategy evaluates)
        return key if budget == self.max_resource else f"{key}@budget={budget}"

    def _ranked(self, genomes: list[Genome]) -> list[Genome]:
        """The genomes with a finite score at their budget, best first (ties by id)."""
        sign = 1.0 if genomes and genomes[0].direction == "maximize" else -1.0
        scored = [g for g in genomes if math.isfinite(self._value.get(g.key, math.nan))]
        return sorted(scored, key=lambda g: (-sign * self._value[g.key], g.id))

    def _make(
        self,
        state: SearchState,
        row: np.ndarray,
        key: str,
        origin: str,
        parents: tuple[int, ...],
        sigma: float,
        budget: int,
        source: Genome | None = None,
    ) -> Genome:
        """A genome trained to ``budget`` steps; a Trainable's continues from
        the checkpoint of ``source`` (the same genes, trained less)."""
        g = state.new_genome(row, key, origin, parents, sigma, state.generation)
        self._level[key] = budget
        g.partial = budget < (self.max_resource or 0)
        g.budget = None if not g.partial else budget
        if self._trainable:
            start = 0
            if source is not None and self._ckpt.get(source.key) is not None:
                g.checkpoint, start = self._ckpt[source.key], self._level[source.key]
            g.budget = budget - start  # the step() calls of this task
        return g

    def _promote(
        self, state: SearchState, size: int, budget: int
    ) -> tuple[list[Genome], list[Genome]]:
        """The best ``size`` of the rung below, asked again on ``budget`` steps."""
        new: list[Genome] = []
        carried: list[Genome] = []
        for g in self._last[:size]:
            key = self._key(state.space.key(g.genes), budget)
            if key in state.seen:
                carried.append(state.seen[key])  # already known at that budget
                continue
            new.append(
                self._make(state, g.genes, key, "promoted", (g.id,), g.sigma, budget, source=g)
            )
        return new, carried

    def _first_rung(
        self, state: SearchState, size: int, budget: int
    ) -> tuple[list[Genome], list[Genome]]:
        """A bracket's first candidates: sampled at the start, else bred."""
        pool = self._parents()
        if pool:
            off = self._breed(state, pool, size)
            fresh = False
        else:
            off = sampled(state, size, self.mutation_sigma)
            fresh = True
        batch: set[str] = set()
        new: list[Genome] = []
        for i in range(len(off)):
            row, origin, key = novel(
                state,
                off.genes[i],
                off.origins[i],
                float(off.sigmas[i]),
                fresh=fresh,
                taken=lambda k: self._key(k, budget) in state.seen or self._key(k, budget) in batch,
                mutation_sigma=self.mutation_sigma,
                max_tries=self.max_novelty_tries,
            )
            key = self._key(key, budget)
            if key in state.seen or key in batch:
                continue
            batch.add(key)
            new.append(self._make(state, row, key, origin, off.parents[i], off.sigmas[i], budget))
        return new, []

    def _parents(self) -> list[Genome]:
        """The best ``1 / η`` (at least η) of the evaluations at the highest
        budget with at least η scored ones: what successive halving would let
        through there is what breeds."""
        eta = self.reduction_factor
        for budget in sorted(self._by_budget, reverse=True):
            ranked = self._ranked(self._by_budget[budget])
            if len(ranked) >= eta:
                return ranked[: max(eta, -(-len(ranked) // eta))]
        return []

    def _breed(self, state: SearchState, pool: list[Genome], size: int) -> Offspring:
        sign = 1.0 if state.direction == "maximize" else -1.0
        fit = np.array([sign * self._value[g.key] for g in pool])
        kept = state.population
        state.population = pool  # the breeder selects from the state's population
        try:
            return breed_ga(
                state, fit, size, min(3, len(pool)), self.crossover_prob, self.mutation_prob
            )
        finally:
            state.population = kept

    def _check_reported(self, g: Genome, e: Evaluation) -> None:
        # folds that ran and reported nothing (a told score of ask/tell has no
        # folds; a Trainable counts its step() calls, not reports)
        if self._trainable:
            return
        if g.partial and e.status in ("ok", "pruned") and e.reports and not any(e.reports):
            raise InvalidParameterError(
                "strategy='hyperband' trains each candidate for a budget of steps, counted "
                "by evotune.report_step calls, and this objective reported none: call "
                "report_step(step, value) after each step of the training"
            )
