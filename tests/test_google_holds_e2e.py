"""The closed loop on Google Calendar through the real CLI (a subprocess) and the fake Google.

The fake server runs in the test process; `syncd` talks to it through `[sources.google]
api_endpoint` with a token from `token_file`. The same calendar is the meeting source (the
Google Calendar source syncs it), the busy-time source (free/busy) and the hold sink.
"""

from __future__ import annotations

import json
from datetime import datetime, UTC

import pytest

from tests.fakegoogle import FakeGoogle

NOW = "2026-11-20T09:00:00+01:00"  # a Friday
LATER = "2026-11-20T10:00:00+01:00"
ME = "me@example.com"
UTC = UTC
WRITES = ("calendar.events.insert", "calendar.events.delete", "calendar.events.patch", "calendar.events.update")


def timed(start: str, end: str, **extra) -> dict:
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def meeting_with(address: str, start: str, end: str) -> dict:
    return timed(
        start,
        end,
        summary="catch-up",
        organizer={"email": ME, "self": True},
        attendees=[
            {"email": ME, "self": True, "responseStatus": "accepted"},
            {"email": address, "responseStatus": "accepted"},
        ],
    )


@pytest.fixture
def fake():
    with FakeGoogle(ME) as server:
        yield server


def write_google_world(
    cli, fake: FakeGoogle, *, sink: str = "google:primary", per_week: int = 2, extra: str = ""
) -> None:
    """Contacts, a token file and a config for `fake`; the calendar is seeded by the caller."""
    home = cli.home
    (home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Dan Ignored"\nemails = ["dan@example.net"]\nignore = true\n'
    )
    token = home / "token.json"
    token.write_text(json.dumps(fake.authorized_user_info()))
    token.chmod(0o600)
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.google]
        enabled = true
        api_endpoint = "{fake.root}"
        token_file = "token.json"
        calendars = ["primary"]
        gmail = false
        [holds]
        sink = "{sink}"
        per_week = {per_week}
        per_day = 1
        {extra}
    """)


def seed_calendar(fake: FakeGoogle) -> dict:
    # The user's calendar lives in their zone, so an all-day event is their whole day.
    fake.add_calendar(ME, summary=ME, primary=True, time_zone="Europe/Berlin")
    fake.calendar_add_event(meeting_with("ada@example.com", "2026-09-01T09:00:00Z", "2026-09-01T10:00:00Z"))
    fake.calendar_add_event(meeting_with("bob@example.org", "2026-08-01T09:00:00Z", "2026-08-01T10:00:00Z"))
    # Busy on Tuesday morning inside the first window: holds must go around it.
    fake.calendar_add_event(timed("2026-11-24T07:30:00Z", "2026-11-24T09:00:00Z", summary="Dentist"))
    # Out of office all Wednesday (an all-day opaque event): no hold that day.
    fake.calendar_add_event({"start": {"date": "2026-11-25"}, "end": {"date": "2026-11-26"}, "summary": "OOO"})
    # The user's own event, never to be touched by syncd.
    return fake.calendar_add_event(timed("2026-11-26T11:00:00Z", "2026-11-26T12:00:00Z", summary="Lunch with the team"))


@pytest.fixture
def world(cli, fake):
    lunch = seed_calendar(fake)
    write_google_world(cli, fake)
    cli.fake = fake
    cli.lunch = lunch
    return cli


def live_holds(fake: FakeGoogle) -> dict[str, dict]:
    """contact id → the marked, not cancelled events in the fake's primary calendar."""
    out: dict[str, dict] = {}
    for event in fake.calendar_events():
        private = (event.get("extendedProperties") or {}).get("private") or {}
        if private.get("syncd") == "hold" and event.get("status") != "cancelled":
            assert private["contact"] not in out, "two live holds for one contact"
            out[private["contact"]] = event
    return out


def start_of(event: dict) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"]).astimezone(UTC)


def test_books_around_busy_time_and_out_of_office_and_repeats_nothing(world):
    fake = world.fake
    first = world("sync", now=NOW)
    assert first.code == 0, first.err
    assert "booked 2 hold(s)" in first.out
    holds = world("holds", "--json", now=NOW).json()
    assert [h["contact_id"] for h in holds] == ["bob-stone", "ada-lovelace"]
    bob, ada = holds
    # Tuesday 08:30-10:00 is the dentist, so Bob gets Tuesday 12:00; Wednesday is out of
    # office, so Ada (per_day = 1) gets Thursday morning.
    assert (bob["start"], bob["end"]) == ("2026-11-24T12:00:00+01:00", "2026-11-24T12:30:00+01:00")
    assert (ada["start"], ada["end"]) == ("2026-11-26T08:30:00+01:00", "2026-11-26T09:00:00+01:00")
    assert all(h["sink"] == "google:primary" for h in holds)
    events = live_holds(fake)
    assert {c: e["id"] for c, e in events.items()} == {h["contact_id"]: h["event_id"] for h in holds}
    for event in events.values():
        assert event["summary"].startswith("Coffee with ") and "attendees" not in event
        assert event["transparency"] == "opaque" and event["visibility"] == "private"
    assert all(e["query"].get("sendUpdates") == ["none"] for e in fake.log if e["api"] == "calendar.events.insert")
    fake.reset_counters()
    again = world("sync", now=NOW)
    assert again.code == 0, again.err
    later = world("sync", now=LATER)
    assert later.code == 0, later.err
    assert world("holds", "--json", now=NOW).json() == holds
    assert sum(fake.calls[name] for name in WRITES) == 0
    assert len([e for e in fake.calendar_events() if (e.get("extendedProperties") or {}).get("private")]) == 2
    status = world("status", "--json", now=NOW).json()
    assert status["upcoming_holds"] == 2 and status["cold_count"] == 2
    assert [s["name"] for s in status["sources"]] == ["google_calendar:primary"]


def test_dry_run_writes_nothing(world):
    fake = world.fake
    before = fake.calendar_events()
    result = world("sync", "--dry-run", now=NOW)
    assert result.code == 0, result.err
    assert "would book 2 hold(s)" in result.out and "Bob Stone" in result.out
    assert fake.calendar_events() == before
    assert sum(fake.calls[name] for name in WRITES) == 0
    assert fake.calls["calendar.freebusy.query"] >= 1  # it did look at busy time
    assert world("holds", "--json", now=NOW).json() == []


def test_user_deleted_hold_is_not_rebooked_and_the_contact_rests(world):
    fake = world.fake
    world("sync", now=NOW)
    bob = live_holds(fake)["bob-stone"]
    fake.calendar_delete_event(bob["id"])
    result = world("sync", now=LATER)
    assert result.code == 0, result.err
    assert "Bob Stone: you deleted their hold" in result.out
    assert [h["contact_id"] for h in world("holds", "--json", now=LATER).json()] == ["ada-lovelace"]
    cold = {c["id"]: c for c in world("cold", "--json", now=LATER).json()}
    assert cold["bob-stone"]["snoozed_until"].startswith("2026-12-20")
    fake.reset_counters()
    assert world("sync", now="2026-11-20T11:00:00+01:00").code == 0
    assert fake.calls["calendar.events.insert"] == 0
    assert set(live_holds(fake)) == {"ada-lovelace"}
    assert fake.calendar_get_event(bob["id"])["status"] == "cancelled"


def test_user_moved_hold_stays_where_they_put_it(world):
    fake = world.fake
    world("sync", now=NOW)
    bob = live_holds(fake)["bob-stone"]
    fake.calendar_update_event(bob["id"], timed("2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z"))
    fake.reset_counters()
    result = world("sync", now=LATER)
    assert result.code == 0, result.err
    held = {h["contact_id"]: h for h in world("holds", "--json", now=LATER).json()}
    assert held["bob-stone"]["start"] == "2026-11-26T16:00:00+01:00"
    assert held["bob-stone"]["event_id"] == bob["id"]
    assert start_of(live_holds(fake)["bob-stone"]) == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert sum(fake.calls[name] for name in WRITES) == 0


def test_touch_removes_the_future_hold_and_never_touches_unmarked_events(world):
    fake = world.fake
    lunch = world.lunch
    # Another app's event with a private "syncd" property of its own, in a window.
    other = fake.calendar_add_event(
        timed(
            "2026-12-02T07:30:00Z",
            "2026-12-02T07:45:00Z",
            summary="Other app",
            extendedProperties={"private": {"syncd": "not-a-hold", "contact": "ada-lovelace"}},
        )
    )
    world("sync", now=NOW)
    ada = live_holds(fake)["ada-lovelace"]
    assert world("touch", "ada", now="2026-11-20T12:00:00+01:00").code == 0
    result = world("sync", now="2026-11-20T12:05:00+01:00")
    assert result.code == 0, result.err
    assert "touched" in result.out
    assert [h["contact_id"] for h in world("holds", "--json", now="2026-11-20T12:05:00+01:00").json()] == ["bob-stone"]
    assert set(live_holds(fake)) == {"bob-stone"}
    assert fake.calendar_get_event(ada["id"])["status"] == "cancelled"
    # A week later (holds over, contacts resting or warm): still only syncd's own events changed.
    assert world("sync", now="2026-11-28T09:00:00+01:00").code == 0
    for original in (lunch, other):
        current = fake.calendar_get_event(original["id"])
        assert (current["status"], current["etag"], current["sequence"]) == (
            original["status"],
            original["etag"],
            original["sequence"],
        )
        assert [e for e in fake.log if e["path"].endswith("/" + original["id"]) and e["api"] in WRITES] == []
    written = {
        e["path"].rsplit("/", 1)[-1]
        for e in fake.log
        if e["api"] in ("calendar.events.delete", "calendar.events.patch", "calendar.events.update")
    }
    assert written == {ada["id"]}


def test_freebusy_failure_books_nothing_and_says_why(world):
    fake = world.fake
    world("sync", now=NOW)
    before = fake.calendar_events()
    holds_before = world("holds", "--json", now=NOW).json()
    # An authorisation from before syncd asked for free/busy: Google answers 403.
    fake.auth.scopes = tuple(scope for scope in fake.auth.scopes if not scope.endswith("calendar.freebusy"))
    world("touch", "ada", now="2026-11-20T12:00:00+01:00")  # a change the planner would act on
    fake.reset_counters()
    result = world("sync", now="2026-11-20T12:05:00+01:00")
    assert result.code == 1
    assert "no holds booked" in result.err and "free/busy" in result.err and "syncd auth" in result.err
    assert "Traceback" not in result.err and "ya29" not in result.err and "fake-refresh" not in result.err
    assert fake.calls["calendar.events.insert"] == 0
    assert fake.calendar_events() == before
    # The touched contact's hold stays in the store as it was (nothing was planned).
    assert world("holds", "--json", now=NOW).json() == holds_before
    status = world("status", "--json", now="2026-11-20T12:05:00+01:00")
    assert status.code == 1
    assert "free/busy" in status.json()["holds_error"]
    assert any(problem.startswith("holds: ") for problem in status.json()["problems"])
    # Once the scope is back, the next sync books again and status is clean.
    fake.auth.scopes = fake.auth.scopes + ("https://www.googleapis.com/auth/calendar.freebusy",)
    assert world("sync", now="2026-11-20T12:10:00+01:00").code == 0
    assert world("status", "--json", now="2026-11-20T12:10:00+01:00").json()["holds_error"] is None


def test_a_secondary_hold_calendar_avoids_busy_time_in_both_calendars(cli, fake):
    """The hold calendar differs from the synced one; busy time comes from both."""
    fake.add_calendar("holds")
    seed_calendar(fake)
    # Tuesday 12:00-13:30 local is busy in the hold calendar itself.
    fake.calendar_add_event(timed("2026-11-24T11:00:00Z", "2026-11-24T12:30:00Z", summary="blocked"), "holds")
    write_google_world(cli, fake, sink="google:holds")
    result = cli("sync", now=NOW)
    assert result.code == 0, result.err
    holds = cli("holds", "--json", now=NOW).json()
    assert [(h["contact_id"], h["start"], h["sink"]) for h in holds] == [
        ("bob-stone", "2026-11-26T08:30:00+01:00", "google:holds"),
        ("ada-lovelace", "2026-12-01T08:30:00+01:00", "google:holds"),
    ]
    assert live_holds(fake) == {}  # nothing in the primary calendar
    queried = {
        item["id"] for e in fake.log if e["api"] == "calendar.freebusy.query" for item in json.loads(e["body"])["items"]
    }
    assert queried == {"primary", "holds"}
