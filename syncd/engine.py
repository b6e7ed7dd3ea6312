"""One sync cycle: contacts files, then every source, each isolated from the others.

A failing source is recorded (state, one-line error) and the others still sync; the
cycle reports which failed so `sync` can exit 1 and the daemon can back off.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncd.config import Config
from syncd.contact_files import read_contact_files
from syncd.contacts import import_file_entries
from syncd.errors import UsageError, first_line
from syncd.sources.base import CursorInvalid, Source, SourceError, SyncContext
from syncd.rules import own_addresses, touch_rules
from syncd.store import Store
from syncd.touches import TouchRules

log = logging.getLogger("syncd.sync")

EXPAND_AHEAD_MARGIN = timedelta(days=21)


@dataclass
class SourceOutcome:
    name: str
    kind: str
    ok: bool
    items: int = 0
    error: str | None = None


@dataclass
class CycleResult:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    contacts_error: str | None = None  # the contacts files failed to import (the sources still synced)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def changed(self) -> bool:
        return any(outcome.items for outcome in self.outcomes)


def import_contact_files(config: Config, store: Store, now: datetime) -> str | None:
    """Import the `[contacts] files` (archiving who left them); a failure is returned and kept for
    `status`, not raised: the contacts already imported stay valid, so the sources must still sync."""
    error = None
    if config.contacts.files:
        try:
            import_file_entries(store, read_contact_files(config.contacts.files), now, own_addresses(config, store))
        except UsageError as failure:  # the file, not the store: a StoreError still stops the cycle
            lines = str(failure).splitlines() or [type(failure).__name__]
            more = len([line for line in lines[1:] if line != "nothing was imported"])
            error = lines[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
            log.warning("contacts file: %s", error)
    store.set_contacts_error(error)
    return error


def sync_source(
    source: Source, store: Store, config: Config, rules: TouchRules, now: datetime, interactive: bool = False
) -> SourceOutcome:
    """Run one source to completion, committing batch by batch; never raises SourceError.
    `interactive`: a person is waiting (`syncd sync`), so a long read may show its progress."""
    store.record_attempt(source.name, source.kind, now)
    context = SyncContext(
        now=now,
        since=now - config.sources.lookback,
        until=now + config.holds.horizon + EXPAND_AHEAD_MARGIN,
        tz=config.tz,
        known_ids=lambda scope: store.known_ids(source.name, scope),
        interactive=interactive,
    )
    written = 0
    accept_empty = store.take_empty_acceptance(source.name)
    for attempt in range(2):
        state = store.source_state(source.name)
        try:
            for batch in source.sync(state.cursor if state else None, context):
                written += store.apply_batch(source.name, batch, rules, accept_empty=accept_empty)
            break
        except CursorInvalid as error:
            if attempt:
                return _failed(store, source, error, written)
            log.info("%s: %s; syncing fully", source.name, error)
            store.reset_cursor(source.name)
        except SourceError as error:
            return _failed(store, source, error, written)
        except sqlite3.Error:
            raise  # the store failed, not the source: the caller names the store file and the fix
        except Exception as error:  # a bug or an unforeseen library error must not stop the other sources
            log.debug("%s: unexpected error", source.name, exc_info=True)
            return _failed(store, source, SourceError(f"unexpected error: {type(error).__name__}: {error}"), written)
    store.record_success(source.name, now)
    return SourceOutcome(source.name, source.kind, True, written)


def _failed(store: Store, source: Source, error: SourceError, written: int) -> SourceOutcome:
    message = first_line(error)
    store.record_failure(source.name, error.state, message)
    log.warning("%s: %s", source.name, message)
    return SourceOutcome(source.name, source.kind, False, written, message)


def run_cycle(
    config: Config, store: Store, sources: list[Source], now: datetime, interactive: bool = False
) -> CycleResult:
    """Contacts files, then each source in turn. The touch rules are built again before each
    source because a source may report the user's own addresses (the Gmail profile, a calendar's
    `self`), which the next must already judge by; the stored touches are re-derived before and
    after whenever those rules changed, so no touch stays counted for an address now known as own."""
    result = CycleResult(contacts_error=import_contact_files(config, store, now))
    store.ensure_touch_rules(touch_rules(config, store))
    for source in sources:
        rules = touch_rules(config, store)
        result.outcomes.append(sync_source(source, store, config, rules, now, interactive))
    store.ensure_touch_rules(touch_rules(config, store))
    return result
