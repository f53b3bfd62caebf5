"""The errors of an experiment file and the small readers every part of it uses.

Each message starts with the key it is about (``data.csv: ...``), so a user
finds the line to change; the readers of ``[estimator]``, ``[data]`` and
``[space]`` share them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from evotune._validation import InvalidParameterError

__all__ = [
    "ExperimentError",
    "ExperimentSettingError",
    "as_table",
    "fail",
    "import_object",
    "unknown",
]


class ExperimentError(ValueError):
    """An experiment file that cannot be run as written."""


class ExperimentSettingError(ExperimentError, InvalidParameterError):
    """A bad ``[search]`` setting: evolve's message, named ``search.<key>``."""


def fail(key: str, message: str) -> ExperimentError:
    """The error for ``key``, named as the file names it (``search.cv: ...``)."""
    return ExperimentError(f"{key}: {message}")


def as_table(data: Any, key: str) -> dict[str, Any]:
    """``data`` as a dict, or an error naming ``key`` if it is not a table."""
    if not isinstance(data, Mapping):
        raise fail(key, f"must be a table, got {type(data).__name__} {data!r}")
    return dict(data)


def unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """Refuse the first key of ``data`` not in ``allowed``, listing what is."""
    for k in data:
        if k not in allowed:
            prefix = f"{where}." if where else ""
            raise fail(f"{prefix}{k}", f"unknown key; allowed here: {', '.join(sorted(allowed))}")


def import_object(path: Any, key: str) -> Any:
    """Import ``package.module.Name``; the error names the key."""
    if not isinstance(path, str) or "." not in path:
        raise fail(key, f"must be a dotted import path such as 'sklearn.svm.SVC', got {path!r}")
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise fail(key, f"cannot import module {module_name!r} ({exc})") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise fail(key, f"module {module_name!r} has no attribute {name!r}") from None
