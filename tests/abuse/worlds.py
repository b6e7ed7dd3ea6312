"""The synced user the abuse tests start from: contacts, a calendar, a mailbox and an .ics holds file."""

from __future__ import annotations

from tests.conftest import ics_calendar, ics_event, mbox_message

ME = "me@example.com"


def write_world(cli, contacts_toml: str, mbox_name: str) -> None:
    """Ada met at a meeting (cal.ics) and written to (`mbox_name`); the store at data/syncd.db."""
    (cli.home / "contacts.toml").write_text(contacts_toml)
    (cli.home / "cal.ics").write_text(
        ics_calendar(ics_event("m1", "20261001T090000Z", "20261001T100000Z", [ME, "ada@example.com"], organizer=ME))
    )
    (cli.home / mbox_name).write_text(
        mbox_message("1@x", f"Me <{ME}>", ["ada@example.com"], "Wed, 04 Nov 2026 10:00:00 +0000")
    )
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [store]
        path = "data/syncd.db"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        mbox = "{mbox_name}"
        [holds]
        sink = "ics:holds.ics"
    """)
