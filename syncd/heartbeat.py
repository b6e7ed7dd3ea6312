"""The daemon's heartbeat in the store, and what `syncd status` reads from it.

Kept apart from the daemon so that `status` learns whether a daemon runs without
importing the daemon.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, UTC
from typing import Any

from syncd.store import Store

META_PID = "daemon_pid"
META_HEARTBEAT = "daemon_heartbeat_at"
META_NEXT_RUN = "daemon_next_run_at"
META_SYNC_EVERY = "daemon_sync_every"
META_CONFIG_ERROR = "daemon_config_error"  # an edited config the daemon refused; it runs the old one
META_SYNC_ERROR = "daemon_sync_error"  # a whole sync cycle failed (the store, a contacts file)


def daemon_info(store: Store, now: datetime, sync_every: timedelta | None = None) -> dict[str, Any]:
    """What `syncd status` says about the daemon, from the heartbeat in the store.

    `running`: the heartbeat is fresher than 2 × sync_every + 60 s and its pid is alive.
    `next_run_at` is only given while running (a stopped daemon runs nothing).
    """
    pid_text = store.meta(META_PID)
    pid = int(pid_text) if pid_text and pid_text.isdigit() else None
    heartbeat = parse_iso(store.meta(META_HEARTBEAT))
    next_run = parse_iso(store.meta(META_NEXT_RUN))
    if sync_every is None:
        every_text = store.meta(META_SYNC_EVERY)
        sync_every = (
            timedelta(seconds=int(every_text)) if every_text and every_text.isdigit() else timedelta(minutes=15)
        )
    fresh = heartbeat is not None and now - heartbeat <= 2 * sync_every + timedelta(seconds=60)
    running = bool(fresh and pid is not None and pid_alive(pid))
    return {"running": running, "pid": pid, "heartbeat_at": heartbeat, "next_run_at": next_run if running else None}


def daemon_problems(store: Store) -> list[str]:
    """What a running daemon could not do: shown in `status` problems (only while it runs)."""
    found = []
    if config_error := store.meta(META_CONFIG_ERROR):
        found.append(f"daemon: config not reloaded, still running the previous one: {config_error}")
    if sync_error := store.meta(META_SYNC_ERROR):
        found.append(f"daemon: sync failed: {sync_error}")
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
