"""`status`, `cold` and `holds`: what syncd knows, read from the store without syncing."""

from __future__ import annotations

import argparse
import gc
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from syncd.app import App
from syncd.cli.common import parse_local as _parse
from syncd.contacts import list_contacts
from syncd.errors import StoreError
from syncd.health import problems
from syncd.heartbeat import daemon_info, daemon_problems
from syncd.report import ago, column_table, contact_json, describe_touches, json_text, local_iso, table
from syncd.store_errors import store_error


def register(commands: Any) -> None:
    for name, text, handler in (
        ("status", "sources, next run, cold count, upcoming holds", cmd_status),
        ("cold", "cold contacts, most overdue first", cmd_cold),
        ("holds", "upcoming holds", cmd_holds),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--json", action="store_true")
        command.set_defaults(run=without_cycle_collection(handler))


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """A read-only command builds tens of thousands of objects (a contact, a touch, a status
    and a table row each) that live until it prints, none of them in a cycle; the cycle
    collector would walk them again and again as they pile up (≈ 6 ms of `contacts list`,
    some 5 % of the whole command). Reference counting still frees everything; collection
    resumes after, if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_cycle_collection(
    handler: Callable[[App, argparse.Namespace], int],
) -> Callable[[App, argparse.Namespace], int]:
    """`handler` run under :func:`cycle_collection_paused`."""

    def run(app: App, args: argparse.Namespace) -> int:
        with cycle_collection_paused():
            return handler(app, args)

    return run


def cmd_cold(app: App, args: argparse.Namespace) -> int:
    cold = app.cold()
    if args.json:
        print(
            json_text([contact_json(status, app.config.tz, app.tier_of(status.contact), cold=True) for status in cold])
        )
        return 0
    if not cold:
        print("nobody is cold")
        return 0
    print(
        column_table(
            ["NAME", "EMAIL", "LAST TOUCH", "CADENCE", "OVERDUE", ""],
            [
                [s.contact.name for s in cold],
                [s.contact.email for s in cold],
                describe_touches(cold, app.now, app.config.tz),
                [f"{s.cadence_days}d" for s in cold],
                ["never touched" if s.overdue_days is None else f"{s.overdue_days}d" for s in cold],
                ["snoozed" if s.snoozed else "" for s in cold],
            ],
        )
    )
    return 0


def holds_data(app: App) -> list[dict[str, Any]]:
    contacts = {contact.id: contact for contact in list_contacts(app.store)}  # names only: no touches needed
    result = []
    for hold in app.upcoming_holds():
        contact = contacts.get(hold.contact_id)
        result.append(
            {
                "contact_id": hold.contact_id,
                "name": contact.name if contact else None,
                "email": contact.email if contact else None,
                "start": local_iso(hold.start, app.config.tz),
                "end": local_iso(hold.end, app.config.tz),
                "sink": hold.sink,
                "event_id": hold.event_id,
            }
        )
    return result


def cmd_holds(app: App, args: argparse.Namespace) -> int:
    data = holds_data(app)
    if args.json:
        print(json_text(data))
    elif not data:
        print("no upcoming holds")
    else:
        print(
            table(
                ["WHEN", "WITH", "WHERE"],
                [
                    [f"{_parse(item['start']):%a %Y-%m-%d %H:%M}", f"{item['name']} <{item['email']}>", item["sink"]]
                    for item in data
                ],
            )
        )
    return 0


def status_data(app: App) -> dict[str, Any]:
    health = app.health()
    daemon = daemon_info(app.store, app.now)
    sources = [
        {
            "name": item.name,
            "kind": item.kind,
            "state": item.state,
            "last_attempt_at": local_iso(item.record.last_attempt_at if item.record else None, app.config.tz),
            "last_success_at": local_iso(item.record.last_success_at if item.record else None, app.config.tz),
            "error": item.record.error if item.record else None,
            "items": item.record.items if item.record else 0,
            "stale": item.stale,
            "skipped": item.skipped,
        }
        for item in health
    ]
    return {
        "sources": sources,
        "next_run_at": local_iso(daemon["next_run_at"], app.config.tz),
        "cold_count": len(app.cold()),
        "upcoming_holds": len(app.upcoming_holds()),
        "daemon": {
            "running": daemon["running"],
            "pid": daemon["pid"],
            "heartbeat_at": local_iso(daemon["heartbeat_at"], app.config.tz),
        },
        "holds_error": app.holds_error(),
        "problems": (daemon_problems(app.store) if daemon["running"] else [])
        + problems(health, app.store)
        + ([f"holds: {app.holds_error()}"] if app.holds_error() else [])
        + ([f"holds: {missing}"] if (missing := app.missing_sink()) else []),
    }


def store_failure_data(error: StoreError) -> dict[str, Any]:
    """`status --json` when the store cannot be read: the same shape, nothing known, the reason in problems."""
    return {
        "sources": [],
        "next_run_at": None,
        "cold_count": None,
        "upcoming_holds": None,
        "daemon": {"running": None, "pid": None, "heartbeat_at": None},
        "holds_error": None,
        "problems": [str(error)],
    }


def cmd_status(app: App, args: argparse.Namespace) -> int:
    try:
        data = status_data(app)
    except (StoreError, sqlite3.Error) as error:
        if not args.json:
            raise  # the CLI prints it as one line on stderr, exit 1
        failure = error if isinstance(error, StoreError) else store_error(app.config.store_path, error)
        print(json_text(store_failure_data(failure)))
        return 1
    if args.json:
        print(json_text(data))
    else:
        print(
            table(
                ["SOURCE", "STATE", "LAST SUCCESS", "ITEMS", "ERROR"],
                [
                    [
                        s["name"],
                        s["state"] + (" (stale)" if s["stale"] else ""),
                        ago(_parse(s["last_success_at"]), app.now),
                        str(s["items"]),
                        s["error"] or "",
                    ]
                    for s in data["sources"]
                ],
            )
        )
        print(f"\ncold contacts: {data['cold_count']}    upcoming holds: {data['upcoming_holds']}")
        daemon = data["daemon"]
        if daemon["running"]:
            print(
                f"daemon: running (pid {daemon['pid']}), next sync {_parse(data['next_run_at']):%H:%M}"
                if data["next_run_at"]
                else f"daemon: running (pid {daemon['pid']})"
            )
        else:
            print(f"daemon: not running (last seen {ago(_parse(daemon['heartbeat_at']), app.now)})")
        for problem in data["problems"]:
            print(f"problem: {problem}")
    return 1 if data["problems"] else 0
