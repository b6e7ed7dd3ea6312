"""`syncd run`: in-process on a fake clock (fast), and a few real processes for signals, the lock and systemd.

The fast tests run the real daemon loop on real files and a real store; only time is
fake, so a test sees hours of daemon life without waiting and asserts on what the daemon
did (syncs, retries, log lines, the store), never on how long something took.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.daemon import Clock
from syncd.daemon.signals import Interrupted, Signals
from syncd.daemon.timing import RESUME_DELAY
from syncd.heartbeat import daemon_info
from syncd.lock import store_lock
from syncd.store import Store
from tests.daemon_helpers import (
    NOW,
    FakeClock,
    World,
    ics_event,
    kill_quietly,
    make_world,
    meta,
    run_in_process,
    status_in_process,
    stop,
    daemon_messages,
    wait_for,
)


def _sources(world: World, now: datetime) -> dict[str, dict]:
    return {source["kind"]: source for source in status_in_process(world, now)[1]["sources"]}


# --- in-process, on a fake clock ------------------------------------------------------------


def test_syncs_at_once_then_every_period_and_picks_up_a_new_event(tmp_path: Path, daemon_log) -> None:
    world = make_world(tmp_path / "w", sync_every="2s")
    clock = FakeClock(NOW)
    seen: list[dict] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            seen.append(_sources(world, fake.now()))
            code, data = status_in_process(world, fake.now())
            seen.append({"code": code, **data})
            world.ics.write_text(
                world.ics.read_text().replace(
                    "END:VCALENDAR",
                    ics_event("ev-new", NOW - timedelta(days=1), "ada@example.com", "Lunch") + "END:VCALENDAR",
                )
            )

    clock.on_sleep = script
    run_in_process(world.config, clock, lambda daemon: len(clock.naps) >= 3)

    first, status = seen
    assert first["ics"]["state"] == "ok" and first["ics"]["items"] == 2 and first["mbox"]["items"] == 3
    assert status["code"] == 0 and status["problems"] == []
    assert status["daemon"]["running"] is True and status["daemon"]["pid"] == os.getpid()
    assert datetime.fromisoformat(status["next_run_at"]) == NOW + timedelta(seconds=2)
    assert clock.naps == [2.0, 2.0, 2.0]  # it sleeps exactly until the next sync
    syncs = [m for m in daemon_messages(daemon_log) if m.startswith("last sync")]
    assert syncs[0] == "last sync 12:00:00: 2/2 sources ok, 5 items updated"
    assert syncs[1].startswith("last sync 12:00:02: 2/2 sources ok")  # the new event, on the next cycle
    assert _sources(world, clock.now())["ics"]["items"] == 3
    # a clean stop: the heartbeat says stopped
    assert meta(world.store, "daemon_pid") is None and meta(world.store, "daemon_next_run_at") is None


def test_an_unparseable_source_backs_off_alone_while_the_other_keeps_its_rhythm_then_recovers(
    tmp_path: Path, daemon_log
) -> None:
    world = make_world(tmp_path / "w", sync_every="1s")
    good = world.ics.read_text()
    world.ics.write_text("BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n")
    clock = FakeClock(NOW)
    during: list[tuple[int, dict]] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 6:
            during.append(status_in_process(world, fake.now()))
            world.ics.write_text(good)

    clock.on_sleep = script
    daemon = run_in_process(world.config, clock, lambda d: len(clock.naps) >= 16 and not d.timing.failures)

    code, data = during[0]
    by_kind = {source["kind"]: source for source in data["sources"]}
    assert code == 1 and by_kind["ics"]["state"] == "error" and "cannot parse" in by_kind["ics"]["error"]
    assert by_kind["mbox"]["state"] == "ok"
    messages = daemon_messages(daemon_log)
    delays = [re.search(r"failed (\d+) times? in a row; next try in (\w+)", m) for m in messages]
    assert [d.groups() for d in delays if d][:3] == [("1", "1s"), ("2", "2s"), ("3", "4s")]
    assert any(m.endswith("recovered") for m in messages)
    assert daemon.timing.failures == {} and status_in_process(world, clock.now())[0] == 0


def test_a_failing_source_is_retried_after_30s_not_after_the_hour(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    world.ics.write_text("not a calendar")
    clock = FakeClock(NOW)
    next_runs: list[str | None] = []
    clock.on_sleep = lambda fake: next_runs.append(meta(world.store, "daemon_next_run_at"))
    daemon = run_in_process(world.config, clock, lambda d: len(clock.naps) >= 2)
    assert next_runs[0] == (NOW + timedelta(seconds=30)).isoformat()  # status shows the retry, the soonest sync
    assert clock.naps[0] == 30.0  # it woke for the retry
    ics = next(name for name in daemon.timing.sources if name.startswith("ics:"))
    assert daemon.timing.failures == {ics: 2}
    assert daemon.timing.last_sync_at == NOW  # the regular hour is untouched


def test_while_another_process_holds_the_store_it_skips_then_catches_up(tmp_path: Path, daemon_log) -> None:
    """A `syncd sync` holding the store lock: the daemon does not sync alongside, then catches up."""
    world = make_world(tmp_path / "w", sync_every="1s")
    holder = store_lock(world.store, wait=False)
    holder.__enter__()
    states: list[set[str]] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) <= 3:
            states.append({source["state"] for source in _sources(world, fake.now()).values()})
        if len(fake.naps) == 3:
            holder.__exit__(None, None, None)

    clock = FakeClock(NOW)
    clock.on_sleep = script
    run_in_process(world.config, clock, lambda d: len(clock.naps) >= 5)
    assert states == [{"never"}] * 3  # three turns with the lock held: nothing synced
    skipped = [m for m in daemon_messages(daemon_log) if "skipping this scheduled sync" in m]
    assert len(skipped) == 3 and f"(pid {os.getpid()})" in skipped[0]
    assert {source["state"] for source in _sources(world, clock.now()).values()} == {"ok"}


def test_a_wall_clock_jump_syncs_soon_after_and_plans_only_after_that_sync(tmp_path: Path, daemon_log) -> None:
    world = make_world(tmp_path / "w", sync_every="15m")
    clock = FakeClock(NOW)

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            fake.jump_wall(20 * 3600)  # the laptop slept through 07:00

    clock.on_sleep = script
    daemon = run_in_process(world.config, clock, lambda d: len(clock.naps) >= 3)
    messages = daemon_messages(daemon_log)
    assert any("the wall clock jumped ahead by 20h" in m for m in messages), messages
    assert clock.naps[1] == RESUME_DELAY.total_seconds()
    assert clock.naps[0] == 60.0  # it looks around at least every minute
    woke = NOW + timedelta(seconds=60, hours=20)
    assert daemon.timing.last_sync_at == woke + RESUME_DELAY
    assert daemon.timing.last_daily_plan_at == woke + RESUME_DELAY  # the missed 07:00 plan, after fresh data


def test_a_broken_config_at_start_exits_2(tmp_path: Path, capsys) -> None:
    from syncd.cli import main

    world = make_world(tmp_path / "w")
    world.config.write_text(world.config.read_text().replace('sync_every = "2s"', 'sync_every = "soon"'))
    assert main(["--config", str(world.config), "run"]) == 2
    assert "sync_every" in capsys.readouterr().err


# --- the small parts ----------------------------------------------------------------------------


def test_pinned_clock_advances_with_real_time() -> None:
    clock = Clock(NOW, _wall0=time.time() - 90)
    assert NOW + timedelta(seconds=90) <= clock.now() < NOW + timedelta(minutes=30)
    assert abs(Clock().now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_daemon_info_needs_a_fresh_heartbeat_and_a_live_pid(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "syncd.db")
    try:
        assert daemon_info(store, NOW) == {"running": False, "pid": None, "heartbeat_at": None, "next_run_at": None}
        with store.transaction() as connection:
            store.set_meta("daemon_pid", str(os.getpid()), connection)
            store.set_meta("daemon_heartbeat_at", NOW.isoformat(), connection)
            store.set_meta("daemon_next_run_at", (NOW + timedelta(minutes=15)).isoformat(), connection)
            store.set_meta("daemon_sync_every", "900", connection)
        info = daemon_info(store, NOW + timedelta(minutes=5))
        assert info == {
            "running": True,
            "pid": os.getpid(),
            "heartbeat_at": NOW,
            "next_run_at": NOW + timedelta(minutes=15),
        }
        # stale: older than 2 × sync_every + 60 s
        assert daemon_info(store, NOW + timedelta(minutes=31, seconds=1))["running"] is False
        assert daemon_info(store, NOW + timedelta(minutes=31, seconds=1))["next_run_at"] is None
        assert daemon_info(store, NOW + timedelta(minutes=5), sync_every=timedelta(seconds=60))["running"] is False
        # a dead pid
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        with store.transaction() as connection:
            store.set_meta("daemon_pid", str(dead.pid), connection)
        assert daemon_info(store, NOW + timedelta(minutes=5))["running"] is False
    finally:
        store.close()


def test_stop_waits_for_the_open_transaction_then_abandons(tmp_path: Path) -> None:
    """A stop signal mid-job lets the current store transaction commit, then abandons the job."""
    store = Store.open(tmp_path / "syncd.db")
    signals = Signals(lambda: store.connection.in_transaction, lambda: None, None)
    try:
        signals.begin_job()
        store.connection.execute("BEGIN IMMEDIATE")
        signals.on_stop(signal.SIGTERM)  # inside a transaction: not yet
        assert signals.busy and signals.stop_signal == signal.SIGTERM
        store.connection.execute("COMMIT")
        with pytest.raises(Interrupted):
            signals.maybe_interrupt()
        assert signals.busy is False
        # a second signal abandons even an open transaction (SQLite rolls it back)
        signals.begin_job()
        store.connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(Interrupted):
            signals.on_stop(signal.SIGTERM)
        store.connection.execute("ROLLBACK")
        # SIGHUP only asks; the loop reloads between cycles
        signals.on_reload(signal.SIGHUP)
        assert signals.reload_requested and signals.stop_signal == signal.SIGTERM
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        store.close()


def test_notifier_speaks_sd_notify_on_abstract_and_path_sockets() -> None:
    from syncd.sdnotify import Notifier

    name = f"syncd-test-{os.getpid()}-{time.monotonic_ns()}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    receiver.settimeout(2)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())})
        assert notifier.enabled and notifier.watchdog_seconds == 4.0
        assert notifier.ready("first\nsync")
        assert receiver.recv(1024) == b"READY=1\nSTATUS=first sync"
        assert notifier.watchdog()
        assert receiver.recv(1024) == b"WATCHDOG=1"
        assert notifier.stopping()
        assert receiver.recv(1024) == b"STOPPING=1"
        notifier.close()
    finally:
        receiver.close()
    other = Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_seconds is None  # the watchdog is meant for another process
    silent = Notifier({})
    assert not silent.enabled and not silent.ready() and not silent.watchdog()


# --- real processes: signals, the lock, systemd's view ------------------------------------------


class NotifySocket:
    """A real sd_notify receiver: what systemd would see."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sdn", dir="/tmp"))  # AF_UNIX paths are short
        self.path = self.folder / "notify"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(self.path))
        self.socket.settimeout(0.1)
        self.messages: list[dict[str, str]] = []

    def drain(self) -> list[dict[str, str]]:
        while True:
            try:
                data = self.socket.recv(4096).decode()
            except TimeoutError:
                return self.messages
            self.messages.append(dict(line.split("=", 1) for line in data.splitlines()))

    def close(self) -> None:
        self.socket.close()
        self.path.unlink(missing_ok=True)
        self.folder.rmdir()


def _synced(world: World, ics_items: int, mbox_items: int):
    def check():
        sources = {source["kind"]: source for source in world.status()[1]["sources"]}
        ics, mbox = sources.get("ics"), sources.get("mbox")
        return ics and mbox and ics["state"] == mbox["state"] == "ok" and ics["items"] == ics_items and sources

    return check


@pytest.mark.slow
def test_run_as_a_process_reports_to_systemd_refuses_a_second_and_stops_on_sigterm(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="2s")
    notify = NotifySocket()
    daemon = world.start_daemon(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="1000000")
    try:
        wait_for(_synced(world, ics_items=2, mbox_items=3), 20, what="the first sync")
        code, data = world.status()
        assert code == 0 and data["problems"] == [] and data["daemon"]["pid"] == daemon.pid
        assert data["next_run_at"] is not None and datetime.fromisoformat(data["next_run_at"]).tzinfo is not None

        # A second daemon on the same store is refused, naming the first.
        second = world.run("run", timeout=20)
        assert second.returncode == 1
        assert f"another syncd is running (pid {daemon.pid})" in second.stderr

        # systemd saw READY, STATUS after syncs and watchdog pings.
        def pinged_twice() -> bool:
            return sum(1 for m in notify.drain() if m.get("WATCHDOG") == "1") >= 2

        wait_for(pinged_twice, 20, what="two watchdog pings")
        messages = notify.drain()
        assert messages[0].get("READY") == "1"
        statuses = [m["STATUS"] for m in messages if "STATUS" in m]
        assert any(re.search(r"last sync \d\d:\d\d:\d\d: 2/2 sources ok.*; next \d\d:\d\d:\d\d", s) for s in statuses)

        code, stderr = stop(daemon, signal.SIGTERM)
        assert code == 0, stderr
        assert any(m.get("STOPPING") == "1" for m in notify.drain())
        assert "Traceback" not in stderr
        assert meta(world.store, "daemon_pid") is None
    finally:
        kill_quietly(daemon)
        notify.close()


@pytest.mark.slow
def test_sigterm_in_the_middle_of_a_sync_exits_cleanly_and_the_next_sync_resumes(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h", messages=8000)
    daemon = world.start("run")
    try:

        def mbox_started() -> bool:
            import sqlite3

            if not world.store.exists():
                return False
            try:
                connection = sqlite3.connect(f"file:{world.store}?mode=ro", uri=True)
                try:
                    row = connection.execute(
                        "SELECT last_attempt_at, last_success_at FROM sources WHERE kind = 'mbox'"
                    ).fetchone()
                finally:
                    connection.close()
            except sqlite3.Error:
                return False
            return row is not None and row[0] is not None and row[1] is None

        wait_for(mbox_started, 20, interval=0.05, what="the mbox sync to start")
        code, stderr = stop(daemon)
        assert code == 0, stderr
        assert "abandoned" in stderr, stderr

        result = world.run("sync")
        assert result.returncode == 0, result.stderr
        sources = {source["kind"]: source for source in world.status()[1]["sources"]}
        assert sources["mbox"]["state"] == "ok" and sources["mbox"]["items"] > 0
        assert sources["ics"]["items"] == 2
    finally:
        kill_quietly(daemon)


@pytest.mark.slow
def test_sigint_stops_too_and_run_honours_syncd_now(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    daemon = world.start_daemon(now=None, SYNCD_NOW="2026-03-10T12:00:00+00:00")
    try:
        wait_for(_synced(world, ics_items=2, mbox_items=3), 20, what="the first sync")
        heartbeat = datetime.fromisoformat(wait_for(lambda: meta(world.store, "daemon_heartbeat_at"), 5))
        assert NOW <= heartbeat < NOW + timedelta(minutes=1)  # the pinned clock, advancing from SYNCD_NOW
        next_run_text = meta(world.store, "daemon_next_run_at")
        assert next_run_text is not None
        next_run = datetime.fromisoformat(next_run_text)
        assert timedelta(minutes=59) < next_run - heartbeat <= timedelta(hours=1)
        code, stderr = stop(daemon, signal.SIGINT)
        assert code == 0, stderr
        assert json.loads(world.run("status", "--json").stdout)["daemon"]["running"] is False
    finally:
        kill_quietly(daemon)
