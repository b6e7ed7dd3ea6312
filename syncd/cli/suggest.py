"""`contacts suggest [--json] [--min N] [--new] [--add EMAIL…]`: people met or written to who are not contacts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from syncd.addresses import normalize
from syncd.app import App
from syncd.config_spec import TIERS
from syncd.contact_files import entry_from_fields
from syncd.contacts import add_contact
from syncd.errors import UsageError
from syncd.network_queries import display_name_sightings, non_contact_touches
from syncd.report import contact_label, table
from syncd.rules import touch_rules
from syncd.suggest import (
    DEFAULT_MIN_TOUCHES,
    NEW_PEOPLE_DAYS,
    Suggestion,
    new_people,
    suggestion_json,
    suggestions,
    with_names,
)


def register_action(actions: Any) -> None:
    """Called by `contacts` for its action `suggest` (the handler set here overrides the group's)."""
    command = actions.add_parser(
        "suggest",
        help="people you met or wrote to directly who are not contacts",
        description="People you met or wrote to directly (To/Cc) at least N times within the look-back who are "
        "not contacts, most touches first, and the new people you met in the last 14 days. "
        "Example: syncd contacts suggest --add ada@example.com --tier meaningful",
    )
    command.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {email, name, meetings, messages, first_at, last_at}, most touches first",
    )
    command.add_argument(
        "--new",
        action="store_true",
        help=f"only the new people you met in the last {NEW_PEOPLE_DAYS} days",
    )
    command.add_argument(
        "--min", type=int, default=DEFAULT_MIN_TOUCHES, metavar="N", help="at least N touches (default 3)"
    )
    command.add_argument("--add", nargs="+", metavar="EMAIL", help="make these suggested people contacts")
    command.add_argument("--tier", choices=TIERS, help="the tier of the contacts --add makes (default [tiers] default)")
    command.set_defaults(run=cmd_suggest)


def cmd_suggest(app: App, args: argparse.Namespace) -> int:
    if args.min < 1:
        raise UsageError(f"--min: expected a whole number ≥ 1, got {args.min}")
    if args.tier and not args.add:
        raise UsageError("--tier: only with --add EMAIL…")
    rules = touch_rules(app.config, app.store)
    rows = non_contact_touches(app.store, app.now - app.config.sources.lookback, app.now)
    if args.add:
        return _add(app, args, {item.email: item for item in suggestions(rows, rules, 1)})
    found = [] if args.new else _named(app, suggestions(rows, rules, args.min))
    shows_recent = args.new or not args.json  # `--json` alone lists `found` only: no names to read for the rest
    recent = _named(app, new_people(rows, rules, app.now)) if shows_recent else []
    if args.json:
        print(json.dumps([suggestion_json(item, app.config.tz) for item in (recent if args.new else found)], indent=2))
        return 0
    if not args.new:
        print(f"People you met or wrote to directly at least {args.min} times who are not contacts:")
        print(_table(app, found) if found else "  nobody")
        print()
    print(f"New people you met in the last {NEW_PEOPLE_DAYS} days:")
    print(_table(app, recent) if recent else "  nobody")
    if found or recent:
        print("\nAdd them with: syncd contacts suggest --add EMAIL… [--tier TIER]")
    return 0


def _table(app: App, items: list[Suggestion]) -> str:
    tz = app.config.tz
    return table(
        ["EMAIL", "NAME", "MEETINGS", "MESSAGES", "FIRST", "LAST"],
        [
            [
                item.email,
                item.name,
                str(item.meetings),
                str(item.messages),
                f"{item.first_at.astimezone(tz):%Y-%m-%d}",
                f"{item.last_at.astimezone(tz):%Y-%m-%d}",
            ]
            for item in items
        ],
    )


def _named(app: App, items: list[Suggestion]) -> list[Suggestion]:
    """Names are read only for the people shown: each costs its touches' payloads."""
    since = app.now - app.config.sources.lookback
    return with_names(items, display_name_sightings(app.store, [item.email for item in items], since, app.now))


def _add(app: App, args: argparse.Namespace, known: dict[str, Suggestion]) -> int:
    """Every address is checked before any contact is made: a typo adds nobody."""
    wanted = []
    for written in args.add:
        address = normalize(written)
        if address is None or address not in known:
            raise UsageError(
                f"--add {written}: not someone syncd would suggest (not a direct touch within the look-back, "
                "or already a contact); see `syncd contacts suggest`"
            )
        if address not in wanted:
            wanted.append(address)
    known = {item.email: item for item in _named(app, [known[address] for address in wanted])}
    for address in wanted:
        problems: list[str] = []
        entry = entry_from_fields(
            "contacts suggest --add", {"name": known[address].name, "emails": [address], "tier": args.tier}, problems
        )
        if entry is None:
            raise UsageError("\n".join(problems))
        contact = add_contact(app.store, entry, app.now)
        print(f"added {contact.id}: {contact_label(contact)}")
    return 0
