"""The daemon against a failing Google: it stays up, says why, and local sources go on."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.daemon_helpers import kill_quietly, make_world, stop, wait_for
from tests.fakegoogle import FakeGoogle


@pytest.fixture
def fake():
    with FakeGoogle("me@example.com") as server:
        yield server


def google_world(tmp_path, fake: FakeGoogle):
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


def states(world) -> tuple[int, dict[str, dict]]:
    code, data = world.status()
    return code, {source["kind"]: source for source in data["sources"]}


def test_google_500s_keep_the_daemon_up_and_status_says_why(tmp_path, fake):
    world = google_world(tmp_path, fake)
    process = world.start_daemon()
    try:
        wait_for(lambda: states(world)[1].get("gmail", {}).get("state") == "ok", 30, what="a first good Google sync")
        fake.inject(rate=1.0, kinds=("500",), seed=1)
        wait_for(
            lambda: states(world)[1]["google_calendar"]["state"] == "error", 60, what="the calendar source failing"
        )
        code, by_kind = states(world)
        assert code == 1
        assert "500" in by_kind["google_calendar"]["error"] or "server" in by_kind["google_calendar"]["error"].lower()
        assert by_kind["ics"]["state"] == "ok" and by_kind["mbox"]["state"] == "ok"
        assert process.poll() is None  # still running
        fake.clear_faults()
        wait_for(lambda: states(world)[0] == 0, 90, what="recovery after the 500s stop")
    finally:
        if process.poll() is None:
            code, _, stderr = stop(process, signal.SIGTERM)
            assert code == 0, stderr
        kill_quietly(process)


def test_revoked_token_shows_needs_auth_while_local_sources_sync(tmp_path, fake):
    world = google_world(tmp_path, fake)
    fake.revoke_refresh_token()
    process = world.start_daemon()
    try:
        wait_for(
            lambda: states(world)[1].get("gmail", {}).get("state") == "needs_auth", 30, what="gmail needing re-auth"
        )
        code, by_kind = states(world)
        assert code == 1
        assert by_kind["google_calendar"]["state"] == "needs_auth"
        assert "syncd auth" in json.dumps(world.status()[1]["problems"])
        assert by_kind["ics"]["state"] == "ok" and by_kind["mbox"]["state"] == "ok"
        assert by_kind["ics"]["items"] > 0
        # Five sync periods: unbacked retries would ask the token endpoint 2 × 5 times;
        # backing off (2 s, 4 s, 8 s …) asks at most 2 × 3.
        token_calls = fake.calls["oauth.token"]
        time.sleep(10)
        assert fake.calls["oauth.token"] - token_calls <= 6
        assert process.poll() is None
    finally:
        if process.poll() is None:
            code, _, stderr = stop(process, signal.SIGTERM)
            assert code == 0, stderr
        kill_quietly(process)
