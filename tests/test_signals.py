"""Signals (evotune/_signals.py): SIGTERM and SIGINT become an ``Interrupted``
(a KeyboardInterrupt) inside the block, the old handlers come back after it,
and while cleaning up a second signal ends the process at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from evotune._signals import Interrupted, exit_on_second_signal, sigterm_interrupts

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # generous: the children only import evotune._signals


def _wait_for_signal() -> None:
    """Run bytecode until a pending handler raises (it runs between instructions)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.01)
    pytest.fail("the signal was never delivered as an exception")


@pytest.fixture
def own_handlers():
    """Known handlers for SIGTERM and SIGINT, put back after the test."""

    def term(signum, frame):  # pragma: no cover - only compared
        pass

    def intr(signum, frame):  # pragma: no cover - only compared
        pass

    old_term = signal.signal(signal.SIGTERM, term)
    old_int = signal.signal(signal.SIGINT, intr)
    try:
        yield term, intr
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)]
)
def test_a_signal_inside_the_block_raises_interrupted(own_handlers, signum, code):
    with pytest.raises(KeyboardInterrupt) as info, sigterm_interrupts():
        os.kill(os.getpid(), signum)
        _wait_for_signal()
    exc = info.value
    assert isinstance(exc, Interrupted)
    assert exc.signum == signum
    assert exc.exit_code == code
    assert str(exc) == signal.Signals(signum).name


def test_the_handlers_are_restored_after_a_clean_exit(own_handlers):
    term, intr = own_handlers
    with sigterm_interrupts():
        assert signal.getsignal(signal.SIGTERM) is not term
        assert signal.getsignal(signal.SIGINT) is not intr
    assert signal.getsignal(signal.SIGTERM) is term
    assert signal.getsignal(signal.SIGINT) is intr


def test_the_handlers_are_restored_after_an_interrupt(own_handlers):
    term, intr = own_handlers
    with pytest.raises(Interrupted), sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        _wait_for_signal()
    assert signal.getsignal(signal.SIGTERM) is term
    assert signal.getsignal(signal.SIGINT) is intr


def test_the_handlers_are_restored_after_another_error(own_handlers):
    term, intr = own_handlers
    for context in (sigterm_interrupts, exit_on_second_signal):
        with pytest.raises(ZeroDivisionError), context():
            1 / 0  # noqa: B018
        assert signal.getsignal(signal.SIGTERM) is term
        assert signal.getsignal(signal.SIGINT) is intr


def test_outside_the_main_thread_nothing_is_installed(own_handlers):
    term, _ = own_handlers
    seen: list[object] = []

    def work() -> None:
        try:
            for context in (sigterm_interrupts, exit_on_second_signal):
                with context():
                    seen.append(signal.getsignal(signal.SIGTERM))
        except BaseException as exc:  # signal.signal off the main thread: ValueError
            seen.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert seen == [term, term]
    assert signal.getsignal(signal.SIGTERM) is term


def test_interrupted_is_a_keyboard_interrupt_with_an_exit_code():
    exc = Interrupted(signal.SIGTERM)
    assert isinstance(exc, KeyboardInterrupt)
    assert exc.exit_code == 143
    assert Interrupted().signum == signal.SIGINT and Interrupted().exit_code == 130


# ---- real processes ------------------------------------------------------------

# A child that stops like the run loop does: the first signal interrupts the
# work, the cleanup runs under exit_on_second_signal, and the cleanup sends
# itself a second signal (as an impatient user would) when SECOND is set.
CHILD = textwrap.dedent(
    """
    import atexit, os, signal, sys, time
    from evotune._signals import Interrupted, exit_on_second_signal, sigterm_interrupts

    first, second = int(sys.argv[1]), int(sys.argv[2])
    atexit.register(lambda: print("atexit ran", flush=True))
    try:
        with sigterm_interrupts():
            print("working", flush=True)
            if first:
                os.kill(os.getpid(), first)
            else:
                sys.stdin.readline()  # the parent signals us while we wait
            time.sleep(30)
            print("not interrupted", flush=True)
    except KeyboardInterrupt as exc:
        print(f"interrupted {type(exc).__name__} {exc}", flush=True)
        try:
            with exit_on_second_signal():
                print("cleaning up", flush=True)
                if second:
                    os.kill(os.getpid(), second)
                    time.sleep(30)
                print("cleaned up", flush=True)
        finally:
            print("finally ran", flush=True)
        sys.exit(exc.exit_code)
    """
)


def _child(first: int, second: int, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(first), str(second)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _run(first: int, second: int) -> tuple[int, list[str], str]:
    proc = _child(first, second)
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out.splitlines(), err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_one_signal_lets_the_cleanup_finish(signum):
    code, lines, err = _run(signum, 0)
    name = signal.Signals(signum).name
    assert lines == [
        "working",
        f"interrupted Interrupted {name}",
        "cleaning up",
        "cleaned up",
        "finally ran",
        "atexit ran",
    ], err
    assert code == 128 + signum


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (signal.SIGTERM, signal.SIGTERM),
        (signal.SIGINT, signal.SIGINT),
        (signal.SIGINT, signal.SIGTERM),
        (signal.SIGTERM, signal.SIGINT),
    ],
)
def test_a_second_signal_during_the_cleanup_exits_at_once(first, second):
    code, lines, err = _run(first, second)
    # no "cleaned up", no finally block, no atexit handler: os._exit
    assert lines == [
        "working",
        f"interrupted Interrupted {signal.Signals(first).name}",
        "cleaning up",
    ], err
    assert code == 128 + second


def test_sigterm_from_another_process_interrupts_the_block():
    proc = _child(0, 0, stdin=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "working\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.splitlines()[0] == "interrupted Interrupted SIGTERM", err
    assert "not interrupted" not in out
    assert proc.returncode == 143


def test_without_the_context_sigterm_kills_the_process():
    # the control: a plain process dies of SIGTERM, with no cleanup at all
    script = "import sys, time; print('up', flush=True); sys.stdin.readline(); time.sleep(30)"
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "up\n"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM


# ---- Ctrl-C in a user's script: evolve without a checkpoint ---------------------

# A user's script: a plain objective that notes each call in a file (so the
# test knows when evaluations have finished), no checkpoint. With CATCH, it
# catches the KeyboardInterrupt and prints what the partial result holds.
USER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from evotune import Float, evolve

    def objective(p):
        time.sleep(0.02)
        with open(sys.argv[1], "a") as fh:
            fh.write("done\\n")
        return -(p["x"] - 0.3) ** 2

    def run():
        return evolve(objective, {"x": Float(-1, 1)}, population_size=4, generations=100000,
                      strategy="ga", random_state=0)

    if sys.argv[2] == "catch":
        try:
            run()
        except KeyboardInterrupt as e:
            print("kept", len(e.result.history), e.result.stop_reason, flush=True)
            print("best", e.result.best_score, flush=True)
            raise
    else:
        run()
    """
)


def _shell_status(returncode: int) -> int:
    """The exit status as a shell shows it: 128 + N for a death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _interrupt_user_script(tmp_path: Path, mode: str) -> tuple[int, str, str, int]:
    calls = tmp_path / f"calls-{mode}"
    proc = subprocess.Popen(
        [sys.executable, "-c", USER_SCRIPT, str(calls), mode],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # generous: the child imports evotune first
        while time.monotonic() < deadline and proc.poll() is None:
            if calls.exists() and calls.read_text().count("done") >= 10:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err, calls.read_text().count("done")


def test_ctrl_c_in_a_script_exits_130_with_one_line_of_what_was_kept(tmp_path):
    code, _out, err, n_calls = _interrupt_user_script(tmp_path, "plain")
    plain = subprocess.run([sys.executable, "-c", "raise KeyboardInterrupt"], capture_output=True)
    # as plain Python's Ctrl-C: the same exit (130 in a shell), not an error's 1
    assert code == plain.returncode, err
    assert _shell_status(code) == 130
    last = err.strip().splitlines()[-1]
    assert last.startswith("KeyboardInterrupt: run interrupted: "), err
    kept = int(last.split("run interrupted: ")[1].split()[0])
    # the signal came after 10 calls had written their line; the last of them
    # may not have returned yet (CI saw 9 of 10 kept under load)
    assert n_calls >= 10 and n_calls - 1 <= kept <= n_calls
    assert "; best " in last and "'x':" in last
    assert "evotune._signals.Interrupted" not in err


def test_ctrl_c_in_a_script_leaves_the_partial_result_on_the_exception(tmp_path):
    code, out, err, n_calls = _interrupt_user_script(tmp_path, "catch")
    assert _shell_status(code) == 130, err
    lines = out.splitlines()
    assert lines[0].startswith("kept "), (out, err)
    _, kept, reason = lines[0].split()
    # every evaluation that finished is in the history, those of the
    # generation the signal cut included (an objective call may have ended
    # just after its last fold was stopped: at most one is not kept)
    assert n_calls - 1 <= int(kept) <= n_calls
    # the signal came after 10 calls had written their line; the 10th may not
    # have returned yet (CI saw kept 9 of 10 under load)
    assert n_calls >= 10 and int(kept) >= 9
    assert reason == "interrupted"
    assert -1.0 <= float(lines[1].split()[1]) <= 0.0
