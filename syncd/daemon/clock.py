"""The daemon's clock: real UTC time, or `--now`/SYNCD_NOW as the start of a clock that advances with real time.

The loop reads time only through a clock object (`now`, `monotonic`), so tests hand it a
fake one and run days of daemon life in milliseconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class DaemonClock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


@dataclass
class Clock:
    start: datetime | None = None
    _wall0: float = field(default_factory=time.time)

    def now(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        return self.start + timedelta(seconds=time.time() - self._wall0)

    def monotonic(self) -> float:
        return time.monotonic()
