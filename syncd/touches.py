"""Touch rules: which interactions count as keeping in touch, and with whom.

Pure functions of a record and the rules. They answer per *address*, not per contact,
so importing or editing contacts never requires re-reading any source; the store joins
addresses to contacts at query time. Whether a meeting has *started* is left to that
query too (it depends on `now`), so future meetings are kept and count once they begin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncd.addresses import is_blocked, is_role_address
from syncd.records import Meeting, Message, Record

BULK_LABELS = frozenset({"SPAM", "TRASH"})

# Why an interaction did not count for someone: the words `why` prints and `why --json` gives.
DECLINED = "declined"
CANCELLED = "cancelled"
ALL_DAY = "all_day"
MARKED_FREE = "marked_free"
TOO_MANY_PEOPLE = "too_many_people"
TOO_MANY_RECIPIENTS = "too_many_recipients"
BULK = "bulk"
ROLE_ADDRESS = "role_address"
BLOCKLISTED = "blocklisted"
NOT_DIRECT = "not_direct"
SPAM_OR_TRASH = "spam_or_trash"
AUTO_SUBMITTED = "auto_submitted"
FUTURE = "future"  # decided by the caller, which knows `now`
REASONS = (
    DECLINED,
    CANCELLED,
    ALL_DAY,
    MARKED_FREE,
    TOO_MANY_PEOPLE,
    TOO_MANY_RECIPIENTS,
    BULK,
    ROLE_ADDRESS,
    BLOCKLISTED,
    NOT_DIRECT,
    SPAM_OR_TRASH,
    AUTO_SUBMITTED,
    FUTURE,
)
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
    return [address for address, reason in judge(record, rules).items() if reason is None]


def judge(record: Record, rules: TouchRules) -> dict[str, str | None]:
    """Every other person's address in the record, mapped to None when it counts as a touch
    for them, else to the reason it does not (one of :data:`REASONS`).

    The one place the rules are applied: the store derives touches from it and `why`
    re-judges stored interactions with it, so an explanation is what was counted, not a guess.
    Whether the record lies in the future is left to the caller, who knows `now`.
    """
    verdicts = _meeting_verdicts(record, rules) if isinstance(record, Meeting) else _message_verdicts(record, rules)
    return {
        address: _address_reason(address, rules) or reason
        for address, reason in verdicts.items()
        if address not in rules.own_addresses
    }


def _address_reason(address: str, rules: TouchRules) -> str | None:
    if is_role_address(address):
        return ROLE_ADDRESS
    if is_blocked(address, rules.blocklist):
        return BLOCKLISTED
    return None


def meeting_size(meeting: Meeting) -> int:
    """Attendees plus an organiser not listed among them; rooms and resources never count."""
    people = {attendee.address for attendee in meeting.attendees if not attendee.is_resource}
    if meeting.organizer and meeting.organizer not in {a.address for a in meeting.attendees}:
        people.add(meeting.organizer)
    return len(people)


def user_declined(meeting: Meeting, own_addresses: frozenset[str]) -> bool:
    return any(a.response == "declined" and (a.is_self or a.address in own_addresses) for a in meeting.attendees)


def _meeting_reason(meeting: Meeting, rules: TouchRules) -> str | None:
    if meeting.cancelled:
        return CANCELLED
    if user_declined(meeting, rules.own_addresses):
        return DECLINED
    if meeting.all_day:
        return ALL_DAY
    if meeting.transparent:
        return MARKED_FREE
    if meeting_size(meeting) > rules.max_meeting_size:
        return TOO_MANY_PEOPLE
    return None


def _meeting_verdicts(meeting: Meeting, rules: TouchRules) -> dict[str, str | None]:
    """Attendees (not rooms, not the user) and an organiser not among them; one who declined never counts."""
    event_reason = _meeting_reason(meeting, rules)
    verdicts: dict[str, str | None] = {}
    for attendee in meeting.attendees:
        if attendee.is_resource or attendee.is_self:
            continue
        reason = event_reason or (DECLINED if attendee.response == "declined" else None)
        if verdicts.get(attendee.address, reason) is None:
            reason = None  # listed twice: one acceptance is enough
        verdicts[attendee.address] = reason
    if meeting.organizer and meeting.organizer not in {a.address for a in meeting.attendees}:
        verdicts[meeting.organizer] = event_reason
    return verdicts


def _message_verdicts(message: Message, rules: TouchRules) -> dict[str, str | None]:
    """Mail between the user and a person directly (To/Cc), neither bulk, automatic nor to a crowd."""
    recipients = list(dict.fromkeys([*message.to, *message.cc]))  # in order, each address once
    from_user = any(address in rules.own_addresses for address in message.sender) or "SENT" in message.labels
    people = recipients if from_user else list(dict.fromkeys([*message.sender, *recipients]))
    reason = _message_reason(message, recipients, rules)
    if reason is not None:
        return dict.fromkeys(people, reason)
    if from_user:
        return dict.fromkeys(recipients, None)
    user_addressed = any(address in rules.own_addresses for address in recipients)
    return {address: None if user_addressed and address in message.sender else NOT_DIRECT for address in people}


def _message_reason(message: Message, recipients: list[str], rules: TouchRules) -> str | None:
    if BULK_LABELS.intersection(message.labels):
        return SPAM_OR_TRASH
    if message.bulk:
        return BULK
    if message.auto_submitted is not None and message.auto_submitted.strip().lower() != "no":
        return AUTO_SUBMITTED
    if message.headers_cut or len(recipients) > rules.max_recipients:
        return TOO_MANY_RECIPIENTS  # a cut header block may hide thousands of recipients
    return None
