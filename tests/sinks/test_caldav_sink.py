"""The CalDAV hold sink against a real Radicale: the promises every sink keeps, and CalDAV's own."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from typing import Any

import icalendar
import pytest
from xml.etree import ElementTree

from syncd.planner import Interval, NewHold, hold_event_id
from syncd.sinks.base import SinkError, SinkSpecError
from syncd.sinks.caldav import CaldavHoldSink, caldav_sink
from syncd.sources.caldav_dav import CaldavAccount
from tests.servers.radicale import PASSWORD, USER, Radicale, event_ics, radicale  # noqa: F401
from tests.sinks.contract import NOW as CONTRACT_NOW, SinkContract

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def account(server: Radicale, password: str = PASSWORD) -> CaldavAccount:
    return CaldavAccount("home", server.url, USER, ["printf", "%s\\n", password])


def calendar_world_config(url: str, per_week: int) -> str:
    """A user whose meetings are in the Radicale calendar "Work" and whose holds go to "Coffee"."""
    return f"""
        [user]
        emails = ["me@example.com"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [[sources.caldav]]
        name = "home"
        url = "{url}"
        username = "{USER}"
        password_command = ["printf", "%s\\n", "{PASSWORD}"]
        calendars = ["Work"]
        [holds]
        sink = "caldav:home/Coffee"
        per_week = {per_week}
        per_day = 1
    """


def new_hold(contact: str = "c1", days: int = 3, attempt: int = 0) -> NewHold:
    start = NOW + timedelta(days=days)
    return NewHold(
        contact_id=contact,
        name="Ada Lovelace",
        start=start,
        end=start + timedelta(minutes=30),
        cycle=NOW - timedelta(days=40),
        event_id=hold_event_id(contact, NOW - timedelta(days=40), attempt),
        reason="overdue",
    )


@pytest.fixture
def calendar(radicale: Radicale) -> str:
    return radicale.make_calendar("coffee", "Coffee")


@pytest.fixture
def sink(radicale: Radicale, calendar: str) -> CaldavHoldSink:
    return CaldavHoldSink(account(radicale), "Coffee", clock=lambda: NOW)


def objects(server: Radicale, calendar: str) -> list[str]:
    """The hrefs in the calendar, as the server lists them."""
    status, _, body = server.request("PROPFIND", calendar, "", {"Depth": "1"})
    assert status == 207
    hrefs = [href.text or "" for href in ElementTree.fromstring(body).iter("{DAV:}href")]
    return sorted(href for href in hrefs if href.endswith(".ics"))


def stored_event(server: Radicale, href: str) -> Any:
    """The VEVENT stored at `href`, as icalendar reads it."""
    status, body = server.get(href)
    assert status == 200
    return next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))


def retime(event: Any, start: datetime, end: datetime) -> None:
    """Move an event, as a person dragging it in a calendar app does."""
    for name, when in (("DTSTART", start), ("DTEND", end)):
        del event[name]
        event.add(name, when)


def rewrite(server: Radicale, href: str, event: Any) -> None:
    """PUT an edited event back, as a calendar app saves it."""
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//a calendar app//EN")
    calendar.add_component(event)
    server.put(href, calendar.to_ical().decode())


class RadicaleSinkWorld:
    """The sink over one Radicale calendar; the user's edits are other clients' PUTs and DELETEs."""

    keeps_deleted = False  # CalDAV forgets a deleted object: its href may be written again

    def __init__(self, server: Radicale):
        self.server = server
        self.calendar = server.make_calendar("coffee", "Coffee")
        self.sink = CaldavHoldSink(account(server), "Coffee", clock=lambda: CONTRACT_NOW)

    def href(self, event_id: str) -> str:
        return f"{self.calendar}{event_id}.ics"

    def add_event(self, event_id: str, start: datetime, end: datetime) -> None:
        self.server.put(self.href(event_id), event_ics(event_id, f"{start:%Y%m%dT%H%M%SZ}", f"{end:%Y%m%dT%H%M%SZ}"))

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        event = stored_event(self.server, self.href(event_id))
        retime(event, start, end)
        rewrite(self.server, self.href(event_id), event)

    def delete(self, event_id: str) -> None:
        self.server.delete(self.href(event_id))

    def has_event(self, event_id: str) -> bool:
        return self.server.get(self.href(event_id))[0] == 200

    def description(self, event_id: str) -> str:
        return str(stored_event(self.server, self.href(event_id))["DESCRIPTION"])


class TestCaldavSinkContract(SinkContract):
    @pytest.fixture
    def world(self, radicale):
        return RadicaleSinkWorld(radicale)


def test_create_puts_one_marked_private_event_under_its_own_href(radicale, calendar, sink):
    hold = new_hold()
    written = sink.create(hold, "Coffee with Ada", "You last met on Monday.\nNotes: likes tea")
    assert (written.event_id, written.contact_id, written.start, written.end) == (
        hold.event_id,
        "c1",
        hold.start,
        hold.end,
    )
    assert objects(radicale, calendar) == [f"{calendar}{hold.event_id}.ics"]
    event = stored_event(radicale, f"{calendar}{hold.event_id}.ics")
    assert str(event["UID"]) == hold.event_id
    assert str(event["X-SYNCD-CONTACT"]) == "c1" and str(event["X-SYNCD-HOLD"]) == "1"
    assert str(event["CLASS"]) == "PRIVATE" and str(event["TRANSP"]) == "OPAQUE"
    assert str(event["DESCRIPTION"]) == "You last met on Monday.\nNotes: likes tea"
    assert [(h.event_id, h.title) for h in sink.list_holds()] == [(hold.event_id, "Coffee with Ada")]


def test_a_hold_the_user_edited_since_it_was_listed_is_still_removed(radicale, calendar, sink):
    hold = new_hold()
    sink.create(hold, "Coffee with Ada", "")
    assert sink.list_holds()
    href = f"{calendar}{hold.event_id}.ics"
    event = stored_event(radicale, href)
    event["SUMMARY"] = "Coffee with Ada (bring the notes)"
    rewrite(radicale, href, event)
    sink.remove(hold.event_id)
    assert objects(radicale, calendar) == []


def test_a_hold_stripped_of_its_marks_by_a_client_is_still_a_hold(radicale, calendar, sink):
    hold = new_hold()
    href = f"{calendar}{hold.event_id}.ics"
    radicale.put(href, event_ics(hold.event_id, "20261123T090000Z", "20261123T093000Z"))
    assert [h.event_id for h in sink.list_holds()] == [hold.event_id]


def test_busy_has_the_calendars_events_and_holds(radicale, calendar, sink):
    weekly = event_ics("standup", "20261116T080000Z", "20261116T081500Z", extra="RRULE:FREQ=DAILY;COUNT=10")
    radicale.put(f"{calendar}standup.ics", weekly)
    free = event_ics("reminder", "20261123T120000Z", "20261123T130000Z", extra="TRANSP:TRANSPARENT")
    radicale.put(f"{calendar}reminder.ics", free)
    hold = new_hold(days=3)
    sink.create(hold, "Coffee", "")
    window_start, window_end = NOW, NOW + timedelta(days=4)
    busy = sink.busy(window_start, window_end)
    standups = [
        Interval(day, day + timedelta(minutes=15))
        for day in (datetime(2026, 11, 21 + n, 8, 0, tzinfo=UTC) for n in range(4))
        if day < window_end
    ]
    assert busy == sorted([*standups, Interval(hold.start, hold.end)], key=lambda i: (i.start, i.end))


def test_unknown_calendar_or_account_is_one_clear_line(radicale, calendar):
    with pytest.raises(SinkError) as raised:
        CaldavHoldSink(account(radicale), "Holidays").list_holds()
    assert str(raised.value) == f"caldav:home/Holidays: no calendar 'Holidays' at {radicale.url} (found: 'Coffee')"
    with pytest.raises(SinkSpecError, match="no \\[\\[sources.caldav\\]\\] table named 'work' \\(found: 'home'\\)"):
        caldav_sink("work/Coffee", [account(radicale)])
    with pytest.raises(SinkSpecError, match="expected 'caldav:NAME/CALENDAR'"):
        caldav_sink("home", [account(radicale)])


def test_wrong_password_fails_with_a_line_that_never_shows_it(radicale, calendar):
    wrong = "Wr0ng-and-secret-pw"
    with pytest.raises(SinkError) as raised:
        CaldavHoldSink(account(radicale, wrong), "Coffee").list_holds()
    message = str(raised.value)
    assert message.startswith("caldav:home/Coffee: ") and "syncd auth caldav:home" in message
    assert wrong not in message and PASSWORD not in message and "\n" not in message


# ---------------------------------------------------------------- the whole run, through the CLI

E2E_NOW = "2026-11-20T09:00:00+01:00"
E2E_LATER = "2026-11-20T10:00:00+01:00"


@pytest.fixture
def account_world(cli, radicale):
    """One CalDAV account: meetings in "Work" (the source), holds in "Coffee" (the sink)."""
    work = radicale.make_calendar("work", "Work")
    radicale.make_calendar("coffee", "Coffee")
    seen = {"ada": ("ada@example.com", "20260901T090000Z"), "bob": ("bob@example.org", "20260801T090000Z")}
    for uid, (address, start) in seen.items():
        radicale.put(f"{work}{uid}.ics", event_ics(uid, start, start[:9] + "100000Z", attendees=(address,)))
    # Busy on Tuesday morning in the first window: no hold may land on it.
    radicale.put(f"{work}dentist.ics", event_ics("dentist", "20261124T073000Z", "20261124T090000Z"))
    (cli.home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n'
    )
    cli.write_config(calendar_world_config(radicale.url, per_week=2))
    cli.server = radicale
    return cli


def live_holds(server: Radicale) -> dict[str, Any]:
    """contact id → syncd's events in the Coffee calendar, read straight from the server."""
    out: dict[str, Any] = {}
    for href in objects(server, "/ada/coffee/"):
        event = stored_event(server, href)
        assert str(event["X-SYNCD-CONTACT"]) not in out, "two holds for one contact"
        out[str(event["X-SYNCD-CONTACT"])] = event
    return out


def test_sync_books_around_busy_time_and_repeats_nothing(account_world):
    cli = account_world
    result = cli("sync", now=E2E_NOW)
    assert result.code == 0, result.err
    held = cli("holds", "--json", now=E2E_NOW).json()
    assert sorted(h["contact_id"] for h in held) == ["ada-lovelace", "bob-stone"]
    on_server = live_holds(cli.server)
    dentist = Interval(datetime(2026, 11, 24, 7, 30, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    for event in on_server.values():
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert not (start < dentist.end + timedelta(minutes=15) and dentist.start - timedelta(minutes=15) < end)
    assert {h["event_id"] for h in held} == {str(event["UID"]) for event in on_server.values()}
    assert cli("sync", now=E2E_LATER).code == 0
    assert cli("holds", "--json", now=E2E_LATER).json() == held
    assert set(live_holds(cli.server)) == {"ada-lovelace", "bob-stone"}


def test_a_hold_deleted_on_the_server_rests_the_contact_and_a_moved_one_stays(account_world):
    cli = account_world
    assert cli("sync", now=E2E_NOW).code == 0
    on_server = live_holds(cli.server)
    bob, ada = on_server["bob-stone"], on_server["ada-lovelace"]
    cli.server.delete(f"/ada/coffee/{bob['UID']}.ics")
    moved_to = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    retime(ada, moved_to, moved_to + timedelta(minutes=30))
    rewrite(cli.server, f"/ada/coffee/{ada['UID']}.ics", ada)
    result = cli("sync", now=E2E_LATER)
    assert result.code == 0, result.err
    assert "Bob Stone: you deleted their hold" in result.out
    held = {h["contact_id"]: h for h in cli("holds", "--json", now=E2E_LATER).json()}
    assert list(held) == ["ada-lovelace"] and held["ada-lovelace"]["start"] == "2026-11-26T16:00:00+01:00"
    cold = {c["id"]: c for c in cli("cold", "--json", now=E2E_LATER).json()}
    assert cold["bob-stone"]["snoozed_until"].startswith("2026-12-20")
    assert cli("sync", now="2026-11-20T11:00:00+01:00").code == 0
    assert set(live_holds(cli.server)) == {"ada-lovelace"}
    assert live_holds(cli.server)["ada-lovelace"].decoded("DTSTART") == moved_to
