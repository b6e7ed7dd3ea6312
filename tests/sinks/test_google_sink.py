"""The Google Calendar hold sink against the fake Google server, through the real client."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, UTC
from zoneinfo import ZoneInfo

import pytest

from syncd.google.client import GoogleSession
from syncd.google.retry import RetryPolicy
from syncd.planner import NewHold, hold_event_id
from syncd.sinks import HoldSink, SinkError
from syncd.sinks.base import HoldGone
from syncd.sinks.google import GoogleHoldSink
from tests.fakegoogle import FakeGoogle

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Berlin


@pytest.fixture
def fake():
    with FakeGoogle() as server:
        yield server


def session_for_fake(fake: FakeGoogle, attempts: int = 8) -> GoogleSession:
    return GoogleSession(
        fake.credentials(), fake.root, retry=RetryPolicy(attempts=attempts, sleep=lambda seconds: None)
    )


def make(fake: FakeGoogle, calendar: str = "primary", **kw) -> GoogleHoldSink:
    kw.setdefault("tz", BERLIN)
    kw.setdefault("clock", lambda: NOW)
    return GoogleHoldSink(calendar, session_for_fake(fake), **kw)


def new_hold(contact: str = "ada-lovelace", start: datetime = T0, minutes: int = 30, attempt: int = 0) -> NewHold:
    cycle = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    return NewHold(
        contact,
        contact.replace("-", " ").title(),
        hold_event_id(contact, cycle, attempt),
        start,
        start + timedelta(minutes=minutes),
        cycle,
        "overdue",
    )


def log_of(fake: FakeGoogle, api: str) -> list[dict]:
    return [entry for entry in fake.log if entry["api"] == api]


def stored(fake: FakeGoogle, calendar: str = "primary") -> list[dict]:
    return fake.calendar_events(calendar)


def timed(start: datetime, minutes: int = 60, **extra) -> dict:
    return {
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
        **extra,
    }


# --------------------------------------------------------------------------- create


def test_insert_sends_exactly_the_hold(fake):
    sink = make(fake)
    assert isinstance(sink, HoldSink) and sink.name == "google:primary"
    hold = new_hold()
    written = sink.create(hold, "Coffee with Ada Lovelace", "Time to reach out.\nNotes: likes tea")
    (insert,) = log_of(fake, "calendar.events.insert")
    assert insert["path"] == "/calendar/v3/calendars/primary/events"
    assert insert["query"]["sendUpdates"] == ["none"]
    assert json.loads(insert["body"]) == {
        "id": hold.event_id,
        "summary": "Coffee with Ada Lovelace",
        "description": "Time to reach out.\nNotes: likes tea",
        "start": {"dateTime": "2026-11-24T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-24T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "transparency": "opaque",
        "visibility": "private",
        "reminders": {"useDefault": True},
        "extendedProperties": {"private": {"syncd": "hold", "contact": "ada-lovelace"}},
    }
    (event,) = stored(fake)
    assert event["id"] == hold.event_id and "attendees" not in event
    assert event["transparency"] == "opaque" and event["visibility"] == "private"
    assert all(len(key) <= 44 for key in event["extendedProperties"]["private"])
    assert written.event_id == hold.event_id and written.contact_id == "ada-lovelace"
    assert (written.start, written.end) == (T0, T0 + timedelta(minutes=30))
    assert written.title == "Coffee with Ada Lovelace" and not written.declined


def test_create_twice_gives_one_event(fake):
    sink = make(fake)
    first = sink.create(new_hold(), "Coffee", "")
    again = sink.create(new_hold(), "Coffee", "")
    assert again == first
    assert len(stored(fake)) == 1
    assert [e["status"] for e in log_of(fake, "calendar.events.insert")] == [200, 409]
    assert [e["status"] for e in log_of(fake, "calendar.events.get")] == [200]


def test_409_on_an_event_syncd_did_not_write_is_an_error_not_a_takeover(fake):
    hold = new_hold()
    fake.calendar_add_event(timed(T0, summary="Dentist", id=hold.event_id))
    sink = make(fake)
    with pytest.raises(SinkError) as caught:
        sink.create(hold, "Coffee", "")
    assert not isinstance(caught.value, HoldGone)
    assert "did not write" in str(caught.value)
    (event,) = stored(fake)
    assert event["summary"] == "Dentist" and "extendedProperties" not in event


def test_insert_retried_after_resets_does_not_duplicate(fake):
    sink = make(fake)
    # httplib2 silently retries one reset; the second reaches the session's backoff.
    fake.fail_next(2, "reset", methods=["calendar.events.insert"])
    written = sink.create(new_hold(), "Coffee", "")
    assert [e["status"] for e in log_of(fake, "calendar.events.insert")] == ["reset", "reset", 200]
    assert [e["id"] for e in stored(fake)] == [written.event_id]


def test_insert_whose_answer_was_lost_is_found_not_duplicated(fake):
    sink = make(fake)
    # The server books the hold but the answer never arrives, twice: the retries meet
    # the hold already there (409) and read it back.
    fake.fail_next(2, "lost", methods=["calendar.events.insert"])
    hold = new_hold()
    written = sink.create(hold, "Coffee", "")
    statuses = [e["status"] for e in log_of(fake, "calendar.events.insert")]
    assert statuses[:2] == ["lost", "lost"] and statuses[2:] == [409]
    assert written.event_id == hold.event_id and written.start == T0
    assert [e["id"] for e in stored(fake)] == [hold.event_id]


def test_create_fails_cleanly_when_google_keeps_failing(fake):
    sink = GoogleHoldSink("primary", session_for_fake(fake, attempts=3), tz=BERLIN, clock=lambda: NOW)
    fake.fail_next(3, "503", methods=["calendar.events.insert"])
    with pytest.raises(SinkError) as caught:
        sink.create(new_hold(), "Coffee", "")
    message = str(caught.value)
    assert message.startswith("google:primary: cannot book a hold") and "\n" not in message
    assert stored(fake) == []


def test_bad_ids_are_refused_before_any_request(fake):
    sink = make(fake)
    bad = NewHold("ada", "Ada", "Not_Base32!", T0, T0 + timedelta(minutes=30), None, "")
    with pytest.raises(SinkError):
        sink.create(bad, "Coffee", "")
    assert fake.calls["calendar.events.insert"] == 0


# --------------------------------------------------------------------------- list


def test_list_holds_pages_and_leaves_out_deleted_and_unmarked(fake):
    sink = make(fake, page_size=2)
    holds = [new_hold(f"contact-{i}", T0 + timedelta(days=i)) for i in range(5)]
    for hold in holds:
        sink.create(hold, "Coffee", "")
    fake.calendar_delete_event(holds[1].event_id)
    fake.calendar_add_event(timed(T0 + timedelta(hours=3), summary="Not ours"))
    fake.calendar_add_event(
        timed(
            T0 + timedelta(hours=4),
            summary="Other app",
            extendedProperties={"private": {"syncd": "other", "contact": "x"}},
        )
    )
    fake.reset_counters()
    listed = sink.list_holds()
    assert [h.event_id for h in listed] == [holds[i].event_id for i in (0, 2, 3, 4)]
    assert [h.contact_id for h in listed] == ["contact-0", "contact-2", "contact-3", "contact-4"]
    calls = log_of(fake, "calendar.events.list")
    assert len(calls) == 2
    query = calls[0]["query"]
    assert query["privateExtendedProperty"] == ["syncd=hold"] and query["singleEvents"] == ["true"]
    assert query["timeMin"] == ["2026-10-21T08:00:00Z"]  # now - 30 days
    assert "pageToken" in calls[1]["query"]


def test_list_holds_reports_declined_and_moved_holds(fake):
    sink = make(fake)
    declined, moved = new_hold("ada"), new_hold("bob", T0 + timedelta(days=1))
    sink.create(declined, "Coffee", "")
    sink.create(moved, "Coffee", "")
    fake.calendar_update_event(
        declined.event_id,
        {
            "attendees": [
                {"email": "me@example.com", "self": True, "responseStatus": "declined"},
                {"email": "friend@example.org", "responseStatus": "accepted"},
            ]
        },
    )
    fake.calendar_update_event(moved.event_id, timed(T0 + timedelta(days=2, hours=5), 45))
    by_contact = {h.contact_id: h for h in sink.list_holds()}
    assert by_contact["ada"].declined and by_contact["ada"].start == T0
    assert not by_contact["bob"].declined
    assert (by_contact["bob"].start, by_contact["bob"].end) == (
        T0 + timedelta(days=2, hours=5),
        T0 + timedelta(days=2, hours=5, minutes=45),
    )


def test_a_hold_made_recurring_counts_once_under_its_own_id(fake):
    sink = make(fake)
    hold = new_hold()
    sink.create(hold, "Coffee", "")
    fake.calendar_update_event(hold.event_id, {"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]})
    (listed,) = sink.list_holds()
    assert listed.event_id == hold.event_id and listed.start == T0


def test_list_holds_in_a_secondary_calendar(fake):
    fake.add_calendar("holds@group.calendar.google.com")
    sink = make(fake, "holds@group.calendar.google.com")
    sink.create(new_hold(), "Coffee", "")
    assert stored(fake) == []
    assert [h.contact_id for h in sink.list_holds()] == ["ada-lovelace"]
    assert sink.name == "google:holds@group.calendar.google.com"


# --------------------------------------------------------------------------- remove


def test_remove_deletes_only_marked_events(fake):
    sink = make(fake)
    hold = new_hold()
    sink.create(hold, "Coffee", "")
    theirs = fake.calendar_add_event(timed(T0 + timedelta(hours=2), summary="Mine", id="usersevent0001"))
    sink.remove(hold.event_id)
    sink.remove(theirs["id"])
    sink.remove("neverexisted01")
    sink.remove(hold.event_id)  # already deleted: nothing to do
    status = {e["id"]: e["status"] for e in stored(fake)}
    assert status == {hold.event_id: "cancelled", theirs["id"]: "confirmed"}
    deletes = log_of(fake, "calendar.events.delete")
    assert [e["path"].rsplit("/", 1)[-1] for e in deletes] == [hold.event_id]
    assert deletes[0]["query"]["sendUpdates"] == ["none"]
    assert sink.list_holds() == []


def test_remove_reports_failures(fake):
    sink = GoogleHoldSink("primary", session_for_fake(fake, attempts=2), tz=BERLIN, clock=lambda: NOW)
    hold = new_hold()
    sink.create(hold, "Coffee", "")
    fake.fail_next(2, "500", methods=["calendar.events.delete"])
    with pytest.raises(SinkError, match="cannot remove a hold"):
        sink.remove(hold.event_id)
    assert stored(fake)[0]["status"] == "confirmed"
