"""The normalised records that sources yield and the store keeps.

Sources only describe what happened; whether it counts as a touch is decided later by
`syncd.touches`, so a rule change never needs a re-download. Records serialise to JSON
so the store can re-derive touches from them.

Display names ride along as metadata (`names`: address → the name its header or calendar
entry gave) so `contacts suggest` can offer the name seen most; they are kept only when they
say more than the address, which keeps the stored payload small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from syncd.addresses import MEMO_MAX_LENGTH, decode_rfc2047, normalize

# (normalised address, display name): at most one name per address, only names worth keeping.
Names = tuple[tuple[str, str], ...]
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Attendee:
    address: str  # normalised
    response: str = "needsAction"  # accepted | declined | tentative | needsAction
    is_resource: bool = False
    is_self: bool = False


@dataclass(frozen=True)
class Meeting:
    item_id: str
    start: datetime
    end: datetime
    attendees: tuple[Attendee, ...] = ()
    organizer: str | None = None
    cancelled: bool = False
    all_day: bool = False
    transparent: bool = False
    title: str | None = None
    names: Names = ()  # of attendees and the organiser (ICS `CN=`, Google `displayName`)
    kind: str = field(default="meeting", init=False)


@dataclass(frozen=True)
class Message:
    item_id: str
    date: datetime
    sender: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bulk: bool = False
    auto_submitted: str | None = None
    labels: tuple[str, ...] = ()
    subject: str | None = None
    headers_cut: bool = False  # the header block was cut at the size cap: recipients unknown
    names: Names = ()  # of From, To and Cc
    kind: str = field(default="email", init=False)


Record = Meeting | Message


def display_names(pairs: Iterable[tuple[str | None, str | None]]) -> Names:
    """The (address, display name) pairs worth storing, the first name given for each address.

    A name that is empty or is itself an address (`"ada@example.com" <ada@example.com>`) says
    nothing the address does not, so it is left out rather than stored in every row.
    """
    kept: dict[str, str] = {}
    for address, name in pairs:
        if address and name and address not in kept:
            text = _memoised_clean_name(name) if len(name) <= MEMO_MAX_LENGTH else _clean_name(name)
            if text:
                kept[address] = text
    return tuple(kept.items())


def _clean_name(name: str) -> str:
    """RFC 2047 words decoded, whitespace runs made one space, surrounding quotes gone, at most
    MAX_NAME_LENGTH characters; "" for an address. Text stays as written otherwise: control
    characters are escaped where names are shown (:mod:`syncd.textsafe`), not here."""
    text = " ".join(decode_rfc2047(name).split()).strip("\"' ")[:MAX_NAME_LENGTH]
    return "" if "@" in text and normalize(text) is not None else text


# A mailbox names the same few thousand people over and over, and decoding an RFC 2047 word
# costs some 40 µs: each distinct name is cleaned once (short names only, as for addresses).
_memoised_clean_name = lru_cache(maxsize=1 << 13)(_clean_name)


def record_time(record: Record) -> datetime:
    return record.start if isinstance(record, Meeting) else record.date


def to_json(record: Record) -> dict[str, Any]:
    """Written out field by field: `dataclasses.asdict` deep-copies, and ingest pays for it per row.
    `names` is left out when there are none (most meetings), as rows written before it were."""
    data: dict[str, Any]
    if isinstance(record, Meeting):
        data = {
            "item_id": record.item_id,
            "start": record.start.isoformat(),
            "end": record.end.isoformat(),
            "attendees": [
                {"address": a.address, "response": a.response, "is_resource": a.is_resource, "is_self": a.is_self}
                for a in record.attendees
            ],
            "organizer": record.organizer,
            "cancelled": record.cancelled,
            "all_day": record.all_day,
            "transparent": record.transparent,
            "title": record.title,
            "kind": record.kind,
        }
    else:
        data = {
            "item_id": record.item_id,
            "date": record.date.isoformat(),
            "sender": list(record.sender),
            "to": list(record.to),
            "cc": list(record.cc),
            "kind": record.kind,
        }
        # Fields at their defaults are left out (from_json gives them back): a mailbox is mostly
        # plain mail, and each byte left out is one the store does not write, 100,000 times.
        if record.bulk:
            data["bulk"] = True
        if record.auto_submitted is not None:
            data["auto_submitted"] = record.auto_submitted
        if record.labels:
            data["labels"] = list(record.labels)
        if record.subject is not None:
            data["subject"] = record.subject
        if record.headers_cut:
            data["headers_cut"] = True
    if record.names:
        data["names"] = dict(record.names)  # {address: name}: one key per name, the smallest JSON
    return data


def from_json(data: dict[str, Any]) -> Record:
    """Rows written before display names were kept have no `names`: they read as none; a message's
    fields at their defaults may be left out (as `to_json` writes them) or written out (older rows)."""
    data = dict(data)
    kind = data.pop("kind")
    data["names"] = tuple(data.pop("names", {}).items())
    if kind == "meeting":
        attendees = tuple(Attendee(**item) for item in data.pop("attendees"))
        return Meeting(attendees=attendees, start=_when(data.pop("start")), end=_when(data.pop("end")), **data)
    for name in ("sender", "to", "cc", "labels"):
        data[name] = tuple(data.get(name, ()))
    return Message(date=_when(data.pop("date")), **data)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Batch:
    """One transaction's worth of a source's changes and the cursor that covers them.

    `scope` groups rows (a file, a calendar); with `prune`, rows of that scope not
    tagged with this batch's `generation` are deleted once the batch lands, which is how
    a full re-read removes items that disappeared. `drop_scopes` removes whole scopes
    (a deleted file).

    Mail rows are history: no batch deletes them (only a Spam/Trash label withdraws their
    touch). A full read that finds nothing while the store holds rows of its scope is
    refused unless the user accepted it, so an emptied or rotated file wipes nothing.
    """

    upserts: Sequence[Record]
    cursor: dict[str, Any] | None
    deletes: Sequence[str] | None = None
    scope: str = ""
    generation: str = ""
    prune: bool = False
    drop_scopes: list[str] | None = None
    scopes: list[str] | None = None  # ends a full listing: every scope the source has; others are dropped
    own_addresses: list[str] | None = None
    found: int | None = None  # on the batch that ends a full read of `scope`: how many items it found
    skipped: int | None = None  # how many unreadable items the source skips as of this batch
