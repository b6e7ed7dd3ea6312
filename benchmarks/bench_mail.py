"""Mail ingest against the stdlib floor: `syncd sync --no-holds` vs a bare script doing the same per-message work.

The floor is what any Python mail reader must do at least: find the messages (mbox: one
`find` over an mmap; Maildir: list and open the files), parse each header block with the
stdlib `BytesHeaderParser`, the From/To/Cc addresses with `getaddresses` and the Date with
`parsedate_to_datetime` — no store, no records. syncd runs as a user would run it, a fresh
`syncd sync --no-holds` into a new store, imports and SQLite included. Both run in fresh
processes, interleaved round by round, and the medians are compared.

Worlds (generated once in a temporary folder): 20,000 messages with realistic headers and
2–20 KB bodies as an mbox and as a Maildir, 2,000 contacts; and the same messages as two
more mboxes with every body 2 KB and every body 20 KB, to show whether the mbox cost grows
with body size.

    .venv/bin/python benchmarks/bench_mail.py [--messages 20000] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import ME, NOW, contact_people, message, write_contacts  # noqa: E402

RATIO_TARGET = 1.5
BODY_RATIO_TARGET = 1.3

FLOOR = r"""
import mmap, os, sys
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

parser, count = BytesHeaderParser(policy=compat32), 0
def work(block):
    global count
    headers = parser.parsebytes(block)
    getaddresses(headers.get_all("From", []) + headers.get_all("To", []) + headers.get_all("Cc", []))
    parsedate_to_datetime(headers.get("Date")) if headers.get("Date") else None
    count += 1
kind, path = sys.argv[1], sys.argv[2]
if kind == "mbox":
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(b"From ")
        while start != -1:
            end = data.find(b"\n\n", start)
            work(data[data.find(b"\n", start) + 1 : end + 1])
            start = data.find(b"\nFrom ", end)
            start = start + 1 if start != -1 else -1
else:
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(path, sub)):
            with open(os.path.join(path, sub, name), "rb") as handle:
                head = handle.read(65536)
                work(head[: head.find(b"\n\n") + 1])
print(count)
"""


def body_of(size: int, rng: random.Random) -> bytes:
    line = b"This is the body of the message; syncd must never read it. From here on, text.\n"
    return b"Hello,\n\n" + line * max(size // len(line), 1) + b"\n-- \nSent from my laptop\n"


def write_world(folder: Path, count: int, contacts: int) -> dict[str, Path]:
    """One set of messages as four mailboxes: mbox and Maildir with 2–20 KB bodies, mboxes with 2 and 20 KB."""
    people = contact_people(contacts)
    write_contacts(folder / "contacts.toml", people)
    rng = random.Random(count)
    paths = {name: folder / f"{name}.mbox" for name in ("mixed", "small", "large")}
    maildir = folder / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    asctime = (NOW - timedelta(days=1)).strftime("%a %b %d %H:%M:%S %Y")
    with contextlib.ExitStack() as stack:
        handles = {name: stack.enter_context(open(path, "wb", buffering=1 << 20)) for name, path in paths.items()}
        for i in range(count):
            headers = message(i, people, rng).split(b"\n\n", 1)[0].replace(b"multipart/mixed", b"text/plain")
            for name, size in (("mixed", rng.randrange(2048, 20480)), ("small", 2048), ("large", 20480)):
                data = headers + b"\n\n" + body_of(size, rng)
                handles[name].write(f"From MAILER-DAEMON {asctime}\n".encode() + data + b"\n")
                if name == "mixed":
                    (
                        maildir / ("cur" if i % 2 else "new") / f"{1780000000 + i}.M{i}.bench{':2,S' if i % 2 else ''}"
                    ).write_bytes(data)
    return {**paths, "maildir": maildir, "contacts": folder / "contacts.toml"}


def config_for(folder: Path, world: dict[str, Path], key: str, store: Path) -> Path:
    mail = f'maildir = ["{world["maildir"]}"]' if key == "maildir" else f'mbox = ["{world[key]}"]'
    path = folder / f"config-{key}.toml"
    path.write_text(
        f'[user]\nemails = ["{ME}"]\ntimezone = "Europe/Berlin"\n[store]\npath = "{store}"\n'
        f'[contacts]\nfiles = ["{world["contacts"]}"]\n[sources.mail]\n{mail}\n',
        encoding="utf-8",
    )
    return path


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}): {completed.stderr.strip()[-500:]}")
    return elapsed


def syncd_run(folder: Path, world: dict[str, Path], key: str, env: dict[str, str]) -> float:
    store = folder / f"store-{key}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    config = config_for(folder, world, key, store)
    command = [sys.executable, "-m", "syncd", "--config", str(config), "--now", NOW.isoformat(), "sync", "--no-holds"]
    return timed(command, env)


def profile(folder: Path, world: dict[str, Path], key: str) -> None:
    """cProfile of one in-process sync of `key`, top functions by own time."""
    from syncd.app import App
    from syncd.config import load_config

    store = folder / f"store-profile-{key}.db"
    app = App(load_config(config_for(folder, world, key, store), explicit=True), NOW)
    profiler = cProfile.Profile()
    profiler.enable()
    app.sync_sources()
    profiler.disable()
    app.close()
    print(f"\n=== cProfile, syncd sync of {key} ===")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(22)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also cProfile one in-process sync of each mailbox")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="syncd-bench-mail-") as name:
        folder = Path(name)
        # As installed code runs: bytecode cached (under the temporary folder) for syncd and the floor alike.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(root), PYTHONPYCACHEPREFIX=str(folder / "pycache"))
        started = time.perf_counter()
        world = write_world(folder, args.messages, args.contacts)
        sizes = {key: world[key].stat().st_size / 2**20 for key in ("mixed", "small", "large")}
        print(
            f"generated {args.messages:,} messages: mboxes of {sizes['mixed']:.0f} MB (2–20 KB bodies), "
            f"{sizes['small']:.0f} MB (2 KB), {sizes['large']:.0f} MB (20 KB), and a Maildir, "
            f"{args.contacts:,} contacts, in {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        runs: dict[str, list[float]] = {}
        floor_script = folder / "floor.py"
        floor_script.write_text(FLOOR, encoding="utf-8")
        for round_number in range(args.rounds):
            for key, kind in (("mixed", "mbox"), ("maildir", "maildir")):
                path = world[key]
                runs.setdefault(f"floor {key}", []).append(
                    timed([sys.executable, str(floor_script), kind, str(path)], env)
                )
                runs.setdefault(f"syncd {key}", []).append(syncd_run(folder, world, key, env))
            for key in ("small", "large"):
                runs.setdefault(f"syncd {key}", []).append(syncd_run(folder, world, key, env))
            print(
                f"  round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()), flush=True
            )
        if args.profile:
            for key in ("mixed", "maildir"):
                profile(folder, world, key)
    median = {key: statistics.median(values) for key, values in runs.items()}
    load = os.getloadavg()[0]
    print(f"\nsyncd mail ingest vs the stdlib floor — medians of {args.rounds} interleaved rounds, load {load:.1f}")
    ok = True
    for key, label in (("mixed", "mbox"), ("maildir", "Maildir")):
        ratio = median[f"syncd {key}"] / median[f"floor {key}"]
        ok &= ratio <= RATIO_TARGET
        print(
            f"  {label:8} floor {median[f'floor {key}']:6.2f} s   syncd {median[f'syncd {key}']:6.2f} s   "
            f"{ratio:.2f}× (target ≤ {RATIO_TARGET}×) {'ok' if ratio <= RATIO_TARGET else 'MISSED'}"
        )
    growth = median["syncd large"] / median["syncd small"]
    ok &= growth <= BODY_RATIO_TARGET
    print(
        f"  mbox, 20 KB vs 2 KB bodies: {median['syncd large']:.2f} s vs {median['syncd small']:.2f} s = {growth:.2f}× "
        f"(target ≤ {BODY_RATIO_TARGET}×) {'ok' if growth <= BODY_RATIO_TARGET else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
