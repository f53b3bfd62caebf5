"""``strategy="pbt"``: population-based training (Jaderberg et al., 2017).

The population trains side by side, one segment a generation (a
:class:`~evotune.Trainable`'s ``step()``), each member continuing from its
own checkpoint. After each generation the worst ``quantile_fraction`` of the
members copy the checkpoint and the parameters of a member drawn from the best
``quantile_fraction`` (exploit) and perturb the mutable parameters (explore:
each is resampled with ``resample_probability``, else multiplied by one of
``perturbation_factors``); the others go on as they were. So the parameters
change during training, and the winning member's parameters over time
(``Result.best_schedule``) are a schedule, such as a decaying learning rate.

Every decision draws from the run's random generator and depends only on the
scores told, so the history is the same at any ``n_jobs``, on any backend and
after a resume, which continues from the checkpoints on disk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from evotune._validation import InvalidParameterError, check_int
from evotune.genome import Genome
from evotune.records import FAILED_STATUSES, Evaluation
from evotune.space import Space
from evotune.strategies._generational import enlist, matched, refuse_if_pending
from evotune.strategies.base import SearchState

__all__ = ["PBT"]


@dataclass
class _Next:
    """A member of the next generation: what it trains with and from where."""

    row: np.ndarray
    checkpoint: str | None
    parent: int
    origin: str


@dataclass
class PBT:
    """Population-based training (see the module's docstring).

    Parameters
    ----------
    quantile_fraction : float, default=0.25
        The share of the population that is replaced (and that it copies from).
    resample_probability : float, default=0.25
        The chance that an explored parameter is drawn afresh from the space.
    perturbation_factors : tuple of two floats, default=(0.8, 1.2)
        What an explored numeric parameter is multiplied by (clipped to its range).
    mutable : sequence of str, optional
        The parameters explore may change (those a training can take mid-way,
        such as a learning rate); all of them by default.

    Examples
    --------
    >>> PBT(quantile_fraction=0.5).quantile_fraction
    0.5
    """

    name: ClassVar[str] = "pbt"
    asynchronous: ClassVar[bool] = False
    multi_objective: ClassVar[bool] = False
    #: the best member's ancestors are its training's past: Result.best_schedule
    lineage: ClassVar[bool] = True
    #: its candidates continue trainings from checkpoints (a Trainable objective)
    continues_trainings: ClassVar[bool] = True
    quantile_fraction: float = 0.25
    resample_probability: float = 0.25
    perturbation_factors: tuple[float, float] = (0.8, 1.2)
    mutable: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        q = self.quantile_fraction
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 0.5:
            raise InvalidParameterError(
                f"'quantile_fraction' must be a float in (0, 0.5], got {q!r}"
            )
        p = self.resample_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise InvalidParameterError(
                f"'resample_probability' must be a float in [0, 1], got {p!r}"
            )
        factors = tuple(self.perturbation_factors)
        if len(factors) != 2 or not all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0 for f in factors
        ):
            raise InvalidParameterError(
                "'perturbation_factors' must be two positive numbers, got "
                f"{self.perturbation_factors!r}"
            )
        self.perturbation_factors = (float(factors[0]), float(factors[1]))
        if self.mutable is not None:
            if isinstance(self.mutable, str) or not all(isinstance(n, str) for n in self.mutable):
                raise InvalidParameterError(
                    f"'mutable' must be a sequence of parameter names, got {self.mutable!r}"
                )
            self.mutable = tuple(self.mutable)

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def for_objective(self, objective: Any) -> PBT:
        """This strategy for ``objective``, which must be a Trainable's."""
        from evotune.trainable import TrainableObjective

        if not isinstance(objective, TrainableObjective):
            raise InvalidParameterError(
                "strategy='pbt' continues trainings from checkpoints: pass a Trainable "
                "class (with setup, step, save_checkpoint and load_checkpoint) as the "
                f"objective, got {type(getattr(objective, 'function', objective)).__name__}"
            )
        return self

    # ---------------------------------------------------------------- protocol
    def start(self, state: SearchState) -> None:
        check_int("population_size", state.population_size, low=2)
        names = set(state.space.names)
        unknown = sorted(set(self.mutable or ()) - names)
        if unknown:
            raise InvalidParameterError(
                f"PBT: 'mutable' names {unknown}, which the space does not have; it has "
                f"{sorted(names)}"
            )
        self._pending: dict[int, Genome] = {}
        self._next: list[_Next] = []

    def ask(self, state: SearchState, limit: int | None) -> list[Genome]:
        refuse_if_pending(self._pending, state.generation)
        if state.generation == 0 or not self._next:
            self._next = self._initial(state)
        new: list[Genome] = []
        for m, nxt in enumerate(self._next):
            key = state.space.key(nxt.row) + f"|member={m}"
            if nxt.checkpoint is not None:
                key += f"|from={nxt.parent}"
            parents = (nxt.parent,) if nxt.parent >= 0 else ()
            g = state.new_genome(nxt.row, key, nxt.origin, parents, 0.0, state.generation)
            g.checkpoint = nxt.checkpoint
            new.append(g)
        return enlist(state, new, self._pending, limit)

    def tell(self, state: SearchState, evaluations: Sequence[Evaluation]) -> None:
        told = matched(self._pending, evaluations, state.generation)
        for g, ev in told:
            state.record(g, ev)
        self._pending = {}
        state.population = [g for g, _ in told]
        state.hall_of_fame.update([g for g, _ in told if math.isfinite(g.score)])
        self._next, exploited = self._exploit_and_explore(state, told)
        failed = sum(1 for _, e in told if e.status in FAILED_STATUSES)
        state.close_generation(len(told), failed, {"exploited": exploited})

    def finish(self, state: SearchState) -> None:
        """A generation is closed when it is told: nothing is left open."""

    def checkpoints_in_use(self) -> set[str]:
        """The checkpoints the next generation continues from."""
        return {n.checkpoint for n in self._next if n.checkpoint is not None}

    # ----------------------------------------------------------------- helpers
    def _initial(self, state: SearchState) -> list[_Next]:
        seeds = state.seeds[: state.population_size] if state.generation == 0 else state.seeds[:0]
        rest = state.space.sample(
            state.population_size - len(seeds), state.rng, state.initial_sampling
        )
        origins = ["seeded"] * len(seeds) + ["initial"] * len(rest)
        return [_Next(row, None, -1, o) for row, o in zip(np.vstack([seeds, rest]), origins)]

    def _exploit_and_explore(
        self, state: SearchState, told: list[tuple[Genome, Evaluation]]
    ) -> tuple[list[_Next], int]:
        """The next generation: the worst members take a copy of a top member's
        checkpoint and perturbed parameters; a member with no checkpoint (its
        training failed) always does."""
        sign = 1.0 if state.direction == "maximize" else -1.0
        scored = [(g, e) for g, e in told if math.isfinite(g.score) and e.checkpoint]
        order = sorted(scored, key=lambda ge: (-sign * ge[0].score, ge[0].id))
        n_q = max(1, int(len(told) * self.quantile_fraction))
        top = order[:n_q]
        bottom = {g.id for g, _ in order[len(order) - n_q :]} if len(order) > n_q else set()
        out: list[_Next] = []
        exploited = 0
        for g, e in told:
            if top and (g.id in bottom or not (math.isfinite(g.score) and e.checkpoint)):
                src, src_ev = top[int(state.rng.integers(len(top)))]
                row = explore(state.space, src.genes, self, state.rng)
                out.append(_Next(row, src_ev.checkpoint, src.id, "exploited"))
                exploited += 1
            elif e.checkpoint:
                out.append(_Next(g.genes, e.checkpoint, g.id, "continued"))
            else:  # nothing to continue from nor to copy: start afresh
                row = state.space.sample(1, state.rng, "random")[0]
                out.append(_Next(row, None, -1, "initial"))
        return out, exploited


def explore(space: Space, genes: np.ndarray, pbt: PBT, rng: np.random.Generator) -> np.ndarray:
    """``genes`` with each mutable parameter resampled or scaled by a factor.

    Examples
    --------
    >>> from evotune import Float
    >>> s = Space({"lr": Float(1e-4, 1.0, log=True)})
    >>> row = s.encode({"lr": 0.1})
    >>> new = explore(s, row, PBT(resample_probability=0.0), np.random.default_rng(0))
    >>> round(s.decode(new)["lr"], 6) in (0.08, 0.12)
    True
    """
    params = space.decode(genes)
    fresh = space.decode(space.sample(1, rng, "random")[0])
    names = pbt.mutable if pbt.mutable is not None else space.names
    for name in names:
        if name not in params:
            continue  # inactive in this member
        p = space[name]
        if rng.random() < pbt.resample_probability and name in fresh:
            params[name] = fresh[name]
        elif hasattr(p, "low") and hasattr(p, "high"):
            factor = pbt.perturbation_factors[int(rng.integers(2))]
            value = min(max(params[name] * factor, p.low), p.high)
            params[name] = round(value) if isinstance(p.low, int) else float(value)
    return space.encode(params)
