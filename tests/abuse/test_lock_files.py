"""Abuse of lock files and folders: planted symlinks, read-only and blocked folders (issue 9)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ics_calendar, ics_event

NOW = "2026-11-20T09:00:00+01:00"
ME = "me@example.com"


@pytest.fixture
def world(cli):
    (cli.home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n'
    )
    (cli.home / "cal.ics").write_text(
        ics_calendar(ics_event("m1", "20260901T090000Z", "20260901T100000Z", [ME, "ada@example.com"], organizer=ME))
    )
    (cli.home / "data").mkdir()
    (cli.home / "holds").mkdir()
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [store]
        path = "{cli.home / "data" / "syncd.db"}"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [holds]
        sink = "ics:{cli.home / "holds" / "holds.ics"}"
    """)
    return cli


@pytest.fixture
def victim(cli) -> Path:
    path = cli.home / "victim.txt"
    path.write_text("precious\n")
    return path


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` refuse new files, for root too (which ignores mode bits): `chattr +i`."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is not available: cannot make a folder read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_a_symlinked_store_lock_is_refused_and_its_target_untouched(world, victim):
    lock = world.home / "data" / "syncd.db.lock"
    lock.symlink_to(victim)
    result = world("sync", now=NOW)
    assert result.code == 1
    line = one_line(result.err)
    assert str(lock) in line and "symbolic link" in line
    assert victim.read_text() == "precious\n"


def test_a_symlinked_holds_lock_books_nothing_and_leaves_its_target(world, victim):
    lock = world.home / "holds" / "holds.ics.lock"
    lock.symlink_to(victim)
    result = world("sync", now=NOW)
    assert result.code == 1
    said = result.out + result.err  # the hold summary (stdout) carries the sink's error
    assert str(lock) in said and "symbolic link" in said and "Traceback" not in said
    assert victim.read_text() == "precious\n"
    assert not (world.home / "holds" / "holds.ics").exists()
    assert world("holds", "--json", now=NOW).json() == []


def test_a_read_only_store_folder_is_one_line_naming_the_file(world):
    with read_only(world.home / "data"):
        result = world("sync", now=NOW)
    assert result.code == 1
    line = one_line(result.err)
    assert str(world.home / "data") in line


def test_a_store_folder_that_is_a_file_is_one_line_naming_the_file(world):
    (world.home / "data").rmdir()
    (world.home / "data").write_text("not a folder")
    result = world("sync", now=NOW)
    assert result.code == 1
    assert str(world.home / "data") in one_line(result.err)


def test_a_read_only_holds_folder_fails_the_run_naming_the_lock(world):
    assert world("sync", "--no-holds", now=NOW).code == 0
    with read_only(world.home / "holds"):
        result = world("sync", now=NOW)
    assert result.code == 1
    said = result.out + result.err
    assert str(world.home / "holds" / "holds.ics.lock") in said and "Traceback" not in said
    assert not (world.home / "holds" / "holds.ics").exists()
    assert world("holds", "--json", now=NOW).json() == []


@pytest.mark.slow
def test_a_symlinked_daemon_lock_refuses_to_start(cli_process, victim):
    world = cli_process
    (world.home / "contacts.toml").write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    world.write_config(f"""
        [user]
        emails = ["{ME}"]
        [store]
        path = "{world.home / "syncd.db"}"
        [contacts]
        files = ["contacts.toml"]
    """)
    lock = world.home / "syncd.db.daemon.lock"
    lock.symlink_to(victim)
    result = world("run", now=NOW, timeout=30)
    assert result.code == 1
    assert str(lock) in one_line(result.err)
    assert victim.read_text() == "precious\n"
