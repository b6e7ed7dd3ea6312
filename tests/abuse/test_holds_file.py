"""Abuse of the ICS holds file: an app that drops syncd's properties, the user's own events, hostile names."""

from __future__ import annotations

import re
from datetime import datetime, UTC
from pathlib import Path

import icalendar
import pytest

from tests.conftest import ics_calendar, ics_event

NOW = "2026-11-20T09:00:00+01:00"  # a Friday
LATER = "2026-11-20T10:00:00+01:00"
ME = "me@example.com"
CONTACTS = (
    '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
    '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n'
)
# Without anything in the holds file, the holds land here (see tests/test_holds_cli.py).
USUAL_SLOTS = {"bob-stone": "2026-11-24T12:00:00+01:00", "ada-lovelace": "2026-11-25T08:30:00+01:00"}


@pytest.fixture
def world(cli):
    (cli.home / "contacts.toml").write_text(CONTACTS)
    (cli.home / "cal.ics").write_text(
        ics_calendar(
            ics_event("m1", "20260901T090000Z", "20260901T100000Z", [ME, "ada@example.com"], organizer=ME),
            ics_event("m2", "20260801T090000Z", "20260801T100000Z", [ME, "bob@example.org"], organizer=ME),
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
        sink = "ics:{cli.home / "holds.ics"}"
        per_week = 2
        per_day = 1
    """)
    return cli


def holds_file(cli) -> Path:
    return cli.home / "holds.ics"


def vevents(cli) -> list[icalendar.Component]:
    return list(icalendar.Calendar.from_ical(holds_file(cli).read_bytes()).walk("VEVENT"))


def snoozes(cli, now: str) -> dict[str, str | None]:
    result = cli("cold", "--json", now=now)
    assert result.code == 0, result.err
    return {item["id"]: item["snoozed_until"] for item in result.json()}


def save_as_a_calendar_app_would(cli) -> None:
    """Re-serialise the file with icalendar, dropping the X-SYNCD-* properties as some apps do."""
    calendar = icalendar.Calendar.from_ical(holds_file(cli).read_bytes())
    for event in calendar.walk("VEVENT"):
        for name in [name for name in event if name.startswith("X-SYNCD-")]:
            del event[name]
    holds_file(cli).write_bytes(calendar.to_ical())


def test_holds_whose_syncd_properties_were_dropped_are_still_syncds_holds(world):
    assert world("sync", now=NOW).code == 0
    booked = world("holds", "--json", now=NOW).json()
    assert sorted(hold["contact_id"] for hold in booked) == ["ada-lovelace", "bob-stone"]
    save_as_a_calendar_app_would(world)
    assert "X-SYNCD" not in holds_file(world).read_text()

    again = world("sync", now=LATER)
    assert again.code == 0, again.err
    assert "deleted" not in again.out
    assert world("holds", "--json", now=LATER).json() == booked  # not deleted, not re-booked elsewhere
    assert sorted(str(event["UID"]) for event in vevents(world)) == sorted(hold["event_id"] for hold in booked)
    assert snoozes(world, LATER) == {"ada-lovelace": None, "bob-stone": None}

    # and syncd can still remove such a hold: Ada was seen, her hold goes
    assert world("touch", "ada", now="2026-11-20T12:00:00+01:00").code == 0
    assert world("sync", now="2026-11-20T12:05:00+01:00").code == 0
    bob = next(hold for hold in booked if hold["contact_id"] == "bob-stone")
    assert [str(event["UID"]) for event in vevents(world)] == [bob["event_id"]]
    assert snoozes(world, "2026-11-20T12:05:00+01:00")["bob-stone"] is None


def test_a_hold_the_user_deleted_after_the_app_dropped_the_properties_still_counts_as_deleted(world):
    world("sync", now=NOW)
    bob = next(hold for hold in world("holds", "--json", now=NOW).json() if hold["contact_id"] == "bob-stone")
    save_as_a_calendar_app_would(world)
    calendar = icalendar.Calendar.from_ical(holds_file(world).read_bytes())
    calendar.subcomponents[:] = [c for c in calendar.subcomponents if str(c.get("UID")) != bob["event_id"]]
    holds_file(world).write_bytes(calendar.to_ical())
    result = world("sync", now=LATER)
    assert "Bob Stone: you deleted their hold" in result.out
    assert snoozes(world, LATER)["bob-stone"] is not None
    assert len(vevents(world)) == 1


USER_EVENTS = [
    # Tuesday 12:00-12:30 local, Bob's usual slot
    ics_event("lunch-1@example.com", "20261124T110000Z", "20261124T113000Z", extra=["SUMMARY:Lunch with Kim"]),
    # every Wednesday 08:00-10:00 local from a week ago, over Ada's usual slot
    ics_event("standup-1@example.com", "20261118T070000Z", "20261118T090000Z", extra=["RRULE:FREQ=WEEKLY;COUNT=10"]),
    # marked free: not busy time
    ics_event("reminder-1@example.com", "20261124T130000Z", "20261124T133000Z", extra=["TRANSP:TRANSPARENT"]),
]


def test_the_users_events_in_the_holds_file_are_busy_time_and_left_byte_for_byte(world):
    original = ics_calendar(*USER_EVENTS)
    holds_file(world).write_text(original, newline="")
    result = world("sync", now=NOW)
    assert result.code == 0, result.err
    holds = world("holds", "--json", now=NOW).json()
    assert sorted(hold["contact_id"] for hold in holds) == ["ada-lovelace", "bob-stone"]
    busy = [
        (datetime(2026, 11, 24, 11, 0, tzinfo=UTC), datetime(2026, 11, 24, 11, 30, tzinfo=UTC)),
        (datetime(2026, 11, 25, 7, 0, tzinfo=UTC), datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 7, 0, tzinfo=UTC), datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ]
    for hold in holds:
        assert hold["start"] != USUAL_SLOTS[hold["contact_id"]]
        start, end = datetime.fromisoformat(hold["start"]), datetime.fromisoformat(hold["end"])
        assert all(end <= first or last <= start for first, last in busy), hold
    text = holds_file(world).read_bytes().decode()
    assert text.startswith(original[: original.rindex("END:VCALENDAR")])  # untouched, in place
    uids = [str(event["UID"]) for event in vevents(world)]
    assert sorted(uids) == sorted(
        ["lunch-1@example.com", "standup-1@example.com", "reminder-1@example.com"]
        + [hold["event_id"] for hold in holds]
    )
    # syncd later removing its holds never takes the user's events with them
    assert world("touch", "ada", now="2026-11-20T12:00:00+01:00").code == 0
    assert world("touch", "bob", now="2026-11-20T12:00:00+01:00").code == 0
    assert world("sync", now="2026-11-20T12:05:00+01:00").code == 0
    assert holds_file(world).read_bytes().decode() == original


HOSTILE = "Ada \\u001b[2J\\u001b]0;pwned\\u0007Love\\u009blace\\u202e"


def test_control_characters_in_names_and_notes_never_reach_the_holds_file_raw(world):
    (world.home / "contacts.toml").write_text(
        f'[[contact]]\nname = "{HOSTILE}"\nemails = ["ada@example.com"]\ntier = "meaningful"\n'
        'notes = "rings a bell\\u0007\\r\\nsecond line\\u0000 and a tab\\there"\n'
    )
    result = world("sync", now=NOW)
    assert result.code == 0, result.err
    raw = holds_file(world).read_bytes()
    text = raw.decode("utf-8")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]", text), text
    assert all(line.endswith("\r") for line in text.split("\n")[:-1])  # CRLF only, no stray CR or LF
    assert all(len(line.encode()) <= 76 for line in text.split("\n"))  # folded at 75 octets (+ CR)
    [event] = vevents(world)
    assert str(event["SUMMARY"]) == "Coffee with Ada \\x1b[2J\\x1b]0;pwned\\x07Love\\x9blace\\u202e"
    description = str(event["DESCRIPTION"])
    assert "Notes: rings a bell\\x07\nsecond line\\x00 and a tab\\x09here" in description
