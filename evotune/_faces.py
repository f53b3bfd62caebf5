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

import numbers
from typing import Any

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameter
from sklearn.utils._param_validation import Options

from evotune._validation import InvalidParameterError
from evotune.settings import ESTIMATORS, declared

__all__ = ["FACE_SETTINGS", "Verbose", "check_settings", "evolve_settings", "settings_constraints"]

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
        try:
            declared()[name][1].rule.check(name, getattr(estimator, name))
        except InvalidParameterError as exc:
            raise FaceParameterError(str(exc)) from None


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
