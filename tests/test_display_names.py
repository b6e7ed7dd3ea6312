"""Display names as record metadata: read by every source, kept compactly, and back out of the store unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.addresses import common_mailboxes, parse_address_list
from syncd.records import Attendee, Batch, Meeting, Message, display_names, from_json, to_json
from syncd.sources.gmail import message_record
from syncd.sources.google_calendar import meeting_record
from syncd.sources.ics import parse_calendar
from syncd.sources.mail_headers import message_from_headers
from syncd.store import Store
from syncd.touches import TouchRules
from tests.conftest import ics_calendar, ics_event
from tests.test_addresses import common_values, near_misses

WHEN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ME = "me@example.com"


def kept(mailboxes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What is stored of each (name, address) as a parser gave it."""
    return [(address, dict(display_names([(address, name)])).get(address, "")) for name, address in mailboxes]


@settings(max_examples=1000, deadline=None)
@given(st.one_of(common_values, near_misses))
def test_the_fast_path_names_are_stored_as_the_stdlib_names_would_be(text: str) -> None:
    fast = common_mailboxes(text)
    if fast is not None:  # the fast path leaves quotes and whitespace runs for display_names
        assert kept(fast) == kept(getaddresses([text]))


def test_the_address_list_collects_the_first_name_of_each_address() -> None:
    named: dict[str, str] = {"dee@example.com": "Dee"}
    values = [
        '"Lovelace, Ada" <Ada@Example.com>, =?utf-8?q?Gr=C3=A1ce?= <grace@example.org>, Dee Two <dee@example.com>',
        "bob@example.org, Ada Again <ada@example.com>, Carl (the third) <carl@example.org>",
    ]
    assert parse_address_list(values, named) == [
        "ada@example.com",
        "grace@example.org",
        "dee@example.com",
        "bob@example.org",
        "carl@example.org",
    ]
    assert named == {
        "dee@example.com": "Dee",
        "ada@example.com": "Lovelace, Ada",  # the comment sends the header to the stdlib, which unquotes
        "grace@example.org": "=?utf-8?q?Gr=C3=A1ce?=",
        "carl@example.org": "Carl (the third)",
    }
    assert display_names(named.items()) == (
        ("dee@example.com", "Dee"),
        ("ada@example.com", "Lovelace, Ada"),
        ("grace@example.org", "Gráce"),
        ("carl@example.org", "Carl (the third)"),
    )


def test_display_names_keep_only_names_that_say_more_than_the_address() -> None:
    kept = display_names(
        [
            ("ada@example.com", '  "Ada\n\t Lovelace"  '),
            ("ada@example.com", "Ada L."),  # the first name per address
            ("bob@example.com", "Bob@Example.com"),  # the address again
            ("carl@example.com", "someone.else@example.org"),  # an address is no name
            ("dee@example.com", ""),
            ("eve@example.com", None),
            (None, "Nobody"),
            ("fay@example.com", "F" * 500),
        ]
    )
    assert kept == (("ada@example.com", "Ada Lovelace"), ("fay@example.com", "F" * 200))


def test_mail_headers_keep_from_to_and_cc_names() -> None:
    record = message_from_headers(
        b"Date: Mon, 2 Nov 2026 10:00:00 +0000\n"
        b"Message-ID: <1@example.com>\n"
        b'From: "Lovelace, Ada" <ada@example.com>\n'
        b"To: Me <me@example.com>, =?utf-8?q?Gr=C3=A1ce_Hopper?= <grace@example.org>,\n"
        b"  plain@example.org\n"
        b'Cc: J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>, "bob@example.org" <bob@example.org>\n\n'
    )
    assert record is not None and record.cc == ("joerg@example.de", "bob@example.org")
    assert dict(record.names) == {
        "ada@example.com": "Lovelace, Ada",
        ME: "Me",
        "grace@example.org": "Gráce Hopper",
        "joerg@example.de": "Jörg Müller",
    }


def test_gmail_metadata_keeps_header_names() -> None:
    record = message_record(
        {
            "id": "g1",
            "internalDate": str(int(WHEN.timestamp() * 1000)),
            "labelIds": ["INBOX"],
            "payload": {
                "headers": [
                    {"name": "From", "value": "Ada Lovelace <ada@example.com>"},
                    {"name": "To", "value": "me@example.com"},
                    {"name": "Cc", "value": '"Hopper, Grace" <grace@example.org>'},
                ]
            },
        }
    )
    assert record is not None
    assert record.names == (("ada@example.com", "Ada Lovelace"), ("grace@example.org", "Hopper, Grace"))


def test_ics_keeps_attendee_and_organizer_common_names() -> None:
    data = ics_calendar(
        ics_event(
            "e1",
            "20261102T090000Z",
            "20261102T100000Z",
            extra=[
                'ORGANIZER;CN="Lovelace, Ada":mailto:ada@example.com',
                "ATTENDEE;CN=Grace Hopper;PARTSTAT=ACCEPTED:mailto:grace@example.org",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com",
                "ATTENDEE;CN=room@example.com;CUTYPE=ROOM:mailto:room@example.com",
            ],
        )
    )
    (meeting,) = parse_calendar(data.encode(), WHEN - timedelta(days=1), WHEN + timedelta(days=1), UTC)
    assert meeting.organizer == "ada@example.com"
    assert meeting.names == (("grace@example.org", "Grace Hopper"), ("ada@example.com", "Lovelace, Ada"))


def test_google_calendar_keeps_display_names() -> None:
    meeting = meeting_record(
        {
            "id": "ev1",
            "start": {"dateTime": "2026-11-02T10:00:00Z"},
            "end": {"dateTime": "2026-11-02T11:00:00Z"},
            "organizer": {"email": "ada@example.com", "displayName": "Ada Lovelace"},
            "attendees": [
                {"email": "grace@example.org", "displayName": "Grace Hopper", "responseStatus": "accepted"},
                {"email": ME, "self": True, "responseStatus": "accepted"},
            ],
        },
        UTC,
    )
    assert meeting is not None
    assert meeting.names == (("grace@example.org", "Grace Hopper"), ("ada@example.com", "Ada Lovelace"))


def test_names_round_trip_through_json_and_are_left_out_when_there_are_none() -> None:
    message = Message("m1", WHEN, sender=("ada@example.com",), to=(ME,), names=(("ada@example.com", "Ada"),))
    meeting = Meeting("e1", WHEN, WHEN + timedelta(hours=1), (Attendee("ada@example.com"),), names=())
    assert to_json(message)["names"] == {"ada@example.com": "Ada"}
    assert "names" not in to_json(meeting)
    for record in (message, meeting):
        assert from_json(json.loads(json.dumps(to_json(record)))) == record


def test_a_row_stored_before_names_were_kept_reads_as_no_names() -> None:
    old = to_json(Message("m1", WHEN, sender=("ada@example.com",), to=(ME,)))
    assert "names" not in old
    assert from_json(old) == Message("m1", WHEN, sender=("ada@example.com",), to=(ME,))


def test_names_come_back_out_of_the_store(tmp_path: Path) -> None:
    names = (("ada@example.com", "Ada Lovelace"), ("grace@example.org", "Grace Hopper"))
    message = Message("m1", WHEN, sender=("ada@example.com",), to=(ME, "grace@example.org"), names=names)
    store = Store.open(tmp_path / "syncd.db")
    try:
        store.apply_batch("mbox:test", Batch([message], {"pos": 1}), TouchRules(own_addresses=frozenset({ME})))
        assert store.interaction("mbox:test", "m1") == message
    finally:
        store.close()
