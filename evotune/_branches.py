"""A list of dicts as a conditional space: scikit-learn's ``param_distributions``
list, one hidden choice of branch.

``RandomizedSearchCV`` takes a list of dicts and draws a dict, then a value of
each of its entries. Here that is a :class:`~evotune.space.Space` with one
hidden :class:`~evotune.space.Categorical` gene, :data:`BRANCH`, whose value
is the dict's index, and each dict's parameters as their own genes under
internal names ``"<name>@<index>"``, active only when the branch is theirs. So
the same name may have another range in each dict (``clf__C`` from 1e-4 to 1e2
for a logistic regression and from 1e-2 to 1e3 for an SVC). The space decodes a
genome to the public names; the branch never reaches the model. An empty dict
is a branch that sets nothing (the estimator as given), and an empty space
``{}`` is the one-branch space of that: a single candidate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from evotune._convert import convert_entry
from evotune._parameters import Categorical, Parameter

__all__ = ["BRANCH", "Branches", "branch_params", "internal_name"]

#: the hidden gene that picks the dict of a list of dicts; never a model's parameter
BRANCH = "__branch__"

#: public name -> internal name, one dict per branch
Branches = list[dict[str, str]]


def internal_name(name: str, branch: int) -> str:
    """The internal name of parameter ``name`` of dict ``branch``.

    Examples
    --------
    >>> internal_name("clf__C", 1)
    'clf__C@1'
    """
    return f"{name}@{branch}"


def _checked_branch(i: int, branch: Any) -> Mapping[str, Any]:
    if not isinstance(branch, Mapping):
        raise TypeError(
            f"Space: 'params'[{i}]: a list of parameter spaces must hold dicts of parameter name "
            f"to parameter, got {branch!r} ({type(branch).__name__})"
        )
    for name in branch:
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"Space: 'params'[{i}]: parameter names must be non-empty strings, got {name!r}"
            )
    return branch


def _in_branch(i: int, name: str, value: Any, names: Sequence[str]) -> Parameter:
    """Parameter ``name`` of dict ``i``, its conditions renamed to the dict's
    internal names and joined by the condition on the branch."""
    try:
        p = convert_entry(name, value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Space: 'params'[{i}]: {exc}") from None
    for parent in p.when:
        if parent not in names:
            raise ValueError(
                f"Space: 'params'[{i}]: parameter {name!r}: condition names {parent!r}, which this "
                f"dict does not have; a condition in a list of dicts names a parameter of the "
                f"same dict, here one of {list(names)}"
            )
    # a copy: the user's parameter object keeps its own conditions
    p = copy.copy(p)
    p.when = {internal_name(k, i): v for k, v in p.when.items()}
    p.when[BRANCH] = (i,)
    return p


def branch_params(
    branches: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Any], dict[str, str | None], Branches]:
    """The internal parameters of a list of dicts, the public name of each
    (None for the hidden :data:`BRANCH`), and each dict's public -> internal names.

    Examples
    --------
    >>> params, public, names = branch_params([{"C": [1, 10]}, {}])
    >>> list(params), public["C@0"], names
    (['__branch__', 'C@0'], 'C', [{'C': 'C@0'}, {}])
    """
    if isinstance(branches, (str, bytes)) or not isinstance(branches, Sequence):
        raise TypeError(f"Space: 'params' must be a dict or a list of dicts, got {branches!r}")
    if not branches:
        raise ValueError(
            "Space: 'params' is an empty list, which has no parameter space to search; give a "
            "dict, or a list of at least one dict ({} searches the estimator as given)"
        )
    checked = [_checked_branch(i, b) for i, b in enumerate(branches)]
    params: dict[str, Any] = {BRANCH: Categorical(list(range(len(checked))))}
    public: dict[str, str | None] = {BRANCH: None}
    names: Branches = []
    for i, branch in enumerate(checked):
        names.append({})
        for name, value in branch.items():
            inner = internal_name(name, i)
            params[inner] = _in_branch(i, name, value, list(branch))
            public[inner] = name
            names[i][name] = inner
    return params, public, names
