"""Why a contact stands where they stand: the touch that set the date, what did not count, and the hold.

Pure: the caller passes the contact's status, the stored interactions that name them,
each already judged by :func:`syncd.touches.judge` with the rules in force (so this
explains what was counted, never a guess), what it knows about holds, and ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from syncd.cold import ContactStatus
from syncd.planner import Skip
from syncd.records import Record, record_time
from syncd.touches import FUTURE

# Why a contact has no hold (DESIGN.md "Living with it").
WARM = "warm"
IGNORED = "ignored"
SNOOZED = "snoozed"
UPCOMING_MEETING = "upcoming_meeting"
LIMITS_REACHED = "limits_reached"
NO_FREE_SLOT = "no_free_slot"
UNHEALTHY = "unhealthy"
HOLDS_DISABLED = "holds_disabled"
ARCHIVED = "archived"
NOT_PLANNED_YET = "not_planned_yet"  # cold, and a slot is free: the next planning run books it

BOOKED = "booked"
NONE = "none"

# How the last touch happened, in the words `why` and the report page use.
HOW_TOUCHED = {"meeting": "met", "email": "exchanged mail", "manual": "logged by hand"}


@dataclass(frozen=True)
class JudgedInteraction:
    """A stored interaction naming the contact, with :func:`syncd.touches.judge`'s verdict per address."""

    source: str
    record: Record
    verdicts: Mapping[str, str | None]


@dataclass(frozen=True)
class NotCounted:
    reason: str
    count: int
    latest_at: datetime
    title: str | None


@dataclass(frozen=True)
class HoldFacts:
    """What the hold module knows about this contact's hold, gathered by the caller.

    ``blocked`` is HOLDS_DISABLED or UNHEALTHY when no planning happens at all;
    ``skip`` is the planner's word for passing them over (its text and code); ``planned`` the slot a
    planning run would book now.
    """

    booked: tuple[datetime, datetime] | None = None
    blocked: str | None = None
    skip: Skip | None = None
    planned: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class HoldExplanation:
    state: str  # BOOKED | NONE
    start: datetime | None
    end: datetime | None
    reason: str | None  # None when booked
    detail: str  # the planner's words, when it gave any


@dataclass(frozen=True)
class LastTouchShown:
    at: datetime
    kind: str
    source: str | None
    title: str | None


@dataclass(frozen=True)
class Why:
    contact_id: str
    last_touch: LastTouchShown | None
    not_counted: list[NotCounted]
    hold: HoldExplanation


def reason_for(verdicts: Mapping[str, str | None], addresses: Sequence[str], at: datetime, now: datetime) -> str | None:
    """Why the interaction does not count for a contact with these addresses; None when it counts.

    Anything after ``now`` is FUTURE, whatever the rules say of it: it has not happened, and
    the counts of the other reasons are about what did.  Otherwise one of their addresses
    counting is enough, else the verdict of the first of their addresses it names (in the
    order the contact lists them).
    """
    named = [verdicts[address] for address in addresses if address in verdicts]
    if not named:
        raise ValueError("the interaction does not name the contact")
    if at > now:
        return FUTURE
    return None if any(reason is None for reason in named) else named[0]


def not_counted(interactions: Iterable[JudgedInteraction], addresses: Sequence[str], now: datetime) -> list[NotCounted]:
    """What did not count, grouped by reason: most frequent first, each with its latest example."""
    groups: dict[str, list[Record]] = {}
    for item in interactions:
        if not any(address in item.verdicts for address in addresses):
            continue  # named in the payload in passing (a header the rules do not read)
        reason = reason_for(item.verdicts, addresses, record_time(item.record), now)
        if reason is not None:
            groups.setdefault(reason, []).append(item.record)
    result = []
    for reason, records in groups.items():
        latest = max(records, key=lambda record: (record_time(record), record.item_id))
        result.append(NotCounted(reason, len(records), record_time(latest), record_title(latest)))
    return sorted(result, key=lambda item: (-item.count, item.reason))


def record_title(record: Record) -> str | None:
    return getattr(record, "title", None) or getattr(record, "subject", None)


def hold_explanation(status: ContactStatus, facts: HoldFacts) -> HoldExplanation:
    """The contact's hold, or the first reason there is none."""
    if facts.booked is not None:
        return HoldExplanation(BOOKED, facts.booked[0], facts.booked[1], None, "")
    if status.contact.archived_at is not None:
        return _none(ARCHIVED, "no configured contacts file lists them any more")
    if status.contact.ignore:
        return _none(IGNORED, "ignored: never cold, never booked")
    if not status.cold:
        return _none(WARM, f"touched within their cadence of {status.cadence_days} days")
    if status.snoozed:
        return _none(SNOOZED, "snoozed")
    if facts.blocked is not None:
        return _none(facts.blocked, "")
    if facts.skip is not None:
        return _none(facts.skip.code, facts.skip.reason)
    if facts.planned is not None:
        return HoldExplanation(
            NONE, facts.planned[0], facts.planned[1], NOT_PLANNED_YET, "the next planning run books it"
        )
    return _none(NO_FREE_SLOT, "")


def _none(reason: str, detail: str) -> HoldExplanation:
    return HoldExplanation(NONE, None, None, reason, detail)


def explain(
    status: ContactStatus,
    last_touch: LastTouchShown | None,
    interactions: Iterable[JudgedInteraction],
    facts: HoldFacts,
    now: datetime,
) -> Why:
    contact = status.contact
    return Why(contact.id, last_touch, not_counted(interactions, contact.emails, now), hold_explanation(status, facts))
