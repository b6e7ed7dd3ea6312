"""The SQL behind `report` and `contacts suggest`: touches by contact, coffees, and people who are not contacts.

Rows come back as plain tuples of epoch seconds so the report can bucket 100,000 touches
into weeks with integer comparisons; the decisions in :mod:`syncd.network` and
:mod:`syncd.suggest` turn them into meaning.
"""

from __future__ import annotations

from datetime import datetime

from syncd.lifecycle import BOOKED, PAST
from syncd.store import Store, ts
from syncd.suggest import AddressTouches

MEETING_KIND = "meeting"
MANUAL_KIND = "manual"


def contact_touch_times(store: Store, since: datetime, until: datetime) -> list[tuple[str, int, str]]:
    """(contact id, epoch seconds, kind) of every touch in (since, until], manual ones included.

    One row per contact and interaction: a message to two of a contact's addresses is
    one touch, as it is for the last-touch query.
    """
    rows = store.connection.execute(
        """SELECT DISTINCT e.contact_id, t.source, t.item_id, t.at, t.kind
           FROM touches t JOIN contact_emails e ON e.address = t.address
           WHERE t.at > ? AND t.at <= ?""",
        (ts(since), ts(until)),
    )
    result = [(contact_id, at, kind) for contact_id, _source, _item, at, kind in rows]
    manual = store.connection.execute(
        "SELECT contact_id, at FROM manual_touches WHERE at > ? AND at <= ?", (ts(since), ts(until))
    )
    result.extend((contact_id, at, MANUAL_KIND) for contact_id, at in manual)
    return result


def contact_meetings(store: Store, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
    """(meeting key, contact id, epoch seconds) of meetings with contacts that started in (since, until].

    Ignored contacts are left out: a weekly meeting with them is no coffee kept.
    """
    rows = store.connection.execute(
        """SELECT DISTINCT t.source, t.item_id, e.contact_id, t.at
           FROM touches t JOIN contact_emails e ON e.address = t.address
           JOIN contacts c ON c.id = e.contact_id AND c.ignore = 0
           WHERE t.kind = ? AND t.at > ? AND t.at <= ?""",
        (MEETING_KIND, ts(since), ts(until)),
    )
    return [(f"{source}\x00{item_id}", contact_id, at) for source, item_id, contact_id, at in rows]


def holds_gone_by(store: Store, since: datetime, until: datetime) -> list[tuple[str, int]]:
    """(contact id, start) of holds that stayed in the calendar until they ended in (since, until]."""
    rows = store.connection.execute(
        "SELECT contact_id, start FROM holds WHERE state IN (?, ?) AND end > ? AND end <= ?",
        (BOOKED, PAST, ts(since), ts(until)),
    )
    return [(contact_id, start) for contact_id, start in rows]


def non_contact_touches(store: Store, since: datetime, until: datetime) -> list[AddressTouches]:
    """Per address that no contact claims: the touches the rules counted in (since, until].

    The touches table holds exactly what :func:`syncd.touches.touched_addresses` judged
    direct (never role, bulk, blocklisted or own addresses), so suggestions keep the same
    judgement as last touch.
    """
    rows = store.connection.execute(
        """SELECT t.address,
                  SUM(t.kind = ?), SUM(t.kind != ?), MIN(t.at), MAX(t.at),
                  MIN(CASE WHEN t.kind = ? THEN t.at END)
           FROM touches t LEFT JOIN contact_emails e ON e.address = t.address
           WHERE e.address IS NULL AND t.at > ? AND t.at <= ?
           GROUP BY t.address""",
        (MEETING_KIND, MEETING_KIND, MEETING_KIND, ts(since), ts(until)),
    )
    return [AddressTouches(*row) for row in rows]
