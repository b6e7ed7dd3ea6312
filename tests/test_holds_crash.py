"""Crash safety of hold planning and booking: SIGKILL `syncd sync` anywhere, run again, same holds.

Every hold state change is its own store transaction, and the store kills the process
right after its k-th commit when `SYNCD_FAULT_KILL_AFTER_COMMITS=k` is set. That covers
every point *between* two store transactions. The dangerous points are between a sink
write and the store transaction that records it, so for Google the fake server also
kills the client right after it carried out the w-th write (insert or delete) and before
the answer leaves: the write happened, syncd never learnt of it.

Each kill runs in a fresh copy of the same world, followed by one normal `sync`; the
holds then (in Google and in `holds --json`) and the contacts' snoozes must equal those
of an uninterrupted run, and no contact ever has two holds. Points are enumerated
(k = 1, 2, … until a run finishes without being killed) rather than drawn at random,
so every point is hit, deterministically. Kills run two at a time to keep wall time low.

Two Google worlds: a fresh one (the run books holds), and one where the run has to do
everything at once (reconcile a hold the user deleted, remove a hold whose contact was
touched, book two new ones). The ICS sink gets the commit kills of the second world.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

import icalendar
import pytest

from syncd.app import App
from syncd.cli.views import holds_data
from syncd.config import load_config
from syncd.contacts import list_contacts
from syncd.store import Store
from syncd.timeutil import resolve_now
from tests.conftest import Cli, ics_calendar, ics_event
from tests.fakegoogle import FakeGoogle
from tests.test_google_holds_e2e import ME, meeting_with, seed_calendar, write_google_world

pytestmark = pytest.mark.slow  # real `syncd sync` processes, killed at every point

NOW = "2026-11-20T09:00:00+01:00"
TOUCHED = "2026-11-20T12:00:00+01:00"
AFTER = "2026-11-20T12:05:00+01:00"
WORKERS = 2
WRITES = ("calendar.events.insert", "calendar.events.delete")
CONTACTS = "".join(
    f'[[contact]]\nname = "{name}"\nemails = ["{address}"]\ntier = "meaningful"\n\n'
    for name, address in [
        ("Ada Lovelace", "ada@example.com"),
        ("Bob Stone", "bob@example.org"),
        ("Carol Hill", "carol@example.com"),
        ("Eve Park", "eve@example.net"),
    ]
)


@dataclass
class Outcome:
    holds: list[dict]  # `holds --json`
    events: dict[str, tuple]  # every marked event in the sink: id → (contact, status, start, end)
    snoozes: dict[str, str | None]


@dataclass
class World:
    cli: Cli
    fake: FakeGoogle | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in self.cleanup:
            step()


def run_sync(world: World, now: str, env: dict[str, str] | None = None, kill_after_write: int | None = None) -> int:
    """`syncd sync` as a subprocess; returns its exit code (-9 when killed)."""
    cli = world.cli
    command = [sys.executable, "-m", "syncd", "--config", str(cli.config), "--now", now, "sync"]
    proc = subprocess.Popen(
        command, env=cli.env(**(env or {})), cwd=cli.home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if kill_after_write is not None:
        assert world.fake is not None
        seen = []
        lock = threading.Lock()

        def hook(entry: dict) -> None:
            if entry["api"] in WRITES:
                with lock:
                    seen.append(entry)
                    if len(seen) == kill_after_write:
                        os.kill(proc.pid, signal.SIGKILL)

        world.fake.after_dispatch.append(hook)
    try:
        _, err = proc.communicate(timeout=90)
    finally:
        if world.fake is not None:
            world.fake.after_dispatch.clear()
    assert "Traceback" not in err, err
    return proc.returncode


def outcome(world: World, now: str, via_subprocess: bool = False) -> Outcome:
    """What the world looks like now: `holds --json`, the sink's marked events, snoozes.

    `holds --json` is computed in-process by the CLI's own `holds_data` on the world's
    store (a subprocess costs half a second, and kills are many); the reference runs
    also check it equals the real subprocess output.
    """
    store = Store.open(world.cli.home / ".local/share/syncd/syncd.db")
    try:
        app = App(load_config(world.cli.config, explicit=True), resolve_now(now, None), _store=store)
        holds = json.loads(json.dumps(holds_data(app)))
        snoozes = {c.id: c.snoozed_until.isoformat() if c.snoozed_until else None for c in list_contacts(store)}
    finally:
        store.close()
    if via_subprocess:
        listed = world.cli("holds", "--json", now=now)
        assert listed.code == 0, listed.err
        assert listed.json() == holds
    for hold in holds:  # an ICS sink is named by its path, which differs from world to world
        hold["sink"] = hold["sink"].replace(str(world.cli.home), "<home>")
    events: dict[str, tuple] = {}
    if world.fake is not None:
        for event in world.fake.calendar_events():
            private = (event.get("extendedProperties") or {}).get("private") or {}
            if private.get("syncd") == "hold":
                events[event["id"]] = (
                    private.get("contact"),
                    event.get("status"),
                    event["start"].get("dateTime"),
                    event["end"].get("dateTime"),
                )
    else:
        calendar = icalendar.Calendar.from_ical((world.cli.home / "holds.ics").read_bytes())
        for vevent in calendar.walk("VEVENT"):
            uid = str(vevent["UID"])
            assert uid not in events, f"duplicate UID {uid}"
            events[uid] = (
                str(vevent.get("X-SYNCD-CONTACT")),
                "confirmed",
                vevent.decoded("DTSTART").isoformat(),
                vevent.decoded("DTEND").isoformat(),
            )
    live = [contact for contact, status, *_ in events.values() if status != "cancelled"]
    assert len(live) == len(set(live)), f"a contact with two holds: {events}"
    return Outcome(holds, events, snoozes)


# --------------------------------------------------------------------------- worlds


class GoogleTemplate:
    """A prepared world (fake calendar state + home folder) that kills run copies of."""

    def __init__(self, root: Path, prepared: bool):
        self.root = root
        self.now = AFTER if prepared else NOW
        world = self._new(root / "template")
        try:
            if prepared:
                assert run_sync(world, NOW) == 0
                fake = world.fake
                bob = next(
                    e
                    for e in fake.calendar_events()
                    if (e.get("extendedProperties") or {}).get("private", {}).get("contact") == "bob-stone"
                )
                fake.calendar_delete_event(bob["id"])  # the user deletes Bob's hold
                assert world.cli("touch", "ada", now=TOUCHED).code == 0  # and sees Ada
            self.snapshot = world.fake.calendar_snapshot()
            self.home = world.cli.home
        finally:
            world.close()

    def _new(self, folder: Path, snapshot=None, home: Path | None = None) -> World:
        fake = FakeGoogle(ME).start()
        cli = Cli(home=folder / "home", config=folder / "home" / "config.toml")
        if home is not None:
            shutil.copytree(home, cli.home)
            fake.calendar_restore(snapshot)
        else:
            cli.home.mkdir(parents=True)
            seed_calendar(fake)
            fake.calendar_add_event(meeting_with("carol@example.com", "2026-09-10T09:00:00Z", "2026-09-10T10:00:00Z"))
            fake.calendar_add_event(meeting_with("eve@example.net", "2026-09-15T09:00:00Z", "2026-09-15T10:00:00Z"))
        write_google_world(cli, fake, per_week=1)  # the fake's port and token are new each time
        (cli.home / "contacts.toml").write_text(CONTACTS)
        return World(cli, fake, [fake.stop])

    def copy(self, name: str) -> World:
        return self._new(self.root / name, self.snapshot, self.home)


class IcsTemplate:
    """The same worlds on local files: an ICS source and the ICS hold sink.

    The ICS sink is named by its file's absolute path, and so are the holds the store
    keeps, so a prepared world only works in the folder it was prepared in. Each worker
    therefore has a slot (a fixed folder): prepared there once, saved, and put back
    before each kill.
    """

    def __init__(self, root: Path, prepared: bool):
        self.root = root
        self.prepared = prepared
        self.now = AFTER if prepared else NOW
        self.free: queue.Queue[int] = queue.Queue()
        for slot in range(WORKERS + 1):  # the reference run may overlap a worker
            self.free.put(slot)

    def copy(self, name: str) -> World:
        slot = self.free.get()
        home = self.root / f"slot-{slot}" / "home"
        saved = self.root / f"slot-{slot}-prepared"
        cli = Cli(home=home, config=home / "config.toml")
        world = World(cli, cleanup=[lambda: self.free.put(slot)])
        if home.exists():
            shutil.rmtree(home)
        if saved.exists():
            shutil.copytree(saved, home)
            return world
        self._build(cli)
        if self.prepared:
            self._prepare(world)
            shutil.copytree(home, saved)
        return world

    def _build(self, cli: Cli) -> None:
        home = cli.home
        home.mkdir(parents=True)
        (home / "contacts.toml").write_text(CONTACTS)
        (home / "cal.ics").write_text(
            ics_calendar(
                ics_event("m1", "20260901T090000Z", "20260901T100000Z", [ME, "ada@example.com"], organizer=ME),
                ics_event("m2", "20260801T090000Z", "20260801T100000Z", [ME, "bob@example.org"], organizer=ME),
                ics_event("m3", "20260910T090000Z", "20260910T100000Z", [ME, "carol@example.com"], organizer=ME),
                ics_event("m4", "20260915T090000Z", "20260915T100000Z", [ME, "eve@example.net"], organizer=ME),
                ics_event("busy", "20261124T073000Z", "20261124T090000Z"),
            )
        )
        cli.write_config(f"""
            [user]
            emails = ["{ME}"]
            timezone = "Europe/Berlin"
            [contacts]
            files = ["contacts.toml"]
            [sources.ics]
            paths = ["cal.ics"]
            [holds]
            sink = "ics:holds.ics"
            per_week = 1
        """)

    def _prepare(self, world: World) -> None:
        assert run_sync(world, NOW) == 0
        holds = world.cli.home / "holds.ics"
        calendar = icalendar.Calendar.from_ical(holds.read_bytes())
        calendar.subcomponents[:] = [
            c for c in calendar.subcomponents if str(c.get("X-SYNCD-CONTACT", "")) != "bob-stone"
        ]
        holds.write_bytes(calendar.to_ical())  # the user deletes Bob's hold
        assert world.cli("touch", "ada", now=TOUCHED).code == 0  # and sees Ada


# --------------------------------------------------------------------------- the runs


def reference(template) -> Outcome:
    """The uninterrupted run; also counts its sink writes (the write kill points)."""
    world = template.copy("reference")
    try:
        assert run_sync(world, template.now) == 0
        template.writes = sum(e["api"] in WRITES for e in world.fake.log) if world.fake else 0
        return outcome(world, template.now, via_subprocess=True)
    finally:
        world.close()


def killed_then_rerun(template, kind: str, n: int) -> bool:
    """One kill point: True when the run was killed there, False when it finished first."""
    world = template.copy(f"{kind}-{n}")
    try:
        if kind == "commit":
            code = run_sync(world, template.now, env={"SYNCD_FAULT_KILL_AFTER_COMMITS": str(n)})
        else:
            code = run_sync(world, template.now, kill_after_write=n)
        assert code in (0, -signal.SIGKILL), code
        if code == 0:
            return False  # past the last point: an uninterrupted run
        assert run_sync(world, template.now) == 0
        template.outcomes[(kind, n)] = outcome(world, template.now)
        return True
    finally:
        world.close()


def every_kill_point(*streams: tuple[object, str]) -> dict[object, list[tuple[str, int]]]:
    """Kill at point 1, 2, … of each (template, kind) stream, WORKERS runs at a time.

    Write points are known from the reference run; commit points go on until a run
    finishes without being killed. Streams share the workers, so none sits idle.
    """
    killed: dict[object, list[tuple[str, int]]] = {}
    state = []
    for template, kind in streams:
        template.outcomes = getattr(template, "outcomes", {})
        killed.setdefault(template, [])
        state.append(
            {
                "template": template,
                "kind": kind,
                "next": 1,
                "done": False,
                "last": template.writes if kind == "write" else None,
            }
        )
    with ThreadPoolExecutor(WORKERS) as pool:
        running: dict = {}

        def refill() -> None:
            for stream in state:
                while (
                    len(running) < WORKERS
                    and not stream["done"]
                    and (stream["last"] is None or stream["next"] <= stream["last"])
                ):
                    n = stream["next"]
                    stream["next"] += 1
                    running[pool.submit(killed_then_rerun, stream["template"], stream["kind"], n)] = (stream, n)

        refill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stream, n = running.pop(future)
                if future.result():
                    killed[stream["template"]].append((stream["kind"], n))
                else:
                    assert stream["last"] is None, f"write {n} of {stream['last']} was not reached"
                    stream["done"] = True
            refill()
    for found in killed.values():
        found.sort()
    return killed


def check(template, killed, expected: Outcome) -> None:
    for point, got in template.outcomes.items():
        assert got.holds == expected.holds, f"holds differ after a kill at {point}"
        assert got.events == expected.events, f"sink events differ after a kill at {point}"
        assert got.snoozes == expected.snoozes, f"snoozes differ after a kill at {point}"


def test_google_sync_killed_anywhere_books_the_same_holds(tmp_path):
    fresh = GoogleTemplate(tmp_path / "fresh", prepared=False)
    busy = GoogleTemplate(tmp_path / "busy", prepared=True)
    fresh_expected, busy_expected = reference(fresh), reference(busy)
    # What the uninterrupted runs did: the fresh one booked Bob and Ada (one a week); the
    # busy one snoozed Bob (hold deleted), removed Ada's (touched), booked Carol and Eve.
    assert [h["contact_id"] for h in fresh_expected.holds] == ["bob-stone", "ada-lovelace"]
    assert [h["contact_id"] for h in busy_expected.holds] == ["carol-hill", "eve-park"]
    # The slots freed by the deleted and the removed hold are taken again in the same run
    # (as they would be by a run after a crash right after the removal).
    assert [h["start"] for h in fresh_expected.holds] == ["2026-11-24T12:00:00+01:00", "2026-12-01T08:30:00+01:00"]
    assert [h["start"] for h in busy_expected.holds] == ["2026-11-24T12:00:00+01:00", "2026-12-01T08:30:00+01:00"]
    assert busy_expected.snoozes["bob-stone"] is not None
    assert sorted(status for _, status, *_ in busy_expected.events.values()) == [
        "cancelled",
        "cancelled",
        "confirmed",
        "confirmed",
    ]

    assert (fresh.writes, busy.writes) == (2, 3)  # two inserts; a delete and two inserts

    killed = every_kill_point((fresh, "write"), (busy, "write"), (fresh, "commit"), (busy, "commit"))
    fresh_killed, busy_killed = killed[fresh], killed[busy]
    check(fresh, fresh_killed, fresh_expected)
    check(busy, busy_killed, busy_expected)
    # Every write of each run was a kill point, and together at least 20 kills.
    assert sum(kind == "write" for kind, _ in fresh_killed) == 2
    assert sum(kind == "write" for kind, _ in busy_killed) == 3
    assert len(fresh_killed) + len(busy_killed) >= 20, (fresh_killed, busy_killed)


def test_ics_sync_killed_after_any_commit_books_the_same_holds(tmp_path):
    """The ICS sink, cheaply: the world where the run does everything, commit kills only."""
    busy = IcsTemplate(tmp_path, prepared=True)
    expected = reference(busy)
    assert [h["contact_id"] for h in expected.holds] == ["carol-hill", "eve-park"]
    assert [h["start"] for h in expected.holds] == ["2026-11-24T12:00:00+01:00", "2026-12-01T08:30:00+01:00"]
    assert expected.snoozes["bob-stone"] is not None
    killed = every_kill_point((busy, "commit"))[busy]
    check(busy, killed, expected)
    assert len(killed) >= 8, killed
