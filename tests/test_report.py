"""`syncd report`: the pure report data (syncd.network), the terminal lines, and the command on a real store."""

from __future__ import annotations

import logging
import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syncd import holds_store
from syncd.cold import contact_status
from syncd.lifecycle import DELETED, PAST, StoredHold
from syncd.models import Contact, LastTouch
from syncd.network import (
    UpcomingHold,
    build_report,
    iso_week,
    offset_schedule,
    report_json,
    rhythm,
    touches_by_week,
    week_starts,
    weeks_since,
)
from syncd.report_terminal import render_terminal
from syncd.store import Store
from tests.conftest import REPO, ics_calendar, ics_event, mbox_message

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday of 2026-W47
NOW_TEXT = "2026-11-20T09:00:00+01:00"
ME = "me@example.com"
TIERS = ("intimate", "meaningful", "familiar", "unfamiliar")


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# --- weeks in the user's zone ---------------------------------------------------------------


def test_iso_week_is_the_users_week_not_utc() -> None:
    sunday_night_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert iso_week(sunday_night_utc, UTC) == "2026-W47"
    assert iso_week(sunday_night_utc, BERLIN) == "2026-W48"
    assert iso_week(datetime(2027, 1, 1, 12, tzinfo=UTC), BERLIN) == "2026-W53"


def test_week_starts_are_local_mondays_across_daylight_saving() -> None:
    starts = week_starts(NOW, BERLIN, 6)  # reaches back over the end of summer time (2026-10-25)
    assert len(starts) == 6
    assert [start.astimezone(BERLIN).strftime("%a %H:%M") for start in starts] == ["Mon 00:00"] * 6
    assert starts[-1].astimezone(BERLIN).date().isoformat() == "2026-11-16"
    assert [iso_week(start, BERLIN) for start in starts] == [f"2026-W{number}" for number in range(42, 48)]
    assert starts[2].timestamp() - starts[1].timestamp() == 7 * 86400 + 3600  # the week with the extra hour


def test_weeks_since_counts_this_week_and_the_first() -> None:
    assert weeks_since(NOW, NOW, BERLIN) == 1
    assert weeks_since(NOW - timedelta(days=365), NOW, BERLIN) == 53


def test_touches_by_week_groups_the_stores_rows_per_contact_within_the_chart() -> None:
    rows = [("ada", 1, 1, 0), ("ada", 2, 1, 2), ("bob", -1, 1, 0), ("bob", 3, 0, 1), ("cy", 0, 0, 4)]
    weekly = touches_by_week(rows, 3)
    assert weekly == {"ada": (("ada", 1, 1, 0), ("ada", 2, 1, 2)), "cy": (("cy", 0, 0, 4),)}
    again = [("ada", 2, 1, 0), ("cy", 0, 1, 0), ("ada", 1, 0, 1), ("ada", 2, 0, 3)]  # a second part of the query
    assert touches_by_week(rows + again, 3)["ada"] == (("ada", 1, 1, 1), ("ada", 2, 2, 5))
    assert touches_by_week(rows + again, 3)["cy"] == (("cy", 0, 1, 4),)


def test_offset_schedule_finds_each_change_to_the_second() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    spring, autumn = epoch("2026-03-29T01:00:00+00:00"), epoch("2026-10-25T01:00:00+00:00")
    assert offset_schedule(start, end, BERLIN) == [(int(start.timestamp()), 3600), (spring, 7200), (autumn, 3600)]
    assert offset_schedule(start, end, UTC) == [(int(start.timestamp()), 0)]
    assert offset_schedule(start, end, ZoneInfo("Asia/Kolkata")) == [(int(start.timestamp()), 19800)]


# --- the rhythm -------------------------------------------------------------------------------


def test_rhythm_counts_each_meeting_once_and_a_hold_that_became_a_meeting_once() -> None:
    starts = week_starts(NOW, BERLIN, 3)
    meetings_by_week = {0: 1, 2: 1}  # W45: m1 (with ada and bob, one coffee); W47: m2 with cy
    meetings_of = [("cy", epoch("2026-11-17T09:00:00+01:00")), ("ada", epoch("2026-11-03T10:00:00+01:00"))]
    holds = [
        ("cy", epoch("2026-11-17T08:30:00+01:00")),  # same contact, same day as m2: the same coffee
        ("dee", epoch("2026-11-18T08:30:00+01:00")),  # a hold that happened: a coffee
        ("ada", epoch("2026-11-10T08:30:00+01:00")),  # W46, a week after meeting her: a coffee
        ("eve", epoch("2026-10-01T08:30:00+02:00")),  # before the first week
    ]
    weeks = rhythm(meetings_by_week, meetings_of, holds, starts, BERLIN, per_week=2)
    assert [(w.week, w.coffees, w.target) for w in weeks] == [
        ("2026-W45", 1, 2),
        ("2026-W46", 1, 2),
        ("2026-W47", 2, 2),
    ]
    assert [w.kept for w in weeks] == [False, False, True]


# --- the report data ------------------------------------------------------------------------------


def person(name: str, tier: str, **fields) -> Contact:
    slug = name.lower().replace(" ", "-")
    return Contact(id=slug, name=name, emails=[f"{slug}@example.com"], tier=tier, **fields)


def touch(days_ago: float) -> LastTouch:
    return LastTouch(at=NOW - timedelta(days=days_ago), kind="email", source="t", item_id="x")


def sample_report():
    cadence = {"intimate": 14, "meaningful": 30, "familiar": 90}
    people = [
        (person("Zoe Warm", "meaningful"), touch(3)),
        (person("Ann Cold", "meaningful"), touch(40)),
        (person("Ivy Ignored", "meaningful", ignore=True), None),
        (person("Ned Never", "familiar"), None),
        (person("Ola Close", "intimate"), touch(1)),
    ]
    statuses = [contact_status(c, cadence[c.tier or ""], t, NOW) for c, t in people]
    chart = week_starts(NOW, BERLIN, 8)
    weekly = touches_by_week([("zoe-warm", 7, 0, 1)], len(chart))  # column 7: this week
    holds = [
        UpcomingHold("ann-cold", "Ann Cold", NOW + timedelta(days=5), NOW + timedelta(days=5, minutes=30)),
        UpcomingHold("ann-cold", "Ann Cold", NOW + timedelta(days=2), NOW + timedelta(days=2, minutes=30)),
    ]
    kept = rhythm({}, [], [], week_starts(NOW, BERLIN, 12), BERLIN, 1)
    return build_report(statuses, lambda s: s.contact.tier or "", TIERS, weekly, chart, kept, holds, NOW, BERLIN)


def test_report_groups_by_tier_order_leaves_out_ignored_and_summarises_tiers() -> None:
    report = sample_report()
    assert [(row.tier, row.status.contact.name) for row in report.contacts] == [
        ("intimate", "Ola Close"),
        ("meaningful", "Ann Cold"),
        ("meaningful", "Zoe Warm"),
        ("familiar", "Ned Never"),
    ]
    assert [(t.tier, t.count, t.warm) for t in report.tiers] == [
        ("intimate", 1, 1),
        ("meaningful", 2, 1),
        ("familiar", 1, 0),
        ("unfamiliar", 0, 0),
    ]
    assert [row.status.contact.name for row in report.cold] == ["Ned Never", "Ann Cold"]
    ann = next(row for row in report.contacts if row.status.contact.id == "ann-cold")
    assert ann.hold_start == NOW + timedelta(days=2)  # the earliest hold
    assert ann.days_since_touch == 40 and ann.cold_at == NOW - timedelta(days=10)
    never = next(row for row in report.contacts if row.status.contact.id == "ned-never")
    assert never.days_since_touch is None and never.cold_at is None


def test_report_json_has_the_documented_shape() -> None:
    data = report_json(sample_report())
    assert set(data) == {"contacts", "rhythm", "generated_at"}
    assert data["generated_at"] == "2026-11-20T09:00:00+01:00"
    assert "ivy-ignored" not in {item["id"] for item in data["contacts"]}
    fields = {"id", "name", "tier", "cadence_days", "last_touch_at", "days_since_touch", "cold", "hold_start"}
    for item in data["contacts"]:
        assert set(item) == fields | {"touches_by_week"}
    by_id = {item["id"]: item for item in data["contacts"]}
    assert by_id["zoe-warm"]["touches_by_week"] == [{"week": "2026-W47", "meetings": 0, "messages": 1}]
    assert by_id["ned-never"]["days_since_touch"] is None and by_id["ned-never"]["last_touch_at"] is None
    assert by_id["ann-cold"]["hold_start"] == "2026-11-22T09:00:00+01:00" and by_id["ann-cold"]["cold"] is True
    assert len(data["rhythm"]) == 12 and data["rhythm"][-1] == {"week": "2026-W47", "coffees": 0, "target": 1}
    assert all(re.fullmatch(r"\d{4}-W\d{2}", week["week"]) for week in data["rhythm"])


def test_terminal_lines_plain_without_colour_and_escaped_names() -> None:
    report = sample_report()
    plain = render_terminal(report, colour=False)
    assert "\x1b" not in plain
    lines = plain.splitlines()
    assert lines[0].startswith("intimate — 1 contact, 1 warm")
    assert lines[-1].startswith("rhythm: coffees a week over the last 12 weeks")
    ann = next(line for line in lines if "Ann Cold" in line)
    assert "cold" in ann and "◆ hold" in ann and "40d / 30d" in ann
    assert "never touched" in next(line for line in lines if "Ned Never" in line)
    assert "Ivy Ignored" not in plain
    assert "\x1b[31m" in render_terminal(report, colour=True)


def test_terminal_makes_control_characters_in_names_visible() -> None:
    evil = Contact(id="evil", name="Eve\x1b[2J\u202eX", emails=["eve@example.com"], tier="intimate")
    status = contact_status(evil, 14, touch(2), NOW)
    report = build_report([status], lambda s: "intimate", TIERS, {}, week_starts(NOW, BERLIN, 2), (), [], NOW, BERLIN)
    text = render_terminal(report, colour=True)
    assert "Eve\\x1b[2J\\u202eX" in text
    assert "\x1b[2J" not in text and "\u202e" not in text


# --- the command on a real store --------------------------------------------------------------------


@pytest.fixture
def world(cli):
    home = cli.home
    (home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org", "b.stone@gmail.com"]\ncadence_days = 10\n\n'
        '[[contact]]\nname = "Carol Never"\nemails = ["carol@example.net"]\ntier = "intimate"\n\n'
        '[[contact]]\nname = "Dan Ignored"\nemails = ["dan@example.net"]\nignore = true\n'
    )
    (home / "cal.ics").write_text(
        ics_calendar(
            ics_event("m1", "20261103T090000Z", "20261103T100000Z", [ME, "ada@example.com", "bob@example.org"], ME),
            ics_event("m2", "20261110T090000Z", "20261110T100000Z", [ME, "dan@example.net"], organizer=ME),
        )
    )
    (home / "mail.mbox").write_text(
        # to both of Bob's addresses: one touch
        mbox_message(
            "1@x", f"Me <{ME}>", ["Bob <bob@example.org>", "b.stone@gmail.com"], "Wed, 18 Nov 2026 10:00:00 +0000"
        )
        + mbox_message("2@x", "Bob <bob@example.org>", [ME], "Thu, 19 Nov 2026 10:00:00 +0000")
        # Sunday night and Monday 00:00 in Berlin, both on a Sunday in UTC; the same around the end of summer time
        + mbox_message("3@x", f"Me <{ME}>", ["ada@example.com"], "Sun, 15 Nov 2026 22:59:00 +0000")
        + mbox_message("4@x", f"Me <{ME}>", ["ada@example.com"], "Sun, 15 Nov 2026 23:00:00 +0000")
        + mbox_message("5@x", f"Me <{ME}>", ["ada@example.com"], "Sun, 25 Oct 2026 22:30:00 +0000")
        + mbox_message("6@x", f"Me <{ME}>", ["ada@example.com"], "Sun, 25 Oct 2026 23:30:00 +0000")
    )
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        mbox = "mail.mbox"
        [holds]
        enabled = false
        per_week = 2
    """)
    assert cli("sync", now=NOW_TEXT).code == 0
    return cli


def test_report_json_from_the_store(world):
    assert world("touch", "ada", "--date", "2026-11-18T10:00", now=NOW_TEXT).code == 0  # a call: a meeting
    store = Store.open(world.home / ".local/share/syncd/syncd.db")
    with store.transaction():
        for event_id, contact_id, start, state in (
            ("h1", "carol-never", "2026-11-11T09:00:00+01:00", PAST),  # went by: a coffee in W46
            ("h2", "ada-lovelace", "2026-11-03T08:00:00+01:00", PAST),  # the day she was met: the same coffee
            ("h3", "bob-stone", "2026-11-12T09:00:00+01:00", DELETED),  # deleted by the user: none
        ):
            begin = datetime.fromisoformat(start)
            hold = StoredHold(event_id, contact_id, "ics:x", begin, begin + timedelta(minutes=30), None, state)
            holds_store.insert(store, hold, NOW)
    store.close()
    result = world("report", "--json", now=NOW_TEXT)
    assert result.code == 0, result.err
    data = result.json()
    by_id = {item["id"]: item for item in data["contacts"]}
    assert set(by_id) == {"ada-lovelace", "bob-stone", "carol-never"}
    assert by_id["ada-lovelace"]["touches_by_week"] == [
        {"week": "2026-W43", "meetings": 0, "messages": 1},
        {"week": "2026-W44", "meetings": 0, "messages": 1},
        {"week": "2026-W45", "meetings": 1, "messages": 0},
        {"week": "2026-W46", "meetings": 0, "messages": 1},
        {"week": "2026-W47", "meetings": 1, "messages": 1},
    ]
    assert by_id["ada-lovelace"]["last_touch_at"] == "2026-11-18T10:00:00+01:00"
    assert by_id["ada-lovelace"]["days_since_touch"] == 1 and by_id["ada-lovelace"]["cold"] is False
    assert by_id["bob-stone"]["touches_by_week"] == [
        {"week": "2026-W45", "meetings": 1, "messages": 0},
        {"week": "2026-W47", "meetings": 0, "messages": 2},
    ]
    assert by_id["carol-never"]["cold"] is True and by_id["carol-never"]["touches_by_week"] == []
    rhythm_weeks = {week["week"]: week for week in data["rhythm"]}
    assert rhythm_weeks["2026-W45"] == {"week": "2026-W45", "coffees": 1, "target": 2}  # one meeting, two contacts
    assert rhythm_weeks["2026-W46"]["coffees"] == 1  # Carol's hold; the meeting with an ignored contact is none
    assert data["generated_at"] == NOW_TEXT


def test_report_in_a_pipe_is_plain_and_lists_every_contact(world):
    result = world("report", now=NOW_TEXT)
    assert result.code == 0, result.err
    assert "\x1b" not in result.out
    for name in ("Ada Lovelace", "Bob Stone", "Carol Never"):
        assert name in result.out
    assert "Dan Ignored" not in result.out
    assert result.out.splitlines()[-1].startswith("rhythm:") and "target 2 a week" in result.out


def test_report_html_writes_the_page(world):
    page = world.home / "out" / "network.html"
    result = world("report", "--html", str(page), now=NOW_TEXT)
    assert result.code == 0, result.err
    assert f"wrote {page}" in result.out
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Carol Never" in text and "Dan Ignored" not in text
    assert oct(page.stat().st_mode & 0o777) == "0o600"


def _run_on_a_terminal(world, **env: str) -> bytes:
    """`syncd report` in a real process whose stdout is a pseudo-terminal."""
    controller, terminal = pty.openpty()
    argv = [sys.executable, "-m", "syncd", "--config", str(world.config), "--now", NOW_TEXT, "report"]
    environment = world.env(**env)
    if "NO_COLOR" not in env:
        environment.pop("NO_COLOR", None)
    process = subprocess.Popen(argv, stdout=terminal, stderr=subprocess.PIPE, env=environment, cwd=REPO)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return output


@pytest.mark.slow
def test_report_on_a_terminal_is_coloured_unless_no_color(world):
    coloured = _run_on_a_terminal(world)
    assert b"\x1b[31m" in coloured and b"Carol Never" in coloured
    plain = _run_on_a_terminal(world, NO_COLOR="1")
    assert b"\x1b[" not in plain and b"Carol Never" in plain


# --- the daemon keeps the page fresh -------------------------------------------------------------


def test_the_daemon_writes_the_page_after_planning_and_survives_a_place_it_cannot_write(tmp_path, caplog):
    from tests.daemon_helpers import NOW as DAEMON_NOW
    from tests.daemon_helpers import FakeClock, make_world, run_in_process

    caplog.set_level(logging.INFO, logger="syncd.daemon")
    world = make_world(tmp_path / "w", sync_every="15m", cold=True)
    page = tmp_path / "pages" / "network.html"
    base_config = world.config.read_text()
    world.config.write_text(base_config + f'\n[report]\nhtml = "{page}"\n')
    run_in_process(world.config, FakeClock(DAEMON_NOW), lambda daemon: page.exists())
    text = page.read_text(encoding="utf-8")
    assert "Ada Lovelace" in text and '<section id="cold">' in text
    assert "hold booked" in text  # the run's own outcome: the holds it just booked

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    world = make_world(tmp_path / "w2", sync_every="15m", cold=True)  # fresh data: its first sync plans
    world.config.write_text(world.config.read_text() + f'\n[report]\nhtml = "{blocker / "network.html"}"\n')
    clock = FakeClock(DAEMON_NOW)
    run_in_process(world.config, clock, lambda daemon: len(clock.naps) >= 3)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(message.startswith(f"report page {blocker / 'network.html'}:") for message in warnings), warnings


def test_report_on_an_empty_store(cli):
    cli.write_config('[user]\ntimezone = "Europe/Berlin"\n[holds]\nenabled = false\n')
    data = cli("report", "--json", now=NOW_TEXT).json()
    assert data["contacts"] == [] and len(data["rhythm"]) == 12
    assert all(week["coffees"] == 0 and week["target"] == 1 for week in data["rhythm"])
    text = cli("report", now=NOW_TEXT)
    assert text.code == 0 and "no contacts yet" in text.out
    page = cli.home / "empty.html"
    assert cli("report", "--html", str(page), now=NOW_TEXT).code == 0
    assert "Nobody is cold." in page.read_text(encoding="utf-8")


def test_report_html_into_a_folder_it_cannot_create_is_one_line_and_exit_1(world):
    blocker = world.home / "a-file"
    blocker.write_text("not a folder")
    result = world("report", "--html", str(blocker / "network.html"), now=NOW_TEXT)
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert f"{blocker / 'network.html'}: cannot write the report page there" in result.err
