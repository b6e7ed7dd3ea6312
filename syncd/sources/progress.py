"""Progress of a long source read: a live line on a terminal for a person waiting, log lines otherwise.

Shared by every source that reads many items (Gmail, mbox, Maildir). The live line appears only
when the sync was started by a person (`SyncContext.interactive`, set by `syncd sync`) and stderr
is a terminal, and only once the read has lasted `after` seconds, so a quick sync prints nothing
and a pipe, a log file or the daemon never get carriage returns.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from syncd.sources.base import SyncContext

_TICK = 256  # items between clock readings in `tick`: the per-item cost stays a modulo


class Progress:
    """Items read by one source, with the rate; `update` on each batch, `tick` on each item."""

    def __init__(
        self,
        name: str,
        context: SyncContext,
        noun: str = "messages",
        every: float = 10.0,
        after: float = 2.0,
        stream: TextIO | None = None,
    ):
        self.name = name
        self.noun = noun
        self.context = context
        self.stream = stream or sys.stderr
        self.live = context.interactive and _is_terminal(self.stream)
        self.log = logging.getLogger(f"syncd.sources.{name.partition(':')[0]}")
        self.every = every
        self.after = after
        self.started = time.monotonic()
        self.drawn = 0.0  # when the live line was last redrawn
        self.logged = self.started
        self.shown = False

    def tick(self, done: int) -> None:
        """Called once per item: looks at the clock only every few hundred items."""
        if done % _TICK == 0:
            self.update(done)

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-6)
        text = f"{self.name}: {done} {self.noun} ({done / elapsed:.0f}/s)"
        self.context.progress(text)
        if self.live:
            if (final and self.shown) or (not final and elapsed >= self.after and now - self.drawn >= 0.2):
                self.drawn = now
                self.shown = True
                self.stream.write("\r\033[K" + text + ("\n" if final else ""))
                self.stream.flush()
        elif final or now - self.logged >= self.every:
            self.logged = now
            self.log.info("%s", text)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or wrapped stream
        return False
