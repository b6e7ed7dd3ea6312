"""`syncd run` as a real subprocess on local sources, plus the daemon's small pure parts.

The Google-side daemon checks (a fake Google returning 500s keeps the daemon up with
`status` exiting 1; `invalid_grant` shows `needs_auth` while local sources keep
syncing) belong with the Google sources and are added there.
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
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
import schedule

from syncd.daemon import Clock, backoff_delay
from syncd.heartbeat import daemon_info
from syncd.store import Store
from tests.daemon_helpers import NOW, World, ics_calendar, ics_event, kill_quietly, make_world, meta, stop, wait_for


def _sources(world: World) -> dict[str, dict]:
    return {source["kind"]: source for source in world.status()[1]["sources"]}


def _synced(world: World, ics_items: int, mbox_items: int):
    def check():
        sources = _sources(world)
        ics, mbox = sources.get("ics"), sources.get("mbox")
        return (
            ics
            and mbox
            and ics["state"] == "ok"
            and mbox["state"] == "ok"
            and ics["items"] == ics_items
            and mbox["items"] == mbox_items
            and sources
        )

    return check


def _daemon_info(world: World, now: datetime | None = None) -> dict:
    store = Store.open(world.store)
    try:
        return daemon_info(store, now or datetime.now(UTC))
    finally:
        store.close()


class NotifySocket:
    """A real sd_notify receiver: what systemd would see."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sdn", dir="/tmp"))  # AF_UNIX paths are short
        self.path = self.folder / "notify"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(self.path))
        self.socket.settimeout(0.1)
        self.messages: list[dict[str, str]] = []

    def drain(self, seconds: float = 0.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + seconds
        while True:
            try:
                data = self.socket.recv(4096).decode()
                self.messages.append(dict(line.split("=", 1) for line in data.splitlines()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    return self.messages

    def close(self) -> None:
        self.socket.close()
        self.path.unlink(missing_ok=True)
        self.folder.rmdir()


# --- the daemon as a process -----------------------------------------------------------------


def test_run_syncs_reports_picks_up_changes_refuses_a_second_and_stops_on_sigterm(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="2s")
    notify = NotifySocket()
    daemon = world.start_daemon(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="1000000")
    try:
        # It syncs, and status reflects it.
        sources = wait_for(_synced(world, ics_items=2, mbox_items=3), 20, what="the first sync")
        assert {source["state"] for source in sources.values()} == {"ok"}
        code, data = world.status()
        assert code == 0 and data["problems"] == []
        assert "next_run_at" in data  # the CLI fills it from daemon_info once wired

        # The heartbeat: running, this pid, a next run within sync_every.
        info = _daemon_info(world, NOW + timedelta(seconds=5))
        assert info["running"] is True and info["pid"] == daemon.pid
        assert info["heartbeat_at"] >= NOW
        assert timedelta(0) <= info["next_run_at"] - info["heartbeat_at"] <= timedelta(seconds=3)
        if data["next_run_at"] is not None:
            assert datetime.fromisoformat(data["next_run_at"]).tzinfo is not None

        # A second daemon on the same store is refused at once, naming the first.
        started = time.monotonic()
        second = world.run("run", timeout=20)
        assert second.returncode == 1
        assert f"another syncd is running (pid {daemon.pid})" in second.stderr
        assert time.monotonic() - started < 10

        # A new event in the ICS file is picked up on a later cycle.
        events = [
            ics_event(f"ev-{i}", NOW - timedelta(days=10 + i), email)
            for i, email in enumerate(["ada@example.com", "grace@example.com"])
        ]
        world.ics.write_text(
            ics_calendar(events + [ics_event("ev-new", NOW - timedelta(days=1), "ada@example.com", "Lunch")])
        )
        wait_for(_synced(world, ics_items=3, mbox_items=3), 15, what="the new event")
        ada = next(
            c for c in json.loads(world.run("contacts", "list", "--json").stdout) if c["email"] == "ada@example.com"
        )
        assert datetime.fromisoformat(ada["last_touch_at"]) == NOW - timedelta(days=1)
        assert ada["last_touch_kind"] == "meeting"

        # systemd saw READY, STATUS after syncs and watchdog pings at half of WATCHDOG_USEC.
        messages = notify.drain(0.3)
        assert messages and messages[0].get("READY") == "1"
        statuses = [m["STATUS"] for m in messages if "STATUS" in m]
        assert any(re.search(r"last sync \d\d:\d\d:\d\d: 2/2 sources ok", s) for s in statuses), statuses
        assert sum(1 for m in messages if m.get("WATCHDOG") == "1") >= 2

        # SIGTERM: exit 0 within seconds, STOPPING=1, heartbeat says stopped.
        code, latency, stderr = stop(daemon, signal.SIGTERM)
        print(f"SIGTERM exit latency (idle): {latency:.3f}s")
        assert code == 0, stderr
        assert latency < 5
        assert any(m.get("STOPPING") == "1" for m in notify.drain(0.2))
        assert "Traceback" not in stderr
        assert meta(world.store, "daemon_pid") is None
        assert _daemon_info(world)["running"] is False
    finally:
        kill_quietly(daemon)
        notify.close()


def test_unparseable_source_keeps_the_daemon_up_backs_off_and_recovers(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1s")
    daemon = world.start_daemon()
    try:
        wait_for(_synced(world, ics_items=2, mbox_items=3), 20, what="the first sync")
        good = world.ics.read_text()
        world.ics.write_text("BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n")

        def failing():
            sources = _sources(world)
            return sources["ics"]["state"] == "error" and sources

        sources = wait_for(failing, 15, what="the broken file to show up in status")
        assert "cannot parse" in sources["ics"]["error"]
        assert sources["mbox"]["state"] == "ok"

        text = world.run("status")
        assert text.returncode == 1
        assert "cannot parse" in text.stdout + text.stderr
        assert world.status()[0] == 1

        # The daemon stays up; the other source keeps its rhythm while the broken one backs off.
        mbox_before = _sources(world)["mbox"]["last_attempt_at"]
        wait_for(lambda: _store_failures(world, "ics") >= 2, 20, what="two failed attempts")
        wait_for(lambda: _sources(world)["mbox"]["last_attempt_at"] > mbox_before, 10, what="the mbox to keep syncing")
        assert daemon.poll() is None

        world.ics.write_text(good)
        wait_for(lambda: _sources(world)["ics"]["state"] == "ok", 20, what="recovery after the file is fixed")
        assert world.status()[0] == 0

        code, _, stderr = stop(daemon)
        assert code == 0
        assert "Traceback" not in stderr
        delays = re.findall(r"failed (\d+) times? in a row; next try in (\w+)", stderr)
        assert delays[:2] == [("1", "1s"), ("2", "2s")], stderr
        assert "recovered" in stderr
    finally:
        kill_quietly(daemon)


def _store_failures(world: World, kind: str) -> int:
    import sqlite3

    with sqlite3.connect(world.store) as connection:
        row = connection.execute("SELECT failures FROM sources WHERE kind = ?", (kind,)).fetchone()
    return row[0] if row else 0


def test_sigterm_in_the_middle_of_a_sync_exits_promptly_and_the_next_sync_resumes(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h", messages=8000)
    daemon = world.start("run")
    try:

        def mbox_started():
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
        code, latency, stderr = stop(daemon)
        print(f"SIGTERM exit latency (mid-sync): {latency:.3f}s")
        assert code == 0, stderr
        assert latency < 5
        assert "abandoned" in stderr, stderr

        # The store is consistent and the next run finishes the job.
        result = world.run("sync")
        assert result.returncode == 0, result.stderr
        sources = _sources(world)
        assert sources["mbox"]["state"] == "ok" and sources["mbox"]["items"] > 0
        assert sources["ics"]["items"] == 2
    finally:
        kill_quietly(daemon)


def test_sigint_stops_too_and_run_honours_syncd_now(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    daemon = world.start_daemon(now=None, SYNCD_NOW="2026-03-10T12:00:00+00:00")
    try:
        wait_for(_synced(world, ics_items=2, mbox_items=3), 20, what="the first sync")
        heartbeat = datetime.fromisoformat(wait_for(lambda: meta(world.store, "daemon_heartbeat_at"), 5))
        assert NOW <= heartbeat < NOW + timedelta(minutes=1)  # the pinned clock, advancing from SYNCD_NOW
        next_run = datetime.fromisoformat(meta(world.store, "daemon_next_run_at"))
        assert timedelta(minutes=59) < next_run - heartbeat <= timedelta(hours=1)
        code, latency, _ = stop(daemon, signal.SIGINT)
        assert code == 0 and latency < 5
    finally:
        kill_quietly(daemon)


def test_run_with_a_broken_config_exits_2(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w")
    world.config.write_text(world.config.read_text().replace('sync_every = "2s"', 'sync_every = "soon"'))
    result = world.run("run", timeout=20)
    assert result.returncode == 2
    assert "sync_every" in result.stderr


# --- the pure parts ----------------------------------------------------------------------------


def test_backoff_grows_to_a_cap() -> None:
    every = timedelta(minutes=15)
    delays = [backoff_delay(n, every) for n in range(1, 10)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=1)
    assert backoff_delay(1000, every) == timedelta(hours=1)
    short = [backoff_delay(n, timedelta(seconds=2)) for n in range(1, 9)]
    assert [d.total_seconds() for d in short] == [2, 4, 8, 16, 32, 64, 64, 64]
    assert backoff_delay(20, timedelta(hours=6)) == timedelta(hours=6)  # the cap is never below sync_every


def test_pinned_clock_advances_with_real_time() -> None:
    clock = Clock(NOW)
    first = clock.now()
    time.sleep(0.05)
    second = clock.now()
    assert NOW <= first < second < NOW + timedelta(seconds=5)
    assert abs(Clock().now() - datetime.now(UTC)) < timedelta(seconds=1)


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


def test_a_wall_clock_jump_schedules_a_sync_soon(tmp_path: Path) -> None:
    """Suspend/resume: the wall clock moved ahead of the monotonic one; sync within seconds."""
    import datetime as dt

    from syncd.config import load_config
    from syncd.daemon import RESUME_DELAY, Daemon

    world = make_world(tmp_path / "w", sync_every="15m")
    daemon = Daemon(load_config(world.config, explicit=True), Clock())
    daemon._schedule_jobs()
    daemon.sync_job.next_run = dt.datetime.now() + dt.timedelta(minutes=14)
    daemon.last_wall -= 3 * 3600  # as if the laptop slept three hours since the last look
    daemon._check_clock()
    assert daemon.resync_pending
    due_in = (daemon.sync_job.next_run - dt.datetime.now()).total_seconds()
    assert 0 < due_in <= RESUME_DELAY + 1
    # the daily planning waits for that sync instead of booking from stale data
    daemon._plan_daily()
    assert daemon.plan_pending


def test_stop_waits_for_the_open_transaction_then_abandons(tmp_path: Path) -> None:
    """A stop signal mid-job lets the current store transaction commit, then abandons the job."""
    from syncd.config import load_config
    from syncd.daemon import Daemon, Interrupted

    world = make_world(tmp_path / "w")
    daemon = Daemon(load_config(world.config, explicit=True), Clock())
    daemon.store = Store.open(world.store)
    try:
        daemon.busy = True
        daemon.stop_signal = signal.SIGTERM
        daemon.stop_deadline = time.monotonic() + 30
        daemon.store.connection.execute("BEGIN IMMEDIATE")
        daemon._maybe_interrupt()  # inside a transaction: not yet
        daemon.store.connection.execute("COMMIT")
        with pytest.raises(Interrupted):
            daemon._maybe_interrupt()
        assert daemon.busy is False
        # past the grace period even an open transaction is abandoned (SQLite rolls it back)
        daemon.busy = True
        daemon.stop_deadline = time.monotonic() - 1
        daemon.store.connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(Interrupted):
            daemon._maybe_interrupt()
        daemon.store.connection.execute("ROLLBACK")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        daemon.store.close()


def test_daemon_skips_its_cycle_while_another_process_syncs(tmp_path: Path) -> None:
    """A `syncd sync` holding the store lock: the daemon does not sync alongside, then catches up."""
    world = make_world(tmp_path / "w", sync_every="1s")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\nfrom pathlib import Path\nfrom syncd.lock import store_lock\n"
                f"with store_lock(Path({str(world.store)!r}), wait=False):\n    print('locked', flush=True)\n    sys.stdin.readline()\n"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    daemon = world.start_daemon()
    try:
        time.sleep(1.5)
        assert {source["state"] for source in _sources(world).values()} == {
            "never"
        }  # nothing synced while the lock is held
        holder.communicate("\n", timeout=10)
        wait_for(_synced(world, ics_items=2, mbox_items=3), 15, what="the sync after the lock was released")
        code, _, stderr = stop(daemon)
        assert code == 0
        assert f"another syncd is syncing this store (pid {holder.pid}); skipping this scheduled sync" in stderr
    finally:
        kill_quietly(daemon)
        if holder.poll() is None:
            holder.kill()
            holder.wait()


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


def test_a_failing_source_gets_its_own_retry_before_the_next_regular_sync(tmp_path: Path) -> None:
    """sync_every 1h: the broken source is retried after 30 s, not an hour; the others wait for the hour."""
    from syncd.app import App
    from syncd.config import load_config
    from syncd.daemon import Daemon

    world = make_world(tmp_path / "w", sync_every="1h")
    world.ics.write_text("not a calendar")
    config = load_config(world.config, explicit=True)
    daemon = Daemon(config, Clock(NOW))
    daemon.app = App(config, NOW)
    daemon.store = daemon.app.store
    try:
        daemon._schedule_jobs()
        daemon.sync_job.run()  # the first sync, as `run` does it
        daemon._schedule_retry()
        ics_name = next(source.name for source in daemon.app.sources if source.kind == "ics")
        assert daemon.failures == {ics_name: 1}
        assert 3590 < daemon._seconds_until(daemon.sync_job) <= 3600
        assert 28 < daemon._seconds_until(daemon.retry_job) <= 31
        assert daemon._next_run_at() - daemon.clock.now() < timedelta(seconds=31)
        daemon._schedule_retry()  # idempotent between jobs
        assert len(daemon.scheduler.jobs) == 3  # sync, daily planning, one retry
        assert daemon.last_summary.startswith("last sync 12:00:00: 1/2 sources ok")
        # once it recovers, the retry job goes away
        world.ics.write_text(ics_calendar([ics_event("ev-0", NOW - timedelta(days=10), "ada@example.com")]))
        daemon.retry_at[ics_name] = 0.0
        retry = daemon.retry_job
        assert retry.run() is schedule.CancelJob  # one-shot; run_pending would drop it
        daemon.scheduler.cancel_job(retry)
        daemon._schedule_retry()
        assert daemon.failures == {} and daemon.retry_job is None
    finally:
        daemon.app.close()
