"""What the read-only commands show: the stable JSON shapes and the words of the terminal tables.

JSON field names are a contract (DESIGN.md, README); add fields, never rename.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from json.encoder import encode_basestring_ascii
from typing import Any

from syncd.cold import ContactStatus
from syncd.contacts import Contact
from syncd.terminal import column_table, table
from syncd.timeutil import local_iso


def contact_json(status: ContactStatus, tz: tzinfo, tier: str, cold: bool) -> dict[str, Any]:
    contact = status.contact
    data: dict[str, Any] = {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "emails": list(contact.emails),
        "tier": tier,
        "cadence_days": status.cadence_days,
        "last_touch_at": local_iso(status.last_touch.at if status.last_touch else None, tz),
        "last_touch_kind": status.last_touch.kind if status.last_touch else None,
    }
    if cold:
        data["overdue_days"] = status.overdue_days
    data.update(
        {
            "ignore": contact.ignore,
            "snoozed_until": local_iso(contact.snoozed_until, tz) if status.snoozed else None,
            "cold": status.cold,
            "notes": contact.notes,
            "tags": list(contact.tags),
        }
    )
    return data


def json_text(value: Any) -> str:
    """`json.dumps(value, indent=2)`, byte for byte, in about three quarters of the time: the
    standard encoder falls back to pure-Python generators once it indents, and `contacts list
    --json` writes some 65,000 values. Anything but str-keyed dicts, lists and JSON scalars
    (NaN and infinities included) goes to the standard encoder whole."""
    parts: list[str] = []
    try:
        _encode(value, "\n", parts)
    except _Unsupported:
        return json.dumps(value, indent=2)
    return "".join(parts)


class _Unsupported(Exception):
    """A value :func:`json_text` leaves to the standard encoder."""


_SCALARS: dict[type, Any] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: {True: "true", False: "false"}.__getitem__,
    type(None): lambda _: "null",
}


def _encode(value: Any, newline: str, parts: list[str]) -> None:
    """Append `value` as JSON indented by two from `newline`; strings, whole numbers, booleans
    and null (nearly every value) are written in place, without a call per value."""
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        parts.append(scalar(value))
    elif isinstance(value, float) and math.isfinite(value):
        parts.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        opening = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unsupported
            scalar = _SCALARS.get(type(item))
            if scalar is None:
                parts.append(opening + encode_basestring_ascii(key) + ": ")
                _encode(item, inner, parts)
            else:
                parts.append(opening + encode_basestring_ascii(key) + ": " + scalar(item))
            opening = "," + inner
        parts.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        opening = "[" + inner
        for item in value:
            scalar = _SCALARS.get(type(item))
            if scalar is None:
                parts.append(opening)
                _encode(item, inner, parts)
            else:
                parts.append(opening + scalar(item))
            opening = "," + inner
        parts.append(newline + "]")
    else:
        raise _Unsupported


def ago(then: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: days first, the usual answer in a table of thousands."""
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    if seconds >= 86400:
        return f"{int(seconds // 86400)}d ago"
    if seconds < 0:
        return "in the future"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h ago"
    if seconds >= 60:
        return f"{int(seconds // 60)}m ago"
    return "just now"


def describe_touches(statuses: Iterable[ContactStatus], now: datetime, tz: tzinfo) -> list[str]:
    """Each status's last touch as a table shows it, `2026-05-30 (email, 2d ago)`, or `never`.

    A whole column at once: `contacts list` describes 5,000 touches falling on a few hundred
    days, so each local day's text is made once."""
    days: dict[date, str] = {}
    described = []
    for status in statuses:
        touch = status.last_touch
        if touch is None:
            described.append("never")
            continue
        local = touch.at.astimezone(tz)
        day = days.get(local.date())
        if day is None:
            day = days[local.date()] = local_day(local)
        described.append(f"{day} ({touch.kind}, {ago(touch.at, now)})")
    return described


def local_day(moment: datetime) -> str:
    """`moment` as `%Y-%m-%d` without strftime, which costs ten times as much (a table formats
    thousands): the same text from the year 1000 on, strftime's own before it."""
    return moment.date().isoformat() if moment.year >= 1000 else f"{moment:%Y-%m-%d}"


def contact_label(contact: Contact) -> str:
    return f"{contact.name} <{contact.email}>" if contact.email else contact.name


__all__ = [
    "ago",
    "column_table",
    "contact_json",
    "contact_label",
    "describe_touches",
    "json_text",
    "local_iso",
    "table",
]
