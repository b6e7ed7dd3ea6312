"""ICS specifics on real calendar text: time zones, floating times, recurrence, flags."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from zoneinfo import ZoneInfo

from syncd.sources.ics import parse_calendar

BERLIN = ZoneInfo("Europe/Berlin")
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Custom/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def calendar(*events: str, extra: str = "") -> bytes:
    body = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", extra, *events, "END:VCALENDAR"])
    return "\r\n".join(line for line in body.splitlines() if line).encode()


def event(*lines: str) -> str:
    return "\n".join(["BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"])


def test_custom_vtimezone_is_honoured():
    meetings = parse_calendar(
        calendar(
            event("UID:a", "DTSTART;TZID=Custom/Berlin:20260701T100000", "DTEND;TZID=Custom/Berlin:20260701T110000"),
            extra=VTIMEZONE,
        ),
        SINCE,
        UNTIL,
        UTC,
    )
    assert [m.start for m in meetings] == [datetime(2026, 7, 1, 8, 0, tzinfo=UTC)]


def test_floating_time_is_in_the_users_zone():
    meetings = parse_calendar(
        calendar(event("UID:a", "DTSTART:20260115T090000", "DTEND:20260115T100000")), SINCE, UNTIL, BERLIN
    )
    assert meetings[0].start == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


def test_recurrence_with_exception_and_exdate():
    meetings = parse_calendar(
        calendar(
            event(
                "UID:r",
                "DTSTART;TZID=Europe/Berlin:20260302T150000",
                "DTEND;TZID=Europe/Berlin:20260302T153000",
                "RRULE:FREQ=WEEKLY;COUNT=4",
                "EXDATE;TZID=Europe/Berlin:20260309T150000",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com",
            ),
            event(
                "UID:r",
                "RECURRENCE-ID;TZID=Europe/Berlin:20260316T150000",
                "DTSTART;TZID=Europe/Berlin:20260317T090000",
                "DTEND;TZID=Europe/Berlin:20260317T093000",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com",
            ),
        ),
        SINCE,
        UNTIL,
        BERLIN,
    )
    starts = sorted(m.start.astimezone(BERLIN).strftime("%m-%d %H:%M") for m in meetings)
    assert starts == ["03-02 15:00", "03-17 09:00", "03-23 15:00"]
    assert len({m.item_id for m in meetings}) == 3


def test_window_bounds_recurrence_expansion():
    meetings = parse_calendar(
        calendar(event("UID:d", "DTSTART:20200101T090000Z", "DTEND:20200101T100000Z", "RRULE:FREQ=DAILY")),
        SINCE,
        SINCE + timedelta(days=10),
        BERLIN,
    )
    assert len(meetings) == 10


def test_flags_rooms_and_responses():
    (meeting,) = parse_calendar(
        calendar(
            event(
                "UID:f",
                "DTSTART:20260401T090000Z",
                "DTEND:20260401T100000Z",
                "STATUS:CANCELLED",
                "TRANSP:TRANSPARENT",
                "ORGANIZER;CN=Ada:mailto:Ada@Example.com",
                "ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-1@example.com",
                "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com",
                "ATTENDEE:mailto:carol@example.com",
            )
        ),
        SINCE,
        UNTIL,
        BERLIN,
    )
    assert meeting.cancelled and meeting.transparent and not meeting.all_day
    assert meeting.organizer == "ada@example.com"
    by_address = {a.address: a for a in meeting.attendees}
    assert by_address["room-1@example.com"].is_resource
    assert by_address["bob@example.com"].response == "declined"
    assert by_address["carol@example.com"].response == "needsAction"


def test_all_day_event_spans_local_days():
    (meeting,) = parse_calendar(
        calendar(event("UID:o", "DTSTART;VALUE=DATE:20260504", "DTEND;VALUE=DATE:20260506", "SUMMARY:OOO")),
        SINCE,
        UNTIL,
        BERLIN,
    )
    assert meeting.all_day
    assert meeting.start.astimezone(BERLIN) == datetime(2026, 5, 4, tzinfo=BERLIN)
    assert meeting.end.astimezone(BERLIN) == datetime(2026, 5, 6, tzinfo=BERLIN)


def test_event_without_dtend_uses_duration():
    (meeting,) = parse_calendar(
        calendar(event("UID:u", "DTSTART:20260401T090000Z", "DURATION:PT45M")), SINCE, UNTIL, BERLIN
    )
    assert meeting.end - meeting.start == timedelta(minutes=45)


def test_garbage_is_a_one_line_value_error():
    import pytest

    with pytest.raises(ValueError) as raised:
        parse_calendar(
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:notatime\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            SINCE,
            UNTIL,
            BERLIN,
        )
    assert "\n" not in str(raised.value)
