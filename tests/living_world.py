"""A small world for the "living with it" tests: contacts file, a calendar, mail, holds into an ICS file."""

from __future__ import annotations

from pathlib import Path

import icalendar

from tests.conftest import Cli, ics_calendar, ics_event, mbox_message

NOW = "2026-11-20T09:00:00+01:00"  # a Friday
ME = "me@example.com"
ADA = "ada@example.com"
BOB = "bob@example.org"

CONTACTS = (
    '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
    '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n'
)


def make_world(cli: Cli) -> Cli:
    """Ada and Bob, both cold at NOW (last met in the summer): a sync books a hold for each."""
    home = cli.home
    (home / "contacts.toml").write_text(CONTACTS, encoding="utf-8")
    (home / "cal.ics").write_text(
        ics_calendar(
            ics_event("m1", "20260901T090000Z", "20260901T100000Z", [ME, ADA], organizer=ME),
            ics_event("m2", "20260801T090000Z", "20260801T100000Z", [ME, BOB], organizer=ME),
        ),
        encoding="utf-8",
    )
    (home / "mail.mbox").write_text("", encoding="utf-8")
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        mbox = ["mail.mbox"]
        [holds]
        sink = "ics:holds.ics"
        per_week = 2
        per_day = 1
    """)
    return cli


def hold_uids(cli: Cli) -> dict[str, str]:
    """The holds in the ICS file: contact id -> UID."""
    path: Path = cli.home / "holds.ics"
    if not path.exists():
        return {}
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(event["X-SYNCD-CONTACT"]): str(event["UID"]) for event in calendar.walk("VEVENT")}


def add_mail(cli: Cli, *messages: str) -> None:
    with (cli.home / "mail.mbox").open("a", encoding="utf-8") as mbox:
        for message in messages:
            mbox.write(message)


__all__ = ["ADA", "BOB", "ME", "NOW", "add_mail", "hold_uids", "make_world", "mbox_message", "ics_event"]
