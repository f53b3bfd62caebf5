"""Trainings that go on across generations: the :class:`Trainable` protocol
of population-based training (``strategy="pbt"``).

A Trainable is a class (as Ray Tune's are): evotune makes one in a worker
for each task, calls ``setup(params, seed)``, loads the checkpoint the task
continues from (none for the first), calls ``reset_config(params)`` when it
has one (so that parameters a checkpoint also stores, such as an optimizer's
learning rate, take the new values), trains with ``step()`` (one segment a
task under ``strategy="pbt"``; under ``strategy="hyperband"``, the segments
up to the candidate's rung) and saves a checkpoint. The score is what the
last ``step()`` returned.

Examples
--------
>>> class Walk:
...     def setup(self, params, seed): self.x, self.lr = 0.0, params["lr"]
...     def step(self): self.x += self.lr; return self.x
...     def save_checkpoint(self, path): open(path, "w").write(repr(self.x))
...     def load_checkpoint(self, path): self.x = float(open(path).read())
>>> isinstance(Walk(), Trainable)
True
"""

from __future__ import annotations

import math
import numbers
import os
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from evotune._checkpoints import save_checkpoint
from evotune._objective import BaseObjective, error_text
from evotune.pruning import task_budget, task_checkpoint
from evotune.records import FoldResult

__all__ = ["Trainable", "TrainableObjective", "is_trainable"]

_MEMBERS = ("setup", "step", "save_checkpoint", "load_checkpoint")


@runtime_checkable
class Trainable(Protocol):
    """One training that can be stopped and continued (see the module's docstring)."""

    def setup(self, params: dict[str, Any], seed: int) -> None:
        """Build the model and its optimizer for ``params``."""

    def step(self) -> float:
        """Train one segment; return the score it reached (in the run's direction)."""

    def save_checkpoint(self, path: str) -> None:
        """Write the training's state (weights, optimizer, counters) to the file ``path``."""

    def load_checkpoint(self, path: str) -> None:
        """Read back what :meth:`save_checkpoint` wrote."""


def is_trainable(obj: Any) -> bool:
    """Whether ``obj`` is a Trainable class (what ``evolve`` takes for PBT)."""
    return isinstance(obj, type) and all(callable(getattr(obj, m, None)) for m in _MEMBERS)


class TrainableObjective(BaseObjective):
    """The objective of a :class:`Trainable` class: one task a candidate, one
    segment of training, continued from the candidate's checkpoint.

    Parameters
    ----------
    trainable : type
        The Trainable class (importable by name, for the worker processes).
    directory : str or PathLike, optional
        Where checkpoints are saved (the run's ``checkpoints`` folder); set by
        the run.
    """

    n_tasks = 1

    def __init__(self, trainable: type, directory: str | os.PathLike[str] | None = None) -> None:
        if not is_trainable(trainable):
            missing = [m for m in _MEMBERS if not callable(getattr(trainable, m, None))]
            raise TypeError(
                f"a Trainable must be a class with {', '.join(_MEMBERS)}; got {trainable!r}"
                + (f" (it has no {', '.join(missing)})" if isinstance(trainable, type) else "")
            )
        self.trainable = trainable
        self.directory = None if directory is None else str(directory)

    def at(self, directory: str | os.PathLike[str]) -> TrainableObjective:
        """A copy that saves its checkpoints in ``directory``."""
        return TrainableObjective(self.trainable, directory)

    def fingerprint(self) -> dict[str, Any]:
        cls = self.trainable
        return {"trainable": f"{cls.__module__}.{cls.__qualname__}"}

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        if self.directory is None:
            raise RuntimeError("TrainableObjective.run: no checkpoint directory (set by the run)")
        start = time.perf_counter()
        try:
            score, digest = self._segment(params, seed)
        except Exception as exc:  # a failing training is a row of the history
            return FoldResult(
                score=math.nan,
                fit_time=time.perf_counter() - start,
                status="failed",
                error=error_text(exc),
            )
        return FoldResult(score=score, fit_time=time.perf_counter() - start, checkpoint=digest)

    def _segment(self, params: dict[str, Any], seed: int) -> tuple[float, str]:
        """One segment: set up, continue from the task's checkpoint, step, save."""
        assert self.directory is not None
        t = self.trainable()
        t.setup(dict(params), seed)
        resume_from = task_checkpoint()
        if resume_from is not None:
            t.load_checkpoint(str(Path(self.directory) / resume_from))
            reset = getattr(t, "reset_config", None)
            if callable(reset):
                reset(dict(params))
        # one segment a task (PBT), or a budget of them (a rung of Hyperband)
        value: Any = math.nan
        for _ in range(task_budget() or 1):
            value = t.step()
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"step() must return a real number, got {value!r}")
        return float(value), save_checkpoint(self.directory, t.save_checkpoint)
