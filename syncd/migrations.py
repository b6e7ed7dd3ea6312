"""Schema versions, applied in order; never edit a released step, add a new one."""

from __future__ import annotations

import sqlite3

STEPS: list[str] = [
    # 1: the first release.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT,
        cadence_days INTEGER,
        notes TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        ignore INTEGER NOT NULL DEFAULT 0,
        snoozed_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE contact_emails (
        address TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        written TEXT NOT NULL
    );
    CREATE INDEX contact_emails_contact ON contact_emails(contact_id);
    CREATE TABLE interactions (
        source TEXT NOT NULL,
        item_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        end_at INTEGER NOT NULL,
        scope TEXT NOT NULL DEFAULT '',
        generation TEXT NOT NULL DEFAULT '',
        payload TEXT NOT NULL,
        PRIMARY KEY (source, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX interactions_scope ON interactions(source, scope, generation);
    CREATE INDEX interactions_time ON interactions(kind, at);
    CREATE TABLE touches (
        address TEXT NOT NULL,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        item_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (source, item_id, address)
    ) WITHOUT ROWID;
    CREATE INDEX touches_address ON touches(address, at);
    CREATE TABLE manual_touches (
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
    );
    CREATE INDEX manual_touches_contact ON manual_touches(contact_id, at);
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        cursor TEXT,
        own_addresses TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'never',
        last_attempt_at INTEGER,
        last_success_at INTEGER,
        error TEXT,
        items INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE holds (
        event_id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        cycle INTEGER,
        state TEXT NOT NULL DEFAULT 'booked',
        created_at INTEGER NOT NULL,
        closed_at INTEGER,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX holds_contact ON holds(contact_id, state);
    """,
    # 2: the last-touch query reads (address, at, kind) from the index alone.
    """
    CREATE INDEX touches_address_at_kind ON touches(address, at, kind);
    DROP INDEX touches_address;
    """,
    # 3: contacts that vanish from the configured contacts files are archived, not deleted;
    # only contacts those files gave are (existing rows start as not from the files).
    """
    ALTER TABLE contacts ADD COLUMN archived_at INTEGER;
    ALTER TABLE contacts ADD COLUMN from_files INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: busy time reads the meetings that end after the planning window opens; without
    # this index every planning run (and `report`, `why`) scanned every past meeting.
    """
    CREATE INDEX interactions_kind_end ON interactions(kind, end_at);
    """,
    # 5: each contact address's newest touch, derived once and kept while `touches` and the
    # instant allow (syncd/newest_touches.py): every read-only command needs it.
    """
    CREATE TABLE newest_touches (
        address TEXT PRIMARY KEY,
        at INTEGER,
        kind TEXT,
        source TEXT,
        item_id TEXT
    ) WITHOUT ROWID;
    """,
]


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the schema to the newest version, one transaction per step."""
    current = connection.execute("PRAGMA user_version").fetchone()[0]
    if current > len(STEPS):
        raise RuntimeError(f"the store was written by a newer syncd (schema {current}, this one knows {len(STEPS)})")
    for version in range(current + 1, len(STEPS) + 1):
        with connection:
            # IMMEDIATE, then re-read: two processes opening a new store at once must not
            # both apply the same step.
            connection.execute("BEGIN IMMEDIATE")
            if connection.execute("PRAGMA user_version").fetchone()[0] >= version:
                continue
            for statement in STEPS[version - 1].split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version}")
    return len(STEPS)
