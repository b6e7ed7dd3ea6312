"""Real read-only files and real full disks for the abuse tests, without a subprocess.

As root, `chmod 0444` stops nobody, so a read-only file or folder is a read-only bind
mount; a full disk is a small tmpfs. Both go through libc's mount(2) directly (fast, no
`mount` binary needed); where mounting is not allowed the test is skipped. As an
ordinary user, read-only is plain `chmod`, exactly what a user would do.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MNT_DETACH = 2  # lazy: never leaves a mount behind, even while a file in it is still open

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(source: str | None, target: Path, kind: str | None, flags: int, options: str | None = None) -> None:
    encoded = [None if value is None else value.encode() for value in (source, str(target), kind, options)]
    if _libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]) != 0:
        code = ctypes.get_errno()
        if code in (errno.EPERM, errno.EACCES):
            pytest.skip(f"cannot mount here ({os.strerror(code)})")
        raise OSError(code, os.strerror(code), str(target))


def _unmount(target: Path) -> None:
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` (a file or a folder) cannot be written by this process for the duration."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield path
        finally:
            path.chmod(mode)
        return
    _mount(str(path), path, None, MS_BIND)
    try:
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        yield path
    finally:
        _unmount(path)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (root only; skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", folder, "tmpfs", 0, f"size={size},mode=0700")
    try:
        yield folder
    finally:
        _unmount(folder)


def fill(folder: Path) -> None:
    """Write zeros into `folder` until its file system has no block left."""
    with open(folder / "filler", "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while handle.write(b"\0" * 4096):
            pass
