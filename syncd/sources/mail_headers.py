"""Message headers → a Message record. Headers only: bodies are never read or kept.

Shared by the mbox and Maildir sources. Anything malformed yields None (the caller
logs and skips it) so one broken message never stops a mailbox from syncing.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, UTC
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from syncd.addresses import decode_rfc2047, parse_address_list
from syncd.records import Message, display_names

_PARSER = BytesHeaderParser(policy=compat32)
_GMAIL_LABELS = {"spam": "SPAM", "trash": "TRASH", "sent": "SENT", "bin": "TRASH", "papierkorb": "TRASH"}
MAX_HEADER_BYTES = 256 * 1024


def read_header_block(handle: BinaryIO) -> tuple[bytes, bytes, bool]:
    """The `From ` line (mbox only), the header block up to the first blank line, and
    whether the block was cut at MAX_HEADER_BYTES (then its recipients cannot be judged)."""
    first = handle.readline(MAX_HEADER_BYTES + 1)
    from_line = b""
    lines = []
    if first.startswith(b"From "):
        from_line = first
    else:
        lines.append(first)
    size = len(first)
    cut = size > MAX_HEADER_BYTES
    while not cut:
        line = handle.readline(MAX_HEADER_BYTES + 1)
        if line in (b"", b"\n", b"\r\n"):
            break
        size += len(line)
        cut = size > MAX_HEADER_BYTES
        if not cut:
            lines.append(line)
    return from_line, b"".join(lines), cut


def header_block_in(start: bytes) -> tuple[bytes, bytes, bool] | None:
    """What `read_header_block` would read, taken from `start` (the first bytes of a message) when
    they hold the whole block well within the cap; None when they do not (then read line by line)."""
    first_end = start.find(b"\n", 0, MAX_HEADER_BYTES + 1)
    if first_end == -1:
        return None
    blank = start.find(b"\n\n", first_end, MAX_HEADER_BYTES + 1)
    blank_crlf = start.find(b"\n\r\n", first_end, blank + 2 if blank != -1 else MAX_HEADER_BYTES + 1)
    blank = blank_crlf if blank_crlf != -1 else blank
    if blank == -1 or blank + 1 > MAX_HEADER_BYTES:
        return None
    from_line = start[: first_end + 1] if start.startswith(b"From ") else b""
    return from_line, start[len(from_line) : blank + 1], False


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def from_line_date(from_line: bytes) -> datetime | None:
    """`From sender Sat Nov 21 09:00:00 2026`: asctime in UTC, the mbox fallback date."""
    parts = from_line.decode("latin-1").split()
    if len(parts) < 7:
        return None
    try:
        return datetime.strptime(" ".join(parts[-5:]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def message_from_headers(
    raw_headers: bytes, from_line: bytes = b"", extra_labels: tuple[str, ...] = (), headers_cut: bool = False
) -> Message | None:
    """The message's record, or None without a usable date. `headers_cut` (the block was cut
    at the size cap) marks it so it never counts as a touch: its To/Cc are not all known."""
    headers = parse_headers(raw_headers)
    date = message_date(headers, from_line)
    return None if date is None else build_message(headers, date, from_line, extra_labels, headers_cut)


def parse_headers(raw_headers: bytes) -> dict[str, list[str]]:
    """The values of the headers a record is built from, by lower-case name, in order.

    A block of plain `Name: value` fields with folded continuations and `\n` line ends (nearly
    all mail) is split by one regular expression; anything else — CR line ends, a line that is
    no field (`From `, body text, a leading continuation) — goes to the stdlib feed parser,
    which is 4–5 times slower. Both give the same values (Hypothesis, test_mail_headers_properties).
    """
    if b"\r" not in raw_headers:
        index: dict[str, list[str]] = {}
        position, end = 0, len(raw_headers)
        while position < end:
            field = _FIELD.match(raw_headers, position)
            if field is None:
                break
            name = field.group(1).decode("ascii").lower()
            if name in _READ:
                index.setdefault(name, []).append(_decoded(field.group(2).lstrip(b" \t").rstrip(b"\n")))
            position = field.end()
        else:
            return index
    return _index(_PARSER.parsebytes(raw_headers))


# One header field as the feed parser reads it: a name of printable ASCII up to the colon, the
# rest of its line and every continuation line (starting with a space or a tab), each line ended.
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+):([^\n]*\n(?:[ \t][^\n]*\n)*)")


def message_date(headers: dict[str, list[str]], from_line: bytes = b"") -> datetime | None:
    """The Date header, else the mbox `From ` line's date; None when neither is usable. Checked
    before the rest of the record is built: a message older than the look-back costs no more."""
    return parse_date(_header(headers, "Date")) or from_line_date(from_line)


def build_message(
    headers: dict[str, list[str]],
    date: datetime,
    from_line: bytes = b"",
    extra_labels: tuple[str, ...] = (),
    headers_cut: bool = False,
) -> Message:
    """The record of a message whose headers were parsed and whose date is known."""
    message_id = (_header(headers, "Message-ID") or "").strip().strip("<>").strip()
    if not message_id:
        fingerprint = "|".join(_header(headers, name) or "" for name in ("From", "To", "Cc", "Date", "Subject"))
        message_id = "sha1:" + hashlib.sha1(fingerprint.encode("utf-8", "replace") + from_line).hexdigest()
    precedence = (_header(headers, "Precedence") or "").strip().lower()
    bulk = bool(_header(headers, "List-Id") or _header(headers, "List-Unsubscribe")) or precedence in (
        "bulk",
        "list",
        "junk",
    )
    labels = set(extra_labels)
    for label in (_header(headers, "X-Gmail-Labels") or "").split(","):
        mapped = _GMAIL_LABELS.get(label.strip().lower())
        if mapped:
            labels.add(mapped)
    subject = _header(headers, "Subject")
    named: dict[str, str] = {}
    return Message(
        item_id=message_id[:500],
        date=date,
        sender=_addresses(headers, "From", named),
        to=_addresses(headers, "To", named),
        cc=_addresses(headers, "Cc", named),
        bulk=bulk,
        auto_submitted=(_header(headers, "Auto-Submitted") or None),
        labels=tuple(sorted(labels)),
        subject=decode_rfc2047(subject)[:300] if subject else None,
        headers_cut=headers_cut,
        names=display_names(named.items()),
    )


def _text(value: str) -> str:
    """A raw header value as text. compat32 keeps 8-bit bytes as surrogate escapes
    (and `get` would turn them into U+FFFD), so raw UTF-8 headers (RFC 6532) and legacy
    8-bit ones are decoded here: UTF-8 when valid, else Windows-1252."""
    return value if value.isascii() else _decoded(value.encode("ascii", "surrogateescape"))


def _decoded(raw: bytes) -> str:
    """Header bytes as text: UTF-8 when valid (ASCII included), else Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


_READ = frozenset(
    {
        "date",
        "message-id",
        "from",
        "to",
        "cc",
        "subject",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "x-gmail-labels",
        "auto-submitted",
    }
)
# The header fields a record is built from, for sources that fetch fields by name (IMAP).
RECORD_HEADERS = tuple(sorted(_READ))


def _index(parsed: EmailMessage) -> dict[str, list[str]]:
    """The values of the headers syncd reads, by lower-case name, in order, decoded once
    (one pass over the block instead of one per lookup: Received, DKIM… are skipped)."""
    index: dict[str, list[str]] = {}
    for key, value in parsed.raw_items():
        name = key.lower()
        if name in _READ:
            index.setdefault(name, []).append(_text(str(value)))
    return index


def _all(headers: dict[str, list[str]], name: str) -> list[str]:
    return headers.get(name.lower(), [])


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name.lower())
    return values[0] if values else None


def _addresses(headers: dict[str, list[str]], name: str, named: dict[str, str]) -> tuple[str, ...]:
    """Malformed addresses, and headers the parser cannot finish, are dropped; display names
    are added to `named` (the first one an address is given)."""
    return tuple(parse_address_list(_all(headers, name), named))
