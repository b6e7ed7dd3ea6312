"""The store lock, the daemon lock and the sink's file lock: held by real processes, refused when unsafe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from syncd.errors import SyncdError
from syncd.lock import StoreLocked, daemon_lock, file_lock, holder_pid, lock_path, store_lock


def _holder(store: Path, which: str = "store_lock", extra: str = "") -> subprocess.Popen:
    """A separate process that takes the lock, says so on stdout, and sleeps."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from syncd.lock import {which}
        args = (Path({str(store)!r}), False) if {which!r} == "store_lock" else (Path({str(store)!r}),)
        with {which}(*args):
            print("locked", flush=True)
            {extra or "time.sleep(30)"}
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.mark.slow  # a real holder process
def test_lock_is_exclusive_across_processes_and_names_the_holder(tmp_path: Path) -> None:
    store = tmp_path / "data" / "syncd.db"
    holder = _holder(store)
    try:
        with pytest.raises(StoreLocked) as caught, store_lock(store, wait=False):
            pass
        assert caught.value.pid == holder.pid
        assert str(caught.value) == f"another syncd is syncing this store (pid {holder.pid})"
        assert caught.value.exit_code == 1
        assert holder_pid(lock_path(store)) == holder.pid
    finally:
        _end(holder)


@pytest.mark.slow  # a real holder process
@pytest.mark.timeout(60)  # never giving up fails here
def test_wait_with_timeout_gives_up_after_the_timeout(tmp_path: Path) -> None:
    store = tmp_path / "syncd.db"
    holder = _holder(store)
    try:
        started = time.monotonic()
        with pytest.raises(StoreLocked) as caught, store_lock(store, wait=True, timeout=0.4):
            pass
        waited = time.monotonic() - started
        assert waited >= 0.35  # it did wait for the holder before giving up
        assert "gave up waiting after 0.4s" in str(caught.value)
    finally:
        _end(holder)


@pytest.mark.slow  # a real holder process
def test_wait_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    store = tmp_path / "syncd.db"
    holder = _holder(store, extra="time.sleep(0.5)")
    try:
        started = time.monotonic()
        with store_lock(store, wait=True, timeout=10):
            assert holder_pid(lock_path(store)) == os.getpid()
            assert time.monotonic() - started >= 0.2
        assert holder.wait(5) == 0
    finally:
        _end(holder)


@pytest.mark.slow  # a real holder process
def test_kill_9_releases_the_lock(tmp_path: Path) -> None:
    store = tmp_path / "syncd.db"
    holder = _holder(store)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with store_lock(store, wait=False):  # the kernel dropped the flock with the process
        pass
    assert lock_path(store).exists()  # lock files are never removed (unlink races with lockers)


@pytest.mark.slow  # a real holder process
def test_daemon_lock_and_store_lock_are_independent(tmp_path: Path) -> None:
    """The daemon holds its own lock for life; a `sync` can still take the store lock between cycles."""
    store = tmp_path / "syncd.db"
    holder = _holder(store, which="daemon_lock")
    try:
        with store_lock(store, wait=False):
            pass
        with pytest.raises(StoreLocked) as caught, daemon_lock(store):
            pass
        assert str(caught.value) == f"another syncd is running (pid {holder.pid})"
    finally:
        _end(holder)


def test_lock_file_is_private_and_released_on_exit(tmp_path: Path) -> None:
    store = tmp_path / "new" / "syncd.db"
    with store_lock(store, wait=False) as path:
        assert path == tmp_path / "new" / "syncd.db.lock"
        assert path.stat().st_mode & 0o777 == 0o600
        # flock is per open file: a second open in-process conflicts too
        with pytest.raises(StoreLocked), store_lock(store, wait=False):
            pass
    assert holder_pid(lock_path(store)) is None
    with store_lock(store, wait=False):
        pass


LOCKS = {
    "store": lambda store: store_lock(store, wait=False),
    "daemon": daemon_lock,
    "file": lambda store: file_lock(lock_path(store), 1.0, "busy"),
}
LOCK_FILES = {"store": ".lock", "daemon": ".daemon.lock", "file": ".lock"}


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path: Path, which: str) -> None:
    store = tmp_path / "syncd.db"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = lock_path(store, LOCK_FILES[which])
    link.symlink_to(victim)
    with pytest.raises(SyncdError) as caught, LOCKS[which](store):
        pytest.fail("locked through a symlink")
    message = str(caught.value)
    assert str(link) in message and "symbolic link" in message and "\n" not in message
    assert victim.read_text() == "precious\n"
    assert link.is_symlink()


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_a_dangling_symlinked_lock_file_creates_nothing(tmp_path: Path, which: str) -> None:
    store = tmp_path / "syncd.db"
    target = tmp_path / "elsewhere" / "created-by-syncd"
    (tmp_path / "elsewhere").mkdir()
    lock_path(store, LOCK_FILES[which]).symlink_to(target)
    with pytest.raises(SyncdError, match="symbolic link"), LOCKS[which](store):
        pass
    assert not target.exists()


def test_a_lock_path_that_is_not_a_regular_file_is_a_one_line_error(tmp_path: Path) -> None:
    fifo_store, folder_store = tmp_path / "a.db", tmp_path / "b.db"
    os.mkfifo(lock_path(fifo_store))
    lock_path(folder_store).mkdir()
    for store in (fifo_store, folder_store):
        with pytest.raises(SyncdError) as caught, store_lock(store, wait=False):
            pass
        assert str(lock_path(store)) in str(caught.value) and "\n" not in str(caught.value)


def test_a_lock_that_cannot_be_created_names_the_file_and_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(SyncdError) as caught, daemon_lock(blocker / "syncd.db"):
        pass
    message = str(caught.value)
    assert str(blocker / "syncd.db.daemon.lock") in message and "make" in message and "\n" not in message
    assert caught.value.exit_code == 1


@pytest.mark.slow  # a real holder process
def test_file_lock_waits_for_the_holder_then_gives_up_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "holds.ics.lock"
    holder = _holder(tmp_path / "holds.ics")  # store_lock of "holds.ics" is "holds.ics.lock"
    try:
        with pytest.raises(StoreLocked) as caught, file_lock(target, 0.3, "another syncd is writing holds.ics"):
            pass
        assert str(caught.value) == f"another syncd is writing holds.ics (pid {holder.pid}); gave up waiting after 0.3s"
    finally:
        _end(holder)
    with file_lock(target, 0.3, "busy") as held:
        assert held == target and holder_pid(target) == os.getpid()
