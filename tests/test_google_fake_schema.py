"""The fake Google's answers against the discovery documents shipped in google-api-python-client.

The fake checks every JSON answer it sends in every test (tests/fakegoogle/schema.py);
here the checker itself is shown to catch drift, and each method syncd calls is driven
through the real client once, batches included, with no answer outside the schema.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from googleapiclient.http import BatchHttpRequest

from tests.fakegoogle import FakeGoogle
from tests.fakegoogle.schema import problems, request_problems, response_schema

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SYNCD_METHODS = {
    "calendar.events.list",
    "calendar.events.insert",
    "calendar.events.get",
    "calendar.events.delete",
    "calendar.freebusy.query",
    "calendar.calendarList.list",
    "gmail.users.messages.list",
    "gmail.users.messages.get",
    "gmail.users.history.list",
    "gmail.users.getProfile",
}


def timed(start: datetime, minutes: int = 30, **extra) -> dict:
    return {
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
        **extra,
    }


# --- the checker ----------------------------------------------------------------------


def test_every_method_syncd_calls_has_a_response_schema_but_delete():
    assert {method for method in SYNCD_METHODS if response_schema(method) is None} == {"calendar.events.delete"}
    with pytest.raises(KeyError):
        response_schema("calendar.events.teleport")


def test_unknown_fields_and_wrong_types_are_found_at_any_depth():
    found = problems(
        "calendar.events.list",
        {
            "kind": "calendar#events",
            "items": [
                {
                    "id": 7,
                    "colour": "red",
                    "start": {"dateTime": "tomorrow"},
                    "attendees": [{"email": "a@example.com", "optional": "yes"}],
                    "sequence": "1",
                    "extendedProperties": {"private": {"syncd": 1}},
                }
            ],
        },
    )
    assert sorted(found) == sorted(
        [
            "calendar.events.list.items[0].id: expected a string, got 7",
            "calendar.events.list.items[0].colour: no such field in the discovery document",
            "calendar.events.list.items[0].start.dateTime: expected an RFC 3339 date-time, got 'tomorrow'",
            "calendar.events.list.items[0].attendees[0].optional: expected a boolean, got 'yes'",
            "calendar.events.list.items[0].sequence: expected an integer, got '1'",
            "calendar.events.list.items[0].extendedProperties.private['syncd']: expected a string, got 1",
        ]
    )


def test_int64_fields_are_decimal_strings_and_int32_fields_numbers():
    assert problems("gmail.users.getProfile", {"historyId": "10001", "messagesTotal": 3}) == []
    assert problems("gmail.users.getProfile", {"historyId": 10001}) == [
        "gmail.users.getProfile.historyId: expected a string, got 10001"
    ]
    assert problems("gmail.users.messages.get", {"internalDate": "17e3"}) == [
        "gmail.users.messages.get.internalDate: expected a 64-bit integer as a decimal string, got '17e3'"
    ]
    assert problems("gmail.users.messages.get", {"sizeEstimate": 2**40}) == [
        f"gmail.users.messages.get.sizeEstimate: {2**40} does not fit int32"
    ]


def test_maps_are_checked_through_additional_properties():
    ok = {"calendars": {"primary": {"busy": [{"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T10:00:00Z"}]}}}
    assert problems("calendar.freebusy.query", ok) == []
    bad = {"calendars": {"primary": {"busy": [{"start": "2026-11-20T09:00:00Z", "until": "soon"}]}}}
    assert problems("calendar.freebusy.query", bad) == [
        "calendar.freebusy.query.calendars['primary'].busy[0].until: no such field in the discovery document"
    ]


def test_request_bodies_are_checked_too():
    hold = {"summary": "Coffee", "start": {"dateTime": "2026-11-20T09:00:00Z"}, "transparency": "opaque"}
    assert request_problems("calendar.events.insert", hold) == []
    assert request_problems("calendar.events.insert", {**hold, "busy": True}) == [
        "calendar.events.insert request.busy: no such field in the discovery document"
    ]
    assert request_problems("calendar.freebusy.query", {"items": [{"id": 1}]}) == [
        "calendar.freebusy.query request.items[0].id: expected a string, got 1"
    ]
    assert request_problems("calendar.events.delete", {}) == [
        "calendar.events.delete: sent a body, but the method takes none"
    ]


def test_a_drifted_answer_fails_the_fake_when_it_stops():
    fake = FakeGoogle(quota_units_per_second=None, now=lambda: NOW).start()
    fake.calendar_add_event(timed(NOW, colourName="red"))  # not a Calendar field: the fake echoes it
    fake.calendar_service().events().list(calendarId="primary").execute()
    with pytest.raises(AssertionError, match=r"items\[0\]\.colourName: no such field"):
        fake.stop()


# --- the fake, method by method -----------------------------------------------------------


def test_every_method_syncd_calls_answers_inside_the_discovery_documents():
    with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as fake:
        fake.add_calendar("team@group.calendar.google.com", summary="Team", time_zone="Europe/Berlin")
        fake.calendar_add_event(
            timed(NOW - timedelta(days=1), attendees=[{"email": "ada@example.com", "responseStatus": "accepted"}])
        )
        fake.calendar_add_event(
            {**timed(NOW + timedelta(days=1)), "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"], "summary": "Weekly"}
        )
        for hours in range(3):
            fake.gmail_add_message(
                {"From": "me@example.com", "To": "ada@example.com", "List-Id": "<x.example.com>"},
                NOW - timedelta(hours=hours + 1),
                labels=("SENT",),
            )
        calendar, gmail = fake.calendar_service(), fake.gmail_service()

        listed = calendar.events().list(calendarId="primary", singleEvents=True, timeMin="2026-11-01T00:00:00Z")
        listed = listed.execute()
        calendar.events().list(calendarId="primary", syncToken=listed["nextSyncToken"]).execute()
        hold = {
            **timed(NOW + timedelta(days=2)),
            "id": "holdada00001",
            "summary": "Coffee with Ada",
            "transparency": "opaque",
            "visibility": "private",
            "reminders": {"useDefault": True},
            "extendedProperties": {"private": {"syncd": "hold", "contact": "ada"}},
        }
        calendar.events().insert(calendarId="primary", body=hold, sendUpdates="none").execute()
        calendar.events().get(calendarId="primary", eventId="holdada00001").execute()
        calendar.events().delete(calendarId="primary", eventId="holdada00001", sendUpdates="none").execute()
        calendar.events().list(calendarId="primary", showDeleted=True).execute()
        body = {
            "timeMin": "2026-11-19T00:00:00Z",
            "timeMax": "2026-11-30T00:00:00Z",
            "items": [{"id": "primary"}, {"id": "team@group.calendar.google.com"}],
        }
        calendar.freebusy().query(body=body).execute()
        calendar.calendarList().list().execute()

        gmail.users().getProfile(userId="me").execute()
        ids = [item["id"] for item in gmail.users().messages().list(userId="me").execute()["messages"]]
        batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")
        for message_id in ids:
            batch.add(gmail.users().messages().get(userId="me", id=message_id, format="metadata"))
        batch.execute()
        fake.gmail_modify_labels(ids[0], add=("TRASH",))
        fake.gmail_delete_message(ids[1])
        gmail.users().history().list(userId="me", startHistoryId="1").execute()

        assert fake.schema_problems == []
        assert set(fake.schema_checked) >= SYNCD_METHODS
