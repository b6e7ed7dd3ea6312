"""The contact and last-touch types every layer shares: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Contact:
    """A contact as the store keeps it. Slots: every read-only command builds one a contact."""

    id: str
    name: str
    emails: list[str]
    tier: str | None = None
    cadence_days: int | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    ignore: bool = False
    snoozed_until: datetime | None = None
    archived_at: datetime | None = None  # vanished from the configured contacts files
    from_files: bool = False  # given by a configured contacts file (so archived when it leaves them)

    @property
    def email(self) -> str:
        return self.emails[0] if self.emails else ""

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(slots=True)
class LastTouch:
    """A contact's newest touch. Read-only by convention, not frozen: every read-only command
    builds one per contact (5,000 and more), and a frozen dataclass's `__init__` costs twice
    as much."""

    at: datetime
    kind: str  # meeting | email | manual
    source: str | None
    item_id: str | None
    note: str = ""


@dataclass
class ContactEntry:
    """One contact as a file states it; fields the file leaves out stay None (kept on merge)."""

    origin: str
    emails: list[str]
    written_emails: list[str]
    name: str | None = None
    tier: str | None = None
    cadence_days: int | None = None
    notes: str | None = None
    tags: list[str] | None = None
    ignore: bool | None = None
