"""The Ray backend's hold on its helper process, which is the Ray driver.

:class:`RayLink` starts the helper (:mod:`evotune.backends._ray_helper`), hands
it the objective, sends it tasks and cancellations and brings back, through one
pipe, what the helper reports; it tells a lost cluster apart (the helper gone,
or the head's port closed) and stops the helper, so the local Ray it started,
at the end. It knows nothing of queues, deadlines or retries: that is the
backend's job (:mod:`evotune.backends.ray`). Nothing here imports Ray.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import weakref
from multiprocessing.connection import Connection
from typing import Any

from evotune.backends.base import SchedulerLostError

_RESUME = (
    "The run's journal is intact: every fold that finished is kept. Resume the run with "
    "`evotune resume RUN_DIR` or evolve(..., checkpoint=RUN_DIR, resume=True), on any "
    "backend (backend='process' runs it on this machine)."
)


class RayClusterLostError(SchedulerLostError):
    """The Ray cluster's head (or the backend's Ray driver) was lost in the
    middle of a run; a kind of :class:`~evotune.backends.base.SchedulerLostError`,
    so callers that catch that one (the CLI: exit code 1) catch it too."""


class RayUnreachableError(RuntimeError):
    """No connection to the Ray cluster at ``address`` could be made (a run
    that never started, unlike :class:`RayClusterLostError`)."""


def host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``HOST:PORT`` or ``ray://HOST:PORT`` address, else None."""
    rest = address.removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not (colon and host and "/" not in host and port.isdigit() and 1 <= int(port) <= 65535):
        return None
    return host, int(port)


def check_ray_address(address: Any, name: str = "address") -> str | None:
    """``address`` if it names a Ray cluster: None (a local Ray), ``"auto"``,
    ``"HOST:PORT"`` (the head's GCS) or ``"ray://HOST:PORT"`` (Ray Client).

    Only the form is checked; nothing is contacted.

    Examples
    --------
    >>> check_ray_address("10.0.0.5:6379"), check_ray_address("auto")
    ('10.0.0.5:6379', 'auto')
    >>> check_ray_address("10.0.0.5")
    Traceback (most recent call last):
    ...
    ValueError: address must be None (start a local Ray), 'auto' (the cluster started on \
this machine with `ray start`), 'HOST:PORT' (the head's GCS, e.g. '10.0.0.5:6379') or \
'ray://HOST:PORT' (Ray Client, e.g. 'ray://10.0.0.5:10001'), got '10.0.0.5'
    """
    if address is None or address == "auto":
        return address
    if not (isinstance(address, str) and host_port(address) is not None):
        raise ValueError(
            f"{name} must be None (start a local Ray), 'auto' (the cluster started on this "
            "machine with `ray start`), 'HOST:PORT' (the head's GCS, e.g. '10.0.0.5:6379') or "
            f"'ray://HOST:PORT' (Ray Client, e.g. 'ray://10.0.0.5:10001'), got {address!r}"
        )
    return address


def refused(target: tuple[str, int], timeout: float) -> str | None:
    """Why ``target`` takes no TCP connection within ``timeout`` seconds, or None."""
    try:
        with socket.create_connection(target, timeout=timeout):
            return None
    except OSError as exc:
        return "no answer" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _helper_env(address: str | None) -> dict[str, str]:
    from evotune.backends._ray_helper import LOOPBACK_ENV, QUIET_ENV

    env = {**os.environ, **QUIET_ENV}
    target = host_port(address) if address not in (None, "auto") else None
    if address is None or (target is not None and _is_loopback(target[0])):
        env.update(LOOPBACK_ENV)
    # the workers of the local Ray import what the user's process imports
    paths = [os.path.abspath(p) for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class RayLink:
    """One backend's helper process, from :meth:`open` to :meth:`close`.

    Attributes
    ----------
    helper : subprocess.Popen or None
        The helper process, while open.
    cpus : int
        The cluster's CPUs, when last counted (at least 1).
    probe : tuple of (str, int) or None
        Where the head listens: the port a lost head closes.
    """

    def __init__(self) -> None:
        self.helper: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.cpus = 1
        self.probe: tuple[str, int] | None = None
        self.address: str | None = None
        self._in: Connection | None = None
        self._out: Connection | None = None
        self._finalizer: Any = None
        self._lost = False

    @property
    def where(self) -> str:
        """The cluster, for messages."""
        if self.address is None:
            shown = f"{self.probe[0]}:{self.probe[1]}" if self.probe else "127.0.0.1"
            return f"the local Ray cluster at {shown}"
        return f"the Ray cluster at address {self.address!r}"

    # ------------------------------------------------------------ opening
    def open(self, address: str | None, payload: bytes, settings: dict[str, Any]) -> None:
        """Start the helper, which starts or joins Ray and puts the objective
        into its object store; wait ``settings["startup_timeout"]`` seconds for it."""
        timeout = float(settings["startup_timeout"])
        self.address = address
        target = host_port(address) if address not in (None, "auto") else None
        if target is not None:
            why = refused(target, timeout)
            if why is not None:
                raise RayUnreachableError(
                    f"RayBackend: cannot reach the Ray cluster at address {address!r} ({why} "
                    f"within {timeout:g} s, startup_timeout); is `ray start --head` running there?"
                )
        self.token = uuid.uuid4().hex[:12]
        self._start_helper(address)
        assert self._out is not None
        self._out.send(("init", {**settings, "address": address, "token": self.token}, payload))
        reply = self._hello(timeout)
        if reply[0] != "ready":
            self.close()
            what = "start a local Ray" if address is None else f"connect to address {address!r}"
            raise RayUnreachableError(f"RayBackend: could not {what}: {reply[1]}")
        info = reply[1]
        self.cpus = max(1, int(info["cpus"]))
        gcs = host_port(str(info.get("gcs_address") or ""))
        self.probe = target or gcs

    def _start_helper(self, address: str | None) -> None:
        to_helper_r, to_helper_w = os.pipe()
        from_helper_r, from_helper_w = os.pipe()
        code = (
            "import sys; sys.path[:] = [p for p in sys.path if p]; "
            "from evotune.backends._ray_helper import main; "
            "main(*map(int, sys.argv[1:]))"
        )
        try:
            self.helper = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(to_helper_r),
                    str(from_helper_w),
                    str(os.getpid()),
                ],
                pass_fds=(to_helper_r, from_helper_w),
                stdin=subprocess.DEVNULL,
                env=_helper_env(address),
                start_new_session=True,
            )
        finally:
            os.close(to_helper_r)
            os.close(from_helper_w)
        self._out = Connection(to_helper_w, readable=False)
        self._in = Connection(from_helper_r, writable=False)
        # stops the helper (so the local Ray) if the link is dropped without close()
        self._finalizer = weakref.finalize(self, _stop, self.helper, self._out, self._in)

    def _hello(self, timeout: float) -> tuple[Any, ...]:
        assert self._in is not None and self.helper is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self._in.poll(0.25):
                    return tuple(self._in.recv())
            except (EOFError, OSError):
                break
            if self.helper.poll() is not None:
                with contextlib.suppress(EOFError, OSError):
                    if self._in.poll(0):
                        return tuple(self._in.recv())
                break
        if self.helper.poll() is None:
            hint = (
                ""
                if self.address is None
                else (
                    "; a cluster with token authentication needs RAY_AUTH_MODE=token in the "
                    "environment, as Ray asks of every driver"
                )
            )
            return ("error", f"it did not answer within {timeout:g} s (startup_timeout){hint}")
        return ("error", f"its process exited with code {self.helper.returncode}")

    # -------------------------------------------------------------- tasks
    def send(self, message: tuple[Any, ...]) -> None:
        """Send a message to the helper; a helper gone is a lost cluster."""
        try:
            assert self._out is not None
            self._out.send(message)
        except (OSError, ValueError, AssertionError) as exc:
            self.lost(f"its Ray driver process is gone ({type(exc).__name__})")

    def receive(self, timeout: float) -> list[tuple[Any, ...]]:
        """What the helper reported, after up to ``timeout`` seconds for a first message."""
        assert self._in is not None
        items: list[tuple[Any, ...]] = []
        try:
            ready = self._in.poll(timeout)
            while ready:
                items.append(tuple(self._in.recv()))
                ready = self._in.poll(0)
        except (EOFError, OSError):
            if not items:
                self.lost("its Ray driver process exited")
        return items

    def check(self, pending: int) -> None:
        """Raise :class:`RayClusterLostError` unless the helper runs and the head's
        port takes a connection."""
        if self.helper is None or self.helper.poll() is not None:
            self.lost("its Ray driver process exited", pending)
        if self.probe is not None:
            why = refused(self.probe, 10.0)
            if why is not None:
                self.lost(f"its head at {self.probe[0]}:{self.probe[1]}: {why}", pending)

    def lost(self, why: str, pending: int | None = None) -> None:
        self._lost = True
        waiting = "" if pending is None else f"; {pending} task(s) were queued or running"
        raise RayClusterLostError(f"RayBackend lost {self.where} ({why}{waiting}). {_RESUME}")

    # ------------------------------------------------------------ closing
    def close(self) -> None:
        """Stop the helper: it cancels its tasks and lets go of Ray (the local
        Ray it started is shut down, with every process of it). Can be opened again.

        After a lost cluster the helper is killed at once, with what it
        started: its Ray would wait long for the lost head to answer.
        """
        if self._lost and self.helper is not None:
            _kill_tree(self.helper.pid)
        self._lost = False
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self.helper = None
        self._in = self._out = None
        self.probe = None


def _kill_tree(pid: int) -> None:
    """Kill a process and every process below it."""
    try:
        import psutil

        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except Exception:
        tree = []
    for proc in tree:
        with contextlib.suppress(Exception):
            proc.kill()
    if not tree:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _stop(helper: subprocess.Popen[bytes], out: Connection, inbox: Connection) -> None:
    """Ask the helper to close, then make sure it and its session are gone."""
    if helper.poll() is None:
        with contextlib.suppress(Exception):
            out.send(("close",))
        end = time.monotonic() + 30.0
        while helper.poll() is None and time.monotonic() < end:
            with contextlib.suppress(Exception):
                if inbox.poll(0.1):
                    inbox.recv()  # what it still reports; its "closed" last
                    continue
            time.sleep(0.02)
    for conn in (out, inbox):
        with contextlib.suppress(Exception):
            conn.close()
    if helper.poll() is None:
        helper.kill()
        with contextlib.suppress(Exception):
            helper.wait(timeout=5)
    # what the helper started and left behind (a local Ray's servers share its session)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(helper.pid, signal.SIGKILL)
