"""`holds cancel CONTACT`: take a contact's hold out of the calendar and let them rest for a cadence."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from syncd.app import App
from syncd.contacts import resolve
from syncd.errors import UsageError
from syncd.explain import status_of
from syncd.holds import Withdrawal, cancel
from syncd.report import contact_label


def register(commands: Any) -> None:
    """Adds `cancel` under the `holds` command that `views` registers (so `holds --json` still lists)."""
    holds = commands.choices["holds"]
    actions = holds.add_subparsers(dest="holds_command", metavar="ACTION", parser_class=type(holds))
    command = actions.add_parser(
        "cancel",
        help="remove a contact's hold and snooze them for a cadence",
        description="Remove the contact's upcoming hold from the calendar and snooze them for one cadence, "
        "as deleting the hold in your calendar app does.",
        epilog="examples:\n  syncd holds cancel ada           not this week: no hold for Ada for one cadence",
    )
    command.add_argument("contact")
    command.set_defaults(run=cmd_cancel)


def cmd_cancel(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    if contact.archived_at is not None:
        raise UsageError(f"{contact.name} is archived and has no hold")
    result = cancel(app.config, app.store, status_of(app, contact), app.now)
    report_withdrawal(app, result)
    rest = resolve(app.store, contact.id).snoozed_until
    if rest is not None:
        print(f"{contact_label(contact)} snoozed until {rest.astimezone(app.config.tz):%Y-%m-%d}")
    return 1 if result.errors else 0


def report_withdrawal(app: App, result: Withdrawal) -> None:
    """One line per hold taken out; a calendar that failed goes to stderr (the next sync retries)."""
    tz = app.config.tz
    for hold in result.holds:
        print(f"removed the hold on {hold.start.astimezone(tz):%a %Y-%m-%d %H:%M} from {hold.sink}")
    for error in result.errors:
        print(f"syncd: {error}", file=sys.stderr)
