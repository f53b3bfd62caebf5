"""Stop rules: when a run ends before its generations are done.

Each rule is written once, here. ``evolve(patience=k)`` and
``evolve(time_budget=s)`` build an :class:`EarlyStopping` and a
:class:`TimeBudget` through :func:`stop_rules`, and the run loop asks them;
the same objects given in ``callbacks=`` stop a run at the same point, and
:mod:`evotune.callbacks` exports them as callbacks. Only the stop reason
differs: a rule built from a setting names it (``"patience"``,
``"time_budget"``), a rule given as a callback reports ``"callback"``.

The run loop asks a rule at two points:

- ``on_generation_end(state)``, at the end of every generation, after the
  callbacks: True stops the run there (its journal is whole);
- ``exhausted()``, before it starts more work: before each generation, and in
  the steady-state strategy after each told result, before the next child is
  asked. True means nothing more is asked; what is already being evaluated is
  finished and told.

This module imports nothing of evotune: the loop depends on it, never the
reverse.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["EarlyStopping", "StopRule", "TimeBudget", "stop_rules"]


class StopRule:
    """Base of the stop rules: every callback hook, and :meth:`exhausted`.

    Attributes
    ----------
    reason : str
        The run's ``stop_reason`` when the loop stops for this rule built
        from a setting of :func:`~evotune.evolve`.

    Examples
    --------
    >>> class StopAtTwo(StopRule):
    ...     reason = "two"
    ...     def on_generation_end(self, state):
    ...         return state.generation >= 2
    >>> StopAtTwo().exhausted()
    False
    """

    reason: ClassVar[str] = "callback"

    def on_run_start(self, evolution: Any) -> None:
        """Before the first generation: start counting afresh."""

    def on_evaluation(self, evaluation: Any) -> None:
        """As each evaluation completes (no rule needs it yet)."""

    def on_generation_end(self, state: Any) -> bool:
        """At the end of each generation; True stops the run."""
        return False

    def on_run_end(self, result: Any) -> None:
        """At the end of the run."""

    def exhausted(self) -> bool:
        """Before more work starts; True means start none."""
        return False


class EarlyStopping(StopRule):
    """Stop once the best score has gone ``patience`` generations without
    improving by more than ``min_delta``.

    The best score so far is compared as "larger is better" after the run's
    direction (``state.best_value``, the best genome's selection value), so
    the rule means the same for ``direction="minimize"``: a lower score is an
    improvement there. A generation improves when its best score beats the
    reference by more than ``min_delta``, and then becomes the reference;
    every other generation, one whose evaluations all failed included, is one
    more without improvement. Generation 0 sets the first reference, so with
    a flat objective ``patience=2`` ends a generational run (``"ga"``) after
    three generations; an asynchronous one (``"model_based"``, the default,
    or ``"steady_state"``) also finishes the candidates in flight at the
    stop, which may log one generation more. ``evolve(patience=k)`` is
    ``EarlyStopping(k)``.

    Parameters
    ----------
    patience : int
        Generations without improvement that end the run (>= 1).
    min_delta : float, default=0.0
        The smallest gain of the best score that counts as an improvement.

    Examples
    --------
    >>> from evotune import Float, evolve
    >>> res = evolve(lambda p: 1.0, {"x": Float(0, 1)}, population_size=4, generations=20,
    ...              strategy="ga", callbacks=[EarlyStopping(patience=2)], random_state=0)
    >>> res.stop_reason, len(res.logbook)
    ('callback', 3)
    """

    reason: ClassVar[str] = "patience"

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: 'patience' must be an integer >= 1, got {patience!r}")
        if (
            isinstance(min_delta, bool)
            or not isinstance(min_delta, (int, float))
            or not min_delta >= 0
        ):
            raise ValueError(f"EarlyStopping: 'min_delta' must be a number >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self._best = -math.inf
        self._stale = 0

    def on_run_start(self, evolution: Any) -> None:
        self._best, self._stale = -math.inf, 0

    def on_generation_end(self, state: Any) -> bool:
        """Count this generation; True once ``patience`` went without improvement.

        ``state.best_value`` is the best score so far as "larger is better",
        ``-inf`` while no evaluation has a finite score.
        """
        value = float(state.best_value)
        # against the first reference, -inf, a finite value gains inf and
        # -inf gains NaN: the comparison needs no special case
        if value - self._best > self.min_delta:
            self._best, self._stale = value, 0
        else:
            self._stale += 1
        return self._stale >= self.patience

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta})"


class TimeBudget(StopRule):
    """Start no new work once ``seconds`` have passed since the run started.

    The clock starts at the run's start (at construction until then). Once
    the budget is spent, no generation starts, and in the steady-state
    strategy no further child is asked; the generation under way when it ran
    out is the last, and what is already being evaluated is finished, so a
    run may end up to one generation past the budget. ``evolve(time_budget=s)``
    is ``TimeBudget(s)``.

    Parameters
    ----------
    seconds : float
        The budget (> 0).
    clock : callable, optional
        Returns the time in seconds; by default the class attribute
        ``TimeBudget.clock``, :func:`time.monotonic`.

    Examples
    --------
    >>> now = [0.0]
    >>> budget = TimeBudget(10, clock=lambda: now[0])
    >>> budget.on_run_start(None); now[0] = 9.5; budget.exhausted()
    False
    >>> now[0] = 10.0; budget.exhausted()
    True
    """

    reason: ClassVar[str] = "time_budget"
    # the default clock, a class attribute so that a test can stand in a fake
    # one for the rules that evolve(time_budget=...) builds
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, seconds: float, *, clock: Callable[[], float] | None = None) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError(f"TimeBudget: 'seconds' must be a number > 0, got {seconds!r}")
        if clock is not None:
            if not callable(clock):
                raise TypeError(f"TimeBudget: 'clock' must be callable, got {clock!r}")
            self.clock = clock
        self.seconds = float(seconds)
        self._start = self.clock()

    def on_run_start(self, evolution: Any) -> None:
        self._start = self.clock()

    def exhausted(self) -> bool:
        """True once the budget is spent."""
        return self.clock() - self._start >= self.seconds

    def on_generation_end(self, state: Any) -> bool:
        """True once the budget is spent: the next generation would start after it."""
        return self.exhausted()

    def __repr__(self) -> str:
        return f"TimeBudget(seconds={self.seconds})"


def stop_rules(patience: int | None = None, time_budget: float | None = None) -> list[StopRule]:
    """The stop rules of :func:`~evotune.evolve`'s ``patience`` and
    ``time_budget`` settings (None: no rule), in the order the loop asks them.

    Examples
    --------
    >>> stop_rules(patience=3, time_budget=60)
    [EarlyStopping(patience=3, min_delta=0.0), TimeBudget(seconds=60.0)]
    >>> stop_rules()
    []
    """
    rules: list[StopRule] = []
    if patience is not None:
        rules.append(EarlyStopping(patience))
    if time_budget is not None:
        rules.append(TimeBudget(time_budget))
    return rules
