"""Experiment files: a whole run declared in TOML, checked before any work.

::

    [estimator]
    class = "sklearn.ensemble.RandomForestClassifier"   # any importable estimator
    params = { n_jobs = 1 }                              # fixed parameters
    # or a Pipeline: named steps, each a class and its fixed params
    # steps = [ { name = "scale", class = "sklearn.preprocessing.StandardScaler" },
    #           { name = "svc", class = "sklearn.svm.SVC" } ]

    [data]
    loader = "sklearn.datasets.load_wine"   # or: csv = "train.csv", target = "label"

    [space]
    n_estimators = { type = "int", low = 20, high = 200 }
    max_features = { type = "categorical", choices = ["sqrt", "log2"] }
    min_impurity_decrease = { type = "float", low = 1e-6, high = 1e-1, log = true }
    degree = { type = "int", low = 2, high = 5, when = { kernel = "poly" } }
    # a Pipeline's step may be a choice of estimators with their own sub-spaces:
    # [space.clf] type = "estimator", then one [space.clf.choices.<name>] table
    # per estimator: class, params, space (see evotune/_experiment_choice.py)

    [search]
    population_size = 10
    generations = 4
    cv = 3
    scoring = "accuracy"
    n_jobs = 2
    random_state = 0
    # backend = "dask"                     # serial, process (n_jobs != 1), dask or ray
    # scheduler = "tcp://10.0.0.5:8786"    # an existing cluster: a Dask scheduler, or
    #                                      # with backend = "ray" its head ("10.0.0.5:6379")

Every error names the key (``space.n_estimators.low``), says what is wrong
and what is allowed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evotune._experiment_choice import choice_name, choice_space
from evotune._experiment_data import DataSpec, check_data
from evotune._experiment_errors import (
    ExperimentError,
    ExperimentSettingError,
    as_table,
    fail,
    import_object,
    unknown,
)
from evotune._validation import InvalidParameterError
from evotune.pruning import pruner_from_table
from evotune.settings import TOML, check, declared, settings_for
from evotune.space import Categorical, Float, Integer, Parameter, Space
from evotune.strategies import make_strategy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Experiment", "ExperimentError", "ExperimentSettingError", "load_experiment"]


_TOP = {"estimator", "data", "space", "search"}
_ESTIMATOR = {"class", "params", "steps"}
_STEP = {"name", "class", "params"}
_SPACE_TYPES = {"int": Integer, "integer": Integer, "float": Float, "categorical": Categorical}
_PARAM_KEYS = {"type", "low", "high", "log", "choices", "when"}
# the [search] keys of the experiment's objective (its folds and scoring);
# the other keys are evolve's settings, declared in evotune.settings
_OBJECTIVE_KEYS: dict[str, tuple[type, ...]] = {
    "cv": (int,),
    "scoring": (str, list, dict),
    "error_score": (float, int, str),
    "shuffle": (bool,),
    "scheduler": (str,),
    "connect_timeout": (float, int),
    "max_steps": (int,),
}
# seconds to reach an existing Dask scheduler or Ray head (``connect_timeout``): short, a
# scheduler that answers does so at once
CONNECT_TIMEOUT = 10.0


# What makes a class an estimator here: the methods scikit-learn's ``clone``
# (get_params, set_params) and the cross-validation (fit) call. Duck typing, as
# scikit-learn itself does, rather than subclassing BaseEstimator: estimators of
# other libraries (CatBoost's, say) implement the methods without the base.
_ESTIMATOR_METHODS = ("fit", "get_params", "set_params")


def _estimator_class(cls_path: Any, key: str, source: Path) -> type:
    """The class ``cls_path`` names, checked to be an estimator class before
    anything of it is called (an edited file could name any class)."""
    cls = import_object(cls_path, f"{key}.class")
    missing = [m for m in _ESTIMATOR_METHODS if not callable(getattr(cls, m, None))]
    if not isinstance(cls, type) or missing:
        what = (
            "it is not a class" if not isinstance(cls, type) else f"it lacks {', '.join(missing)}"
        )
        raise fail(
            f"{key}.class",
            f"{cls_path!r} in {str(source)!r} is {cls!r}, not a scikit-learn estimator class "
            f"(a class with fit, get_params and set_params; {what}); nothing was called",
        )
    return cls


def _make_estimator(cls_path: Any, params: Any, key: str, source: Path) -> Any:
    cls = _estimator_class(cls_path, key, source)
    params = as_table(params if params is not None else {}, f"{key}.params")
    try:
        est = cls(**params)
    except TypeError as exc:
        raise fail(
            f"{key}.params", f"{cls.__name__} does not take these parameters: {exc}"
        ) from None
    if not hasattr(est, "fit") or not hasattr(est, "get_params"):
        raise fail(
            f"{key}.class", f"{cls_path!r} is not a scikit-learn estimator (no fit/get_params)"
        )
    return est


def _build_estimator(data: Any, source: Path) -> Any:
    table = as_table(data, "estimator")
    unknown(table, _ESTIMATOR, "estimator")
    if "steps" in table:
        if "class" in table:
            raise fail("estimator", "give either 'class' or 'steps', not both")
        steps = table["steps"]
        if not isinstance(steps, list) or not steps:
            raise fail("estimator.steps", "must be a non-empty list of {name, class, params}")
        built = []
        for i, step in enumerate(steps):
            where = f"estimator.steps[{i}]"
            step = as_table(step, where)
            unknown(step, _STEP, where)
            name = step.get("name")
            if not isinstance(name, str) or not name:
                raise fail(f"{where}.name", f"must be a non-empty string, got {name!r}")
            est = _make_estimator(step.get("class"), step.get("params"), where, source)
            built.append((name, est))
        names = [n for n, _ in built]
        if len(set(names)) != len(names):
            raise fail("estimator.steps", f"step names must be unique, got {names}")
        from sklearn.pipeline import Pipeline

        return Pipeline(built)
    if "class" not in table:
        raise fail("estimator.class", "missing; give the estimator's import path, or 'steps'")
    return _make_estimator(table["class"], table.get("params"), "estimator", source)


def _build_parameter(name: str, spec: Any) -> Parameter:
    key = f"space.{name}"
    spec = as_table(spec, key)
    unknown(spec, _PARAM_KEYS, key)
    kind = spec.get("type")
    # a list or table is unhashable: test for a string before the lookup
    if not isinstance(kind, str) or kind not in _SPACE_TYPES:
        got = "nothing" if kind is None else f"{type(kind).__name__} {kind!r}"
        raise fail(
            f"{key}.type",
            f"must be one of int, float, categorical, estimator (a string; integer is int too); "
            f"got {got}",
        )
    when = spec.get("when")
    if when is not None:
        when = as_table(when, f"{key}.when")
    try:
        if kind == "categorical":
            extra = set(spec) - {"type", "choices", "when"}
            if extra:
                raise fail(f"{key}.{sorted(extra)[0]}", "not allowed for a categorical")
            if "choices" not in spec:
                raise fail(f"{key}.choices", "missing; give a list of choices")
            return Categorical(spec["choices"], when=when)
        extra = set(spec) - {"type", "low", "high", "log", "when"}
        if extra:
            raise fail(f"{key}.{sorted(extra)[0]}", f"not allowed for type {kind!r}")
        for bound in ("low", "high"):
            if bound not in spec:
                raise fail(f"{key}.{bound}", "missing")
        cls = _SPACE_TYPES[kind]
        return cls(spec["low"], spec["high"], log=spec.get("log", False), when=when)
    except ExperimentError:
        raise
    except (TypeError, ValueError) as exc:
        raise fail(key, str(exc)) from None


def _build_space(data: Any, source: Path) -> Space:
    table = as_table(data, "space")
    if not table:
        raise fail("space", "must declare at least one parameter")
    try:
        choice = choice_name(table)
    except ValueError as exc:
        raise ExperimentError(str(exc)) from None
    if choice is not None:  # a choice of estimators (evotune/_experiment_choice.py)
        return choice_space(
            table,
            choice,
            build_parameter=_build_parameter,
            make_estimator=lambda cls, params, key: _make_estimator(cls, params, key, source),
            fail=fail,
        )
    params = {name: _build_parameter(name, spec) for name, spec in table.items()}
    try:
        return Space(params)
    except (TypeError, ValueError) as exc:
        raise fail("space", str(exc)) from None


def _check_search(data: Any) -> dict[str, Any]:
    table = as_table(data if data is not None else {}, "search")
    toml = declared(TOML)
    unknown(table, set(_OBJECTIVE_KEYS) | set(toml), "search")
    for k, v in table.items():
        if k in _OBJECTIVE_KEYS:
            types = _OBJECTIVE_KEYS[k]
            if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
                names = " or ".join(t.__name__ for t in types)
                raise fail(f"search.{k}", f"must be {names}, got {type(v).__name__} {v!r}")
    if isinstance(table.get("prune"), Mapping):
        # a table naming a rule and its parameters becomes the rule object
        # (any other value meets the setting's own check below, as in Python)
        try:
            table["prune"] = pruner_from_table(table["prune"])
        except ValueError as exc:
            where, _, why = str(exc).partition(": ")
            raise fail(f"search.{where}", why) from None
    given = {k: v for k, v in table.items() if k in toml}
    try:
        for k, v in given.items():
            check(k, v, label=f"search.{k}")
        # the rules between settings (elitism below the population, a
        # strategy's own rules) hold too, before any file is written
        search, _ = settings_for(given)
        make_strategy(search.strategy, search)
    except InvalidParameterError as exc:
        message = str(exc)
        for k in given:
            message = message.replace(f"'{k}'", f"'search.{k}'")
        raise ExperimentSettingError(message) from None
    _check_backend(table)
    return table


_TASKS = "max_tasks_per_worker"


def _check_backend(table: dict[str, Any]) -> None:
    """``backend`` and ``scheduler``: their values, and that Dask or Ray is there
    if named."""
    from evotune.backends._ray_link import check_ray_address
    from evotune.backends.base import check_scheduler_address
    from evotune.backends.factory import BACKEND_NAMES

    backend = table.get("backend")
    if backend is not None and backend not in BACKEND_NAMES:
        allowed = ", ".join(repr(n) for n in BACKEND_NAMES)
        raise fail("search.backend", f"must be one of {allowed}; got {backend!r}")
    if "scheduler" in table:
        if backend not in ("dask", "ray"):
            got = "not set" if backend is None else f"{backend!r}"
            raise fail(
                "search.scheduler",
                f'needs backend = "dask" or "ray" in [search] (backend is {got}); the '
                "scheduler is the address of an existing Dask scheduler or Ray head",
            )
        address = table["scheduler"]
        try:
            if backend == "ray":
                check_ray_address(address, "scheduler")
            else:
                check_scheduler_address(address)
        except ValueError as exc:
            raise fail("search.scheduler", str(exc).removeprefix("scheduler ")) from None
    if "connect_timeout" in table:
        wait = table["connect_timeout"]
        if "scheduler" not in table:
            raise fail("search.connect_timeout", "applies only with scheduler = ... in [search]")
        if isinstance(wait, bool) or not wait > 0:
            raise fail("search.connect_timeout", f"must be > 0 seconds, got {wait!r}")
    if backend == "serial" and "timeout" in table:
        raise fail(
            "search.timeout",
            'cannot be enforced with backend = "serial" (a hung fit cannot be killed '
            'in-process); use backend = "process" or "dask"',
        )
    for key in ("max_tasks_per_worker", "worker_memory_limit"):
        if key in table and (backend == "serial" or (key, backend) == (_TASKS, "dask")):
            raise fail(
                f"search.{key}",
                f'is not supported with backend = "{backend}" (it recycles the process '
                'pool\'s workers); use backend = "process"',
            )
        if key in table and "scheduler" in table:
            raise fail(
                f"search.{key}",
                "applies to a cluster evotune starts; an existing Dask cluster keeps its "
                "workers' own --memory-limit",
            )
    if backend == "dask" and importlib.util.find_spec("distributed") is None:
        from evotune.backends.base import DASK_MISSING

        raise fail("search.backend", DASK_MISSING)
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        from evotune.backends.base import RAY_MISSING

        raise fail("search.backend", RAY_MISSING)


@dataclass
class Experiment:
    """A parsed, checked experiment file."""

    path: Path
    text: str
    estimator: Any
    data: DataSpec
    space: Space
    search: dict[str, Any]

    def objective(self, X: Any, y: Any) -> Any:
        """The cross-validated objective the file describes."""
        from sklearn.base import is_classifier
        from sklearn.model_selection import KFold, StratifiedKFold

        from evotune.objective import CrossValScore

        cv: Any = self.search.get("cv", 5)
        if self.search.get("shuffle", True) and isinstance(cv, int):
            seed = self.search.get("random_state", 0)
            cls = StratifiedKFold if is_classifier(self.estimator) else KFold
            cv = cls(cv, shuffle=True, random_state=seed)
        return CrossValScore(
            self.estimator,
            X,
            y,
            cv=cv,
            scoring=self.search.get("scoring"),
            error_score=self.search.get("error_score", float("nan")),
            max_steps=self.search.get("max_steps"),
        )

    def check_objective(self, X: Any, y: Any) -> None:
        """Check ``cv`` and ``scoring`` on the estimator and the data before a
        run (see :func:`evotune._experiment_checks.check_objective`)."""
        from evotune._experiment_checks import check_objective

        check_objective(self.estimator, self.search, X, y, fail)

    def evolve_kwargs(self) -> dict[str, Any]:
        """The settings of :func:`evotune.evolve` the file sets.

        ``scheduler`` becomes ``backend=DaskBackend(scheduler, timeout=timeout)``,
        or with ``backend = "ray"`` a ``RayBackend(scheduler, ...)`` (nothing
        is contacted until the run starts).
        """
        skip = {
            "cv",
            "scoring",
            "error_score",
            "shuffle",
            "scheduler",
            "connect_timeout",
            "max_steps",
        }
        kwargs = {k: v for k, v in self.search.items() if k not in skip}
        if "scheduler" in self.search:
            wait = float(self.search.get("connect_timeout", CONNECT_TIMEOUT))
            timeout = self.search.get("timeout")
            if self.search.get("backend") == "ray":
                from evotune.backends.ray import RayBackend

                kwargs["backend"] = RayBackend(
                    self.search["scheduler"], timeout=timeout, startup_timeout=wait
                )
            else:
                from evotune.backends.dask import DaskBackend

                kwargs["backend"] = DaskBackend(
                    self.search["scheduler"], timeout=timeout, startup_timeout=wait
                )
        return kwargs


def load_experiment(path: str | Path, *, data_dir: str | Path | None = None) -> Experiment:
    """Read and check an experiment file; nothing runs and nothing is written.

    Relative data paths (``csv``, ``parquet``) are resolved against
    ``data_dir``, by default the file's own directory (``evotune resume``
    passes the one recorded at ``evotune run``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "e.toml"
    >>> _ = f.write_text('[estimator]\\nclass = "sklearn.svm.SVC"\\n'
    ...                  '[data]\\nloader = "sklearn.datasets.load_iris"\\n'
    ...                  '[space]\\nC = { type = "float", low = 0.1, high = 10.0, log = true }\\n')
    >>> load_experiment(f).space
    Space({'C': Float(0.1, 10.0, log=True)})
    """
    p = Path(path)
    if not p.exists():
        raise ExperimentError(f"{str(p)!r}: no such experiment file")
    try:
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{str(p)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ExperimentError(f"{str(p)!r} cannot be read: {exc}") from None
    unknown(data, _TOP, "")
    for section in ("estimator", "data", "space"):
        if section not in data:
            raise fail(section, "missing section")
    estimator = _build_estimator(data["estimator"], p)
    base = Path(data_dir) if data_dir is not None else p.parent
    data_spec = check_data(data["data"], base.absolute())
    space = _build_space(data["space"], p)
    search = _check_search(data.get("search"))
    if "max_steps" in search:
        from evotune._stepwise import check_stepwise

        try:
            check_stepwise(estimator, search["max_steps"])
        except ValueError as exc:
            raise fail("search.max_steps", str(exc).removeprefix("CrossValScore: ")) from None
    choice = choice_name(data["space"])
    for name in space.public_names:
        if choice is not None and name.startswith(f"{choice}__"):
            continue  # checked against its own estimator
        if name not in estimator.get_params(deep=True):
            raise fail(
                f"space.{name}",
                f"{type(estimator).__name__} has no parameter {name!r}",
            )
    return Experiment(p, text, estimator, data_spec, space, search)
