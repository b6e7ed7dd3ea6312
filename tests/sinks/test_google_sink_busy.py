"""The Google hold sink's free/busy, its errors, and building it from the config, against the fake Google.

Split from test_google_sink.py, whose helpers and fixture it shares.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from syncd.config import parse_config
from syncd.planner import Interval
from syncd.sinks import SinkError, make_sink
from syncd.sinks.google import GoogleHoldSink
from tests.sinks.test_google_sink import (  # noqa: F401 (fake is a fixture)
    BERLIN,
    NOW,
    T0,
    fake,
    log_of,
    make,
    new_hold,
    session_for_fake,
    timed,
)


# --------------------------------------------------------------------------- busy


def test_busy_covers_every_calendar_and_the_hold_calendar(fake):
    fake.add_calendar("work")
    fake.add_calendar("team@group.calendar.google.com")
    fake.add_calendar("holds")
    fake.calendar_add_event(timed(T0, 60, summary="standup"), "primary")
    fake.calendar_add_event(timed(T0 + timedelta(minutes=30), 60, summary="overlapping"), "work")
    fake.calendar_add_event(timed(T0 + timedelta(hours=5), 30, summary="team"), "team@group.calendar.google.com")
    fake.calendar_add_event(timed(T0 + timedelta(hours=7), 30, summary="free", transparency="transparent"), "primary")
    sink = make(fake, "holds", busy_calendars=["primary", "work", "team@group.calendar.google.com"])
    sink.create(new_hold(start=T0 + timedelta(days=1)), "Coffee", "")
    busy = sink.busy(T0 - timedelta(days=1), T0 + timedelta(days=3))
    assert busy == [
        Interval(T0, T0 + timedelta(minutes=90)),
        Interval(T0 + timedelta(hours=5), T0 + timedelta(hours=5, minutes=30)),
        Interval(T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=30)),
    ]
    (query,) = log_of(fake, "calendar.freebusy.query")
    body = json.loads(query["body"])
    assert [item["id"] for item in body["items"]] == ["primary", "work", "team@group.calendar.google.com", "holds"]
    assert body["timeMin"] == "2026-11-23T08:00:00Z" and body["timeMax"] == "2026-11-27T08:00:00Z"


def test_all_day_events_are_busy_all_day(fake):
    fake.calendar_add_event({"start": {"date": "2026-11-25"}, "end": {"date": "2026-11-26"}, "summary": "OOO"})
    sink = make(fake)
    (busy,) = sink.busy(T0, T0 + timedelta(days=3))
    assert (busy.start, busy.end) == (datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))


def test_long_ranges_are_split_and_joined_again(fake):
    start = datetime(2026, 12, 1, tzinfo=UTC)
    # An event across the first split point (start + 60 days) comes back as one period.
    across = start + timedelta(days=60) - timedelta(hours=1)
    fake.calendar_add_event(timed(across, 120, summary="across the split"))
    fake.calendar_add_event(timed(start + timedelta(days=140), 60, summary="late"))
    sink = make(fake)
    busy = sink.busy(start, start + timedelta(days=150))
    assert busy == [
        Interval(across, across + timedelta(hours=2)),
        Interval(start + timedelta(days=140), start + timedelta(days=140, hours=1)),
    ]
    spans = [json.loads(e["body"]) for e in log_of(fake, "calendar.freebusy.query")]
    assert len(spans) == 3
    assert all(e["status"] == 200 for e in log_of(fake, "calendar.freebusy.query"))
    bounds = [(datetime.fromisoformat(s["timeMin"]), datetime.fromisoformat(s["timeMax"])) for s in spans]
    assert bounds[0][0] == start and bounds[-1][1] == start + timedelta(days=150)
    assert all(hi - lo <= timedelta(days=60) for lo, hi in bounds)
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(2))


def test_more_than_fifty_calendars_take_several_queries(fake):
    ids = [f"cal{i:02d}" for i in range(60)]
    for calendar_id in ids:
        fake.add_calendar(calendar_id)
    fake.calendar_add_event(timed(T0, 30), "cal55")
    sink = make(fake, busy_calendars=ids)
    assert sink.busy(T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == [Interval(T0, T0 + timedelta(minutes=30))]
    sizes = [len(json.loads(e["body"])["items"]) for e in log_of(fake, "calendar.freebusy.query")]
    assert sizes == [50, 11]


def test_freebusy_failure_is_a_one_line_sink_error(fake):
    sink = GoogleHoldSink("primary", session_for_fake(fake, attempts=3), tz=BERLIN, clock=lambda: NOW)
    fake.fail_next(3, "500", methods=["calendar.freebusy.query"])
    with pytest.raises(SinkError) as caught:
        sink.busy(T0, T0 + timedelta(days=14))
    message = str(caught.value)
    assert message.startswith("google:primary: cannot read free/busy") and "\n" not in message
    assert "me@example.com" not in message and "ya29" not in message


def test_a_calendar_without_free_busy_fails_the_whole_call(fake):
    sink = make(fake, busy_calendars=["primary", "gone@example.com"])
    with pytest.raises(SinkError) as caught:
        sink.busy(T0, T0 + timedelta(days=1))
    message = str(caught.value)
    assert "notFound" in message and "booking nothing" in message
    assert "gone@example.com" not in message and "#2" in message


def test_errors_never_name_an_address_calendar(fake):
    fake.add_calendar("holds@group.calendar.google.com")
    sink = GoogleHoldSink(
        "holds@group.calendar.google.com", session_for_fake(fake, attempts=1), tz=BERLIN, clock=lambda: NOW
    )
    fake.fail_next(1, "500", methods=["calendar.events.list"])
    with pytest.raises(SinkError) as caught:
        sink.list_holds()
    assert "@" not in str(caught.value) and "hold calendar" in str(caught.value)


def test_a_missing_scope_or_revoked_token_says_to_run_auth(fake):
    fake.auth.scopes = tuple(s for s in fake.auth.scopes if not s.endswith("calendar.freebusy"))
    sink = make(fake)
    with pytest.raises(SinkError, match=r"run `syncd auth`"):
        sink.busy(T0, T0 + timedelta(days=1))
    fake.revoke_refresh_token()
    sink = make(fake)
    with pytest.raises(SinkError, match=r"run `syncd auth`") as caught:
        sink.list_holds()
    assert "fake-refresh" not in str(caught.value)


# --------------------------------------------------------------------------- factory


def test_make_sink_builds_the_google_sink_from_config(fake, tmp_path):
    token = tmp_path / "token.json"
    token.write_text(json.dumps(fake.authorized_user_info()))
    token.chmod(0o600)
    config = parse_config(
        f"""
        [user]
        timezone = "Europe/Berlin"
        [sources.google]
        enabled = true
        api_endpoint = "{fake.root}"
        token_file = "{token}"
        calendars = ["primary", "work"]
        gmail = false
        [holds]
        sink = "google:holds"
    """.replace("\n        ", "\n"),
        tmp_path / "config.toml",
    )
    fake.add_calendar("work")
    fake.add_calendar("holds")
    fake.calendar_add_event(timed(T0, 30), "work")
    sink = make_sink(config.hold_sink, config=config, clock=lambda: NOW)
    assert isinstance(sink, GoogleHoldSink) and sink.name == "google:holds"
    assert sink.busy(T0, T0 + timedelta(hours=2)) == [Interval(T0, T0 + timedelta(minutes=30))]
    items = [i["id"] for i in json.loads(log_of(fake, "calendar.freebusy.query")[0]["body"])["items"]]
    assert items == ["primary", "work", "holds"]
    written = sink.create(new_hold(), "Coffee", "")
    assert fake.calendar_get_event(written.event_id, "holds")["start"]["timeZone"] == "Europe/Berlin"


def test_make_sink_google_needs_a_calendar_and_the_google_section():
    for spec in ("google:", "google:  "):
        with pytest.raises(SinkError, match="google:CALENDAR_ID"):
            make_sink(spec)
    with pytest.raises(ValueError, match=r"\[sources.google\]"):
        make_sink("google:primary")
