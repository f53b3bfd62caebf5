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
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

__all__ = ["Callback", "EarlyStopping", "ProgressBar", "TimeBudget"]


class Callback:
    """Base class with every hook a no-op; subclass and override what you need.

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


class EarlyStopping(Callback):
    """Stop when the best score has not improved by more than ``min_delta``
    for ``patience`` generations.

    Parameters
    ----------
    patience : int
        Generations without improvement that are tolerated.
    min_delta : float, default=0.0
        The smallest change of the best score that counts as an improvement.

    Examples
    --------
    >>> from evotune import Float, evolve
    >>> res = evolve(lambda p: 1.0, {"x": Float(0, 1)}, population_size=4, generations=20,
    ...              callbacks=[EarlyStopping(patience=2)], random_state=0)
    >>> res.stop_reason, len(res.logbook)
    ('callback', 3)
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: 'patience' must be an integer >= 1, got {patience!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"EarlyStopping: 'min_delta' must be a number >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self._best: float | None = None
        self._stale = 0

    def on_run_start(self, evolution: Any) -> None:
        self._best, self._stale = None, 0
        self._sign = 1.0 if getattr(evolution, "direction", "maximize") == "maximize" else -1.0

    def on_generation_end(self, state: Any) -> bool:
        score = state.best_score
        if not math.isfinite(score):
            self._stale += 1
        elif self._best is None or self._sign * (score - self._best) > self.min_delta:
            self._best, self._stale = score, 0
        else:
            self._stale += 1
        return self._stale >= self.patience

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta})"


class TimeBudget(Callback):
    """Stop at the end of the first generation that ends after ``seconds``.

    Examples
    --------
    >>> TimeBudget(3600)
    TimeBudget(seconds=3600.0)
    """

    def __init__(self, seconds: float) -> None:
        if not (
            isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0
        ):
            raise ValueError(f"TimeBudget: 'seconds' must be a number > 0, got {seconds!r}")
        self.seconds = float(seconds)
        self._start = time.monotonic()

    def on_run_start(self, evolution: Any) -> None:
        self._start = time.monotonic()

    def on_generation_end(self, state: Any) -> bool:
        return time.monotonic() - self._start >= self.seconds

    def __repr__(self) -> str:
        return f"TimeBudget(seconds={self.seconds})"


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

    def _stream(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def on_run_start(self, evolution: Any) -> None:
        stream = self._stream()
        plain = self.plain
        if plain is None:
            plain = not (hasattr(stream, "isatty") and stream.isatty())
        self._plain = plain
        self._best = math.nan
        self._sign = 1.0 if getattr(evolution, "direction", "maximize") == "maximize" else -1.0
        if not plain:
            from tqdm.auto import tqdm

            class _Bar(tqdm):
                # tqdm's monitor thread would make forking the pool's workers
                # unsafe (see ProcessPoolBackend's start_method); the bar is
                # updated at every evaluation, so it needs no monitor.
                monitor_interval = 0

            self._bar = _Bar(
                total=getattr(evolution, "budget", None),
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

    def on_run_end(self, result: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
