"""The ICS hold sink when the file is shared: other stores write it, apps edit it, the user adds events."""

from __future__ import annotations

import re
import threading
from datetime import datetime, UTC

import pytest

from syncd.intervals import Interval
from syncd.lock import file_lock
from syncd.planner import hold_event_id
from syncd.sinks import SinkError
from syncd.sinks.ics import IcsHoldSink
from syncd.sinks.ics_file import is_hold_uid
from tests.sinks.test_ics_sink import BERLIN, STAMP, events, new_hold, path, raw_text, sink, write_raw

__all__ = ["path", "sink"]  # fixtures shared with test_ics_sink


def test_hold_ids_have_the_form_the_sink_recognises():
    for contact, cycle, attempt in [("ada", None, 0), ("bob-stone", STAMP, 0), ("x" * 80, STAMP, 3)]:
        assert is_hold_uid(hold_event_id(contact, cycle, attempt))
    assert not is_hold_uid("user-event-1@example.com")
    assert not is_hold_uid("040000008200E00074C5B7101A82E00800000000")


def test_a_hold_without_syncd_properties_is_still_a_hold(sink, path):
    h = new_hold()
    sink.create(h, "Coffee with Ada", "")
    write_raw(path, raw_text(path).replace("X-SYNCD-CONTACT:ada\r\n", "").replace("X-SYNCD-HOLD:1\r\n", ""))
    [listed] = sink.list_holds()
    assert (listed.event_id, listed.start, listed.end) == (h.event_id, h.start, h.end)
    assert sink.create(h, "Coffee with Ada", "").contact_id == "ada"  # a retry books nothing new
    assert len(events(path)) == 1
    assert sink.busy(h.start, h.end) == [Interval(h.start, h.end)]
    sink.remove(h.event_id)
    assert events(path) == {}


USER_EVENTS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Someone//EN\r\n"
    # floating time: read in the sink's zone (Berlin)
    "BEGIN:VEVENT\r\nUID:floating\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260602T100000\r\n"
    "DTEND:20260602T110000\r\nEND:VEVENT\r\n"
    # a daily series, one occurrence moved, one cancelled
    "BEGIN:VEVENT\r\nUID:daily\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260601T060000Z\r\n"
    "DTEND:20260601T063000Z\r\nRRULE:FREQ=DAILY;COUNT=4\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:daily\r\nDTSTAMP:20260501T000000Z\r\nRECURRENCE-ID:20260602T060000Z\r\n"
    "DTSTART:20260602T120000Z\r\nDTEND:20260602T123000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:daily\r\nDTSTAMP:20260501T000000Z\r\nRECURRENCE-ID:20260603T060000Z\r\n"
    "DTSTART:20260603T060000Z\r\nDTEND:20260603T063000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n"
    # all day: the whole day in the sink's zone
    "BEGIN:VEVENT\r\nUID:offsite\r\nDTSTAMP:20260501T000000Z\r\nDTSTART;VALUE=DATE:20260605\r\n"
    "DTEND;VALUE=DATE:20260606\r\nEND:VEVENT\r\n"
    # marked free: not busy
    "BEGIN:VEVENT\r\nUID:free\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260602T150000Z\r\n"
    "DTEND:20260602T160000Z\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n"
    # two copies of one event (an app duplicated it, UID and all), and one without a UID: each busy
    "BEGIN:VEVENT\r\nUID:copied\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260606T080000Z\r\n"
    "DTEND:20260606T090000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:copied\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260607T080000Z\r\n"
    "DTEND:20260607T090000Z\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260607T100000Z\r\n"
    "DTEND:20260607T110000Z\r\nEND:VEVENT\r\n"
    # a series that cannot be expanded costs itself only
    "BEGIN:VEVENT\r\nUID:broken\r\nDTSTAMP:20260501T000000Z\r\nDTSTART:20260601T090000Z\r\n"
    "DTEND:20260601T100000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_the_users_events_in_the_file_are_busy_time_and_never_holds(sink, path):
    path.parent.mkdir(parents=True)
    write_raw(path, USER_EVENTS)
    assert sink.list_holds() == []
    busy = sink.busy(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
    assert busy == [
        Interval(datetime(2026, 6, 1, 6, 0, tzinfo=UTC), datetime(2026, 6, 1, 6, 30, tzinfo=UTC)),
        Interval(datetime(2026, 6, 2, 8, 0, tzinfo=UTC), datetime(2026, 6, 2, 9, 0, tzinfo=UTC)),
        Interval(datetime(2026, 6, 2, 12, 0, tzinfo=UTC), datetime(2026, 6, 2, 12, 30, tzinfo=UTC)),
        Interval(datetime(2026, 6, 4, 6, 0, tzinfo=UTC), datetime(2026, 6, 4, 6, 30, tzinfo=UTC)),
        Interval(datetime(2026, 6, 4, 22, 0, tzinfo=UTC), datetime(2026, 6, 5, 22, 0, tzinfo=UTC)),
        Interval(datetime(2026, 6, 6, 8, 0, tzinfo=UTC), datetime(2026, 6, 6, 9, 0, tzinfo=UTC)),
        Interval(datetime(2026, 6, 7, 8, 0, tzinfo=UTC), datetime(2026, 6, 7, 9, 0, tzinfo=UTC)),
        Interval(datetime(2026, 6, 7, 10, 0, tzinfo=UTC), datetime(2026, 6, 7, 11, 0, tzinfo=UTC)),
    ]
    h = new_hold(start=datetime(2026, 6, 2, 8, 0, tzinfo=UTC))
    sink.create(h, "Coffee", "")
    for uid in ("floating", "daily", "offsite", "free", "copied", "", "broken", h.event_id):
        sink.remove(uid)
    assert raw_text(path) == USER_EVENTS


def test_a_write_waits_for_the_lock_and_keeps_what_was_written_meanwhile(sink, path, tmp_path):
    """Another store writes the file while this one waits for the lock: its hold survives."""
    other = IcsHoldSink(tmp_path / "other.ics", tz=BERLIN, clock=lambda: STAMP)
    theirs, mine = new_hold("bob"), new_hold("ada", start=datetime(2026, 6, 3, 7, tzinfo=UTC))
    other.create(theirs, "Coffee with Bob", "")
    path.parent.mkdir(parents=True)
    with file_lock(path.with_name("holds.ics.lock"), 1.0, "test"):
        writer = threading.Thread(target=sink.create, args=(mine, "Coffee with Ada", ""))
        writer.start()
        writer.join(0.3)
        path.write_bytes((tmp_path / "other.ics").read_bytes())  # as the other store would, under the lock
    writer.join()
    assert sorted(events(path)) == sorted([theirs.event_id, mine.event_id])


def test_the_lock_file_sits_beside_the_real_file(tmp_path):
    real = tmp_path / "real" / "holds.ics"
    real.parent.mkdir()
    (tmp_path / "link.ics").symlink_to(real)
    IcsHoldSink(tmp_path / "link.ics", clock=lambda: STAMP).create(new_hold(), "Coffee", "")
    assert (tmp_path / "link.ics").is_symlink() and real.exists()
    assert sorted(p.name for p in real.parent.iterdir()) == ["holds.ics", "holds.ics.lock"]


def test_a_symlinked_lock_file_is_refused_and_its_target_kept(sink, path, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path.parent.mkdir(parents=True)
    path.with_name("holds.ics.lock").symlink_to(victim)
    with pytest.raises(SinkError) as err:
        sink.create(new_hold(), "Coffee", "")
    assert "holds.ics.lock" in str(err.value) and "symbolic link" in str(err.value) and "\n" not in str(err.value)
    assert victim.read_text() == "precious" and not path.exists()


def test_control_characters_are_escaped_and_lines_stay_folded(sink, path):
    title = "Coffee with \x1b[2JAda\x07\u202e" + "é" * 80
    sink.create(new_hold(), title, "line one\r\nline\x00two\n\x9b31m")
    raw = path.read_bytes()
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    text = raw.decode("utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202e]", text)
    [event] = events(path).values()
    assert str(event["SUMMARY"]) == "Coffee with \\x1b[2JAda\\x07\\u202e" + "é" * 80
    assert str(event["DESCRIPTION"]) == "line one\nline\\x00two\n\\x9b31m"
