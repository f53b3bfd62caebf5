"""What the two scikit-learn faces share: their settings, checked and passed on.

:class:`~evotune.EvolutionarySearchCV` and
:class:`~evotune.EvolutionaryFeatureSelector` take every setting of the
``estimators`` face of :mod:`evotune.settings` as a constructor parameter
(scikit-learn wants each spelled out in ``__init__``). Their
``_parameter_constraints`` come from the same declaration, and a bad value
raises the same message as :func:`evotune.evolve` does, as an error that is
both scikit-learn's ``InvalidParameterError`` and evotune's.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameter
from sklearn.utils._param_validation import Options

from evotune._validation import InvalidParameterError, check_int
from evotune.settings import ESTIMATORS, declared

__all__ = [
    "FACE_SETTINGS",
    "Verbose",
    "budget_settings",
    "check_settings",
    "evolve_settings",
    "param_distributions_of",
    "settings_constraints",
]

#: the settings both estimators take, in the declaration's order
FACE_SETTINGS: tuple[str, ...] = tuple(declared(ESTIMATORS))


class FaceParameterError(SklearnInvalidParameter, InvalidParameterError):
    """A bad setting given to an estimator: scikit-learn's error and evotune's."""


class _SettingConstraint(Options):
    """A scikit-learn constraint that holds when the setting's own check passes.

    It is an ``Options`` only because scikit-learn takes constraints of its own
    classes alone; the options are not used.
    """

    def __init__(self, name: str) -> None:
        super().__init__(object, set())
        self.name = name
        self.rule = declared()[name][1].rule

    def is_satisfied_by(self, val: Any) -> bool:
        if val is None and declared()[self.name][1].from_n_iter:
            return True  # chosen from n_iter
        try:
            self.rule.check(self.name, val)
        except InvalidParameterError:
            return False
        return True

    def __str__(self) -> str:
        return self.rule.text


def settings_constraints() -> dict[str, list[Any]]:
    """``_parameter_constraints`` entries for every face setting."""
    return {name: [_SettingConstraint(name)] for name in FACE_SETTINGS}


def check_settings(estimator: Any) -> None:
    """Check every face setting of ``estimator`` by its declaration, before
    scikit-learn's own validation, so the message is evolve's."""
    for name in FACE_SETTINGS:
        value, info = getattr(estimator, name), declared()[name][1]
        if value is None and info.from_n_iter:
            continue  # chosen from n_iter
        try:
            info.rule.check(name, value)
        except InvalidParameterError as exc:
            raise FaceParameterError(str(exc)) from None
    budget_settings(estimator)  # n_iter and its conflicts


#: what the estimators' ``population_size`` and ``generations`` are when
#: neither they nor a budget is given (evolve's defaults)
_POPULATION, _GENERATIONS = 20, 10


def budget_settings(estimator: Any) -> dict[str, Any]:
    """``population_size``, ``generations`` and ``max_evaluations`` from the
    estimator's ``n_iter`` and the three settings themselves.

    ``n_iter`` is the number of candidates evaluated, an exact cap, as in
    ``RandomizedSearchCV``; when it is None and none of the three is set, the
    estimator's class attribute ``_default_n_iter`` applies (10 for
    ``EvolutionarySearchCV``, as scikit-learn's; None for the feature
    selector: 20 genomes for 10 generations). With ``n_iter``, a
    ``population_size`` left None is half of it, between 2 and 20 (when
    ``generations`` is set, enough for them to spend ``n_iter``), and
    ``generations`` left None is ``n_iter``, a bound that never binds: the run
    stops at ``n_iter`` evaluations. A ``max_evaluations`` other than
    ``n_iter``, or a ``population_size * generations`` below it, is refused.

    Examples
    --------
    >>> class Search:
    ...     n_iter, population_size, generations, max_evaluations, elitism = 20, None, None, None, 1
    >>> budget_settings(Search())
    {'population_size': 10, 'generations': 20, 'max_evaluations': 20}
    """
    n_iter = getattr(estimator, "n_iter", None)
    pop, gens = estimator.population_size, estimator.generations
    cap = estimator.max_evaluations
    try:
        n_iter = check_int("n_iter", n_iter, low=1, allow_none=True)
    except InvalidParameterError as exc:
        raise FaceParameterError(str(exc)) from None
    if n_iter is None and pop is None and gens is None and cap is None:
        n_iter = getattr(type(estimator), "_default_n_iter", None)
    if n_iter is None:
        return {
            "population_size": _POPULATION if pop is None else pop,
            "generations": _GENERATIONS if gens is None else gens,
            "max_evaluations": cap,
        }
    if cap is not None and cap != n_iter:
        raise FaceParameterError(
            f"'n_iter' and 'max_evaluations' are both the number of evaluations and differ "
            f"(n_iter={n_iter}, max_evaluations={cap}): set one of them"
        )
    if pop is not None and gens is not None and pop * gens < n_iter:
        raise FaceParameterError(
            f"'n_iter'={n_iter} cannot be spent by population_size={pop} * generations={gens} "
            f"({pop * gens} evaluations at most): raise one of them, or leave 'population_size' "
            "or 'generations' unset (None) to have it chosen from n_iter"
        )
    if pop is None:
        elitism = int(estimator.elitism) if isinstance(estimator.elitism, numbers.Integral) else 0
        if gens is None:
            pop = min(20, n_iter // 2)
        else:  # enough that `gens` generations spend n_iter, elites ('ga') not re-evaluated
            pop = math.ceil((n_iter + (gens - 1) * elitism) / gens)
        pop = max(2, elitism + 1, pop)
    return {
        "population_size": pop,
        "generations": n_iter if gens is None else gens,
        "max_evaluations": n_iter,
    }


def param_distributions_of(estimator: Any, *, required: bool) -> Any:
    """The search space the estimator was given: ``param_distributions``, or
    the deprecated ``param_space`` with a ``FutureWarning`` (as scikit-learn
    renames a parameter); giving both is refused."""
    old, new = estimator.param_space, estimator.param_distributions
    name = type(estimator).__name__
    if isinstance(old, str) and old == "deprecated":
        if new is None and required:
            raise FaceParameterError(
                f"{name}: 'param_distributions' is required: a dict of lists and "
                "scipy.stats distributions, a list of such dicts, or an evotune Space"
            )
        return new
    if new is not None:
        raise FaceParameterError(
            f"{name}: 'param_space' is the old name of 'param_distributions'; give only "
            "'param_distributions', got both"
        )
    warnings.warn(
        f"{name}: 'param_space' was renamed 'param_distributions' in evotune 0.2 and "
        "will be removed in 0.4; pass param_distributions=... instead",
        FutureWarning,
        stacklevel=3,
    )
    return old


def _seed(random_state: Any) -> int | None:
    """An int seed from what scikit-learn accepts (None, int, RandomState, Generator)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return None


def evolve_settings(estimator: Any, **override: Any) -> dict[str, Any]:
    """The face settings of ``estimator`` as :func:`evotune.evolve` takes them."""
    values = {name: getattr(estimator, name) for name in FACE_SETTINGS}
    values.update(budget_settings(estimator))
    values["random_state"] = _seed(values["random_state"])
    values["callbacks"] = [*list(values["callbacks"]), Verbose(estimator)]
    values.update(override)
    return values


class Verbose:
    """Prints a line per generation when the estimator's ``verbose`` > 0."""

    def __init__(self, estimator: Any) -> None:
        self.level = int(estimator.verbose)
        self.name = type(estimator).__name__

    def on_generation_end(self, state: Any) -> None:
        if self.level > 0:
            print(
                f"[{self.name}] generation {state.generation}: "
                f"{state.n_evaluations} evaluations, best {state.best_score:.5g}, "
                f"{state.elapsed:.1f} s",
                flush=True,
            )
