"""What the daemon tells others: heartbeat and problems in the store (for `syncd status`), STATUS= to systemd."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from syncd.engine import CycleResult
from syncd.heartbeat import (
    META_CONFIG_ERROR,
    META_HEARTBEAT,
    META_NEXT_RUN,
    META_PID,
    META_SYNC_ERROR,
    META_SYNC_EVERY,
)
from syncd.sdnotify import Notifier
from syncd.store import BUSY_TIMEOUT_S, Store
from syncd.timeutil import format_duration, iso

log = logging.getLogger("syncd.daemon")

HEARTBEAT_BUSY_MS = 2000  # a long `syncd sync` transaction: skip this beat rather than stall the loop


class StatusWriter:
    def __init__(self, store: Callable[[], Store | None], zone: tzinfo, notifier: Notifier) -> None:
        self.store = store
        self.zone = zone
        self.notifier = notifier
        self.summary: str | None = None  # the last sync's one-line report, sent to systemd once the turn is over

    def heartbeat(self, now: datetime, next_sync_at: datetime, sync_every: timedelta) -> None:
        self._write(
            {
                META_PID: str(os.getpid()),
                META_HEARTBEAT: iso(now),
                META_SYNC_EVERY: str(int(sync_every.total_seconds())),
                META_NEXT_RUN: iso(next_sync_at),
            }
        )

    def stopped(self, now: datetime) -> None:
        self._write({META_HEARTBEAT: iso(now)}, remove=(META_PID, META_NEXT_RUN, META_CONFIG_ERROR, META_SYNC_ERROR))

    def config_error(self, message: str | None) -> None:
        """An edited config the daemon refused (None: the running config is the file's)."""
        if message:
            self._write({META_CONFIG_ERROR: message})
        else:
            self._write({}, remove=(META_CONFIG_ERROR,))

    def sync_failed(self, now: datetime, message: str, retry_in: timedelta) -> None:
        self._write({META_SYNC_ERROR: message})
        self.notifier.status(f"sync failed at {self._local(now)}: {message}; retrying in {format_duration(retry_in)}")

    def synced(self, now: datetime, result: CycleResult, backing_off: int) -> None:
        outcomes = result.outcomes
        ok = sum(1 for outcome in outcomes if outcome.ok)
        items = sum(outcome.items for outcome in outcomes)
        parts = [f"last sync {self._local(now)}: {ok}/{len(outcomes)} sources ok, {items} items updated"]
        if result.failed:
            parts.append(f"{len(result.failed)} failing")
        if backing_off:
            parts.append(f"{backing_off} backing off")
        self.summary = "; ".join(parts)
        (log.info if result.changed or result.failed else log.debug)("%s", self.summary)
        self._write({}, remove=(META_SYNC_ERROR,))

    def send(self, next_sync_at: datetime) -> None:
        """STATUS= once per finished sync, with when the next one is due."""
        if self.summary is None:
            return
        self.notifier.status(f"{self.summary}; next {self._local(next_sync_at)}")
        self.summary = None

    def _local(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%H:%M:%S")

    def _write(self, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        store = self.store()
        if store is None:
            return
        try:
            if store.connection.in_transaction:  # a job abandoned mid-transaction by a stop
                store.connection.execute("ROLLBACK")
            store.connection.execute(f"PRAGMA busy_timeout = {HEARTBEAT_BUSY_MS}")
            try:
                with store.transaction() as connection:
                    for key, value in values.items():
                        store.set_meta(key, value, connection)
                    for key in remove:
                        connection.execute("DELETE FROM meta WHERE key = ?", (key,))
            finally:
                store.connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        except sqlite3.Error as error:
            log.debug("daemon status not written: %s", error)
