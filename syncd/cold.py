"""Who has gone cold, most overdue first. Pure: contacts, their last touches, `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable, Mapping

from syncd.models import Contact, LastTouch

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class ContactStatus:
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
        return ContactStatus(contact, cadence_days, None, None, float("inf"), may_go_cold, snoozed)
    days_since = (now - last_touch.at).total_seconds() / SECONDS_PER_DAY
    cold = may_go_cold and days_since > cadence_days
    return ContactStatus(
        contact, cadence_days, last_touch, int(days_since // 1) - cadence_days, days_since / cadence_days, cold, snoozed
    )


def statuses(
    contacts: list[Contact], cadence_of: Callable[[Contact], int], touches: Mapping[str, LastTouch], now: datetime
) -> list[ContactStatus]:
    return [contact_status(contact, cadence_of(contact), touches.get(contact.id), now) for contact in contacts]


def cold_list(all_statuses: list[ContactStatus]) -> list[ContactStatus]:
    """Never-touched first (by name), then by overdue ratio, largest first; ignored never."""
    cold = [status for status in all_statuses if status.cold]
    never = sorted((s for s in cold if s.last_touch is None), key=lambda s: (s.contact.name.casefold(), s.contact.id))
    touched = sorted(
        (s for s in cold if s.last_touch is not None),
        key=lambda s: (-s.overdue_ratio, s.contact.name.casefold(), s.contact.id),
    )
    return never + touched
