"""The holds table: every hold syncd booked, with its state, read and written in narrow steps.

The lifecycle (:mod:`syncd.lifecycle`) decides and :mod:`syncd.holds` applies; the
SQL lives here alone.  Each function runs on the store's connection: the caller opens
the transaction, so one state change is one commit (the crash tests count on that).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from syncd.lifecycle import BOOKED, DELETED, PAST, PENDING, StoredHold
from syncd.planner import SinkHold
from syncd.store import Store, dt, ts

_COLUMNS = "event_id, contact_id, sink, start, end, cycle, state"


def stored_holds(store: Store, sink: str | None = None, states: Sequence[str] = (BOOKED,)) -> list[StoredHold]:
    """Holds in the given states (of one sink, or all), by start time."""
    query = f"SELECT {_COLUMNS} FROM holds WHERE state IN ({','.join('?' * len(states))})"
    params: list[object] = list(states)
    if sink is not None:
        query += " AND sink = ?"
        params.append(sink)
    rows = store.connection.execute(query + " ORDER BY start, event_id", params).fetchall()
    return [StoredHold(row[0], row[1], row[2], _at(row[3]), _at(row[4]), dt(row[5]), row[6]) for row in rows]


def all_event_ids(store: Store) -> set[str]:
    """Every event id syncd ever used, in any state and sink."""
    return {row[0] for row in store.connection.execute("SELECT event_id FROM holds")}


def closed_count(store: Store, contact_id: str, cycle: datetime | None) -> int:
    """Holds of this contact and cycle that the user deleted or that went by."""
    row = store.connection.execute(
        "SELECT COUNT(*) FROM holds WHERE contact_id = ? AND cycle IS ? AND state IN (?, ?)",
        (contact_id, ts(cycle), DELETED, PAST),
    ).fetchone()
    return int(row[0])


def insert(store: Store, hold: StoredHold, now: datetime, reason: str = "") -> None:
    """Write a hold (replacing a row of the same event id)."""
    store.connection.execute(
        "INSERT OR REPLACE INTO holds(event_id, contact_id, sink, start, end, cycle, state, created_at, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hold.event_id,
            hold.contact_id,
            hold.sink,
            ts(hold.start),
            ts(hold.end),
            ts(hold.cycle),
            hold.state,
            ts(now),
            reason,
        ),
    )


def set_state(store: Store, event_id: str, state: str, now: datetime, reason: str = "") -> None:
    store.connection.execute(
        "UPDATE holds SET state = ?, closed_at = ?, reason = ? WHERE event_id = ?", (state, ts(now), reason, event_id)
    )


def set_times(store: Store, event_id: str, start: datetime, end: datetime) -> None:
    store.connection.execute("UPDATE holds SET start = ?, end = ? WHERE event_id = ?", (ts(start), ts(end), event_id))


def mark_booked(store: Store, hold: SinkHold) -> None:
    """The sink has the hold: booked, at the time the sink shows."""
    store.connection.execute(
        "UPDATE holds SET state = ?, start = ?, end = ? WHERE event_id = ?",
        (BOOKED, ts(hold.start), ts(hold.end), hold.event_id),
    )


def delete(store: Store, event_id: str) -> None:
    store.connection.execute("DELETE FROM holds WHERE event_id = ?", (event_id,))


def delete_pending(store: Store, event_id: str) -> None:
    store.connection.execute("DELETE FROM holds WHERE event_id = ? AND state = ?", (event_id, PENDING))


def _at(value: int) -> datetime:
    moment = dt(value)
    assert moment is not None  # start and end are NOT NULL
    return moment
