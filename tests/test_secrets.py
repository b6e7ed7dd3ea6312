"""Passwords for IMAP/CalDAV: a password_command (a real subprocess) or the OS keyring entry."""

from __future__ import annotations

import io
import sys

import keyring
import keyring.backend
import keyring.errors
import pytest

from syncd.errors import NeedsAuth, UsageError
from syncd.secrets import (
    KEYRING_SERVICE,
    KeyringUnavailable,
    resolve_password,
    run_password_command,
    split_source_id,
    store_password,
)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps entries in memory (the OS one is not ours to touch)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


class LockedKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("collection is locked")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("collection is locked")


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_entry_per_source(memory_keyring):
    store_password("imap:work", "s3cret")
    store_password("caldav:work", "other")
    assert memory_keyring.entries == {
        (KEYRING_SERVICE, "imap:work"): "s3cret",
        (KEYRING_SERVICE, "caldav:work"): "other",
    }
    assert resolve_password("imap:work", None) == "s3cret"


def test_missing_entry_says_what_to_run(memory_keyring):
    with pytest.raises(NeedsAuth) as caught:
        resolve_password("imap:work", None)
    assert str(caught.value) == (
        "imap:work: no password; run `syncd auth imap:work` or set password_command in the config"
    )


def test_locked_keyring_is_one_line_naming_the_way_out():
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(KeyringUnavailable) as caught:
            resolve_password("caldav:home", None)
        with pytest.raises(KeyringUnavailable):
            store_password("caldav:home", "x")
    finally:
        keyring.set_keyring(previous)
    assert str(caught.value) == (
        "caldav:home: the OS keyring is locked; unlock it, or set password_command for this source in the config"
    )
    assert caught.value.state == "needs_auth"


@pytest.mark.parametrize("text", ["work", "imap:", "gmail:me", ":work"])
def test_source_ids_are_kind_and_name(text):
    with pytest.raises(UsageError):
        split_source_id(text)


def test_source_id_split():
    assert split_source_id("imap:ada@example.com") == ("imap", "ada@example.com")
    assert split_source_id("caldav:home:2") == ("caldav", "home:2")


@pytest.mark.slow
def test_command_first_line_is_the_password_and_the_keyring_is_not_asked(memory_keyring):
    memory_keyring.entries[(KEYRING_SERVICE, "imap:work")] = "from-keyring"
    command = [sys.executable, "-c", "print('p@ss word \\\\ $x'); print('second line')"]
    assert resolve_password("imap:work", command) == "p@ss word \\ $x"


@pytest.mark.slow
def test_command_is_never_run_through_a_shell():
    assert run_password_command("imap:work", ["echo", "$(id -u); exit 3"]) == "$(id -u); exit 3"


@pytest.mark.slow
def test_failing_command_names_status_and_stderr_never_stdout():
    script = "import sys; print('Secret-On-Stdout'); print('gpg: decryption failed', file=sys.stderr); sys.exit(2)"
    with pytest.raises(NeedsAuth) as caught:
        run_password_command("imap:work", [sys.executable, "-c", script])
    message = str(caught.value)
    assert "exit status 2: gpg: decryption failed" in message and "Secret-On-Stdout" not in message
    assert "\n" not in message


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/nonexistent/pass"], "imap:work: password_command '/nonexistent/pass' not found"),
        ([sys.executable, "-c", "print()"], "printed no password on its first line"),
    ],
)
def test_unusable_command_needs_auth(argv, expected):
    with pytest.raises(NeedsAuth) as caught:
        run_password_command("imap:work", argv)
    assert expected in str(caught.value)


CALDAV_CONFIG = """
[user]
emails = ["me@example.com"]
[[sources.caldav]]
name = "home"
url = "https://dav.example.com/"
username = "ada"
[[sources.caldav]]
name = "work"
url = "https://dav.example.org/"
username = "ada"
password_command = ["pass", "show", "dav/work"]
"""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("caldav:work", "caldav:work has a password_command"),
        ("caldav:office", "no [[sources.caldav]] table with name = 'office'"),
        ("gmail:me@example.com", "expected imap:NAME or caldav:NAME"),
    ],
)
def test_auth_of_a_source_without_a_keyring_password_is_a_usage_error(cli, memory_keyring, source, message):
    cli.write_config(CALDAV_CONFIG)
    result = cli("auth", source)
    assert result.code == 2 and message in result.err
    assert memory_keyring.entries == {}


def test_auth_with_an_empty_password_stores_nothing(cli, memory_keyring, monkeypatch):
    cli.write_config(CALDAV_CONFIG)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    result = cli("auth", "caldav:home")
    assert result.code == 2 and "no password given" in result.err
    assert memory_keyring.entries == {}
