"""The five benchmark cases of shared/benchmarks.md, described once for every tool.

A case holds its estimator, data, scoring, folds, budget and a neutral list of
:class:`Param` specs. Each tool turns the specs into its own space (an evotune
:class:`~evotune.Space`, scipy distributions, a grid, Optuna ``suggest_*``
calls), so every tool searches the same ranges. Only scikit-learn and numpy are
imported here; evotune is imported inside :func:`evotune_space`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CASES", "Case", "Param", "effective_key", "get_case"]


@dataclass(frozen=True)
class Param:
    """One hyperparameter: ``kind`` is ``"float"``, ``"int"`` or ``"cat"``.

    ``when`` maps a categorical parent to the values under which this
    parameter is used by the model (empty: always used).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    grid: int = 2  # levels of the coarse grid

    def active(self, params: Mapping[str, Any]) -> bool:
        """Whether the model uses this parameter given the others' values."""
        return all(params.get(parent) in allowed for parent, allowed in self.when.items())

    def grid_values(self) -> list[Any]:
        """``grid`` levels at the centres of equal bins of the (log) range."""
        if self.kind == "cat":
            return list(self.choices)
        qs = [(i + 0.5) / self.grid for i in range(self.grid)]
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            values = [10 ** (lo + q * (hi - lo)) for q in qs]
        else:
            values = [self.low + q * (self.high - self.low) for q in qs]
        if self.kind == "int":
            return sorted({round(v) for v in values})
        return [float(f"{v:.6g}") for v in values]


@dataclass(frozen=True)
class Case:
    """One benchmark case: what is tuned, on what, with how many evaluations."""

    name: str
    title: str
    make_estimator: Callable[[], Any]
    load_data: Callable[[], tuple[np.ndarray, np.ndarray]]
    params: tuple[Param, ...]
    scoring: str
    budget: int
    population: int  # evotune's and NSGA-II's population size
    stratified: bool = True

    def cv(self) -> Any:
        """3 shuffled folds, ``random_state=0`` (stratified for classifiers)."""
        from sklearn.model_selection import KFold, StratifiedKFold

        if self.stratified:
            return StratifiedKFold(3, shuffle=True, random_state=0)
        return KFold(3, shuffle=True, random_state=0)

    @property
    def conditional(self) -> bool:
        return any(p.when for p in self.params)

    def generations(self, budget: int) -> int:
        """evotune's generations: population x generations ~ budget."""
        return max(1, round(budget / self.population))


def _svc_pipeline() -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(kernel="rbf"))


def _hgb() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=0)


def _rf() -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=0)


def _logreg() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=50)


def _svc() -> Any:
    from sklearn.svm import SVC

    return SVC()


def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def _classification() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=500, n_features=20, random_state=0)


_POLY = {"kernel": ("poly",)}
_POLY_SIGMOID = {"kernel": ("poly", "sigmoid")}

CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "C1",
            "StandardScaler + SVC(rbf) on breast_cancer",
            _svc_pipeline,
            _breast_cancer,
            (
                Param("svc__C", "float", 1e-3, 1e3, log=True, grid=6),
                Param("svc__gamma", "float", 1e-5, 1e1, log=True, grid=10),
            ),
            "accuracy",
            budget=60,
            population=12,
        ),
        Case(
            "C2",
            "HistGradientBoostingClassifier on digits",
            _hgb,
            _digits,
            (
                Param("learning_rate", "float", 1e-3, 1.0, log=True),
                Param("max_leaf_nodes", "int", 8, 128),
                Param("min_samples_leaf", "int", 1, 64),
                Param("l2_regularization", "float", 1e-6, 10.0, log=True),
                Param("max_iter", "int", 20, 100),
            ),
            "accuracy",
            budget=40,
            population=10,
        ),
        Case(
            "C3",
            "RandomForestRegressor on diabetes",
            _rf,
            _diabetes,
            (
                Param("n_estimators", "int", 20, 200, grid=3),
                Param("max_depth", "int", 2, 20, grid=3),
                Param("min_samples_split", "int", 2, 20),
                Param("max_features", "cat", choices=("sqrt", "log2", 1.0)),
            ),
            "neg_mean_squared_error",
            budget=60,
            population=12,
            stratified=False,
        ),
        Case(
            "C4",
            "LogisticRegression(max_iter=50) on make_classification(500, 20)",
            _logreg,
            _classification,
            (Param("C", "float", 1e-4, 1e4, log=True, grid=200),),
            "accuracy",
            budget=200,
            population=20,
        ),
        Case(
            "C5",
            "SVC on digits, conditional kernel space",
            _svc,
            _digits,
            (
                Param("kernel", "cat", choices=("rbf", "poly", "sigmoid")),
                Param("C", "float", 1e-2, 1e3, log=True, grid=3),
                Param("gamma", "float", 1e-5, 1e-1, log=True, grid=3),
                Param("degree", "int", 2, 5, when=_POLY),
                Param("coef0", "float", -1.0, 1.0, when=_POLY_SIGMOID),
            ),
            "accuracy",
            budget=60,
            population=12,
        ),
    )
}


def get_case(name: str) -> Case:
    """The case called ``name`` (``C1`` ... ``C5``)."""
    try:
        return CASES[name]
    except KeyError:
        raise ValueError(f"unknown case {name!r}; the cases are {sorted(CASES)}") from None


def effective_key(params: Mapping[str, Any], specs: Sequence[Param]) -> str:
    """A canonical key of the parameters the model actually uses.

    Parameters whose condition does not hold (``degree`` for an rbf SVC) are
    left out, so two candidates that build the same model share a key.
    """
    items = []
    for p in specs:
        if p.name not in params or not p.active(params):
            continue
        v = params[p.name]
        if isinstance(v, (np.integer, np.floating)):
            v = v.item()
        if isinstance(v, float):
            v = float(f"{v:.12g}")
        items.append(f"{p.name}={v!r}")
    return ";".join(items)


def evotune_space(case: Case) -> Any:
    """The case's space as an evotune :class:`~evotune.Space` (with its conditions)."""
    from evotune import Categorical, Float, Integer, Space

    out: dict[str, Any] = {}
    for p in case.params:
        when = {k: list(v) for k, v in p.when.items()} or None
        if p.kind == "float":
            out[p.name] = Float(p.low, p.high, log=p.log, when=when)
        elif p.kind == "int":
            out[p.name] = Integer(int(p.low), int(p.high), log=p.log, when=when)
        else:
            out[p.name] = Categorical(list(p.choices), when=when)
    return Space(out)


def branches(case: Case) -> list[tuple[dict[str, Any], list[Param]]]:
    """The conditional space cut into flat branches, one per value of the parent.

    Returns ``(fixed, params)`` pairs: ``fixed`` pins the parent categorical,
    ``params`` are the parameters active in that branch. An unconditional
    space is one branch with nothing fixed.
    """
    parents = sorted({parent for p in case.params for parent in p.when})
    if not parents:
        return [({}, list(case.params))]
    if len(parents) > 1:
        raise NotImplementedError("branches() handles one conditioning parameter")
    parent = next(p for p in case.params if p.name == parents[0])
    out = []
    for value in parent.choices:
        fixed = {parent.name: value}
        active = [p for p in case.params if p is not parent and p.active(fixed)]
        out.append((fixed, active))
    return out
