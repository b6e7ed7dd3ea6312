"""The contact tables (contacts, contact_emails, manual_touches) and the last-touch queries.

The SQL for contacts lives here alone; :mod:`syncd.contacts` decides how an import
merges and what the user's words point at.  Writes run on the store's connection: the
caller opens the transaction when several must land together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from syncd.models import Contact, LastTouch
from syncd.store import Store, dt, ts

__all__ = [
    "add_manual_touch",
    "address_owners",
    "contact_name",
    "id_taken",
    "insert_contact",
    "last_touches",
    "list_contacts",
    "replace_emails",
    "set_snooze",
    "update_contact",
    "upcoming_meeting_contacts",
]


def list_contacts(store: Store) -> list[Contact]:
    """Every contact with its addresses in the order they were given, by name."""
    rows = store.connection.execute(
        "SELECT id, name, tier, cadence_days, notes, tags, ignore, snoozed_until FROM contacts"
        " ORDER BY name COLLATE NOCASE, id"
    ).fetchall()
    emails: dict[str, list[str]] = {}
    for address, contact_id in store.connection.execute(
        "SELECT address, contact_id FROM contact_emails ORDER BY contact_id, position"
    ):
        emails.setdefault(contact_id, []).append(address)
    return [
        Contact(
            id=row[0],
            name=row[1],
            emails=emails.get(row[0], []),
            tier=row[2],
            cadence_days=row[3],
            notes=row[4],
            tags=json.loads(row[5]),
            ignore=bool(row[6]),
            snoozed_until=dt(row[7]),
        )
        for row in rows
    ]


def address_owners(store: Store, addresses: Iterable[str]) -> set[str]:
    """The contacts that already claim any of these (normalised) addresses."""
    return {
        row[0]
        for address in addresses
        for row in store.connection.execute("SELECT contact_id FROM contact_emails WHERE address = ?", (address,))
    }


def contact_name(store: Store, contact_id: str) -> str | None:
    row = store.connection.execute("SELECT name FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return row[0] if row else None


def id_taken(store: Store, contact_id: str) -> bool:
    return store.connection.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is not None


def insert_contact(store: Store, contact_id: str, name: str, now: datetime) -> None:
    store.connection.execute(
        "INSERT INTO contacts(id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (contact_id, name, ts(now), ts(now)),
    )


_COLUMNS = frozenset({"name", "tier", "cadence_days", "notes", "tags", "ignore", "updated_at"})


def update_contact(store: Store, contact_id: str, fields: Mapping[str, object]) -> None:
    """Set the given columns (names from a fixed set, never from input)."""
    unknown = set(fields) - _COLUMNS
    if unknown:
        raise ValueError(f"not a contact column: {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{column} = ?" for column in fields)
    store.connection.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", (*fields.values(), contact_id))


def replace_emails(store: Store, contact_id: str, emails: Iterable[tuple[str, str]]) -> None:
    """The contact's addresses become exactly these (normalised address, as written), in order."""
    store.connection.execute("DELETE FROM contact_emails WHERE contact_id = ?", (contact_id,))
    store.connection.executemany(
        "INSERT INTO contact_emails(address, contact_id, position, written) VALUES (?, ?, ?, ?)",
        [(address, contact_id, position, written) for position, (address, written) in enumerate(emails)],
    )


def set_snooze(store: Store, contact_id: str, until: datetime | None) -> None:
    store.connection.execute("UPDATE contacts SET snoozed_until = ? WHERE id = ?", (ts(until), contact_id))


def add_manual_touch(store: Store, contact_id: str, at: datetime, note: str, now: datetime) -> None:
    store.connection.execute(
        "INSERT INTO manual_touches(contact_id, at, note, created_at) VALUES (?, ?, ?, ?)",
        (contact_id, ts(at), note, ts(now)),
    )


def last_touches(store: Store, now: datetime) -> dict[str, LastTouch]:
    """Newest touch at or before `now` per contact; a meeting counts once it has started."""
    result: dict[str, LastTouch] = {}
    rows = store.connection.execute(
        """SELECT e.contact_id, MAX(t.at), t.kind, t.source, t.item_id
           FROM contact_emails e JOIN touches t ON t.address = e.address
           WHERE t.at <= ? GROUP BY e.contact_id""",
        (ts(now),),
    )
    for contact_id, at, kind, source, item_id in rows:
        result[contact_id] = LastTouch(at=_at(at), kind=kind, source=source, item_id=item_id)
    manual = store.connection.execute(
        "SELECT contact_id, MAX(at), note FROM manual_touches WHERE at <= ? GROUP BY contact_id", (ts(now),)
    )
    for contact_id, at, note in manual:
        current = result.get(contact_id)
        if current is None or _at(at) >= current.at:
            result[contact_id] = LastTouch(at=_at(at), kind="manual", source=None, item_id=None, note=note)
    return result


def upcoming_meeting_contacts(store: Store, now: datetime, until: datetime) -> set[str]:
    """Contacts the user already meets before `until`: no hold needed for them."""
    rows = store.connection.execute(
        """SELECT DISTINCT e.contact_id FROM contact_emails e JOIN touches t ON t.address = e.address
           WHERE t.kind = 'meeting' AND t.at > ? AND t.at <= ?""",
        (ts(now), ts(until)),
    )
    return {row[0] for row in rows}


def _at(value: int) -> datetime:
    moment = dt(value)
    assert moment is not None  # touch times are NOT NULL
    return moment
