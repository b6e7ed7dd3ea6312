"""mbsync-style crash harness: SIGKILL a sync right after its k-th store commit, for every k.

The sync covers sources and hold booking (two contacts are cold), so the kill points
include every step of the hold lifecycle too.

For k = 1, 2, … until a sync completes without being killed: kill `syncd sync` after
the k-th committed transaction (SYNCD_FAULT_KILL_AFTER_COMMITS=k), run `syncd sync`
again normally, and compare the store with one uninterrupted sync of the same sources
into another store. They must be identical: nothing counted twice, nothing lost.
"""

from __future__ import annotations

import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.daemon_helpers import World, make_world, store_snapshot

# Real processes killed at every commit: the full tier (make test-all) runs these.
pytestmark = pytest.mark.slow

MAX_COMMITS = 60  # a sync of this data set commits far fewer; more means a loop


def _world(tmp_path: Path, name: str) -> World:
    # Three ICS files (one batch each), an mbox, contacts, two cold contacts to book holds for.
    return make_world(
        tmp_path / name, ics_files=3, events_per_file=3, messages=6, sources_root=tmp_path / "sources", cold=True
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One uninterrupted sync; every test shares its source files and compares with its store."""
    root = tmp_path_factory.mktemp("crash")
    world = _world(root, "reference")
    result = world.run("sync")
    assert result.returncode == 0, result.stderr
    snapshot = store_snapshot(world.store, world.holds)
    assert snapshot["interactions"] and snapshot["touches"] and snapshot["contacts"]
    assert len(snapshot["booked_holds"]) == 2 and len(snapshot["holds_file"]) == 2, snapshot["booked_holds"]
    return root, snapshot


def _killed_then_resumed(tmp_path: Path, k: int) -> tuple[int, dict | None, World]:
    world = _world(tmp_path, f"k{k}")
    killed = world.run("sync", SYNCD_FAULT_KILL_AFTER_COMMITS=str(k))
    if killed.returncode == 0:
        return k, None, world  # fewer than k commits: this sync was never killed
    assert killed.returncode == -signal.SIGKILL, f"k={k}: expected SIGKILL, got {killed.returncode}\n{killed.stderr}"
    resumed = world.run("sync")
    assert resumed.returncode == 0, f"k={k}: the sync after the crash failed\n{resumed.stderr}"
    return k, store_snapshot(world.store, world.holds), world


def test_kill_after_every_commit_then_resume_matches_an_uninterrupted_sync(reference: tuple[Path, dict]) -> None:
    tmp_path, expected = reference
    checked: list[int] = []
    completed_at = None
    with ThreadPoolExecutor(max_workers=2) as pool:
        k = 1
        while completed_at is None and k <= MAX_COMMITS:
            for done_k, snapshot, _world in pool.map(lambda k: _killed_then_resumed(tmp_path, k), (k, k + 1)):
                if snapshot is None:
                    completed_at = done_k if completed_at is None else min(completed_at, done_k)
                    continue
                assert snapshot == expected, f"store differs after a kill at commit {done_k}"
                checked.append(done_k)
            k += 2
    assert completed_at is not None, f"sync still committing after {MAX_COMMITS} commits"
    assert sorted(checked)[: completed_at - 1] == list(range(1, completed_at)), checked
    assert completed_at > 8, f"only {completed_at - 1} commit points: the harness is not exercising the sync"


def test_a_second_crash_during_the_resume_also_converges(reference: tuple[Path, dict]) -> None:
    """Crash, crash again while resuming, then finish: still the uninterrupted result."""
    tmp_path, expected = reference
    world = _world(tmp_path, "twice")
    for k in (3, 2):
        result = world.run("sync", SYNCD_FAULT_KILL_AFTER_COMMITS=str(k))
        assert result.returncode == -signal.SIGKILL, result.stderr
    assert world.run("sync").returncode == 0
    assert store_snapshot(world.store, world.holds) == expected


def test_store_is_a_valid_database_after_a_kill(reference: tuple[Path, dict]) -> None:
    world = _world(reference[0], "integrity")
    assert world.run("sync", SYNCD_FAULT_KILL_AFTER_COMMITS="4").returncode == -signal.SIGKILL
    with sqlite3.connect(world.store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
