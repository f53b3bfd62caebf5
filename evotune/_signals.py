"""Turning SIGTERM into a clean stop, and making a second signal exit at once."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, Ctrl-C (SIGINT) and SIGTERM raise :class:`Interrupted`,
    which remembers the signal for the exit status (130 or 143)."""
    if not _main_thread():
        yield
        return

    def on_signal(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    old_term = signal.signal(signal.SIGTERM, on_signal)
    old_int = signal.signal(signal.SIGINT, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


@contextmanager
def exit_on_second_signal() -> Iterator[None]:
    """While cleaning up after a first signal, a second one exits at once."""
    if not _main_thread():
        yield
        return

    def now(signum: int, frame: Any) -> None:
        os._exit(128 + signum)

    old_int = signal.signal(signal.SIGINT, now)
    old_term = signal.signal(signal.SIGTERM, now)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
