"""The IMAP source against a real Dovecot: the shared contract, folders, flags, TLS and failures."""

from __future__ import annotations

import imaplib
import logging
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.sources.imap import ImapAccount, ImapSource
from syncd.store import Store
from tests.servers.dovecot import UNICODE_USER, Dovecot, dovecot, free_port  # noqa: F401 (the fixture)
from tests.servers.proxy import Proxy
from tests.sources.contract import ME, NOW, SourceContract

pytestmark = pytest.mark.slow

LATER = NOW + timedelta(minutes=15)


def message(message_id: str, sender: str, to: str, when: datetime, extra: str = "") -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: <{message_id}>",
        "Subject: hello",
        *([extra] if extra else []),
        "",
        "body line",
        "",
    ]
    return "\r\n".join(lines).encode()


class ImapWorld:
    """One fresh Dovecot user; changes are made over IMAP as a mail client would make them."""

    def __init__(self, server: Dovecot, folder: Path, **account: object):
        self.server = server
        self.username, self.password = server.new_user()
        self.password_file = folder / "password"
        self.password_file.write_text(self.password + "\n")
        self.client = server.connect(self.username, self.password)
        self.account = account

    def append(self, folder: str, message_id: str, sender: str, to: str, when: datetime, flags: str = "") -> None:
        status, _ = self.client.append(
            folder, flags, imaplib.Time2Internaldate(when), message(message_id, sender, to, when)
        )
        assert status == "OK"

    def uid_of(self, folder: str, key: str) -> bytes:
        self.client.select(folder)
        _, found = self.client.uid("SEARCH", "HEADER", "Message-ID", f"<{key}@test>")
        (uid,) = found[0].split()
        return uid

    def add(self, key, address, when):
        self.append("INBOX", f"{key}@test", address, ME, when)

    def move(self, key, when):
        """An edited draft saved again: the same Message-ID, a new UID, the old copy expunged."""
        address = self.address_of(key)
        old = self.uid_of("INBOX", key)
        self.append("INBOX", f"{key}@test", address, ME, when)
        self.client.uid("STORE", old, "+FLAGS", "(\\Deleted)")
        self.client.expunge()

    def address_of(self, key: str) -> str:
        self.client.select("INBOX")
        uid = self.uid_of("INBOX", key)
        _, data = self.client.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (FROM)])")
        return data[0][1].decode().split(":", 1)[1].strip()

    def remove(self, key):
        """The message leaves the server for good (deleted and expunged)."""
        self.client.uid("STORE", self.uid_of("INBOX", key), "+FLAGS", "(\\Deleted)")
        self.client.expunge()

    def trash(self, key: str) -> None:
        """What "delete" does in most mail clients: a move to the Trash folder."""
        assert self.client.uid("MOVE", self.uid_of("INBOX", key), "Trash")[0] == "OK"

    def break_it(self):
        self.password_file.write_text("not-the-password\n")

    def source(self):
        settings = {
            "host": "127.0.0.1",
            "port": self.server.tls_port,
            "security": "tls",
            "ca_file": self.server.ca_file,
            **self.account,
        }
        return ImapSource(
            ImapAccount(username=self.username, password_command=("cat", str(self.password_file)), **settings)
        )


class TestImap(SourceContract):
    @pytest.fixture
    def world(self, dovecot, tmp_path):  # noqa: F811
        world = ImapWorld(dovecot, tmp_path)
        yield world
        world.client.logout()


@pytest.fixture
def world(dovecot, tmp_path):  # noqa: F811
    world = ImapWorld(dovecot, tmp_path)
    yield world
    world.client.logout()


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "store" / "syncd.db")
    yield store
    store.close()


@pytest.fixture
def config():
    return parse_config(f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n', None)


def run(source, store, config, now=NOW):
    return sync_source(source, store, config, touch_rules(config, store), now)


def touched(store: Store) -> dict[str, datetime]:
    rows = store.connection.execute("SELECT address, MAX(at) FROM touches GROUP BY address")
    return {address: datetime.fromtimestamp(at, NOW.tzinfo) for address, at in rows}


def test_inbox_and_sent_count_junk_and_trash_are_never_read(world, store, config):
    world.append("INBOX", "in@test", "ada@example.com", ME, NOW - timedelta(days=2))
    world.append("Sent", "out@test", ME, "bob@example.com", NOW - timedelta(days=3))
    world.append("Junk", "junk@test", "carl@example.com", ME, NOW - timedelta(days=1))
    world.append("Trash", "trash@test", "dora@example.com", ME, NOW - timedelta(days=1))
    outcome = run(world.source(), store, config)
    assert outcome.ok, outcome.error
    assert touched(store) == {"ada@example.com": NOW - timedelta(days=2), "bob@example.com": NOW - timedelta(days=3)}
    assert store.known_ids(world.source().name) == {"in@test", "out@test"}


def test_expunged_message_keeps_its_touch(world, store, config):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    assert run(world.source(), store, config).ok
    world.remove("a")
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok, outcome.error
    assert touched(store) == {"ada@example.com": NOW - timedelta(days=2)}


def test_deleted_flag_withdraws_the_touch_and_undeleting_restores_it(world, store, config):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    world.add("b", "bob@example.com", NOW - timedelta(days=3))
    assert run(world.source(), store, config).ok
    uid = world.uid_of("INBOX", "a")
    world.client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok and outcome.items == 1
    assert touched(store) == {"bob@example.com": NOW - timedelta(days=3)}
    world.client.uid("STORE", uid, "-FLAGS", "(\\Deleted)")
    assert run(world.source(), store, config, LATER).ok
    assert set(touched(store)) == {"ada@example.com", "bob@example.com"}


def test_seen_flag_changes_write_nothing(world, store, config):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    assert run(world.source(), store, config).ok
    world.client.uid("STORE", world.uid_of("INBOX", "a"), "+FLAGS", "(\\Seen)")
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok and outcome.items == 0


def test_message_moved_back_from_trash_counts_again(world, store, config):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    assert run(world.source(), store, config).ok
    world.trash("a")
    assert run(world.source(), store, config, LATER).ok
    assert touched(store) == {}
    assert world.client.uid("MOVE", world.uid_of("Trash", "a"), "INBOX")[0] == "OK"
    assert run(world.source(), store, config, LATER).ok
    assert touched(store) == {"ada@example.com": NOW - timedelta(days=2)}


def test_changed_uidvalidity_reads_the_folder_again(world, store, config):
    world.client.create("Archive")
    world.append("Archive", "a@test", "ada@example.com", ME, NOW - timedelta(days=2))
    world.account["folders"] = ("Archive",)
    assert run(world.source(), store, config).ok
    before = world.client.status("Archive", "(UIDVALIDITY)")[1][0]
    world.client.select("INBOX")
    world.client.delete("Archive")
    world.client.create("Archive")
    assert world.client.status("Archive", "(UIDVALIDITY)")[1][0] != before
    world.append("Archive", "b@test", "bob@example.com", ME, NOW - timedelta(days=1))
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok, outcome.error
    assert set(touched(store)) == {"ada@example.com", "bob@example.com"}


def test_configured_folders_with_a_non_ascii_name(world, store, config):
    world.client.create("&AMk-t&AOk-")  # "Été" in modified UTF-7
    world.append("&AMk-t&AOk-", "a@test", "ada@example.com", ME, NOW - timedelta(days=2))
    world.account["folders"] = ("Été",)
    outcome = run(world.source(), store, config)
    assert outcome.ok, outcome.error
    assert set(touched(store)) == {"ada@example.com"}


def test_missing_folder_fails_naming_it(world, store, config):
    world.account["folders"] = ("INBOX", "Archive 2019")
    outcome = run(world.source(), store, config)
    assert not outcome.ok and "'Archive 2019' does not exist" in outcome.error


@pytest.mark.parametrize("security", ["starttls", "plain"])
def test_starttls_and_plain_to_localhost(world, store, config, security):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    world.account.update(security=security, port=world.server.port)
    outcome = run(world.source(), store, config)
    assert outcome.ok, outcome.error
    assert set(touched(store)) == {"ada@example.com"}


def test_plain_to_another_host_is_refused(world, store, config):
    world.account.update(security="plain", port=world.server.port, host="mail.example.com")
    outcome = run(world.source(), store, config)
    assert not outcome.ok and "only allowed to localhost" in outcome.error


def test_certificate_of_an_unknown_ca_is_refused(world, store, config):
    world.account["ca_file"] = None
    outcome = run(world.source(), store, config)
    assert not outcome.ok and "certificate not trusted" in outcome.error and "ca_file" in outcome.error


def test_starttls_checks_the_certificate_too(world, store, config):
    world.account.update(security="starttls", port=world.server.port, ca_file=None)
    outcome = run(world.source(), store, config)
    assert not outcome.ok and "certificate not trusted" in outcome.error


def test_wrong_password_needs_auth_and_never_leaks_a_password(world, store, config, caplog, tmp_path):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    assert run(world.source(), store, config).ok
    wrong = "Wr0ng-Secret-Value"
    world.password_file.write_text(wrong + "\n")
    with caplog.at_level(logging.DEBUG):
        outcome = run(world.source(), store, config, LATER)
    assert not outcome.ok
    state = store.source_state(world.source().name)
    assert state.state == "needs_auth" and "syncd auth imap:" in state.error
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(path.read_bytes() for path in (tmp_path / "store").iterdir())
    for secret in (world.password, wrong):
        assert secret.encode() not in stored
        assert secret not in caplog.text and secret not in (outcome.error or "")


def test_refused_connection_fails_with_one_line(world, store, config):
    world.account["port"] = free_port()
    outcome = run(world.source(), store, config)
    assert not outcome.ok and outcome.error.endswith("cannot connect: connection refused")


def test_failing_password_command_needs_auth(world, store, config):
    world.password_file.unlink()
    outcome = run(world.source(), store, config)
    assert not outcome.ok
    assert store.source_state(world.source().name).state == "needs_auth"
    assert "password_command 'cat' failed with exit status 1" in outcome.error


def test_default_name_and_kind(world):
    source = world.source()
    assert source.kind == "imap" and source.name == f"imap:{world.username}@127.0.0.1"
    world.account["name"] = "work"
    assert world.source().name == "imap:work"


@pytest.fixture
def relay(world):
    """A factory for a recording relay in front of the world's Dovecot (plain IMAP, on loopback)."""
    proxies: list[Proxy] = []

    def make(**options) -> Proxy:
        proxy = Proxy(world.server.port, **options)
        proxies.append(proxy)
        world.account.update(security="plain", port=proxy.port)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def test_no_change_sync_is_one_status_per_folder_and_no_fetch(world, store, config, relay):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    proxy = relay()
    assert run(world.source(), store, config).ok
    assert "FETCH" in proxy.commands()
    proxy.sent.clear()
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok and outcome.items == 0
    assert proxy.commands() == ["CAPABILITY", "LOGIN", "ENABLE", "LIST"] + ["STATUS"] * 4 + ["LOGOUT"]


@pytest.mark.parametrize("cut_after", [40, 260])  # in the answer's first line; inside its header literal
def test_connection_dropped_mid_fetch_fails_the_source_and_keeps_what_was_synced(
    world, store, config, relay, cut_after
):
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    assert run(world.source(), store, config).ok
    world.add("b", "bob@example.com", NOW - timedelta(days=1))
    relay(cut_on=b"UID FETCH", cut_after=cut_after)
    outcome = run(world.source(), store, config, LATER)
    assert not outcome.ok and "connection lost" in outcome.error and "\n" not in outcome.error
    assert touched(store) == {"ada@example.com": NOW - timedelta(days=2)}
    relay()
    assert run(world.source(), store, config, LATER).ok
    assert set(touched(store)) == {"ada@example.com", "bob@example.com"}


def test_server_without_condstore_syncs_by_uidnext(world, store, config, relay):
    """A server that offers no CONDSTORE (the relay hides it): new mail still arrives, and a
    no-change sync is still one STATUS per folder."""
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    proxy = relay(hide=(b"CONDSTORE", b"QRESYNC"))
    assert run(world.source(), store, config).ok
    world.add("b", "bob@example.com", NOW - timedelta(days=1))
    outcome = run(world.source(), store, config, LATER)
    assert outcome.ok and outcome.items == 1
    assert set(touched(store)) == {"ada@example.com", "bob@example.com"}
    proxy.sent.clear()
    assert run(world.source(), store, config, LATER).items == 0
    assert "ENABLE" not in proxy.commands() and proxy.commands().count("STATUS") == 4
    assert not any(b"HIGHESTMODSEQ" in line for line in proxy.sent)


def test_wrong_password_is_one_login_attempt_per_sync(world, store, config, relay):
    proxy = relay()
    world.break_it()
    outcome = run(world.source(), store, config)
    assert not outcome.ok and store.source_state(world.source().name).state == "needs_auth"
    assert proxy.commands().count("LOGIN") == 1


def test_non_ascii_password_goes_through_sasl_plain(dovecot, store, config, tmp_path):  # noqa: F811
    username, password = UNICODE_USER
    secret = tmp_path / "password"
    secret.write_text(password + "\n", "utf-8")
    account = ImapAccount(
        host="127.0.0.1",
        port=dovecot.tls_port,
        username=username,
        password_command=("cat", str(secret)),
        ca_file=dovecot.ca_file,
    )
    outcome = run(ImapSource(account), store, config)
    assert outcome.ok, outcome.error
