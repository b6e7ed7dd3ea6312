"""The CalDAV hold sink against a real Radicale: the promises every sink keeps, and CalDAV's own."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import icalendar
import pytest
from xml.etree import ElementTree

from syncd.planner import Interval, NewHold, hold_event_id
from syncd.sinks.base import SinkError, SinkSpecError
from syncd.sinks.caldav import CaldavHoldSink, caldav_sink
from syncd.sources.caldav_dav import CaldavAccount
from tests.servers.radicale import PASSWORD, USER, Radicale, event_ics, radicale  # noqa: F401

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def account(server: Radicale, password: str = PASSWORD) -> CaldavAccount:
    return CaldavAccount("home", server.url, USER, ["printf", "%s\\n", password])


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


def stored_event(server: Radicale, href: str) -> icalendar.Event:
    status, body = server.get(href)
    assert status == 200
    return next(iter(icalendar.Calendar.from_ical(body).walk("VEVENT")))


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


def test_create_twice_is_one_event_and_keeps_where_the_user_moved_it(radicale, calendar, sink):
    hold = new_hold()
    sink.create(hold, "Coffee with Ada", "")
    href = f"{calendar}{hold.event_id}.ics"
    event = stored_event(radicale, href)
    moved_to = hold.start + timedelta(days=1, hours=2)
    event["DTSTART"].dt = moved_to
    event["DTEND"].dt = moved_to + timedelta(minutes=30)
    moved = icalendar.Calendar()
    moved.add("VERSION", "2.0")
    moved.add("PRODID", "-//a calendar app//EN")
    moved.add_component(event)
    radicale.put(href, moved.to_ical().decode())
    again = CaldavHoldSink(account(radicale), f"{calendar}").create(hold, "Coffee with Ada", "")
    assert again.start == moved_to
    assert objects(radicale, calendar) == [href]
    assert [(h.event_id, h.start) for h in sink.list_holds()] == [(hold.event_id, moved_to)]


def test_only_syncd_holds_are_listed_and_removed(radicale, calendar, sink):
    user_event = f"{calendar}dentist.ics"
    radicale.put(user_event, event_ics("dentist", "20261124T100000Z", "20261124T110000Z"))
    hold = new_hold()
    sink.create(hold, "Coffee with Ada", "")
    assert [h.event_id for h in sink.list_holds()] == [hold.event_id]
    sink.remove("dentist")
    sink.remove(hold.event_id)
    sink.remove(hold.event_id)  # absent: nothing to do
    assert objects(radicale, calendar) == [user_event]
    assert sink.list_holds() == []


def test_remove_reads_the_etag_again_when_the_user_just_edited_the_hold(radicale, calendar, sink):
    hold = new_hold()
    sink.create(hold, "Coffee with Ada", "")
    assert sink.list_holds()
    href = f"{calendar}{hold.event_id}.ics"
    event = stored_event(radicale, href)
    event["SUMMARY"] = "Coffee with Ada (bring the notes)"
    edited = icalendar.Calendar()
    edited.add("VERSION", "2.0")
    edited.add("PRODID", "-//a calendar app//EN")
    edited.add_component(event)
    radicale.put(href, edited.to_ical().decode())
    sink.remove(hold.event_id)
    assert objects(radicale, calendar) == []


def test_a_hold_deleted_on_the_server_is_absent(radicale, calendar, sink):
    kept, deleted = new_hold("c1"), new_hold("c2", days=4)
    for hold in (kept, deleted):
        sink.create(hold, "Coffee", "")
    radicale.delete(f"{calendar}{deleted.event_id}.ics")
    assert [h.event_id for h in sink.list_holds()] == [kept.event_id]


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
