"""Abuse of a running daemon: an edited or broken config, SIGHUP, a store deleted or replaced, a broken contacts file.

In-process on a fake clock (the real loop, files and store; only time is fake), plus
real processes for the signals. Each case failed before the daemon learned to notice.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.daemon_helpers import (
    NOW,
    FakeClock,
    World,
    ics_calendar,
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


def _add_calendar(world: World) -> Path:
    """A second ICS file in the config: a new source the running daemon has never seen."""
    extra = world.root / "work.ics"
    extra.write_text(ics_calendar([ics_event("work-1", NOW - timedelta(days=2), "grace@example.com", "Review")]))
    text = world.config.read_text()
    world.config.write_text(text.replace(f'paths = ["{world.ics}"]', f'paths = ["{world.ics}", "{extra}"]'))
    return extra


def _by_name(world: World, now: datetime) -> dict[str, dict]:
    return {source["name"]: source for source in status_in_process(world, now)[1]["sources"]}


def test_an_edited_config_is_reloaded_between_cycles_and_its_new_source_syncs(tmp_path: Path, daemon_log) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    clock = FakeClock(NOW)
    extra: list[Path] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            extra.append(_add_calendar(world))

    clock.on_sleep = script
    daemon = run_in_process(world.config, clock, lambda d: len(clock.naps) >= 2)
    new = next(source for name, source in _by_name(world, clock.now()).items() if name.endswith("work.ics"))
    assert new["state"] == "ok" and new["items"] == 1  # synced at once, not an hour later
    assert any(
        m.startswith("config reloaded after the config file changed: 3 sources") for m in daemon_messages(daemon_log)
    )
    assert len(daemon.timing.sources) == 3


def test_sighup_reloads_even_an_unchanged_file_and_a_touched_file_does_not(tmp_path: Path, daemon_log) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    clock = FakeClock(NOW)

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            os.utime(world.config, None)  # same content, new mtime: nothing to reload
        if len(fake.naps) == 2:
            daemon_ref[0].request_reload()

    daemon_ref: list = []
    from syncd.config import load_config
    from syncd.daemon import Daemon

    daemon = Daemon(load_config(world.config, explicit=True), clock, sleep=clock.sleep, handle_signals=False)
    daemon_ref.append(daemon)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        script(clock)
        if len(clock.naps) >= 3:
            daemon.request_stop(signal.SIGTERM)

    daemon.sleep = sleep
    assert daemon.run() == 0
    reloads = [m for m in daemon_messages(daemon_log) if m.startswith("config reloaded")]
    assert reloads == ["config reloaded on SIGHUP: 2 sources, syncing now"]


def test_a_broken_edit_keeps_the_old_config_running_and_says_so_until_fixed(tmp_path: Path, daemon_log) -> None:
    daemon_log.set_level(logging.DEBUG, logger="syncd.daemon")  # quiet syncs log at debug
    world = make_world(tmp_path / "w", sync_every="1m")
    good = world.config.read_text()
    clock = FakeClock(NOW)
    seen: dict[str, object] = {}

    def script(fake: FakeClock) -> None:
        turn = len(fake.naps)
        if turn == 1:
            world.config.write_text(good.replace('sync_every = "1m"', 'sync_every = "soon"'))
        if turn == 3:
            seen["error"] = meta(world.store, "daemon_config_error")
            world.config.write_text(good)
        if turn == 4:
            seen["cleared"] = meta(world.store, "daemon_config_error")

    clock.on_sleep = script
    daemon = run_in_process(world.config, clock, lambda d: len(clock.naps) >= 5)
    error = str(seen["error"])
    assert str(world.config) in error and "sync_every" in error
    messages = daemon_messages(daemon_log)
    refused = [m for m in messages if m.startswith("config not reloaded")]
    assert len(refused) == 1  # reported once, not on every turn
    syncs = [m for m in messages if m.startswith("last sync")]
    assert len(syncs) >= 3  # the old config kept syncing every minute meanwhile
    assert seen["cleared"] is None
    assert daemon.timing.sync_every == timedelta(minutes=1)


def test_status_names_the_refused_config_while_the_daemon_runs(tmp_path: Path) -> None:
    """A config `status` can read but the running daemon refused (another store path) is a problem line."""
    world = make_world(tmp_path / "w", sync_every="1m")
    clock = FakeClock(NOW)
    seen: list[tuple[int, dict]] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            world.config.write_text(world.config.read_text().replace(str(world.store), str(world.root / "other.db")))
        if len(fake.naps) == 2:
            world.config.write_text(world.config.read_text().replace(str(world.root / "other.db"), str(world.store)))
            seen.append(status_in_process(world, fake.now()))

    clock.on_sleep = script
    run_in_process(world.config, clock, lambda d: len(clock.naps) >= 3)
    code, data = seen[0]
    assert code == 1
    problem = next(p for p in data["problems"] if p.startswith("daemon: config not reloaded"))
    assert str(world.config) in problem and "restart syncd" in problem


def test_a_contacts_file_that_fails_to_import_is_named_in_status(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1m")
    good = world.contacts.read_text()
    clock = FakeClock(NOW)
    seen: list[tuple[int, dict]] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            world.contacts.write_text('[[contact]]\nname = "Ada"\nemails = [not toml\n')
        if len(fake.naps) == 3:
            seen.append(status_in_process(world, fake.now()))
            world.contacts.write_text(good)

    clock.on_sleep = script
    run_in_process(world.config, clock, lambda d: len(clock.naps) >= 5)
    code, data = seen[0]
    assert code == 1
    assert any(str(world.contacts) in problem for problem in data["problems"]), data["problems"]
    code, data = status_in_process(world, clock.now())
    assert code == 0 and data["problems"] == []


@pytest.mark.parametrize("how", ["deleted", "deleted with its WAL", "replaced"])
def test_a_store_deleted_or_replaced_under_it_is_reopened(tmp_path: Path, daemon_log, how: str) -> None:
    world = make_world(tmp_path / "w", sync_every="15m")
    clock = FakeClock(NOW)
    seen: list[tuple[int, dict]] = []

    def script(fake: FakeClock) -> None:
        if len(fake.naps) == 1:
            if how == "replaced":
                copy = world.root / "copy.db"
                shutil.copy(world.store, copy)
                os.replace(copy, world.store)
            else:
                world.store.unlink()
                if how == "deleted with its WAL":
                    for suffix in ("-wal", "-shm"):
                        Path(f"{world.store}{suffix}").unlink(missing_ok=True)
        if len(fake.naps) == 2:
            seen.append(status_in_process(world, fake.now()))

    clock.on_sleep = script
    run_in_process(world.config, clock, lambda d: len(clock.naps) >= 3)
    code, data = seen[0]
    assert code == 0, data["problems"]
    assert data["daemon"]["running"] is True  # the heartbeat lands in the file status reads
    assert data["next_run_at"] is not None
    assert {source["state"] for source in data["sources"]} == {"ok"}  # filled again at once, not "never"
    assert any(f"the store {world.store} was {how.split()[0]}" in m for m in daemon_messages(daemon_log))


# --- real processes ------------------------------------------------------------------------------


@pytest.mark.slow
def test_sighup_reloads_a_running_daemon_and_a_broken_config_does_not_kill_it(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w", sync_every="1h")
    daemon = world.start_daemon()
    try:

        def synced(kind_count: int):
            def check():
                code, data = world.status()
                ok = [source for source in data["sources"] if source["state"] == "ok"]
                return len(ok) == kind_count and data

            return check

        wait_for(synced(2), 20, what="the first sync")
        _add_calendar(world)
        daemon.send_signal(signal.SIGHUP)
        data = wait_for(synced(3), 30, what="the new source to sync after SIGHUP")
        assert any(source["name"].endswith("work.ics") and source["items"] == 1 for source in data["sources"])

        world.config.write_text(world.config.read_text().replace('sync_every = "1h"', 'sync_every = "soon"'))
        daemon.send_signal(signal.SIGHUP)
        error = wait_for(lambda: meta(world.store, "daemon_config_error"), 30, what="the refused config in the store")
        assert str(world.config) in error and "sync_every" in error
        assert daemon.poll() is None
        broken = world.run("status")
        assert broken.returncode == 2 and str(world.config) in broken.stderr

        code, stderr = stop(daemon)
        assert code == 0, stderr
        assert "config reloaded on SIGHUP: 3 sources" in stderr
        assert "config not reloaded on SIGHUP, keeping the running one" in stderr
        assert "Traceback" not in stderr
    finally:
        kill_quietly(daemon)
