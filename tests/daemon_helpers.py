"""Shared by the daemon, lock, unit and crash tests: a private syncd world in tmp_path.

Everything is real: files the tests write, `syncd` run as a subprocess of this
interpreter, the SQLite store read back with sqlite3.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_ISO = NOW.isoformat()
ME = "me@example.com"
CONTACTS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Edsger Dijkstra", "edsger@example.com"),
    ("Barbara Liskov", "barbara@example.com"),
]


def ics_event(uid: str, start: datetime, attendee: str, summary: str = "Coffee", minutes: int = 30) -> str:
    end = start + timedelta(minutes=minutes)
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\n"
        f"DTSTAMP:{start.strftime(fmt)}\r\n"
        f"DTSTART:{start.strftime(fmt)}\r\n"
        f"DTEND:{end.strftime(fmt)}\r\n"
        f"SUMMARY:{summary}\r\n"
        f"ORGANIZER:mailto:{ME}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{attendee}\r\n"
        "END:VEVENT\r\n"
    )


def ics_calendar(events: list[str]) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def mbox_message(index: int, to: str, date: datetime, sender: str = ME) -> str:
    return (
        f"From {sender} {date.strftime('%a %b %d %H:%M:%S %Y')}\n"
        f"From: Me <{sender}>\n"
        f"To: {to}\n"
        f"Subject: note {index}\n"
        f"Date: {format_datetime(date)}\n"
        f"Message-ID: <m{index}@example.com>\n"
        "\n"
        "body is never read\n"
        "\n"
    )


@dataclass
class World:
    root: Path
    config: Path
    ics: Path
    mbox: Path
    contacts: Path
    store: Path
    holds: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in (
                "NOTIFY_SOCKET",
                "WATCHDOG_USEC",
                "WATCHDOG_PID",
                "JOURNAL_STREAM",
                "SYNCD_NOW",
                "SYNCD_FAULT_KILL_AFTER_COMMITS",
                "LISTEN_FDS",
                "LISTEN_PID",
            )
        }
        home = self.root / "home"
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_STATE_HOME=str(home / ".local" / "state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            TZ="UTC",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra)
        return env

    def argv(self, *args: str, now: str | None = NOW_ISO) -> list[str]:
        return (
            [sys.executable, "-m", "syncd", "--config", str(self.config)] + (["--now", now] if now else []) + list(args)
        )

    def run(
        self, *args: str, now: str | None = NOW_ISO, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args, now=now), env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )

    def start(self, *args: str, now: str | None = NOW_ISO, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(*args, now=now), env=self.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def status(self) -> tuple[int, dict[str, Any]]:
        result = self.run("status", "--json")
        try:
            return result.returncode, json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"status --json exited {result.returncode} without JSON:\n{result.stderr}") from None

    def start_daemon(self, *args: str, now: str | None = NOW_ISO, **env: str) -> subprocess.Popen:
        """`syncd run`, returned once its first heartbeat is in the store.

        (Until then other commands would race it creating the store.)
        """
        process = self.start("run", *args, now=now, **env)

        def started() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"syncd run exited {process.returncode}:\n{process.communicate()[1]}")
            return meta(self.store, "daemon_heartbeat_at") is not None

        try:
            wait_for(started, 20, interval=0.05, what="the daemon's first heartbeat")
        except BaseException:
            kill_quietly(process)
            raise
        return process

    def source(self, kind: str) -> dict[str, Any] | None:
        _, data = self.status()
        return next((source for source in data["sources"] if source["kind"] == kind), None)


COLD_CONTACTS = [("Katherine Johnson", "katherine@example.com"), ("Claude Shannon", "claude@example.com")]


def make_world(
    root: Path,
    sync_every: str = "2s",
    ics_files: int = 1,
    events_per_file: int = 2,
    messages: int = 3,
    store: Path | None = None,
    sources_root: Path | None = None,
    cold: bool = False,
) -> World:
    """Contacts, an ICS file (or a vdir of several), an mbox and a config, all under `root`.

    `sources_root` lets two worlds (two stores) read the very same source files. With
    `cold`, two contacts nobody met are added, so a sync books holds for them.
    """
    root.mkdir(parents=True, exist_ok=True)
    data = sources_root or root
    data.mkdir(parents=True, exist_ok=True)
    contacts = data / "contacts.toml"
    ics = data / ("calendar.ics" if ics_files == 1 else "calendars")
    mbox = data / "sent.mbox"
    if sources_root is None or not contacts.exists():
        people = CONTACTS + (COLD_CONTACTS if cold else [])
        contacts.write_text(
            "".join(
                f'[[contact]]\nname = "{name}"\nemails = ["{email}"]\ntier = "meaningful"\n\n' for name, email in people
            )
        )
        if ics_files == 1:
            ics.write_text(
                ics_calendar(
                    [
                        ics_event(f"ev-{i}", NOW - timedelta(days=10 + i), CONTACTS[i % len(CONTACTS)][1])
                        for i in range(events_per_file)
                    ]
                )
            )
        else:
            ics.mkdir(exist_ok=True)
            for number in range(ics_files):
                events = [
                    ics_event(
                        f"ev-{number}-{i}",
                        NOW - timedelta(days=5 + number * 7 + i),
                        CONTACTS[(number + i) % len(CONTACTS)][1],
                    )
                    for i in range(events_per_file)
                ]
                (ics / f"cal{number}.ics").write_text(ics_calendar(events))
        mbox.write_text(
            "".join(
                mbox_message(i, CONTACTS[(i + 2) % len(CONTACTS)][1], NOW - timedelta(days=3 + i))
                for i in range(messages)
            )
        )
    store = store or root / "data" / "syncd.db"
    holds = root / "data" / "holds.ics"
    config = root / "config.toml"
    config.write_text(
        "[user]\n"
        f'emails = ["{ME}"]\n'
        'timezone = "UTC"\n\n'
        "[store]\n"
        f'path = "{store}"\n\n'
        "[contacts]\n"
        f'files = ["{contacts}"]\n\n'
        "[sources.ics]\n"
        f'paths = ["{ics}"]\n\n'
        "[sources.mail]\n"
        f'mbox = ["{mbox}"]\n\n'
        "[holds]\n"
        f'sink = "ics:{holds}"\n\n'
        "[daemon]\n"
        f'sync_every = "{sync_every}"\n'
    )
    return World(root=root, config=config, ics=ics, mbox=mbox, contacts=contacts, store=store, holds=holds)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, str]:
    """Send `sig`, wait; returns (exit code, stderr). How long it took is not a test's business: `timeout` only
    keeps a hung daemon from hanging the suite."""
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"syncd did not exit within {timeout}s of {signal.Signals(sig).name}:\n{stderr}") from None
    return process.returncode, stderr


def kill_quietly(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


def meta(store: Path, key: str) -> str | None:
    """A meta value, read without creating the store (None while it does not exist yet)."""
    if not store.exists():
        return None
    try:
        connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def holds_in_file(path: Path) -> list[tuple[str, str, str]]:
    """(contact id, start, end) of every VEVENT in an ICS holds file, duplicates kept."""
    import icalendar

    if not path.exists():
        return []
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    found = [
        (str(event.get("X-SYNCD-CONTACT")), event.decoded("DTSTART").isoformat(), event.decoded("DTEND").isoformat())
        for event in calendar.walk("VEVENT")
    ]
    return sorted(found)


def store_snapshot(store: Path, holds_file: Path | None = None) -> dict[str, Any]:
    """What must be identical after any crash and resume: rows, touches, contacts, cursors, holds.

    Left out: interactions.generation (a random tag of the batch that wrote a row), the
    sources' attempt/success timestamps and failure counters, and hold event ids (an id
    may name a booking attempt, and a crash can cost one): holds compare by contact and
    time, in the store and in the holds file, where each must appear exactly once.
    """
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:

        def rows(sql: str) -> list[tuple]:
            return sorted(connection.execute(sql).fetchall(), key=repr)

        sources = []
        for name, kind, state, cursor, own, items in connection.execute(
            "SELECT name, kind, state, cursor, own_addresses, items FROM sources"
        ):
            sources.append((name, kind, state, json.loads(cursor) if cursor else None, json.loads(own), items))
        return {
            "interactions": rows("SELECT source, item_id, kind, at, end_at, scope, payload FROM interactions"),
            "touches": rows("SELECT address, at, source, item_id, kind FROM touches"),
            "contacts": rows("SELECT id, name, tier, cadence_days, notes, tags, ignore, snoozed_until FROM contacts"),
            "contact_emails": rows("SELECT address, contact_id, position, written FROM contact_emails"),
            "manual_touches": rows("SELECT contact_id, at, note FROM manual_touches"),
            "sources": sorted(sources, key=repr),
            "touch_rules": connection.execute("SELECT value FROM meta WHERE key = 'touch_rules'").fetchone(),
            "booked_holds": rows("SELECT contact_id, start, end, cycle FROM holds WHERE state = 'booked'"),
            "holds_file": holds_in_file(holds_file) if holds_file is not None else None,
        }
    finally:
        connection.close()


class FakeClock:
    """A daemon clock that moves only when the daemon sleeps (or a test jumps it): days of daemon life in milliseconds.

    `sleep` is handed to the daemon as its sleep; each call advances both the wall and the
    monotonic time, records the nap, and runs `on_sleep` (a test's script: edit a file,
    stop the daemon after N turns).
    """

    def __init__(self, start: datetime) -> None:
        self.wall = start
        self.mono = 1000.0
        self.naps: list[float] = []
        self.on_sleep: Callable[[FakeClock], None] | None = None

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self)

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """A suspend/resume: the wall clock moves, the monotonic one does not."""
        self.wall += timedelta(seconds=seconds)


def run_in_process(config_path: Path, clock: FakeClock, until: Callable[[Any], bool], max_naps: int = 500) -> Any:
    """`syncd run` in this process on the fake clock, stopped (as by SIGTERM) once `until(daemon)` holds.

    Returns the daemon after its clean stop. Fails when `until` never holds within `max_naps` sleeps.
    """
    from syncd.config import load_config
    from syncd.daemon import Daemon

    daemon = Daemon(load_config(config_path, explicit=True), clock, sleep=clock.sleep, handle_signals=False)
    script = clock.on_sleep

    def check(fake: FakeClock) -> None:
        if script is not None:
            script(fake)
        if until(daemon):
            daemon.request_stop(signal.SIGTERM)
        elif len(fake.naps) >= max_naps:
            daemon.request_stop(signal.SIGTERM)
            raise AssertionError(f"the condition never held within {max_naps} naps")

    clock.on_sleep = check
    try:
        assert daemon.run() == 0
    finally:
        clock.on_sleep = script
    return daemon


def status_in_process(world: World, now: datetime) -> tuple[int, dict[str, Any]]:
    """`syncd status --json` through `syncd.cli.main` in this process, as of the fake clock's `now`."""
    import contextlib
    import io
    import logging

    from syncd.cli import main

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(world.config), "--now", now.isoformat(), "status", "--json"])
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    try:
        return code, json.loads(out.getvalue())
    except json.JSONDecodeError:
        raise AssertionError(f"status --json exited {code} without JSON:\n{err.getvalue()}") from None


def daemon_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the daemon logged, as the user reads it."""
    return [record.getMessage() for record in caplog.records if record.name == "syncd.daemon"]
