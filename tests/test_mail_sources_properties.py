"""Property tests: real mbox files and Maildir folders full of wild messages, synced into a real store.

The good messages land with canonical addresses and their touches; the broken ones are
skipped and counted, never the mailbox (strategies: tests/mail_strategies.py).
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.records import Message
from syncd.sources.mail import MaildirSource, MboxSource
from syncd.sources.mail_headers import message_from_headers
from syncd.store import Store
from tests.mail_strategies import ME, NOW, SLOW, assert_valid_message, header_blocks


# --- real mailboxes into a real store -------------------------------------------------------

GOOD = [
    (
        "good-plain@example.com",
        f"Date: Mon, 4 May 2026 10:00:00 +0000\nFrom: Me <{ME}>\nTo: Ada Lovelace <ada@example.com>\nSubject: hello\n",
    ),
    (
        "good-8bit@example.com",
        f"Date: Tue, 5 May 2026 10:00:00 +0200\nFrom: Jérôme Ünal <jerome@example.com>\nTo: {ME}\nSubject: Grüße\n",
    ),
    (
        "good-latin1@example.com",
        f"Date: Wed, 6 May 2026 10:00:00 -0500\nFrom: Zoë <zoe@example.com>\nTo: {ME}\nSubject: Café\n",
    ),
    (
        "good-crlf@example.com",
        f"Date: Thu, 7 May 2026 10:00:00 +0000\r\nFrom: {ME}\r\n"
        "To: =?bogus?q?Bob?= <Bob.Stone+x@GoogleMail.com>\r\nSubject: =?utf-8?b?!!!?=\r\n",
    ),
    (
        "good-nested@example.com",
        f"Date: Fri, 8 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: cy@example.com\nCc: {'(' * 3000}x\n",
    ),
    (
        "good-nul@example.com",
        f"Date: Sat, 9 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: dee@example.com\nX-Junk: a\x00b\n",
    ),
    (
        "good-news@example.com",
        f"Date: Sun, 10 May 2026 10:00:00 +0000\nFrom: News <news@example.org>\nTo: {ME}\nList-Id: <n.example.org>\n",
    ),
    (
        "good-huge@example.com",
        f"Date: Mon, 11 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: "
        + ", ".join(f"p{i}@example.com" for i in range(3000))
        + "\n",
    ),
]
BROKEN = [
    ("broken-nodate@example.com", "From: eve@example.com\nTo: me@example.com\n"),
    ("broken-garbagedate@example.com", "Date: the day after tomorrow\nFrom: eve@example.com\nTo: me@example.com\n"),
    ("broken-year10000@example.com", "Date: Mon, 2 Mar 10000 10:00:00 +0000\nFrom: eve@example.com\n"),
]
LATIN1_IDS = {"good-latin1@example.com"}


def _message_bytes(message_id: str, headers: str) -> bytes:
    text = headers.rstrip("\n").rstrip("\r") + ("\r\n" if "\r\n" in headers else "\n")
    text = f"Message-ID: <{message_id}>\n" + text + "\nBody is never read. From here on it is only body.\n"
    return text.encode("latin-1" if message_id in LATIN1_IDS else "utf-8")


def _config(tmp: Path, mbox: Path | None = None, maildir: Path | None = None):
    mail = f'mbox = ["{mbox}"]' if mbox else f'maildir = ["{maildir}"]'
    return parse_config(
        f"""
[user]
emails = ["{ME}"]
timezone = "UTC"
[store]
path = "{tmp / "store" / "syncd.db"}"
[sources.ics]
enabled = false
[sources.mail]
{mail}
""",
        tmp / "config.toml",
    )


def _sync(tmp: Path, source, config):
    store = Store.open(config.store_path)
    outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
    ids = {
        row[0] for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
    }
    touched = {row[0] for row in store.connection.execute("SELECT DISTINCT address FROM touches")}
    return store, outcome, ids, touched


def _write_mbox(path: Path, messages: list[tuple[str, str]], from_lines: dict[str, str] | None = None) -> None:
    with open(path, "wb") as handle:
        for message_id, headers in messages:
            from_line = (from_lines or {}).get(message_id, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970")
            handle.write(from_line.encode() + b"\n" + _message_bytes(message_id, headers) + b"\n")


def _check_store(store: Store, source: str, ids: set[str], touched: set[str]) -> None:
    for item_id in ids:
        record = store.interaction(source, item_id)
        assert record is None or isinstance(record, Message)
        assert_valid_message(record)
    assert {
        "ada@example.com",
        "jerome@example.com",
        "zoe@example.com",
        "bobstone@gmail.com",
        "cy@example.com",
        "dee@example.com",
    } <= touched
    assert "news@example.org" not in touched and "eve@example.com" not in touched
    assert not any(
        address.startswith("p") and address.endswith("@example.com") and address[1:-12].isdigit() for address in touched
    )  # 3000 recipients: bulk


def test_mbox_with_broken_messages_syncs_the_good_ones(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    mbox = tmp_path / "mail.mbox"
    # A garbage From_ line cannot rescue a message without a usable Date.
    _write_mbox(mbox, GOOD + BROKEN, {message_id: "From eve@example.com sometime" for message_id, _ in BROKEN})
    config = _config(tmp_path, mbox=mbox)
    source = MboxSource(mbox)
    with caplog.at_level(logging.DEBUG, logger="syncd"):
        store, outcome, ids, touched = _sync(tmp_path, source, config)
    try:
        assert outcome.ok, outcome.error
        assert ids == {message_id for message_id, _ in GOOD}
        skipped = [record.getMessage() for record in caplog.records if "skipping message" in record.getMessage()]
        assert len(skipped) == len(BROKEN), skipped
        assert all(source.name in text for text in skipped)
        _check_store(store, source.name, ids, touched)
        # The Date header wins over the From_ line; its offset is honoured.
        assert store.interaction(source.name, "good-8bit@example.com").date == datetime(2026, 5, 5, 8, 0, tzinfo=UTC)
    finally:
        store.close()


def test_mbox_from_line_dates_a_message_without_date(tmp_path: Path):
    mbox = tmp_path / "mail.mbox"
    _write_mbox(
        mbox,
        [("dated-by-from-line@example.com", f"From: {ME}\nTo: ada@example.com\n")],
        {"dated-by-from-line@example.com": "From me@example.com Tue May 12 08:30:00 2026"},
    )
    store, outcome, ids, touched = _sync(tmp_path, MboxSource(mbox), _config(tmp_path, mbox=mbox))
    try:
        assert outcome.ok and ids == {"dated-by-from-line@example.com"} and touched == {"ada@example.com"}
    finally:
        store.close()


def test_maildir_with_broken_messages_syncs_the_good_ones(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number, (message_id, headers) in enumerate(GOOD + BROKEN):
        where = (
            maildir
            / ("new" if number % 2 else "cur")
            / (f"1780000000.M{number}P1.host" + ("" if number % 2 else ":2,S"))
        )
        where.write_bytes(_message_bytes(message_id, headers))
    config = _config(tmp_path, maildir=maildir)
    source = MaildirSource(maildir)
    with caplog.at_level(logging.DEBUG, logger="syncd"):
        store, outcome, ids, touched = _sync(tmp_path, source, config)
    try:
        assert outcome.ok, outcome.error
        assert ids == {message_id for message_id, _ in GOOD}
        skipped = [record.getMessage() for record in caplog.records if "skipping message" in record.getMessage()]
        assert len(skipped) == len(BROKEN), skipped
        _check_store(store, source.name, ids, touched)
    finally:
        store.close()


@SLOW
@given(st.lists(header_blocks(), min_size=1, max_size=12), st.sampled_from(["mbox", "maildir"]))
def test_any_mailbox_of_generated_messages_syncs(blocks, kind: str):
    """Whatever the headers, the sync succeeds and stores exactly the messages that parse."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        expected: dict[str, Message] = {}
        payloads = []
        for raw, _ in blocks:
            # Headers end at the first blank line; keep the generated block as one header block.
            raw = b"\n".join(
                line
                for line in raw.replace(b"\r\n", b"\n").split(b"\n")
                if line.strip() and not line.startswith(b"From ")
            )
            raw += b"\n"
            message = message_from_headers(raw, b"From x@y Mon Jan  1 00:00:00 1990\n" if kind == "mbox" else b"")
            if message is not None and message.date >= NOW - timedelta(days=365):
                expected.setdefault(message.item_id, message)
            payloads.append(raw + b"\nbody\n")
        source: MboxSource | MaildirSource
        if kind == "mbox":
            path = tmp / "mail.mbox"
            path.write_bytes(
                b"".join(
                    b"From x@y Mon Jan  1 00:00:00 1990\n" + payload.replace(b"\nFrom ", b"\n>From ") + b"\n"
                    for payload in payloads
                )
            )
            source, config = MboxSource(path), _config(tmp, mbox=path)
        else:
            path = tmp / "Maildir"
            for sub in ("new", "cur", "tmp"):
                (path / sub).mkdir(parents=True)
            for number, payload in enumerate(payloads):
                (path / "new" / f"17800000{number:02d}.M{number}P1.host").write_bytes(payload)
            source, config = MaildirSource(path), _config(tmp, maildir=path)
        store, outcome, ids, _ = _sync(tmp, source, config)
        try:
            assert outcome.ok, outcome.error
            assert ids == set(expected), ids ^ set(expected)
            for item_id in ids:
                assert_valid_message(store.interaction(source.name, item_id))
        finally:
            store.close()


def test_a_big_mbox_is_read_in_batches_and_pruned_only_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Memory stays flat: several batches share one generation; only the last prunes and moves the cursor."""
    import syncd.sources.mail as mail

    monkeypatch.setattr(mail, "BATCH_SIZE", 3)
    mbox = tmp_path / "big.mbox"
    messages = [
        (f"m{i}@example.com", f"Date: Mon, 4 May 2026 10:{i:02d}:00 +0000\nFrom: {ME}\nTo: p{i}@example.com\n")
        for i in range(10)
    ]
    _write_mbox(
        mbox,
        messages + [("m0@example.com", f"Date: Tue, 5 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: dup@example.com\n")],
    )
    config = _config(tmp_path, mbox=mbox)
    source = MboxSource(mbox)
    batches = list(source.sync(None, _context()))
    assert [len(batch.upserts) for batch in batches] == [3, 3, 3, 1]
    assert len({batch.generation for batch in batches}) == 1 and [batch.prune for batch in batches] == [
        False,
        False,
        False,
        True,
    ]
    assert [batch.cursor for batch in batches[:-1]] == [None, None, None]
    assert batches[-1].cursor is not None and batches[-1].cursor["file"]
    first_copy = next(r for b in batches for r in b.upserts if r.item_id == "m0@example.com")
    assert isinstance(first_copy, Message) and first_copy.to == ("p0@example.com",)  # first copy wins

    store, outcome, ids, _ = _sync(tmp_path, source, config)
    try:
        assert outcome.ok and ids == {f"m{i}@example.com" for i in range(10)}
        # Rewrite without m0..m4 and crash after the first batch: nothing is pruned yet, the old cursor stays.
        _write_mbox(
            mbox,
            messages[5:]
            + [
                (f"n{i}@example.com", f"Date: Wed, 6 May 2026 10:{i:02d}:00 +0000\nFrom: {ME}\nTo: q{i}@example.com\n")
                for i in range(4)
            ],
        )
        old_cursor = store.source_state(source.name).cursor
        rules = touch_rules(config, store)
        first = next(iter(source.sync(old_cursor, _context())))
        store.apply_batch(source.name, first, rules)
        kept = {
            row[0]
            for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
        }
        assert {f"m{i}@example.com" for i in range(5)} <= kept and store.source_state(source.name).cursor == old_cursor
        # The next sync starts over and ends with the file's messages, and keeps those that left
        # it (mail is history: m0..m4 were still written).
        again = sync_source(source, store, config, rules, NOW)
        final = {
            row[0]
            for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
        }
        assert again.ok and final == {f"m{i}@example.com" for i in range(10)} | {f"n{i}@example.com" for i in range(4)}
        orphans = store.connection.execute(
            "SELECT COUNT(*) FROM touches t LEFT JOIN interactions i USING (source, item_id) WHERE i.item_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        store.close()


def _context():
    from zoneinfo import ZoneInfo

    from syncd.sources.base import SyncContext

    return SyncContext(now=NOW, since=NOW - timedelta(days=365), until=NOW + timedelta(days=35), tz=ZoneInfo("UTC"))
