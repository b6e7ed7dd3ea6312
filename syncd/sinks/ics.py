"""The ICS hold sink (``ics:PATH``): holds as VEVENTs in their own ``.ics`` file.

The file is the user's too: they may open it in a calendar app, move a hold, delete
one, or add events of their own; and several syncd stores may share it. So syncd

* edits the file *textually*, one top-level VEVENT block at a time: everything it did not
  write itself (other events, time zones, comments in X- properties, line folding, even
  the line endings) stays byte for byte;
* touches only its holds: events carrying the ``X-SYNCD-HOLD`` marker, or a UID of the
  form syncd gives its holds (a calendar app may drop X- properties on saving); the
  user's own events in the file are busy time and are never removed or rewritten;
* locks the file (``holds.ics.lock`` beside it, ``flock``) for each read-modify-write and
  reads it again under the lock, so two stores writing at once never lose a hold;
* parses the whole file with icalendar before touching it and refuses (SinkError naming
  the file) to rewrite a file it cannot parse: losing the user's calendar is worse than
  not booking a coffee;
* writes atomically (temp file in the same folder, fsync, rename, fsync the folder) with
  mode 0600, as the holds name people and carry notes about them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from pathlib import Path

import recurring_ical_events
from icalendar import Calendar, Event

from syncd.errors import SyncdError
from syncd.intervals import Interval
from syncd.lock import file_lock
from syncd.private_file import write_private
from syncd.planner import NewHold
from syncd.sinks.base import CONTACT_PROP, HoldWrite, SinkError, SinkHold
from syncd.sinks.ics_file import Block, Doc, hold_event_lines, new_doc, parse_doc

__all__ = ["IcsHoldSink", "LOCK_WAIT_SECONDS"]

log = logging.getLogger("syncd.sinks.ics")

#: How long a write waits for another syncd writing the same file (each write takes
#: milliseconds; a minute means something is stuck, and the run reports it).
LOCK_WAIT_SECONDS = 60.0


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
        """syncd's holds in the file, those of every store sharing it (matched to a store by UID)."""
        doc = self._read()
        if doc is None:
            return []
        holds: dict[str, SinkHold] = {}
        for b in doc.blocks:
            if b.is_hold and b.uid not in holds:
                holds[b.uid] = self._sink_hold(b)
        return sorted(holds.values(), key=lambda h: (h.start, h.event_id))

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Everything in the file overlapping [start, end) that is opaque and not cancelled:
        the holds of every store, and the events the user put there (recurrences expanded)."""
        doc = self._read()
        if doc is None:
            return []
        out = []
        by_uid: dict[str, list[Event]] = {}
        for b in doc.blocks:
            if not b.is_hold:
                by_uid.setdefault(b.uid, []).append(b.event)
            elif not _transparent(b.event):
                h = self._sink_hold(b)
                if not h.declined and h.start < end and start < h.end:
                    out.append(Interval(h.start, h.end))
        for uid, events in by_uid.items():
            # a series and its moved occurrences share a UID; other events sharing one are copies, each busy
            together = any("RECURRENCE-ID" in event for event in events)
            for series in [events] if together else [[event] for event in events]:
                out.extend(self._user_busy(uid, series, start, end))
        return sorted(out, key=lambda i: (i.start, i.end))

    def _user_busy(self, uid: str, events: list[Event], start: datetime, end: datetime) -> list[Interval]:
        """The busy occurrences of one of the user's events (with its overrides); one that
        cannot be expanded is skipped, not the whole file."""
        calendar = Calendar()
        for event in events:
            calendar.add_component(event)
        out = []
        try:
            for occurrence in recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end):
                if _transparent(occurrence) or str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                first = self._when(occurrence.decoded("DTSTART"), uid, "DTSTART")
                last = self._when(occurrence.decoded("DTEND"), uid, "DTEND") if "DTEND" in occurrence else first
                if first < end and start < last:
                    out.append(Interval(first, last))
        except Exception as e:  # recurring_ical_events and icalendar raise assorted errors on odd events
            log.debug("%s: event %s skipped as busy time: %s", self.path, uid, e)
        return out

    # ------------------------------------------------------------------ writing

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        return self.apply([HoldWrite(hold, title, description)], [])[0]

    def remove(self, event_id: str) -> None:
        self.apply([], [event_id])

    def apply(self, creates: Sequence[HoldWrite], removes: Sequence[str]) -> list[SinkHold]:
        """Remove, then create, writing the file once (and not at all when nothing changes).

        The file is read under its lock, so what another store wrote a moment ago is kept.
        Creating an event id that is already in the file is a no-op that returns the event
        as it is there (perhaps moved by the user): a retried run never books twice.
        """
        if not creates and not self.path.exists():
            return []  # nothing to remove, and no lock file to leave behind
        with self._locked():
            return self._apply_locked(creates, removes)

    def _apply_locked(self, creates: Sequence[HoldWrite], removes: Sequence[str]) -> list[SinkHold]:
        doc = self._read() or new_doc()
        drop = set(removes)
        keep_lines: list[str] = []
        kept_blocks: dict[str, Block] = {}
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
                results.append(self._sink_hold(kept_blocks[h.event_id], contact_id=h.contact_id))
            else:
                new_lines.extend(hold_event_lines(w, self._clock(), doc.newline, self.path))
                sh = SinkHold(h.event_id, h.contact_id, h.start.astimezone(UTC), h.end.astimezone(UTC), w.title)
                written[h.event_id] = sh
                results.append(sh)
                changed = True
        if changed:
            lines = keep_lines[:end_at] + new_lines + keep_lines[end_at:]
            self._write(doc.bom + "".join(lines))
        return results

    # ------------------------------------------------------------------ internals

    def _target(self) -> Path:
        """The file itself: a symlinked holds file stays a symlink, its target is written."""
        return Path(os.path.realpath(self.path))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``<file>.lock`` beside the real file (every store names the same lock)."""
        target = self._target()
        lock = target.with_name(target.name + ".lock")
        try:
            with file_lock(lock, LOCK_WAIT_SECONDS, f"another syncd is writing {self.path}"):
                yield
        except SyncdError as e:
            raise SinkError(str(e)) from None

    def _fail(self, what: str) -> SinkError:
        return SinkError(f"{self.path}: {what}")

    def _read(self) -> Doc | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise self._fail(f"cannot read the holds file ({e.strerror or e})") from e
        doc = parse_doc(raw, self.path)
        for b in doc.blocks:
            if b.is_hold:
                self._sink_hold(b)  # a hold we cannot read is an error now, not a crash later
        return doc

    def _when(self, value: object, uid: str, prop: str) -> datetime:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=self._tz)).astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=self._tz).astimezone(UTC)
        raise self._fail(f"hold {uid}: {prop} is not a date or date-time ({value!r})")

    def _sink_hold(self, b: Block, contact_id: str = "") -> SinkHold:
        """The hold as it is in the file; ``contact_id`` stands in when the app dropped X-SYNCD-CONTACT."""
        try:
            return self._decode_hold(b, contact_id)
        except SinkError:
            raise
        except Exception as e:  # icalendar's decoders raise assorted errors on odd values
            raise self._fail(f"hold {b.uid}: cannot read its times ({e})") from e

    def _decode_hold(self, b: Block, contact_id: str) -> SinkHold:
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
        contact = str(ev.get(CONTACT_PROP, "")) or contact_id
        return SinkHold(uid, contact, start, max(start, end), str(ev.get("SUMMARY", "")), declined)

    def _write(self, text: str) -> None:
        target = self._target()
        try:
            Calendar.from_ical(text.lstrip("\ufeff"))  # never write what we could not read back
        except Exception as e:  # pragma: no cover - a bug in this module
            raise self._fail(f"refusing to write an unparsable calendar ({e})") from e
        try:
            write_private(target, text.encode("utf-8"))
        except OSError as e:
            raise self._fail(f"cannot write the holds file ({e.strerror or e})") from e


def _transparent(event: Event) -> bool:
    return str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
