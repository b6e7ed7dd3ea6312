"""One suite every source must pass (the pattern of vdirsyncer's StorageTests).

A subclass provides a `world` fixture: an object that can add, change and remove an
interaction with a given address at a given time in the real backing data (a file, a
folder, a fake Google account), and build the source over it. The tests then drive the
real engine and look only at the store, so every source is held to the same promises:
incremental, idempotent, deletions followed, look-back respected, failures isolated.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from pathlib import Path
from typing import Protocol

import pytest

from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.sources.base import Source
from syncd.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ME = "me@example.com"


class World(Protocol):
    def add(self, key: str, address: str, when: datetime) -> None: ...
    def move(self, key: str, when: datetime) -> None: ...
    def remove(self, key: str) -> None: ...
    def break_it(self) -> None: ...
    def source(self) -> Source: ...


class SourceContract:
    """Subclasses define the `world` fixture; everything else is shared."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        store = Store.open(tmp_path / "store" / "syncd.db")
        yield store
        store.close()

    @pytest.fixture
    def config(self):
        return parse_config(f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n', None)

    def sync(self, world: World, store: Store, config, now: datetime = NOW):
        source = world.source()
        return sync_source(source, store, config, touch_rules(config, store), now), source

    def touches_of(self, store: Store, address: str, now: datetime = NOW) -> list[datetime]:
        rows = store.connection.execute(
            "SELECT at FROM touches WHERE address = ? AND at <= ? ORDER BY at", (address, int(now.timestamp()))
        )
        return [datetime.fromtimestamp(row[0], UTC) for row in rows]

    def test_first_sync_ingests_and_touches(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        world.add("b", "bob@example.com", NOW - timedelta(days=10))
        outcome, source = self.sync(world, store, config)
        assert outcome.ok, outcome.error
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=3)]
        assert self.touches_of(store, "bob@example.com") == [NOW - timedelta(days=10)]
        state = store.source_state(source.name)
        assert state.state == "ok" and state.last_success_at == NOW and state.items >= 2

    def test_unchanged_second_sync_writes_nothing(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        self.sync(world, store, config)
        before = store.interaction_count()
        outcome, _ = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert outcome.ok and outcome.items == 0
        assert store.interaction_count() == before

    def test_new_item_is_picked_up(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        self.sync(world, store, config)
        world.add("b", "ada@example.com", NOW - timedelta(days=1))
        outcome, _ = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert outcome.ok
        assert self.touches_of(store, "ada@example.com", NOW + timedelta(minutes=15)) == [
            NOW - timedelta(days=3),
            NOW - timedelta(days=1),
        ]

    def is_mail(self, store: Store, source: Source) -> bool:
        kinds = {
            row[0] for row in store.connection.execute("SELECT kind FROM interactions WHERE source = ?", (source.name,))
        }
        assert len(kinds) == 1, kinds
        return kinds == {"email"}

    def test_removed_item_removes_its_touch_unless_mail(self, world: World, store: Store, config):
        """A deleted or cancelled event is gone; a message that left its mailbox was still written."""
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        world.add("b", "bob@example.com", NOW - timedelta(days=4))
        _, source = self.sync(world, store, config)
        world.remove("a")
        outcome, _ = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert outcome.ok
        kept = [NOW - timedelta(days=3)] if self.is_mail(store, source) else []
        assert self.touches_of(store, "ada@example.com") == kept
        assert self.touches_of(store, "bob@example.com") == [NOW - timedelta(days=4)]

    def test_empty_full_read_is_refused_until_accepted(self, world: World, store: Store, config):
        """vdirsyncer's rule: a source that suddenly reads empty is more likely broken than emptied."""
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        world.add("b", "bob@example.com", NOW - timedelta(days=4))
        _, source = self.sync(world, store, config)
        mail = self.is_mail(store, source)
        world.remove("a")
        world.remove("b")
        store.reset_cursor(source.name)  # a full read
        later = NOW + timedelta(minutes=15)
        outcome, _ = self.sync(world, store, config, later)
        assert not outcome.ok and "empty" in outcome.error and source.name in outcome.error
        state = store.source_state(source.name)
        assert state.state == "error" and state.error == outcome.error and state.last_success_at == NOW
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=3)]
        assert store.interaction_count() == 2
        outcome, _ = self.sync(world, store, config, later)  # asked again: still refused
        assert not outcome.ok and "empty" in outcome.error

        store.accept_empty_once(source.name)
        outcome, _ = self.sync(world, store, config, later)
        assert outcome.ok, outcome.error
        assert store.source_state(source.name).state == "ok"
        assert self.touches_of(store, "ada@example.com") == ([NOW - timedelta(days=3)] if mail else [])
        assert store.take_empty_acceptance(source.name) is False  # used up

    def test_moved_item_replaces_its_row(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        _, source = self.sync(world, store, config)
        count = store.interaction_count()
        world.move("a", NOW - timedelta(days=2))
        outcome, _ = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert outcome.ok
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=2)]
        if not self.is_mail(store, source):  # a mailbox may keep the old copy, binned: its touch is gone
            assert store.interaction_count() == count

    def test_replayed_sync_never_double_counts(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        _, source = self.sync(world, store, config)
        store.reset_cursor(source.name)
        outcome, _ = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert outcome.ok
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=3)]
        assert store.connection.execute("SELECT COUNT(*) FROM interactions").fetchone()[0] == 1

    def test_lookback_bounds_the_first_sync(self, world: World, store: Store, config):
        world.add("old", "ada@example.com", NOW - timedelta(days=400))
        world.add("new", "ada@example.com", NOW - timedelta(days=30))
        self.sync(world, store, config)
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=30)]

    def test_one_unreadable_item_costs_only_itself(self, world: World, store: Store, config):
        """An item the libraries cannot handle (a date in year 9999…) is skipped and counted."""
        if not hasattr(world, "add_unreadable"):
            pytest.skip("this world cannot hold an item its provider would refuse to store")
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        world.add_unreadable("bad")
        outcome, source = self.sync(world, store, config)
        assert outcome.ok, outcome.error
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=3)]
        assert store.source_state(source.name).state == "ok" and store.skipped(source.name) == 1

    def test_failure_keeps_what_was_synced(self, world: World, store: Store, config):
        world.add("a", "ada@example.com", NOW - timedelta(days=3))
        self.sync(world, store, config)
        world.break_it()
        outcome, source = self.sync(world, store, config, NOW + timedelta(minutes=15))
        assert not outcome.ok and outcome.error
        assert "\n" not in outcome.error
        assert self.touches_of(store, "ada@example.com") == [NOW - timedelta(days=3)]
        state = store.source_state(source.name)
        assert state.state in ("error", "needs_auth") and state.last_success_at == NOW and state.error == outcome.error
