"""`sync`: one full cycle now, under the store lock, ending with what it did."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from syncd.app import App
from syncd.engine import CycleResult
from syncd.errors import UsageError
from syncd.hold_outcome import HoldOutcome
from syncd.lock import StoreLocked, store_lock
from syncd.textsafe import inert_lines

log = logging.getLogger("syncd")


def register(commands: Any) -> None:
    sync = commands.add_parser(
        "sync",
        help="one full cycle now: all sources, then hold planning",
        description="One full cycle now, under the store lock: the contacts files, every source, then hold "
        "planning. Ends with one summary line; each failing source is named once on stderr (exit 1).",
    )
    sync.add_argument("--no-holds", action="store_true", help="sync the sources only; plan no holds")
    sync.add_argument(
        "--dry-run", action="store_true", help="sync the sources, print the hold plan, and write no hold anywhere"
    )
    sync.add_argument(
        "--accept-empty",
        action="append",
        default=[],
        metavar="SOURCE",
        help="accept once that SOURCE (named as in `syncd status`) now reads empty",
    )
    sync.set_defaults(run=cmd_sync)


def cmd_sync(app: App, args: argparse.Namespace) -> int:
    """One cycle under the store lock, so it never interleaves with the daemon's."""
    try:
        with store_lock(app.config.store_path, wait=False):
            return _sync_locked(app, args)
    except StoreLocked:
        print("syncd: another sync of this store is running; waiting for it to finish", file=sys.stderr)
    with store_lock(app.config.store_path, wait=True, timeout=600):
        return _sync_locked(app, args)


def _accept_empty(app: App, names: list[str]) -> None:
    """Refused empty reads (a file emptied or replaced) go through once, on the user's word."""
    known = [source.name for source in app.sources]
    for name in names:
        if name not in known:
            raise UsageError(f"--accept-empty {name}: no such source (sources: {', '.join(known) or 'none'})")
        app.store.accept_empty_once(name)


class _PrintedHere(logging.Filter):
    """The engine logs each failing source for the daemon's journal; `sync` prints it itself, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.WARNING


def _sync_locked(app: App, args: argparse.Namespace) -> int:
    _accept_empty(app, args.accept_empty)
    engine_log = logging.getLogger("syncd.sync")
    printed_here = _PrintedHere()
    engine_log.addFilter(printed_here)
    try:
        result = app.sync_sources(interactive=True)
    finally:
        engine_log.removeFilter(printed_here)
    if result.contacts_error:
        print(f"syncd: contacts file: {inert_lines(result.contacts_error)}", file=sys.stderr)
    for outcome in result.failed:
        print(inert_lines(f"syncd: {outcome.name}: {outcome.error}"), file=sys.stderr)
    for outcome in result.outcomes:
        if outcome.ok:
            log.info("%s: %d items", outcome.name, outcome.items)
    holds = None if args.no_holds else app.plan_holds(dry_run=args.dry_run)
    if holds is not None:
        _print_hold_details(holds, app, args.dry_run)
    print(summary_line(result, holds))
    return 1 if result.failed or result.contacts_error or (holds is not None and holds.failed) else 0


def _print_hold_details(holds: HoldOutcome, app: App, dry_run: bool) -> None:
    """Each hold booked, removed or skipped (on a change or a dry run); hold calendar errors on stderr, once."""
    for error in holds.errors:
        print(f"syncd: holds: {inert_lines(error)}", file=sys.stderr)
    if holds.sink_failed and holds.blocked:
        print(f"syncd: no holds booked: {inert_lines(holds.blocked)}", file=sys.stderr)
    if holds.plan is None or not (dry_run or holds.changed):
        return
    for line in holds.summary(app.config.tz).splitlines()[1:]:
        if not line.startswith("  !"):  # the errors, already on stderr
            print(line)


def summary_line(result: CycleResult, holds: HoldOutcome | None) -> str:
    """One line that always ends `sync`: sources ok/failed, items, and what became of the holds."""
    ok = len(result.outcomes) - len(result.failed)
    sources = f"{ok} source{'s' if ok != 1 else ''} ok"
    if result.failed:
        sources += f", {len(result.failed)} failed ({', '.join(outcome.name for outcome in result.failed)})"
    if not result.outcomes:
        sources = "no sources configured (see `syncd init`)"
    parts = [sources, f"{sum(outcome.items for outcome in result.outcomes)} items"]
    if result.contacts_error:
        parts.append("contacts file failed")
    parts.append(_holds_part(holds))
    return "sync: " + "; ".join(parts)


def _holds_part(holds: HoldOutcome | None) -> str:
    if holds is None:
        return "holds not planned (--no-holds)"
    if holds.sink_failed:
        return "holds failed (see above)"
    if holds.blocked or holds.plan is None:
        return f"holds paused: {(holds.blocked or '').partition(': ')[0]}"  # the details name what was printed above
    counts = f"{'would book' if holds.dry_run else 'booked'} {len(holds.plan.create)} hold(s), "
    counts += f"{'would remove' if holds.dry_run else 'removed'} {len(holds.plan.remove)}"
    return counts + (f", {len(holds.errors)} failed (see above)" if holds.errors else "")
