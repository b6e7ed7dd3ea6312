"""The one interface every source implements, and the errors it may raise.

A source reads; it never decides anything about contacts. `sync` yields Batches, each
carrying the cursor that covers it, so the engine can commit rows and cursor together
and a source resumes where an interrupted sync stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable, Iterator

from syncd.errors import CursorInvalid, NeedsAuth, SourceError
from syncd.records import Batch

__all__ = [
    "Batch",
    "CursorInvalid",
    "NeedsAuth",
    "Source",
    "SourceError",
    "SyncContext",
    "display_path",
    "file_signature",
]

log = logging.getLogger("syncd.sources")


@dataclass
class SyncContext:
    now: datetime
    since: datetime  # the look-back bound of a first sync
    until: datetime  # how far ahead calendars are expanded
    tz: tzinfo
    known_ids: Callable[[str | None], set[str]] = field(default=lambda scope: set())
    progress: Callable[[str], None] = field(default=lambda message: None)
    interactive: bool = False  # a person started this sync (`syncd sync`): a long read may show a live line


class Source(Protocol):
    name: str
    kind: str

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]: ...


def display_path(path: Path) -> str:
    """Paths in source names read the way the user wrote them (`~/cal/work.ics`)."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home) :] if text == home or text.startswith(home + "/") else text


def file_signature(path: Path) -> list[int]:
    """Size and modification time, kept in a cursor: an unchanged file (or Maildir folder) is not read again."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]
