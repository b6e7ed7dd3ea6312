"""Logging set-up: stderr, journal-friendly, and no addresses above DEBUG.

Privacy is a feature: log lines may name sources (`gmail:ada@example.com`) or messages,
so every record at INFO and above has its email addresses replaced before it is written.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from syncd.textsafe import InertMessages

_ADDRESS = re.compile(r"[^\s:<>,;()\"'=]+@[^\s:<>,;()\"']+\.[^\s:<>,;()\"']+")


def redact(text: str) -> str:
    """`gmail:ada@example.com` becomes `gmail:<address>`."""
    return _ADDRESS.sub("<address>", text)


class RedactAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            record.msg = redact(record.getMessage())
            record.args = None
        return True


_JOURNAL_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalPrefix(logging.Filter):
    """Under systemd, `<N>` prefixes let `journalctl -p` filter by level."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.priority = _JOURNAL_PRIORITY.get(record.levelno, 6)
        return True


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(logging.Formatter("<%(priority)d>%(name)s: %(message)s"))
        handler.addFilter(JournalPrefix())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactAddresses())
    handler.addFilter(InertMessages())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
