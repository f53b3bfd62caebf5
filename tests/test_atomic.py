"""Atomic writes (evotune/_atomic.py): a reader sees the old file or the new
one, never half of one, and an error leaves the old file as it was."""

from __future__ import annotations

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evotune._atomic import atomic_open


def _entries(directory):
    return sorted(p.name for p in directory.iterdir())


def test_a_clean_exit_writes_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    with atomic_open(target) as fh:
        fh.write("first line\n")
        fh.write("second line\n")
    assert target.read_text() == "first line\nsecond line\n"
    assert _entries(tmp_path) == ["a.txt"]


def test_the_target_keeps_its_old_content_until_the_block_ends(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with atomic_open(target) as fh:
        fh.write("new content")
        fh.flush()
        # written and flushed, but not yet renamed: the target is still the old file
        assert target.read_text() == "old"
        # the data go to a temporary beside the target, a hidden name of its own
        others = [n for n in _entries(tmp_path) if n != "a.txt"]
        assert len(others) == 1 and others[0].startswith(".a.txt.")
    assert target.read_text() == "new content"
    assert _entries(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_an_error_keeps_the_old_file_and_removes_the_temporary(tmp_path, error):
    target = tmp_path / "a.txt"
    target.write_text("old content")
    with pytest.raises(type(error)), atomic_open(target) as fh:
        fh.write("half of the new")
        fh.flush()
        raise error
    assert target.read_text() == "old content"
    assert _entries(tmp_path) == ["a.txt"]


def test_an_error_on_a_new_path_creates_nothing(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(RuntimeError, match="stop"), atomic_open(target) as fh:
        fh.write("partial")
        raise RuntimeError("stop")
    assert not target.exists()
    assert _entries(tmp_path) == []


def test_the_file_is_replaced_by_a_rename_not_rewritten_in_place(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with open(target) as reader:  # a reader that opened the old file keeps reading it
        with atomic_open(target) as fh:
            fh.write("new")
        assert reader.read() == "old"
    assert target.read_text() == "new"


def test_binary_mode_and_missing_parent_directories(tmp_path):
    target = tmp_path / "deep" / "er" / "a.bin"
    payload = bytes(range(256)) * 4
    with atomic_open(target, "wb", fsync=False) as fh:
        fh.write(payload)
    assert target.read_bytes() == payload
    assert _entries(target.parent) == ["a.bin"]


@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet=st.sampled_from('ab,"é \r\n\t'), max_size=200))
def test_text_is_written_as_given_with_its_line_ends(tmp_path_factory, text):
    # newline="" in text mode: "\r\n" stays "\r\n" and "\n" stays "\n" (CSV and JSON)
    target = tmp_path_factory.mktemp("t") / "a.csv"
    with atomic_open(target) as fh:
        fh.write(text)
    with open(target, newline="") as fh:
        assert fh.read() == text


@settings(max_examples=25, deadline=None)
@given(old=st.binary(max_size=300), new=st.binary(max_size=300))
def test_after_the_block_the_file_is_exactly_the_new_bytes(tmp_path_factory, old, new):
    target = tmp_path_factory.mktemp("b") / "a.bin"
    target.write_bytes(old)
    with atomic_open(target, "wb") as fh:
        fh.write(new)
    assert target.read_bytes() == new


def test_a_concurrent_reader_never_sees_half_a_file(tmp_path):
    """A writer rewrites the file over and over with big, uniform contents; a
    reader in another thread checks each read is one whole version."""
    target = tmp_path / "big.txt"
    size = 1 << 20  # written in many chunks, so a plain write would be seen half-done
    chunk = 1 << 14
    target.write_text("a" * size)
    stop = threading.Event()
    errors: list[BaseException] = []
    writes = [0]

    def writer() -> None:
        try:
            letters = "bcdefghijklmnopqrstuvwxyz"
            while not stop.is_set():
                letter = letters[writes[0] % len(letters)]
                with atomic_open(target, fsync=False) as fh:
                    for _ in range(size // chunk):
                        fh.write(letter * chunk)
                writes[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    reads, seen = 0, set()
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline or writes[0] < 3:
            data = target.read_text()
            reads += 1
            assert len(data) == size, f"read {len(data)} of {size} characters"
            letters = set(data)
            assert len(letters) == 1, f"a mix of versions: {sorted(letters)}"
            seen |= letters
            if time.monotonic() > deadline + 15:
                break
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert writes[0] >= 3 and reads > 0
    assert len(seen) >= 2  # the reader did see the file change
    # the temporaries are gone once the writer stops
    assert _entries(tmp_path) == ["big.txt"]


def test_fsync_false_still_writes_through_a_rename(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    before = os.stat(target).st_ino
    with atomic_open(target, fsync=False) as fh:
        fh.write("new")
    assert target.read_text() == "new"
    assert os.stat(target).st_ino != before


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_an_atomic_file_follows_the_umask(tmp_path, mask):
    # before: mkstemp's 0600 whatever the umask, unlike the journal beside it
    old = os.umask(mask)
    try:
        with atomic_open(tmp_path / "a.csv") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.csv").st_mode & 0o777 == 0o666 & ~mask
