"""Touch rules: which interactions count as keeping in touch, and with whom.

Pure functions of a record and the rules. They answer per *address*, not per contact,
so importing or editing contacts never requires re-reading any source; the store joins
addresses to contacts at query time. Whether a meeting has *started* is left to that
query too (it depends on `now`), so future meetings are kept and count once they begin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable

from syncd.addresses import is_blocked, is_role_address
from syncd.records import Meeting, Message, Record

BULK_LABELS = frozenset({"SPAM", "TRASH"})
# Bump when the rules below change meaning, so stores re-derive their touches on upgrade.
RULES_VERSION = 1


@dataclass(frozen=True)
class TouchRules:
    own_addresses: frozenset[str] = frozenset()
    max_meeting_size: int = 8
    max_recipients: int = 10
    blocklist: tuple[str, ...] = field(default=())

    def fingerprint(self) -> str:
        """Changes whenever stored touches would be derived differently."""
        return repr(
            (
                RULES_VERSION,
                sorted(self.own_addresses),
                self.max_meeting_size,
                self.max_recipients,
                sorted(self.blocklist),
            )
        )


def touched_addresses(record: Record, rules: TouchRules) -> list[str]:
    """The addresses this record counts as a touch for (never the user's own)."""
    addresses = _meeting_touches(record, rules) if isinstance(record, Meeting) else _message_touches(record, rules)
    return [address for address in addresses if may_be_touched(address, rules)]


def may_be_touched(address: str, rules: TouchRules) -> bool:
    """Never the user's own, a role or no-reply mailbox, or a blocklisted address (also used by suggestions)."""
    return (
        address not in rules.own_addresses
        and not is_role_address(address)
        and not is_blocked(address, list(rules.blocklist))
    )


def meeting_size(meeting: Meeting) -> int:
    """Attendees plus an organiser not listed among them; rooms and resources never count."""
    people = {attendee.address for attendee in meeting.attendees if not attendee.is_resource}
    if meeting.organizer and meeting.organizer not in {a.address for a in meeting.attendees}:
        people.add(meeting.organizer)
    return len(people)


def user_declined(meeting: Meeting, own_addresses: frozenset[str]) -> bool:
    return any(a.response == "declined" and (a.is_self or a.address in own_addresses) for a in meeting.attendees)


def counts_as_meeting(meeting: Meeting, rules: TouchRules) -> bool:
    """The event-level conditions, shared with the planner's "already meeting them" check."""
    return not (
        meeting.cancelled
        or meeting.all_day
        or meeting.transparent
        or user_declined(meeting, rules.own_addresses)
        or meeting_size(meeting) > rules.max_meeting_size
    )


def _meeting_touches(meeting: Meeting, rules: TouchRules) -> list[str]:
    if not counts_as_meeting(meeting, rules):
        return []
    people: list[str] = []
    for attendee in meeting.attendees:
        if not attendee.is_resource and attendee.response != "declined" and not attendee.is_self:
            people.append(attendee.address)
    if meeting.organizer and meeting.organizer not in {a.address for a in meeting.attendees}:
        people.append(meeting.organizer)
    return _unique(people)


def _message_touches(message: Message, rules: TouchRules) -> list[str]:
    if message.bulk or message.headers_cut or BULK_LABELS.intersection(message.labels):
        return []  # a cut header block may hide thousands of recipients: never judged direct
    if message.auto_submitted and message.auto_submitted.strip().lower() != "no":
        return []
    recipients = _unique([*message.to, *message.cc])
    if len(recipients) > rules.max_recipients:
        return []
    from_user = any(address in rules.own_addresses for address in message.sender) or "SENT" in message.labels
    if from_user:
        return recipients
    if any(address in rules.own_addresses for address in recipients):
        return _unique(message.sender)
    return []


def _unique(addresses: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        if address not in seen:
            seen.append(address)
    return seen
