"""`sync`: one full cycle now, under the store lock, ending with what it did."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from syncd.app import App
from syncd.errors import UsageError
from syncd.lock import StoreLocked, store_lock
from syncd.textsafe import inert_lines

log = logging.getLogger("syncd")


def register(commands: Any) -> None:
    sync = commands.add_parser("sync", help="one full cycle now: all sources, then hold planning")
    sync.add_argument("--no-holds", action="store_true", help="sync sources only")
    sync.add_argument("--dry-run", action="store_true", help="print the hold plan, write no hold")
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


def _sync_locked(app: App, args: argparse.Namespace) -> int:
    _accept_empty(app, args.accept_empty)
    result = app.sync_sources()
    if result.contacts_error:
        print(f"syncd: contacts file: {inert_lines(result.contacts_error)}", file=sys.stderr)
    for outcome in result.outcomes:
        if outcome.ok:
            log.info("%s: %d items", outcome.name, outcome.items)
        else:
            print(inert_lines(f"syncd: {outcome.name}: {outcome.error}"), file=sys.stderr)
    if not result.outcomes:
        print("no sources configured; see `syncd init`", file=sys.stderr)
    holds_failed = False
    if not args.no_holds:
        holds = app.plan_holds(dry_run=args.dry_run)
        holds_failed = holds.failed
        if args.dry_run or holds.changed:
            print(holds.summary(app.config.tz))
        elif holds.failed:
            print(f"syncd: {inert_lines(holds.summary(app.config.tz))}", file=sys.stderr)
        else:
            log.info(holds.summary(app.config.tz))
    return 1 if result.failed or holds_failed or result.contacts_error else 0
