"""`[[sources.imap]]` tables: checked when the config loads, one line per problem naming the table."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from syncd.config import parse_config, starter_config
from syncd.errors import ConfigError
from syncd.sources import configured_sources
from syncd.sources.imap import ImapAccount, ImapSource
from syncd.sources.imap_protocol import (
    Fetched,
    encode_folder_name,
    parse_fetch_answer,
    parse_list,
    parse_status,
    uid_ranges,
)
from syncd.sources.mail_headers import message_from_headers


def load(text: str, path: Path | None = None):
    return parse_config(textwrap.dedent(text), path)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, Path("/home/ada/.config/syncd/config.toml"))
    return caught.value.problems


def test_several_accounts_become_sources_with_defaults():
    config = load(
        """
        [[sources.imap]]
        host = "imap.fastmail.com"
        username = "ada@fastmail.com"
        password_command = "pass show 'mail/fast mail' $(whoami)"

        [[sources.imap]]
        name = "work"
        host = "mail.example.com"
        security = "starttls"
        username = "ada"
        password_command = ["secret-tool", "lookup", "imap", "work"]
        folders = ["INBOX", "Archive"]
        """
    )
    first, second = (ImapAccount.from_config(table) for table in config.imap)
    assert first.endpoint.port == 993 and first.endpoint.security == "tls" and first.folders is None
    assert first.password_command == ("pass", "show", "mail/fast mail", "$(whoami)")  # split, never a shell
    assert second.endpoint.port == 143 and second.folders == ("INBOX", "Archive")
    assert [source.name for source in configured_sources(config) if source.kind == "imap"] == [
        "imap:ada@fastmail.com@imap.fastmail.com",
        "imap:work",
    ]


def test_a_single_table_is_one_account():
    config = load('[sources.imap]\nhost = "localhost"\nusername = "ada"\nsecurity = "plain"\nport = 1143\n')
    (account,) = (ImapAccount.from_config(table) for table in config.imap)
    assert account.endpoint.port == 1143 and account.endpoint.security == "plain"


def test_no_tables_no_imap_sources():
    assert load("").imap == ()


def test_every_table_problem_is_reported_with_its_number_and_line():
    found = problems(
        """
        [user]
        emails = ["ada@example.com"]

        [[sources.imap]]
        host = "imap.example.com"
        securty = "tls"

        [[sources.imap]]
        host = "imap.example.com"
        username = "ada"
        security = "plain"
        port = 70000
        """
    )
    assert found == [
        "/home/ada/.config/syncd/config.toml:5: unknown key [[sources.imap]] #1 securty (did you mean 'security'?)",
        "/home/ada/.config/syncd/config.toml:5: [[sources.imap]] #1 username is required",
        "/home/ada/.config/syncd/config.toml:9: [[sources.imap]] #2 security: "
        '"plain" (unencrypted) is only allowed to localhost; use "tls" or "starttls"',
        "/home/ada/.config/syncd/config.toml:9: [[sources.imap]] #2 port: expected 1 to 65535, got 70000",
    ]


def test_bad_values_are_named():
    found = problems(
        """
        [[sources.imap]]
        host = "imap.example.com"
        username = "ada"
        security = "ssl"
        password_command = "pass show 'unterminated"
        ca_file = "/nonexistent/ca.pem"
        """
    )
    assert any("#1 security: expected one of tls, starttls, plain, got 'ssl'" in line for line in found)
    assert any("#1 password_command: cannot split" in line for line in found)
    assert any("#1 ca_file: /nonexistent/ca.pem: no such file" in line for line in found)


def test_two_accounts_may_not_share_a_name():
    found = problems(
        """
        [[sources.imap]]
        host = "a.example.com"
        username = "ada"
        name = "mail"
        [[sources.imap]]
        host = "b.example.com"
        username = "ada"
        name = "mail"
        """
    )
    assert found == [
        "/home/ada/.config/syncd/config.toml: two accounts are both named 'sources.imap:mail'; give each a unique name"
    ]


def test_the_starter_config_documents_imap_and_still_loads():
    template = starter_config()
    assert "# [[sources.imap]]" in template and "\n#   password_command = " in template
    assert load(template).imap == ()


def test_folder_names_in_modified_utf7():
    assert encode_folder_name("INBOX") == "INBOX"
    assert encode_folder_name("Été") == "&AMk-t&AOk-"
    assert encode_folder_name("Tom & Jerry") == "Tom &- Jerry"
    assert encode_folder_name("日本語") == "&ZeVnLIqe-"


def test_list_answers_with_quoted_and_literal_names():
    folders = parse_list(
        [
            b'(\\HasNoChildren \\Sent) "/" Sent',
            b'(\\HasNoChildren \\Junk) "/" "Spam \\"folder\\""',
            (b'(\\Noselect) "/" {5}', b"Lists"),
            b"(\\HasNoChildren) NIL INBOX",
        ]
    )
    assert [(folder.name, folder.selectable) for folder in folders] == [
        ("Sent", True),
        ('Spam "folder"', True),
        ("Lists", False),
        ("INBOX", True),
    ]
    assert "\\junk" in folders[1].flags


def test_status_and_fetch_answers():
    status = parse_status([b'"INBOX" (UIDVALIDITY 1700000000 UIDNEXT 42 HIGHESTMODSEQ 7)'])
    assert (status.uidvalidity, status.uidnext, status.highestmodseq) == (1700000000, 42, 7)
    fetched = [
        parse_fetch_answer(
            b'* 1 FETCH (UID 17 FLAGS (\\Seen \\Deleted) INTERNALDATE " 2-Nov-2026 09:00:00 +0100" '
            b"BODY[HEADER.FIELDS (DATE FROM)] )",
            b"From: ada@example.com\r\n\r\n",
        ),
        parse_fetch_answer(b"* 2 FETCH (FLAGS (\\Seen) UID 18)", b""),
    ]
    assert parse_fetch_answer(b"* 3 FETCH (FLAGS (\\Seen))", b"") is None  # unsolicited, without UID
    assert [(item.uid, sorted(item.flags)) for item in fetched if item] == [
        (17, ["\\deleted", "\\seen"]),
        (18, ["\\seen"]),
    ]
    assert fetched[0] and fetched[0].internaldate and fetched[0].internaldate.isoformat() == "2026-11-02T08:00:00+00:00"
    assert fetched[0].headers.startswith(b"From: ada@example.com")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"02-Dec-2026 23:30:00 -0130", "2026-12-03T01:00:00+00:00"),
        (b"1-jan-2000 00:30:00 +0100", "1999-12-31T23:30:00+00:00"),
        (b"31-Feb-2026 00:00:00 +0000", None),
        (b"01-Jan-0001 00:30:00 +0100", None),
        (b"02-Dec-2026", None),
    ],
)
def test_internaldate_in_utc_or_none(raw, expected):
    item = parse_fetch_answer(b'* 1 FETCH (UID 5 INTERNALDATE "' + raw + b'")', b"")
    assert item and (item.internaldate.isoformat() if item.internaldate else None) == expected


def test_a_fetched_header_block_is_the_record_mbox_would_make_of_it():
    """IMAP's CRLF block gives the record of the same block in an mbox (a folded Subject keeps its
    line feed); without a Message-ID, the fingerprint is the one earlier versions stored: the CRLF
    block hashed with the INTERNALDATE `From ` line."""
    block = b"From: Ada <ada@example.com>\r\nTo: me@example.com,\r\n  bob@example.org\r\nSubject: a\r\n b\r\n\r\n"
    when = datetime(2026, 11, 2, 8, 0, 9, tzinfo=UTC)
    arrived = b"02-Nov-2026 09:00:09 +0100"
    source = ImapSource(ImapAccount(host="localhost", username="me"))
    from_line = b"From MAILER-DAEMON " + when.strftime("%a %b %d %H:%M:%S %Y").encode()
    with_id = b"Message-ID: <m1@example.com>\r\n" + block
    item = Fetched(uid=1, flags=frozenset({"\\deleted"}), headers=with_id, internaldate_text=arrived)
    expected = message_from_headers(with_id.replace(b"\r\n", b"\n")[:-1], from_line, ("TRASH",))
    assert expected is not None and expected.subject == "a\n b" and expected.to == ("me@example.com", "bob@example.org")
    assert source._record(item) == expected
    assert source._record(item, since=when + timedelta(seconds=1)) is None
    fingerprinted = source._record(Fetched(uid=2, flags=frozenset(), headers=block, internaldate_text=arrived))
    assert fingerprinted == message_from_headers(block, from_line)
    assert fingerprinted is not None and fingerprinted.item_id.startswith("sha1:")


def test_uid_ranges_cover_every_uid_once():
    assert uid_ranges(1, 12000, 5000) == ["1:5000", "5001:10000", "10001:12000"]
    assert uid_ranges(43, 42, 5000) == []
