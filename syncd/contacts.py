"""Contacts: how an import merges into the contacts syncd knows, and what the user's words point at.

The SQL lives in :mod:`syncd.contacts_store`; its reading functions are re-exported here
so callers ask one module about contacts.  A contact's last touch is always computed from
interactions and manual touches at query time, so it can be explained (which meeting or
message) and never drifts.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from syncd import contacts_store
from syncd.addresses import normalize
from syncd.contacts_store import add_manual_touch, last_touches, list_contacts, set_snooze, upcoming_meeting_contacts
from syncd.errors import UsageError
from syncd.models import Contact, ContactEntry, LastTouch
from syncd.store import Store, ts

log = logging.getLogger("syncd.contacts")

__all__ = [
    "Contact",
    "LastTouch",
    "add_contact",
    "add_manual_touch",
    "edit_contact",
    "import_entries",
    "import_file_entries",
    "last_touches",
    "list_contacts",
    "remove_contact",
    "resolve",
    "set_snooze",
    "slugify",
    "upcoming_meeting_contacts",
]


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "contact"


def import_entries(
    store: Store, entries: Iterable[ContactEntry], now: datetime, own: frozenset[str] = frozenset()
) -> tuple[int, int]:
    """Merge entries by address in one transaction: all of them land, or none.

    An entry whose addresses belong to an existing contact updates it (the fields it
    gives replace the old ones); an address claimed by two contacts is an error that
    names both, because silently picking one would misattribute every touch. The user's
    `own` addresses are left out (see :func:`without_own`).
    """
    with store.transaction():
        created, updated, _ = _merge(store, without_own(entries, own), now)
    return created, updated


def import_file_entries(
    store: Store, entries: Iterable[ContactEntry], now: datetime, own: frozenset[str] = frozenset()
) -> list[str]:
    """The configured `[contacts] files`: merge them, and archive the contacts they no longer give.

    Returns the ids archived now.  Only contacts a configured file gave are archived (one
    added by hand stays), and a read that gives nobody archives nobody: an emptied file is
    far more often a mistake than a network that vanished overnight.
    """
    entries = without_own(entries, own, logging.INFO)
    with store.transaction():
        _, _, present = _merge(store, entries, now)
        contacts_store.mark_from_files(store, present)
        archived = contacts_store.archive_missing(store, present, now) if entries else []
    for contact_id in archived:
        log.info("archived %s: no configured contacts file lists them any more", _name_of(store, contact_id))
    return archived


def without_own(
    entries: Iterable[ContactEntry], own: frozenset[str], level: int = logging.WARNING
) -> list[ContactEntry]:
    """The entries without the user's own addresses, which are never a contact's.

    Logged, not refused: an address book exported with the user's own card in it is common,
    and one card must not stop the rest importing. An entry left with no address is skipped.
    `level`: the `[contacts] files` are read on every sync, so there it is an INFO line, not a
    WARNING in the journal every 15 minutes.
    """
    kept = []
    for entry in entries:
        mine = [address for address in entry.emails if address in own]
        if not mine:
            kept.append(entry)
            continue
        rest = [address for address in entry.emails if address not in own]
        skipped = "" if rest else "; the entry is skipped"
        log.log(level, "%s: %s is your own address, never a contact's%s", entry.origin, ", ".join(mine), skipped)
        if rest:
            kept.append(replace(entry, emails=rest))
    return kept


def _merge(store: Store, entries: list[ContactEntry], now: datetime) -> tuple[int, int, set[str]]:
    """Within the caller's transaction: (created, updated, ids of every contact the entries gave)."""
    problems = _conflicts_within(entries)
    created = updated = 0
    present: set[str] = set()
    for entry in entries:
        owners = contacts_store.address_owners(store, entry.emails)
        if len(owners) > 1:
            names = " and ".join(sorted(_name_of(store, owner) for owner in owners))
            problems.append(
                f"{entry.origin}: its addresses belong to two contacts, {names}; give each address to one of them"
            )
            continue
        contact_id = owners.pop() if owners else None
        if contact_id is not None and entry.name is not None:
            contact_id = _named_owner(store, entry, contact_id)
        if contact_id is None:
            if entry.name is None:
                problems.append(f"{entry.origin}: name: a new contact needs a name")
                continue
            contact_id = _new_id(store, entry.name)
            contacts_store.insert_contact(store, contact_id, entry.name, now)
            created += 1
        else:
            updated += 1
        _apply_entry(store, contact_id, entry, now)
        present.add(contact_id)
    if problems:
        raise _ImportFailed(problems)
    return created, updated, present


def _named_owner(store: Store, entry: ContactEntry, owner: str) -> str:
    """The contact an entry updates when its name is not its addresses' owner's.

    When the name is another contact's, the addresses move to that contact; otherwise the
    owner is renamed.  Either way the user is told, naming both: an address that changes
    hands silently would hand every past touch to someone else.
    """
    assert entry.name is not None
    if entry.name.casefold() == (contacts_store.contact_name(store, owner) or "").casefold():
        return owner
    named = [contact_id for contact_id in contacts_store.ids_named(store, entry.name) if contact_id != owner]
    if len(named) == 1:
        log.warning(
            "%s: moves %s from %s to %s",
            entry.origin,
            "an address" if len(entry.emails) == 1 else "addresses",
            _name_of(store, owner),
            _name_of(store, named[0]),
        )
        contacts_store.remove_addresses(store, entry.emails)
        return named[0]
    log.warning("%s: renames %s to %s (it gives their address)", entry.origin, _name_of(store, owner), entry.name)
    return owner


def _conflicts_within(entries: list[ContactEntry]) -> list[str]:
    """Two entries of one import claiming the same address, named so the user can pick."""
    claimed: dict[str, ContactEntry] = {}
    problems = []
    for entry in entries:
        for address in entry.emails:
            first = claimed.setdefault(address, entry)
            if first is not entry:
                problems.append(
                    f"{entry.origin}: {address} is claimed by both {first.name or 'an unnamed contact'} "
                    f"({first.origin}) and {entry.name or 'an unnamed contact'}"
                )
    return problems


class _ImportFailed(UsageError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems) + "\nnothing was imported")


def _name_of(store: Store, contact_id: str) -> str:
    name = contacts_store.contact_name(store, contact_id)
    return f"{name} ({contact_id})" if name is not None else contact_id


def _new_id(store: Store, name: str) -> str:
    base = slugify(name)
    candidate, number = base, 2
    while contacts_store.id_taken(store, candidate):
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _apply_entry(store: Store, contact_id: str, entry: ContactEntry, now: datetime) -> None:
    """The fields the entry gives replace the old ones; its addresses replace the old set."""
    updates: dict[str, object] = {"updated_at": ts(now)}
    for name in ("name", "tier", "cadence_days", "notes"):
        value = getattr(entry, name)
        if value is not None:
            updates[name] = value
    if entry.tags is not None:
        updates["tags"] = json.dumps(entry.tags)
    if entry.ignore is not None:
        updates["ignore"] = int(entry.ignore)
    contacts_store.update_contact(store, contact_id, updates)
    written = dict(zip((normalize(item) for item in entry.written_emails), entry.written_emails, strict=False))
    contacts_store.replace_emails(
        store, contact_id, [(address, written.get(address, address)) for address in entry.emails]
    )


def resolve(store: Store, query: str) -> Contact:
    """An id, any address, or a case-insensitive name; ambiguity is a usage error.

    Archived contacts are found too (`why`, `contacts show` and `contacts remove` work on them).
    """
    contacts = list_contacts(store, include_archived=True)
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
    listed = [contact for contact in by_name if contact.archived_at is None]
    if len(by_name) == 1 or len(listed) == 1:  # an archived namesake (not listed) does not make a name ambiguous
        return by_name[0] if len(by_name) == 1 else listed[0]
    if not by_name:
        raise UsageError(f"no contact matches {query!r} (try an id, an address or a name from `syncd contacts list`)")
    candidates = "\n".join(f"  {contact.id}  {contact.name} <{contact.email}>" for contact in by_name)
    raise UsageError(f"{query!r} matches several contacts; use an id or address:\n{candidates}")


def add_contact(store: Store, entry: ContactEntry, now: datetime, own: frozenset[str] = frozenset()) -> Contact:
    """`contacts add`: a new contact only; an address already known, or the user's own, is an error, not a merge."""
    for address in entry.emails:
        if address in own:
            raise UsageError(f"{address} is your own address; you are never your own contact")
        owners = contacts_store.address_owners(store, [address])
        if owners:
            raise UsageError(f"{address} already belongs to {_name_of(store, owners.pop())}")
    import_entries(store, [entry], now)
    return resolve(store, entry.emails[0])


@dataclass(frozen=True)
class ContactEdit:
    """`contacts edit`: what to change; None leaves a field as it is."""

    name: str | None = None
    tier: str | None = None
    cadence_days: int | None = None
    notes: str | None = None
    tags: list[str] | None = None
    ignore: bool | None = None
    add_emails: list[str] = field(default_factory=list)
    remove_emails: list[str] = field(default_factory=list)


def edit_contact(
    store: Store, contact: Contact, edit: ContactEdit, now: datetime, own: frozenset[str] = frozenset()
) -> Contact:
    """Change one contact in one transaction; an address of someone else or the user's own, or the last one,
    is refused."""
    added = [_address(item) for item in edit.add_emails]
    removed = {_address(item) for item in edit.remove_emails}
    for address in added:
        if address in own:
            raise UsageError(f"--add-email {address}: your own address; you are never your own contact")
        owners = contacts_store.address_owners(store, [address]) - {contact.id}
        if owners:
            raise UsageError(f"--add-email {address}: already belongs to {_name_of(store, owners.pop())}")
    unknown = removed - set(contact.emails)
    if unknown:
        raise UsageError(f"--remove-email {', '.join(sorted(unknown))}: not an address of {contact.name}")
    written = contacts_store.written_emails(store, contact.id)
    written.update({_address(item): item.strip() for item in edit.add_emails})
    emails = [address for address in [*contact.emails, *added] if address not in removed]
    emails = list(dict.fromkeys(emails))
    if not emails:
        raise UsageError(f"--remove-email: {contact.name} needs at least one address (use `contacts remove`)")
    updates: dict[str, object] = {"updated_at": ts(now)}
    for name in ("name", "tier", "cadence_days", "notes"):
        if getattr(edit, name) is not None:
            updates[name] = getattr(edit, name)
    if edit.tags is not None:
        updates["tags"] = json.dumps([tag for tag in edit.tags if tag])
    if edit.ignore is not None:
        updates["ignore"] = int(edit.ignore)
    with store.transaction():
        contacts_store.update_contact(store, contact.id, updates)
        contacts_store.replace_emails(store, contact.id, [(address, written[address]) for address in emails])
    return resolve(store, contact.id)


def remove_contact(store: Store, contact: Contact) -> None:
    """Forget the contact (its addresses and manual touches); the caller removes its holds first."""
    with store.transaction():
        contacts_store.delete_contact(store, contact.id)


def _address(text: str) -> str:
    address = normalize(text)
    if not address:
        raise UsageError(f"{text!r}: not an email address")
    return address
