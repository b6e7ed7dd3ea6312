"""A Google that refuses connections: the Google sources give up after a few quick tries, the local ones sync.

The closed port is a real one on 127.0.0.1: a TCP socket bound but never listening, so
every connection to it is refused (and no other process can take the port meanwhile).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.oauth2.credentials import Credentials

from syncd.config import parse_config
from syncd.engine import run_cycle
from syncd.errors import SourceError
from syncd.google.client import UNREACHABLE_HOLD, GoogleSession, session_for
from syncd.google.retry import RetryPolicy
from syncd.sources.google import google_sources
from syncd.sources.ics import IcsSource
from tests.conftest import ics_calendar, ics_event
from tests.daemon_helpers import make_world
from tests.fakegoogle import FakeGoogle
from tests.sources.contract import ME, NOW
from tests.sources.google_world import store  # noqa: F401 (a fixture)


class Waits:
    """A RetryPolicy sleep that records instead of waiting: each wait is one failed try before another."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def closed_port() -> Iterator[int]:
    refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refusing.bind(("127.0.0.1", 0))
    yield refusing.getsockname()[1]
    refusing.close()


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
        yield server


def test_a_refused_api_endpoint_gives_up_after_three_tries_and_then_at_once(fake, closed_port):
    waits = Waits()
    google = GoogleSession(fake.credentials(), f"http://127.0.0.1:{closed_port}/", retry=RetryPolicy(sleep=waits))
    with pytest.raises(SourceError) as caught:
        google.execute(google.calendar().events().list(calendarId="primary"), "calendar", "events")
    message = str(caught.value)
    assert "connection refused" in message and "3 attempts" in message and "api_endpoint" in message
    assert "\n" not in message and caught.value.state == "error"
    assert len(waits.waits) == 2 and all(wait <= 1.0 for wait in waits.waits)
    assert fake.calls["oauth.token"] == 1  # the token endpoint answered; only the API refused

    with pytest.raises(SourceError) as again:
        google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert str(again.value).startswith("Gmail: cannot connect (connection refused) moments ago")
    assert "api_endpoint" in str(again.value) and again.value.state == "error"
    assert len(waits.waits) == 2  # not one more try: the refusal is remembered for a while


def test_a_refused_token_endpoint_gives_up_the_same_way(fake, closed_port):
    info = fake.authorized_user_info()
    credentials = Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=f"http://127.0.0.1:{closed_port}/token",
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    waits = Waits()
    google = GoogleSession(credentials, fake.root, retry=RetryPolicy(sleep=waits))
    with pytest.raises(SourceError) as caught:
        google.ensure_token("gmail")
    assert "connection refused" in str(caught.value) and "3 attempts" in str(caught.value)
    assert len(waits.waits) == 2
    assert fake.log == []  # nothing ever reached the fake


def test_the_refusal_is_remembered_only_for_a_while(fake, closed_port):
    now = [1000.0]
    waits = Waits()
    google = GoogleSession(fake.credentials(), f"http://127.0.0.1:{closed_port}/", retry=RetryPolicy(sleep=waits))
    google.clock = lambda: now[0]

    def profile() -> None:
        with pytest.raises(SourceError, match="connection refused"):
            google.execute(google.gmail().users().getProfile(userId="me"), "gmail")

    profile()
    now[0] += UNREACHABLE_HOLD - 1
    profile()
    assert len(waits.waits) == 2
    now[0] += 2
    profile()  # a daemon's next cycle tries again
    assert len(waits.waits) == 4


def test_one_shot_sync_marks_google_sources_error_and_syncs_the_local_ones(store, fake, closed_port, tmp_path):  # noqa: F811
    token = tmp_path / "token.json"
    token.write_text(json.dumps(fake.authorized_user_info()))
    token.chmod(0o600)
    config = parse_config(
        f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n'
        '[sources.google]\nenabled = true\ncalendars = ["primary", "team@group.calendar.google.com"]\n'
        f'gmail = true\napi_endpoint = "http://127.0.0.1:{closed_port}/"\ntoken_file = "{token}"\n',
        None,
    )
    ics = tmp_path / "work.ics"
    ics.write_text(
        ics_calendar(ics_event("x@test", "20261118T090000Z", "20261118T093000Z", [ME, "bob@example.com"], organizer=ME))
    )
    waits = Waits()
    sources = [*google_sources(config, session=session_for(config, RetryPolicy(sleep=waits))), IcsSource(ics)]
    result = run_cycle(config, store, sources, NOW + timedelta(minutes=5))

    assert [outcome.ok for outcome in result.outcomes] == [False, False, False, True]
    for source in sources[:3]:
        state = store.source_state(source.name)
        assert state.state == "error" and "connection refused" in state.error and "\n" not in state.error
    assert len(waits.waits) == 2  # three tries in all, by the first Google source; the others fail at once
    assert store.connection.execute("SELECT count(*) FROM touches WHERE address = 'bob@example.com'").fetchone()[0]


@pytest.mark.slow
def test_syncd_sync_gives_up_on_a_refused_google_and_syncs_the_local_sources(tmp_path, fake, closed_port):
    """The real command with the real (sleeping) retry policy; the timeout is only a guard against a hang."""
    world = make_world(tmp_path / "w")
    token = world.root / "token.json"
    token.write_text(json.dumps(fake.authorized_user_info()))
    token.chmod(0o600)
    with world.config.open("a") as config:
        config.write(
            f'\n[sources.google]\nenabled = true\napi_endpoint = "http://127.0.0.1:{closed_port}/"\n'
            f'token_file = "{token}"\ncalendars = ["primary"]\ngmail = true\n'
        )
    result = world.run("sync", timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    _, status = world.status()
    by_kind = {source["kind"]: source for source in status["sources"]}
    calendar, gmail = by_kind["google_calendar"], by_kind["gmail"]
    assert calendar["state"] == gmail["state"] == "error"
    assert "connection refused" in calendar["error"] and "3 attempts" in calendar["error"]
    assert "connection refused" in gmail["error"] and "moments ago" in gmail["error"]  # Gmail did not try again
    assert by_kind["ics"]["state"] == "ok" and by_kind["mbox"]["state"] == "ok"
    assert {entry["api"] for entry in fake.log} == {"oauth.token"}  # only the token endpoint is up
