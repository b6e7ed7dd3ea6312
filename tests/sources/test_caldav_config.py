"""`[[sources.caldav]]` tables and the `caldav:NAME/CALENDAR` hold sink, as the config loads them (no server)."""

from __future__ import annotations

import pytest

from syncd.config import parse_config
from syncd.errors import ConfigError
from syncd.sinks import make_sink
from syncd.sinks.base import SinkSpecError
from syncd.sinks.caldav import CaldavHoldSink
from syncd.sources import configured_sources
from syncd.sources.caldav import caldav_accounts

TWO_ACCOUNTS = """
[holds]
sink = "caldav:home/Coffee"

[[sources.caldav]]
name = "home"
url = "https://cal.example.org/dav"
username = "ada"
password_command = "pass show 'cal/home account'"
calendars = ["Personal", "https://cal.example.org/dav/calendars/ada/work/"]

[[sources.caldav]]
name = "work"
url = "https://caldav.example.com/"
username = "ada@example.com"
password_command = ["secret-tool", "lookup", "caldav", "work"]
"""


def test_each_listed_calendar_is_a_source_and_an_unlisted_account_one():
    config = parse_config(TWO_ACCOUNTS, None)
    assert [source.name for source in configured_sources(config)] == [
        "caldav:home/Personal",
        "caldav:home/https://cal.example.org/dav/calendars/ada/work/",
        "caldav:work",
    ]
    home, work = caldav_accounts(config)
    assert home.password_command == ("pass", "show", "cal/home account")  # split like a shell, never run by one
    assert (work.url, work.username, work.calendars) == ("https://caldav.example.com/", "ada@example.com", ())
    assert {source.kind for source in configured_sources(config)} == {"caldav"}


def test_the_hold_sink_names_an_account_and_a_calendar():
    config = parse_config(TWO_ACCOUNTS, None)
    sink = make_sink("caldav:home/Coffee", config=config)
    assert config.hold_sink == "caldav:home/Coffee"
    assert isinstance(sink, CaldavHoldSink) and sink.name == "caldav:home/Coffee"
    with pytest.raises(SinkSpecError, match="no \\[\\[sources.caldav\\]\\] table named 'private'"):
        make_sink("caldav:private/Coffee", config=config)


def test_missing_and_unknown_keys_are_reported_together_with_their_table():
    text = (
        '[[sources.caldav]]\nname = "home"\nurl = "https://a.example/"\n\n'
        '[[sources.caldav]]\nurl = "ftp://b"\npasword_command = "x"\n'
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(text, None)
    assert raised.value.problems == [
        "<config>:1: [[sources.caldav]] #1 username is required",
        "<config>:5: [[sources.caldav]] #2 url: expected an http(s) URL, got 'ftp://b'",
        "<config>:5: unknown key [[sources.caldav]] #2 pasword_command (did you mean 'password_command'?)",
        "<config>:5: [[sources.caldav]] #2 name is required",
        "<config>:5: [[sources.caldav]] #2 url is required",
        "<config>:5: [[sources.caldav]] #2 username is required",
    ]


def test_a_caldav_sink_without_a_calendar_is_a_config_error():
    with pytest.raises(ConfigError, match='expected "ics:PATH", "google:CALENDAR_ID" or "caldav:NAME/CALENDAR"'):
        parse_config('[holds]\nsink = "caldav:home"\n', None)
