"""Where tasks run, behind one small executor-style protocol.

:class:`Backend` is the protocol (start, submit, wait, shutdown);
:class:`SerialBackend` runs tasks in the calling process;
:class:`~evotune.backends.dask.DaskBackend` runs them on a Dask cluster (it is
imported on first use, so importing this package never imports Dask).
:func:`get_backend` turns the user's ``n_jobs`` / ``backend`` arguments into a
backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evotune.backends.base import Backend, get_backend
from evotune.backends.serial import SerialBackend

if TYPE_CHECKING:
    from evotune.backends.dask import DaskBackend

__all__ = ["Backend", "DaskBackend", "SerialBackend", "get_backend"]


def __getattr__(name: str) -> Any:
    if name == "DaskBackend":
        from evotune.backends.dask import DaskBackend

        globals()[name] = DaskBackend
        return DaskBackend
    raise AttributeError(f"module 'evotune.backends' has no attribute {name!r}")
