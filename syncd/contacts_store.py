"""The contact tables (contacts, contact_emails, manual_touches) and the last-touch queries.

The SQL for contacts lives here alone; :mod:`syncd.contacts` decides how an import
merges and what the user's words point at.  Writes run on the store's connection: the
caller opens the transaction when several must land together.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime

from syncd.models import Contact, LastTouch
from syncd.newest_touches import Row, newest_rows
from syncd.records import Record, from_json
from syncd.store import Store, ts

__all__ = [
    "add_manual_touch",
    "address_owners",
    "archive_missing",
    "contact_name",
    "delete_contact",
    "id_taken",
    "ids_named",
    "interactions_with",
    "insert_contact",
    "last_touches",
    "list_contacts",
    "mark_from_files",
    "remove_addresses",
    "replace_emails",
    "set_snooze",
    "update_contact",
    "written_emails",
    "upcoming_meeting_contacts",
]


def list_contacts(store: Store, include_archived: bool = False) -> list[Contact]:
    """Every contact (archived ones only when asked) with its addresses in the order given, by name.

    One query: a contact's row comes once per address, adjacent and in the addresses' order, so
    the addresses are collected as the rows pass. Every read-only command starts here (5,000
    contacts are 5,000 rows), so the loop does no more than build each contact once."""
    where = "" if include_archived else " WHERE c.archived_at IS NULL"
    rows = store.connection.execute(
        "SELECT c.id, c.name, c.tier, c.cadence_days, c.notes, c.tags, c.ignore, c.snoozed_until, c.archived_at,"
        " c.from_files, e.address FROM contacts c LEFT JOIN contact_emails e ON e.contact_id = c.id"
        f"{where} ORDER BY c.name COLLATE NOCASE, c.id, e.position"
    )
    contacts: list[Contact] = []
    previous = None
    append = contacts.append
    for contact_id, name, tier, cadence, notes, tags, ignore, snoozed, archived, from_files, address in rows:
        if contact_id == previous:
            contacts[-1].emails.append(address)
            continue
        previous = contact_id
        # Positional, in Contact's field order: a third of the keyword call's cost, 5,000 times.
        append(
            Contact(
                contact_id,
                name,
                [] if address is None else [address],
                tier,
                cadence,
                notes,
                [] if tags == "[]" else json.loads(tags),
                bool(ignore),
                None if snoozed is None else datetime.fromtimestamp(snoozed, UTC),
                None if archived is None else datetime.fromtimestamp(archived, UTC),
                bool(from_files),
            )
        )
    return contacts


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


def ids_named(store: Store, name: str) -> list[str]:
    """Contacts (archived ones too) with exactly this name, ignoring case."""
    rows = store.connection.execute("SELECT id, name FROM contacts ORDER BY id").fetchall()
    return [row[0] for row in rows if row[1].casefold() == name.casefold()]


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


def written_emails(store: Store, contact_id: str) -> dict[str, str]:
    """The contact's addresses, each as the user wrote it."""
    rows = store.connection.execute("SELECT address, written FROM contact_emails WHERE contact_id = ?", (contact_id,))
    return dict(rows.fetchall())


def remove_addresses(store: Store, addresses: Iterable[str]) -> None:
    """Take these addresses from whoever has them (before another contact claims them)."""
    store.connection.executemany("DELETE FROM contact_emails WHERE address = ?", [(item,) for item in addresses])


def delete_contact(store: Store, contact_id: str) -> None:
    """The contact, its addresses and its manual touches (the interactions stay: they are the sources')."""
    store.connection.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))


def mark_from_files(store: Store, contact_ids: Iterable[str]) -> None:
    """These contacts are in the configured files now: kept by them, and no longer archived."""
    store.connection.executemany(
        "UPDATE contacts SET from_files = 1, archived_at = NULL WHERE id = ?", [(item,) for item in contact_ids]
    )


def archive_missing(store: Store, present: Collection[str], now: datetime) -> list[str]:
    """Archive the contacts the files gave before but not now; returns their ids."""
    rows = store.connection.execute("SELECT id FROM contacts WHERE from_files = 1 AND archived_at IS NULL")
    gone = [row[0] for row in rows if row[0] not in present]
    store.connection.executemany("UPDATE contacts SET archived_at = ? WHERE id = ?", [(ts(now), item) for item in gone])
    return gone


def set_snooze(store: Store, contact_id: str, until: datetime | None) -> None:
    store.connection.execute("UPDATE contacts SET snoozed_until = ? WHERE id = ?", (ts(until), contact_id))


def add_manual_touch(store: Store, contact_id: str, at: datetime, note: str, now: datetime) -> None:
    store.connection.execute(
        "INSERT INTO manual_touches(contact_id, at, note, created_at) VALUES (?, ?, ?, ?)",
        (contact_id, ts(at), note, ts(now)),
    )


def last_touches(store: Store, now: datetime) -> dict[str, LastTouch]:
    """Newest touch at or before `now` per contact; a meeting counts once it has started.

    Each contact address's newest touch comes from :mod:`syncd.newest_touches` (cached, since
    every read-only command asks); a contact with several addresses keeps the newest. At the
    same instant the last in (kind, source, item) order wins, so a meeting beats a mail; a
    manual touch beats both."""
    newest: dict[str, Row] = {}
    for row in newest_rows(store.connection, int(now.timestamp())):  # ts(now), never None here
        held = newest.get(row[0])
        if held is None or row > held:  # the same contact: compares (at, kind, source, item)
            newest[row[0]] = row
    result = {
        contact_id: LastTouch(datetime.fromtimestamp(at, UTC), kind, source, item_id)
        for contact_id, at, kind, source, item_id in newest.values()
    }
    manual = store.connection.execute(
        "SELECT contact_id, MAX(at), note FROM manual_touches WHERE at <= ? GROUP BY contact_id", (ts(now),)
    )
    for contact_id, at, note in manual:
        current = newest.get(contact_id)
        if current is None or at >= current[1]:
            result[contact_id] = LastTouch(
                at=datetime.fromtimestamp(at, UTC), kind="manual", source=None, item_id=None, note=note
            )
    return result


def upcoming_meeting_contacts(store: Store, now: datetime, until: datetime) -> set[str]:
    """Contacts the user already meets before `until`: no hold needed for them."""
    rows = store.connection.execute(
        """SELECT DISTINCT e.contact_id FROM contact_emails e JOIN touches t ON t.address = e.address
           WHERE t.kind = 'meeting' AND t.at > ? AND t.at <= ?""",
        (ts(now), ts(until)),
    )
    return {row[0] for row in rows}


def interactions_with(store: Store, addresses: Iterable[str]) -> list[tuple[str, Record]]:
    """Every stored interaction that names any of these addresses, with its source, oldest first.

    The payload is JSON with each address a quoted string, so LIKE finds the candidates
    (``_`` in an address matches any character: a superset); the caller judges each record.
    """
    found: dict[tuple[str, str], tuple[int, str, Record]] = {}
    for address in addresses:
        pattern = "%" + json.dumps(address) + "%"
        for source, item_id, at, payload in store.connection.execute(
            "SELECT source, item_id, at, payload FROM interactions WHERE payload LIKE ?", (pattern,)
        ):
            if (source, item_id) not in found:
                found[(source, item_id)] = (at, source, from_json(json.loads(payload)))
    return [(source, record) for _, source, record in sorted(found.values(), key=lambda item: (item[0], item[1]))]
