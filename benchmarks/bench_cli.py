"""How fast the read-only commands answer: `status`, `cold`, `contacts list`, `holds` against `syncd --version`.

`--version` is the floor of any syncd command (the interpreter, the CLI's imports, argparse).
The store holds C contacts and N interactions (mail to and from them, written through the
real engine and store from generated records, so every touch row exists); each command runs
as a user runs it, a fresh process with its bytecode cached and its output into a pipe,
interleaved round by round, and the medians are compared: wall time (the goal) and CPU time
(user + system of the process, steadier when others share the cores). "paired" is the median
of each round's own ratio (a command against the `--version` run just before it), which a
load that comes and goes between rounds moves less than a ratio of two medians.

    .venv/bin/python benchmarks/bench_cli.py [--contacts 5000] [--interactions 100000] [--rounds 9] [--keep DIR]

`--keep DIR` builds the store in DIR (or reuses the one a previous `--keep DIR` left there) and
leaves it, so a profiler can run the commands against the same world.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import ME, NOW, contact_people, write_contacts  # noqa: E402

RATIO_TARGET = 1.5
COMMANDS = [["status"], ["cold"], ["contacts", "list"], ["holds"]]


class GeneratedMail:
    """A source that yields generated messages to and from the contacts (and strangers), as an mbox would."""

    kind = "mbox"

    def __init__(self, name: str, people: list[tuple[str, str, str]], count: int):
        self.name, self.people, self.count = name, people, count

    def sync(self, cursor: dict[str, Any] | None, context: Any) -> Iterator[Any]:
        from syncd.records import Batch, Message

        rng = random.Random(3)
        batch: list[Message] = []
        for number in range(self.count):
            person = rng.choice(self.people)[1].lower() if rng.random() < 0.8 else f"stranger{number}@example.net"
            sent = rng.random() < 0.4
            batch.append(
                Message(
                    item_id=f"{number}@bench",
                    date=NOW - timedelta(seconds=rng.randrange(360 * 86400)),
                    sender=(ME,) if sent else (person,),
                    to=(person,) if sent else (ME,),
                    bulk=rng.random() < 0.1,
                    subject=f"message {number}",
                )
            )
            if len(batch) == 5000:
                yield Batch(upserts=batch, cursor=None, scope="", generation="bench")
                batch = []
        yield Batch(upserts=batch, cursor={"bench": True}, scope="", generation="bench", prune=True)


def build(folder: Path, contacts: int, interactions: int) -> Path:
    from syncd.app import App
    from syncd.config import load_config
    from syncd.engine import import_contact_files, sync_source
    from syncd.rules import touch_rules

    people = contact_people(contacts)
    write_contacts(folder / "contacts.toml", people)
    (folder / "archive.mbox").write_bytes(b"")
    config_path = folder / "config.toml"
    config_path.write_text(
        f'[user]\nemails = ["{ME}"]\ntimezone = "Europe/Berlin"\n[store]\npath = "{folder / "store.db"}"\n'
        f'[contacts]\nfiles = ["{folder / "contacts.toml"}"]\n[sources.mail]\nmbox = ["{folder / "archive.mbox"}"]\n'
        f'[holds]\nsink = "ics:{folder / "holds.ics"}"\n',
        encoding="utf-8",
    )
    config = load_config(config_path, explicit=True)
    app = App(config, NOW)
    import_contact_files(config, app.store, NOW)
    source = GeneratedMail(app.sources[0].name, people, interactions)
    outcome = sync_source(source, app.store, config, touch_rules(config, app.store), NOW)
    if not outcome.ok:
        raise SystemExit(f"building the store failed: {outcome.error}")
    rows = app.store.interaction_count()
    app.close()
    print(f"store: {contacts:,} contacts, {rows:,} interactions", flush=True)
    return config_path


def run_environment(folder: Path) -> dict[str, str]:
    """As installed syncd runs: bytecode cached (here under `folder`, whatever PYTHONDONTWRITEBYTECODE says)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(folder / "pycache")}


def timed(arguments: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run; the CPU time (user + system of the child) is steadier
    than the wall time when other work shares the machine's cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "syncd", *arguments], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):  # status exits 1 while a problem is listed
        raise SystemExit(f"syncd {' '.join(arguments)} failed ({completed.returncode}): {completed.stderr[-400:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the store in DIR (or reuse it) and keep it")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep:
            folder = args.keep.resolve()
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="syncd-bench-cli-")))
        env = run_environment(folder)
        if (folder / "config.toml").exists() and (folder / "store.db").exists():
            config = folder / "config.toml"
            print(f"store: reusing {folder}", flush=True)
        else:
            config = build(folder, args.contacts, args.interactions)
        common = ["--config", str(config), "--now", NOW.isoformat()]
        runs: dict[str, list[tuple[float, float]]] = {"--version": []}
        timed(common + ["status"], env)  # warm the page cache and write the bytecode
        for _ in range(args.rounds):
            runs["--version"].append(timed(["--version"], env))
            for command in COMMANDS:
                runs.setdefault(" ".join(command), []).append(timed(common + command, env))
    floor = statistics.median(wall for wall, _ in runs["--version"])
    cpu_floor = statistics.median(cpu for _, cpu in runs["--version"])
    load = os.getloadavg()[0]
    print(f"\nsyncd read-only commands vs `syncd --version` — medians of {args.rounds} rounds, load {load:.1f}")
    print(f"  {'':16} {'wall':>7}  {'ratio':>5}   {'cpu':>7}  {'ratio':>5}  {'paired':>6}")
    print(f"  {'--version':16} {floor:6.3f} s         {cpu_floor:6.3f} s")
    ok = True
    for command in COMMANDS:
        label = " ".join(command)
        median = statistics.median(wall for wall, _ in runs[label])
        cpu = statistics.median(cpu for _, cpu in runs[label])
        ratio = median / floor
        paired = statistics.median(
            wall / version for (wall, _), (version, _) in zip(runs[label], runs["--version"], strict=True)
        )
        ok &= ratio <= RATIO_TARGET or label == "holds"
        target = f"(target ≤ {RATIO_TARGET}×) {'ok' if ratio <= RATIO_TARGET else 'MISSED'}" if label != "holds" else ""
        times = f"{median:6.3f} s  {ratio:4.2f}×   {cpu:6.3f} s  {cpu / cpu_floor:4.2f}×  {paired:5.2f}×"
        print(f"  {label:16} {times}  {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
