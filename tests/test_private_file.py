"""Atomic 0600 writes (syncd.private_file), shared by the Google token file and the ICS holds file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from syncd.private_file import write_private


def test_replaces_atomically_and_privately(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["t.json"]


def test_a_new_folder_is_the_owners_only(tmp_path: Path) -> None:
    target = tmp_path / "new" / "token.json"
    write_private(target, b"{}")
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700 and target.read_bytes() == b"{}"


def test_a_failed_replace_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        write_private(target, b"new")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]
    assert (target / "inside").read_text() == "kept"
