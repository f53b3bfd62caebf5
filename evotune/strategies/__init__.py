"""Search strategies: one module each, behind one protocol, chosen by name.

``strategy=`` takes a registered name (:data:`STRATEGY_NAMES`) or a strategy
object, as Optuna's samplers are objects::

    evolve(objective, space, strategy=GA(tournament_size=3, elitism=2))

Strategy classes are imported lazily, so the registry costs nothing.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from evotune._validation import InvalidParameterError
from evotune.strategies._registry import REGISTRY, STRATEGY_NAMES  # noqa: F401 (exported)

_CLASSES = {path.rpartition(":")[2]: path for path in REGISTRY.values()}

# a new strategy is its module and its line in the registry: the names
# exported here follow the registry
__all__ = sorted(["STRATEGY_NAMES", "for_objective", "make_strategy", "strategy_class", *_CLASSES])


def strategy_class(name: str) -> Any:
    """The class registered under ``name``.

    Examples
    --------
    >>> strategy_class("ga").__name__
    'GA'
    """
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_strategy(strategy: Any, settings: Any) -> Any:
    """The strategy object of a run: a registered name is built from the flat
    ``settings`` (each parameter it takes); an object is copied, so the run
    never writes onto the user's. Several ``objectives`` turn ``"ga"`` and the
    default strategy into NSGA-II, which breeds as the GA does.

    Examples
    --------
    >>> from evotune.settings import SearchSettings
    >>> make_strategy("mu_plus_lambda", SearchSettings(crossover_prob=0.5)).crossover_prob
    0.5
    """
    if isinstance(strategy, str):
        # several objectives: the GA, and the default (single-objective)
        # model-based search, become NSGA-II
        multi = settings.objectives is not None and strategy in ("ga", _default_strategy())
        name = "nsga2" if multi else strategy
        cls = strategy_class(name)
        fields = cls.__dataclass_fields__
        given = vars(settings)
        obj = cls(**{n: given[n] for n in fields if fields[n].init and n in given})
    else:
        obj = copy.deepcopy(strategy)
    if settings.objectives is not None and not obj.multi_objective:
        raise InvalidParameterError(
            "with several 'objectives' the search is NSGA-II, which breeds as the 'ga' "
            f"strategy does: leave 'strategy' at 'ga' (or unset), got {strategy!r}"
        )
    return obj


def for_objective(strategy: Any, settings: Any, objective: Any, prune: Any) -> Any:
    """``strategy`` as a run of ``objective`` uses it: a strategy that needs
    something of the objective (Hyperband, the steps of a full training) gets
    it here, as an object; a strategy that stops candidates itself refuses a
    pruning rule. Others come back unchanged.

    Examples
    --------
    >>> from evotune.settings import SearchSettings
    >>> for_objective("ga", SearchSettings(), None, None)
    'ga'
    """
    cls = strategy_class(strategy) if isinstance(strategy, str) else type(strategy)
    if prune is not None and getattr(cls, "stops_candidates", False):
        raise InvalidParameterError(
            f"strategy={getattr(cls, 'name', strategy)!r} stops candidates at its own rungs: "
            f"leave 'prune' at None, got {prune!r}"
        )
    trains_on = getattr(cls, "continues_trainings", False)
    if getattr(objective, "trainable", None) is not None and not trains_on:
        raise InvalidParameterError(
            "a Trainable objective trains across generations, from checkpoints: use "
            f"strategy='pbt', got {getattr(cls, 'name', strategy)!r}"
        )
    if not hasattr(cls, "for_objective"):
        return strategy
    return make_strategy(strategy, settings).for_objective(objective)


def _default_strategy() -> str:
    from evotune.settings import declared

    return str(declared()["strategy"][0])


def __getattr__(name: str) -> Any:
    path = _CLASSES.get(name)
    if path is None:
        raise AttributeError(f"module 'evotune.strategies' has no attribute {name!r}")
    module, _, cls = path.partition(":")
    value = getattr(importlib.import_module(module), cls)
    globals()[name] = value
    return value
