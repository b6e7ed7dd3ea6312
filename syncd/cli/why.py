"""`why CONTACT [--json]`: the touch that set the date, what did not count and why, and the hold."""

from __future__ import annotations

import argparse
import json
from datetime import tzinfo
from typing import Any

from syncd.app import App
from syncd.contacts import resolve
from syncd.explain import explain_contact
from syncd.report import local_iso
from syncd.why import BOOKED, HOW_TOUCHED, Why

REASON_WORDS = {
    "declined": "declined (by you, or by them)",
    "cancelled": "cancelled",
    "all_day": "an all-day event",
    "marked_free": "marked free (transparent)",
    "too_many_people": "more people than max_meeting_size",
    "too_many_recipients": "more To + Cc than max_recipients",
    "bulk": "bulk mail (a list, a newsletter)",
    "role_address": "a role address (info@, noreply@, …)",
    "blocklisted": "on the blocklist",
    "not_direct": "not between you and them directly",
    "spam_or_trash": "in Spam or Trash",
    "auto_submitted": "sent automatically (out-of-office, …)",
    "future": "has not happened yet",
}

HOLD_WORDS = {
    "warm": "they are warm",
    "ignored": "they are ignored",
    "snoozed": "they are snoozed (or resting after a hold)",
    "upcoming_meeting": "you already meet them soon",
    "limits_reached": "the per-day/per-week limits are reached",
    "no_free_slot": "no free slot in the windows",
    "unhealthy": "holds are paused while a source is failing or stale",
    "holds_disabled": "holds are disabled (or no [holds] sink is set)",
    "archived": "they are archived",
    "not_planned_yet": "not planned yet",
}


def register(commands: Any) -> None:
    command = commands.add_parser(
        "why",
        help="why a contact is cold or warm, what did not count, and why they have a hold or none",
        description="The touch that set the contact's last-touch date, every interaction with them that did "
        "not count grouped by reason, and their hold or the reason there is none.",
        epilog="examples:\n"
        "  syncd why ada                   the touch that set Ada's date, what did not count, her hold\n"
        "  syncd why ada@example.com --json   the same as JSON (fields in the README)",
    )
    command.add_argument("contact")
    command.add_argument("--json", action="store_true", help="print the explanation as JSON")
    command.set_defaults(run=cmd_why)


def why_json(why: Why, tz: tzinfo) -> dict[str, Any]:
    """The contract of `why --json` (DESIGN.md "Living with it")."""
    touch = why.last_touch
    hold = why.hold
    return {
        "contact_id": why.contact_id,
        "last_touch": None
        if touch is None
        else {"at": local_iso(touch.at, tz), "kind": touch.kind, "source": touch.source, "title": touch.title},
        "not_counted": [
            {
                "reason": item.reason,
                "count": item.count,
                "latest_at": local_iso(item.latest_at, tz),
                "title": item.title,
            }
            for item in why.not_counted
        ],
        "hold": {
            "state": hold.state,
            "start": local_iso(hold.start, tz),
            "end": local_iso(hold.end, tz),
            "reason": hold.reason,
        },
    }


def cmd_why(app: App, args: argparse.Namespace) -> int:
    contact = resolve(app.store, args.contact)
    why = explain_contact(app, contact)
    tz = app.config.tz
    if args.json:
        print(json.dumps(why_json(why, tz), indent=2))
        return 0
    print(f"{contact.name}  ({contact.id})")
    touch = why.last_touch
    if touch is None:
        print("  last touch: never (no meeting, direct mail or logged touch counted)")
    else:
        what = HOW_TOUCHED[touch.kind]
        title = f" {touch.title!r}" if touch.title else ""
        origin = f" (from {touch.source})" if touch.source else ""
        print(f"  last touch: {touch.at.astimezone(tz):%Y-%m-%d %H:%M}, {what}{title}{origin}")
    if why.not_counted:
        print("  did not count:")
        for item in why.not_counted:
            title = f" {item.title!r}" if item.title else ""
            words = REASON_WORDS.get(item.reason, item.reason)
            print(f"    {item.count:>3} × {words}; latest {item.latest_at.astimezone(tz):%Y-%m-%d}{title}")
    else:
        print("  did not count: nothing (every interaction with them counted)")
    hold = why.hold
    if hold.state == BOOKED:
        assert hold.start is not None and hold.end is not None
        print(f"  hold: {hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}–{hold.end.astimezone(tz):%H:%M}")
    else:
        words = HOLD_WORDS.get(hold.reason or "", hold.reason or "")
        detail = f" ({hold.detail})" if hold.detail and hold.detail != words else ""
        print(f"  hold: none, {words}{detail}")
    return 0
