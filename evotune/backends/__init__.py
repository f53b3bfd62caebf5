"""Where tasks run, behind one small executor-style protocol.

:class:`Backend` is the protocol (start, submit, wait, shutdown);
:class:`SerialBackend` runs tasks in the calling process. :func:`get_backend`
turns the user's ``n_jobs`` / ``backend`` arguments into a backend.
"""

from evotune.backends.base import Backend, get_backend
from evotune.backends.serial import SerialBackend

__all__ = ["Backend", "SerialBackend", "get_backend"]
