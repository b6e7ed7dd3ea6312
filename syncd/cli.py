"""Command line: parse arguments, call the library, print. Nothing else lives here.

Exit codes are a contract: 0 ok, 1 the command ran but something is wrong, 2 usage
or configuration error. No traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from syncd import __version__
from syncd.app import App
from syncd.config import default_config_path, load_config, starter_config
from syncd.contact_files import entry_from_fields, read_contact_files
from syncd.contacts import add_contact, add_manual_touch, import_entries, resolve, set_snooze
from syncd.errors import SyncdError, UsageError
from syncd.heartbeat import daemon_info
from syncd.health import problems
from syncd.logs import setup_logging
from syncd.lock import StoreLocked, store_lock
from syncd.report import ago, contact_json, contact_label, describe_touch, local_iso, table
from syncd.timeutil import parse_instant, resolve_now

log = logging.getLogger("syncd")


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message short and ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="syncd", description="Keep your professional network warm.")
    parser.add_argument("--config", type=Path, help=f"config file (default: {default_config_path()})")
    parser.add_argument("--now", help="fix the clock (ISO-8601), also env SYNCD_NOW")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    commands.add_parser("init", help="write a commented starter config (never overwrites)")

    contacts = commands.add_parser("contacts", help="manage contacts").add_subparsers(dest="contacts_command", metavar="ACTION", parser_class=Parser)
    contacts.required = True
    importing = contacts.add_parser("import", help="import TOML, CSV, vCard files or vdir folders")
    importing.add_argument("files", nargs="+", type=Path)
    listing = contacts.add_parser("list", help="list contacts with their last touch")
    listing.add_argument("--json", action="store_true")
    adding = contacts.add_parser("add", help="add one contact")
    adding.add_argument("name")
    adding.add_argument("emails", nargs="+", metavar="EMAIL")
    adding.add_argument("--tier", choices=("meaningful", "intimate", "familiar", "unfamiliar"))
    adding.add_argument("--cadence-days", type=int)
    adding.add_argument("--notes")
    adding.add_argument("--tag", action="append", dest="tags")
    adding.add_argument("--ignore", action="store_true", default=None)
    showing = contacts.add_parser("show", help="one contact and what set their last touch")
    showing.add_argument("contact")
    showing.add_argument("--json", action="store_true")

    sync = commands.add_parser("sync", help="one full cycle now: all sources, then hold planning")
    sync.add_argument("--no-holds", action="store_true", help="sync sources only")
    sync.add_argument("--dry-run", action="store_true", help="print the hold plan, write no hold")

    for name, text in (("status", "sources, next run, cold count, upcoming holds"), ("cold", "cold contacts, most overdue first"), ("holds", "upcoming holds")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--json", action="store_true")

    touch = commands.add_parser("touch", help="log a manual touch (a call, a dinner)")
    touch.add_argument("contact")
    touch.add_argument("--date", help="a date or datetime (default: now)")
    touch.add_argument("--note", default="")

    snooze = commands.add_parser("snooze", help="do not book holds for a contact for N days")
    snooze.add_argument("contact")
    snooze.add_argument("--days", type=int, required=True)

    auth = commands.add_parser("auth", help="authorise Google access (installed-app flow)")
    auth.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser (headless)")
    auth.add_argument("--port", type=int, default=0, help="local port for the OAuth redirect (for SSH forwarding)")

    commands.add_parser("run", help="the daemon, in the foreground (what systemd starts)")
    install = commands.add_parser("install-service", help="install the systemd user unit for this syncd")
    install.add_argument("--print", action="store_true", dest="print_only", help="print the unit instead of writing it")

    demo = commands.add_parser("demo", help="the whole pipeline on bundled sample data")
    demo.add_argument("--keep", type=Path, help="keep the demo's store and holds file in this folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        setup_logging(args.verbose)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "demo":
            from syncd.demo import run_demo

            return run_demo(args)
        config = load_config(args.config, explicit=args.config is not None)
        app = App(config, resolve_now(args.now, config.tz))
        try:
            return COMMANDS[args.command](app, args)
        finally:
            app.close()
    except SyncdError as error:
        print(f"syncd: {error}", file=sys.stderr)
        return error.exit_code
    except ValueError as error:
        print(f"syncd: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def cmd_init(args: argparse.Namespace) -> int:
    path = args.config or default_config_path()
    if path.exists():
        print(f"syncd: {path} already exists; not overwriting it", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(starter_config())
    print(f"wrote {path}; edit it, then run `syncd sync`")
    return 0


def cmd_contacts(app: App, args: argparse.Namespace) -> int:
    action = args.contacts_command
    if action == "import":
        created, updated = import_entries(app.store, read_contact_files(args.files), app.now)
        print(f"imported {created} new and {updated} updated contacts")
        return 0
    if action == "add":
        values: dict[str, Any] = {"name": args.name, "emails": args.emails}
        for name in ("tier", "cadence_days", "notes", "tags", "ignore"):
            if getattr(args, name) is not None:
                values[name] = getattr(args, name)
        problems_found: list[str] = []
        entry = entry_from_fields("contacts add", values, problems_found)
        if entry is None:
            raise UsageError("\n".join(problems_found))
        contact = add_contact(app.store, entry, app.now)
        print(f"added {contact.id}: {contact_label(contact)}")
        return 0
    if action == "list":
        rows = app.statuses()
        if args.json:
            print(json.dumps([contact_json(status, app.config.tz, app.tier_of(status.contact), cold=False) for status in rows], indent=2))
            return 0
        print(table(["ID", "NAME", "EMAIL", "TIER", "CADENCE", "LAST TOUCH", ""],
                    [[s.contact.id, s.contact.name, s.contact.email, app.tier_of(s.contact), f"{s.cadence_days}d",
                      describe_touch(s, app.now, app.config.tz), "ignored" if s.contact.ignore else "cold" if s.cold else ""] for s in rows]))
        return 0
    return cmd_contact_show(app, args)


def cmd_contact_show(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    status = next(status for status in app.statuses() if status.contact.id == contact.id)
    data = contact_json(status, app.config.tz, app.tier_of(contact), cold=status.cold)
    touch = status.last_touch
    explanation = None
    if touch is not None:
        record = app.store.interaction(touch.source, touch.item_id) if touch.source else None
        title = getattr(record, "title", None) or getattr(record, "subject", None) if record else None
        explanation = {"kind": touch.kind, "at": local_iso(touch.at, app.config.tz), "source": touch.source, "item_id": touch.item_id,
                       "title": title if record else (touch.note or None)}
    data["last_touch"] = explanation
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{contact.name}  ({contact.id})")
    print(f"  emails:   {', '.join(contact.emails)}")
    print(f"  tier:     {app.tier_of(contact)}, every {status.cadence_days} days")
    if contact.tags:
        print(f"  tags:     {', '.join(contact.tags)}")
    if contact.notes:
        print(f"  notes:    {contact.notes}")
    if explanation is None:
        print("  last touch: never")
    else:
        what = {"meeting": "met", "email": "exchanged mail", "manual": "logged by hand"}[touch.kind]
        detail = f": {explanation['title']!r}" if explanation["title"] else ""
        origin = f" (from {touch.source})" if touch.source else ""
        print(f"  last touch: {touch.at.astimezone(app.config.tz):%Y-%m-%d %H:%M}, {what}{detail}{origin}, {ago(touch.at, app.now)}")
    if contact.ignore:
        print("  ignored: never cold, never booked")
    elif status.snoozed:
        print(f"  snoozed until {contact.snoozed_until.astimezone(app.config.tz):%Y-%m-%d}")
    elif status.cold:
        overdue = "never touched" if status.overdue_days is None else f"{status.overdue_days} days overdue"
        print(f"  cold: {overdue}")
    return 0


def cmd_cold(app: App, args: argparse.Namespace) -> int:
    cold = app.cold()
    if args.json:
        print(json.dumps([contact_json(status, app.config.tz, app.tier_of(status.contact), cold=True) for status in cold], indent=2))
        return 0
    if not cold:
        print("nobody is cold")
        return 0
    print(table(["NAME", "EMAIL", "LAST TOUCH", "CADENCE", "OVERDUE", ""],
                [[s.contact.name, s.contact.email, describe_touch(s, app.now, app.config.tz), f"{s.cadence_days}d",
                  "never touched" if s.overdue_days is None else f"{s.overdue_days}d", "snoozed" if s.snoozed else ""] for s in cold]))
    return 0


def cmd_touch(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    at = parse_instant(args.date, app.config.tz, app.now) if args.date else app.now
    if at > app.now:
        raise UsageError(f"--date {args.date}: a touch cannot be in the future")
    add_manual_touch(app.store, contact.id, at, args.note, app.now)
    print(f"touched {contact_label(contact)} on {at.astimezone(app.config.tz):%Y-%m-%d %H:%M}")
    return 0


def cmd_snooze(app: App, args: argparse.Namespace) -> int:
    if args.days < 0:
        raise UsageError("--days: expected a whole number of days ≥ 0 (0 ends a snooze)")
    contact = resolve(app.store, args.contact)
    until = app.now + timedelta(days=args.days) if args.days else None
    set_snooze(app.store, contact.id, until)
    if until is None:
        print(f"{contact_label(contact)} is no longer snoozed")
    else:
        print(f"{contact_label(contact)} snoozed until {until.astimezone(app.config.tz):%Y-%m-%d}")
    return 0


def cmd_sync(app: App, args: argparse.Namespace) -> int:
    """One cycle under the store lock, so it never interleaves with the daemon's."""
    try:
        with store_lock(app.config.store_path, wait=False):
            return _sync_locked(app, args)
    except StoreLocked:
        print("syncd: another sync of this store is running; waiting for it to finish", file=sys.stderr)
    with store_lock(app.config.store_path, wait=True, timeout=600):
        return _sync_locked(app, args)


def _sync_locked(app: App, args: argparse.Namespace) -> int:
    result = app.sync_sources()
    for outcome in result.outcomes:
        if outcome.ok:
            log.info("%s: %d items", outcome.name, outcome.items)
        else:
            print(f"syncd: {outcome.name}: {outcome.error}", file=sys.stderr)
    if not result.outcomes:
        print("no sources configured; see `syncd init`", file=sys.stderr)
    holds_failed = False
    if not args.no_holds:
        holds = app.plan_holds(dry_run=args.dry_run)
        holds_failed = holds.failed
        if args.dry_run or holds.changed:
            print(holds.summary(app.config.tz))
        elif holds.failed:
            print(f"syncd: {holds.summary(app.config.tz)}", file=sys.stderr)
        else:
            log.info(holds.summary(app.config.tz))
    return 1 if result.failed or holds_failed else 0


def holds_data(app: App) -> list[dict[str, Any]]:
    contacts = {status.contact.id: status.contact for status in app.statuses()}
    result = []
    for hold in app.upcoming_holds():
        contact = contacts.get(hold.contact_id)
        result.append({
            "contact_id": hold.contact_id,
            "name": contact.name if contact else None,
            "email": contact.email if contact else None,
            "start": local_iso(hold.start, app.config.tz),
            "end": local_iso(hold.end, app.config.tz),
            "sink": hold.sink,
            "event_id": hold.event_id,
        })
    return result


def cmd_holds(app: App, args: argparse.Namespace) -> int:
    data = holds_data(app)
    if args.json:
        print(json.dumps(data, indent=2))
    elif not data:
        print("no upcoming holds")
    else:
        print(table(["WHEN", "WITH", "WHERE"], [[f"{_parse(item['start']):%a %Y-%m-%d %H:%M}", f"{item['name']} <{item['email']}>", item["sink"]] for item in data]))
    return 0


def status_data(app: App) -> dict[str, Any]:
    health = app.health()
    daemon = daemon_info(app.store, app.now)
    sources = [{
        "name": item.name,
        "kind": item.kind,
        "state": item.state,
        "last_attempt_at": local_iso(item.record.last_attempt_at if item.record else None, app.config.tz),
        "last_success_at": local_iso(item.record.last_success_at if item.record else None, app.config.tz),
        "error": item.record.error if item.record else None,
        "items": item.record.items if item.record else 0,
        "stale": item.stale,
    } for item in health]
    return {
        "sources": sources,
        "next_run_at": local_iso(daemon["next_run_at"], app.config.tz),
        "cold_count": len(app.cold()),
        "upcoming_holds": len(app.upcoming_holds()),
        "daemon": {"running": daemon["running"], "pid": daemon["pid"], "heartbeat_at": local_iso(daemon["heartbeat_at"], app.config.tz)},
        "holds_error": app.holds_error(),
        "problems": problems(health) + ([f"holds: {app.holds_error()}"] if app.holds_error() else []),
    }


def cmd_status(app: App, args: argparse.Namespace) -> int:
    data = status_data(app)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(table(["SOURCE", "STATE", "LAST SUCCESS", "ITEMS", "ERROR"],
                    [[s["name"], s["state"] + (" (stale)" if s["stale"] else ""), ago(_parse(s["last_success_at"]), app.now), str(s["items"]), s["error"] or ""] for s in data["sources"]]))
        print(f"\ncold contacts: {data['cold_count']}    upcoming holds: {data['upcoming_holds']}")
        daemon = data["daemon"]
        if daemon["running"]:
            print(f"daemon: running (pid {daemon['pid']}), next sync {_parse(data['next_run_at']):%H:%M}" if data["next_run_at"] else f"daemon: running (pid {daemon['pid']})")
        else:
            print(f"daemon: not running (last seen {ago(_parse(daemon['heartbeat_at']), app.now)})")
        for problem in data["problems"]:
            print(f"problem: {problem}")
    return 1 if data["problems"] else 0


def _parse(value: str | None):
    from syncd.timeutil import from_iso

    return from_iso(value)


def cmd_auth(app: App, args: argparse.Namespace) -> int:
    from syncd.google.auth import run_auth

    return run_auth(app.config, no_browser=args.no_browser, port=args.port)


def cmd_run(app: App, args: argparse.Namespace) -> int:
    from syncd.daemon import run_daemon

    return run_daemon(app.config, args.now)


def cmd_install_service(app: App, args: argparse.Namespace) -> int:
    from syncd.service import install_service

    return install_service(app.config, print_only=args.print_only)


COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "contacts": cmd_contacts,
    "cold": cmd_cold,
    "touch": cmd_touch,
    "snooze": cmd_snooze,
    "sync": cmd_sync,
    "status": cmd_status,
    "holds": cmd_holds,
    "auth": cmd_auth,
    "run": cmd_run,
    "install-service": cmd_install_service,
}
