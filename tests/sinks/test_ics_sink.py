"""The ICS hold sink against real files in tmp_path."""

from __future__ import annotations

import os
import re
import stat
import threading
from datetime import datetime, timedelta, UTC

import pytest
from icalendar import Calendar
from zoneinfo import ZoneInfo

from syncd.intervals import Interval
from syncd.lock import file_lock
from syncd.planner import NewHold, hold_event_id
from syncd.sinks import HoldSink, HoldWrite, SinkError, SinkHold, apply_all, make_sink
from syncd.sinks.ics import IcsHoldSink
from syncd.sinks.ics_file import is_hold_uid

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
STAMP = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)

USER_CAL = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Someone//Their App//EN\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:user-event-1@example.com\r\n"
    "DTSTAMP:20260501T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260603T100000\r\n"
    "DTEND;TZID=Europe/Berlin:20260603T110000\r\n"
    "SUMMARY:Dentist\\, really\r\n"
    "DESCRIPTION:A long line that the user's app folded somewhere in the middl\r\n"
    " e of a word\r\n"
    "BEGIN:VALARM\r\n"
    "ACTION:DISPLAY\r\n"
    "TRIGGER:-PT15M\r\n"
    "END:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VTODO\r\n"
    "UID:todo-1@example.com\r\n"
    "SUMMARY:Buy milk\r\n"
    "END:VTODO\r\n"
    "END:VCALENDAR\r\n"
)


def new_hold(
    cid: str = "ada",
    start: datetime = datetime(2026, 6, 2, 7, 0, tzinfo=UTC),
    minutes: int = 30,
    cycle: datetime | None = datetime(2026, 4, 1, 12, 0, tzinfo=UTC),
) -> NewHold:
    return NewHold(
        cid, cid.title(), hold_event_id(cid, cycle), start, start + timedelta(minutes=minutes), cycle, "test"
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "sub" / "dir" / "holds.ics"


@pytest.fixture
def sink(path):
    return IcsHoldSink(path, tz=BERLIN, clock=lambda: STAMP)


def parse(path) -> Calendar:
    return Calendar.from_ical(path.read_bytes())


def raw_text(path) -> str:
    return path.read_bytes().decode("utf-8")  # no newline translation


def write_raw(path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def events(path):
    return {str(e["UID"]): e for e in parse(path).walk("VEVENT")}


# --------------------------------------------------------------------------- basics


def test_missing_file_is_empty(sink, path):
    assert sink.list_holds() == []
    assert sink.busy(STAMP, STAMP + timedelta(days=30)) == []
    sink.remove("nothing")  # absent → no error, and no file created
    assert not path.exists()


def test_create_list_remove(sink, path):
    h = new_hold()
    got = sink.create(h, "Coffee with Ada", "Last spoke 2026-04-01 (meeting).\nNotes: likes tea")
    assert got == SinkHold(h.event_id, "ada", h.start, h.end, "Coffee with Ada")
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sink.list_holds() == [got]
    assert sink.busy(h.start - timedelta(hours=1), h.start + timedelta(hours=1)) == [
        type(sink.busy(h.start, h.end)[0])(h.start, h.end)
    ]
    assert sink.busy(h.end, h.end + timedelta(hours=1)) == []  # half-open

    ev = events(path)[h.event_id]
    assert ev.decoded("DTSTART") == h.start and ev.decoded("DTEND") == h.end
    raw = raw_text(path)
    assert "DTSTART:20260602T070000Z" in raw and "DTEND:20260602T073000Z" in raw
    assert str(ev["SUMMARY"]) == "Coffee with Ada"
    assert str(ev["DESCRIPTION"]) == "Last spoke 2026-04-01 (meeting).\nNotes: likes tea"
    assert str(ev["CLASS"]) == "PRIVATE" and str(ev["TRANSP"]) == "OPAQUE"
    assert str(ev["X-SYNCD-CONTACT"]) == "ada" and str(ev["X-SYNCD-HOLD"]) == "1"
    assert ev.decoded("DTSTAMP") == STAMP
    assert "ATTENDEE" not in ev and "ORGANIZER" not in ev

    sink.remove(h.event_id)
    assert sink.list_holds() == []
    assert h.event_id not in events(path)
    sink.remove(h.event_id)  # again: no error


def test_folder_created_private(tmp_path):
    p = tmp_path / "new" / "holds.ics"
    IcsHoldSink(p, clock=lambda: STAMP).create(new_hold(), "Coffee", "")
    assert stat.S_IMODE(p.parent.stat().st_mode) & 0o077 == 0


def test_create_is_idempotent(sink, path):
    h = new_hold()
    a = sink.create(h, "Coffee with Ada", "x")
    before = path.read_bytes()
    b = sink.create(h, "Coffee with Ada", "x")
    assert a == b
    assert path.read_bytes() == before
    assert len(parse(path).walk("VEVENT")) == 1
    # also within one batch
    h2 = new_hold("bob", start=datetime(2026, 6, 3, 7, tzinfo=UTC))
    res = sink.apply([HoldWrite(h2, "Coffee with Bob", ""), HoldWrite(h2, "Coffee with Bob", "")], [])
    assert res[0] == res[1]
    assert len(parse(path).walk("VEVENT")) == 2


def test_apply_batch_writes_once_and_removes_first(sink, path):
    h1, h2 = new_hold("ada"), new_hold("bob", start=datetime(2026, 6, 3, 7, tzinfo=UTC))
    sink.create(h1, "Coffee with Ada", "")
    ino = path.stat().st_ino
    out = apply_all(sink, [HoldWrite(h2, "Coffee with Bob", "")], [h1.event_id])
    assert [h.event_id for h in out] == [h2.event_id]
    assert [h.event_id for h in sink.list_holds()] == [h2.event_id]
    assert path.stat().st_ino != ino  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["holds.ics", "holds.ics.lock"]  # no temp files left


def test_unchanged_file_is_not_rewritten(sink, path):
    sink.create(new_hold(), "Coffee", "")
    st = path.stat()
    sink.remove("not-there")
    sink.apply([], [])
    assert path.stat().st_ino == st.st_ino and path.stat().st_mtime_ns == st.st_mtime_ns


# --------------------------------------------------------------------------- the user edits the file


def test_user_moved_dtstart(sink, path):
    h = new_hold()
    sink.create(h, "Coffee with Ada", "")
    text = raw_text(path)
    text = text.replace("DTSTART:20260602T070000Z", "DTSTART;TZID=Europe/Berlin:20260604T150000")
    text = text.replace("DTEND:20260602T073000Z", "DTEND;TZID=Europe/Berlin:20260604T153000")
    write_raw(path, text)
    [moved] = sink.list_holds()
    assert moved.event_id == h.event_id
    assert moved.start == datetime(2026, 6, 4, 13, 0, tzinfo=UTC)
    assert moved.end == datetime(2026, 6, 4, 13, 30, tzinfo=UTC)
    # creating the same hold again keeps the user's time
    assert sink.create(h, "Coffee with Ada", "").start == moved.start
    assert sink.list_holds() == [moved]


def test_user_moved_to_floating_time_uses_sink_zone(sink, path):
    h = new_hold()
    sink.create(h, "Coffee", "")
    write_raw(
        path,
        raw_text(path)
        .replace("DTSTART:20260602T070000Z", "DTSTART:20260602T100000")
        .replace("DTEND:20260602T073000Z\r\n", ""),
    )
    [moved] = sink.list_holds()
    assert moved.start == datetime(2026, 6, 2, 10, 0, tzinfo=BERLIN)
    assert moved.end == moved.start  # RFC 5545: no DTEND → ends where it starts


def test_user_cancelled_hold_is_declined_and_not_busy(sink, path):
    h = new_hold()
    sink.create(h, "Coffee", "")
    write_raw(path, raw_text(path).replace("TRANSP:OPAQUE\r\n", "TRANSP:OPAQUE\r\nSTATUS:CANCELLED\r\n"))
    [got] = sink.list_holds()
    assert got.declined
    assert sink.busy(h.start - timedelta(days=1), h.end + timedelta(days=1)) == []


def test_other_user_content_preserved_byte_for_byte(sink, path):
    path.parent.mkdir(parents=True)
    path.write_bytes(USER_CAL.encode())
    h1, h2 = new_hold("ada"), new_hold("bob", start=datetime(2026, 6, 3, 7, tzinfo=UTC))
    sink.apply([HoldWrite(h1, "Coffee with Ada", ""), HoldWrite(h2, "Coffee with Bob", "")], [])
    text = raw_text(path)
    # everything of the user's is still there, in order, untouched
    user_part = USER_CAL[: USER_CAL.rindex("END:VCALENDAR")]
    assert text.startswith(user_part)
    assert text.endswith("END:VCALENDAR\r\n")
    assert set(events(path)) == {"user-event-1@example.com", h1.event_id, h2.event_id}
    assert [h.event_id for h in sink.list_holds()] == [h1.event_id, h2.event_id]  # user event is no hold
    # remove never removes a user's event, even by its UID
    sink.remove("user-event-1@example.com")
    sink.remove(h1.event_id)
    sink.remove(h2.event_id)
    assert raw_text(path) == USER_CAL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_lf_only_file_stays_lf(sink, path):
    path.parent.mkdir(parents=True)
    write_raw(path, USER_CAL.replace("\r\n", "\n"))
    sink.create(new_hold(), "Coffee", "two\nlines")
    raw = path.read_bytes()
    assert b"\r\n" not in raw
    assert len(sink.list_holds()) == 1


def test_written_file_reparses_with_icalendar(sink, path):
    path.parent.mkdir(parents=True)
    path.write_bytes(USER_CAL.encode())
    for i in range(5):
        sink.create(
            new_hold(f"c{i}", start=datetime(2026, 6, 2 + i, 7, tzinfo=UTC)),
            f'Coffee with C{i}, Ünïcødé; "quoted"',
            "line\n" * 3 + "x" * 200,
        )
    cal = parse(path)
    assert cal.name == "VCALENDAR"
    holds = [e for e in cal.walk("VEVENT") if e.get("X-SYNCD-HOLD") is not None]
    assert len(holds) == 5
    assert str(holds[0]["SUMMARY"]) == 'Coffee with C0, Ünïcødé; "quoted"'
    assert str(holds[0]["DESCRIPTION"]) == "line\n" * 3 + "x" * 200
    for line in path.read_bytes().split(b"\r\n"):
        assert len(line) <= 75


def test_empty_file_is_an_empty_calendar(sink, path):
    path.parent.mkdir(parents=True)
    write_raw(path, "")
    assert sink.list_holds() == []
    sink.create(new_hold(), "Coffee", "")
    assert len(sink.list_holds()) == 1


# --------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a calendar\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n",  # truncated
        b"BEGIN:VCALENDAR\r\nfoo bar\r\nEND:VCALENDAR\r\n",  # bad content line
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",  # two calendars
        b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",  # no VCALENDAR
        b"\xff\xfe\x00garbage",  # not UTF-8
        # a hold whose DTSTART cannot be read
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:h\r\nX-SYNCD-HOLD:1\r\nDTSTART:tomorrow\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_malformed_file_raises_and_is_left_alone(sink, path, content):
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    os.chmod(path, 0o644)
    for action in (
        sink.list_holds,
        lambda: sink.busy(STAMP, STAMP + timedelta(days=1)),
        lambda: sink.create(new_hold(), "Coffee", ""),
        lambda: sink.remove("h"),
    ):
        with pytest.raises(SinkError) as err:
            action()
        assert str(path) in str(err.value)
        assert "\n" not in str(err.value)
    assert path.read_bytes() == content
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["holds.ics", "holds.ics.lock"]


def test_unreadable_folder_is_sink_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = IcsHoldSink(blocker / "holds.ics", clock=lambda: STAMP)
    with pytest.raises(SinkError):
        s.create(new_hold(), "Coffee", "")


# --------------------------------------------------------------------------- factory


def test_make_sink(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    s = make_sink("ics:~/cal/holds.ics", tz=BERLIN)
    assert isinstance(s, IcsHoldSink) and isinstance(s, HoldSink)
    assert s.name == f"ics:{tmp_path}/cal/holds.ics"
    for bad, fragment in [
        ("ics:", "expected 'ics:PATH'"),
        ("google:primary", "Google"),
        ("ftp:x", "unknown hold sink"),
        ("holds.ics", "unknown hold sink"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            make_sink(bad)
        with pytest.raises(SinkError):
            make_sink(bad)


def test_make_sink_takes_tz_from_config(tmp_path):
    class Cfg:
        tz = BERLIN

    s = make_sink(f"ics:{tmp_path}/h.ics", config=Cfg())
    s.create(new_hold(), "Coffee", "")
    write_raw(
        tmp_path / "h.ics", raw_text(tmp_path / "h.ics").replace("DTSTART:20260602T070000Z", "DTSTART:20260602T100000")
    )
    assert s.list_holds()[0].start == datetime(2026, 6, 2, 8, 0, tzinfo=UTC)


def test_hold_gone_is_a_sink_error():
    from syncd.sinks.base import HoldGone

    assert issubclass(HoldGone, SinkError)


# --------------------------------------------------------------------------- shared, edited by apps


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
