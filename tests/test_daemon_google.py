"""The daemon against a failing Google (the fake on 127.0.0.1): it stays up, says why, backs off, local sources go on.

The daemon runs in-process on a fake clock, so "five sync periods" is a count of turns,
not ten seconds of waiting, and the number of token requests is exact, not a bound on
what happened to fit in a sleep.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.daemon_helpers import NOW, FakeClock, World, make_world, run_in_process, status_in_process
from tests.fakegoogle import FakeGoogle

pytestmark = pytest.mark.slow  # a real HTTP server


@pytest.fixture
def fake():
    with FakeGoogle("me@example.com") as server:
        yield server


def google_world(tmp_path: Path, fake: FakeGoogle) -> World:
    world = make_world(tmp_path / "w", sync_every="2s")
    token = world.root / "token.json"
    token.write_text(json.dumps(fake.authorized_user_info()))
    token.chmod(0o600)
    with world.config.open("a") as config:
        config.write(
            f'\n[sources.google]\nenabled = true\napi_endpoint = "{fake.root}"\ntoken_file = "{token}"\n'
            'calendars = ["primary"]\ngmail = true\n'
        )
    return world


def states(world: World, clock: FakeClock) -> tuple[int, dict[str, dict]]:
    code, data = status_in_process(world, clock.now())
    return code, {source["kind"]: source for source in data["sources"]}


def test_google_500s_keep_the_daemon_up_and_status_says_why(tmp_path: Path, fake: FakeGoogle) -> None:
    world = google_world(tmp_path, fake)
    clock = FakeClock(NOW)
    seen: dict[str, tuple[int, dict[str, dict]]] = {}

    def script(fake_clock: FakeClock) -> None:
        code, by_kind = states(world, fake_clock)
        if "healthy" not in seen:
            seen["healthy"] = (code, by_kind)
            fake.inject(rate=1.0, kinds=("500",), seed=1)
        elif "failing" not in seen and by_kind["google_calendar"]["state"] == "error":
            seen["failing"] = (code, by_kind)
            fake.clear_faults()
        elif "failing" in seen and code == 0:
            seen["recovered"] = (code, by_kind)

    clock.on_sleep = script
    daemon = run_in_process(world.config, clock, lambda d: "recovered" in seen, max_naps=200)

    code, by_kind = seen["healthy"]
    assert code == 0 and by_kind["gmail"]["state"] == "ok"
    code, by_kind = seen["failing"]
    assert code == 1
    error = by_kind["google_calendar"]["error"]
    assert "500" in error or "server" in error.lower()
    assert by_kind["ics"]["state"] == "ok" and by_kind["mbox"]["state"] == "ok"
    assert daemon.timing.failures == {}  # recovered: nobody backs off any more


def test_revoked_token_shows_needs_auth_while_local_sources_sync_and_retries_back_off(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    world = google_world(tmp_path, fake)
    fake.revoke_refresh_token()
    clock = FakeClock(NOW)
    daemon = run_in_process(world.config, clock, lambda d: clock.now() >= NOW + timedelta(seconds=10))

    code, by_kind = states(world, clock)
    assert code == 1
    assert by_kind["gmail"]["state"] == "needs_auth" and by_kind["google_calendar"]["state"] == "needs_auth"
    assert "syncd auth" in json.dumps(status_in_process(world, clock.now())[1]["problems"])
    assert by_kind["ics"]["state"] == "ok" and by_kind["mbox"]["items"] > 0
    # Five sync periods (10 s at 2 s): without backoff each Google source would try 6 times;
    # backing off 2 s, 4 s, 8 s it tries at 0, 2 and 6 s.
    google = {name: count for name, count in daemon.timing.failures.items() if name.startswith(("gmail", "google"))}
    assert sorted(google.values()) == [3, 3], daemon.timing.failures
    assert 1 <= fake.calls["oauth.token"] <= 2 * 3
