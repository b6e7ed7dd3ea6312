"""`syncd demo`: the whole pipeline on bundled sample data, in a place of its own.

It never touches the user's config or store: everything lives in a temporary folder
(or the one given with --keep, so the holds file can be opened in a calendar app).
"""

from __future__ import annotations

import argparse
import tempfile
from importlib import resources
from pathlib import Path

from syncd.app import App
from syncd.config import load_config
from syncd.report import table
from syncd.timeutil import resolve_now
from syncd.errors import UsageError
from syncd.models import LastTouch
from syncd.why import record_title

DEMO_NOW = "2026-11-20T09:00:00+01:00"
DEMO_FILES = ("contacts.toml", "calendar.ics", "mail.mbox")

CONFIG = """# The demo's config: local sources only, holds into an .ics file beside it.
[user]
emails = ["sam@rivera.example"]
timezone = "Europe/Berlin"

[store]
path = "syncd.db"

[contacts]
files = ["contacts.toml"]

[sources.ics]
paths = ["calendar.ics"]

[sources.mail]
mbox = ["mail.mbox"]

[holds]
sink = "ics:holds.ics"
per_week = 2
"""


def prepare(folder: Path) -> Path:
    """Copy the sample world into `folder` and return the path of its config."""
    folder.mkdir(parents=True, exist_ok=True)
    data = resources.files("syncd") / "demo_data"
    for name in DEMO_FILES:
        (folder / name).write_bytes((data / name).read_bytes())
    for stale in ("syncd.db", "syncd.db-wal", "syncd.db-shm", "holds.ics"):
        (folder / stale).unlink(missing_ok=True)
    config_path = folder / "config.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    return config_path


def run_demo(args: argparse.Namespace) -> int:
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()) and not (args.keep / "config.toml").exists():
            raise UsageError(f"{args.keep}: exists and is not a syncd demo folder; pick an empty or new folder")
        return _run(args.keep.absolute(), args.now or DEMO_NOW)
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as folder:
        return _run(Path(folder), args.now or DEMO_NOW)


def _run(folder: Path, now_text: str) -> int:
    config = load_config(prepare(folder), explicit=True)
    app = App(config, resolve_now(now_text, config.tz))
    try:
        print(
            f"syncd demo — the clock is fixed at {app.now.astimezone(config.tz):%A %Y-%m-%d %H:%M %Z}; "
            f"files in {folder}\n"
        )
        result = app.sync_sources()
        for outcome in result.outcomes:
            state = f"{outcome.items} items" if outcome.ok else f"FAILED: {outcome.error}"
            print(f"  synced {outcome.name}: {state}")
        print()
        rows = []
        for status in sorted(app.statuses(), key=lambda s: (not s.cold, -s.overdue_ratio, s.contact.name)):
            touch = status.last_touch
            if status.contact.ignore:
                verdict = "ignored"
            elif status.cold:
                verdict = "COLD, never touched" if touch is None else f"COLD, {status.overdue_days}d overdue"
            else:
                verdict = "warm"
            why = (
                "no meeting or direct mail found"
                if touch is None
                else f"{touch.kind} on {touch.at.astimezone(config.tz):%Y-%m-%d}" + _title(app, touch)
            )
            rows.append([status.contact.name, f"every {status.cadence_days}d", verdict, why])
        print(table(["CONTACT", "RHYTHM", "STATE", "LAST TOUCH"], rows))
        print()
        print(app.plan_holds().summary(config.tz))
        print(f"\nholds file: {folder / 'holds.ics'} (open it in any calendar app)")
        return 1 if result.failed else 0
    finally:
        app.close()


def _title(app: App, touch: LastTouch) -> str:
    if touch.source is None or touch.item_id is None:
        return ""
    record = app.store.interaction(touch.source, touch.item_id)
    title = record_title(record) if record is not None else None
    return f": {title}" if title else ""
