"""Local ingest: mbox + Maildir + ICS + contacts through the real engine into the real store.

Generates (in a temporary folder) N messages with realistic headers — mail the user
sent, mail they received, newsletters with List-Id, notifications, big recipient lists,
RFC 2047 names, bodies and a few attachments that must never be read — split between an
mbox (3/4) and a Maildir (1/4); an ICS file of E events, a few hundred of them recurring
series with exceptions; and a TOML file of C contacts. Then, each in a fresh process:

  * the ingest of all N messages: `engine.run_cycle` with its two halves timed apart —
    parsing (time spent inside the sources' generators) and the store write path (time
    inside `Store.apply_batch`) — then the very same rows written with a raw SQLite
    `executemany` into a fresh store file (same schema, same PRAGMAs, same transactions),
    and the cold list (`App.cold()`) over the C contacts;
  * the same ingest with 10,000 messages, to compare peak RSS (`ru_maxrss`, read inside
    each process right after its ingest and cold list).

Targets: store rows/s ≥ ½ of raw executemany (ratio ≤ 2×); peak RSS flat between 10k
and N messages and ≤ 150 MB.

    .venv/bin/python benchmarks/bench_ingest.py [--messages 100000] [--events 20000] [--contacts 5000]
                                                [--keep DIR] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import logging
import os
import pstats
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone, UTC
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ME = "me@example.com"
SMALL = 10_000
RSS_LIMIT_MB = 150
RATIO_TARGET = 2.0
RAW_REPEATS = 3

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "Niklaus",
    "John",
    "Radia",
    "Leslie",
    "Shafi",
    "Jean",
    "Tim",
    "Hedy",
    "Lynn",
    "Katherine",
    "Dennis",
    "Bjarne",
    "Guido",
    "Yukihiro",
    "Anders",
    "Sophie",
    "Mary",
    "Sanjay",
    "Fei-Fei",
    "Zoë",
    "Jérôme",
    "Søren",
    "Łukasz",
    "José",
    "Chloé",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Wirth",
    "McCarthy",
    "Perlman",
    "Lamport",
    "Goldwasser",
    "Sammet",
    "Berners-Lee",
    "Lamarr",
    "Conway",
    "Johnson",
    "Ritchie",
    "Stroustrup",
    "Rossum",
    "Matsumoto",
    "Hejlsberg",
    "Wilson",
    "Shaw",
    "Ghemawat",
    "Li",
    "Müller",
    "Dubois",
    "Kierkegaard",
    "Wałęsa",
    "García",
    "Martin",
]
DOMAINS = [
    "example.com",
    "example.org",
    "acme.test",
    "initech.test",
    "globex.test",
    "gmail.com",
    "uni.example.edu",
    "startup.io",
]
SUBJECTS = [
    "Coffee next week?",
    "Re: the proposal",
    "Intro: {a} <> {b}",
    "Notes from today",
    "Fwd: slides",
    "Quick question",
    "Re: Re: offsite planning",
    "Grüße aus Berlin",
    "Lunch?",
    "Your talk",
    "Hiring update",
    "Thanks!",
]


# --- data ----------------------------------------------------------------------------------


def contact_people(count: int) -> list[tuple[str, str, str]]:
    """(name, address as written, tier) — gmail addresses written with dots and capitals now and then."""
    rng = random.Random(1)
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = DOMAINS[i % len(DOMAINS)]
        local = f"{first}.{last}.{i}".lower().encode("ascii", "ignore").decode().replace("-", "")
        if domain == "gmail.com" and i % 3 == 0:
            local = local.title()
        people.append(
            (f"{first} {last}", f"{local}@{domain}", rng.choice(["meaningful", "intimate", "familiar", "unfamiliar"]))
        )
    return people


def write_contacts(path: Path, people: list[tuple[str, str, str]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for i, (name, address, tier) in enumerate(people):
            out.write(f'[[contact]]\nname = "{name}"\nemails = ["{address}"]\ntier = "{tier}"\n')
            if i % 10 == 0:
                out.write('notes = "met at a conference"\ntags = ["work", "conference"]\n')
            if i % 97 == 0:
                out.write("ignore = true\n")
            out.write("\n")


def _mailbox(name: str, address: str, rng: random.Random) -> str:
    if not name.isascii() and rng.random() < 0.5:
        return f"{Header(name, 'utf-8').encode()} <{address}>"  # RFC 2047
    if "," in name or rng.random() < 0.2:
        return f'"{name}" <{address}>'
    return f"{name} <{address}>"


def message(i: int, people: list[tuple[str, str, str]], rng: random.Random) -> bytes:
    """One message: realistic header noise around the headers syncd reads, then a body."""
    when = NOW - timedelta(seconds=rng.randrange(400 * 86400))  # ~9 % fall before the 365-day look-back
    offset = timezone(timedelta(hours=rng.choice([-8, -5, 0, 1, 2, 5.5, 9])))
    kind = rng.random()
    person = rng.choice(people)
    others = [rng.choice(people) for _ in range(rng.randrange(3))]
    lines = [
        f"Return-Path: <bounce-{i}@mail.example.net>",
        f"Received: from mx{i % 7}.example.net (mx{i % 7}.example.net [192.0.2.{i % 250}])"
        f" by mail.example.com with ESMTPS id {i:x};"
        f" {format_datetime(when)}",
        f"Received: from localhost (localhost [127.0.0.1]) by mx{i % 7}.example.net; {format_datetime(when)}",
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=sel; h=from:to:subject:date;"
        f" bh={base64.b64encode(os.urandom(24)).decode()};"
        f"\n b={base64.b64encode(os.urandom(96)).decode()}",
        f"Message-ID: <{i}.{rng.randrange(10**9)}@mail.example.net>",
        f"Date: {format_datetime(when.astimezone(offset))}",
        "MIME-Version: 1.0",
    ]
    if kind < 0.35:  # sent by the user
        lines += [f"From: Me <{ME}>", "To: " + ", ".join(_mailbox(n, a, rng) for n, a, _ in [person, *others[:1]])]
        if len(others) > 1:
            lines.append("Cc: " + _mailbox(*others[1][:2], rng))
        lines.append("X-Gmail-Labels: Sent")
    elif kind < 0.75:  # received from a contact
        lines += [f"From: {_mailbox(person[0], person[1], rng)}", f"To: Me <{ME}>"]
        if others:
            lines.append("Cc: " + ", ".join(_mailbox(n, a, rng) for n, a, _ in others))
        lines.append("X-Gmail-Labels: Inbox,Important")
    elif kind < 0.95:  # newsletter
        letter = i % 40
        lines += [
            f'From: "Weekly {letter}" <news@letter{letter}.example.org>',
            f"To: {ME}",
            f"List-Id: Weekly {letter} <weekly{letter}.letter{letter}.example.org>",
            f"List-Unsubscribe: <mailto:unsubscribe-{i}@letter{letter}.example.org>, <https://letter{letter}.example.org/u/{i}>",
        ]
        if letter % 4 == 0:
            lines.append("Precedence: bulk")
    elif kind < 0.98:  # notification / auto-reply
        lines += ["From: GitHub <noreply@github.com>", f"To: {ME}", "Auto-Submitted: auto-generated"]
    else:  # a big thread: too many recipients to count
        crowd = [rng.choice(people) for _ in range(12 + rng.randrange(30))]
        lines += [
            f"From: {_mailbox(person[0], person[1], rng)}",
            "To: " + ",\n ".join(_mailbox(n, a, rng) for n, a, _ in crowd),
            f"Cc: {ME}",
        ]
    lines.append(
        "Subject: "
        + rng.choice(SUBJECTS).format(a=person[0].split()[0], b=others[0][0].split()[0] if others else "Ada")
    )
    body = (
        "Hello,\n\n"
        + "This is the body of the message; syncd must never read it.\n" * rng.randrange(3, 30)
        + "\n-- \nSent from my laptop\n"
    )
    if rng.random() < 0.02:  # an attachment the header-only reader must skip over
        lines.append('Content-Type: multipart/mixed; boundary="b1"')
        payload = base64.encodebytes(os.urandom(48 * 1024)).decode()
        body = (
            f"--b1\nContent-Type: text/plain\n\n{body}\n--b1\nContent-Type: application/pdf\n"
            f"Content-Transfer-Encoding: base64\n\n{payload}--b1--\n"
        )
    else:
        lines.append("Content-Type: text/plain; charset=utf-8")
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def write_mail(folder: Path, count: int, people: list[tuple[str, str, str]]) -> tuple[Path, Path]:
    """3/4 of the messages into an mbox, 1/4 into a Maildir (half in new/, half in cur/ with flags)."""
    rng = random.Random(count)
    folder.mkdir(parents=True)
    mbox, maildir = folder / "archive.mbox", folder / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    with open(mbox, "wb", buffering=1 << 20) as out:
        for i in range(count):
            data = message(i, people, rng)
            if i % 4 == 3:
                flags = ":2,S" if i % 8 == 3 else (":2,ST" if i % 200 == 7 else "")
                sub = "cur" if flags else "new"
                (maildir / sub / f"{1780000000 + i}.M{i}P{os.getpid()}.bench{flags}").write_bytes(data)
            else:
                asctime = (NOW - timedelta(days=1)).strftime("%a %b %d %H:%M:%S %Y")
                out.write(f"From MAILER-DAEMON {asctime}\n".encode() + data.replace(b"\nFrom ", b"\n>From ") + b"\n")
    return mbox, maildir


VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def write_calendar(path: Path, count: int, people: list[tuple[str, str, str]]) -> None:
    """`count` VEVENTs over the past ~400 days and the next 30: one in 100 a weekly series
    (with an EXDATE and a moved occurrence), rooms, declines, all-day and free events."""
    rng = random.Random(2)
    stamp = "DTSTAMP:20260101T000000Z"
    with open(path, "w", encoding="utf-8", newline="\r\n") as out:
        out.write("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//syncd bench//EN\n" + VTIMEZONE)
        for i in range(count):
            start = (NOW - timedelta(days=400) + timedelta(minutes=15 * rng.randrange(430 * 96))).astimezone(UTC)
            local = start.astimezone(timezone(timedelta(hours=1)))
            guests = [rng.choice(people) for _ in range(1 + rng.randrange(5))]
            lines = [
                "BEGIN:VEVENT",
                f"UID:bench-{i}@syncd.test",
                stamp,
                f"SUMMARY:Meeting {i} with {guests[0][0]}",
                f"ORGANIZER;CN=Me:mailto:{ME}",
                f"ATTENDEE;PARTSTAT=ACCEPTED;CN=Me:mailto:{ME}",
            ]
            for n, (name, address, _) in enumerate(guests):
                status = (
                    "DECLINED"
                    if n and rng.random() < 0.1
                    else rng.choice(["ACCEPTED", "ACCEPTED", "TENTATIVE", "NEEDS-ACTION"])
                )
                lines.append(f"ATTENDEE;CN={name};PARTSTAT={status};ROLE=REQ-PARTICIPANT:mailto:{address}")
            if rng.random() < 0.2:
                lines.append("ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED;CN=Room 4.01:mailto:room-401@resource.example.com")
            if i % 100 == 0:  # a weekly series with an exception and a cancelled date
                first = NOW - timedelta(days=300) + timedelta(hours=rng.randrange(24 * 60))
                first = first.replace(minute=0, second=0)
                lines += [
                    f"DTSTART;TZID=Europe/Berlin:{first:%Y%m%dT%H%M%S}",
                    f"DTEND;TZID=Europe/Berlin:{first + timedelta(minutes=30):%Y%m%dT%H%M%S}",
                    "RRULE:FREQ=WEEKLY;UNTIL=20261231T000000Z",
                    f"EXDATE;TZID=Europe/Berlin:{first + timedelta(weeks=3):%Y%m%dT%H%M%S}",
                    "END:VEVENT",
                    "BEGIN:VEVENT",
                    f"UID:bench-{i}@syncd.test",
                    stamp,
                    f"RECURRENCE-ID;TZID=Europe/Berlin:{first + timedelta(weeks=5):%Y%m%dT%H%M%S}",
                    f"DTSTART;TZID=Europe/Berlin:{first + timedelta(weeks=5, days=1):%Y%m%dT%H%M%S}",
                    f"DTEND;TZID=Europe/Berlin:{first + timedelta(weeks=5, days=1, minutes=30):%Y%m%dT%H%M%S}",
                    f"SUMMARY:Moved occurrence {i}",
                    f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{guests[0][1]}",
                ]
            elif i % 50 == 1:
                lines += [
                    f"DTSTART;VALUE=DATE:{local:%Y%m%d}",
                    f"DTEND;VALUE=DATE:{local + timedelta(days=1):%Y%m%d}",
                    "TRANSP:TRANSPARENT",
                ]
            elif i % 3 == 0:
                lines += [
                    f"DTSTART;TZID=Europe/Berlin:{local:%Y%m%dT%H%M%S}",
                    f"DTEND;TZID=Europe/Berlin:{local + timedelta(minutes=45):%Y%m%dT%H%M%S}",
                ]
            else:
                lines += [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DURATION:PT{rng.choice([15, 30, 60])}M"]
                if i % 40 == 2:
                    lines.append("STATUS:CANCELLED")
            lines.append("END:VEVENT")
            out.write("\n".join(lines) + "\n")
        out.write("END:VCALENDAR\n")


def write_world(folder: Path, messages: int, events: int, contacts: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    people = contact_people(contacts)
    write_contacts(folder / "contacts.toml", people)
    write_calendar(folder / "calendar.ics", events, people)
    mbox, maildir = write_mail(folder / f"mail-{messages}", messages, people)
    config = folder / f"config-{messages}.toml"
    config.write_text(
        f"""
[user]
emails = ["{ME}"]
timezone = "Europe/Berlin"
[store]
path = "{folder / f"store-{messages}.db"}"
[contacts]
files = ["{folder / "contacts.toml"}"]
[sources.ics]
paths = ["{folder / "calendar.ics"}"]
[sources.mail]
mbox = ["{mbox}"]
maildir = ["{maildir}"]
""",
        encoding="utf-8",
    )
    return {"config": config, "mbox": mbox, "maildir": maildir}


# --- the measured run (in a fresh process) --------------------------------------------------


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class TimedSource:
    """The real source; the time spent producing its batches (reading, parsing) is summed."""

    def __init__(self, inner, clock: dict[str, float], counts: dict[str, int], profiler: cProfile.Profile | None):
        self.inner, self.clock, self.counts, self.profiler = inner, clock, counts, profiler
        self.name, self.kind = inner.name, inner.kind

    def sync(self, cursor, context):
        generator = self.inner.sync(cursor, context)
        key = f"parse:{self.kind}"
        while True:
            started = time.perf_counter()
            if self.profiler:
                self.profiler.enable()
            try:
                batch = next(generator)
            except StopIteration:
                return
            finally:
                if self.profiler:
                    self.profiler.disable()
                elapsed = time.perf_counter() - started
                self.clock["parse"] += elapsed
                self.clock[key] = self.clock.get(key, 0.0) + elapsed
            self.counts[self.kind] = self.counts.get(self.kind, 0) + len(batch.upserts)
            yield batch


def run_child(config_path: Path, profile: bool, baseline: bool) -> dict:
    from syncd.app import App
    from syncd.config import load_config
    from syncd.engine import run_cycle

    logging.basicConfig(level=logging.ERROR)
    rss_imports = rss_mb()
    config = load_config(config_path, explicit=True)
    app = App(config, NOW)
    store = app.store
    clock = {"parse": 0.0, "store": 0.0, "store_cpu": 0.0}
    counts: dict[str, int] = {}
    order: list[tuple[str, list[str], int]] = []  # (source, item ids in write order, batch) for the raw replay
    apply_batch = store.apply_batch

    profilers = {"parse": cProfile.Profile(), "store": cProfile.Profile()} if profile else {}

    def timed_apply(source, batch, rules, **options):
        started, cpu = time.perf_counter(), time.thread_time()
        if profile:
            profilers["store"].enable()
        written = apply_batch(source, batch, rules, **options)
        if profile:
            profilers["store"].disable()
        clock["store"] += time.perf_counter() - started
        clock["store_cpu"] += time.thread_time() - cpu
        if baseline:
            order.append((source, [record.item_id for record in batch.upserts], len(order)))
        return written

    store.apply_batch = timed_apply
    sources = [TimedSource(source, clock, counts, profilers.get("parse")) for source in app.sources]
    started = time.perf_counter()
    result = run_cycle(config, store, sources, NOW)
    total = time.perf_counter() - started
    failed = [f"{outcome.name}: {outcome.error}" for outcome in result.failed]
    started = time.perf_counter()
    cold = app.cold()
    cold_seconds = time.perf_counter() - started
    report = {
        "rss_imports_mb": rss_imports,
        "rss_peak_mb": rss_mb(),
        "total_s": total,
        "parse_s": clock["parse"],
        "store_s": clock["store"],
        "store_cpu_s": clock["store_cpu"],
        "records": counts,
        "rows": store.interaction_count(),
        "touch_rows": store.connection.execute("SELECT COUNT(*) FROM touches").fetchone()[0],
        "batches": len(order),
        "cold_s": cold_seconds,
        "cold_count": len(cold),
        "contacts": store.connection.execute("SELECT COUNT(*) FROM contacts").fetchone()[0],
        "failed": failed,
        "sqlite": sqlite3.sqlite_version,
        "parse_by_kind": {k[6:]: v for k, v in clock.items() if k.startswith("parse:")},
    }
    if profile:
        text = io.StringIO()
        for part, profiler in profilers.items():
            text.write(f"\n=== {part}: by own time ===\n")
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
            text.write(f"\n=== {part}: by cumulative time ===\n")
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(18)
        report["profile"] = text.getvalue()
    if baseline:
        report.update(raw_executemany(store, order, config_path.parent / "raw-baseline.db"))
    app.close()
    return report


def raw_executemany(store, order, path: Path) -> dict:
    """The same rows, same columns, same schema and PRAGMAs (a fresh Store file), same
    transactions (one per batch, in the order the store wrote them), with nothing but
    `executemany` — the floor any store write path can be compared with."""
    from syncd.store import Store

    interactions = {
        (row[0], row[1]): row
        for row in store.connection.execute(
            "SELECT source, item_id, kind, at, end_at, scope, generation, payload FROM interactions"
        )
    }
    touches: dict[tuple[str, str], list[tuple]] = {}
    for row in store.connection.execute("SELECT address, at, source, item_id, kind FROM touches"):
        touches.setdefault((row[2], row[3]), []).append(row)
    batches = []
    for source, ids, _ in order:
        keys = [(source, item_id) for item_id in dict.fromkeys(ids) if (source, item_id) in interactions]
        batches.append(([interactions[key] for key in keys], [row for key in keys for row in touches.get(key, [])]))
    best = best_cpu = float("inf")
    for _ in range(RAW_REPEATS):  # best of a few: the floor should not be inflated by a noisy neighbour
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raw = Store.open(path)
        connection = raw.connection
        started, cpu = time.perf_counter(), time.thread_time()
        for rows, touch_rows in batches:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            connection.executemany("INSERT INTO touches VALUES (?, ?, ?, ?, ?)", touch_rows)
            connection.execute("COMMIT")
        best, best_cpu = min(best, time.perf_counter() - started), min(best_cpu, time.thread_time() - cpu)
        written = connection.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        raw.close()
    return {
        "raw_s": best,
        "raw_cpu_s": best_cpu,
        "raw_rows": written,
        "raw_touch_rows": sum(len(t) for _, t in batches),
    }


def child(config: Path, profile: bool, baseline: bool) -> dict:
    command = (
        [sys.executable, __file__, "--child", str(config)]
        + (["--profile"] if profile else [])
        + (["--baseline"] if baseline else [])
    )
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"the measured run failed ({completed.returncode})")
    return json.loads(completed.stdout)


# --- the driver ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--profile", action="store_true", help="cProfile the big ingest and print the top functions")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.profile, args.baseline)))
        return 0

    holder = None
    if args.keep:
        folder = args.keep.resolve()
        folder.mkdir(parents=True, exist_ok=False)
    else:
        holder = tempfile.TemporaryDirectory(prefix="syncd-bench-")
        folder = Path(holder.name)
    try:
        started = time.perf_counter()
        big = write_world(folder, args.messages, args.events, args.contacts)
        small_count = min(SMALL, args.messages)
        small = (
            write_world(folder / "small", small_count, args.events, args.contacts)
            if small_count != args.messages
            else big
        )
        generated = time.perf_counter() - started
        mbox_mb = big["mbox"].stat().st_size / 2**20
        maildir_files = len(os.listdir(big["maildir"] / "new")) + len(os.listdir(big["maildir"] / "cur"))
        print(
            f"generated {args.messages:,} messages ({mbox_mb:.0f} MB mbox + {maildir_files:,}"
            f" Maildir files), {args.events:,} events, {args.contacts:,} contacts in {generated:.0f} s",
            flush=True,
        )
        main_run = child(big["config"], args.profile, baseline=True)
        small_run = child(small["config"], False, baseline=False) if small is not big else main_run
    finally:
        if holder:
            holder.cleanup()
    print_table(args, main_run, small_run, small_count)
    if main_run["failed"] or small_run["failed"]:
        return 1  # figures of a run whose sources failed measure nothing
    if args.json:
        print(
            json.dumps(
                {
                    "big": {k: v for k, v in main_run.items() if k != "profile"},
                    "small": {k: v for k, v in small_run.items() if k != "profile"},
                },
                indent=2,
            )
        )
    if args.profile:
        print("\n--- cProfile of the big ingest: the sources (parse) and Store.apply_batch (store) apart ---")
        print(main_run["profile"])
    return 0


def print_table(args, big: dict, small: dict, small_count: int) -> None:
    records = sum(big["records"].values())
    store_rate = big["rows"] / big["store_s"] if big["store_s"] else float("inf")
    raw_rate = big["raw_rows"] / big["raw_s"] if big["raw_s"] else float("inf")
    ratio = big["store_s"] / big["raw_s"] if big["raw_s"] else float("inf")
    flat = small["rss_peak_mb"] and big["rss_peak_mb"] <= max(small["rss_peak_mb"] * 1.25, small["rss_peak_mb"] + 15)
    rss_ok = flat and big["rss_peak_mb"] <= RSS_LIMIT_MB and small["rss_peak_mb"] <= RSS_LIMIT_MB
    mark = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    print(
        f"\nsyncd ingest — {args.messages:,} messages, {args.events:,} events, {args.contacts:,} contacts"
        f"  (Python {sys.version.split()[0]}, SQLite {big['sqlite']})"
    )
    if big["failed"]:
        print("  FAILED SOURCES: " + "; ".join(big["failed"]))
    print(
        "  records read: "
        + ", ".join(f"{kind} {count:,}" for kind, count in sorted(big["records"].items()))
        + f"; stored {big['rows']:,} interactions + {big['touch_rows']:,} touches in {big['batches']} batches"
    )
    width = 44
    print(f"  {'':{width}} {'rows':>9} {'seconds':>8} {'rows/s':>9}")
    print(
        f"  {'parse (files → records, in the sources)':{width}} {records:>9,} {big['parse_s']:>8.2f}"
        f" {records / big['parse_s']:>9,.0f}"
    )
    for kind, seconds in sorted(big["parse_by_kind"].items()):
        count = big["records"].get(kind, 0)
        print(
            f"  {'  of which ' + kind:{width}} {count:>9,} {seconds:>8.2f} {count / seconds if seconds else 0:>9,.0f}"
        )
    print(f"  {'store (Store.apply_batch)':{width}} {big['rows']:>9,} {big['store_s']:>8.2f} {store_rate:>9,.0f}")
    print(
        f"  {'raw SQLite executemany, same rows':{width}} {big['raw_rows']:>9,} {big['raw_s']:>8.2f} {raw_rate:>9,.0f}"
    )
    cpu_ratio = big["store_cpu_s"] / big["raw_cpu_s"] if big["raw_cpu_s"] else float("inf")
    print(f"  {'store ÷ raw, wall time (target ≤ 2×)':{width}} {ratio:>27.2f}×  {mark(ratio <= RATIO_TARGET)}")
    print(
        f"  {'store ÷ raw, CPU time':{width}} {cpu_ratio:>27.2f}×"
        f"  ({big['store_cpu_s']:.2f} s ÷ {big['raw_cpu_s']:.2f} s)"
    )
    print(f"  {'whole run_cycle (+ contacts, rules)':{width}} {'':>9} {big['total_s']:>8.2f}")
    cold_label = f"cold list (App.cold), {big['contacts']:,} contacts, {big['cold_count']:,} cold"
    print(f"  {cold_label:{width}} {'':>9} {big['cold_s']:>8.3f}")
    print(
        f"  {'peak RSS, ingest of ' + format(small_count, ',') + ' messages':{width}} {small['rss_peak_mb']:>21.0f} MB"
        f"  (after imports {small['rss_imports_mb']:.0f} MB)"
    )
    print(
        f"  {'peak RSS, ingest of ' + format(args.messages, ',') + ' messages':{width}} {big['rss_peak_mb']:>21.0f} MB"
        f"  (after imports {big['rss_imports_mb']:.0f} MB)"
    )
    print(f"  {'RSS flat and ≤ 150 MB':{width}} {'':>27}  {mark(rss_ok)}")


if __name__ == "__main__":
    sys.exit(main())
