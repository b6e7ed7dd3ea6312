"""`contacts edit` and `contacts remove`: change or forget one contact, taking out a hold they no longer want."""

from __future__ import annotations

import argparse
from typing import Any

from syncd.app import App
from syncd.cli.holds_cmd import report_withdrawal
from syncd.config_spec import TIERS
from syncd.contacts import ContactEdit, edit_contact, remove_contact, resolve
from syncd.errors import UsageError
from syncd.holds import withdraw
from syncd.report import contact_label
from syncd.rules import own_addresses

FROM_FILES_NOTE = "note: {name} comes from your [contacts] files; {what}"


def register_actions(actions: Any) -> None:
    """Called by `contacts` for its actions `edit` and `remove` (the handlers set here override the group's)."""
    editing = actions.add_parser(
        "edit",
        help="change one contact",
        description="Change the fields given and leave the rest.",
        epilog="examples:\n"
        "  syncd contacts edit ada --tier intimate --add-email ada@work.example --remove-email ada@old.example\n"
        '  syncd contacts edit "Ada Lovelace" --name "Ada King" --notes "met at PyCon"\n'
        "  syncd contacts edit bob --cadence-days 45 --tag python --tag berlin   the tags become these two\n"
        "  syncd contacts edit dan --ignore          never cold, never booked; his hold leaves the calendar",
    )
    editing.add_argument("contact")
    editing.add_argument("--name", metavar="NAME", help="the new name")
    editing.add_argument("--tier", choices=TIERS, help="the tier (it gives the default cadence)")
    editing.add_argument(
        "--cadence-days", type=int, metavar="N", help="keep in touch every N days (overrides the tier)"
    )
    editing.add_argument("--notes", metavar="TEXT", help="replace the notes")
    editing.add_argument(
        "--add-email", action="append", default=[], metavar="EMAIL", help="add an address (repeatable)"
    )
    editing.add_argument(
        "--remove-email", action="append", default=[], metavar="EMAIL", help="remove an address (repeatable)"
    )
    editing.add_argument(
        "--tag", action="append", dest="tags", metavar="TAG", help="replace the tags (repeatable; --tag '' clears them)"
    )
    editing.add_argument(
        "--ignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="never cold, never booked (takes an upcoming hold out of the calendar); --no-ignore undoes it",
    )
    editing.set_defaults(run=cmd_edit)
    removing = actions.add_parser(
        "remove",
        help="remove a contact; their upcoming hold is removed from the calendar",
        description="Forget a contact, their addresses and logged touches; their upcoming hold is removed "
        "from the calendar.",
        epilog="examples:\n  syncd contacts remove ada@example.com   (also delete her from your contacts files)",
    )
    removing.add_argument("contact")
    removing.set_defaults(run=cmd_remove)


def cmd_edit(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    if args.cadence_days is not None and args.cadence_days < 1:
        raise UsageError("--cadence-days: expected a whole number of days ≥ 1")
    if args.name is not None and not args.name.strip():
        raise UsageError("--name: a contact needs a name")
    edit = ContactEdit(
        name=args.name.strip() if args.name else None,
        tier=args.tier,
        cadence_days=args.cadence_days,
        notes=args.notes,
        tags=args.tags,
        ignore=args.ignore,
        add_emails=args.add_email,
        remove_emails=args.remove_email,
    )
    if edit == ContactEdit():
        raise UsageError("contacts edit: nothing to change (give --name, --tier, --add-email, … ; see --help)")
    edited = edit_contact(app.store, contact, edit, app.now, own_addresses(app.config, app.store))
    print(f"edited {edited.id}: {contact_label(edited)}")
    if contact.from_files:
        print(FROM_FILES_NOTE.format(name=edited.name, what="the fields the file gives come back on the next sync"))
    if args.ignore:
        result = withdraw(app.config, app.store, contact.id, "ignored", app.now)
        report_withdrawal(app, result)
        return 1 if result.errors else 0
    return 0


def cmd_remove(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    result = withdraw(app.config, app.store, contact.id, "contact removed", app.now)
    remove_contact(app.store, contact)
    print(f"removed {contact.id}: {contact_label(contact)}")
    report_withdrawal(app, result)
    if contact.from_files and contact.archived_at is None:
        print(FROM_FILES_NOTE.format(name=contact.name, what="remove them there too, or the next sync adds them back"))
    return 1 if result.errors else 0
