"""Callbacks: watch a run and steer it.

A callback is any object with some of these methods (all optional), or a
plain callable, which is taken as ``on_generation_end``:

- ``on_run_start(evolution)``: before the first generation; ``evolution.budget``
  is the number of evaluations the run may make at most.
- ``on_evaluation(evaluation)``: as each candidate's evaluation completes.
- ``on_generation_end(state)``: after each generation, with a
  :class:`~evotune.GenerationState`; returning True stops the run cleanly
  (the journal is whole and the run can be resumed or extended later).
- ``on_run_end(result)``: at the end, with the :class:`~evotune.Result`
  (None when the run was interrupted or failed).
- ``exhausted()``: before the run starts more work (a generation, or in the
  steady-state strategy the next child); returning True starts none.

The stop rules :class:`EarlyStopping` and :class:`TimeBudget` live in
:mod:`evotune.stopping`, where ``evolve(patience=...)`` and
``evolve(time_budget=...)`` take them from; they are re-exported here.
"""

from __future__ import annotations

import abc
import math
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from evotune.stopping import EarlyStopping, StopRule, TimeBudget

__all__ = ["Callback", "EarlyStopping", "ProgressBar", "TimeBudget"]


class Callback(abc.ABC):
    """Base class with every hook a no-op; subclass and override what you need.

    The stop rules of :mod:`evotune.stopping` count as callbacks
    (``isinstance(EarlyStopping(3), Callback)`` is True) without importing
    this module, which sits above them.

    Examples
    --------
    >>> class CountGenerations(Callback):
    ...     def __init__(self):
    ...         self.n = 0
    ...     def on_generation_end(self, state):
    ...         self.n += 1
    """

    def on_run_start(self, evolution: Any) -> None:
        """Before the first generation."""

    def on_evaluation(self, evaluation: Any) -> None:
        """As each evaluation completes."""

    def on_generation_end(self, state: Any) -> bool | None:
        """After each generation; return True to stop the run."""
        return None

    def on_run_end(self, result: Any) -> None:
        """At the end (``result`` is None when the run did not finish)."""

    def exhausted(self) -> bool:
        """Before the run starts more work; return True to start none."""
        return False


Callback.register(StopRule)

_HOOKS = ("on_run_start", "on_evaluation", "on_generation_end", "on_run_end", "exhausted")


class _CallbackAdapter(Callback):
    """A user's callback that does not subclass :class:`Callback`: its own
    hooks, and the base's no-ops for those it lacks. This is the one place
    that looks at which hooks an object has; the run loop calls them all."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self._hooks = {
            h: getattr(wrapped, h) for h in _HOOKS if callable(getattr(wrapped, h, None))
        }
        if not self._hooks:  # a plain callable is an on_generation_end
            self._hooks = {"on_generation_end": wrapped}

    def on_run_start(self, evolution: Any) -> None:
        if "on_run_start" in self._hooks:
            self._hooks["on_run_start"](evolution)

    def on_evaluation(self, evaluation: Any) -> None:
        if "on_evaluation" in self._hooks:
            self._hooks["on_evaluation"](evaluation)

    def on_generation_end(self, state: Any) -> bool | None:
        hook = self._hooks.get("on_generation_end")
        return hook(state) if hook is not None else None

    def on_run_end(self, result: Any) -> None:
        if "on_run_end" in self._hooks:
            self._hooks["on_run_end"](result)

    def exhausted(self) -> bool:
        hook = self._hooks.get("exhausted")
        return bool(hook()) if hook is not None else False

    def __repr__(self) -> str:
        return repr(self.wrapped)


def as_callbacks(callbacks: Any) -> list[Callback]:
    """The run's callbacks, each a :class:`Callback` (a user's object that is
    not one is wrapped, never written onto).

    Examples
    --------
    >>> [type(cb).__name__ for cb in as_callbacks([ProgressBar(), print])]
    ['ProgressBar', '_CallbackAdapter']
    """
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"'callbacks' must be a list of callbacks, got {callbacks!r}")
    out: list[Callback] = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb) or any(callable(getattr(cb, h, None)) for h in _HOOKS):
            out.append(_CallbackAdapter(cb))
        else:
            raise TypeError(
                "each callback must be callable or have one of the hooks "
                f"{', '.join(_HOOKS)}; got {cb!r}"
            )
    return out


class ProgressBar(Callback):
    """Progress of a run: a ``tqdm`` bar over evaluations (with ETA and the
    best score so far) on a terminal, one plain line per generation otherwise
    (logs, CI).

    Parameters
    ----------
    file : file object, default=sys.stderr
    plain : bool, optional
        Force plain lines (True) or the bar (False); default: the bar when
        ``file`` is a terminal.

    Examples
    --------
    >>> import io
    >>> from evotune import Float, evolve
    >>> out = io.StringIO()
    >>> _ = evolve(lambda p: p["x"], {"x": Float(0, 1)}, population_size=4, generations=2,
    ...            callbacks=[ProgressBar(out)], random_state=0)
    >>> out.getvalue().count("generation")
    2
    """

    def __init__(self, file: TextIO | None = None, *, plain: bool | None = None) -> None:
        self.file = file
        self.plain = plain
        self._bar: Any = None
        self._best = math.nan
        self._sign = 1.0
        self._replayed = 0  # generations a resumed run takes from its journal

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def on_run_start(self, evolution: Any) -> None:
        stream = self._stream()
        plain = self.plain
        if plain is None:
            plain = not (hasattr(stream, "isatty") and stream.isatty())
        self._plain = plain
        self._best = math.nan
        self._sign = 1.0 if evolution.direction == "maximize" else -1.0
        self._replayed = _generations_told(getattr(evolution, "run_dir", None))
        if not plain:
            from tqdm.auto import tqdm

            class _Bar(tqdm):
                # tqdm's monitor thread would make forking the pool's workers
                # unsafe (see ProcessPoolBackend's start_method); the bar is
                # updated at every evaluation, so it needs no monitor.
                monitor_interval = 0

            self._bar = _Bar(
                total=evolution.budget,
                unit="eval",
                file=stream,
                dynamic_ncols=True,
                desc="generation 0",
            )

    def on_evaluation(self, evaluation: Any) -> None:
        score = evaluation.mean_score
        better = not math.isfinite(self._best) or self._sign * (score - self._best) > 0
        if evaluation.status == "ok" and math.isfinite(score) and better:
            self._best = score
        if self._bar is not None:
            self._bar.update(1)
            if math.isfinite(self._best):
                self._bar.set_postfix(best=f"{self._best:.5g}", refresh=False)

    def on_generation_end(self, state: Any) -> None:
        rec = state.record
        if state.generation < self._replayed:
            # taken from the journal, not run: said once, at its last generation
            if state.generation == self._replayed - 1:
                self._say(f"replayed {state.n_evaluations} evaluations from the journal")
            return
        if self._bar is not None:
            self._bar.set_description(f"generation {state.generation + 1}")
            return
        mean = rec.get("mean", math.nan)
        failed = rec.get("failed", 0)
        print(
            f"generation {state.generation:>3}  evaluations {state.n_evaluations:>5}  "
            f"best {state.best_score:.5g}  mean {mean:.5g}  failed {failed}  "
            f"elapsed {state.elapsed:.1f}s",
            file=self._stream(),
            flush=True,
        )

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description(text, refresh=True)
        else:
            print(text, file=self._stream(), flush=True)

    def on_run_end(self, result: Any) -> None:
        if self._bar is not None:
            if result is not None and self._bar.n != self._bar.total:
                # a run that stopped early (patience, a budget, a space
                # exhausted) is done: its bar ends full
                self._bar.total = self._bar.n
                self._bar.refresh()
            self._bar.close()
            self._bar = None


def _generations_told(run_dir: Any) -> int:
    """Generations the journal in ``run_dir`` holds (0 without one)."""
    if run_dir is None:
        return 0
    from pathlib import Path

    from evotune._journal_read import JournalError, read_journal
    from evotune.journal import JOURNAL

    path = Path(run_dir) / JOURNAL
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return 0
        told = read_journal(path, keep=()).told
    except (OSError, JournalError):
        return 0
    return max(told) + 1 if told else 0
