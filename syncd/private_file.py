"""Writing a file only its owner may read, whole or not at all: tokens, the holds calendar."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, 0600 from the first byte (folder 0700 if new).

    The bytes go to a temporary file beside `path` (mkstemp creates it 0600), reach the
    disk, and are renamed over `path`; the folder is synced after, so a crash or a reader
    sees the old file or the new one, never half of either. OSError is the caller's to word.
    """
    folder = Path(path).parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{Path(path).name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename stands; only its durability is best effort here
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
