"""The header blocks of an mbox in one binary scan: message starts found with `find`, bodies never read line by line.

`mailbox.mbox` builds its table of contents with one `readline`/`tell` per line of every
body, so its cost grew with the size of the mail, not with the number of messages. Here a
message starts where the stdlib says it does — at the file's first byte or after a newline,
on a line beginning `From ` (mboxo and mboxrd alike: a quoted `>From ` is body) — and its
header block is cut exactly as `read_header_block` cuts it from `mailbox.mbox.get_file`,
so both readers give the same bytes (held by tests/test_mbox_scan.py).

The file is read in windows with `os.pread` rather than mapped: a mail client that rewrites
and truncates the mbox while it is being read (mutt does, in place) would kill the process
with SIGBUS through a mapping, while a short read only ends the scan early.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from syncd.sources.mail_headers import MAX_HEADER_BYTES

WINDOW = 8 << 20
# A header block that starts inside a window ends within 2 × the cap (the block so far, at most
# the cap, plus one more capped line) and the next-message test looks 5 bytes ahead; a window is
# read this much longer, so a block never straddles two reads.
_REACH = 2 * MAX_HEADER_BYTES + 8
_LINE = MAX_HEADER_BYTES + 1  # the longest line one `readline` of the header reader returns
_NEWLINE = 10
_BLANK = (b"\n", b"\r\n")


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    offset: int  # where the message starts in the file: its key for logs
    from_line: bytes
    headers: bytes
    cut: bool  # the block was cut at MAX_HEADER_BYTES


def header_blocks(descriptor: int, window: int = WINDOW) -> Iterator[HeaderBlock]:
    """Every message of the open mbox, in file order. Text before the first `From ` line
    belongs to no message (as in the stdlib). Raises OSError when a read fails."""
    position = 0
    after_newline = True  # the file's first byte starts a line
    while True:
        data = os.pread(descriptor, window + _REACH, position)
        last = len(data) < window + _REACH
        limit = len(data) if last else window  # messages starting before `limit` belong to this read
        start = 0 if after_newline and data.startswith(b"From ") else _next_start(data, 0, limit)
        while start != -1:
            following = _next_start(data, start, limit)
            yield _block(data, start, following if following != -1 else len(data), position)
            start = following
        if last:
            return
        after_newline = data[limit - 1] == _NEWLINE
        position += limit


def _next_start(data: bytes, after: int, limit: int) -> int:
    """The next message start past `after` and before `limit`, or -1."""
    found = data.find(b"\nFrom ", after, limit + 4)  # a match at j starts a message at j + 1 < limit
    return found + 1 if found != -1 else -1


def _block(data: bytes, start: int, bound: int, base: int) -> HeaderBlock:
    """What `read_header_block` reads from `get_file(key, from_=True)`: the `From ` line, then
    lines up to a blank one, the message's end or the cap, whichever comes first. The common
    case (a blank line well within the cap, no message start before it) takes a few `find`s,
    none of them past `bound` (the next message start, when known) or the cap."""
    from_end = data.find(b"\n", start, start + _LINE)
    if from_end != -1 and data.startswith(b"From ", start):
        reach = min(bound, start + MAX_HEADER_BYTES + 1)
        blank = data.find(b"\n\n", from_end, reach)
        blank_crlf = data.find(b"\n\r\n", from_end, blank + 2 if blank != -1 else reach)
        blank = blank_crlf if blank_crlf != -1 else blank
        if blank != -1 and blank + 1 - start <= MAX_HEADER_BYTES and data.find(b"\nFrom ", from_end, blank + 1) == -1:
            return HeaderBlock(base + start, data[start : from_end + 1], data[from_end + 1 : blank + 1], False)
    return _block_line_by_line(data, start, base)


def _block_line_by_line(data: bytes, start: int, base: int) -> HeaderBlock:
    """The general case: a block that reaches the cap, the next message or the end of the file."""
    end = len(data)

    def line_end(at: int) -> int:
        """Where the line starting at `at` ends: `readline(_LINE)` within the message."""
        if at >= end or (at > start and data[at - 1] == _NEWLINE and data.startswith(b"From ", at)):
            return at  # the file or the message ended
        newline = data.find(b"\n", at, at + _LINE)
        return newline + 1 if newline != -1 else min(at + _LINE, end)

    stop = line_end(start)
    first = data[start:stop]
    from_line = first if first.startswith(b"From ") else b""
    size = len(first)
    cut = size > MAX_HEADER_BYTES
    headers_start = stop if from_line else start
    headers_end = stop
    while not cut:
        next_stop = line_end(headers_end)
        line = data[headers_end:next_stop]
        if not line or line in _BLANK:
            break
        size += len(line)
        cut = size > MAX_HEADER_BYTES
        if not cut:
            headers_end = next_stop
    return HeaderBlock(base + start, from_line, data[headers_start:headers_end], cut)
