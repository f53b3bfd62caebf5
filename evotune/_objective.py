"""The objective protocol: every member the evaluator, the run and the backends call.

:class:`Objective` states them; :class:`BaseObjective` gives the optional ones
their defaults, so a custom objective subclasses it and writes only
``n_tasks`` and ``run``; :class:`FunctionObjective` wraps a plain
``callable(params) -> float``; :func:`as_objective` turns what a user passes
into an :class:`Objective`. An object with ``n_tasks`` and ``run`` that does
not subclass :class:`BaseObjective` is wrapped in one adapter, which gives it
the defaults it lacks; nothing else asks an objective what it has.

No scikit-learn here: :class:`~evotune.CrossValScore` (in
:mod:`evotune.objective`) subclasses :class:`BaseObjective`.
"""

from __future__ import annotations

import abc
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from evotune._adapt import Forwarded, missing_members
from evotune.pruning import Pruned
from evotune.records import FoldResult

__all__ = ["BaseObjective", "FunctionObjective", "Objective", "as_objective", "error_text"]

Measures = Mapping[str, Callable[[Any], float]]


@runtime_checkable
class Objective(Protocol):
    """What the core calls on an objective; see :class:`BaseObjective` for
    what each member means and its default."""

    @property
    def n_tasks(self) -> int: ...

    @property
    def error_score(self) -> float | str: ...

    @property
    def metric(self) -> str: ...

    @property
    def metric_names_(self) -> Sequence[str]: ...

    @property
    def failure_warning(self) -> type[Warning]: ...

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult: ...

    def fingerprint(self) -> dict[str, Any]: ...

    def error_metrics(self, value: float) -> dict[str, float]: ...

    def with_measures(self, measures: Measures) -> Objective: ...

    def pickle_parts(self) -> dict[str, Any]: ...


class BaseObjective(abc.ABC):
    """The base of objectives: the optional members of :class:`Objective`, with defaults.

    A subclass sets ``n_tasks`` (the tasks of one candidate: a class or an
    instance attribute, or a property) and writes ``run``; it overrides the
    rest only where the default does not fit.

    Attributes
    ----------
    n_tasks : int
        Required. Tasks per candidate (one per cross-validation fold).
    error_score : float or 'raise', default=nan
        The score of a task that crashed or timed out.
    metric : str, default="score"
        The metric that is the fitness.
    metric_names_ : sequence of str, default=("score",)
        The scorers whose ``test_<name>`` a fold's metrics hold (warm starts
        read them from ``cv_results_``; ``objectives=`` may name them).
    failure_warning : Warning subclass, default=UserWarning
        The category of the warning a run gives when evaluations failed
        (:class:`~evotune.CrossValScore`: scikit-learn's ``FitFailedWarning``).

    Examples
    --------
    >>> class Parabola(BaseObjective):
    ...     n_tasks = 2
    ...     def run(self, params, task, seed):
    ...         return FoldResult(score=-(params["x"] - task) ** 2)
    >>> obj = Parabola()
    >>> obj.run({"x": 3.0}, 1, 0).score, obj.fingerprint()
    (-4.0, {'objective': 'Parabola'})
    """

    error_score: float | str = math.nan
    metric: str = "score"
    metric_names_: Sequence[str] = ("score",)
    failure_warning: type[Warning] = UserWarning

    @abc.abstractmethod
    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        """Run task ``task`` (a fold) of the candidate ``params`` with ``seed``.

        A failure is returned as a result with ``status="failed"`` and its
        error text, so that the run goes on; an exception stops the run.
        """

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between a run and its resume (JSON values).

        Default: the class's name.
        """
        return {"objective": type(self).__qualname__}

    def error_metrics(self, value: float) -> dict[str, float]:
        """The metrics of a task that failed, with score ``value``. Default: none."""
        return {}

    def with_measures(self, measures: Measures) -> Objective:
        """A copy of this objective that also computes ``measures`` (``name ->
        measure(fitted_estimator) -> float``) on each task; this objective is
        not changed.

        Default: refused (there is no fitted estimator to measure).
        """
        raise ValueError(
            f"objectives: a measure of the fitted estimator ({', '.join(map(repr, measures))}) "
            f"needs a CrossValScore objective, which fits one on every fold; {self!r} "
            "cannot compute measures"
        )

    def pickle_parts(self) -> dict[str, Any]:
        """The named parts sent to worker processes, so that an objective that
        cannot be pickled is told which part cannot.

        Default: the objective's public instance attributes.
        """
        return _public_attributes(self)


def _public_attributes(obj: object) -> dict[str, Any]:
    try:
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    except TypeError:  # an object without a __dict__ (slots)
        return {}


def error_text(exc: BaseException) -> str:
    """The one-line text of an exception, as a failed row shows it.

    Examples
    --------
    >>> error_text(ValueError("bad C"))
    'ValueError: bad C'
    >>> error_text(ValueError("a\\rb"))  # a bare CR would split its row of history.csv
    'ValueError: a\\nb'
    """
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.replace("\r\n", "\n").replace("\r", "\n")


class FunctionObjective(BaseObjective):
    """Wrap ``callable(params) -> float`` as an objective of one task.

    An exception, or a return value that is not a real number, makes the
    evaluation ``failed`` with the error text; the run goes on.

    Examples
    --------
    >>> obj = FunctionObjective(lambda p: -p["x"] ** 2)
    >>> obj.run({"x": 2.0}, 0, 0).score
    -4.0
    """

    n_tasks = 1

    def __init__(self, function: Callable[[dict[str, Any]], float]) -> None:
        if not callable(function):
            raise TypeError(f"objective must be callable, got {function!r}")
        self.function = function

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        start = time.perf_counter()
        try:
            value = self.function(dict(params))
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"the objective must return a real number, got {value!r} "
                    f"({type(value).__name__})"
                )
            score = float(value)
        except Pruned:
            raise  # a decision of the run's pruning rule (evotune.pruning), not a failure
        except Exception as exc:
            return FoldResult(
                score=math.nan,
                fit_time=time.perf_counter() - start,
                status="failed",
                error=error_text(exc),
            )
        return FoldResult(score=score, fit_time=time.perf_counter() - start)

    def fingerprint(self) -> dict[str, Any]:
        """The function's module and qualified name."""
        fn = self.function
        # a callable object has no __qualname__ of its own: name its class
        name = getattr(fn, "__qualname__", type(fn).__qualname__)
        return {"objective": f"{getattr(fn, '__module__', '?')}.{name}"}

    def __repr__(self) -> str:
        return f"FunctionObjective({self.function!r})"


class _ObjectiveAdapter(BaseObjective):
    """A user's objective that has ``n_tasks`` and ``run`` but does not
    subclass :class:`BaseObjective`: its own members where it has them, the
    defaults elsewhere. The object is kept as ``wrapped`` and never written."""

    error_score = Forwarded[float | str](math.nan)
    metric = Forwarded("score")
    metric_names_ = Forwarded[Sequence[str]](("score",))
    failure_warning = Forwarded[type[Warning]](UserWarning)

    def __init__(self, objective: Any) -> None:
        self.wrapped = objective

    @property
    def n_tasks(self) -> int:
        return int(self.wrapped.n_tasks)

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        result: FoldResult = self.wrapped.run(params, task, seed)
        return result

    def _own(self, name: str) -> Callable[..., Any] | None:
        method = getattr(self.wrapped, name, None)
        return method if callable(method) else None

    def fingerprint(self) -> dict[str, Any]:
        own = self._own("fingerprint")
        # the default names the user's class, as runs journaled before the adapter did
        return dict(own()) if own else {"objective": type(self.wrapped).__qualname__}

    def error_metrics(self, value: float) -> dict[str, float]:
        own = self._own("error_metrics")
        return dict(own(value)) if own else {}

    def with_measures(self, measures: Measures) -> Objective:
        own = self._own("with_measures")
        return as_objective(own(measures)) if own else super().with_measures(measures)

    def pickle_parts(self) -> dict[str, Any]:
        own = self._own("pickle_parts")
        return dict(own()) if own else _public_attributes(self.wrapped)

    def __repr__(self) -> str:
        return repr(self.wrapped)


def as_objective(objective: Any) -> Objective:
    """The :class:`Objective` for what the user passed.

    An :class:`Objective` (a :class:`BaseObjective` such as
    :class:`~evotune.CrossValScore`) is used as it is; an object with
    ``n_tasks`` and ``run(params, task, seed)`` that does not subclass
    :class:`BaseObjective` is wrapped in an adapter (its ``wrapped``
    attribute) that gives it the defaults it lacks; any other
    ``callable(params) -> float`` becomes a :class:`FunctionObjective`.

    Examples
    --------
    >>> as_objective(lambda p: p["x"]).run({"x": 2.0}, 0, 0).score
    2.0
    >>> class Mine:
    ...     n_tasks = 1
    ...     def run(self, params, task, seed): return FoldResult(score=1.0)
    >>> adapted = as_objective(Mine())
    >>> adapted.error_metrics(0.0), type(adapted.wrapped).__name__
    ({}, 'Mine')
    """
    if isinstance(objective, Objective):
        return objective
    missing = missing_members(objective, ["run"], ["n_tasks"])
    if not missing:
        return _ObjectiveAdapter(objective)
    if callable(objective):
        return FunctionObjective(objective)
    lacks = f" (it has no {' and no '.join(missing)})" if len(missing) < 2 else ""
    raise TypeError(
        "objective must be a CrossValScore, an object with n_tasks and run(params, task, "
        f"seed), or a callable(params) -> float; got {objective!r} "
        f"({type(objective).__name__}){lacks}"
    )
