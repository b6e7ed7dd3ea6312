"""Several Google accounts: `[[sources.google]]` tables, per-account tokens, names, sink and `syncd auth --account`.

Each account is its own fake Google on 127.0.0.1 with its own token file, so a call that
went to the wrong account's endpoint or token would find nothing there.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import parse_config
from syncd.engine import run_cycle
from syncd.errors import ConfigError
from syncd.google.auth import run_auth
from syncd.google.retry import RetryPolicy
from syncd.planner import NewHold
from syncd.sinks import make_sink
from syncd.sources.google import google_sources
from tests.fakegoogle import FakeGoogle
from tests.sources.google_world import FAST, store  # noqa: F401 (a fixture)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ADA, BOB = "ada@example.com", "bob@example.org"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGoogle, FakeGoogle]]:
    with FakeGoogle(ADA, now=lambda: NOW) as ada, FakeGoogle(BOB, now=lambda: NOW) as bob:
        yield ada, bob


def token_for(fake: FakeGoogle, folder: Path) -> Path:
    token = folder / f"token-{fake.email}.json"
    token.write_text(json.dumps({**fake.authorized_user_info(), "account": fake.email}))
    token.chmod(0o600)
    return token


def table(fake: FakeGoogle, folder: Path, *, header: str = "[[sources.google]]", extra: str = "") -> str:
    return (
        f'{header}\nenabled = true\naccount = "{fake.email}"\ncalendars = ["primary"]\ngmail = true\n'
        f'api_endpoint = "{fake.root}"\ntoken_file = "{token_for(fake, folder)}"\n{extra}'
    )


def config_of(text: str, folder: Path, sink: str | None = None):
    holds = f'[holds]\nsink = "{sink}"\n' if sink else ""
    return parse_config(f'[user]\nemails = ["{ADA}", "{BOB}"]\ntimezone = "UTC"\n{text}{holds}', folder / "c.toml")


def meeting(fake: FakeGoogle, guest: str, days_ago: int) -> None:
    start = NOW - timedelta(days=days_ago)
    fake.calendar_add_event(
        {
            "summary": "Coffee",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()},
            "attendees": [{"email": fake.email, "self": True}, {"email": guest}],
        }
    )


def touched(store, address: str) -> list[str]:  # noqa: F811
    rows = store.connection.execute("SELECT source FROM touches WHERE address = ? ORDER BY source", (address,))
    return [row[0] for row in rows]


def test_each_account_syncs_with_its_own_token_and_names(store, fakes, tmp_path):  # noqa: F811
    ada, bob = fakes
    meeting(ada, "carol@example.com", 2)
    meeting(bob, "dave@example.com", 3)
    bob.gmail_add_message({"From": BOB, "To": "erin@example.com"}, NOW - timedelta(days=1), labels=("SENT",))
    config = config_of(table(ada, tmp_path) + table(bob, tmp_path), tmp_path)

    sources = google_sources(config, retry=RetryPolicy(**FAST))
    assert [source.name for source in sources] == [
        f"google_calendar:{ADA}/primary",
        f"gmail:{ADA}",
        f"google_calendar:{BOB}/primary",
        f"gmail:{BOB}",
    ]
    result = run_cycle(config, store, sources, NOW)
    assert [outcome.ok for outcome in result.outcomes] == [True] * 4
    assert touched(store, "carol@example.com") == [f"google_calendar:{ADA}/primary"]
    assert touched(store, "dave@example.com") == [f"google_calendar:{BOB}/primary"]
    assert touched(store, "erin@example.com") == [f"gmail:{BOB}"]
    assert ada.auth.issued and bob.auth.issued  # each fake handed out its own access token


def test_one_table_keeps_its_names_so_an_existing_store_syncs_on_incrementally(store, fakes, tmp_path):  # noqa: F811
    ada, _ = fakes
    meeting(ada, "carol@example.com", 2)
    single = config_of(table(ada, tmp_path, header="[sources.google]"), tmp_path)
    single_sources = google_sources(single, retry=RetryPolicy(**FAST))
    assert [source.name for source in single_sources] == ["google_calendar:primary", f"gmail:{ADA}"]
    assert all(outcome.ok for outcome in run_cycle(single, store, single_sources, NOW).outcomes)

    ada.reset_counters()
    array = config_of(table(ada, tmp_path), tmp_path)
    array_sources = google_sources(array, retry=RetryPolicy(**FAST))
    assert [source.name for source in array_sources] == ["google_calendar:primary", f"gmail:{ADA}"]
    assert all(outcome.ok for outcome in run_cycle(array, store, array_sources, NOW).outcomes)
    listing = [entry["query"] for entry in ada.log if entry["api"] == "calendar.events.list"]
    assert listing and all("syncToken" in query for query in listing)  # no resync
    assert ada.calls["gmail.users.history.list"] == 1 and ada.calls["gmail.users.messages.list"] == 0


def test_several_tables_need_distinct_accounts(fakes, tmp_path):
    ada, bob = fakes
    nameless = table(bob, tmp_path).replace(f'account = "{BOB}"\n', "")
    with pytest.raises(ConfigError) as caught:
        config_of(table(ada, tmp_path) + nameless + table(ada, tmp_path), tmp_path)
    problems = caught.value.problems
    assert any("[[sources.google]] #2 account is required when there are several" in p for p in problems)
    assert any(f"two [[sources.google]] tables are both account {ADA!r}" in p for p in problems)


def test_the_hold_sink_names_its_account(fakes, tmp_path):
    ada, bob = fakes
    config = config_of(table(ada, tmp_path) + table(bob, tmp_path), tmp_path, sink=f"google:{BOB}/primary")
    sink = make_sink(config.hold_sink, config=config, clock=lambda: NOW)
    assert sink.name == f"google:{BOB}/primary"
    start = NOW + timedelta(days=2)
    hold = NewHold("carol", "Carol", "holdcarol0001", start, start + timedelta(minutes=30), None, "overdue")
    sink.create(hold, "Coffee with Carol", "")
    assert [event["id"] for event in bob.calendar_events()] == ["holdcarol0001"]
    assert ada.calendar_events() == []

    with pytest.raises(ConfigError, match="google:ACCOUNT/CALENDAR_ID"):  # refused when the config loads
        config_of(table(ada, tmp_path) + table(bob, tmp_path), tmp_path, sink="google:primary")


def test_auth_picks_the_account_to_authorise(fakes, tmp_path):
    ada, bob = fakes
    config = config_of(table(ada, tmp_path) + table(bob, tmp_path), tmp_path)
    err = io.StringIO()
    assert run_auth(config, True, 0, err=err) == 2
    assert "--account" in err.getvalue() and ADA in err.getvalue() and BOB in err.getvalue()
    err = io.StringIO()
    assert run_auth(config, True, 0, account="nobody@example.com", err=err) == 2
    assert "nobody@example.com" in err.getvalue()
    err = io.StringIO()
    assert run_auth(config, True, 0, account=BOB.upper(), err=err) == 2  # Bob's table, which has no client_secrets
    assert "client_secrets" in err.getvalue()
