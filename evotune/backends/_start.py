"""How the process pool starts a worker: without re-running the user's script,
and knowing which of this process's files a forked copy must let go of."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["main_module_hidden", "open_fds"]


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """Start a worker without it re-running the user's script.

    A spawned child normally imports the parent's ``__main__`` first, so a
    script without an ``if __name__ == "__main__":`` guard would start its
    search again in every worker. The objective reaches the workers pickled
    by value (dill), so they never need ``__main__``: hide it while starting.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def open_fds() -> list[int]:
    """This process's open file descriptors (Linux; empty elsewhere)."""
    try:
        return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    except OSError:
        return []
