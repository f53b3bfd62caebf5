"""Each tool's search space, built from a case's neutral :class:`~benchmarks.cases.Param` list.

scikit-learn's distributions and grids, sklearn-genetic-opt's population
shape, scikit-optimize's dimensions, hyperopt's ``hp`` expressions and a
ConfigSpace for SMAC. The tools' packages are imported inside the builders,
so this module imports with scikit-learn and numpy only.

Conditional parameters (``Param.when``) are handled as each tool allows:
scikit-learn's searches get one distribution dict per branch of the parent;
hyperopt nests each branch's parameters under an ``hp.choice`` of the parent;
ConfigSpace gets an ``InCondition`` per parent; scikit-optimize has no
conditions, so it searches the flat product (an unused parameter is set and
ignored by the model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from benchmarks.cases import Case, Param, branches

__all__ = [
    "configspace",
    "flatten_hyperopt",
    "ga_shape",
    "grid_levels",
    "hyperopt_space",
    "sklearn_distributions",
    "sklearn_grid",
    "skopt_space",
]

# hyperopt labels must be unique: a conditional parameter is labelled per branch
HYPEROPT_BRANCH = "@"


def sklearn_distributions(case: Case) -> dict[str, Any] | list[dict[str, Any]]:
    """``param_distributions`` for RandomizedSearchCV (a list per branch if conditional)."""
    from scipy.stats import loguniform, randint, uniform

    def dist(p: Param) -> Any:
        if p.kind == "cat":
            return list(p.choices)
        if p.kind == "int":
            return randint(int(p.low), int(p.high) + 1)
        if p.log:
            return loguniform(p.low, p.high)
        return uniform(p.low, p.high - p.low)

    out = [
        {**{k: [v] for k, v in fixed.items()}, **{p.name: dist(p) for p in active}}
        for fixed, active in branches(case)
    ]
    return out if case.conditional else out[0]


def grid_levels(case: Case, budget: int) -> dict[str, int]:
    """Levels per numeric parameter so the grid has about ``budget`` points.

    Starts from the case's levels and, while the grid is more than 10% over
    the budget, takes one level from the parameter with the most.
    """
    levels = {p.name: p.grid for p in case.params if p.kind != "cat"}

    def size() -> int:
        total = 0
        for _fixed, active in branches(case):
            n = 1
            for p in active:
                n *= len(p.choices) if p.kind == "cat" else levels[p.name]
            total += n
        return total

    while size() > 1.1 * budget and max(levels.values()) > 1:
        name = max(levels, key=lambda k: levels[k])
        levels[name] -= 1
    return levels


def sklearn_grid(case: Case, budget: int) -> dict[str, Any] | list[dict[str, Any]]:
    """A coarse ``param_grid`` of about ``budget`` points (a list per branch if conditional)."""
    from dataclasses import replace

    levels = grid_levels(case, budget)
    specs = {p.name: replace(p, grid=levels[p.name]) if p.kind != "cat" else p for p in case.params}
    out = [
        {
            **{k: [v] for k, v in fixed.items()},
            **{p.name: specs[p.name].grid_values() for p in active},
        }
        for fixed, active in branches(case)
    ]
    return out if case.conditional else out[0]


def ga_shape(budget: int, population: int) -> tuple[int, int]:
    """GASearchCV's (population, generations): it evaluates p + 2p per generation.

    Picks the shape whose total is nearest the budget, then whose population
    is nearest evotune's.
    """
    best: tuple[int, int, int, int] | None = None
    for p in range(2, budget + 1):
        for g in range(1, budget):
            total = p * (1 + 2 * g)
            if total > 2 * budget:
                break
            cand = (abs(total - budget), abs(p - population), p, g)
            if best is None or cand < best:
                best = cand
    assert best is not None
    return best[2], best[3]


def skopt_space(case: Case) -> dict[str, Any]:
    """``search_spaces`` for scikit-optimize's ``BayesSearchCV`` (flat: no conditions)."""
    from skopt.space import Categorical, Integer, Real

    out: dict[str, Any] = {}
    for p in case.params:
        prior = "log-uniform" if p.log else "uniform"
        if p.kind == "cat":
            out[p.name] = Categorical(list(p.choices))
        elif p.kind == "int":
            out[p.name] = Integer(int(p.low), int(p.high), prior=prior)
        else:
            out[p.name] = Real(p.low, p.high, prior=prior)
    return out


def _hp_expr(p: Param, label: str) -> Any:
    from hyperopt import hp
    from hyperopt.pyll import scope

    if p.kind == "cat":
        return hp.choice(label, list(p.choices))
    if p.kind == "int" and p.log:
        return scope.int(hp.qloguniform(label, math.log(p.low), math.log(p.high), 1))
    if p.kind == "int":
        return hp.uniformint(label, int(p.low), int(p.high))
    if p.log:
        return hp.loguniform(label, math.log(p.low), math.log(p.high))
    return hp.uniform(label, p.low, p.high)


def hyperopt_space(case: Case) -> dict[str, Any]:
    """A hyperopt space: unconditional parameters at the top, and the parent of
    conditional ones an ``hp.choice`` of one dict per value, holding that
    value and the parameters active under it (labelled ``name@value``).

    Read a sampled point with :func:`flatten_hyperopt`.
    """
    from hyperopt import hp

    parents = {parent for p in case.params for parent in p.when}
    if len(parents) > 1:
        raise NotImplementedError("hyperopt_space() handles one conditioning parameter")
    out: dict[str, Any] = {}
    for p in case.params:
        if p.when:
            continue
        if p.name not in parents:
            out[p.name] = _hp_expr(p, p.name)
            continue
        options = []
        for value in p.choices:
            branch: dict[str, Any] = {p.name: value}
            for q in case.params:
                if q.when and q.active(branch):
                    branch[q.name] = _hp_expr(q, f"{q.name}{HYPEROPT_BRANCH}{value}")
            options.append(branch)
        out[p.name] = hp.choice(p.name, options)
    return out


def flatten_hyperopt(point: Mapping[str, Any]) -> dict[str, Any]:
    """The model's parameters from a point of :func:`hyperopt_space`."""
    out: dict[str, Any] = {}
    for k, v in point.items():
        if isinstance(v, Mapping):
            out.update(flatten_hyperopt(v))
        else:
            out[k] = v.item() if hasattr(v, "item") else v
    return out


def configspace(case: Case, seed: int) -> Any:
    """A ConfigSpace ``ConfigurationSpace`` for SMAC, with an ``InCondition``
    (joined by ``AndConjunction`` if several) where ``Param.when`` is set."""
    from ConfigSpace import (
        AndConjunction,
        Categorical,
        ConfigurationSpace,
        Float,
        InCondition,
        Integer,
    )

    cs = ConfigurationSpace(seed=seed)
    hps: dict[str, Any] = {}
    for p in case.params:
        if p.kind == "cat":
            hps[p.name] = Categorical(p.name, list(p.choices))
        elif p.kind == "int":
            hps[p.name] = Integer(p.name, (int(p.low), int(p.high)), log=p.log)
        else:
            hps[p.name] = Float(p.name, (float(p.low), float(p.high)), log=p.log)
    cs.add(list(hps.values()))
    for p in case.params:
        conds = [InCondition(hps[p.name], hps[k], list(v)) for k, v in p.when.items()]
        if len(conds) == 1:
            cs.add(conds[0])
        elif conds:
            cs.add(AndConjunction(*conds))
    return cs
