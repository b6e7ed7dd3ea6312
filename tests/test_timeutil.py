"""Clock, durations and instants (syncd.timeutil), and the date-only `touch --date` they feed."""

from __future__ import annotations

from datetime import datetime, time, timedelta, UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncd.timeutil import (
    format_duration,
    from_iso,
    iso,
    local_timezone,
    parse_duration,
    parse_hhmm,
    parse_instant,
    parse_timezone,
    resolve_now,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --- durations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("14d", timedelta(days=14)),
        ("2w", timedelta(weeks=2)),
        ("365d", timedelta(days=365)),
        (" 15m ", timedelta(minutes=15)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "30", "m", "1.5h", "-5m", "30M", "30 minutes", "2w1d", "1y", "h1"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30m, 14d or 2w"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(weeks=2), "2w"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=5), "5h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=90), "90s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration_round_trips(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
    assert parse_duration(format_duration(delta)) == delta


# --- times of day and zones ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("07:00", time(7)), ("7:05", time(7, 5)), ("23:59", time(23, 59)), ("00:00", time(0)), (" 12:30 ", time(12, 30))],
)
def test_parse_hhmm(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("bad", ["24:00", "07:60", "0700", "7", "07:00:00", "7am", "", "-1:00"])
def test_parse_hhmm_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a time of day like 07:00"):
        parse_hhmm(bad)


def test_parse_timezone() -> None:
    assert parse_timezone("Europe/Berlin") == BERLIN
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValueError, match="expected an IANA time zone"):
            parse_timezone(bad)


def test_local_timezone_prefers_tz_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert local_timezone() == NEW_YORK
    monkeypatch.setenv("TZ", ":Europe/Berlin")
    assert local_timezone() == BERLIN


def test_local_timezone_ignores_a_bogus_tz_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Not/AZone")
    zone = local_timezone()
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() is not None


# --- instants --------------------------------------------------------------------


def test_parse_instant_with_offset_is_kept_and_converted_to_utc() -> None:
    value = parse_instant("2026-11-20T09:00:00+01:00", NEW_YORK)
    assert value == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert value.tzinfo == UTC


def test_parse_instant_z_suffix() -> None:
    assert parse_instant("2026-11-20T09:00:00Z", BERLIN) == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-20T09:00", "2026-11-20 09:00", " 2026-11-20T09:00:00 "])
def test_parse_instant_naive_datetime_is_in_the_user_zone(text: str) -> None:
    assert parse_instant(text, BERLIN) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_parse_instant_naive_datetime_respects_dst() -> None:
    assert parse_instant("2026-07-01T09:00", BERLIN) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_parse_instant_date_is_local_noon() -> None:
    # Noon keeps the calendar date the same in every zone within ±12h when shown back.
    value = parse_instant("2026-11-20", BERLIN)
    assert value == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    assert value.astimezone(BERLIN).date().isoformat() == "2026-11-20"
    assert parse_instant("2026-11-20", NEW_YORK).astimezone(NEW_YORK) == datetime(2026, 11, 20, 12, 0, tzinfo=NEW_YORK)


def test_parse_instant_basic_date_form_is_also_local_noon() -> None:
    assert parse_instant("20261120", BERLIN) == parse_instant("2026-11-20", BERLIN)


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01", "20/11/2026", "2026-11-20T25:00"])
def test_parse_instant_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="expected an ISO-8601 date or datetime"):
        parse_instant(bad, BERLIN)


@pytest.mark.parametrize(
    "text",
    ["1899-12-31", "3000-01-01", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2999-12-31T23:00-01:00"],
)
def test_parse_instant_outside_1900_to_2999_is_refused_without_overflow(text: str) -> None:
    with pytest.raises(ValueError, match="between 1900-01-01 and 2999-12-31"):
        parse_instant(text, BERLIN)


def test_parse_instant_edges_of_the_range_are_accepted() -> None:
    assert parse_instant("1900-01-01T00:00:00Z", BERLIN) == datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_instant("2999-12-31T23:59:59Z", BERLIN) == datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("text", ["36501d", "99999999999d", "9999999999999999999999w"])
def test_parse_duration_longer_than_a_hundred_years_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="at most 36500d"):
        parse_duration(text)


# --- the clock -------------------------------------------------------------------


def test_resolve_now_option_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_NOW", "2030-01-01T00:00:00Z")
    assert resolve_now("2026-11-20T09:00:00+01:00", BERLIN) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_resolve_now_env_wins_over_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_NOW", "2030-01-01T00:00:00Z")
    assert resolve_now(None, BERLIN) == datetime(2030, 1, 1, tzinfo=UTC)


def test_resolve_now_falls_back_to_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCD_NOW", raising=False)
    before = datetime.now(UTC)
    now = resolve_now(None, BERLIN)
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is not None


def test_resolve_now_bad_value_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_NOW", "soon")
    with pytest.raises(ValueError, match="'soon'"):
        resolve_now(None, BERLIN)


def test_resolve_now_names_where_the_bad_value_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_NOW", "9999-12-31T23:59:59+00:00")
    with pytest.raises(ValueError, match="^SYNCD_NOW: expected a date between"):
        resolve_now(None, BERLIN)
    with pytest.raises(ValueError, match="^--now: expected a date between"):
        resolve_now("3000-01-01", BERLIN)


def test_resolve_now_naive_value_is_in_the_user_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCD_NOW", raising=False)
    assert resolve_now("2026-11-20T09:00", BERLIN) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


# --- helpers ---------------------------------------------------------------------


def test_iso_is_utc_to_the_second_and_reads_back() -> None:
    berlin_nine = datetime(2026, 11, 20, 9, 0, 5, 999_999, tzinfo=BERLIN)
    assert iso(berlin_nine) == "2026-11-20T08:00:05+00:00"
    assert from_iso(iso(berlin_nine)) == berlin_nine.replace(microsecond=0)
    assert from_iso(None) is None


# --- `touch --date` with a date only, through the real command --------------------


@pytest.fixture
def touch_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from syncd.cli import main

    for name in ("SYNCD_NOW", "SYNCD_FAULT_KILL_AFTER_COMMITS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = tmp_path / "config.toml"
    config.write_text('[user]\ntimezone = "Europe/Berlin"\nemails = ["me@example.com"]\n[store]\npath = "syncd.db"\n')
    contacts = tmp_path / "contacts.toml"
    contacts.write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    assert main(["--config", str(config), "contacts", "import", str(contacts)]) == 0
    return config


def test_touch_date_yesterday_morning(touch_world: Path, capsys: pytest.CaptureFixture) -> None:
    from syncd.cli import main

    code = main(
        [
            "--config",
            str(touch_world),
            "--now",
            "2026-11-20T09:00:00+01:00",
            "touch",
            "ada@example.com",
            "--date",
            "2026-11-19",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "on 2026-11-19 12:00" in capsys.readouterr().out


def test_touch_date_today_before_noon_is_accepted(touch_world: Path, capsys: pytest.CaptureFixture) -> None:
    from syncd.cli import main

    code = main(
        [
            "--config",
            str(touch_world),
            "--now",
            "2026-11-20T09:00:00+01:00",
            "touch",
            "ada@example.com",
            "--date",
            "2026-11-20",
        ]
    )
    assert code == 0, capsys.readouterr().err
