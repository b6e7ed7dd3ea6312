"""The ICS hold sink (``ics:PATH``): holds as VEVENTs in their own ``.ics`` file.

The file is the user's too: they may open it in a calendar app, move a hold, delete
one, or add events of their own.  So syncd

* edits the file *textually*, one top-level VEVENT block at a time: everything it did not
  write itself (other events, time zones, comments in X- properties, line folding, even
  the line endings) stays byte for byte;
* touches only events carrying the ``X-SYNCD-HOLD`` marker;
* parses the whole file with icalendar before touching it and refuses (SinkError naming
  the file) to rewrite a file it cannot parse: losing the user's calendar is worse than
  not booking a coffee;
* writes atomically (temp file in the same folder, fsync, rename, fsync the folder) with
  mode 0600, as the holds name people and carry notes about them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from pathlib import Path

from icalendar import Calendar, Event

from syncd.planner import Interval, NewHold
from syncd.sinks.base import CONTACT_PROP, MARKER, HoldWrite, SinkError, SinkHold
import contextlib

__all__ = ["IcsHoldSink"]

UTC = UTC
PRODID = "-//syncd//coffee holds//EN"
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


@dataclass
class _Block:
    """One top-level VEVENT: its physical line range [first, last] and the parsed event."""

    first: int
    last: int
    event: Event

    @property
    def uid(self) -> str:
        return str(self.event.get("UID", ""))

    @property
    def is_hold(self) -> bool:
        return self.event.get(MARKER) is not None


@dataclass
class _Doc:
    lines: list[str]  # physical lines, with their line endings
    newline: str
    end_line: int  # index of END:VCALENDAR
    blocks: list[_Block]
    bom: str = ""


class IcsHoldSink:
    """Holds in a local ``.ics`` file; see the module docstring for the guarantees."""

    def __init__(
        self, path: str | os.PathLike[str], *, tz: tzinfo | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        """``tz`` reads floating times a user typed in; ``clock`` stamps DTSTAMP (default: now)."""
        self.path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        self.name = f"ics:{self.path}"
        self._tz = tz or datetime.now().astimezone().tzinfo or UTC
        self._clock = clock or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------------ reading

    def list_holds(self) -> list[SinkHold]:
        doc = self._read()
        if doc is None:
            return []
        holds: dict[str, SinkHold] = {}
        for b in doc.blocks:
            if b.is_hold and b.uid not in holds:
                holds[b.uid] = self._sink_hold(b)
        return sorted(holds.values(), key=lambda h: (h.start, h.event_id))

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """The holds in the file that overlap [start, end), opaque and not cancelled."""
        doc = self._read()
        if doc is None:
            return []
        out = []
        for b in doc.blocks:
            if not b.is_hold or str(b.event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            h = self._sink_hold(b)
            if not h.declined and h.start < end and start < h.end:
                out.append(Interval(h.start, h.end))
        return sorted(out, key=lambda i: (i.start, i.end))

    # ------------------------------------------------------------------ writing

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        return self.apply([HoldWrite(hold, title, description)], [])[0]

    def remove(self, event_id: str) -> None:
        self.apply([], [event_id])

    def apply(self, creates: Sequence[HoldWrite], removes: Sequence[str]) -> list[SinkHold]:
        """Remove, then create, writing the file once (and not at all when nothing changes).

        Creating an event id that is already in the file is a no-op that returns the event
        as it is there (perhaps moved by the user): a retried run never books twice.
        """
        doc = self._read() or self._new_doc()
        drop = set(removes)
        keep_lines: list[str] = []
        kept_blocks: dict[str, _Block] = {}
        by_first = {b.first: b for b in doc.blocks}
        changed = False
        end_at = 0
        i = 0
        while i < len(doc.lines):
            b = by_first.get(i)
            if b is not None and b.is_hold and b.uid in drop:
                i = b.last + 1
                changed = True
                continue
            if b is not None:
                kept_blocks.setdefault(b.uid, b)
            if i == doc.end_line:
                end_at = len(keep_lines)
            keep_lines.append(doc.lines[i])
            i += 1

        results: list[SinkHold] = []
        new_lines: list[str] = []
        written: dict[str, SinkHold] = {}
        for w in creates:
            h = w.hold
            if h.event_id in written:
                results.append(written[h.event_id])
            elif h.event_id in kept_blocks:
                results.append(self._sink_hold(kept_blocks[h.event_id]))
            else:
                new_lines.extend(self._event_lines(w, doc.newline))
                sh = SinkHold(h.event_id, h.contact_id, h.start.astimezone(UTC), h.end.astimezone(UTC), w.title)
                written[h.event_id] = sh
                results.append(sh)
                changed = True
        if changed:
            lines = keep_lines[:end_at] + new_lines + keep_lines[end_at:]
            self._write(doc.bom + "".join(lines))
        return results

    # ------------------------------------------------------------------ internals

    def _fail(self, what: str) -> SinkError:
        return SinkError(f"{self.path}: {what}")

    def _read(self) -> _Doc | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise self._fail(f"cannot read the holds file ({e.strerror or e})") from e
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self._fail(f"not UTF-8 text (byte {e.start})") from e
        bom = ""
        if text.startswith("\ufeff"):
            bom, text = "\ufeff", text[1:]
        if not text.strip():
            doc = self._new_doc()
            doc.bom = bom
            return doc
        try:
            cal = Calendar.from_ical(text)
        except Exception as e:  # icalendar raises ValueError, KeyError, IndexError… on bad input
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise self._fail(f"not a valid iCalendar file ({msg}); not touching it") from e
        if getattr(cal, "name", None) != "VCALENDAR":
            raise self._fail("not a valid iCalendar file (no VCALENDAR); not touching it")
        doc = self._scan(text, [c for c in cal.subcomponents if c.name == "VEVENT"])
        doc.bom = bom
        for b in doc.blocks:
            if b.is_hold:
                self._sink_hold(b)  # a hold we cannot read is an error now, not a crash later
        return doc

    def _scan(self, text: str, events: list[Event]) -> _Doc:
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
            raise self._fail("could not line up the events in the file with its text; not touching it")
        return _Doc(lines, newline, end_line, [_Block(a, b, e) for (a, b), e in zip(blocks, events, strict=False)])

    def _new_doc(self) -> _Doc:
        nl = "\r\n"
        lines = [
            f"BEGIN:VCALENDAR{nl}",
            f"VERSION:2.0{nl}",
            f"PRODID:{PRODID}{nl}",
            f"CALSCALE:GREGORIAN{nl}",
            f"X-WR-CALNAME:syncd holds{nl}",
            f"END:VCALENDAR{nl}",
        ]
        return _Doc(lines, nl, len(lines) - 1, [])

    def _when(self, value: object, uid: str, prop: str) -> datetime:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=self._tz)).astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=self._tz).astimezone(UTC)
        raise self._fail(f"hold {uid}: {prop} is not a date or date-time ({value!r})")

    def _sink_hold(self, b: _Block) -> SinkHold:
        try:
            return self._decode_hold(b)
        except SinkError:
            raise
        except Exception as e:  # icalendar's decoders raise assorted errors on odd values
            raise self._fail(f"hold {b.uid}: cannot read its times ({e})") from e

    def _decode_hold(self, b: _Block) -> SinkHold:
        ev, uid = b.event, b.uid
        if "DTSTART" not in ev:
            raise self._fail(f"hold {uid}: no DTSTART")
        start_value = ev.decoded("DTSTART")
        start = self._when(start_value, uid, "DTSTART")
        if "DTEND" in ev:
            end = self._when(ev.decoded("DTEND"), uid, "DTEND")
        elif "DURATION" in ev and isinstance(ev.decoded("DURATION"), timedelta):
            end = start + ev.decoded("DURATION")
        elif isinstance(start_value, date) and not isinstance(start_value, datetime):
            end = start + timedelta(days=1)
        else:
            end = start  # RFC 5545: a date-time DTSTART alone ends where it starts
        declined = str(ev.get("STATUS", "")).upper() == "CANCELLED"
        return SinkHold(
            uid, str(ev.get(CONTACT_PROP, "")), start, max(start, end), str(ev.get("SUMMARY", "")), declined
        )

    def _event_lines(self, w: HoldWrite, newline: str) -> list[str]:
        h = w.hold
        if not re.fullmatch(r"[^\x00-\x1f\x7f]+", h.contact_id or ""):
            raise self._fail(f"contact id {h.contact_id!r} cannot be written to an ICS property")
        stamp = self._clock().astimezone(UTC).replace(microsecond=0)
        ev = Event()
        ev.add("UID", h.event_id)
        ev.add("DTSTAMP", stamp)
        ev.add("DTSTART", h.start.astimezone(UTC))
        ev.add("DTEND", h.end.astimezone(UTC))
        ev.add("SUMMARY", w.title)
        ev.add("DESCRIPTION", w.description)
        ev.add("CLASS", "PRIVATE")
        ev.add("TRANSP", "OPAQUE")
        ev.add(CONTACT_PROP, h.contact_id)
        ev.add(MARKER, "1")
        text = ev.to_ical().decode("utf-8")
        return [line + newline for line in text.replace("\r\n", "\n").split("\n") if line]

    def _write(self, text: str) -> None:
        target = Path(os.path.realpath(self.path))  # a symlinked file stays a symlink
        folder = target.parent
        try:
            Calendar.from_ical(text.lstrip("\ufeff"))  # never write what we could not read back
        except Exception as e:  # pragma: no cover - a bug in this module
            raise self._fail(f"refusing to write an unparsable calendar ({e})") from e
        tmp = None
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
            tmp = None
            dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as e:
            raise self._fail(f"cannot write the holds file ({e.strerror or e})") from e
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
