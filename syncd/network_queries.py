"""The SQL behind `report` and `contacts suggest`: touches by contact, coffees, and people who are not contacts.

Rows come back as plain tuples of epoch seconds so the report can bucket 100,000 touches
into weeks with integer comparisons; the decisions in :mod:`syncd.network` and
:mod:`syncd.suggest` turn them into meaning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from syncd.lifecycle import BOOKED, PAST
from syncd.store import Store, ts
from syncd.suggest import AddressTouches

MEETING_KIND = "meeting"
MESSAGE_KIND = "email"
MANUAL_KIND = "manual"


def contact_week_counts(
    store: Store, since: datetime, until: datetime, first_week: datetime, offsets: list[tuple[int, int]]
) -> list[tuple[str, int, int, int]]:
    """(contact id, week column, meetings, messages) of the touches in [since, until].

    Weeks are the user's: `offsets` (from :func:`syncd.network.offset_schedule`) turns each
    touch time into local wall-clock seconds, and week 0 starts at `first_week`, a local
    Monday midnight. One count per contact and interaction (a message to two of a
    contact's addresses is one touch, as for the last-touch query); a touch logged by
    hand counts as a meeting. Rows come per contact, by week within each query's part,
    and may repeat a (contact, week) pair; :func:`syncd.network.touches_by_week` sums them.
    Weeks before `first_week` would be negative: `since` must not be earlier.
    """
    case, params = _offset_case(offsets, "at")
    first_local = int(first_week.timestamp()) + _offset_at(offsets, int(first_week.timestamp()))
    touch_case, _ = _offset_case(offsets, "t.at")
    week = f"(t.at + {touch_case} - ?) / 604800"
    # Contacts with one address (nearly all): one row per contact, read in index order with
    # no sort, its touches as a list of codes (week × 2 + 1 for a message) counted in Python:
    # ~5,000 rows instead of ~100,000.
    single = store.connection.execute(
        f"""SELECT e.contact_id, group_concat({week} * 2 + (t.kind = ?))
            FROM contact_emails e CROSS JOIN touches t ON t.address = e.address
            WHERE t.at >= ? AND t.at <= ? AND e.contact_id NOT IN (SELECT contact_id FROM {_SEVERAL})
            GROUP BY e.contact_id""",
        (*params, first_local, MESSAGE_KIND, ts(since), ts(until)),
    )
    rows = _weeks_from_codes(single)
    # Several addresses: one interaction may touch two of them, so DISTINCT first; and the
    # touches logged by hand. Few rows: grouped in SQL.
    rows += store.connection.execute(
        f"""SELECT contact_id, (at + {case} - ?) / 604800 AS week, SUM(kind != ?), SUM(kind = ?)
            FROM (SELECT DISTINCT e.contact_id AS contact_id, t.source, t.item_id, t.at AS at, t.kind AS kind
                  FROM touches t JOIN contact_emails e ON e.address = t.address
                  WHERE t.at >= ? AND t.at <= ? AND e.contact_id IN (SELECT contact_id FROM {_SEVERAL})
                  UNION ALL
                  SELECT contact_id, NULL, NULL, at, ? FROM manual_touches WHERE at >= ? AND at <= ?)
            GROUP BY contact_id, week ORDER BY contact_id, week""",
        (*params, first_local, MESSAGE_KIND, MESSAGE_KIND, ts(since), ts(until), MANUAL_KIND, ts(since), ts(until)),
    ).fetchall()
    return rows


_SEVERAL = "(SELECT contact_id FROM contact_emails GROUP BY contact_id HAVING COUNT(*) > 1)"


def _weeks_from_codes(rows: Iterable[tuple[str, str]]) -> list[tuple[str, int, int, int]]:
    """(contact, "code,code,…") with code = week × 2 + 1 for a message, in any order →
    (contact, week, meetings, messages), weeks rising per contact."""
    result: list[tuple[str, int, int, int]] = []
    for contact_id, codes in rows:
        counted = Counter(map(int, codes.split(",")))
        for code in sorted(counted):
            week, message = divmod(code, 2)
            last = result[-1] if result else None
            if message and last is not None and last[0] == contact_id and last[1] == week:
                result[-1] = (contact_id, week, last[2], counted[code])  # the week's meetings came just before
            else:
                result.append((contact_id, week, 0, counted[code]) if message else (contact_id, week, counted[code], 0))
    return result


def interaction_titles(store: Store, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """The title (meeting) or subject (message) of each (source, item id), one primary-key lookup each."""
    query = (
        "SELECT COALESCE(json_extract(payload, '$.title'), json_extract(payload, '$.subject'))"
        " FROM interactions WHERE source = ? AND item_id = ?"
    )
    titles: dict[tuple[str, str], str | None] = {}
    for key in keys:
        row = store.connection.execute(query, key).fetchone()
        titles[key] = row[0] if row else None
    return titles


def _offset_case(offsets: list[tuple[int, int]], column: str) -> tuple[str, list[int]]:
    """`CASE WHEN column < change THEN offset … ELSE last offset END` and its parameters."""
    if len(offsets) == 1:
        return "?", [offsets[0][1]]
    params: list[int] = []
    for (_, offset), (change, _) in zip(offsets, offsets[1:], strict=False):
        params += [change, offset]
    return "CASE" + f" WHEN {column} < ? THEN ?" * (len(offsets) - 1) + " ELSE ? END", [*params, offsets[-1][1]]


def _offset_at(offsets: list[tuple[int, int]], epoch: int) -> int:
    return next((offset for start, offset in reversed(offsets) if start <= epoch), offsets[0][1])


def meetings_by_week(
    store: Store, since: datetime, until: datetime, first_week: datetime, offsets: list[tuple[int, int]]
) -> dict[int, int]:
    """Week column → how many meetings with (not ignored) contacts started in it, in [since, until].

    Each meeting counts once however many contacts were in it. Ignored contacts are left
    out: a weekly meeting with them is no coffee kept. Weeks as in :func:`contact_week_counts`.
    """
    case, params = _offset_case(offsets, "i.at")
    first_local = int(first_week.timestamp()) + _offset_at(offsets, int(first_week.timestamp()))
    rows = store.connection.execute(  # from the meetings in range (an index), not from every touch
        f"""SELECT (i.at + {case} - ?) / 604800 AS week, COUNT(DISTINCT i.source || char(0) || i.item_id)
            FROM interactions i JOIN touches t ON t.source = i.source AND t.item_id = i.item_id
            JOIN contact_emails e ON e.address = t.address
            JOIN contacts c ON c.id = e.contact_id AND c.ignore = 0
            WHERE i.kind = ? AND i.at >= ? AND i.at <= ?
            GROUP BY week""",
        (*params, first_local, MEETING_KIND, ts(since), ts(until)),
    )
    return dict(rows.fetchall())


def meetings_with(store: Store, contact_ids: Iterable[str], since: datetime, until: datetime) -> list[tuple[str, int]]:
    """(contact id, start) of the meetings with these contacts in [since, until]."""
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    rows = store.connection.execute(
        f"""SELECT e.contact_id, t.at FROM contact_emails e JOIN touches t ON t.address = e.address
            WHERE e.contact_id IN ({",".join("?" * len(ids))}) AND t.kind = ? AND t.at >= ? AND t.at <= ?""",
        (*ids, MEETING_KIND, ts(since), ts(until)),
    )
    return rows.fetchall()


def holds_gone_by(store: Store, since: datetime, until: datetime) -> list[tuple[str, int]]:
    """(contact id, start) of holds that stayed in the calendar until they ended, starting in [since, until]."""
    rows = store.connection.execute(
        "SELECT contact_id, start FROM holds WHERE state IN (?, ?) AND start >= ? AND end <= ?",
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


def display_name_sightings(
    store: Store, addresses: Iterable[str], since: datetime, until: datetime
) -> dict[str, list[tuple[str, int]]]:
    """Per address: (display name, epoch seconds) of each touch in (since, until] whose record named it.

    Read only for the addresses about to be shown, straight from the payload's `names`
    object by SQLite (no record is decoded); rows stored before names were kept give none.
    Normalised addresses never hold a double quote, so one quoted JSON path label is safe.
    """
    wanted = list(dict.fromkeys(addresses))
    found: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = store.connection.execute(
            f"""SELECT t.address, t.at, json_extract(i.payload, '$.names."' || t.address || '"')
                FROM touches t JOIN interactions i ON i.source = t.source AND i.item_id = t.item_id
                WHERE t.address IN ({",".join("?" * len(chunk))}) AND t.at > ? AND t.at <= ?""",
            (*chunk, ts(since), ts(until)),
        )
        for address, at, name in rows:
            if isinstance(name, str):
                found.setdefault(address, []).append((name, at))
    return found
