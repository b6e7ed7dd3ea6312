"""IMAP first sync against a local Dovecot, next to a bare imaplib script doing the same FETCHes.

Seeds N messages into a fresh Dovecot user's INBOX (Maildir files, indexed by Dovecot
before any timing), then alternates, `--rounds` times:

  * bare: imaplib over TLS, LOGIN, EXAMINE INBOX, `UID FETCH a:b (UID FLAGS INTERNALDATE
    BODY.PEEK[HEADER.FIELDS (…)])` in the same UID ranges syncd uses, keeping the answers;
  * syncd: the real IMAP source through the real engine into a fresh store (headers parsed
    into records, touches derived, rows written).

and prints the medians and their ratios, wall (the target, ≤ 2×) and this process's CPU time (steadier
when other jobs share the cores; Dovecot's own CPU is in neither), then a no-change sync's time (its
commands, one STATUS per folder and no FETCH, are checked in tests/sources/test_imap.py).

Where a sync's time goes is printed beside it, each part measured in the same rounds:

  * syncd's wire: the same FETCHes through the source's own pipelined reader (`_Run.fetch_each`), nothing
    parsed — what syncd's IMAP code costs next to imaplib's;
  * + header split: each answer's header block split into fields and its Date read (the shared
    `mail_headers` parser every mail source uses), no record built;
  * raw SQLite: the rows the sync stored (interactions and touches) written again with a bare
    `executemany` into a fresh store — the floor of storing them at all.

bare + header split + raw SQLite is the least any sync that parses and stores each message can take.

    .venv/bin/python benchmarks/bench_imap.py [--messages 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, UTC
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syncd.config import parse_config  # noqa: E402
from syncd.engine import sync_source, touch_rules  # noqa: E402
from syncd.sources.base import SyncContext  # noqa: E402
from syncd.sources.imap import HEADER_ITEMS, UID_RANGE, ImapAccount, ImapSource, _Run, _unix_lines  # noqa: E402
from syncd.sources.imap_protocol import Folder, uid_ranges  # noqa: E402
from syncd.sources.progress import Progress  # noqa: E402
from syncd.sources.mail_headers import message_date, parse_headers  # noqa: E402
from syncd.store import Store  # noqa: E402
from tests.servers.dovecot import Dovecot, running_dovecot  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
ME = "me@example.com"


def seed(server: Dovecot, username: str, count: int) -> None:
    """Maildir files straight into the user's INBOX: seeding 20,000 by APPEND would take
    longer than the benchmark; Dovecot indexes them on the first STATUS."""
    inbox = server.root / "mail" / username
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    for number in range(count):
        when = NOW - timedelta(minutes=15 * number + 1)
        peer = f"peer{number % 500}@example.org"
        sender, to = (ME, peer) if number % 3 == 0 else (peer, ME)
        text = (
            f"Return-Path: <{sender}>\r\nReceived: from mx.example.org by mail.example.com; "
            f"{format_datetime(when)}\r\nFrom: Peer {number} <{sender}>\r\nTo: {to}\r\n"
            f"Cc: team{number % 7}@example.org\r\nDate: {format_datetime(when)}\r\n"
            f"Message-ID: <bench-{number}@example.org>\r\nSubject: Re: coffee next week? #{number}\r\n"
            f"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; b={'x' * 300}\r\n"
            f"\r\n{'body line ' * 40}\r\n"
        )
        path = inbox / "new" / f"{int(when.timestamp())}.{number}.bench"
        path.write_text(text)
        os.utime(path, (when.timestamp(), when.timestamp()))
    if os.geteuid() == 0:
        owner = server.root.stat()
        for folder, _, files in os.walk(server.root / "mail"):
            os.chown(folder, owner.st_uid, owner.st_gid)
            for name in files:
                os.chown(os.path.join(folder, name), owner.st_uid, owner.st_gid)


def bare_fetch(server: Dovecot, username: str, password: str) -> tuple[float, float, int]:
    """(wall seconds, this process's CPU seconds, messages fetched)."""
    started, cpu = time.perf_counter(), time.process_time()
    context = ssl.create_default_context(cafile=str(server.ca_file))
    client = imaplib.IMAP4_SSL(server.host, server.tls_port, ssl_context=context)
    client.login(username, password)
    _, data = client.select("INBOX", readonly=True)
    _, uidnext = client.status("INBOX", "(UIDNEXT)")
    last = int(uidnext[0].split()[-1].strip(b")")) - 1
    messages = 0
    for uids in uid_ranges(1, last, UID_RANGE):
        _, fetched = client.uid("FETCH", uids, HEADER_ITEMS)
        messages += sum(isinstance(item, tuple) for item in fetched)
    client.logout()
    return time.perf_counter() - started, time.process_time() - cpu, messages


def syncd_wire(server: Dovecot, account: ImapAccount, username: str, password: str, split: bool) -> float:
    """Wall seconds of the same FETCHes through the source's own pipelined reader (`_Run.fetch_each`);
    with `split`, each header block is also split and its Date read (no record is built)."""
    started = time.perf_counter()
    context = ssl.create_default_context(cafile=str(server.ca_file))
    client = imaplib.IMAP4_SSL(server.host, server.tls_port, ssl_context=context)
    client.login(username, password)
    client.select("INBOX", readonly=True)
    _, uidnext = client.status("INBOX", "(UIDNEXT)")
    ranges = uid_ranges(1, int(uidnext[0].split()[-1].strip(b")")) - 1, UID_RANGE)
    sync_context = SyncContext(now=NOW, since=NOW, until=NOW, tz=UTC)
    run = _Run(client, account.endpoint, set(), {}, NOW, set, Progress("bench", sync_context))
    for _, fetched in run.fetch_each(Folder("INBOX", frozenset()), ranges, HEADER_ITEMS):
        if split:
            for item in fetched:
                message_date(parse_headers(_unix_lines(item.headers)))
    client.logout()
    return time.perf_counter() - started


def raw_store(store: Store, path: Path) -> float:
    """Wall seconds to write the rows `store` holds again, 5,000 interactions a transaction as the
    sync wrote them, with a bare executemany into a fresh store file (same schema and PRAGMAs)."""
    interactions = store.connection.execute("SELECT * FROM interactions").fetchall()
    touch_rows = store.connection.execute("SELECT * FROM touches").fetchall()
    by_item: dict[str, list[tuple]] = {}
    for row in touch_rows:
        by_item.setdefault(row[3], []).append(row)
    raw = Store.open(path)
    started = time.perf_counter()
    for start in range(0, len(interactions), UID_RANGE):
        chunk = interactions[start : start + UID_RANGE]
        with raw.transaction() as connection:
            connection.executemany("INSERT INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chunk)
            rows = [touch for row in chunk for touch in by_item.get(row[1], ())]
            connection.executemany("INSERT INTO touches VALUES (?, ?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - started
    raw.close()
    return elapsed


def syncd_fetch(account: ImapAccount, config, folder: Path) -> tuple[float, float, Store]:
    """(wall seconds, this process's CPU seconds, the store written): a fresh store each round."""
    store = Store.open(folder / "syncd.db")
    source = ImapSource(account)
    started, cpu = time.perf_counter(), time.process_time()
    outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not outcome.ok:
        raise SystemExit(f"syncd failed: {outcome.error}")
    return elapsed, cpu, store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = parse_config(f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n[sources]\nlookback = "3650d"\n', None)
    with running_dovecot() as server:
        username, password = server.new_user()
        seed(server, username, args.messages)
        work = Path(tempfile.mkdtemp(prefix="syncd-bench-imap-"))
        secret = work / "password"
        secret.write_text(password + "\n")
        account = ImapAccount(
            host=server.host,
            port=server.tls_port,
            username=username,
            password_command=("cat", str(secret)),
            ca_file=server.ca_file,
        )
        warm_seconds, _, warm_count = bare_fetch(server, username, password)  # Dovecot indexes the Maildir here
        print(f"seeded {args.messages} messages; Dovecot indexed {warm_count} in {warm_seconds:.2f} s (not timed)")
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        parts: dict[str, list[float]] = {"wire": [], "split": [], "raw": []}
        for round_number in range(args.rounds):
            seconds, cpu, count = bare_fetch(server, username, password)
            bare.append((seconds, cpu))
            parts["wire"].append(syncd_wire(server, account, username, password, split=False))
            parts["split"].append(syncd_wire(server, account, username, password, split=True))
            folder = work / f"round{round_number}"
            folder.mkdir()
            seconds, cpu, store = syncd_fetch(account, config, folder)
            ours.append((seconds, cpu))
            parts["raw"].append(raw_store(store, folder / "raw.db"))
            rows = store.interaction_count()
            print(
                f"round {round_number + 1}: bare imaplib {bare[-1][0]:.2f} s (cpu {bare[-1][1]:.2f} s, "
                f"{count} messages), syncd {seconds:.2f} s (cpu {cpu:.2f} s, {rows} rows); "
                f"syncd's wire {parts['wire'][-1]:.2f} s, + header split {parts['split'][-1]:.2f} s, "
                f"raw SQLite {parts['raw'][-1]:.2f} s"
            )
            if round_number < args.rounds - 1:
                store.close()
        for what, index in (("wall", 0), ("cpu", 1)):
            floor, syncd = statistics.median(run[index] for run in bare), statistics.median(run[index] for run in ours)
            print(f"median {what}: bare {floor:.2f} s, syncd {syncd:.2f} s, syncd ÷ bare {syncd / floor:.2f}×")
        floor = statistics.median(run[0] for run in bare)
        wire, split, raw = (statistics.median(parts[name]) for name in ("wire", "split", "raw"))
        print(
            f"median wall: syncd's wire {wire:.2f} s ({wire / floor:.2f}× bare), + header split {split:.2f} s "
            f"({split / floor:.2f}×), raw SQLite of the stored rows {raw:.2f} s"
        )
        least = floor + (split - wire) + raw
        print(f"least a sync that parses and stores takes: bare + split + raw SQLite = {least:.2f} s", end=" ")
        print(f"({least / floor:.2f}× bare)")
        print("target: wall within 2× of bare")
        started = time.perf_counter()
        outcome = sync_source(ImapSource(account), store, config, touch_rules(config, store), NOW)
        print(f"no-change sync: {time.perf_counter() - started:.3f} s, {outcome.items} rows written")
        store.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
