"""A run's ``meta.json``: what it records, and whether a resume matches it.

A resume must run the same space on the same data (the objective's
fingerprint: data, folds, estimator, scoring) with the same settings, except
those :func:`evotune.settings.resumable` lets change. A mismatch is refused
with a message that names each differing field and its two values (nested
fields by their dotted path, e.g. ``C.low`` of the space).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune._journal_read import FORMAT_VERSION, JournalError
from evotune._journal_write import _finite
from evotune.settings import resumable

__all__ = ["EXTENSIBLE", "build_meta", "check_resumable", "differences", "package_versions"]

# the settings a resume may change (they extend or steer a run, not redefine
# it), as declared in evotune.settings
EXTENSIBLE = resumable()
# settings recorded since a later version: a run directory written before
# has none, and resumes as it did
_RECORDED_SINCE = ("strategy_params",)

_VERSION_MODULES = {
    "evotune": "evotune",
    "deap": "deap",
    "numpy": "numpy",
    "scipy": "scipy",
    "scikit-learn": "sklearn",
    "pandas": "pandas",
    "multiprocess": "multiprocess",
}


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on.

    Read from each module's ``__version__`` (the modules are imported by
    then); scanning the installed distributions' metadata would cost a
    noticeable part of a short run.
    """
    import importlib

    out = {"python": platform.python_version()}
    for dist, module in _VERSION_MODULES.items():
        try:
            out[dist] = str(getattr(importlib.import_module(module), "__version__", "unknown"))
        except ImportError:
            out[dist] = "unknown"
    return out


def build_meta(
    space_dict: dict[str, Any], settings: dict[str, Any], fingerprint: dict[str, Any]
) -> dict[str, Any]:
    """The ``meta.json`` of a new run."""
    return {
        "format_version": FORMAT_VERSION,
        "space": space_dict,
        "settings": settings,
        "fingerprint": fingerprint,
        "versions": package_versions(),
        "created": time.time(),
        "argv": list(sys.argv),
    }


def _canon(value: Any) -> str:
    return json.dumps(_finite(value), sort_keys=True, default=repr)


_ABSENT = object()


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """The leaves where two JSON values differ, as ``(dotted path, old, new)``.

    Dicts are compared key by key (the old one's keys first, in its order);
    anything else is a leaf. A key on one side only has the value ``_ABSENT``
    on the other.

    Examples
    --------
    >>> differences({"cv": 5, "est": {"C": 1, "tol": 0.1}}, {"cv": 3, "est": {"C": 1, "tol": 0.2}})
    [('cv', 5, 3), ('est.tol', 0.1, 0.2)]
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[tuple[str, Any, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            leaf = f"{path}.{key}" if path else str(key)
            out += differences(old.get(key, _ABSENT), new.get(key, _ABSENT), leaf)
        return out
    if old is _ABSENT or new is _ABSENT or _canon(old) != _canon(new):
        return [(path, old, new)]
    return []


def _show(value: Any, limit: int = 160) -> str:
    """A value as the message shows it: text as it is, the rest as JSON."""
    if value is _ABSENT:
        return "(absent)"
    text = value if isinstance(value, str) else _canon(value)
    text = " ".join(text.split())  # one line, whatever the value holds
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _named(diffs: list[tuple[str, Any, Any]]) -> str:
    return ", ".join(f"{path} (run: {_show(a)}; now: {_show(b)})" for path, a, b in diffs)


def check_resumable(path: Path, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Refuse to resume the run of ``old`` (its ``meta.json``) as ``new``, if
    the space, the fingerprint or a setting that may not change differs.

    Raises
    ------
    JournalError
        Naming each differing field with its two values.

    Examples
    --------
    >>> from pathlib import Path
    >>> check_resumable(Path("runs/a"), {"fingerprint": {"scoring": "'accuracy'", "n_folds": 5}},
    ...                 {"fingerprint": {"scoring": "'f1'", "n_folds": 5}})
    Traceback (most recent call last):
    ...
    evotune._journal_read.JournalError: cannot resume 'runs/a': the fingerprint differs from \
the run's: scoring (run: 'accuracy'; now: 'f1')
    """
    for field in ("space", "fingerprint"):
        diffs = differences(old.get(field), new.get(field))
        if diffs:
            raise JournalError(
                f"cannot resume {str(path)!r}: the {field} differs from the run's: {_named(diffs)}"
            )
    old_s, new_s = old.get("settings", {}), new.get("settings", {})
    # an asynchronous strategy's in_flight defaults to population_size, and
    # a generational one records None: a change of either is named, not it
    for name in sorted(set(old_s) | set(new_s), key=lambda n: (n == "in_flight", n)):
        if name in EXTENSIBLE or (name in _RECORDED_SINCE and name not in old_s):
            continue
        if _canon(old_s.get(name)) != _canon(new_s.get(name)):
            raise JournalError(
                f"cannot resume {str(path)!r}: setting {name!r} differs "
                f"(run: {old_s.get(name)!r}; now: {new_s.get(name)!r})"
            )


def check_not_shrunk(path: Path, settings: Mapping[str, Any], generations: int, n: int) -> None:
    """Refuse a resume whose budget is below what the run has done.

    ``generations`` and ``n`` are the generations and evaluations the journal
    holds. A smaller ``generations`` or ``max_evaluations`` would rewrite the
    run's views to fewer rows than it computed; the journal keeps them all,
    so the error says what to ask for instead.

    Raises
    ------
    JournalError
        Naming the setting, what was asked and what is done.

    Examples
    --------
    >>> check_not_shrunk(Path("runs/a"), {"generations": 2}, 4, 13)
    Traceback (most recent call last):
    ...
    evotune._journal_read.JournalError: cannot resume 'runs/a' with generations=2: the run has \
done 4 generations (13 evaluations); ask for 4 or more, a resume never shrinks a run
    """
    for name, done in (("generations", generations), ("max_evaluations", n)):
        asked = settings.get(name)
        if isinstance(asked, int) and asked < done:
            raise JournalError(
                f"cannot resume {str(path)!r} with {name}={asked}: the run has done "
                f"{generations} generations ({n} evaluations); ask for {done} or more, "
                "a resume never shrinks a run"
            )
