"""Touch rules (syncd.touches): one test per rule of DESIGN.md "Touch rules" and "Sizes"."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, UTC

import pytest

from syncd.records import Attendee, Meeting, Message
from syncd.touches import TouchRules, meeting_size, touched_addresses, user_declined

ME = "me@example.com"
ALT = "me.alt@example.org"
ADA = "ada@example.com"
BOB = "bob@example.org"
CAROL = "carol@example.net"
ROOM = "room-4.12@resource.example.com"
START = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
RULES = TouchRules(own_addresses=frozenset({ME, ALT}))


def meeting(*attendees: Attendee, organizer: str | None = ME, **fields) -> Meeting:
    return Meeting(
        item_id="evt-1",
        start=START,
        end=START + timedelta(minutes=30),
        attendees=attendees,
        organizer=organizer,
        **fields,
    )


def att(address: str, response: str = "accepted", **fields) -> Attendee:
    return Attendee(address=address, response=response, **fields)


def people(n: int) -> list[Attendee]:
    return [att(f"person{i}@example.com") for i in range(n)]


def message(sender=(ADA,), to=(ME,), cc=(), **fields) -> Message:
    return Message(item_id="msg-1", date=START, sender=tuple(sender), to=tuple(to), cc=tuple(cc), **fields)


# --- meetings --------------------------------------------------------------------


def test_meeting_counts_for_attendees_not_for_the_user() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), att(BOB)), RULES) == [ADA, BOB]


def test_meeting_counts_for_organiser_not_listed_as_attendee() -> None:
    assert touched_addresses(meeting(att(ME), organizer=ADA), RULES) == [ADA]


def test_meeting_counts_for_organiser_listed_as_attendee_once() -> None:
    assert touched_addresses(meeting(att(ADA), att(ME), organizer=ADA), RULES) == [ADA]


@pytest.mark.parametrize("response", ["accepted", "tentative", "needsAction"])
def test_meeting_counts_whatever_the_contact_answered_except_declined(response: str) -> None:
    assert touched_addresses(meeting(att(ME), att(ADA, response)), RULES) == [ADA]


def test_cancelled_meeting_does_not_count() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), cancelled=True), RULES) == []


def test_user_declined_by_own_address() -> None:
    m = meeting(att(ME, "declined"), att(ADA), organizer=ADA)
    assert user_declined(m, RULES.own_addresses)
    assert touched_addresses(m, RULES) == []


def test_user_declined_by_secondary_own_address() -> None:
    assert touched_addresses(meeting(att(ALT, "declined"), att(ADA), organizer=ADA), RULES) == []


def test_user_declined_by_is_self_even_when_address_is_unknown() -> None:
    m = meeting(att("me@some-alias.example", "declined", is_self=True), att(ADA), organizer=ADA)
    assert user_declined(m, frozenset())
    assert touched_addresses(m, TouchRules()) == []


def test_user_accepting_is_not_declining() -> None:
    assert not user_declined(meeting(att(ME, "accepted"), att(ADA)), RULES.own_addresses)


def test_contact_declined_only_that_contact_loses_the_touch() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA, "declined"), att(BOB)), RULES) == [BOB]


def test_organiser_who_declined_own_meeting_is_not_touched() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA, "declined"), att(BOB), organizer=ADA), RULES) == [BOB]


def test_is_self_attendee_is_never_touched() -> None:
    m = meeting(att("alias@example.com", is_self=True), att(ADA), organizer="alias@example.com")
    assert touched_addresses(m, TouchRules()) == [ADA]


def test_all_day_event_does_not_count() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), all_day=True), RULES) == []


def test_transparent_event_does_not_count() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), transparent=True), RULES) == []


def test_meeting_larger_than_max_meeting_size_does_not_count() -> None:
    m = meeting(att(ME), att(ADA), *people(7))  # 9 people
    assert meeting_size(m) == 9
    assert touched_addresses(m, RULES) == []


def test_meeting_exactly_at_max_meeting_size_counts() -> None:
    m = meeting(att(ME), att(ADA), *people(6))  # 8 people
    assert meeting_size(m) == 8
    assert touched_addresses(m, RULES) == [ADA] + [f"person{i}@example.com" for i in range(6)]


def test_rooms_and_resources_do_not_count_towards_size_and_are_never_touched() -> None:
    rooms = [att(f"room{i}@resource.example.com", is_resource=True) for i in range(5)]
    m = meeting(att(ME), att(ADA), *people(6), *rooms)
    assert meeting_size(m) == 8
    touched = touched_addresses(m, RULES)
    assert ADA in touched and len(touched) == 7
    assert not any(address.startswith("room") for address in touched)


def test_organiser_not_listed_counts_towards_size() -> None:
    listed = meeting(att(ME), att(ADA), *people(6), organizer=ME)  # organiser listed: 8
    unlisted = meeting(att(ME), att(ADA), *people(6), organizer=BOB)  # + Bob: 9
    assert meeting_size(listed) == 8
    assert meeting_size(unlisted) == 9
    assert touched_addresses(listed, RULES) != []
    assert touched_addresses(unlisted, RULES) == []


def test_organiser_listed_is_not_counted_twice() -> None:
    assert meeting_size(meeting(att(ME), att(ADA), organizer=ADA)) == 2


def test_meeting_size_limit_is_configurable() -> None:
    m = meeting(att(ME), att(ADA), att(BOB))
    assert touched_addresses(m, replace(RULES, max_meeting_size=2)) == []
    assert touched_addresses(m, replace(RULES, max_meeting_size=3)) == [ADA, BOB]


def test_event_level_conditions_touch_nobody() -> None:
    base = meeting(att(ME), att(ADA))
    assert touched_addresses(base, RULES) == [ADA]
    for change in ({"cancelled": True}, {"all_day": True}, {"transparent": True}):
        assert touched_addresses(replace(base, **change), RULES) == []


def test_meeting_touches_are_unique() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), att(ADA)), RULES) == [ADA]


def test_meeting_with_role_attendee_skips_only_the_role() -> None:
    assert touched_addresses(meeting(att(ME), att(ADA), att("calendar-notification@google.com")), RULES) == [ADA]


def test_meeting_with_blocklisted_attendee_skips_only_that_attendee() -> None:
    rules = replace(RULES, blocklist=("example.org",))
    assert touched_addresses(meeting(att(ME), att(ADA), att(BOB)), rules) == [ADA]


# --- messages --------------------------------------------------------------------


def test_user_sent_to_recipient_counts() -> None:
    assert touched_addresses(message(sender=(ME,), to=(ADA,)), RULES) == [ADA]


def test_user_sent_to_and_cc_recipients_count() -> None:
    assert touched_addresses(message(sender=(ME,), to=(ADA,), cc=(BOB,)), RULES) == [ADA, BOB]


def test_user_sent_from_secondary_address_counts() -> None:
    assert touched_addresses(message(sender=(ALT,), to=(ADA,)), RULES) == [ADA]


def test_sent_label_counts_as_sent_by_user() -> None:
    # e.g. sent from an alias the config does not list
    assert touched_addresses(message(sender=("me@alias.example",), to=(ADA,), labels=("SENT",)), RULES) == [ADA]


def test_user_sending_to_self_touches_nobody() -> None:
    assert touched_addresses(message(sender=(ME,), to=(ME,), cc=(ALT,)), RULES) == []


def test_received_directly_in_to_counts_for_sender() -> None:
    assert touched_addresses(message(sender=(ADA,), to=(ME,)), RULES) == [ADA]


def test_received_directly_in_cc_counts_for_sender() -> None:
    assert touched_addresses(message(sender=(ADA,), to=(BOB,), cc=(ME,)), RULES) == [ADA]


def test_received_does_not_touch_other_recipients() -> None:
    assert touched_addresses(message(sender=(ADA,), to=(ME, BOB), cc=(CAROL,)), RULES) == [ADA]


def test_bcc_only_received_message_does_not_count() -> None:
    # The user was only Bcc'd: not in To or Cc.
    assert touched_addresses(message(sender=(ADA,), to=(BOB,), cc=(CAROL,)), RULES) == []


def test_message_with_no_user_involvement_does_not_count() -> None:
    assert touched_addresses(message(sender=(ADA,), to=(BOB,)), RULES) == []


def test_bulk_message_does_not_count() -> None:
    # Sources set bulk=True for List-Id, List-Unsubscribe or Precedence: bulk/list/junk.
    assert touched_addresses(message(bulk=True), RULES) == []
    assert touched_addresses(message(sender=(ME,), to=(ADA,), bulk=True), RULES) == []


@pytest.mark.parametrize("label", ["SPAM", "TRASH"])
def test_spam_and_trash_do_not_count(label: str) -> None:
    assert touched_addresses(message(labels=(label,)), RULES) == []
    assert touched_addresses(message(sender=(ME,), to=(ADA,), labels=("SENT", label)), RULES) == []


def test_other_labels_do_not_matter() -> None:
    assert touched_addresses(message(labels=("INBOX", "IMPORTANT", "CATEGORY_PERSONAL")), RULES) == [ADA]


def test_more_than_max_recipients_does_not_count() -> None:
    to = tuple(f"p{i}@example.com" for i in range(10))
    assert touched_addresses(message(sender=(ME,), to=to, cc=(ADA,)), RULES) == []  # 11 recipients
    assert touched_addresses(message(sender=(ADA,), to=(ME,) + to), RULES) == []  # 11 recipients, received


def test_exactly_max_recipients_counts() -> None:
    to = tuple(f"p{i}@example.com" for i in range(9))
    assert touched_addresses(message(sender=(ME,), to=to, cc=(ADA,)), RULES) == [*to, ADA]  # 10 recipients


def test_max_recipients_counts_to_plus_cc_once_each() -> None:
    to = tuple(f"p{i}@example.com" for i in range(10))
    # the same 10 addresses again in Cc are still 10 recipients
    assert len(touched_addresses(message(sender=(ME,), to=to, cc=to), RULES)) == 10
    assert touched_addresses(message(sender=(ME,), to=(ADA, BOB)), replace(RULES, max_recipients=1)) == []


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "auto-notified", "Auto-Generated"])
def test_auto_submitted_other_than_no_does_not_count(value: str) -> None:
    assert touched_addresses(message(auto_submitted=value), RULES) == []


@pytest.mark.parametrize("value", ["no", "No", " no "])
def test_auto_submitted_no_counts(value: str) -> None:
    assert touched_addresses(message(auto_submitted=value), RULES) == [ADA]


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@example.com",
        "no-reply@example.com",
        "do-not-reply@example.com",
        "notifications@github.com",
        "info@example.com",
        "support@example.com",
        "bounces+xyz@example.com",
    ],
)
def test_role_senders_are_never_touched(sender: str) -> None:
    assert touched_addresses(message(sender=(sender,), to=(ME,)), RULES) == []


def test_role_recipients_are_never_touched() -> None:
    assert touched_addresses(message(sender=(ME,), to=("support@example.com", ADA)), RULES) == [ADA]


def test_blocklisted_address_is_never_touched() -> None:
    rules = replace(RULES, blocklist=("ada@example.com",))
    assert touched_addresses(message(sender=(ADA,), to=(ME,)), rules) == []
    assert touched_addresses(message(sender=(ME,), to=(ADA, BOB)), rules) == [BOB]


def test_blocklisted_domain_and_subdomain_are_never_touched() -> None:
    rules = replace(RULES, blocklist=("example.net",))
    assert touched_addresses(message(sender=("x@mail.example.net",), to=(ME,)), rules) == []
    assert touched_addresses(message(sender=(CAROL,), to=(ME,)), rules) == []
    assert touched_addresses(message(sender=(ADA,), to=(ME,)), rules) == [ADA]


def test_own_addresses_are_never_touched_even_when_sender() -> None:
    # a message from the user's alt address to the main one
    assert touched_addresses(message(sender=(ALT,), to=(ME,)), RULES) == []


def test_no_own_addresses_configured_means_received_mail_never_counts() -> None:
    assert touched_addresses(message(sender=(ADA,), to=(ME,)), TouchRules()) == []


# --- fingerprint -----------------------------------------------------------------


def test_fingerprint_is_stable_and_order_insensitive() -> None:
    a = TouchRules(own_addresses=frozenset({ME, ALT}), blocklist=("x.org", "y.org"))
    b = TouchRules(own_addresses=frozenset({ALT, ME}), blocklist=("y.org", "x.org"))
    assert a.fingerprint() == b.fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"own_addresses": frozenset({ME})},
        {"max_meeting_size": 9},
        {"max_recipients": 11},
        {"blocklist": ("example.org",)},
    ],
)
def test_fingerprint_changes_with_each_rule_field(change: dict) -> None:
    assert replace(RULES, **change).fingerprint() != RULES.fingerprint()
