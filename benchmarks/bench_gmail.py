"""Gmail first sync at the per-user quota ceiling, against the fake Google server.

Seeds N messages inside the look-back (plus some older ones the sync must stop
before), runs syncd's real Gmail source through the real engine and store with the real
google-api-python-client, and prints:

  * achieved messages/s as a % of the quota ceiling (units/s ÷ 5, messages.get = 5),
  * quota units per stored message, 429s,
  * API calls of a no-change sync per source (Gmail and Calendar).

The fake's quota is scaled (default 2500 units/s, ten times Google's 250) so 20,000
messages take about 40 s. The fake runs in its own process, as Google would: in the
benchmark's process its CPU (it parses every batch with the `email` package) would
share one GIL with the client and measure the fake, not syncd. Targets: ≥ 90 % of the ceiling, ≤ 5.1 units/message,
no-change sync = 1 call per source.

    .venv/bin/python benchmarks/bench_gmail.py [--messages 20000] [--units 2500]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timedelta, UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syncd.config import parse_config  # noqa: E402
from syncd.engine import sync_source, touch_rules  # noqa: E402
from syncd.sources.google import google_sources  # noqa: E402
from syncd.store import Store  # noqa: E402
from tests.fakegoogle import FakeGoogle  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)


def seed(fake: FakeGoogle, count: int, older: int) -> None:
    people = [f"person{i}@example.com" for i in range(400)]
    span = timedelta(days=360)
    for i in range(count):
        when = NOW - span * (i + 1) / (count + 1)
        person = people[i % len(people)]
        if i % 3 == 0:
            headers = {"From": "Me <me@example.com>", "To": person}
            labels = ("SENT",)
        elif i % 7 == 0:
            headers = {
                "From": f"News <news{i % 5}@lists.example.org>",
                "To": "me@example.com",
                "List-Id": "<news.lists.example.org>",
                "List-Unsubscribe": "<mailto:u@example.org>",
            }
            labels = ("INBOX", "CATEGORY_UPDATES")
        else:
            headers = {"From": f"Someone <{person}>", "To": "me@example.com", "Cc": people[(i + 1) % len(people)]}
            labels = ("INBOX",)
        fake.gmail_add_message(headers, when, labels)
    for i in range(older):
        fake.gmail_add_message(
            {"From": people[i % len(people)], "To": "me@example.com"}, NOW - timedelta(days=370 + i * 0.1), ("INBOX",)
        )


def serve(connection, units: float, messages: int, older: int) -> None:
    """The fake Google in a child process, driven over a pipe."""
    # The test suite checks the fake's answers against the discovery documents; here
    # that check would only slow the fake and blur the pace being measured.
    with FakeGoogle(quota_units_per_second=units, check_schema=False) as fake:
        seed(fake, messages, older)
        connection.send((fake.root, fake.authorized_user_info()))
        while True:
            command = connection.recv()
            if command == "stop":
                break
            if command == "reset":
                fake.set_quota(units)  # a full bucket at the start, as a user who was idle has
                fake.reset_counters()
                connection.send(None)
            elif command == "counters":
                connection.send({"calls": dict(fake.calls), "units": fake.units_used, "count_429": fake.count_429})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--older", type=int, default=2000, help="messages older than the look-back")
    parser.add_argument("--units", type=float, default=2500, help="fake per-user quota, units/s (Google: 250)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=serve, args=(theirs, args.units, args.messages, args.older), daemon=True)
    t0 = time.monotonic()
    server.start()
    root, info = ours.recv()
    seeded = time.monotonic() - t0

    def fake(command: str):
        ours.send(command)
        return ours.recv()

    with tempfile.TemporaryDirectory() as folder:
        token = Path(folder) / "token.json"
        token.write_text(json.dumps(info))
        token.chmod(0o600)
        config = parse_config(
            f'[user]\nemails = ["me@example.com"]\ntimezone = "UTC"\n'
            f'[sources.google]\nenabled = true\napi_endpoint = "{root}"\ntoken_file = "{token}"\n',
            None,
        )
        store = Store.open(Path(folder) / "syncd.db")
        sources = google_sources(config)
        gmail = next(source for source in sources if source.kind == "gmail")
        calendar = next(source for source in sources if source.kind == "google_calendar")

        # The token refresh happens outside the timed sync (it is not quota-charged anyway).
        gmail.session.ensure_token("gmail")
        fake("reset")
        started = time.monotonic()
        outcome = sync_source(gmail, store, config, touch_rules(config, store), NOW)
        elapsed = time.monotonic() - started
        if not outcome.ok:
            print(f"first sync failed: {outcome.error}", file=sys.stderr)
            fake("stop")
            return 1
        stored = store.connection.execute(
            "SELECT COUNT(*) FROM interactions WHERE source = ?", (gmail.name,)
        ).fetchone()[0]
        counters = fake("counters")
        units = counters["units"]
        calls_first = counters["calls"]
        count_429 = counters["count_429"]
        ceiling = args.units / 5
        rate = stored / elapsed

        assert sync_source(calendar, store, config, touch_rules(config, store), NOW).ok
        fake("reset")
        for source in (gmail, calendar):
            assert sync_source(source, store, config, touch_rules(config, store), NOW).ok
        no_change = {name: count for name, count in fake("counters")["calls"].items() if name != "oauth.token"}
        ours.send("stop")
        server.join(timeout=10)
        no_change_gmail = sum(count for name, count in no_change.items() if name.startswith("gmail."))
        no_change_calendar = sum(count for name, count in no_change.items() if name.startswith("calendar."))

        result = {
            "messages_seeded_in_lookback": args.messages,
            "messages_seeded_older": args.older,
            "messages_stored": stored,
            "seconds": round(elapsed, 2),
            "messages_per_second": round(rate, 1),
            "ceiling_messages_per_second": ceiling,
            "percent_of_ceiling": round(100 * rate / ceiling, 1),
            "units": units,
            "units_per_message": round(units / max(stored, 1), 3),
            "count_429": count_429,
            "calls_first_sync": calls_first,
            "no_change_calls": {"gmail": no_change_gmail, "google_calendar": no_change_calendar},
            "fetcher": gmail.stats,
            "seed_seconds": round(seeded, 1),
        }
        store.close()
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(f"Gmail first sync: {stored} messages in {elapsed:.1f} s = {rate:.0f} messages/s")
        print(
            f"  quota ceiling {args.units:.0f} units/s ÷ 5 = {ceiling:.0f} messages/s"
            f" → {100 * rate / ceiling:.1f} % of the ceiling"
        )
        print(f"  quota units per message: {units / max(stored, 1):.3f} ({units} units)")
        print(f"  429s: {count_429}")
        print(f"  calls: {calls_first}")
        print(
            f"no-change sync: gmail {no_change_gmail} call(s),"
            f" google_calendar {no_change_calendar} call(s) — {no_change}"
        )
    ok = rate / ceiling >= 0.9 and units / max(stored, 1) <= 5.1 and no_change_gmail == 1 and no_change_calendar == 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
