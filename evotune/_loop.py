"""The run loop of :func:`evotune.evolve`: generations, journal, callbacks, stops.

:class:`~evotune.Evolution` decides what to evaluate; this loop runs one
generation after another through the evaluator, keeps the run directory's
journal in step (and checks a replay against it on resume), calls the
callbacks, applies the stop rules, and shuts everything down cleanly, on an
interruption too.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evotune._signals import exit_on_second_signal, sigterm_interrupts
from evotune._tables import TableWriter
from evotune.evaluation import Candidate, Evaluation, Evaluator, summarise_failures
from evotune.journal import JournalError, RunDirectory
from evotune.result import Result

if TYPE_CHECKING:
    from evotune.engine import Evolution

logger = logging.getLogger("evotune")


class AllFailedError(ValueError):
    """Every evaluation failed: there is nothing to evolve from."""


@dataclass(frozen=True)
class GenerationState:
    """What a callback sees at the end of a generation."""

    generation: int
    n_evaluations: int
    best_score: float
    best_params: dict[str, Any] | None
    record: dict[str, Any]
    elapsed: float
    evolution: Evolution


_HOOKS = ("on_run_start", "on_evaluation", "on_generation_end", "on_run_end")


def _call_callbacks(callbacks: Sequence[Any], state: GenerationState) -> bool:
    """Run each callback; any that returns True asks the run to stop."""
    stop = False
    for cb in callbacks:
        hook = getattr(cb, "on_generation_end", None)
        if hook is None and any(hasattr(cb, h) for h in _HOOKS):
            continue  # a callback without this hook
        result = hook(state) if hook is not None else cb(state)
        stop = stop or bool(result)
    return stop


def _call_hook(callbacks: Sequence[Any], name: str, arg: Any) -> None:
    for cb in callbacks:
        hook = getattr(cb, name, None)
        if hook is not None:
            hook(arg)


def _check_callbacks(callbacks: Any) -> list[Any]:
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"'callbacks' must be a list of callbacks, got {callbacks!r}")
    out = list(callbacks)
    for cb in out:
        if not (callable(cb) or any(hasattr(cb, h) for h in _HOOKS)):
            raise TypeError(
                "each callback must be callable or have one of the hooks "
                f"{', '.join(_HOOKS)}; got {cb!r}"
            )
    return out


class _Loop:
    """The generation loop of :func:`evolve`, with its journal and its stops."""

    def __init__(
        self,
        evo: Evolution,
        objective: Any,
        backend: Any,
        run: RunDirectory | None,
        callbacks: list[Any],
    ) -> None:
        self.evo = evo
        self.run_dir = run
        self.callbacks = callbacks
        self.evaluator = Evaluator(
            objective,
            backend,
            fold_cache=dict(run.folds) if run is not None else None,
            on_fold=run.record_fold if run is not None else None,
            on_idle=run.tick if run is not None else None,
        )
        self._recorded = set(run.evaluated) if run is not None else set()
        self._tables: TableWriter | None = None

    def _on_result(self, ev: Evaluation) -> None:
        if self.run_dir is not None and ev.key not in self._recorded:
            self._recorded.add(ev.key)
            self.run_dir.record_evaluation(ev)
        _call_hook(self.callbacks, "on_evaluation", ev)

    def _journal_ask(self, generation: int, candidates: list[Candidate]) -> None:
        run = self.run_dir
        if run is None:
            return
        before = run.asked.get(generation)
        keys = [c.key for c in candidates]
        if before is None:
            run.record_ask(generation, candidates)
        elif keys[: len(before)] != before:
            raise JournalError(
                f"cannot resume {str(run.path)!r}: generation {generation} now asks other "
                "candidates than the journal holds (was the code or the objective changed?)"
            )
        elif len(keys) > len(before):
            run.record_ask(generation, candidates)

    def _journal_tell(self, result_factory: Any) -> None:
        run = self.run_dir
        if run is None:
            return
        generation = self.evo.generation - 1
        state = self.evo.rng.bit_generator.state
        before = run.told.get(generation)
        if before is None:
            run.record_tell(
                generation, dict(state), self.evo.n_evaluations, dict(self.evo.logbook[-1])
            )
        elif json.dumps(before, sort_keys=True) != json.dumps(state, sort_keys=True):
            raise JournalError(
                f"cannot resume {str(run.path)!r}: after generation {generation} the random "
                "state differs from the journal's (was the code or the objective changed?)"
            )
        if self._tables is None:
            self._tables = TableWriter(self.evo.space)
        self._tables.write(run.path, self.evo.evaluations, [g.id for g in self.evo.hall_of_fame])

    def run(
        self,
        *,
        generations: int,
        max_evaluations: int | None,
        time_budget: float | None,
        patience: int | None,
        resumed: bool,
    ) -> Result:
        evo, evaluator = self.evo, self.evaluator
        start = time.perf_counter()
        stop_reason = "generations"
        best_so_far = -math.inf
        stale = 0

        def result() -> Result:
            return Result.from_evolution(
                evo, stop_reason=stop_reason, elapsed=time.perf_counter() - start
            )

        if self.run_dir is not None:
            backend = self.evaluator.backend
            self.run_dir.record_start(resumed, getattr(backend, "n_workers", 1))
        evo.budget = (
            evo.population_size * generations
            if max_evaluations is None
            else min(max_evaluations, evo.population_size * generations)
        )
        _call_hook(self.callbacks, "on_run_start", evo)
        try:
            with sigterm_interrupts():
                for _ in range(generations):
                    remaining = (
                        None if max_evaluations is None else max_evaluations - evo.n_evaluations
                    )
                    if remaining is not None and remaining <= 0:
                        stop_reason = "max_evaluations"
                        break
                    if time_budget is not None and time.perf_counter() - start >= time_budget:
                        stop_reason = "time_budget"
                        break
                    candidates = evo.ask(limit=remaining)
                    if not candidates:
                        evo.tell([])
                        stop_reason = "exhausted"
                        break
                    self._journal_ask(evo.generation, candidates)
                    evo.tell(evaluator.evaluate(candidates, on_result=self._on_result))
                    self._journal_tell(result)
                    if evo.best is None and evo.generation == 1:
                        raise AllFailedError(
                            f"All the {evo.n_evaluations} evaluations of the first generation "
                            "failed.\n" + summarise_failures(evo.evaluations)
                        )
                    best = evo.best
                    value = best.selection_value() if best is not None else -math.inf
                    if value > best_so_far:
                        best_so_far, stale = value, 0
                    else:
                        stale += 1
                    state = GenerationState(
                        generation=evo.generation - 1,
                        n_evaluations=evo.n_evaluations,
                        best_score=best.score if best is not None else math.nan,
                        best_params=dict(best.params) if best is not None else None,
                        record=dict(evo.logbook[-1]),
                        elapsed=time.perf_counter() - start,
                        evolution=evo,
                    )
                    logger.info(
                        "generation %d: %d evaluations, best %.6g",
                        state.generation,
                        state.n_evaluations,
                        state.best_score,
                    )
                    if _call_callbacks(self.callbacks, state):
                        stop_reason = "callback"
                        break
                    if patience is not None and stale >= patience:
                        stop_reason = "patience"
                        break
                if (
                    max_evaluations is not None
                    and evo.n_evaluations >= max_evaluations
                    and stop_reason == "generations"
                ):
                    stop_reason = "max_evaluations"
        except KeyboardInterrupt:
            with exit_on_second_signal():
                _call_hook(self.callbacks, "on_run_end", None)
                self._close("interrupted")
                if self.run_dir is not None:
                    logger.warning(
                        "run interrupted; %d evaluations are kept in %s. Resume it "
                        "with evolve(..., checkpoint=%r, resume=True) or `evotune resume %s`.",
                        len(evaluator.fold_cache) // max(1, int(evaluator.objective.n_tasks)),
                        self.run_dir.path,
                        str(self.run_dir.path),
                        self.run_dir.path,
                    )
            raise
        except BaseException:
            try:
                _call_hook(self.callbacks, "on_run_end", None)
            finally:
                self._close("error")
            raise
        self._close(stop_reason)
        n_failed = sum(1 for e in evo.evaluations if e.status != "ok")
        if n_failed:
            warnings.warn(
                f"{n_failed} of {evo.n_evaluations} evaluations failed; they are in the history "
                f"with their errors.\n{summarise_failures(evo.evaluations)}",
                UserWarning,
                stacklevel=3,
            )
        finished = result()
        _call_hook(self.callbacks, "on_run_end", finished)
        return finished

    def _close(self, reason: str) -> None:
        try:
            self.evaluator.close()
        finally:
            if self.run_dir is not None:
                try:
                    self.run_dir.record_stop(reason)
                finally:
                    self.run_dir.close()
