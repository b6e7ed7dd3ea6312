"""The holds file as text: its top-level VEVENT blocks found in the raw lines, and hold events written inertly.

The sink edits the file one VEVENT block at a time so that everything it did not write
stays byte for byte; this module finds those blocks (checked against icalendar's own
parse, so a file the two disagree on is never rewritten) and renders the blocks of new
holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

from icalendar import Calendar, Event

from syncd.errors import first_line
from syncd.planner import NewHold
from syncd.sinks.base import CONTACT_PROP, MARKER, HoldWrite, SinkError
from syncd.textsafe import inert, inert_lines

__all__ = ["Block", "Doc", "hold_event", "hold_event_lines", "is_hold_uid", "new_doc", "parse_doc"]

PRODID = "-//syncd//coffee holds//EN"
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
# The form of `syncd.planner.hold_event_id`: 26 characters of lowercase base32hex. A hold is
# recognised by it when a calendar app dropped the X-SYNCD-* properties on saving the file.
_HOLD_UID = re.compile(r"[0-9a-v]{26}")


def is_hold_uid(uid: str) -> bool:
    """Whether a UID has the form of the ids syncd gives its holds."""
    return _HOLD_UID.fullmatch(uid) is not None


@dataclass
class Block:
    """One top-level VEVENT: its physical line range [first, last] and the parsed event."""

    first: int
    last: int
    event: Event

    @property
    def uid(self) -> str:
        return str(self.event.get("UID", ""))

    @property
    def is_hold(self) -> bool:
        """syncd's hold: it carries the marker, or a UID of syncd's form (the marker was dropped)."""
        return self.event.get(MARKER) is not None or is_hold_uid(self.uid)


@dataclass
class Doc:
    """The holds file: physical lines (with their endings), the VEVENT blocks, where it ends."""

    lines: list[str]
    newline: str
    end_line: int  # index of END:VCALENDAR
    blocks: list[Block]
    bom: str = ""


def new_doc() -> Doc:
    """An empty calendar, for a holds file that does not exist yet."""
    nl = "\r\n"
    lines = [
        f"BEGIN:VCALENDAR{nl}",
        f"VERSION:2.0{nl}",
        f"PRODID:{PRODID}{nl}",
        f"CALSCALE:GREGORIAN{nl}",
        f"X-WR-CALNAME:syncd holds{nl}",
        f"END:VCALENDAR{nl}",
    ]
    return Doc(lines, nl, len(lines) - 1, [])


def parse_doc(raw: bytes, path: Path) -> Doc:
    """Parse the bytes of the holds file; a SinkError naming `path` when it is not a calendar
    syncd can safely edit (it is then left alone)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SinkError(f"{path}: not UTF-8 text (byte {e.start})") from e
    bom = ""
    if text.startswith("\ufeff"):
        bom, text = "\ufeff", text[1:]
    if not text.strip():
        doc = new_doc()
    else:
        try:
            cal = Calendar.from_ical(text)
        except Exception as e:  # icalendar raises ValueError, KeyError, IndexError… on bad input
            raise SinkError(f"{path}: not a valid iCalendar file ({first_line(e)}); not touching it") from e
        if getattr(cal, "name", None) != "VCALENDAR":
            raise SinkError(f"{path}: not a valid iCalendar file (no VCALENDAR); not touching it")
        doc = _scan(text, [c for c in cal.subcomponents if isinstance(c, Event)], path)
    doc.bom = bom
    return doc


def _scan(text: str, events: list[Event], path: Path) -> Doc:
    """Find the top-level VEVENT blocks and END:VCALENDAR in the raw lines."""
    lines = _LINE.findall(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    stack: list[str] = []
    blocks: list[tuple[int, int]] = []
    start = end_line = -1
    for i, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            continue  # a folded continuation line
        content = line.rstrip("\r\n")
        key, _, value = content.partition(":")
        key, value = key.strip().upper(), value.strip().upper()
        if key == "BEGIN":
            stack.append(value)
            if stack == ["VCALENDAR", "VEVENT"]:
                start = i
        elif key == "END":
            if stack == ["VCALENDAR", "VEVENT"] and value == "VEVENT":
                blocks.append((start, i))
            if stack == ["VCALENDAR"] and value == "VCALENDAR":
                end_line = i
            if stack:
                stack.pop()
    if end_line < 0 or len(blocks) != len(events):
        raise SinkError(f"{path}: could not line up the events in the file with its text; not touching it")
    return Doc(lines, newline, end_line, [Block(a, b, e) for (a, b), e in zip(blocks, events, strict=True)])


def hold_event(hold: NewHold, title: str, description: str, stamp: datetime, where: str) -> Event:
    """One hold as a VEVENT, as both iCalendar sinks (this file, CalDAV) write it: times in UTC,
    syncd's marks on it, and control characters in its title and description written as escapes
    (``\\x1b``) so a name carrying ESC[2J or BEL cannot act on whatever shows the calendar.
    A contact id no ICS property can carry is a SinkError naming `where`."""
    if not re.fullmatch(r"[^\x00-\x1f\x7f-\x9f]+", hold.contact_id or ""):
        raise SinkError(f"{where}: contact id {hold.contact_id!r} cannot be written to an ICS property")
    ev = Event()
    ev.add("UID", hold.event_id)
    ev.add("DTSTAMP", stamp.astimezone(UTC).replace(microsecond=0))
    ev.add("DTSTART", hold.start.astimezone(UTC))
    ev.add("DTEND", hold.end.astimezone(UTC))
    ev.add("SUMMARY", inert(title))
    ev.add("DESCRIPTION", inert_lines(description.replace("\r\n", "\n")))
    ev.add("CLASS", "PRIVATE")
    ev.add("TRANSP", "OPAQUE")
    ev.add(CONTACT_PROP, hold.contact_id)
    ev.add(MARKER, "1")
    return ev


def hold_event_lines(write: HoldWrite, stamp: datetime, newline: str, path: Path) -> list[str]:
    """The physical lines of one new hold's VEVENT (:func:`hold_event`), folded and escaped per RFC 5545."""
    text = hold_event(write.hold, write.title, write.description, stamp, str(path)).to_ical().decode("utf-8")
    return [line + newline for line in text.replace("\r\n", "\n").split("\n") if line]
