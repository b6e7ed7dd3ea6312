"""Config spec, validation, defaults and the `syncd init` template (syncd.config, syncd.config_spec)."""

from __future__ import annotations

import re
import textwrap
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncd.config import ConfigError, expand_path, load_config, parse_config, starter_config, starter_sink
from syncd.config_spec import DEFAULT_WINDOWS, REPEATED_SECTIONS, SPEC
from syncd.planner import parse_window


def parse(text: str, path: Path | None = None):
    return parse_config(textwrap.dedent(text), path)


def problems_of(text: str, path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text, path)
    return caught.value.problems


def values(config) -> dict[str, dict]:
    return {name: vars(section) for name, section in config.sections.items()}


# --- defaults --------------------------------------------------------------------


def test_defaults_are_the_designs() -> None:
    config = parse("")
    assert config.sources.lookback == timedelta(days=365)
    assert config.daemon.sync_every == timedelta(minutes=15)
    assert config.daemon.plan_at == time(7, 0)
    assert config.holds.duration == timedelta(minutes=30)
    assert config.holds.windows == tuple(parse_window(w) for w in ["Tue-Thu 08:30-10:00", "Tue-Thu 12:00-13:30"])
    assert DEFAULT_WINDOWS == ["Tue-Thu 08:30-10:00", "Tue-Thu 12:00-13:30"]
    assert config.holds.lead_time == timedelta(days=1)
    assert config.holds.horizon == timedelta(days=14)
    assert config.holds.buffer == timedelta(minutes=15)
    assert config.holds.per_day == 1
    assert config.holds.per_week == 1
    assert config.holds.remove_when_touched is True
    assert config.holds.enabled is True
    assert config.holds.title == "Coffee with {name}"
    assert config.rules.max_meeting_size == 8
    assert config.rules.max_recipients == 10
    assert config.rules.blocklist == []
    assert config.google.calendars == ["primary"]
    assert config.google.gmail is True
    assert config.google.enabled is False
    assert config.user.emails == []
    assert config.contacts.files == []
    assert config.ics.paths == []
    assert config.mail.mbox == [] and config.mail.maildir == []


def test_default_tier_cadences() -> None:
    config = parse("")
    assert {tier: config.tier_cadence(tier) for tier in ("meaningful", "intimate", "familiar", "unfamiliar")} == {
        "meaningful": 30,
        "intimate": 14,
        "familiar": 90,
        "unfamiliar": 180,
    }
    assert config.tiers.default == "familiar"


def test_tier_cadences_overridable() -> None:
    assert parse("[tiers]\nmeaningful = 21\ndefault = 'meaningful'\n").tier_cadence("meaningful") == 21


def test_default_store_follows_xdg_no_default_sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = parse("")
    assert config.store_path == tmp_path / "data" / "syncd" / "syncd.db"
    assert config.hold_sink is None


def test_timezone_from_config() -> None:
    assert parse('[user]\ntimezone = "Europe/Berlin"\n').tz == ZoneInfo("Europe/Berlin")


def test_every_spec_key_has_a_value_after_parsing() -> None:
    config = parse("")
    for key in SPEC:
        if key.section in REPEATED_SECTIONS:  # account tables: a tuple, empty without tables
            assert config.repeated[key.section] == ()
            continue
        assert hasattr(config.sections[key.section], key.name)


# --- values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("14d", timedelta(days=14)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse(f'[daemon]\nsync_every = "{text}"\n').daemon.sync_every == expected


@pytest.mark.parametrize("bad", ['"30"', '"30 minutes"', '"1.5h"', '"-5m"', '"m"', '"30M"', "30", '""'])
def test_bad_durations(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "config.toml"
    problems = problems_of(f"[daemon]\nsync_every = {bad}\n", path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:2: [daemon] sync_every: expected a duration")


def test_plan_at_and_bad_plan_at(tmp_path: Path) -> None:
    assert parse('[daemon]\nplan_at = "6:45"\n').daemon.plan_at == time(6, 45)
    path = tmp_path / "c.toml"
    assert problems_of('[daemon]\nplan_at = "25:00"\n', path) == [
        f"{path}:2: [daemon] plan_at: expected a time of day like 07:00, got '25:00'"
    ]


def test_windows_single_string_and_list() -> None:
    one = parse('[holds]\nwindows = "Mon,Wed 12:00-13:00"\n').holds.windows
    assert one == (parse_window("Mon,Wed 12:00-13:00"),)
    two = parse('[holds]\nwindows = ["Mon 09:00-10:00", "Fri 15:00-16:00"]\n').holds.windows
    assert two == (parse_window("Mon 09:00-10:00"), parse_window("Fri 15:00-16:00"))


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("user", "emails"),
        ("contacts", "files"),
        ("sources.google", "calendars"),
        ("sources.ics", "paths"),
        ("sources.mail", "mbox"),
        ("sources.mail", "maildir"),
        ("rules", "blocklist"),
    ],
)
def test_single_string_accepted_for_list_keys(tmp_path: Path, section: str, key: str) -> None:
    config = parse(f'[{section}]\n{key} = "x@example.com"\n', tmp_path / "config.toml")
    value = getattr(config.sections[section], key)
    assert isinstance(value, list) and len(value) == 1
    assert str(value[0]).endswith("x@example.com")


def test_tilde_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = parse(
        '[store]\npath = "~/db/syncd.db"\n[sources.mail]\nmbox = ["~/Mail/sent.mbox"]\n'
        '[holds]\nsink = "ics:~/holds.ics"\n',
        tmp_path / "cfg" / "config.toml",
    )
    assert config.store.path == tmp_path / "home" / "db" / "syncd.db"
    assert config.mail.mbox == [tmp_path / "home" / "Mail" / "sent.mbox"]
    assert config.hold_sink == f"ics:{tmp_path / 'home' / 'holds.ics'}"


def test_environment_variables_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As the README says: `$VAR` and `${VAR}` in a path are the environment's."""
    monkeypatch.setenv("SYNCD_TEST_MAIL", str(tmp_path / "mail"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = parse(
        '[store]\npath = "${XDG_DATA_HOME}/syncd/syncd.db"\n[sources.mail]\nmbox = ["$SYNCD_TEST_MAIL/sent.mbox"]\n',
        tmp_path / "cfg" / "config.toml",
    )
    assert config.store.path == tmp_path / "data" / "syncd" / "syncd.db"
    assert config.mail.mbox == [tmp_path / "mail" / "sent.mbox"]


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    config = parse(
        """
        [store]
        path = "data/syncd.db"
        [contacts]
        files = "contacts.toml"
        [sources.ics]
        paths = ["cal/work.ics", "/abs/other.ics"]
        [holds]
        sink = "ics:holds.ics"
        """,
        path,
    )
    assert config.store_path == tmp_path / "cfg" / "data" / "syncd.db"
    assert config.contacts.files == [tmp_path / "cfg" / "contacts.toml"]
    assert config.ics.paths == [tmp_path / "cfg" / "cal" / "work.ics", Path("/abs/other.ics")]
    assert config.hold_sink == f"ics:{tmp_path / 'cfg' / 'holds.ics'}"


def test_expand_path_without_base_stays_relative() -> None:
    assert expand_path("a/b") == Path("a/b")


def test_api_endpoint_gets_trailing_slash() -> None:
    assert (
        parse('[sources.google]\napi_endpoint = "http://127.0.0.1:8080"\n').google.api_endpoint
        == "http://127.0.0.1:8080/"
    )


def test_google_sink_needs_google_enabled(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert parse('[sources.google]\nenabled = true\n[holds]\nsink = "google:primary"\n').holds.sink == "google:primary"
    problems = problems_of('[holds]\nsink = "google:primary"\n', path)
    assert problems == [f"{path}:2: [holds] sink: 'google:primary' needs [sources.google] enabled = true"]


def test_bad_sink(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert problems_of('[holds]\nsink = "outlook:me"\n', path)[0].startswith(f"{path}:2: [holds] sink: expected")


def test_duration_must_be_shorter_than_horizon(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert problems_of('[holds]\nduration = "2d"\nhorizon = "1d"\n', path) == [
        f"{path}:2: [holds] duration: expected shorter than horizon"
    ]


def test_bad_default_tier(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    problems = problems_of('[tiers]\ndefault = "close"\n', path)
    assert problems == [
        f"{path}:2: [tiers] default: expected one of meaningful, intimate, familiar, unfamiliar, got 'close'"
    ]


# --- errors ----------------------------------------------------------------------


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert problems_of('[holds]\nduraton = "30m"\n', path) == [
        f"{path}:2: unknown key [holds] duraton (did you mean 'duration'?)"
    ]


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert problems_of("[holds]\nzzz = 1\n", path) == [f"{path}:2: unknown key [holds] zzz"]


def test_unknown_section_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert problems_of("[sources.gogle]\nenabled = true\n", path) == [
        f"{path}:1: unknown section [sources.gogle] (did you mean 'sources.google'?)"
    ]
    assert problems_of("[hold]\nper_day = 2\n", path) == [f"{path}:1: unknown section [hold] (did you mean 'holds'?)"]


def test_top_level_key_is_reported_with_its_name_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    problems = problems_of('timezone = "Europe/Berlin"\n[holds]\nper_day = 1\n', path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:1:")
    assert "timezone" in problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[holds]\nenabled = "yes"\n', "[holds] enabled: expected true or false, got 'yes'"),
        ('[holds]\nper_day = "one"\n', "[holds] per_day: expected a whole number, got 'one'"),
        ("[holds]\nper_day = true\n", "[holds] per_day: expected a whole number, got True"),
        ("[holds]\nper_day = -1\n", "[holds] per_day: expected a whole number ≥ 0, got -1"),
        ("[rules]\nmax_meeting_size = 0\n", "[rules] max_meeting_size: expected a whole number ≥ 1, got 0"),
        ("[rules]\nmax_recipients = 2.5\n", "[rules] max_recipients: expected a whole number, got 2.5"),
        ("[user]\nemails = 5\n", "[user] emails: expected a string or a list of strings, got 5"),
        ('[user]\nemails = ["a@b.c", 5]\n', "[user] emails: expected a string or a list of strings, got ['a@b.c', 5]"),
        (
            '[user]\ntimezone = "Mars/Olympus"\n',
            "[user] timezone: expected an IANA time zone like Europe/Berlin, got 'Mars/Olympus'",
        ),
        ("[holds]\ntitle = 3\n", '[holds] title: expected a title like "Coffee with {name}", got 3'),
        (
            '[sources.google]\napi_endpoint = "ftp://x"\n',
            "[sources.google] api_endpoint: expected an http(s) URL, got 'ftp://x'",
        ),
    ],
)
def test_wrong_types(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    assert problems_of(text, path) == [f"{path}:2: {expected}"]


def test_all_problems_reported_at_once_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = """\
        [user]
        emails = ["me@example.com"]
        timezone = "Mars/Olympus"

        [holds]
        duraton = "30m"
        per_day = "one"
        windows = ["Tue-Thu 25:00-26:00"]
        horizon = "2 weeks"

        [sources.gogle]
        enabled = true

        [sources.mail]
        mbox = 3
    """
    problems = problems_of(text, path)
    assert [re.match(r"^(.*):(\d+): ", problem).groups() for problem in problems] == [
        (str(path), "3"),
        (str(path), "6"),
        (str(path), "7"),
        (str(path), "8"),
        (str(path), "9"),
        (str(path), "11"),
        (str(path), "15"),
    ]
    assert "[user] timezone" in problems[0]
    assert "[holds] duraton" in problems[1] and "did you mean 'duration'" in problems[1]
    assert "[holds] per_day" in problems[2]
    assert "[holds] windows" in problems[3] and "Tue-Thu 25:00-26:00" in problems[3]
    assert "[holds] horizon" in problems[4]
    assert "[sources.gogle]" in problems[5]
    assert "[sources.mail] mbox" in problems[6]


def test_config_error_message_joins_all_problems(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as caught:
        parse("[holds]\nper_day = 'x'\nper_week = 'y'\n", path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert caught.value.exit_code == 2


def test_line_numbers_with_spaced_section_headers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert problems_of("[ sources.google ]\n\ngmail = 1\n", path) == [
        f"{path}:3: [sources.google] gmail: expected true or false, got 1"
    ]


def test_same_key_name_in_two_sections_points_at_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    problems = problems_of("[sources.ics]\nenabled = true\n[sources.mail]\nenabled = 'no'\n", path)
    assert problems == [f"{path}:4: [sources.mail] enabled: expected true or false, got 'no'"]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    problems = problems_of("[user\nemails = 1\n", path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: not valid TOML: ")
    assert "line 1" in problems[0]


# --- loading and the template ----------------------------------------------------


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True)
    assert str(path) in str(caught.value)
    assert "init" in str(caught.value)


def test_missing_default_config_is_an_error_that_says_run_init(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config, no work: syncd never syncs or books on defaults the user never saw."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    with pytest.raises(ConfigError) as raised:
        load_config(None, explicit=False)
    assert raised.value.problems == [
        f"{tmp_path / 'cfg' / 'syncd' / 'config.toml'}: no such config file; run `syncd init` to write a starter one"
    ]


def test_load_config_reads_the_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (tmp_path / "cfg" / "syncd").mkdir(parents=True)
    (tmp_path / "cfg" / "syncd" / "config.toml").write_text("[holds]\nper_day = 3\n")
    config = load_config(None, explicit=False)
    assert config.holds.per_day == 3
    assert config.path == tmp_path / "cfg" / "syncd" / "config.toml"


def test_load_config_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[holds]\ntitle = "\xff\xfe"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, explicit=True)
    assert str(caught.value).startswith(f"{path}: cannot read")


def defaults_with_starter_sink() -> dict:
    """The defaults, plus the one line `syncd init` sets: a hold sink the user can see."""
    expected = values(parse(""))
    expected["holds"]["sink"] = f"ics:{expand_path(starter_sink()[4:])}"
    return expected


def test_starter_config_parses_back_to_the_defaults_and_names_a_sink(tmp_path: Path) -> None:
    text = starter_config()
    assert values(parse_config(text, tmp_path / "config.toml")) == defaults_with_starter_sink()


def test_starter_sink_lies_beside_the_default_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert starter_sink() == "ics:~/data/syncd/holds.ics"
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/elsewhere")
    assert starter_sink() == "ics:/srv/elsewhere/syncd/holds.ics"


def test_starter_config_documents_every_key() -> None:
    text = starter_config()
    for key in SPEC:
        assert f"[{key.section}]" in text
        assert re.search(rf"^(#\s+)?{re.escape(key.name)} = ", text, re.M), key.name  # account keys indented


def test_starter_config_uncommented_defaults_equal_the_defaults(tmp_path: Path) -> None:
    """Uncommenting every key whose default is shown reproduces the defaults exactly."""
    shown = {(key.section, key.name) for key in SPEC if key.default not in (None, [])}
    lines, section = [], None
    for line in starter_config().splitlines():
        header = re.match(r"^\[(.+)\]$", line)
        if header:
            section = header.group(1)
        match = re.match(r"^# (\w+) = (.*)$", line)
        if match and (section, match.group(1)) in shown:
            line = f"{match.group(1)} = {match.group(2)}"
        lines.append(line)
    assert values(parse_config("\n".join(lines), tmp_path / "config.toml")) == defaults_with_starter_sink()


def test_starter_config_every_line_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = re.sub(r"^# (\w+ = )", r"\1", starter_config(), flags=re.M)
    parse_config(text, tmp_path / "config.toml")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("[holds]\nhorizon", "0d"),
        ("[holds]\nduration", "1m"),
        ("[sources]\nlookback", "2h"),
        ("[daemon]\nsync_every", "0s"),
    ],
)
def test_durations_below_their_minimum_are_rejected(tmp_path: Path, key: str, value: str) -> None:
    problems = problems_of(f'{key} = "{value}"\n', tmp_path / "config.toml")
    assert len(problems) == 1 and "expected at least" in problems[0]


def test_top_level_key_says_where_it_belongs(tmp_path: Path) -> None:
    problems = problems_of('timezone = "Europe/Berlin"\n[holds]\nper_day = 1\n', tmp_path / "config.toml")
    assert problems == [
        f"{tmp_path / 'config.toml'}:1: key 'timezone' must be inside a section (did you mean under [user]?)"
    ]
