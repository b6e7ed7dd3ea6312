"""`contacts import|list|add|show`, `touch` and `snooze`: managing who syncd keeps warm."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncd.app import App
from syncd.cold import ContactStatus
from syncd.config_spec import TIERS
from syncd.cli import contacts_edit, suggest
from syncd.cli.holds_cmd import report_withdrawal
from syncd.cli.views import cycle_collection_paused
from syncd.contact_files import entry_from_fields, read_contact_files
from syncd.contacts import add_contact, add_manual_touch, import_entries, resolve, set_snooze
from syncd.errors import UsageError
from syncd.explain import all_statuses, status_of
from syncd.holds import withdraw
from syncd.report import ago, column_table, contact_json, contact_label, describe_touches, json_text, local_iso
from syncd.rules import own_addresses
from syncd.timeutil import parse_instant


def register(commands: Any) -> None:
    contacts = commands.add_parser("contacts", help="manage contacts")
    contacts.set_defaults(run=cmd_contacts)
    actions = contacts.add_subparsers(dest="contacts_command", metavar="ACTION", parser_class=type(contacts))
    actions.required = True
    importing = actions.add_parser("import", help="import TOML, CSV, vCard files or vdir folders")
    importing.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="TOML, CSV or .vcf files, or vdir folders of .vcf files"
    )
    listing = actions.add_parser("list", help="list contacts with their last touch")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--all", action="store_true", help="archived contacts too (gone from your contacts files)")
    adding = actions.add_parser("add", help="add one contact")
    adding.add_argument("name", metavar="NAME", help="the name, as it should appear on holds")
    adding.add_argument("emails", nargs="+", metavar="EMAIL", help="their addresses (the first is the primary)")
    adding.add_argument(
        "--tier",
        choices=TIERS,
        help="how close: the tier gives the default cadence ([tiers] in the config)",
    )
    adding.add_argument(
        "--cadence-days", type=int, metavar="N", help="see them every N days (overrides the tier's cadence)"
    )
    adding.add_argument("--notes", metavar="TEXT", help="free text, shown in the hold's description")
    adding.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="a tag; repeat for several")
    adding.add_argument(
        "--ignore", action="store_true", default=None, help="known but never cold and never booked (e.g. a colleague)"
    )
    showing = actions.add_parser("show", help="one contact and what set their last touch")
    showing.add_argument("contact")
    showing.add_argument("--json", action="store_true")
    suggest.register_action(actions)
    contacts_edit.register_actions(actions)

    touch = commands.add_parser("touch", help="log a manual touch (a call, a dinner)")
    touch.add_argument("contact")
    touch.add_argument(
        "--date", metavar="WHEN", help="when: today, yesterday, -3d, a date or a datetime in your zone (default: now)"
    )
    touch.add_argument("--note", default="", metavar="TEXT", help="what it was (kept with the touch)")
    touch.set_defaults(run=cmd_touch)

    snooze = commands.add_parser("snooze", help="do not book holds for a contact for N days")
    snooze.add_argument("contact")
    snooze.add_argument("--days", type=int, required=True, metavar="N", help="how many days from now; 0 ends a snooze")
    snooze.set_defaults(run=cmd_snooze)


def cmd_contacts(app: App, args: argparse.Namespace) -> int:
    action = args.contacts_command
    if action == "import":
        own = own_addresses(app.config, app.store)
        created, updated = import_entries(app.store, read_contact_files(args.files), app.now, own)
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
        contact = add_contact(app.store, entry, app.now, own_addresses(app.config, app.store))
        print(f"added {contact.id}: {contact_label(contact)}")
        return 0
    if action == "list":
        with cycle_collection_paused():
            return _list(app, args)
    return cmd_contact_show(app, args)


def _list(app: App, args: argparse.Namespace) -> int:
    """`contacts list`: every contact with its last touch, as a table or JSON."""
    rows = all_statuses(app) if args.all else app.statuses()
    if args.json:
        items = [contact_json(status, app.config.tz, app.tier_of(status.contact), cold=False) for status in rows]
        if args.all:
            for item, status in zip(items, rows, strict=True):
                item["archived"] = status.contact.archived_at is not None
        print(json_text(items))
        return 0
    contacts = [status.contact for status in rows]
    print(
        column_table(
            ["ID", "NAME", "EMAIL", "TIER", "CADENCE", "LAST TOUCH", ""],
            [
                [contact.id for contact in contacts],
                [contact.name for contact in contacts],
                [contact.email for contact in contacts],
                [app.tier_of(contact) for contact in contacts],
                [f"{status.cadence_days}d" for status in rows],
                describe_touches(rows, app.now, app.config.tz),
                [_state(status) for status in rows],
            ],
        )
    )
    return 0


def _state(status: ContactStatus) -> str:
    if status.contact.archived_at is not None:
        return "archived"
    return "ignored" if status.contact.ignore else "cold" if status.cold else ""


def cmd_contact_show(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    status = status_of(app, contact)
    data = contact_json(status, app.config.tz, app.tier_of(contact), cold=status.cold)
    touch = status.last_touch
    explanation = None
    if touch is not None:
        record = app.store.interaction(touch.source, touch.item_id) if touch.source and touch.item_id else None
        title = getattr(record, "title", None) or getattr(record, "subject", None) if record else None
        explanation = {
            "kind": touch.kind,
            "at": local_iso(touch.at, app.config.tz),
            "source": touch.source,
            "item_id": touch.item_id,
            "title": title if record else (touch.note or None),
        }
    data["last_touch"] = explanation
    if args.json:
        print(json_text(data))
        return 0
    print(f"{contact.name}  ({contact.id})")
    print(f"  emails:   {', '.join(contact.emails)}")
    print(f"  tier:     {app.tier_of(contact)}, every {status.cadence_days} days")
    if contact.tags:
        print(f"  tags:     {', '.join(contact.tags)}")
    if contact.notes:
        print(f"  notes:    {contact.notes}")
    if touch is None or explanation is None:
        print("  last touch: never")
    else:
        what = {"meeting": "met", "email": "exchanged mail", "manual": "logged by hand"}[touch.kind]
        detail = f": {explanation['title']!r}" if explanation["title"] else ""
        origin = f" (from {touch.source})" if touch.source else ""
        when = f"{touch.at.astimezone(app.config.tz):%Y-%m-%d %H:%M}"
        print(f"  last touch: {when}, {what}{detail}{origin}, {ago(touch.at, app.now)}")
    if contact.archived_at is not None:
        since = contact.archived_at.astimezone(app.config.tz)
        print(f"  archived {since:%Y-%m-%d}: no configured contacts file lists them; never cold, never booked")
    elif contact.ignore:
        print("  ignored: never cold, never booked")
    elif status.snoozed and contact.snoozed_until is not None:
        print(f"  snoozed until {contact.snoozed_until.astimezone(app.config.tz):%Y-%m-%d}")
    elif status.cold:
        overdue = "never touched" if status.overdue_days is None else f"{status.overdue_days} days overdue"
        print(f"  cold: {overdue}")
    return 0


def cmd_touch(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    at = parse_instant(args.date, app.config.tz, app.now) if args.date else app.now
    if at > app.now:
        raise UsageError(f"--date {args.date}: a touch cannot be in the future")
    add_manual_touch(app.store, contact.id, at, args.note, app.now)
    print(f"touched {contact_label(contact)} on {at.astimezone(app.config.tz):%Y-%m-%d %H:%M}")
    return 0


# A hundred years is "never"; more would overflow a datetime.
MAX_SNOOZE_DAYS = 36500


def cmd_snooze(app: App, args: argparse.Namespace) -> int:
    if not 0 <= args.days <= MAX_SNOOZE_DAYS:
        raise UsageError(f"--days: expected a whole number of days from 0 (ends a snooze) to {MAX_SNOOZE_DAYS}")
    contact = resolve(app.store, args.contact)
    until = app.now + timedelta(days=args.days) if args.days else None
    set_snooze(app.store, contact.id, until)
    if until is None:
        print(f"{contact_label(contact)} is no longer snoozed")
        return 0
    print(f"{contact_label(contact)} snoozed until {until.astimezone(app.config.tz):%Y-%m-%d}")
    result = withdraw(app.config, app.store, contact.id, "snoozed", app.now)
    report_withdrawal(app, result)
    return 1 if result.errors else 0
