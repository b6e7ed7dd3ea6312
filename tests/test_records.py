"""Records survive the store's JSON: every field round-trips, and rows written by earlier versions
(every field spelt out) read as the same records as rows that leave the defaults out."""

from __future__ import annotations

import json
from datetime import datetime, UTC

from hypothesis import given
from hypothesis import strategies as st

from syncd.records import Message, from_json, to_json
from tests.mail_strategies import FAST

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
ADDRESSES = st.lists(st.sampled_from(["ada@example.com", "bob@example.org", "me@example.com"]), max_size=3).map(tuple)


@FAST
@given(
    sender=ADDRESSES,
    to=ADDRESSES,
    cc=ADDRESSES,
    bulk=st.booleans(),
    auto_submitted=st.none() | st.sampled_from(["no", "auto-replied", ""]),
    labels=st.lists(st.sampled_from(["SENT", "TRASH", "SPAM"]), max_size=2, unique=True).map(tuple),
    subject=st.none() | st.text(max_size=20),
    headers_cut=st.booleans(),
)
def test_a_message_round_trips_through_json(sender, to, cc, bulk, auto_submitted, labels, subject, headers_cut):
    message = Message("m1", WHEN, sender, to, cc, bulk, auto_submitted, labels, subject, headers_cut)
    assert from_json(json.loads(json.dumps(to_json(message)))) == message


def test_defaults_are_left_out_of_a_plain_message():
    data = to_json(Message("m1", WHEN, ("ada@example.com",), ("me@example.com",)))
    assert set(data) == {"item_id", "date", "sender", "to", "cc", "kind"}


def test_a_row_with_every_field_spelt_out_reads_as_before():
    """The payload every version before this one wrote, byte for byte."""
    old = (
        '{"item_id":"m1","date":"2026-11-02T09:30:00+00:00","sender":["ada@example.com"],"to":["me@example.com"],'
        '"cc":[],"bulk":false,"auto_submitted":null,"labels":[],"subject":"Re: coffee","headers_cut":false,'
        '"kind":"email","names":{"ada@example.com":"Ada"}}'
    )
    assert from_json(json.loads(old)) == Message(
        "m1", WHEN, ("ada@example.com",), ("me@example.com",), subject="Re: coffee", names=(("ada@example.com", "Ada"),)
    )
