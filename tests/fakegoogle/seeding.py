"""What a test puts into the fake Google before syncd looks: calendars, events, messages, history.

A mixin of FakeGoogle, kept apart from the request pipeline; it works on the fake's
`calendar` (CalendarState) and `gmail` (GmailState) under the fake's lock.
"""

from __future__ import annotations

import copy
import threading

from .calendar import CalendarState
from .gmail import GmailState


class Seeding:
    calendar: CalendarState
    gmail: GmailState
    lock: threading.RLock

    # ----- calendar seeding -----------------------------------------------------
    def add_calendar(self, calendar_id: str, **kw):
        return self.calendar.add_calendar(calendar_id, **kw)

    def calendar_add_event(self, event: dict, calendar_id: str = "primary") -> dict:
        return self.calendar.insert(calendar_id, event, seeded=True)

    def calendar_update_event(self, event_id: str, changes: dict, calendar_id: str = "primary") -> dict:
        return self.calendar.patch(calendar_id, event_id, changes)

    def calendar_delete_event(self, event_id: str, calendar_id: str = "primary") -> None:
        self.calendar.delete(calendar_id, event_id)

    def calendar_add_exception(
        self,
        master_id: str,
        original_start,
        changes: dict | None = None,
        cancelled: bool = False,
        calendar_id: str = "primary",
    ) -> dict:
        return self.calendar.add_exception(calendar_id, master_id, original_start, changes, cancelled)

    def calendar_get_event(self, event_id: str, calendar_id: str = "primary") -> dict:
        return self.calendar.get(calendar_id, event_id)

    def calendar_events(self, calendar_id: str = "primary", include_cancelled: bool = True) -> list:
        evs = self.calendar.stored(calendar_id)
        return [e for e in evs if include_cancelled or e.get("status") != "cancelled"]

    def calendar_snapshot(self):
        """A copy of all calendar state (events, change sequence, token generation)."""
        with self.lock:
            state = self.calendar
            return copy.deepcopy((state.calendars, state.change_seq, state.generation))

    def calendar_restore(self, snapshot) -> None:
        """Put back a `calendar_snapshot()`, also one taken from another FakeGoogle with the
        same email: sync and page tokens issued against it stay valid."""
        calendars, seq, generation = copy.deepcopy(snapshot)
        with self.lock:
            state = self.calendar
            state.calendars, state.change_seq, state.generation = calendars, seq, generation

    def invalidate_sync_tokens(self) -> None:
        with self.lock:
            self.calendar.generation += 1

    # ----- gmail seeding -----------------------------------------------------------
    def gmail_add_message(self, headers, internal_date, labels=("INBOX",), thread_id=None, size=None) -> str:
        return self.gmail.add_message(headers, internal_date, labels, thread_id, size)

    def gmail_delete_message(self, message_id: str) -> None:
        self.gmail.delete_message(message_id)

    def gmail_modify_labels(self, message_id: str, add=(), remove=()) -> None:
        self.gmail.modify_labels(message_id, add, remove)

    def expire_history(self, upto: int | None = None) -> None:
        self.gmail.expire_history(upto)

    @property
    def gmail_history_id(self) -> int:
        return self.gmail.history_id
