"""`syncd report --html` against `syncd cold` on one store of 5,000 contacts and 100,000 interactions.

Builds (in a temporary folder) a real store through the real write path: the contacts
through `import_entries`, the interactions as meetings and messages through
`Store.apply_batch` (so touches are derived by the touch rules), spread over the year
before `now`, 60 % with contacts and the rest with people who are not; and a few hundred
holds, booked and gone by. Then runs, each as its own `python -m syncd` process and
alternating so both see the same machine, `syncd cold` and `syncd report --html`
(best of N wall times each), plus `report --json` and `contacts suggest --json` for the
record.

Targets: report --html ≤ 2 × cold; the page < 2 MB.

    .venv/bin/python benchmarks/bench_report.py [--contacts 5000] [--interactions 100000] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd import holds_store  # noqa: E402
from syncd.contacts import import_entries, list_contacts  # noqa: E402
from syncd.lifecycle import BOOKED, PAST, StoredHold  # noqa: E402
from syncd.models import ContactEntry  # noqa: E402
from syncd.records import Attendee, Batch, Meeting, Message  # noqa: E402
from syncd.store import Store  # noqa: E402
from syncd.touches import TouchRules  # noqa: E402

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ME = "me@example.com"
RATIO_TARGET = 2.0
PAGE_LIMIT = 2_000_000
BATCH = 5000
TIERS = ("meaningful", "intimate", "familiar", "unfamiliar")
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Zoë", "Søren", "José"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman", "Müller"]

CONFIG = """[user]
emails = ["{me}"]
timezone = "Europe/Berlin"
[store]
path = "{store}"
[holds]
sink = "ics:{holds}"
per_week = 2
"""


def build(folder: Path, contacts: int, interactions: int) -> Path:
    """The store and its config; returns the config path."""
    rng = random.Random(7)
    store_path = folder / "syncd.db"
    config = folder / "config.toml"
    config.write_text(CONFIG.format(me=ME, store=store_path, holds=folder / "holds.ics"), encoding="utf-8")
    people = [f"p{index}.{rng.choice(LAST).lower()}@example.org" for index in range(contacts)]
    strangers = [f"s{index}@elsewhere.test" for index in range(contacts * 2)]
    store = Store.open(store_path)
    entries = [
        ContactEntry(
            origin=f"bench:{index}",
            emails=[address],
            written_emails=[address],
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {index}",
            tier=TIERS[index % len(TIERS)],
            ignore=index % 97 == 0,
        )
        for index, address in enumerate(people)
    ]
    import_entries(store, entries, NOW)
    contact_ids = [contact.id for contact in list_contacts(store)]
    rules = TouchRules(own_addresses=frozenset({ME}))
    records: list[Meeting | Message] = []
    for index in range(interactions):
        when = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        others = [rng.choice(people) if rng.random() < 0.6 else rng.choice(strangers) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            attendees = tuple(Attendee(address, "accepted") for address in [ME, *others])
            records.append(Meeting(f"m{index}", when, when + timedelta(minutes=45), attendees, ME, title="Sync"))
        elif rng.random() < 0.5:
            records.append(Message(f"e{index}", when, (ME,), tuple(others), subject="Hello"))
        else:
            records.append(Message(f"e{index}", when, (others[0],), (ME,), subject="Re: Hello"))
        if len(records) == BATCH:
            store.apply_batch("bench", Batch(records, cursor={"at": index}), rules)
            records = []
    if records:
        store.apply_batch("bench", Batch(records, cursor={"at": interactions}), rules)
    with store.transaction():
        for index in range(300):
            start = NOW + timedelta(days=rng.randint(-80, 14), hours=rng.randint(0, 8))
            state = BOOKED if start > NOW else PAST
            end = start + timedelta(minutes=30)
            hold = StoredHold(f"h{index}", rng.choice(contact_ids), "ics", start, end, None, state)
            holds_store.insert(store, hold, NOW)
    store.close()
    return config


def timed(config: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """One `python -m syncd` process: (wall seconds, CPU seconds of the child, its result)."""
    command = [sys.executable, "-m", "syncd", "--config", str(config), "--now", NOW.isoformat(), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({completed.returncode}): {completed.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, completed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the store in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncd-bench-report-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        config = build(folder, args.contacts, args.interactions)
        print(
            f"syncd report — {args.contacts:,} contacts, {args.interactions:,} interactions "
            f"(store built in {time.perf_counter() - started:.1f} s)"
        )
        page = folder / "report.html"
        cold: list[tuple[float, float]] = []
        html: list[tuple[float, float]] = []
        for _ in range(args.repeats):  # alternating, so a busy moment on the machine hits both
            cold.append(timed(config, "cold")[:2])
            html.append(timed(config, "report", "--html", str(page))[:2])
        cold_count = timed(config, "cold", "--json")[2].stdout.count('"id"')
        wall = min(item[0] for item in html) / min(item[0] for item in cold)
        cpu = min(item[1] for item in html) / min(item[1] for item in cold)
        size = page.stat().st_size
        best = f"best of {args.repeats}"
        _line(f"syncd cold ({cold_count:,} cold), {best}", f"{min(c[0] for c in cold):6.2f} s wall")
        _line(f"syncd report --html, {best}", f"{min(h[0] for h in html):6.2f} s wall")
        _line(f"report --html ÷ cold, wall (target ≤ {RATIO_TARGET:.0f}×)", f"{wall:6.2f}×  {_verdict(wall)}")
        _line("report --html ÷ cold, CPU", f"{cpu:6.2f}×")
        _line("page size (target < 2 MB)", f"{size / 1e6:6.2f} MB  {'ok' if size < PAGE_LIMIT else 'MISSED'}")
        _line("syncd report --json", f"{timed(config, 'report', '--json')[0]:6.2f} s wall")
        _line("syncd contacts suggest --json", f"{timed(config, 'contacts', 'suggest', '--json')[0]:6.2f} s wall")
        return 0  # a missed target is printed, not an error: `make bench` runs every benchmark


def _line(label: str, value: str) -> None:
    print(f"  {label:<52}{value}")


def _verdict(ratio: float) -> str:
    return "ok" if ratio <= RATIO_TARGET else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
