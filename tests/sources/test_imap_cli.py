"""`syncd auth imap:NAME`, `sync` and `status` through the CLI against a real Dovecot."""

from __future__ import annotations

import io
from datetime import timedelta

import keyring
import pytest

from tests.servers.dovecot import dovecot  # noqa: F401 (the fixture)
from tests.sources.contract import ME, NOW
from tests.sources.test_imap import ImapWorld

pytestmark = pytest.mark.slow


@pytest.fixture
def world(dovecot, tmp_path):  # noqa: F811
    world = ImapWorld(dovecot, tmp_path)
    yield world
    world.client.logout()


@pytest.fixture
def memory_keyring():
    from tests.test_secrets import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def imap_config(cli, world: ImapWorld, **extra: str) -> None:
    lines = [f"{key} = {value}" for key, value in extra.items()]
    cli.write_config(
        f"""
        [user]
        emails = ["{ME}"]
        [store]
        path = "{cli.home / "syncd.db"}"
        [holds]
        enabled = false
        [[sources.imap]]
        name = "work"
        host = "127.0.0.1"
        port = {world.server.tls_port}
        username = "{world.username}"
        ca_file = "{world.server.ca_file}"
        """
        + "\n".join(lines)
        + "\n"
    )


def test_auth_stores_a_password_that_logs_in_and_sync_uses_it(world, cli, memory_keyring, monkeypatch):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    imap_config(cli, world)
    monkeypatch.setattr("sys.stdin", io.StringIO(world.password + "\n"))
    result = cli("auth", "imap:work")
    assert result.code == 0, result.err
    assert memory_keyring.entries == {("syncd", "imap:work"): world.password}
    result = cli("sync", now=NOW.isoformat())
    assert result.code == 0, result.err
    status = cli("status", "--json", now=NOW.isoformat())
    (source,) = [item for item in status.json()["sources"] if item["name"] == "imap:work"]
    assert source["kind"] == "imap" and source["state"] == "ok"
    assert world.password not in status.out + result.out + result.err


def test_auth_with_a_wrong_password_stores_nothing(world, cli, memory_keyring, monkeypatch):
    imap_config(cli, world)
    monkeypatch.setattr("sys.stdin", io.StringIO("Wr0ng-Secret-Value\n"))
    result = cli("auth", "imap:work")
    assert result.code == 1 and "login as" in result.err and "nothing stored" in result.err
    assert "Wr0ng-Secret-Value" not in result.err + result.out
    assert memory_keyring.entries == {}


def test_auth_of_an_unknown_account_is_a_usage_error(world, cli, memory_keyring):
    imap_config(cli, world)
    result = cli("auth", "imap:home")
    assert result.code == 2 and "no [[sources.imap]] table with name = 'home'" in result.err
    assert "imap:work" in result.err


def test_sync_without_a_password_needs_auth(world, cli, memory_keyring):
    imap_config(cli, world)
    result = cli("sync", now=NOW.isoformat())
    assert result.code == 1 and "syncd auth imap:work" in result.err
    status = cli("status", "--json", now=NOW.isoformat())
    (source,) = [item for item in status.json()["sources"] if item["name"] == "imap:work"]
    assert source["state"] == "needs_auth"
