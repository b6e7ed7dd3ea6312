"""The ICS source against calendars nobody here wrote: the `icalendar` package's own test folder.

Every calendar there (RFC examples, exports from real clients, fuzzer findings, files
from bug reports) must either be ingested or rejected with a one-line message: never
another exception, never a traceback, never a half-written store. The folder is found
at run time from the installed package, so a newer icalendar brings new cases for free.
"""

from __future__ import annotations

import importlib.util
import shutil
from datetime import datetime, timedelta, UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncd.config import parse_config
from syncd.engine import EXPAND_AHEAD_MARGIN, sync_source, touch_rules
from syncd.records import Meeting
from syncd.sources import ics
from syncd.sources.ics import IcsSource, parse_calendar
from syncd.store import Store

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
# Wide enough to reach the corpus's events (1996 … 2030) so that they are really ingested.
WIDE_SINCE, WIDE_UNTIL = datetime(1970, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC)
LOOKBACK_DAYS = (NOW - WIDE_SINCE).days

# icalendar warns when it guesses a vendor-prefixed TZID; guessing is what we want here.
pytestmark = pytest.mark.filterwarnings("ignore:.*globally unique TZID")


def _corpus_dir() -> Path | None:
    spec = importlib.util.find_spec("icalendar")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "tests" / "calendars"
        if folder.is_dir():
            return folder
    return None


CORPUS = _corpus_dir()
FILES = sorted(CORPUS.glob("*.ics")) if CORPUS else []
MISSING = "the installed icalendar package ships no tests/calendars/*.ics (a stripped install?)"
CASES = [pytest.param(path, id=path.name) for path in FILES] or [
    pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=MISSING))
]


def _is_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


def _check_address(address: str) -> None:
    assert address == address.lower() and address.count("@") == 1 and not any(ch.isspace() for ch in address), address


def _outcome(data: bytes, since: datetime, until: datetime, name: str) -> list[Meeting] | str:
    """The meetings, or the rejection message, after checking the contract on either."""
    try:
        meetings = parse_calendar(data, since, until, BERLIN)
    except ValueError as error:
        message = str(error)
        assert message.strip(), f"{name}: rejected with an empty message"
        assert len(message.splitlines()) == 1 and "\n" not in message and "\r" not in message, (
            f"{name}: multi-line message {message!r}"
        )
        assert "Traceback" not in message
        return message
    except BaseException as error:  # the contract: ValueError or nothing
        pytest.fail(f"{name}: parse_calendar raised {type(error).__name__}: {error!r}"[:500])
    assert isinstance(meetings, list)
    ids = [meeting.item_id for meeting in meetings]
    assert len(ids) == len(set(ids)), f"{name}: duplicate item ids"
    for meeting in meetings:
        assert isinstance(meeting, Meeting) and meeting.item_id
        assert _is_utc(meeting.start) and _is_utc(meeting.end) and meeting.end >= meeting.start
        assert since - timedelta(days=370) <= meeting.end and meeting.start <= until + timedelta(days=1), (
            name,
            meeting.start,
        )
        for attendee in meeting.attendees:
            _check_address(attendee.address)
        if meeting.organizer is not None:
            _check_address(meeting.organizer)
    return meetings


def test_the_corpus_is_there_and_big_enough():
    if CORPUS is None:
        pytest.skip(MISSING)
    assert len(FILES) >= 50, f"only {len(FILES)} calendars in {CORPUS}"


@pytest.mark.parametrize("path", CASES)
def test_parse_calendar_ingests_or_rejects_in_one_line(path: Path, monkeypatch: pytest.MonkeyPatch):
    data = path.read_bytes()
    wide = _outcome(data, WIDE_SINCE, WIDE_UNTIL, path.name)
    recent = _outcome(data, NOW - timedelta(days=365), NOW + timedelta(days=35), path.name)
    # The verdict on the file does not depend on the window, only what falls inside it.
    assert isinstance(wide, str) == isinstance(recent, str), (path.name, wide if isinstance(wide, str) else recent)
    if not isinstance(wide, str):
        assert {m.item_id for m in recent} <= {m.item_id for m in wide} | {
            m.item_id for m in recent if m.start >= WIDE_UNTIL
        }
    # Big files are parsed in pieces (one UID's events together) to keep memory flat: forced
    # onto every corpus file, the pieces give exactly what the whole file gives, or the same verdict.
    monkeypatch.setattr(ics, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(ics, "EVENTS_PER_PIECE", 1)
    pieces = _outcome(data, NOW - timedelta(days=365), NOW + timedelta(days=35), path.name + " (in pieces)")
    assert isinstance(pieces, str) == isinstance(recent, str), (
        path.name,
        pieces if isinstance(pieces, str) else recent,
    )
    if not isinstance(recent, str):
        assert sorted(pieces, key=lambda m: m.item_id) == sorted(recent, key=lambda m: m.item_id)


@pytest.mark.parametrize("path", CASES)
def test_damaged_copies_are_ingested_or_rejected_in_one_line(path: Path):
    """What a half-finished download or a line-ending conversion does to a real file."""
    data = path.read_bytes()
    since, until = NOW - timedelta(days=365 * 30), NOW + timedelta(days=35)
    variants = {
        "truncated": data[: len(data) // 2],
        "lf-only": data.replace(b"\r\n", b"\n"),
        "cr-only": data.replace(b"\r\n", b"\r").replace(b"\n", b"\r"),
        "nul-in-the-middle": data[: len(data) // 3] + b"\x00" + data[len(data) // 3 :],
        "latin-1": data.decode("utf-8", "replace").encode("latin-1", "replace"),
    }
    for label, variant in variants.items():
        _outcome(variant, since, until, f"{path.name} ({label})")


def _config(tmp_path: Path, calendar: Path):
    text = f"""
[user]
emails = ["me@example.com"]
timezone = "Europe/Berlin"
[store]
path = "{tmp_path / "store" / "syncd.db"}"
[sources]
lookback = "{LOOKBACK_DAYS}d"
[sources.ics]
paths = ["{calendar}"]
[sources.mail]
enabled = false
"""
    return parse_config(text, tmp_path / "config.toml")


@pytest.mark.parametrize("path", CASES)
def test_ics_source_sync_into_a_real_store(path: Path, tmp_path: Path):
    folder = tmp_path / "cal"
    folder.mkdir()
    calendar = folder / path.name
    shutil.copyfile(path, calendar)
    config = _config(tmp_path, calendar)
    since, until = NOW - config.sources.lookback, NOW + config.holds.horizon + EXPAND_AHEAD_MARGIN
    expected = _outcome(calendar.read_bytes(), since, until, path.name)

    store = Store.open(config.store_path)
    try:
        source = IcsSource(calendar)
        outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
        state = store.source_state(source.name)
        rows = store.connection.execute(
            "SELECT item_id, kind FROM interactions WHERE source = ?", (source.name,)
        ).fetchall()
        if isinstance(expected, str):
            assert not outcome.ok, f"{path.name}: parse_calendar rejects it ({expected}) but the sync succeeded"
            assert outcome.error and len(outcome.error.splitlines()) == 1, outcome.error
            assert path.name in outcome.error and expected in outcome.error, outcome.error
            assert state.state == "error" and state.error == outcome.error
            assert rows == [], "a rejected file must leave nothing behind"
        else:
            assert outcome.ok, f"{path.name}: {outcome.error}"
            assert state.state == "ok" and state.error is None and state.items == len(expected)
            assert sorted(item for item, _ in rows) == sorted(m.item_id for m in expected)
            assert {kind for _, kind in rows} <= {"meeting"}
            for meeting in expected[:50]:
                assert store.interaction(source.name, meeting.item_id) == meeting, (
                    "the store gives back what the source read"
                )
            # Unchanged file: the second sync reads nothing and changes nothing.
            again = sync_source(source, store, config, touch_rules(config, store), NOW + timedelta(minutes=15))
            assert again.ok and again.items == 0
            assert store.connection.execute(
                "SELECT COUNT(*) FROM interactions WHERE source = ?", (source.name,)
            ).fetchone()[0] == len(expected)
        orphans = store.connection.execute(
            "SELECT COUNT(*) FROM touches t LEFT JOIN interactions i"
            " ON i.source = t.source AND i.item_id = t.item_id WHERE i.item_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()


# --- calendars written to hurt -------------------------------------------------------------


def _calendar(*events: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//corpus tests//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    ).encode()


def _event(uid: str, *lines: str) -> str:
    return (
        "BEGIN:VEVENT\r\n"
        + f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        + "".join(line + "\r\n" for line in lines)
        + "END:VEVENT\r\n"
    )


WEEKLY = _event(
    "weekly",
    "DTSTART:20260105T090000Z",
    "DTEND:20260105T093000Z",
    "RRULE:FREQ=WEEKLY",
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:Ada@Example.com",
)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY",
        "FREQ=SECONDLY;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
        "FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55",
    ],
)
@pytest.mark.timeout(120)  # a hang fails here; how fast it is belongs to the benchmarks
def test_a_runaway_rule_is_skipped_fast_and_the_rest_is_kept(rule: str):
    """One line of a subscribed calendar used to hang the sync and eat all memory."""
    data = _calendar(_event("storm", "DTSTART:20250101T000000Z", "DTEND:20250101T000001Z", f"RRULE:{rule}"), WEEKLY)
    meetings = parse_calendar(data, NOW - timedelta(days=365), NOW + timedelta(days=35), BERLIN)
    assert {m.item_id.split("#")[0] for m in meetings} == {"weekly"}
    assert len(meetings) == 26  # the weekly series: Mondays 2026-01-05 … 2026-06-29 (07-06 09:00 is the window end)


def test_a_rule_with_a_count_or_a_filter_that_keeps_it_small_is_expanded():
    data = _calendar(
        _event("ten", "DTSTART:20260101T000000Z", "RRULE:FREQ=MINUTELY;COUNT=10"),
        _event(
            "half-hourly-at-nine",
            "DTSTART:20260101T090000Z",
            "RRULE:FREQ=MINUTELY;INTERVAL=30;BYHOUR=9;UNTIL=20260110T000000Z",
        ),
    )
    meetings = parse_calendar(data, NOW - timedelta(days=365), NOW + timedelta(days=35), BERLIN)
    counts = {
        uid: sum(1 for m in meetings if m.item_id.startswith(uid + "#")) for uid in ("ten", "half-hourly-at-nine")
    }
    assert counts == {"ten": 10, "half-hourly-at-nine": 18}


def test_a_file_that_expands_to_too_many_occurrences_is_rejected_in_one_line():
    hourly = [
        _event(f"hourly-{n}", f"DTSTART:20250101T{n % 24:02d}0000Z", "RRULE:FREQ=HOURLY;INTERVAL=2") for n in range(120)
    ]
    with pytest.raises(ValueError) as raised:
        parse_calendar(_calendar(*hourly), NOW - timedelta(days=365), NOW + timedelta(days=35), BERLIN)
    assert "\n" not in str(raised.value) and "more than" in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 64,
        b"\xff\xfe" + "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".encode("utf-16-le"),
        b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\n" * 3000 + b"END:VEVENT\r\n" * 3000 + b"END:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\n" + b"BEGIN:X-DEEP\r\n" * 5000 + b"END:X-DEEP\r\n" * 5000 + b"END:VCALENDAR\r\n",
        _calendar(_event("long", "DTSTART:20260301T090000Z", "SUMMARY:" + "x" * 2_000_000)),
        _calendar(_event("y1", "DTSTART:00010101T000000Z", "DTEND:99991231T235959Z")),
        _calendar(_event("tz", "DTSTART;TZID=Nowhere/Land:20260301T090000", "ATTENDEE:mailto:a@b.com")),
        _calendar(
            _event(
                "nested",
                "DTSTART:20260301T090000Z",
                "ATTENDEE:mailto:x " + "(" * 3000,
                "ORGANIZER:mailto:y " + "(" * 3000,
            )
        ),
    ],
    ids=[
        "empty",
        "nul",
        "utf-16",
        "nested-events",
        "nested-unknown",
        "2mb-summary",
        "year-1-to-9999",
        "unknown-tzid",
        "nested-comments-in-address",
    ],
)
@pytest.mark.timeout(120)  # a hang fails here; how fast it is belongs to the benchmarks
def test_hostile_calendars_are_ingested_or_rejected_in_one_line(data: bytes):
    _outcome(data, NOW - timedelta(days=365), NOW + timedelta(days=35), "hostile")


def test_a_big_calendar_read_in_pieces_gives_what_the_whole_file_gives(monkeypatch: pytest.MonkeyPatch):
    """Exceptions far from their series in the file, a VTIMEZONE after the events, a VTODO,
    X-WR-TIMEZONE: the pieces must carry all of it."""
    events = []
    for n in range(60):
        if n % 10 == 0:
            events.append(
                _event(
                    f"series-{n}",
                    "DTSTART;TZID=Custom/Zone:20260105T090000",
                    "DTEND;TZID=Custom/Zone:20260105T093000",
                    "RRULE:FREQ=WEEKLY;COUNT=20",
                    "EXDATE;TZID=Custom/Zone:20260112T090000",
                    f"ATTENDEE:mailto:p{n}@example.com",
                )
            )
        else:
            events.append(
                _event(
                    f"single-{n}",
                    f"DTSTART:202603{1 + n % 28:02d}T{8 + n % 9:02d}0000",
                    "DURATION:PT1H",
                    f"ATTENDEE:mailto:p{n}@example.com",
                )
            )
    for n in range(0, 60, 10):  # the moved occurrences come last, far from their series
        events.append(
            _event(
                f"series-{n}",
                "RECURRENCE-ID;TZID=Custom/Zone:20260119T090000",
                "DTSTART;TZID=Custom/Zone:20260120T150000",
                "DTEND;TZID=Custom/Zone:20260120T153000",
                f"ATTENDEE:mailto:moved{n}@example.com",
            )
        )
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Custom/Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\n"
        "TZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    todo = "BEGIN:VTODO\r\nUID:todo\r\nSUMMARY:not a meeting\r\nEND:VTODO\r\n"
    data = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//corpus tests//EN\r\nX-WR-TIMEZONE:America/New_York\r\n"
        + "".join(events[:30])
        + todo
        + "".join(events[30:])
        + zone
        + "END:VCALENDAR\r\n"
    ).encode()
    since, until = NOW - timedelta(days=365), NOW + timedelta(days=35)
    whole = parse_calendar(data, since, until, BERLIN)
    monkeypatch.setattr(ics, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(ics, "EVENTS_PER_PIECE", 7)
    pieces = list(ics._pieces(data))
    assert len(pieces) == 9 and all(
        piece.count(b"BEGIN:VTIMEZONE") == 1 and b"X-WR-TIMEZONE" in piece for piece in pieces
    )
    assert sorted(parse_calendar(data, since, until, BERLIN), key=lambda m: m.item_id) == sorted(
        whole, key=lambda m: m.item_id
    )
    moved = [m for m in whole if m.item_id.startswith("series-0#")]
    assert len(moved) == 19 and any(a.address == "moved0@example.com" for m in moved for a in m.attendees)
