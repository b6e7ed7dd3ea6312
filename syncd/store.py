"""The SQLite store: interactions, derived touches, sync state and holds.

Interactions are keyed by (source, item id), so replaying a sync replaces rows instead
of adding them, and a source's cursor is written in the same transaction as the rows
it covers: a crash at any point leaves either the old state or the new one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Sequence

from syncd.errors import SourceError, StoreError
from syncd.migrations import migrate
from syncd.newest_touches import touches_changed
from syncd.store_errors import store_error
from syncd.records import Batch, Meeting, Record, from_json, record_time, to_json
from syncd.touches import TouchRules, touched_addresses


MESSAGE_KIND = "email"
SKIPPED_META = "skipped:"
ACCEPT_EMPTY_META = "accept_empty:"
CONTACTS_ERROR_META = "contacts_error"

# In the order _source_state unpacks them.
_SOURCE_COLUMNS = "name, kind, state, last_attempt_at, last_success_at, error, items, failures, cursor, own_addresses"

_encode = json.JSONEncoder(separators=(",", ":")).encode


def ts(value: datetime | None) -> int | None:
    """Epoch seconds in UTC: compact, and compares correctly in SQL."""
    return None if value is None else int(value.timestamp())


def dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class SourceState:
    name: str
    kind: str
    state: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    error: str | None
    items: int
    failures: int
    cursor: dict[str, Any] | None
    own_addresses: list[str]


# How long a writer waits for another (the daemon, a `syncd sync`) before "database is locked".
BUSY_TIMEOUT_S = 30


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path):
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Private by default: the folder 0700, the file and its WAL companions 0600.

        The store is probed for writing here, so a read-only, damaged or unreachable store
        fails every command at once with one line, never half-way through a sync.
        """
        path = Path(path)
        connection: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            old_umask = os.umask(0o077)
            try:
                connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
                connection.execute("PRAGMA journal_mode=WAL")
            finally:
                os.umask(old_umask)
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=NORMAL")
            migrate(connection)
            _probe_write(connection)
            return cls(connection, path)
        except (sqlite3.Error, OSError, RuntimeError) as error:
            if connection is not None:  # a failed open leaves no file handle behind (a daemon retries)
                connection.close()
            if isinstance(error, RuntimeError):  # migrations: a store from a newer syncd
                raise StoreError(f"{path}: cannot open the store: {error}") from None
            raise store_error(path, error, "cannot open the store") from None

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE so two syncd processes never interleave half-written work."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
            self.connection.execute("COMMIT")
        except BaseException:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        _crash_point()

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str, connection: sqlite3.Connection | None = None) -> None:
        (connection or self.connection).execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- sources -------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState | None:
        row = self.connection.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE name = ?", (name,)).fetchone()
        return _source_state(row) if row else None

    def source_states(self) -> list[SourceState]:
        rows = self.connection.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY name").fetchall()
        return [_source_state(row) for row in rows]

    def ensure_source(self, name: str, kind: str) -> None:
        self.connection.execute("INSERT OR IGNORE INTO sources(name, kind) VALUES (?, ?)", (name, kind))

    def record_attempt(self, name: str, kind: str, now: datetime) -> None:
        self.ensure_source(name, kind)
        self.connection.execute("UPDATE sources SET last_attempt_at = ? WHERE name = ?", (ts(now), name))

    def record_success(self, name: str, now: datetime) -> None:
        with self.transaction() as connection:
            items = connection.execute("SELECT COUNT(*) FROM interactions WHERE source = ?", (name,)).fetchone()[0]
            connection.execute(
                "UPDATE sources SET state = 'ok', last_success_at = ?, error = NULL, failures = 0, items = ? "
                "WHERE name = ?",
                (ts(now), items, name),
            )

    def record_failure(self, name: str, state: str, error: str) -> None:
        self.connection.execute(
            "UPDATE sources SET state = ?, error = ?, failures = failures + 1 WHERE name = ?", (state, error, name)
        )

    def reset_cursor(self, name: str) -> None:
        self.connection.execute("UPDATE sources SET cursor = NULL WHERE name = ?", (name,))

    def own_addresses(self) -> set[str]:
        """Addresses the providers say are the user's (e.g. the Gmail profile)."""
        found: set[str] = set()
        for (value,) in self.connection.execute("SELECT own_addresses FROM sources"):
            found.update(json.loads(value))
        return found

    # --- interactions ----------------------------------------------------------------

    def known_ids(self, source: str, scope: str | None = None) -> set[str]:
        if scope is None:
            rows = self.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source,))
        else:
            rows = self.connection.execute(
                "SELECT item_id FROM interactions WHERE source = ? AND scope = ?", (source, scope)
            )
        return {row[0] for row in rows}

    def apply_batch(self, source: str, batch: Batch, rules: TouchRules, accept_empty: bool = False) -> int:
        """Rows, their derived touches and the cursor land together or not at all.

        Raises EmptyRead (and writes nothing) when the batch ends a full read that found
        nothing while the store holds rows of that scope, unless `accept_empty`.
        """
        with self.transaction() as connection:
            if batch.own_addresses is not None:
                connection.execute(
                    "UPDATE sources SET own_addresses = ? WHERE name = ?",
                    (json.dumps(sorted(batch.own_addresses)), source),
                )
            dropped = _dropped_scopes(connection, source, batch)
            if not accept_empty:
                _refuse_empty_read(connection, source, batch, dropped)
            gone = list(batch.deletes or [])
            for scope in dropped:
                query = "SELECT item_id FROM interactions WHERE source = ? AND scope = ?"
                gone += _ids(connection, query, source, scope)
            _delete_unless_mail(connection, source, gone)
            self._write_records(connection, source, batch.upserts, batch.scope, batch.generation, rules)
            if batch.prune:
                query = "SELECT item_id FROM interactions WHERE source = ? AND scope = ? AND generation != ?"
                _delete_unless_mail(connection, source, _ids(connection, query, source, batch.scope, batch.generation))
            connection.execute(
                "UPDATE sources SET cursor = ? WHERE name = ?",
                (json.dumps(batch.cursor) if batch.cursor is not None else None, source),
            )
            if batch.skipped is not None:
                self.set_meta(SKIPPED_META + source, str(batch.skipped), connection)
        return len(batch.upserts)

    def accept_empty_once(self, source: str) -> None:
        """`sync --accept-empty SOURCE`: the source's next empty full read is accepted."""
        self.set_meta(ACCEPT_EMPTY_META + source, "1")

    def take_empty_acceptance(self, source: str) -> bool:
        """Whether an empty read of the source is accepted this time; the acceptance is used up."""
        deleted = self.connection.execute("DELETE FROM meta WHERE key = ?", (ACCEPT_EMPTY_META + source,))
        return deleted.rowcount > 0

    def set_contacts_error(self, error: str | None) -> None:
        """The last import of the contacts files: its one-line failure, or cleared."""
        self.set_meta(CONTACTS_ERROR_META, error or "")

    def contacts_error(self) -> str | None:
        return self.meta(CONTACTS_ERROR_META) or None

    def skipped(self, source: str) -> int:
        """How many unreadable items the source's last read skipped (shown in `status`)."""
        return int(self.meta(SKIPPED_META + source) or 0)

    def _write_records(
        self,
        connection: sqlite3.Connection,
        source: str,
        records: Sequence[Record],
        scope: str,
        generation: str,
        rules: TouchRules,
    ) -> None:
        if not records:
            return  # nothing written, and the cached newest touches stay valid (a no-change sync)
        records = list({record.item_id: record for record in records}.values())  # last version wins
        rows = []
        touch_rows: list[tuple[str, int | None, str, str, str]] = []
        for record in records:
            at = ts(record_time(record))
            end_at = ts(record.end) if isinstance(record, Meeting) else at
            rows.append((source, record.item_id, record.kind, at, end_at, scope, generation, _encode(to_json(record))))
            touch_rows.extend(
                (address, at, source, record.item_id, record.kind) for address in touched_addresses(record, rules)
            )
        ids = [(source, record.item_id) for record in records]
        connection.executemany("DELETE FROM touches WHERE source = ? AND item_id = ?", ids)
        connection.executemany("INSERT OR REPLACE INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        connection.executemany("INSERT OR REPLACE INTO touches VALUES (?, ?, ?, ?, ?)", touch_rows)
        touches_changed(connection)

    def ensure_touch_rules(self, rules: TouchRules) -> bool:
        """Re-derive every touch when the rules changed since they were last derived."""
        fingerprint = rules.fingerprint()
        if self.meta("touch_rules") == fingerprint:
            return False
        with self.transaction() as connection:
            connection.execute("DELETE FROM touches")
            cursor = connection.execute("SELECT source, item_id, kind, at, payload FROM interactions")
            while chunk := cursor.fetchmany(5000):
                touch_rows: list[tuple[str, int, str, str, str]] = []
                for source, item_id, kind, at, payload in chunk:
                    record = from_json(json.loads(payload))
                    touch_rows.extend(
                        (address, at, source, item_id, kind) for address in touched_addresses(record, rules)
                    )
                connection.executemany("INSERT OR REPLACE INTO touches VALUES (?, ?, ?, ?, ?)", touch_rows)
            touches_changed(connection)
            self.set_meta("touch_rules", fingerprint, connection)
        return True

    def interaction(self, source: str, item_id: str) -> Record | None:
        row = self.connection.execute(
            "SELECT payload FROM interactions WHERE source = ? AND item_id = ?", (source, item_id)
        ).fetchone()
        return from_json(json.loads(row[0])) if row else None

    def meetings_between(self, start: datetime, end: datetime) -> list[Meeting]:
        """Meetings overlapping [start, end), for busy time and out-of-office days."""
        rows = self.connection.execute(
            "SELECT payload FROM interactions WHERE kind = 'meeting' AND at < ? AND end_at > ?", (ts(end), ts(start))
        )
        return [from_json(json.loads(row[0])) for row in rows]  # type: ignore[misc]

    def interaction_count(self) -> int:
        return self.connection.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]


class EmptyRead(SourceError):
    """A full read found no items while the store holds items of that source."""

    def __init__(self, source: str, scope: str, held: int):
        where = f"{scope}: " if scope and not source.endswith(scope) else ""
        shown = f"'{source}'" if any(char.isspace() or char in "'\"" for char in source) else source
        super().__init__(
            f"{where}read 0 items but the store has {held} from it (an emptied or replaced file?); "
            f"if this is right, run `syncd sync --accept-empty {shown}`"
        )


def _ids(connection: sqlite3.Connection, query: str, *args: str) -> list[str]:
    return [row[0] for row in connection.execute(query, args)]


def _delete_unless_mail(connection: sqlite3.Connection, source: str, item_ids: list[str]) -> None:
    """Mail is history: a message that left its mailbox was still written (or received)."""
    rows = [(source, item_id, MESSAGE_KIND) for item_id in item_ids]
    connection.executemany("DELETE FROM interactions WHERE source = ? AND item_id = ? AND kind != ?", rows)
    connection.executemany("DELETE FROM touches WHERE source = ? AND item_id = ? AND kind != ?", rows)
    if rows:
        touches_changed(connection)


def _refuse_empty_read(connection: sqlite3.Connection, source: str, batch: Batch, dropped: set[str]) -> None:
    """vdirsyncer's rule: a storage that suddenly reads empty is far more often a broken
    file (emptied, rotated, replaced) than a user who deleted everything; ask first.
    Runs before the batch writes anything."""
    count = "SELECT COUNT(*) FROM interactions WHERE source = ? AND scope = ?"
    if batch.found == 0:
        held = connection.execute(count, (source, batch.scope)).fetchone()[0]
        if held:
            raise EmptyRead(source, batch.scope, held)
    elif batch.found is None and batch.prune and not batch.upserts:
        # a listing paged over several batches: it found items if an earlier page wrote any
        found, held = connection.execute(
            "SELECT COALESCE(SUM(generation = ?), 0), COALESCE(SUM(generation != ?), 0) FROM interactions"
            " WHERE source = ? AND scope = ?",
            (batch.generation, batch.generation, source, batch.scope),
        ).fetchone()
        if held and not found:
            raise EmptyRead(source, batch.scope, held)
    if dropped and not batch.upserts:
        counts = dict(
            connection.execute("SELECT scope, COUNT(*) FROM interactions WHERE source = ? GROUP BY scope", (source,))
        )
        held = sum(count for scope, count in counts.items() if scope in dropped)
        if held and not any(count for scope, count in counts.items() if scope not in dropped):
            raise EmptyRead(source, "", held)


def _dropped_scopes(connection: sqlite3.Connection, source: str, batch: Batch) -> set[str]:
    """The scopes a batch removes: named ones, and with a full listing every scope not listed."""
    dropped = set(batch.drop_scopes or [])
    if batch.scopes is not None:
        held = _ids(connection, "SELECT DISTINCT scope FROM interactions WHERE source = ?", source)
        dropped.update(set(held) - set(batch.scopes))
    return dropped


_commits = 0


def _probe_write(connection: sqlite3.Connection) -> None:
    """SQLite opens a file it may not write read-only without a word; find out now."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('write_probe', '')")
    finally:
        connection.execute("ROLLBACK")


def _crash_point() -> None:
    """Crash-safety tests kill the process right after the N-th commit (SYNCD_FAULT_KILL_AFTER_COMMITS)."""
    global _commits
    limit = os.environ.get("SYNCD_FAULT_KILL_AFTER_COMMITS")
    if limit:
        _commits += 1
        if _commits >= int(limit):
            os.kill(os.getpid(), signal.SIGKILL)


def _source_state(row: tuple) -> SourceState:
    name, kind, state, attempt, success, error, items, failures, cursor, own = row
    return SourceState(
        name=name,
        kind=kind,
        state=state,
        last_attempt_at=dt(attempt),
        last_success_at=dt(success),
        error=error,
        items=items,
        failures=failures,
        cursor=json.loads(cursor) if cursor else None,
        own_addresses=json.loads(own),
    )
