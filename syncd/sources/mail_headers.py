"""Message headers → a Message record. Headers only: bodies are never read or kept.

Shared by the mbox and Maildir sources. Anything malformed yields None (the caller
logs and skips it) so one broken message never stops a mailbox from syncing.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, UTC
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from syncd.addresses import decode_rfc2047, parse_address_list
from syncd.records import Message, display_names
from syncd.timeutil import MONTH_NUMBERS

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
    """The Date header's instant in UTC, or None when it is not a date.

    Nearly every Date is written the one way RFC 5322 recommends (`Wed, 02 Dec 2026 09:00:00
    +0100`): that shape is read field by field; anything else (obsolete zones, two-digit years,
    comments, missing seconds) goes to the stdlib parser, which costs four times as much. Both
    give the same answer (Hypothesis, test_mail_headers_properties)."""
    if not value:
        return None
    text = str(value).strip()
    common = _COMMON_DATE.fullmatch(text)
    if common is not None:
        day, month_name, year, hour, minute, second, sign, zone_hours, zone_minutes = common.groups()
        month = MONTH_NUMBERS.get(month_name.lower())
        offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
        if month is not None and offset < 86400:
            try:
                moment = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
                return moment - timedelta(seconds=offset) if sign == "+" else moment + timedelta(seconds=offset)
            except (ValueError, OverflowError):
                return None
    try:
        parsed = parsedate_to_datetime(text)
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


# `[Day, ]DD Mon YYYY HH:MM:SS ±HHMM`, the recommended form of a Date (RFC 5322 3.3).
_COMMON_DATE = re.compile(
    r"(?:[A-Za-z]{3}, ?)?(\d{1,2}) ([A-Za-z]{3}) ([1-9]\d{3}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"
)


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
    if b"\r" not in raw_headers and _FIELDS.fullmatch(raw_headers):
        index: dict[str, list[str]] = {}
        for raw_name, raw_value in _FIELD.findall(raw_headers):
            name = _READ_NAMES.get(raw_name.lower())
            if name is None:
                continue
            value = _decoded(raw_value.lstrip(b" \t").rstrip(b"\n"))
            values = index.get(name)
            if values is None:
                index[name] = [value]
            else:
                values.append(value)
        return index
    return _index(_PARSER.parsebytes(raw_headers))


# One header field as the feed parser reads it: a name of printable ASCII up to the colon, the
# rest of its line and every continuation line (starting with a space or a tab), each line ended.
# A block is checked whole by `_FIELDS` and then split by `_FIELD`: two passes in C, where a
# match a field cost a Python round each.
_FIELD_PATTERN = rb"([\x21-\x39\x3b-\x7e]+):([^\n]*\n(?:[ \t][^\n]*\n)*)"
_FIELD = re.compile(_FIELD_PATTERN)
_FIELDS = re.compile(rb"(?:" + _FIELD_PATTERN + rb")*")


def message_date(headers: dict[str, list[str]], from_line: bytes = b"") -> datetime | None:
    """The Date header, else the mbox `From ` line's date; None when neither is usable. Checked
    before the rest of the record is built: a message older than the look-back costs no more."""
    return parse_date(_header(headers, "date")) or from_line_date(from_line)


def build_message(
    headers: dict[str, list[str]],
    date: datetime,
    from_line: bytes = b"",
    extra_labels: tuple[str, ...] = (),
    headers_cut: bool = False,
) -> Message:
    """The record of a message whose headers were parsed and whose date is known."""
    message_id = (_header(headers, "message-id") or "").strip().strip("<>").strip()
    if not message_id:
        fingerprint = "|".join(_header(headers, name) or "" for name in ("from", "to", "cc", "date", "subject"))
        message_id = "sha1:" + hashlib.sha1(fingerprint.encode("utf-8", "replace") + from_line).hexdigest()
    bulk, auto_submitted = list_and_auto(headers)
    labels = extra_labels
    gmail_labels = headers.get("x-gmail-labels")
    if gmail_labels or extra_labels:
        found = set(extra_labels)
        for label in (gmail_labels[0] if gmail_labels else "").split(","):
            mapped = _GMAIL_LABELS.get(label.strip().lower())
            if mapped:
                found.add(mapped)
        labels = tuple(sorted(found))
    subject = _header(headers, "subject")
    named: dict[str, str] = {}
    return Message(
        message_id[:500],
        date,
        _addresses(headers, "from", named),
        _addresses(headers, "to", named),
        _addresses(headers, "cc", named),
        bulk,
        auto_submitted,
        labels,
        decode_rfc2047(subject)[:300] if subject else None,
        headers_cut,
        display_names(named.items()) if named else (),
    )


def list_and_auto(headers: dict[str, list[str]]) -> tuple[bool, str | None]:
    """(sent to a list or in bulk, the Auto-Submitted value) from headers by lower-case name.

    One rule for every mail source, Gmail's metadata included, read as DESIGN.md words it: a
    List-Id or List-Unsubscribe header is a bulk marker whatever it holds (list servers add
    them, people do not), as is Precedence bulk/list/junk; an Auto-Submitted header is kept
    (stripped, so a blank one is "" and still not `no`)."""
    precedence = _header(headers, "precedence")
    bulk = (
        "list-id" in headers
        or "list-unsubscribe" in headers
        or (precedence is not None and precedence.strip().lower() in ("bulk", "list", "junk"))
    )
    auto_submitted = _header(headers, "auto-submitted")
    return bulk, None if auto_submitted is None else auto_submitted.strip()


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
# The same by their lower-case bytes, as the fast split meets them.
_READ_NAMES = {name.encode("ascii"): name for name in _READ}


def _index(parsed: EmailMessage) -> dict[str, list[str]]:
    """The values of the headers syncd reads, by lower-case name, in order, decoded once
    (one pass over the block instead of one per lookup: Received, DKIM… are skipped)."""
    index: dict[str, list[str]] = {}
    for key, value in parsed.raw_items():
        name = key.lower()
        if name in _READ:
            index.setdefault(name, []).append(_text(str(value)))
    return index


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    """The first value of a header, by its lower-case name."""
    values = headers.get(name)
    return values[0] if values else None


def _addresses(headers: dict[str, list[str]], name: str, named: dict[str, str]) -> tuple[str, ...]:
    """Malformed addresses, and headers the parser cannot finish, are dropped; display names
    are added to `named` (the first one an address is given)."""
    values = headers.get(name)
    return tuple(parse_address_list(values, named)) if values else ()
