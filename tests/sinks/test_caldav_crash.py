"""Crash safety of the CalDAV hold sink: `syncd sync` killed right after any write Radicale
carried out (the write landed, syncd never learnt of it), then one normal sync, gives the
same holds on the server, in `holds --json` and the same snoozes as an uninterrupted run,
and never two holds for one contact.

Radicale runs its storage hook after every write and before it answers; the hook here
SIGKILLs the syncd process (found by a token in its environment) after the k-th write.
Points are enumerated (k = 1, 2, … until a run finishes without being killed), so every
write is a kill point. Two worlds: a fresh one (the run books holds) and one where the run
does everything at once (a hold the user deleted, a hold whose contact was touched since
and must go, a new hold in the freed slot).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.servers.radicale import Radicale, event_ics, start_radicale
from tests.sinks.test_caldav_sink import calendar_world_config, live_holds

pytestmark = pytest.mark.slow

BEFORE = "2026-11-20T09:00:00+01:00"
NOW = "2026-11-20T12:05:00+01:00"
CONTACTS = "".join(
    f'[[contact]]\nname = "{name}"\nemails = ["{address}"]\ntier = "meaningful"\n\n'
    for name, address in [
        ("Ada Lovelace", "ada@example.com"),
        ("Bob Stone", "bob@example.org"),
        ("Carol Hill", "carol@example.com"),
    ]
)
HOOK = """
import os, signal, sys
from pathlib import Path

control = Path(sys.argv[1])
if not (control / "token").exists():
    sys.exit(0)
count = int((control / "count").read_text()) + 1 if (control / "count").exists() else 1
(control / "count").write_text(str(count))
if count != int((control / "kill_at").read_text()):
    sys.exit(0)
marker = ("CALDAV_CRASH_TOKEN=" + (control / "token").read_text()).encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        environ = Path("/proc", pid, "environ").read_bytes().split(b"\\0")
    except OSError:
        continue
    if marker in environ:
        os.kill(int(pid), signal.SIGKILL)
"""


class World:
    """A Radicale with one account's Work (meetings) and Coffee (holds) calendars, and a HOME."""

    def __init__(self, folder: Path, busy_run: bool):
        folder.mkdir(parents=True)
        self.control = folder / "control"
        self.control.mkdir()
        (folder / "hook.py").write_text(HOOK)
        self.server: Radicale = start_radicale(
            folder / "radicale", hook=f"{sys.executable} {folder / 'hook.py'} {self.control}"
        )
        home = folder / "home"
        home.mkdir()
        self.cli = Cli(home=home, config=home / "config.toml")
        self.work = self.server.make_calendar("work", "Work")
        self.server.make_calendar("coffee", "Coffee")
        met = {"ada": "20260901T090000Z", "bob": "20260801T090000Z", "carol": "20260701T090000Z"}
        for who, start in met.items():
            address = "bob@example.org" if who == "bob" else f"{who}@example.com"
            self.server.put(f"{self.work}{who}.ics", event_ics(who, start, start[:9] + "100000Z", attendees=(address,)))
        (home / "contacts.toml").write_text(CONTACTS)
        self.cli.write_config(calendar_world_config(self.server.url, per_week=1))
        if busy_run:
            assert self.cli("sync", now=BEFORE).code == 0
            booked = live_holds(self.server)
            assert set(booked) == {"carol-hill", "bob-stone"}, booked
            self.server.delete(f"/ada/coffee/{booked['bob-stone']['UID']}.ics")  # the user deleted it
            touched = event_ics("carol2", "20261120T100000Z", "20261120T103000Z", attendees=("carol@example.com",))
            self.server.put(f"{self.work}carol2.ics", touched)  # Carol was met since: her hold must go

    def sync_killed_after(self, writes: int) -> bool:
        """`syncd sync` in a real process, killed after the `writes`-th write; True if it was."""
        token = uuid.uuid4().hex
        (self.control / "kill_at").write_text(str(writes))
        (self.control / "count").unlink(missing_ok=True)
        (self.control / "token").write_text(token)
        argv = [sys.executable, "-m", "syncd", "--config", str(self.cli.config), "--now", NOW, "sync"]
        env = self.cli.env(CALDAV_CRASH_TOKEN=token)
        completed = subprocess.run(argv, env=env, cwd=self.cli.home, capture_output=True, text=True, timeout=120)
        (self.control / "token").unlink()
        assert completed.returncode in (0, -signal.SIGKILL), completed.stderr
        return completed.returncode == -signal.SIGKILL

    def outcome(self) -> tuple:
        held = [
            (h["contact_id"], h["event_id"], h["start"], h["end"]) for h in self.cli("holds", "--json", now=NOW).json()
        ]
        on_server = sorted(
            (contact, str(event["UID"]), event.decoded("DTSTART"), event.decoded("DTEND"))
            for contact, event in live_holds(self.server).items()
        )
        snoozed = {c["id"]: c["snoozed_until"] for c in self.cli("cold", "--json", now=NOW).json()}
        return sorted(held), on_server, snoozed

    def stop(self) -> None:
        self.server.stop()


@pytest.mark.parametrize("busy_run", [False, True], ids=["fresh", "everything-at-once"])
def test_sync_killed_after_any_caldav_write_ends_with_the_same_holds(tmp_path, busy_run):
    baseline = World(tmp_path / "baseline", busy_run)
    try:
        assert not baseline.sync_killed_after(0)
        assert baseline.cli("sync", now=NOW).code == 0
        expected = baseline.outcome()
    finally:
        baseline.stop()
    assert expected[0], "the scenario books holds"
    writes = 1
    while True:
        world = World(tmp_path / f"kill-{writes}", busy_run)
        try:
            killed = world.sync_killed_after(writes)
            result = world.cli("sync", now=NOW)
            assert result.code == 0, (writes, result.err)
            assert world.outcome() == expected, f"killed after write {writes}"
        finally:
            world.stop()
        if not killed:
            break
        writes += 1
    assert writes > 1, "no run was ever killed: the hook did not fire"
