"""`contacts suggest`: people you keep meeting or writing to directly who are not contacts yet.

Pure: per-address touch counts, display names seen and `now`. The counts come from the
stored touches, which :func:`syncd.touches.judge` derived (direct, not bulk, not role, not
blocklisted, not the user), so a suggestion is judged exactly as a last touch is. The address
rules are checked again here, so an address blocklisted or added to `[user] emails` since the
last sync is left out even before the next sync re-derives the touches.

A suggestion's name is the display name seen most with the address in those touches (the
records keep From/To/Cc names and calendar `CN=`/`displayName`); rows stored before names
were kept, or an address nobody ever named, fall back to a name read from the address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from syncd.addresses import is_blocked, is_role_address
from syncd.textsafe import inert
from syncd.timeutil import local_iso
from syncd.touches import TouchRules

DEFAULT_MIN_TOUCHES = 3
NEW_PEOPLE_DAYS = 14


@dataclass(frozen=True)
class AddressTouches:
    """What the touch rules counted with one address that belongs to no contact (epoch seconds)."""

    address: str
    meetings: int
    messages: int
    first_at: int
    last_at: int
    first_meeting_at: int | None


@dataclass(frozen=True)
class Suggestion:
    email: str
    name: str
    meetings: int
    messages: int
    first_at: datetime
    last_at: datetime

    @property
    def touches(self) -> int:
        return self.meetings + self.messages


def suggestions(rows: list[AddressTouches], rules: TouchRules, min_touches: int) -> list[Suggestion]:
    """People with at least `min_touches` direct touches, most first (then the latest first)."""
    found = [
        _suggestion(row)
        for row in rows
        if row.meetings + row.messages >= min_touches and _may_suggest(row.address, rules)
    ]
    return sorted(found, key=lambda item: (-item.touches, -item.last_at.timestamp(), item.email))


def new_people(rows: list[AddressTouches], rules: TouchRules, now: datetime) -> list[Suggestion]:
    """People first met in the last NEW_PEOPLE_DAYS with no touch before in the look-back: the follow-up to make."""
    since = int((now - timedelta(days=NEW_PEOPLE_DAYS)).timestamp())
    found = [
        _suggestion(row)
        for row in rows
        if row.first_meeting_at is not None and row.first_at >= since and _may_suggest(row.address, rules)
    ]
    return sorted(found, key=lambda item: (-item.first_at.timestamp(), item.email))


def with_names(items: list[Suggestion], sightings: Mapping[str, Iterable[tuple[str, int]]]) -> list[Suggestion]:
    """`items` named by the display name seen most with each address (`sightings`: address →
    (name, epoch seconds) per touch that named it); an address never named keeps its guess.

    The name is made inert here, not only where it is printed: `--add` stores it, and a
    stranger's header must not put a control character into a contact's name."""
    named = []
    for item in items:
        name = name_seen_most(sightings.get(item.email, ()))
        named.append(replace(item, name=inert(name)) if name else item)
    return named


def name_seen_most(sightings: Iterable[tuple[str, int]]) -> str | None:
    """The name given most often; between names given equally often, the one given last.

    People change how their name is written (a married name, a nickname, an accent their old
    mail client dropped), so the latest spelling wins a tie.
    """
    seen: dict[str, tuple[int, int]] = {}  # name → (times, last epoch second)
    for name, at in sightings:
        times, last = seen.get(name, (0, at))
        seen[name] = (times + 1, max(last, at))
    return max(seen, key=seen.__getitem__, default=None)


def name_from_address(address: str) -> str:
    """A readable name from the mailbox: `ada.lovelace@…` → `Ada Lovelace`.

    The fallback when no touch named the address (rows stored before display names were
    kept, calendars without `CN=`), until the user renames the contact.
    """
    local = address.partition("@")[0].split("+", 1)[0]
    words = [word for word in re.split(r"[._\-]+", local) if word and not word.isdigit()]
    return " ".join(word[:1].upper() + word[1:] for word in words) or local or address


def suggestion_json(item: Suggestion, tz: tzinfo) -> dict[str, Any]:
    return {
        "email": item.email,
        "name": item.name,
        "meetings": item.meetings,
        "messages": item.messages,
        "first_at": local_iso(item.first_at, tz),
        "last_at": local_iso(item.last_at, tz),
    }


def _may_suggest(address: str, rules: TouchRules) -> bool:
    return not (address in rules.own_addresses or is_role_address(address) or is_blocked(address, rules.blocklist))


def _suggestion(row: AddressTouches) -> Suggestion:
    return Suggestion(
        email=row.address,
        name=name_from_address(row.address),
        meetings=row.meetings,
        messages=row.messages,
        first_at=datetime.fromtimestamp(row.first_at, UTC),
        last_at=datetime.fromtimestamp(row.last_at, UTC),
    )
