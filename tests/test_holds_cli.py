"""The closed loop on real files through the real CLI: book, keep, respect, remove."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest

from tests.conftest import ics_calendar, ics_event

NOW = "2026-11-20T09:00:00+01:00"  # a Friday
ME = "me@example.com"


@pytest.fixture
def world(cli):
    home = cli.home
    (home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Dan Ignored"\nemails = ["dan@example.net"]\nignore = true\n'
    )
    (home / "cal.ics").write_text(
        ics_calendar(
            ics_event("m1", "20260901T090000Z", "20260901T100000Z", [ME, "ada@example.com"], organizer=ME),
            ics_event("m2", "20260801T090000Z", "20260801T100000Z", [ME, "bob@example.org"], organizer=ME),
            # Busy on Tuesday morning inside the first window: the hold must avoid it.
            ics_event("busy", "20261124T073000Z", "20261124T090000Z", [], organizer=None),
        )
    )
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [holds]
        sink = "ics:holds.ics"
        per_week = 2
        per_day = 1
    """)
    return cli


def holds_file(cli) -> Path:
    return cli.home / "holds.ics"


def hold_events(cli) -> list[icalendar.cal.Component]:
    calendar = icalendar.Calendar.from_ical(holds_file(cli).read_bytes())
    return [component for component in calendar.walk("VEVENT")]


def test_sync_books_holds_into_windows_and_repeats_nothing(world):
    first = world("sync", now=NOW)
    assert first.code == 0, first.err
    holds = world("holds", "--json", now=NOW).json()
    assert [hold["contact_id"] for hold in holds] == ["bob-stone", "ada-lovelace"]
    bob, ada = holds
    # Tuesday 08:30-10:00 is blocked by the busy event (07:30-09:00Z = 08:30-10:00 local), so
    # the first slot is Tuesday 12:00 local; the second hold goes to Wednesday (per_day = 1).
    assert bob["start"] == "2026-11-24T12:00:00+01:00" and bob["end"] == "2026-11-24T12:30:00+01:00"
    assert ada["start"] == "2026-11-25T08:30:00+01:00"
    assert all(hold["sink"] == f"ics:{world.home / 'holds.ics'}" for hold in holds)
    events = hold_events(world)
    assert sorted(str(event["UID"]) for event in events) == sorted(hold["event_id"] for hold in holds)
    for event in events:
        assert str(event["CLASS"]) == "PRIVATE" and str(event["TRANSP"]) == "OPAQUE"
        assert str(event["X-SYNCD-CONTACT"]) in ("bob-stone", "ada-lovelace")
        assert str(event["SUMMARY"]).startswith("Coffee with ")
        assert "ATTENDEE" not in event
    assert world("sync", now=NOW).code == 0
    assert world("sync", now="2026-11-20T10:00:00+01:00").code == 0
    assert world("holds", "--json", now=NOW).json() == holds
    assert len(hold_events(world)) == 2
    status = world("status", "--json", now=NOW).json()
    assert status["upcoming_holds"] == 2 and status["cold_count"] == 2


def test_dry_run_writes_nothing(world):
    result = world("sync", "--dry-run", now=NOW)
    assert result.code == 0
    assert "would book 2 hold(s)" in result.out and "Bob Stone" in result.out
    assert not holds_file(world).exists()
    assert world("holds", "--json", now=NOW).json() == []


def test_user_deleted_hold_is_not_rebooked(world):
    world("sync", now=NOW)
    text = holds_file(world).read_text()
    calendar = icalendar.Calendar.from_ical(text)
    kept = [
        component for component in calendar.subcomponents if str(component.get("X-SYNCD-CONTACT", "")) != "bob-stone"
    ]
    calendar.subcomponents[:] = kept
    holds_file(world).write_bytes(calendar.to_ical())
    result = world("sync", now="2026-11-20T10:00:00+01:00")
    assert result.code == 0
    assert "you deleted their hold" in result.out
    holds = world("holds", "--json", now=NOW).json()
    assert [hold["contact_id"] for hold in holds] == ["ada-lovelace"]
    bob = next(item for item in world("cold", "--json", now=NOW).json() if item["id"] == "bob-stone")
    assert bob["snoozed_until"] is not None and bob["snoozed_until"].startswith("2026-12-20")
    world("sync", now="2026-11-20T11:00:00+01:00")
    assert len(hold_events(world)) == 1


def test_user_moved_hold_stays_where_they_put_it(world):
    world("sync", now=NOW)
    text = holds_file(world).read_text()
    moved = text.replace("DTSTART:20261124T110000Z", "DTSTART:20261126T150000Z").replace(
        "DTEND:20261124T113000Z", "DTEND:20261126T153000Z"
    )
    assert moved != text
    holds_file(world).write_text(moved)
    assert world("sync", now="2026-11-20T10:00:00+01:00").code == 0
    bob = next(hold for hold in world("holds", "--json", now=NOW).json() if hold["contact_id"] == "bob-stone")
    assert bob["start"] == "2026-11-26T16:00:00+01:00"
    assert "DTSTART:20261126T150000Z" in holds_file(world).read_text()


def test_touch_removes_the_future_hold(world):
    world("sync", now=NOW)
    assert world("touch", "ada", now="2026-11-20T12:00:00+01:00").code == 0
    result = world("sync", now="2026-11-20T12:05:00+01:00")
    assert result.code == 0
    assert "touched" in result.out
    assert [hold["contact_id"] for hold in world("holds", "--json", now="2026-11-20T12:05:00+01:00").json()] == [
        "bob-stone"
    ]
    assert [str(event["X-SYNCD-CONTACT"]) for event in hold_events(world)] == ["bob-stone"]


def test_no_holds_while_a_source_fails(world):
    (world.home / "cal.ics").write_text("garbage")
    result = world("sync", now=NOW)
    assert result.code == 1
    assert not holds_file(world).exists()
    status = world("status", "--json", now=NOW)
    assert status.code == 1 and status.json()["problems"]


def test_user_events_in_the_holds_file_are_kept(world):
    holds_file(world).write_text(ics_calendar(ics_event("mine", "20261125T110000Z", "20261125T120000Z", [], None)))
    world("sync", now=NOW)
    uids = [str(event["UID"]) for event in hold_events(world)]
    assert "mine" in uids and len(uids) == 3
    ada = next(hold for hold in world("holds", "--json", now=NOW).json() if hold["contact_id"] == "ada-lovelace")
    assert ada["start"] == "2026-11-25T08:30:00+01:00"
