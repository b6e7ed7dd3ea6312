"""Contacts in the store: import and merge, lookup by what the user types, last touches.

A contact's last touch is always computed from interactions and manual touches at
query time, so it can be explained (which meeting or message) and never drifts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from collections.abc import Iterable

from syncd.addresses import normalize
from syncd.errors import UsageError
from syncd.models import Contact, ContactEntry, LastTouch
from syncd.store import Store, dt, ts


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "contact"


def list_contacts(store: Store) -> list[Contact]:
    rows = store.connection.execute(
        "SELECT id, name, tier, cadence_days, notes, tags, ignore, snoozed_until FROM contacts ORDER BY name COLLATE NOCASE, id"
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


def import_entries(store: Store, entries: Iterable[ContactEntry], now: datetime) -> tuple[int, int]:
    """Merge entries by address in one transaction: all of them land, or none.

    An entry whose addresses belong to an existing contact updates it (the fields it
    gives replace the old ones); an address claimed by two contacts is an error that
    names both, because silently picking one would misattribute every touch.
    """
    entries = list(entries)
    problems = _conflicts_within(entries)
    created = updated = 0
    with store.transaction() as connection:
        for entry in entries:
            owners = {
                row[0]
                for address in entry.emails
                for row in connection.execute("SELECT contact_id FROM contact_emails WHERE address = ?", (address,))
            }
            if len(owners) > 1:
                names = " and ".join(sorted(_name_of(connection, owner) for owner in owners))
                problems.append(
                    f"{entry.origin}: its addresses belong to two contacts, {names}; give each address to one of them"
                )
                continue
            contact_id = owners.pop() if owners else None
            if contact_id is None:
                if entry.name is None:
                    problems.append(f"{entry.origin}: name: a new contact needs a name")
                    continue
                contact_id = _new_id(connection, entry.name)
                connection.execute(
                    "INSERT INTO contacts(id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    (contact_id, entry.name, ts(now), ts(now)),
                )
                created += 1
            else:
                updated += 1
            _apply_entry(connection, contact_id, entry, now)
        if problems:
            raise _ImportFailed(problems)
    return created, updated


def _conflicts_within(entries: list[ContactEntry]) -> list[str]:
    """Two entries of one import claiming the same address, named so the user can pick."""
    claimed: dict[str, ContactEntry] = {}
    problems = []
    for entry in entries:
        for address in entry.emails:
            first = claimed.setdefault(address, entry)
            if first is not entry:
                problems.append(
                    f"{entry.origin}: {address} is claimed by both {first.name or 'an unnamed contact'} ({first.origin}) and {entry.name or 'an unnamed contact'}"
                )
    return problems


class _ImportFailed(UsageError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems) + "\nnothing was imported")


def _name_of(connection, contact_id: str) -> str:
    row = connection.execute("SELECT name FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return f"{row[0]} ({contact_id})" if row else contact_id


def _new_id(connection, name: str) -> str:
    base = slugify(name)
    candidate, number = base, 2
    while connection.execute("SELECT 1 FROM contacts WHERE id = ?", (candidate,)).fetchone():
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _apply_entry(connection, contact_id: str, entry: ContactEntry, now: datetime) -> None:
    updates = {"updated_at": ts(now)}
    for name in ("name", "tier", "cadence_days", "notes"):
        value = getattr(entry, name)
        if value is not None:
            updates[name] = value
    if entry.tags is not None:
        updates["tags"] = json.dumps(entry.tags)
    if entry.ignore is not None:
        updates["ignore"] = int(entry.ignore)
    assignments = ", ".join(f"{column} = ?" for column in updates)
    connection.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", (*updates.values(), contact_id))
    connection.execute("DELETE FROM contact_emails WHERE contact_id = ?", (contact_id,))
    written = dict(zip((normalize(item) for item in entry.written_emails), entry.written_emails, strict=False))
    connection.executemany(
        "INSERT INTO contact_emails(address, contact_id, position, written) VALUES (?, ?, ?, ?)",
        [
            (address, contact_id, position, written.get(address, address))
            for position, address in enumerate(entry.emails)
        ],
    )


def resolve(store: Store, query: str) -> Contact:
    """An id, any address, or a case-insensitive name; ambiguity is a usage error."""
    contacts = list_contacts(store)
    text = query.strip()
    by_id = [contact for contact in contacts if contact.id == text]
    if by_id:
        return by_id[0]
    address = normalize(text)
    if address:
        by_address = [contact for contact in contacts if address in contact.emails]
        if by_address:
            return by_address[0]
    by_name = [contact for contact in contacts if contact.name.casefold() == text.casefold()]
    if not by_name:
        by_name = [contact for contact in contacts if text.casefold() in contact.name.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if not by_name:
        raise UsageError(f"no contact matches {query!r} (try an id, an address or a name from `syncd contacts list`)")
    candidates = "\n".join(f"  {contact.id}  {contact.name} <{contact.email}>" for contact in by_name)
    raise UsageError(f"{query!r} matches several contacts; use an id or address:\n{candidates}")


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
        result[contact_id] = LastTouch(at=dt(at), kind=kind, source=source, item_id=item_id)
    manual = store.connection.execute(
        "SELECT contact_id, MAX(at), note FROM manual_touches WHERE at <= ? GROUP BY contact_id", (ts(now),)
    )
    for contact_id, at, note in manual:
        current = result.get(contact_id)
        if current is None or dt(at) >= current.at:
            result[contact_id] = LastTouch(at=dt(at), kind="manual", source=None, item_id=None, note=note)
    return result


def upcoming_meeting_contacts(store: Store, now: datetime, until: datetime) -> set[str]:
    """Contacts the user already meets before `until`: no hold needed for them."""
    rows = store.connection.execute(
        """SELECT DISTINCT e.contact_id FROM contact_emails e JOIN touches t ON t.address = e.address
           WHERE t.kind = 'meeting' AND t.at > ? AND t.at <= ?""",
        (ts(now), ts(until)),
    )
    return {row[0] for row in rows}


def add_contact(store: Store, entry: ContactEntry, now: datetime) -> Contact:
    """`contacts add`: a new contact only; an address already known is an error, not a merge."""
    for address in entry.emails:
        row = store.connection.execute("SELECT contact_id FROM contact_emails WHERE address = ?", (address,)).fetchone()
        if row:
            raise UsageError(f"{address} already belongs to {_name_of(store.connection, row[0])}")
    import_entries(store, [entry], now)
    return resolve(store, entry.emails[0])
