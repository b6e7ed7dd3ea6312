"""What went wrong with the store, in one line that names the file and says what to do.

SQLite reports a full disk, a read-only file or a damaged one by result code, and the file
system by errno; both are turned into the same advice here, at the store's boundary.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from syncd.errors import StoreError

# Below this much free space a failed write is a full disk, whatever SQLite called it
# (it often says "disk I/O error" when the WAL cannot grow).
NEARLY_FULL_BYTES = 1 << 20

READ_ONLY = "it is read-only: make the file and its folder writable by you"
FULL = "the disk is full: free some space, then run syncd again"
DAMAGED = "it is damaged: restore a backup, or move it aside and run `syncd sync` to rebuild it from your sources"
CANNOT_OPEN = "it cannot be opened: check that its folder exists and is writable"
BUSY = "another program holds it: try again in a moment"
DISK = "the disk reported an error: check the disk, then run syncd again"
UNKNOWN = "check the file and its folder"

_BY_SQLITE_CODE = {
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_PERM": READ_ONLY,
    "SQLITE_AUTH": READ_ONLY,
    "SQLITE_FULL": FULL,
    "SQLITE_CORRUPT": DAMAGED,
    "SQLITE_NOTADB": DAMAGED,
    "SQLITE_CANTOPEN": CANNOT_OPEN,
    "SQLITE_BUSY": BUSY,
    "SQLITE_LOCKED": BUSY,
    "SQLITE_IOERR": DISK,
}
_BY_ERRNO = {
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
    errno.EROFS: READ_ONLY,
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.ENOENT: CANNOT_OPEN,
    errno.ENOTDIR: CANNOT_OPEN,
    errno.EISDIR: CANNOT_OPEN,
}


def store_error(path: Path, error: sqlite3.Error | OSError, failed: str = "the store failed") -> StoreError:
    """One line naming the store, what `failed`, why and what to do, for any SQLite or file error met on it."""
    if isinstance(error, OSError):
        detail = error.strerror or str(error)
        advice = _BY_ERRNO.get(error.errno or 0, UNKNOWN)
    else:
        detail = str(error)
        code = getattr(error, "sqlite_errorname", "") or ""
        advice = next((text for prefix, text in _BY_SQLITE_CODE.items() if code.startswith(prefix)), UNKNOWN)
    if advice in (DISK, UNKNOWN) and _nearly_full(Path(path)):
        advice = FULL
    return StoreError(f"{path}: {failed}: {detail}; {advice}")


def _nearly_full(path: Path) -> bool:
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < NEARLY_FULL_BYTES
