"""Turning SIGTERM into a clean stop, making a second signal exit at once, and
handing the caller what an interrupted run kept."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM).

    A run stopped by SIGTERM raises it to the caller with ``result``, the
    partial :class:`~evotune.Result` (Ctrl-C raises a plain
    ``KeyboardInterrupt`` instead: see :func:`with_result`).
    """

    result: Any = None

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


def with_result(exc: KeyboardInterrupt, result: Any, line: str) -> KeyboardInterrupt:
    """The exception an interrupted run raises to its caller, ``result`` (what
    it kept) attached as its attribute ``result``.

    For Ctrl-C (SIGINT) it is a plain ``KeyboardInterrupt`` whose message is
    ``line``: Python exits with status 130 only when the uncaught exception is
    exactly ``KeyboardInterrupt``, not a subclass such as :class:`Interrupted`.
    The traceback is ``exc``'s, so it still shows where the run was stopped.
    For SIGTERM it is ``exc`` itself (its message, the signal's name, is what
    the command line prints), with ``line`` as a note where Python has notes.

    Examples
    --------
    >>> exc = with_result(KeyboardInterrupt(), [1, 2], "2 evaluations kept")
    >>> type(exc).__name__, str(exc), exc.result
    ('KeyboardInterrupt', '2 evaluations kept', [1, 2])
    """
    if isinstance(exc, Interrupted) and exc.signum != signal.SIGINT:
        exc.result = result
        if hasattr(exc, "add_note"):  # Python 3.11 and later
            exc.add_note(line)
        return exc
    plain = KeyboardInterrupt(line)
    plain.result = result  # type: ignore[attr-defined]
    return plain.with_traceback(exc.__traceback__)
