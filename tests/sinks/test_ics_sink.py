"""The ICS hold sink against real files in tmp_path."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, UTC

import pytest
from icalendar import Calendar
from zoneinfo import ZoneInfo

from syncd.planner import NewHold, hold_event_id
from syncd.sinks import HoldSink, HoldWrite, SinkError, SinkHold, apply_all, make_sink
from syncd.sinks.ics import IcsHoldSink

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
