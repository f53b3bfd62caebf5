"""Every search and run setting, declared once.

A setting is one :func:`dataclasses.field` of :class:`SearchSettings` (what the
evolution does: population, strategy and its parameters, direction, seed) or
of :class:`RunSettings` (how long and where it runs: budget, stops,
``n_jobs``, backend, ``timeout``, the run directory). Its declaration holds:

- its default;
- its check (:class:`Rule`), whose message names the parameter, the rule and
  the value received (``'population_size' must be >= 2, got 1``);
- whether a resume may change it (``resumable``);
- whether it is written to ``meta.json`` and compared on resume (``meta``),
  and its JSON form there;
- the faces that take it (:data:`EVOLVE`, :data:`ESTIMATORS`, :data:`TOML`).

From that one declaration come the checks of :func:`evotune.evolve` and of
:class:`evotune.Evolution`, the scikit-learn faces' ``_parameter_constraints``,
the experiment file's ``[search]`` checks (named ``search.<key>``), the
settings written to ``meta.json`` and what ``MLflowCallback`` logs.
``tests/test_settings.py`` proves that each flat signature, its defaults and
its docstring agree with it.

Examples
--------
>>> SearchSettings(population_size=8).population_size
8
>>> SearchSettings(population_size=1)
Traceback (most recent call last):
...
evotune._validation.InvalidParameterError: 'population_size' must be >= 2, got 1
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

import numpy as np

from evotune._bytes import parse_bytes
from evotune._pareto import Objectives
from evotune._validation import (
    InvalidParameterError,
    check_choice,
    check_int,
    check_random_state,
    check_real,
)
from evotune.strategies._registry import STRATEGY_NAMES

__all__ = [
    "ESTIMATORS",
    "EVOLVE",
    "TOML",
    "InvalidParameterError",
    "Rule",
    "RunSettings",
    "SearchSettings",
    "Setting",
    "declared",
    "search_settings_json",
    "settings_for",
]

#: the faces a setting can belong to
EVOLUTION, EVOLVE, ESTIMATORS, TOML = "Evolution", "evolve", "estimators", "toml"
_ALL = frozenset({EVOLUTION, EVOLVE, ESTIMATORS, TOML})
_NOT_TOML = frozenset({EVOLVE, ESTIMATORS})
_RUN = frozenset({EVOLVE, ESTIMATORS, TOML})

DIRECTIONS = ("maximize", "minimize")
SAMPLINGS = ("lhs", "sobol", "random")


@dataclass(frozen=True)
class Rule:
    """What a setting accepts: ``check(name, value)`` returns the value as the
    run uses it, or raises :class:`InvalidParameterError` naming ``name``;
    ``text`` says the rule in words (for scikit-learn's constraint messages)."""

    check: Callable[[str, Any], Any]
    text: str


def _int(low: int | None = None, high: int | None = None, none: bool = False) -> Rule:
    def check(name: str, value: Any) -> Any:
        if none:
            return check_int(name, value, low=low, high=high, allow_none=True)
        return check_int(name, value, low=low, high=high)

    bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
    return Rule(check, f"an int {bounds}" + (" or None" if none else ""))


def _real(
    low: float | None = None, high: float | None = None, open_: bool = False, none: bool = False
) -> Rule:
    def check(name: str, value: Any) -> Any:
        if none:
            return check_real(name, value, low=low, high=high, low_open=open_, allow_none=True)
        return check_real(name, value, low=low, high=high, low_open=open_)

    lo = f"> {low}" if open_ else f">= {low}"
    text = f"a real {lo}" + (f" and <= {high}" if high is not None else "")
    return Rule(check, text + (" or None" if none else ""))


def _choice(choices: tuple[str, ...]) -> Rule:
    return Rule(lambda name, value: check_choice(name, value, choices), f"one of {list(choices)}")


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name!r} must be True or False, got {value!r}")
    return bool(value)


def _seed(name: str, value: Any) -> Any:
    if isinstance(value, np.random.RandomState):
        return value  # scikit-learn's kind: the faces draw an int seed from it
    check_random_state(value if not isinstance(value, np.random.Generator) else None)
    return value


def _strategy(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return check_choice(name, value, STRATEGY_NAMES)
    if callable(getattr(type(value), "ask", None)) and callable(getattr(type(value), "tell", None)):
        return value
    raise InvalidParameterError(
        f"{name!r} must be one of {list(STRATEGY_NAMES)} or a strategy object (with ask and "
        f"tell, such as evotune.strategies.GA()), got {value!r}"
    )


def _racing(name: str, value: Any) -> bool | int:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) >= 1:
        return int(value)
    raise InvalidParameterError(
        f"{name!r} must be True, False or the size of the set a candidate must be able to "
        f"enter (an integer >= 1), got {value!r}"
    )


def _prune(name: str, value: Any) -> Any:
    if value is None or callable(getattr(type(value), "bounds", None)):
        return value
    raise InvalidParameterError(
        f"{name!r} must be None or a pruning rule (with bounds, such as "
        f"evotune.MedianPruner()), got {value!r}"
    )


def _n_jobs(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not value:
        raise InvalidParameterError(
            f"{name!r} must be a non-zero integer or None (-1 means all cores), got {value!r}"
        )
    return int(value)


def _objectives(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, (Mapping, Objectives)):
        raise InvalidParameterError(f"{name!r} must be a dict or None, got {value!r}")
    return value


def _path(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise InvalidParameterError(
            f"{name!r} must be a path (str or PathLike) or None, got {value!r}"
        )
    return value


def _callbacks(name: str, value: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidParameterError(f"{name!r} must be a list of callbacks, got {value!r}")
    return value


def _anything(name: str, value: Any) -> Any:
    return value


def setting(
    default: Any,
    rule: Rule,
    doc: str,
    *,
    resumable: bool = False,
    meta: bool = True,
    faces: frozenset[str] = _ALL,
    to_json: Callable[[Any], Any] | None = None,
    from_n_iter: bool = False,
) -> Any:
    """One setting's declaration (a dataclass field; see the module's docstring)."""
    info = Setting(rule, doc, resumable, meta, faces, to_json, from_n_iter)
    return field(default=default, metadata={"setting": info})


@dataclass(frozen=True)
class Setting:
    """What a field's metadata says of it."""

    rule: Rule
    doc: str
    resumable: bool
    meta: bool
    faces: frozenset[str]
    #: its form in ``meta.json`` (None: the value as it is)
    to_json: Callable[[Any], Any] | None = None
    #: the estimators take None for it (their default): chosen from ``n_iter``
    #: (see evotune._faces.budget_settings)
    from_n_iter: bool = False


def _objectives_json(value: Any) -> dict[str, str]:
    if isinstance(value, Objectives):
        return value.to_dict()
    return {name: spec if isinstance(spec, str) else spec[0] for name, spec in value.items()}


def _seed_json(value: Any) -> int | str:
    # a Generator or RandomState has no JSON form: its class name says what was
    # given (a checkpointed run takes only ints, so meta.json never holds one)
    return int(value) if isinstance(value, numbers.Integral) else type(value).__name__


_ANY = Rule(_anything, "any value")


@dataclass(frozen=True)
class SearchSettings:
    """The settings of the search itself (see :class:`evotune.Evolution`)."""

    population_size: int = setting(20, _int(2), "Genomes per generation.", from_n_iter=True)
    strategy: Any = setting(
        "model_based",
        Rule(_strategy, f"one of {list(STRATEGY_NAMES)} or a strategy object"),
        "The strategy: a registered name or a strategy object (evotune.strategies); "
        "'model_based' (Bayesian optimisation, asynchronous) by default.",
    )
    crossover_prob: float = setting(0.7, _real(0, 1), "Probability of crossover.")
    mutation_prob: float = setting(0.3, _real(0, 1), "Probability of mutation.")
    elitism: int = setting(1, _int(0), "Parents carried over unchanged ('ga' only).")
    tournament_size: int = setting(4, _int(1), "Genomes per selection tournament.")
    direction: str = setting(
        "maximize",
        _choice(DIRECTIONS),
        "Whether a higher or a lower score is better.",
        faces=frozenset({EVOLUTION, EVOLVE}),
    )
    random_state: Any = setting(
        None,
        Rule(_seed, "None, an int >= 0, a Generator or a RandomState"),
        "The one seed of the run.",
        to_json=_seed_json,
    )
    initial_sampling: str = setting(
        "lhs", _choice(SAMPLINGS), "How generation 0 (and 'random') covers the space."
    )
    initial_population: Any = setting(
        # its meta.json form needs the warm start's reader (evotune._seeds),
        # which sits above the settings: the run writes it
        None,
        _ANY,
        "Known parameter sets to start from (a warm start).",
    )
    hall_of_fame_size: int = setting(
        10, _int(1), "Best genomes kept.", meta=False, faces=frozenset({EVOLUTION})
    )
    mutation_sigma: float = setting(
        0.15,
        _real(0, open_=True),
        "Initial Gaussian step in unit space.",
        meta=False,
        faces=frozenset({EVOLUTION}),
    )
    max_novelty_tries: int = setting(
        20,
        _int(0),
        "Re-draws of a genome already evaluated.",
        meta=False,
        faces=frozenset({EVOLUTION}),
    )
    screening: int = setting(4, _int(1), "Surrogate screening factor (1 turns it off).")
    in_flight: int | None = setting(
        None, _int(1, none=True), "Asynchronous strategies only: candidates evaluated at once."
    )
    objectives: Any = setting(
        None,
        Rule(_objectives, "a dict or None"),
        "Several objectives (NSGA-II).",
        to_json=_objectives_json,
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = _info(f).rule.check(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        check_int("elitism", self.elitism, low=0, high=self.population_size - 1)

    def to_json(self) -> dict[str, Any]:
        """The settings ``meta.json`` records (and a resume compares)."""
        return _json(self)


@dataclass(frozen=True)
class RunSettings:
    """The settings of a run: its budget, stops, workers and run directory."""

    generations: int = setting(
        10,
        _int(1),
        "Generations, the initial population counted.",
        resumable=True,
        faces=_RUN,
        from_n_iter=True,
    )
    max_evaluations: int | None = setting(
        None,
        _int(1, none=True),
        "Exact cap on the number of evaluations.",
        resumable=True,
        faces=_RUN,
    )
    time_budget: float | None = setting(
        None,
        _real(0, open_=True, none=True),
        "Seconds; no generation starts after it.",
        resumable=True,
        faces=_RUN,
    )
    patience: int | None = setting(
        None,
        _int(1, none=True),
        "Generations without a better best before stopping.",
        resumable=True,
        faces=_RUN,
    )
    n_jobs: int | None = setting(
        None,
        Rule(_n_jobs, "a non-zero int or None"),
        "Worker processes (-1: all cores).",
        resumable=True,
        faces=_RUN,
    )
    racing: bool | int = setting(
        False,
        Rule(_racing, "a bool or an int >= 1"),
        "Racing over cross-validation folds.",
        faces=_RUN,
    )
    prune: Any = setting(
        None,
        Rule(_prune, "None or a pruning rule"),
        "Stop candidates whose reported steps fall behind (evotune.pruning).",
        faces=_RUN,
        to_json=repr,
    )
    timeout: float | None = setting(
        None,
        _real(0, open_=True, none=True),
        "Seconds one task may run.",
        resumable=True,
        faces=_RUN,
    )
    max_tasks_per_worker: int | None = setting(
        None,
        _int(1, none=True),
        "Tasks a worker process runs before it is replaced by a fresh one.",
        resumable=True,
        faces=_RUN,
    )
    worker_memory_limit: int | str | None = setting(
        None,
        Rule(parse_bytes, "a number of bytes (an int or a string such as '2GB') or None"),
        "A worker whose memory (RSS) exceeds it after a task is replaced before its next.",
        resumable=True,
        faces=_RUN,
    )
    backend: Any = setting(None, _ANY, "Where tasks run.", resumable=True, meta=False, faces=_RUN)
    checkpoint: Any = setting(
        None,
        Rule(_path, "a path or None"),
        "The run directory.",
        meta=False,
        faces=_NOT_TOML,
    )
    resume: bool = setting(
        False,
        Rule(_bool, "a bool"),
        "Continue the run in checkpoint.",
        meta=False,
        faces=_NOT_TOML,
    )
    callbacks: Any = setting(
        (), Rule(_callbacks, "a list"), "Callbacks of the run.", meta=False, faces=_NOT_TOML
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = _info(f).rule.check(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        if self.resume and self.checkpoint is None:
            raise InvalidParameterError(
                "'resume=True' needs 'checkpoint', the run directory to continue"
            )

    def to_json(self) -> dict[str, Any]:
        return _json(self)


def _info(f: Field[Any]) -> Setting:
    info = f.metadata["setting"]
    assert isinstance(info, Setting)
    return info


def _json(settings: Any) -> dict[str, Any]:
    meta = {f.name for f in fields(settings) if _info(f).meta}
    return {k: v for k, v in search_settings_json(settings).items() if k in meta}


def search_settings_json(settings: Any) -> dict[str, Any]:
    """Every search setting in its JSON form (those ``meta.json`` leaves out
    too), as a tracker logs them."""
    out = {}
    for f in fields(settings):
        info, value = _info(f), getattr(settings, f.name)
        out[f.name] = info.to_json(value) if info.to_json and value is not None else value
    return out


def declared(face: str | None = None) -> dict[str, tuple[Any, Setting]]:
    """Every setting (of ``face``, when given): ``name -> (default, Setting)``.

    The estimators' default of a setting chosen from ``n_iter``
    (``population_size``, ``generations``) is None.

    Examples
    --------
    >>> declared("toml")["population_size"][0]
    20
    """
    out: dict[str, tuple[Any, Setting]] = {}
    for cls in (SearchSettings, RunSettings):
        for f in fields(cls):
            info = _info(f)
            if face is None or face in info.faces:
                assert f.default is not MISSING
                auto = face == ESTIMATORS and info.from_n_iter
                out[f.name] = (None if auto else f.default, info)
    return out


def check(name: str, value: Any, *, label: str | None = None) -> Any:
    """``value`` checked by setting ``name``'s rule; the message names ``label``
    (``search.population_size`` in an experiment file) or ``name``."""
    return declared()[name][1].rule.check(label or name, value)


def resumable() -> frozenset[str]:
    """The settings a resume may change (a longer budget, other workers)."""
    return frozenset(n for n, (_, info) in declared().items() if info.resumable)


def settings_for(values: Mapping[str, Any]) -> tuple[SearchSettings, RunSettings]:
    """Split flat keyword values into the two settings objects (each checked).

    Examples
    --------
    >>> search, run = settings_for({"population_size": 6, "generations": 3})
    >>> search.population_size, run.generations
    (6, 3)
    """
    names = {f.name for f in fields(SearchSettings)}
    search = SearchSettings(**{k: v for k, v in values.items() if k in names})
    run = RunSettings(**{k: v for k, v in values.items() if k not in names})
    return search, run
