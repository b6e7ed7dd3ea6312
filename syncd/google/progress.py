"""Progress of a long Gmail sync: a live line on a terminal, a periodic log line otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from syncd.sources.base import SyncContext

log = logging.getLogger("syncd.sources.gmail")


class Progress:
    """A live line on a terminal (stderr), a log line every `every` seconds otherwise."""

    def __init__(self, name: str, context: SyncContext, every: float = 10.0, stream: Any = None):
        self.name = name
        self.context = context
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-6)
        text = f"{self.name}: {done} messages ({done / elapsed:.0f}/s)"
        self.context.progress(text)
        if self.tty:
            if final or now - self.last >= 0.2:
                self.last = now
                self.shown = True
                self.stream.write("\r\033[K" + text + ("\n" if final else ""))
                self.stream.flush()
        elif final or now - self.last >= self.every:
            self.last = now
            log.info("%s", text)
