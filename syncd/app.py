"""The library behind the CLI: a config, a store and a clock, and what to ask of them.

Tests and the daemon call this directly; the CLI only parses arguments and prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from syncd.cold import ContactStatus, cold_list, statuses
from syncd.config import Config
from syncd.contacts import Contact, last_touches, list_contacts
from syncd.engine import CycleResult, run_cycle
from syncd.health import SourceHealth, problems, source_health
from syncd.holds import HoldOutcome, StoredHold, plan_holds, upcoming_holds
from syncd.sources import configured_sources
from syncd.sources.base import Source
from syncd.store import Store


HOLDS_ERROR = "holds_last_error"


@dataclass
class App:
    config: Config
    now: datetime
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.config.store_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @cached_property
    def sources(self) -> list[Source]:
        return configured_sources(self.config)

    def tier_of(self, contact: Contact) -> str:
        return contact.tier or self.config.tiers.default

    def cadence_of(self, contact: Contact) -> int:
        return contact.cadence_days or self.config.tier_cadence(self.tier_of(contact))

    def statuses(self) -> list[ContactStatus]:
        """Every listed contact's status. A tier's cadence is looked up once, not once a
        contact: every read-only command asks this of 5,000 contacts and more."""
        by_tier: dict[str | None, int] = {}

        def cadence_of(contact: Contact) -> int:
            if contact.cadence_days:
                return contact.cadence_days
            cadence = by_tier.get(contact.tier)
            if cadence is None:
                cadence = by_tier[contact.tier] = self.cadence_of(contact)
            return cadence

        return statuses(list_contacts(self.store), cadence_of, last_touches(self.store, self.now), self.now)

    def cold(self) -> list[ContactStatus]:
        return cold_list(self.statuses())

    def sync_sources(self, sources: list[Source] | None = None, interactive: bool = False) -> CycleResult:
        """All configured sources, or the given subset (the daemon retries failed ones alone);
        `interactive` when a person waits for it (long reads show progress on a terminal)."""
        return run_cycle(
            self.config, self.store, self.sources if sources is None else sources, self.now, interactive=interactive
        )

    def health(self) -> list[SourceHealth]:
        return source_health(self.config, self.store, self.sources, self.now)

    def missing_sink(self) -> str | None:
        """Why no hold can be booked when holds are on but the config names no sink, else None."""
        if not self.config.holds.enabled or self.config.hold_sink:
            return None
        where = self.config.path or "the config"
        return f'{where}: [holds] sink is not set; set it (e.g. sink = "ics:~/holds.ics") or set enabled = false'

    def plan_holds(self, dry_run: bool = False) -> HoldOutcome:
        """Plan (and unless dry, book); a hold calendar that failed is remembered for `status`."""
        missing = self.missing_sink()
        if missing:
            return HoldOutcome(blocked=missing, dry_run=dry_run, sink_failed=True)
        outcome = plan_holds(self.config, self.store, self.statuses, problems(self.health()), self.now, dry_run=dry_run)
        if not dry_run:
            error = "; ".join(outcome.errors) or ((outcome.blocked or "") if outcome.sink_failed else "")
            with self.store.transaction() as connection:
                self.store.set_meta(HOLDS_ERROR, error, connection)
        return outcome

    def holds_error(self) -> str | None:
        """The last hold planning's failure to read or write the hold calendar, if any."""
        return self.store.meta(HOLDS_ERROR) or None

    def upcoming_holds(self) -> list[StoredHold]:
        return upcoming_holds(self.store, self.now)
