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

from evotune._version import __version__

_EXPORTS = {
    "AllFailedError": "evotune.loop",
    "Backend": "evotune.backends.base",
    "BaseBackend": "evotune.backends.base",
    "BaseObjective": "evotune._objective",
    "Callback": "evotune.callbacks",
    "Candidate": "evotune.records",
    "Categorical": "evotune.space",
    "CrossValScore": "evotune.objective",
    "DaskBackend": "evotune.backends.dask",
    "DiskFullError": "evotune.journal",
    "Distribution": "evotune.space",
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
    "GenerationState": "evotune.loop",
    "Integer": "evotune.space",
    "InvalidParameterError": "evotune._validation",
    "JournalError": "evotune.journal",
    "MLflowCallback": "evotune.mlflow",
    "MedianPruner": "evotune.pruning",
    "Objective": "evotune._objective",
    "Parameter": "evotune.space",
    "ProgressBar": "evotune.callbacks",
    "Pruned": "evotune.pruning",
    "ProcessPoolBackend": "evotune.backends.process",
    "RayBackend": "evotune.backends.ray",
    "Result": "evotune.result",
    "RunLockedError": "evotune.journal",
    "RunSettings": "evotune.settings",
    "SearchSettings": "evotune.settings",
    "SerialBackend": "evotune.backends.serial",
    "Space": "evotune.space",
    "SuccessiveHalvingPruner": "evotune.pruning",
    "TimeBudget": "evotune.callbacks",
    "Trainable": "evotune.trainable",
    "TrainableObjective": "evotune.trainable",
    "WandbCallback": "evotune.wandb",
    "evolve": "evotune.run",
    "report_step": "evotune.pruning",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from evotune._objective import BaseObjective, FunctionObjective, Objective
    from evotune._validation import InvalidParameterError
    from evotune.backends.base import Backend, BaseBackend
    from evotune.backends.dask import DaskBackend
    from evotune.backends.process import ProcessPoolBackend
    from evotune.backends.ray import RayBackend
    from evotune.backends.serial import SerialBackend
    from evotune.callbacks import Callback, EarlyStopping, ProgressBar, TimeBudget
    from evotune.engine import Evolution
    from evotune.evaluation import Evaluator
    from evotune.feature_selection import EvolutionaryFeatureSelector
    from evotune.journal import DiskFullError, JournalError, RunLockedError
    from evotune.loop import AllFailedError, GenerationState
    from evotune.mlflow import MLflowCallback
    from evotune.objective import CrossValScore
    from evotune.pruning import MedianPruner, Pruned, SuccessiveHalvingPruner, report_step
    from evotune.records import Candidate, Evaluation, FoldResult
    from evotune.result import Result
    from evotune.run import evolve
    from evotune.settings import RunSettings, SearchSettings
    from evotune.sklearn import EvolutionarySearchCV
    from evotune.space import (
        Categorical,
        Distribution,
        FeatureMask,
        Float,
        Integer,
        Parameter,
        Space,
    )
    from evotune.trainable import Trainable, TrainableObjective
    from evotune.wandb import WandbCallback


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evotune' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
