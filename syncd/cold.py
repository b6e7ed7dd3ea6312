"""Who has gone cold, most overdue first. Pure: contacts, their last touches, `now`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable, Mapping

from syncd.models import Contact, LastTouch

SECONDS_PER_DAY = 86400


@dataclass(slots=True)
class ContactStatus:
    """One contact's standing at `now`. Read-only by convention, not frozen: every read-only
    command builds one per contact (5,000 and more), and a frozen dataclass's `__init__`
    costs four times as much."""

    contact: Contact
    cadence_days: int
    last_touch: LastTouch | None
    overdue_days: int | None  # whole days past the cadence; None when never touched
    overdue_ratio: float  # days since last touch ÷ cadence; inf when never touched
    cold: bool
    snoozed: bool


def contact_status(contact: Contact, cadence_days: int, last_touch: LastTouch | None, now: datetime) -> ContactStatus:
    snoozed = contact.snoozed_until is not None and contact.snoozed_until > now
    may_go_cold = not contact.ignore and contact.archived_at is None  # ignored and archived: never cold
    if last_touch is None:
        return ContactStatus(contact, cadence_days, None, None, math.inf, may_go_cold, snoozed)
    days_since = (now - last_touch.at).total_seconds() / SECONDS_PER_DAY
    cold = may_go_cold and days_since > cadence_days
    return ContactStatus(
        contact, cadence_days, last_touch, int(days_since // 1) - cadence_days, days_since / cadence_days, cold, snoozed
    )


def statuses(
    contacts: list[Contact], cadence_of: Callable[[Contact], int], touches: Mapping[str, LastTouch], now: datetime
) -> list[ContactStatus]:
    touch_of = touches.get
    return [contact_status(contact, cadence_of(contact), touch_of(contact.id), now) for contact in contacts]


def cold_list(all_statuses: list[ContactStatus]) -> list[ContactStatus]:
    """Never-touched first (by name), then by overdue ratio, largest first; ignored never."""
    cold = [status for status in all_statuses if status.cold]
    never = sorted((s for s in cold if s.last_touch is None), key=lambda s: (s.contact.name.casefold(), s.contact.id))
    touched = sorted(
        (s for s in cold if s.last_touch is not None),
        key=lambda s: (-s.overdue_ratio, s.contact.name.casefold(), s.contact.id),
    )
    return never + touched
