"""Advisory file locks next to the store, so two syncd processes never sync it at once.

Two locks, because they answer two different questions:

- `store_lock`: `<store>.lock`, held for the length of one sync cycle by whoever syncs
  (the daemon's jobs, `syncd sync`). A `sync` typed while the daemon is mid-cycle waits
  for that cycle, then runs its own.
- `daemon_lock`: `<store>.daemon.lock`, held by `syncd run` for its whole life: one
  daemon per store. A second `run` is refused at once.

Both are `flock` locks: the kernel drops them when the holder dies (kill -9 included),
so a stale lock file never blocks anyone. The files themselves are never removed
(unlinking a lock file races with a process about to lock it) and carry the holder's pid
for the error message only. `file_lock` is the same lock for any other file (the ICS
sink locks its holds file with it).

Lock files are opened with `O_NOFOLLOW` and must be regular files: syncd truncates its
lock file to write its pid, and a symlink planted there must not make it truncate
whatever the link points to. Every failure to open one is a one-line `SyncdError`
naming the file and what to do.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from syncd.errors import SyncdError

POLL_SECONDS = 0.1


class StoreLocked(SyncdError):
    """Another process holds the lock; exit code 1 (the command ran, the store is busy)."""

    exit_code = 1

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


def lock_path(store_path: Path, suffix: str = ".lock") -> Path:
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + suffix)


def holder_pid(path: Path) -> int | None:
    """The pid written by the current holder, if it can be read; for messages only."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _describe(what: str, pid: int | None, suffix: str) -> str:
    return (f"{what} (pid {pid})" if pid else what) + suffix


def _open_lock_file(path: Path) -> int:
    """Open (creating) a lock file without following a symlink; a one-line SyncdError otherwise."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SyncdError(
                f"{path}: the lock file is a symbolic link; syncd will not follow it (remove the link and retry)"
            ) from None
        raise SyncdError(
            f"{path}: cannot open the lock file ({error.strerror or error}); "
            f"make {path.parent} writable by you or move the file elsewhere in the config"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SyncdError(f"{path}: the lock file is not a regular file; remove it and retry")
    return fd


@contextmanager
def _flock(path: Path, wait: bool, timeout: float | None, what: str, suffix: str = "") -> Iterator[Path]:
    fd = _open_lock_file(path)
    try:
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise SyncdError(f"{path}: cannot lock: {error.strerror}") from None
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                pid = holder_pid(path)
                raise StoreLocked(_describe(what, pid, suffix), pid)
            time.sleep(POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic())))
        with suppress(OSError):  # the pid is for messages only; a full disk must not fail the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            with suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def store_lock(store_path: Path, wait: bool, timeout: float | None = None) -> Iterator[Path]:
    """Hold `<store>.lock` for one sync cycle.

    wait=False fails at once, wait=True polls until the lock is free or `timeout` seconds
    have passed (None: no limit). Raises StoreLocked naming the holder's pid.
    """
    path = lock_path(store_path)
    suffix = f"; gave up waiting after {timeout:g}s" if wait and timeout is not None else ""
    with _flock(path, wait, timeout, "another syncd is syncing this store", suffix) as held:
        yield held


@contextmanager
def daemon_lock(store_path: Path) -> Iterator[Path]:
    """Hold `<store>.daemon.lock` for the life of `syncd run`; never waits."""
    with _flock(lock_path(store_path, ".daemon.lock"), False, None, "another syncd is running") as held:
        yield held


@contextmanager
def file_lock(path: Path, timeout: float, what: str) -> Iterator[Path]:
    """Hold the lock file `path` for a read-modify-write of the file beside it.

    Waits up to `timeout` seconds for another holder (a concurrent writer is quick), then
    raises StoreLocked saying `what` is busy, with the holder's pid.
    """
    with _flock(Path(path), True, timeout, what, f"; gave up waiting after {timeout:g}s") as held:
        yield held
