"""What every hold sink offers (Google Calendar, CalDAV, an ICS file, memory), and the types they share.

The planner decides; a sink only writes and reports back.  Keeping the interface this
small lets the sync code treat every sink alike, and lets tests and previews use the
in-memory sink.  The promises are spelt out as tests in ``tests/sinks/contract.py``:
a new sink passes that suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from syncd.intervals import Interval
from syncd.planner import NewHold, SinkHold

__all__ = [
    "SinkHold",
    "HoldSink",
    "SinkError",
    "SinkSpecError",
    "HoldGone",
    "HoldWrite",
    "apply_all",
]

#: The marker property carried by every hold syncd writes as iCalendar (ICS file, CalDAV);
#: Google's holds carry ``extendedProperties.private`` ``syncd=hold`` instead (:mod:`syncd.sinks.google`).
MARKER = "X-SYNCD-HOLD"
CONTACT_PROP = "X-SYNCD-CONTACT"


class SinkError(Exception):
    """A sink failure, with a one-line human message (shown as is by the CLI)."""


class SinkSpecError(SinkError, ValueError):
    """``[holds] sink`` names no sink this build can write to (a configuration error).

    Both a SinkError (so hold planning reports it instead of crashing) and a ValueError
    (so configuration validation can treat it like any bad value).
    """


class HoldGone(SinkError):
    """``create`` found this hold's event id already used and deleted by the user.

    Google keeps deleted events, and inserting a deleted id answers 409: the user removed
    this very hold, so the caller records it as deleted by the user (and snoozes the
    contact) instead of retrying.  The ICS sink never raises it (a removed VEVENT leaves
    no trace; the caller learns of it from ``list_holds``).
    """


@dataclass(frozen=True)
class HoldWrite:
    """One hold to create, with its rendered title and description."""

    hold: NewHold
    title: str
    description: str


@runtime_checkable
class HoldSink(Protocol):
    """Where holds are written.

    ``name`` identifies the sink in status and the holds table (``"ics:/abs/holds.ics"``,
    ``"google:primary"``).  Every method may raise :class:`SinkError`.
    """

    name: str

    def list_holds(self) -> list[SinkHold]:
        """syncd's holds currently in the sink (marker-bearing events only)."""
        ...

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time the sink knows of between start and end (for ICS: its holds)."""
        ...

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        """Write one hold; idempotent: the same ``event_id`` twice gives one event."""
        ...

    def remove(self, event_id: str) -> None:
        """Remove one of syncd's holds; events without the marker, or absent, are left alone."""
        ...


def apply_all(sink: HoldSink, creates: Sequence[HoldWrite], removes: Sequence[str]) -> list[SinkHold]:
    """Apply a plan's writes, in one go where the sink supports it (``apply``), else one by one.

    Removals go first so that a slot freed by a removal is free when the new hold lands.
    """
    batch = getattr(sink, "apply", None)
    if callable(batch):
        return list(batch(creates, removes))
    for event_id in removes:
        sink.remove(event_id)
    return [sink.create(w.hold, w.title, w.description) for w in creates]
