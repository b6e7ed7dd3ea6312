"""What the daemon looks at between cycles: has the config file changed, is the store still the file it opened."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigFingerprint:
    """mtime, size and content hash: an editor that keeps mtime and size still changes the hash."""

    mtime_ns: int
    size: int
    digest: str

    @classmethod
    def of(cls, path: Path) -> ConfigFingerprint | None:
        """None when the file cannot be read (deleted, a permission change); the caller decides what that means."""
        try:
            stat = os.stat(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        return cls(stat.st_mtime_ns, stat.st_size, digest)

    def same_content(self, other: ConfigFingerprint | None) -> bool:
        return other is not None and other.digest == self.digest


@dataclass(frozen=True)
class FileIdentity:
    """(device, inode) of the store file: a different pair or none means deleted or replaced under us."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return cls(stat.st_dev, stat.st_ino)
