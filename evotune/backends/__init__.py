"""Where tasks run, behind one stated protocol.

:class:`Backend` is the protocol and :class:`BaseBackend` its base class with
the defaults (:mod:`evotune.backends.base`); :class:`SerialBackend` runs tasks
in the calling process, :class:`ProcessPoolBackend` on a supervised pool of
worker processes, :class:`~evotune.backends.dask.DaskBackend` on a Dask
cluster, :class:`~evotune.backends.ray.RayBackend` on a Ray cluster;
:func:`get_backend` (:mod:`evotune.backends.factory`) turns the user's
``n_jobs`` / ``backend`` / ``timeout`` arguments into a backend.

Every name is imported on first use (PEP 562), so importing the protocol
imports no backend, and nothing here imports Dask or Ray before it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evotune.backends.base import Backend, BaseBackend, as_backend
    from evotune.backends.dask import DaskBackend
    from evotune.backends.factory import get_backend
    from evotune.backends.process import ProcessPoolBackend
    from evotune.backends.ray import RayBackend
    from evotune.backends.serial import SerialBackend

_EXPORTS = {
    "Backend": "evotune.backends.base",
    "BaseBackend": "evotune.backends.base",
    "DaskBackend": "evotune.backends.dask",
    "ProcessPoolBackend": "evotune.backends.process",
    "RayBackend": "evotune.backends.ray",
    "SerialBackend": "evotune.backends.serial",
    "as_backend": "evotune.backends.base",
    "get_backend": "evotune.backends.factory",
}

__all__ = [
    "Backend",
    "BaseBackend",
    "DaskBackend",
    "ProcessPoolBackend",
    "RayBackend",
    "SerialBackend",
    "as_backend",
    "get_backend",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evotune.backends' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
