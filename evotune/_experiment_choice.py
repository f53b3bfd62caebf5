"""An experiment file's choice of estimators, each with its own sub-space.

One entry of ``[space]`` may be ``type = "estimator"``: the estimator
parameter it names (a Pipeline's step, such as ``clf``) takes one of several
estimators, each declared by name with its class, fixed ``params`` and its own
``space``, whose names are the chosen estimator's (``C``, not ``clf__C``)::

    [space.clf]
    type = "estimator"

    [space.clf.choices.svc]
    class = "sklearn.svm.SVC"
    params = { random_state = 0 }
    space = { C = { type = "float", low = 1e-2, high = 1e3, log = true } }

    [space.clf.choices.forest]
    class = "sklearn.ensemble.RandomForestClassifier"
    params = { n_estimators = 50, random_state = 0 }
    space = { max_depth = { type = "int", low = 2, high = 16 } }

It becomes scikit-learn's list of dicts, one dict per choice (as
``RandomizedSearchCV`` takes ``[{"clf": [SVC()], "clf__C": ...}, ...]``), the
other entries of ``[space]`` in every dict: two estimators may each have a
``C`` of their own range. The history and the report show the public names
(``clf``, ``clf__C``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evotune.space import Categorical, Parameter, Space

__all__ = ["ESTIMATOR_TYPE", "choice_name", "choice_space"]

ESTIMATOR_TYPE = "estimator"
_CHOICE_KEYS = {"type", "choices"}
_OPTION_KEYS = {"class", "params", "space"}


def choice_name(table: Mapping[str, Any]) -> str | None:
    """The name of ``[space]``'s estimator choice, or None when it has none."""
    names = [
        n
        for n, spec in table.items()
        if isinstance(spec, Mapping) and spec.get("type") == ESTIMATOR_TYPE
    ]
    if len(names) > 1:
        raise ValueError(
            f"space.{names[1]}: one estimator choice per file, got {names[0]!r} and "
            f"{names[1]!r} (declare the second one's estimators as choices of the first)"
        )
    return names[0] if names else None


def choice_space(
    table: Mapping[str, Any],
    name: str,
    *,
    build_parameter: Callable[[str, Any], Parameter],
    make_estimator: Callable[[Any, Any, str], Any],
    fail: Callable[[str, str], Exception],
) -> Space:
    """``[space]`` with its estimator choice ``name``, as a list-of-dicts Space.

    ``build_parameter(key, spec)``, ``make_estimator(class, params, key)`` and
    ``fail(key, message)`` are the experiment file's own (its errors name the
    key: ``space.clf.choices.svc.space.C.low``).
    """
    spec = table[name]
    key = f"space.{name}"
    extra = sorted(set(spec) - _CHOICE_KEYS)
    if extra:
        raise fail(
            f"{key}.{extra[0]}",
            f"not allowed for type 'estimator' (it takes {sorted(_CHOICE_KEYS)})",
        )
    choices = spec.get("choices")
    if not isinstance(choices, Mapping) or not choices:
        raise fail(
            f"{key}.choices",
            "must be a table of named estimators, e.g. "
            '[space.clf.choices.svc] with class = "sklearn.svm.SVC"',
        )
    common = {n: build_parameter(n, s) for n, s in table.items() if n != name}
    dicts = []
    for option, option_spec in choices.items():
        where = f"{key}.choices.{option}"
        if not isinstance(option_spec, Mapping):
            raise fail(where, f"must be a table with class, params and space, got {option_spec!r}")
        unknown = sorted(set(option_spec) - _OPTION_KEYS)
        if unknown:
            raise fail(f"{where}.{unknown[0]}", f"unknown key; allowed: {sorted(_OPTION_KEYS)}")
        estimator = make_estimator(option_spec.get("class"), option_spec.get("params"), where)
        sub = dict(common)
        sub[name] = Categorical([estimator])
        sub.update(
            _sub_space(option_spec.get("space"), name, where, estimator, build_parameter, fail)
        )
        dicts.append(sub)
    return Space(dicts)


def _sub_space(
    table: Any,
    step: str,
    where: str,
    estimator: Any,
    build_parameter: Callable[[str, Any], Parameter],
    fail: Callable[[str, str], Exception],
) -> dict[str, Parameter]:
    """One choice's own parameters, named ``<step>__<name>`` (conditions too)."""
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise fail(f"{where}.space", f"must be a table of parameters, got {table!r}")
    known = estimator.get_params(deep=True)
    out: dict[str, Parameter] = {}
    for pname, pspec in table.items():
        pkey = f"{where.removeprefix('space.')}.space.{pname}"
        if pname not in known:
            raise fail(
                f"space.{pkey}",
                f"{type(estimator).__name__} has no parameter {pname!r}",
            )
        if isinstance(pspec, Mapping) and isinstance(pspec.get("when"), Mapping):
            pspec = {**pspec, "when": {f"{step}__{k}": v for k, v in pspec["when"].items()}}
        out[f"{step}__{pname}"] = build_parameter(pkey, pspec)
    return out
