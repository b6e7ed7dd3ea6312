"""Each contact address's newest touch, derived from `touches` and cached in the store.

Every read-only command needs it for thousands of addresses, and deriving it is a step
back along the (address, at) index for each one. The answer can change in two ways only:
`touches` is written, or `now` passes a touch that was still ahead (a meeting starts). So
the derived rows are kept in `newest_touches` with the `touches` version they were derived
at and the instants they hold for, [derived at, the next touch after that); a read that
finds another version, an instant outside, or an address without a row derives again.
Every write to `touches` calls :func:`touches_changed` in its own transaction, and a
test holds every such statement in `syncd/` to that.
"""

from __future__ import annotations

import json
import logging
import sqlite3

log = logging.getLogger("syncd.store")

VERSION_KEY = "touches_version"
CACHE_KEY = "newest_touches"

# (contact id, at, kind, source, item id): one contact address's newest touch
Row = tuple[str, int, str, str, str]

# Per contact address the newest touch at or before ?: one step back along the index. The
# addresses go in the index's order, so each page of it is read once. At the same instant the
# last in (kind, source, item) order is the newest; an address without a touch gets NULLs.
_DERIVE = """
    SELECT e.address, e.contact_id, t.at, t.kind, t.source, t.item_id
    FROM contact_emails e LEFT JOIN touches t ON t.address = e.address
     AND (t.at, t.kind, t.source, t.item_id) = (
         SELECT at, kind, source, item_id FROM touches WHERE address = e.address AND at <= ?
         ORDER BY at DESC, kind DESC, source DESC, item_id DESC LIMIT 1)
    ORDER BY e.address"""

# The earliest touch of any contact address after ?: the derived rows hold until then.
_NEXT = """
    SELECT MIN((SELECT at FROM touches WHERE address = e.address AND at > ? ORDER BY at LIMIT 1))
    FROM contact_emails e"""

# The cached rows with a touch, and a row of NULLs for each contact address the cache lacks
# (given to a contact since): cheaper than asking for those in a query of their own.
_CACHED = """
    SELECT e.contact_id, n.at, n.kind, n.source, n.item_id
    FROM contact_emails e LEFT JOIN newest_touches n ON n.address = e.address
    WHERE n.at IS NOT NULL OR n.address IS NULL"""


def touches_changed(connection: sqlite3.Connection) -> None:
    """`touches` was written in this transaction: the cached newest touches no longer hold.

    One statement a batch, never a trigger a row: ingest writes touches by the hundred thousand."""
    connection.execute(
        "INSERT INTO meta(key, value) VALUES (?, '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (VERSION_KEY,),
    )


def newest_rows(connection: sqlite3.Connection, at: int) -> list[Row]:
    """Each contact address's newest touch at or before `at` (epoch seconds), in no order;
    an address without one is left out, a contact with several addresses has a row for each.

    From the cache when it holds for `at`; else derived, and cached when the store takes the
    write at once. A read-only command never waits for a writer (the daemon, a sync) or fails
    because it cannot write: it derives the rows and leaves the cache to the next one."""
    cached = _cached(connection, at)
    if cached is not None:
        return cached
    if connection.in_transaction:  # the caller's transaction: not ours to commit
        return _merged(connection.execute(_DERIVE, (at,)))
    busy = connection.execute("PRAGMA busy_timeout").fetchone()[0]
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute("BEGIN IMMEDIATE")
        refused = None
    except sqlite3.Error as error:  # another process is writing, or the store cannot be written
        refused = error
    finally:
        connection.execute(f"PRAGMA busy_timeout = {busy}")
    if refused is not None:
        log.debug("newest touches derived without caching: %s", refused)
        return _merged(connection.execute(_DERIVE, (at,)))
    derived: list[tuple] | None = None
    try:
        version = _version(connection)
        derived = connection.execute(_DERIVE, (at,)).fetchall()
        until = connection.execute(_NEXT, (at,)).fetchone()[0]
        connection.execute("DELETE FROM newest_touches")
        connection.executemany(
            "INSERT INTO newest_touches VALUES (?, ?, ?, ?, ?)",
            [(address, *touch) for address, _, *touch in derived],
        )
        connection.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (CACHE_KEY, json.dumps([version, at, until]))
        )
        connection.execute("COMMIT")
    except BaseException as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if derived is None or not isinstance(error, sqlite3.Error):
            raise
        log.debug("newest touches not cached: %s", error)
    return _merged(derived)


def _cached(connection: sqlite3.Connection, at: int) -> list[Row] | None:
    """The cached rows when they hold for `at`, else None; read in one snapshot, so a writer
    committing in between cannot pair one version's bookkeeping with another's rows."""
    own = not connection.in_transaction
    if own:
        connection.execute("BEGIN")
    try:
        state = connection.execute("SELECT value FROM meta WHERE key = ?", (CACHE_KEY,)).fetchone()
        if state is None:
            return None
        try:
            version, start, until = json.loads(state[0])
            if version != _version(connection) or at < start or (until is not None and at >= until):
                return None
        except (ValueError, TypeError):  # not what this module writes: derive it again
            return None
        rows = connection.execute(_CACHED).fetchall()
        return None if any(row[1] is None for row in rows) else rows  # an address the cache lacks
    finally:
        if own and connection.in_transaction:
            connection.execute("COMMIT")


def _version(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    return int(row[0]) if row else 0


def _merged(rows: sqlite3.Cursor | list[tuple]) -> list[Row]:
    """Derived rows as the cache gives them: without the address, and only those with a touch."""
    return [(contact_id, *touch) for _, contact_id, *touch in rows if touch[0] is not None]
