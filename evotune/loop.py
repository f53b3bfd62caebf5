"""The run loop: generations, journal, callbacks, stops.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evotune._checkpoints import InUse
from evotune._figures._memory import FigureData
from evotune._racing import Race, reference_for, resolve_top
from evotune._signals import exit_on_second_signal, sigterm_interrupts, with_result
from evotune._tables import TableWriter
from evotune.callbacks import Callback
from evotune.engine import Evolution
from evotune.evaluation import Evaluator, summarise_failures
from evotune.journal import JournalError, RunDirectory
from evotune.pruning import Bounds, PruningRule, bounds_for
from evotune.records import FAILED_STATUSES, Candidate, Evaluation
from evotune.result import Result
from evotune.stopping import StopRule, stop_rules
from evotune.trainable import TrainableObjective

logger = logging.getLogger("evotune")


def interrupted_line(result: Result) -> str:
    """The one line an interrupted run raises: what it kept and its best."""
    n = result.n_evaluations
    head = f"run interrupted: {n} evaluation{'s' if n != 1 else ''} kept"
    if result.best_params is None:
        return f"{head}, none with a score; the partial Result is the exception's .result"
    params = repr(result.best_params)
    params = params if len(params) <= 120 else params[:119] + "…"
    return (
        f"{head}; best {result.best_score:.6g} with {params}; "
        "the partial Result is the exception's .result"
    )


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
    # the best score so far as "larger is better" after the direction (the
    # best genome's selection value; -inf while none is finite): what
    # EarlyStopping compares, for either direction and several objectives
    best_value: float


def _call_callbacks(callbacks: Sequence[Callback], state: GenerationState) -> bool:
    """Run each callback (every one, even after one asked to stop); any that
    returns True asks the run to stop."""
    asked = [bool(cb.on_generation_end(state)) for cb in callbacks]
    return any(asked)


class _Loop:
    """The generation loop of :func:`evolve`, with its journal and its stops."""

    def __init__(
        self,
        evo: Evolution,
        objective: Any,
        backend: Any,
        run: RunDirectory | None,
        callbacks: list[Callback],
        racing: bool | int = False,
        known: dict[tuple[str, int], Any] | None = None,
        prune: PruningRule | None = None,
    ) -> None:
        self.evo = evo
        self.run_dir = run
        self.callbacks = callbacks
        self.evaluator = Evaluator(
            objective,
            backend,
            # the run's own journal wins over a warm start's known scores
            fold_cache={**(known or {}), **(run.folds if run is not None else {})},
            on_fold=run.record_fold if run is not None else None,
            on_idle=run.tick if run is not None else None,
        )
        self._recorded = set(run.evaluated) if run is not None else set()
        self._tables: TableWriter | None = None
        self.racing = racing
        self.prune = prune
        self._asked_count: dict[int, int] = {}
        self._start = time.perf_counter()
        self._rules: list[StopRule] = []
        self._wall_start = math.nan
        # every evaluation that finished, told or not: an interrupted run keeps them
        self._finished: list[Evaluation] = []
        # the checkpoints of trainings continued across generations (strategy="pbt")
        self._in_use = (
            InUse(objective.directory)
            if isinstance(objective, TrainableObjective) and objective.directory is not None
            else None
        )

    def _on_result(self, ev: Evaluation) -> None:
        self._finished.append(ev)
        if self._in_use is not None:
            self._in_use.finished(ev.candidate_id, ev.checkpoint)
        if self.run_dir is not None and ev.key not in self._recorded:
            self._recorded.add(ev.key)
            self.run_dir.record_evaluation(ev)
        for cb in self.callbacks:
            cb.on_evaluation(ev)

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

    def _journal_tell(
        self, generation: int, state: dict[str, Any], n_evaluations: int, record: dict[str, Any]
    ) -> None:
        run = self.run_dir
        if run is None:
            return
        before = run.told.get(generation)
        if before is None:
            run.record_tell(generation, dict(state), n_evaluations, dict(record))
        elif json.dumps(before, sort_keys=True) != json.dumps(state, sort_keys=True):
            raise JournalError(
                f"cannot resume {str(run.path)!r}: after generation {generation} the random "
                "state differs from the journal's (was the code or the objective changed?)"
            )
        if self._tables is None:
            self._tables = TableWriter(self.evo.space)
        self._tables.write(run.path, self.evo.evaluations, [g.id for g in self.evo.hall_of_fame])

    def _race(self) -> Race | None:
        if not self.racing:
            return None
        return reference_for(
            self.evo.evaluations,
            resolve_top(self.racing, self.evo.population_size),
            self.evo.direction,
            int(self.evaluator.objective.n_tasks),
        )

    def _bounds(self) -> list[Bounds] | None:
        return bounds_for(
            self.prune,
            self.evo.evaluations,
            self.evo.direction,
            int(self.evaluator.objective.n_tasks),
        )

    def _generation_end(self, boundary: dict[str, Any]) -> str | None:
        """Journal, log, call the callbacks and apply the stop rules at the end
        of a generation; the stop reason, or None to go on."""
        evo = self.evo
        generation = int(boundary["generation"])
        self._journal_tell(
            generation, boundary["rng"], boundary["n_evaluations"], boundary["record"]
        )
        best = boundary["best"]
        # only when every evaluation failed: a NaN score is a score (as in
        # scikit-learn, which warns about it and goes on)
        if (
            best is None
            and generation == 0
            and all(e.status in FAILED_STATUSES for e in evo.evaluations)
        ):
            raise AllFailedError(
                f"All the {boundary['n_evaluations']} evaluations of the first generation "
                "failed.\n" + summarise_failures(evo.evaluations)
            )
        state = GenerationState(
            generation=generation,
            n_evaluations=boundary["n_evaluations"],
            best_score=best.score if best is not None else math.nan,
            best_params=dict(best.params) if best is not None else None,
            record=dict(boundary["record"]),
            elapsed=time.perf_counter() - self._start,
            evolution=evo,
            best_value=best.selection_value() if best is not None else -math.inf,
        )
        logger.info(
            "generation %d: %d evaluations, best %.6g",
            state.generation,
            state.n_evaluations,
            state.best_score,
        )
        if _call_callbacks(self.callbacks, state):
            return "callback"
        # every rule sees every generation, so each counts its own
        stops = [rule.reason for rule in self._rules if rule.on_generation_end(state)]
        return stops[0] if stops else None

    def _spent(self) -> str | None:
        """Whether a stop rule or a callback forbids starting more work, and why."""
        for rule in self._rules:
            if rule.exhausted():
                return rule.reason
        if any(cb.exhausted() for cb in self.callbacks):
            return "callback"
        return None

    def _generational(self, generations: int, max_evaluations: int | None) -> str:
        evo, evaluator = self.evo, self.evaluator
        for _ in range(generations):
            remaining = None if max_evaluations is None else max_evaluations - evo.n_evaluations
            if remaining is not None and remaining <= 0:
                return "max_evaluations"
            spent = self._spent()
            if spent is not None:
                return spent
            candidates = evo.ask(limit=remaining)
            if not candidates:
                evo.tell([])
                evo.boundaries.clear()  # an empty generation is logged, never journaled
                return "exhausted"
            self._journal_ask(evo.generation, candidates)
            if self._in_use is not None:
                self._in_use.asked(candidates)
            race, prune = self._race(), self._bounds()
            evo.tell(
                evaluator.evaluate(candidates, on_result=self._on_result, race=race, prune=prune)
            )
            if self._in_use is not None:
                self._in_use.told(evo.strategy.checkpoints_in_use())
            stop = None
            while evo.boundaries:
                stop = self._generation_end(evo.boundaries.pop(0)) or stop
            if stop is not None:
                return stop
        if max_evaluations is not None and evo.n_evaluations >= max_evaluations:
            return "max_evaluations"
        return "generations"

    def _steady(self, generations: int, max_evaluations: int | None) -> str:
        """The asynchronous loop: results are told one at a time in birth order,
        so every generation's end is seen at the same point of the run, at any
        ``n_jobs``; new children are asked as soon as they are born."""
        evo, evaluator = self.evo, self.evaluator
        budget = evo.population_size * generations
        if max_evaluations is not None:
            budget = min(budget, max_evaluations)
        queue: list[Candidate] = []  # asked, in birth order, not yet told
        done: dict[int, Evaluation] = {}
        n_asked = 0
        stop: str | None = None

        def ask() -> None:
            # right after each tell: a child is asked, and its race reference
            # taken, at the same point of the run whatever the timing
            nonlocal n_asked
            if stop is not None:
                return
            fresh = evo.ask(limit=budget - n_asked)
            if fresh:
                n_asked += len(fresh)
                for c in fresh:
                    self._journal_ask_one(c)
                queue.extend(fresh)
                evaluator.submit(
                    fresh, on_result=self._on_result, race=self._race(), prune=self._bounds()
                )

        # as the generational loop: a budget spent before the run starts (a
        # slow on_run_start) starts nothing, not even the initial design
        stop = self._spent()
        ask()
        while queue:
            finished = evaluator.poll()
            if not finished and not evaluator.n_open and queue[0].id not in done:
                raise RuntimeError(f"candidate {queue[0].id} was asked and never evaluated")
            for c, ev in finished:
                done[c.id] = ev
            while queue and queue[0].id in done:
                evo.tell([done.pop(queue.pop(0).id)])
                while evo.boundaries:
                    reason = self._generation_end(evo.boundaries.pop(0))
                    if stop is None and reason is not None:
                        stop = reason
                if stop is None:
                    stop = self._spent()
                ask()
        evo.finish()
        while evo.boundaries:
            self._generation_end(evo.boundaries.pop(0))
        if stop is not None:
            return stop
        if n_asked < budget:
            return "exhausted"
        if max_evaluations is not None and n_asked >= max_evaluations:
            return "max_evaluations"
        return "generations"

    def _journal_ask_one(self, c: Candidate) -> None:
        run = self.run_dir
        if run is None:
            return
        before = run.asked.setdefault(c.generation, [])
        n = self._asked_count.get(c.generation, 0)
        self._asked_count[c.generation] = n + 1
        if n < len(before):
            if before[n] != c.key:
                raise JournalError(
                    f"cannot resume {str(run.path)!r}: generation {c.generation} now asks "
                    "other candidates than the journal holds (was the code or the objective "
                    "changed?)"
                )
            return
        run.record_ask(c.generation, [c], append=True)
        before.append(c.key)

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
        self._start = start = time.perf_counter()
        self._wall_start = time.time()
        self._rules = stop_rules(patience=patience, time_budget=time_budget)
        for rule in self._rules:
            rule.on_run_start(evo)
        stop_reason = "generations"

        try:
            if self.run_dir is not None:
                backend = self.evaluator.backend
                self.run_dir.record_start(resumed, backend.n_workers)
            for cb in self.callbacks:
                cb.on_run_start(evo)
        except BaseException:
            # a full disk, or a callback that cannot start (an unreachable tracking
            # server), must not leave the workers running or the run directory locked
            self._close("error")
            raise
        body = self._steady if evo.strategy.asynchronous else self._generational
        try:
            with sigterm_interrupts():
                stop_reason = body(generations, max_evaluations)
        except KeyboardInterrupt as exc:
            with exit_on_second_signal():
                partial = self._partial_result(time.perf_counter() - start)
                self._run_end(None)
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
            raised = with_result(exc, partial, interrupted_line(partial))
            if raised is exc:
                raise
            raise raised from None
        except BaseException:
            try:
                self._run_end(None)
            finally:
                self._close("error")
            raise
        self._close(stop_reason)
        n_failed = sum(1 for e in evo.evaluations if e.status in FAILED_STATUSES)
        if n_failed:
            warnings.warn(
                f"{n_failed} of {len(evo.evaluations)} evaluations failed; they are in the "
                f"history with their errors.\n{summarise_failures(evo.evaluations)}",
                self.evaluator.objective.failure_warning,
                stacklevel=3,
            )
        finished = Result.from_evolution(
            evo,
            stop_reason=stop_reason,
            elapsed=time.perf_counter() - start,
            figure_data=self._figure_data(evo.evaluations),
        )
        self._run_end(finished)
        return finished

    def _partial_result(self, elapsed: float) -> Result:
        """What an interrupted run kept: every finished evaluation, those of a
        generation it had not finished included."""
        told = {e.key for e in self.evo.evaluations}
        untold = [e for e in self._finished if e.key not in told]
        return Result.from_evolution(
            self.evo,
            stop_reason="interrupted",
            elapsed=elapsed,
            untold=untold,
            figure_data=self._figure_data([*self.evo.evaluations, *untold]),
        )

    def _figure_data(self, evaluations: Sequence[Evaluation]) -> FigureData:
        """What the result's figures need beyond its tables (see Result.plot_progress)."""
        objective = self.evaluator.objective
        fingerprint = objective.fingerprint() if hasattr(objective, "fingerprint") else {}
        return FigureData.of(
            self.evo.space.to_dict(),
            self.evo.settings.to_json(),
            fingerprint,
            self.evaluator.fold_cache.items(),
            (e.key for e in evaluations),
            self._wall_start,
        )

    def _run_end(self, result: Result | None) -> None:
        for cb in self.callbacks:
            cb.on_run_end(result)

    def _close(self, reason: str) -> None:
        if self._in_use is not None and reason not in ("interrupted", "error"):
            self._in_use.end()  # files of trainings never journaled go; a resume needs none
        if self.run_dir is not None and self._tables is not None and self._tables.pending:
            try:
                self._tables.write(
                    self.run_dir.path,
                    self.evo.evaluations,
                    [g.id for g in self.evo.hall_of_fame],
                    force=True,
                )
            except OSError:  # the journal holds everything; the tables are views
                logger.warning("could not write the tables of %s", self.run_dir.path)
        try:
            self.evaluator.close()
        finally:
            if self.run_dir is not None:
                try:
                    self.run_dir.record_stop(reason)
                finally:
                    self.run_dir.close()
