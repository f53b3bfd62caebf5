"""evotune: evolutionary hyperparameter tuning.

Public names are imported lazily (PEP 562), so a worker process that needs
only the evaluation records does not pay for importing scikit-learn and pandas.

Examples
--------
>>> from evotune import Float, evolve
>>> res = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
...              population_size=6, generations=4, random_state=0)
>>> abs(res.best_params["x"] - 1) < 0.5
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AllFailedError": "evotune.engine",
    "Backend": "evotune.backends.base",
    "BaseBackend": "evotune.backends.base",
    "BaseObjective": "evotune._objective",
    "Callback": "evotune.callbacks",
    "Candidate": "evotune.records",
    "Categorical": "evotune.space",
    "CrossValScore": "evotune.objective",
    "DaskBackend": "evotune.backends.dask",
    "EarlyStopping": "evotune.callbacks",
    "Evaluation": "evotune.records",
    "Evaluator": "evotune.evaluation",
    "Evolution": "evotune.engine",
    "EvolutionaryFeatureSelector": "evotune.feature_selection",
    "EvolutionarySearchCV": "evotune.sklearn",
    "FeatureMask": "evotune.space",
    "Float": "evotune.space",
    "FoldResult": "evotune.records",
    "FunctionObjective": "evotune._objective",
    "GenerationState": "evotune.engine",
    "Integer": "evotune.space",
    "JournalError": "evotune.journal",
    "MLflowCallback": "evotune.mlflow",
    "Objective": "evotune._objective",
    "Parameter": "evotune.space",
    "ProgressBar": "evotune.callbacks",
    "ProcessPoolBackend": "evotune.backends.process",
    "Result": "evotune.result",
    "RunLockedError": "evotune.journal",
    "SerialBackend": "evotune.backends.serial",
    "Space": "evotune.space",
    "TimeBudget": "evotune.callbacks",
    "evolve": "evotune.engine",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from evotune._objective import BaseObjective, FunctionObjective, Objective
    from evotune.backends.base import Backend, BaseBackend
    from evotune.backends.dask import DaskBackend
    from evotune.backends.process import ProcessPoolBackend
    from evotune.backends.serial import SerialBackend
    from evotune.callbacks import Callback, EarlyStopping, ProgressBar, TimeBudget
    from evotune.engine import AllFailedError, Evolution, GenerationState, evolve
    from evotune.evaluation import Evaluator
    from evotune.feature_selection import EvolutionaryFeatureSelector
    from evotune.journal import JournalError, RunLockedError
    from evotune.mlflow import MLflowCallback
    from evotune.objective import CrossValScore
    from evotune.records import Candidate, Evaluation, FoldResult
    from evotune.result import Result
    from evotune.sklearn import EvolutionarySearchCV
    from evotune.space import Categorical, FeatureMask, Float, Integer, Parameter, Space


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evotune' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
