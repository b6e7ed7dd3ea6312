"""Make text from outside (names, subjects, titles, errors) inert before it reaches a terminal.

A contact named ``"\\x1b[2J"`` must show as those characters, not clear the user's screen:
control characters (C0, DEL, C1), line and paragraph separators and bidi overrides are
written as Python-style escapes. Printable text, wide characters and emoji pass unchanged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, TextIO

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What syncd itself writes on purpose (line breaks, tabs) may pass a whole output stream.
_UNSAFE_IN_STREAM = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` with every character that could steer a terminal shown as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)


def inert_lines(text: str) -> str:
    """Like :func:`inert`, but keeps the line breaks of a message that has several lines on purpose."""
    return "\n".join(inert(line) for line in text.split("\n"))


def display_width(text: str) -> int:
    """Terminal columns: wide (CJK, emoji) characters take two, combining marks none.
    ASCII is one column a character: `contacts list` measures some 100,000 cells."""
    if text.isascii() or max(text) < "\u0300":  # below the combining marks nothing is wide or zero-width
        return len(text)
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text
    )


class InertStream:
    """Wraps the CLI's stdout so no print anywhere can pass a control character through.

    Tables escape their cells themselves (so columns line up); this is the backstop for
    every other line a command prints, in whichever module it is written.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_UNSAFE_IN_STREAM.sub(_escape, text))
        return len(text)

    @property
    def unfiltered(self) -> TextIO:
        """The stream itself, for syncd's own escape codes (colour) around text already made inert."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class InertMessages(logging.Filter):
    """Log lines quote file names, subjects and errors: made inert like everything else on stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = inert_lines(record.getMessage())
        record.args = None
        return True
