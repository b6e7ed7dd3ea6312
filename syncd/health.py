"""Is the synced picture trustworthy right now? Shared by `status` and hold planning.

Booking from stale data nags the user about people they just saw, so the planner asks
the same question `status` answers, and both give the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from syncd.config import Config
from syncd.sources.base import Source
from syncd.store import SourceState, Store

STALE_AFTER_SYNCS = 3


@dataclass(frozen=True)
class SourceHealth:
    name: str
    kind: str
    state: str  # ok | error | needs_auth | never
    stale: bool
    record: SourceState | None
    skipped: int = 0  # unreadable items its last read skipped (the rest synced)
    tz: tzinfo = UTC  # the user's zone: every time shown is in it

    @property
    def problem(self) -> str | None:
        if self.state == "never":
            return f"{self.name} has never synced"
        if self.state == "needs_auth":
            reason = self.record.error if self.record else ""
            return f"{self.name} needs re-authorisation (run `syncd auth`): {reason}".rstrip(": ")
        if self.state == "error":
            return f"{self.name} is failing: {self.record.error if self.record else 'unknown error'}"
        if self.stale:
            return (
                f"{self.name} has not synced successfully since "
                f"{self.record.last_success_at.astimezone(self.tz):%Y-%m-%d %H:%M %Z}"
                if self.record and self.record.last_success_at
                else f"{self.name} is stale"
            )
        return None


def source_health(config: Config, store: Store, sources: list[Source], now: datetime) -> list[SourceHealth]:
    states = {state.name: state for state in store.source_states()}
    limit = config.daemon.sync_every * STALE_AFTER_SYNCS
    result = []
    for source in sources:
        record = states.get(source.name)
        state = record.state if record else "never"
        stale = bool(record and record.last_success_at and now - record.last_success_at > limit)
        result.append(
            SourceHealth(source.name, source.kind, state, stale, record, store.skipped(source.name), config.tz)
        )
    return result


def problems(health: list[SourceHealth], store: Store | None = None) -> list[str]:
    """What `status` lists (and exits 1 for); with the store, a contacts file that failed to import too."""
    found = [item.problem for item in health if item.problem]
    contacts_error = store.contacts_error() if store is not None else None
    if contacts_error:
        found.append(f"contacts file failed to import (the contacts imported before are kept): {contacts_error}")
    return found
