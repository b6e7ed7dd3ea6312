"""The SQLite store on real files (syncd.store, syncd.migrations)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from syncd.errors import SyncdError
from syncd.migrations import STEPS, migrate
from syncd.records import Attendee, Meeting, Message
from syncd.store import Batch, EmptyRead, Store
from syncd.touches import TouchRules

ME = "me@example.com"
ADA = "ada@example.com"
BOB = "bob@example.org"
CAROL = "carol@example.net"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = TouchRules(own_addresses=frozenset({ME}))
SRC = "mbox:test"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def sent(item_id: str, *to: str, at: datetime = T0) -> Message:
    return Message(item_id=item_id, date=at, sender=(ME,), to=tuple(to))


def received(item_id: str, sender: str, at: datetime = T0) -> Message:
    return Message(item_id=item_id, date=at, sender=(sender,), to=(ME,))


def meeting(item_id: str, *attendees: str, at: datetime = T0) -> Meeting:
    return Meeting(
        item_id=item_id,
        start=at,
        end=at + timedelta(hours=1),
        organizer=ME,
        attendees=tuple(Attendee(a, "accepted") for a in (ME, *attendees)),
        title="Sync",
    )


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "data" / "syncd" / "syncd.db")
    s.ensure_source(SRC, "mbox")
    yield s
    s.close()


def touches(store: Store) -> list[tuple]:
    return sorted(store.connection.execute("SELECT address, at, source, item_id, kind FROM touches"))


def interaction_ids(store: Store, source: str = SRC) -> list[str]:
    return sorted(
        row[0] for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source,))
    )


def ts(value: datetime) -> int:
    return int(value.timestamp())


# --- files, modes, schema --------------------------------------------------------


def test_new_store_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "syncd.db"
    store = Store.open(path)
    try:
        store.ensure_source(SRC, "mbox")
        store.apply_batch(SRC, Batch([sent("m1", ADA)], {"pos": 1}), RULES)
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        for companion in (path.with_name("syncd.db-wal"), path.with_name("syncd.db-shm")):
            if companion.exists():
                assert mode(companion) == 0o600, companion
    finally:
        store.close()


def test_store_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store.open(tmp_path / "open" / "syncd.db")
    finally:
        os.umask(old)
    store.close()
    assert mode(tmp_path / "open") == 0o700
    assert mode(tmp_path / "open" / "syncd.db") == 0o600


def test_wal_mode(store: Store) -> None:
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    finally:
        other.close()


def test_user_version_is_the_number_of_migration_steps(store: Store) -> None:
    assert len(STEPS) >= 1
    assert store.connection.execute("PRAGMA user_version").fetchone()[0] == len(STEPS)


def test_schema_has_the_tables(store: Store) -> None:
    tables = {row[0] for row in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "meta",
        "contacts",
        "contact_emails",
        "interactions",
        "touches",
        "manual_touches",
        "sources",
        "holds",
    } <= tables


def test_reopening_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "syncd.db"
    store = Store.open(path)
    store.ensure_source(SRC, "mbox")
    store.apply_batch(SRC, Batch([sent("m1", ADA)], {"pos": 1}), RULES)
    store.close()
    for _ in range(2):
        store = Store.open(path)
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == len(STEPS)
        assert store.interaction_count() == 1
        assert store.source_state(SRC).cursor == {"pos": 1}
        store.close()
    assert mode(path) == 0o600


def test_migrate_on_a_migrated_database_is_a_no_op(store: Store) -> None:
    before = store.connection.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(store.connection) == len(STEPS)
    assert store.connection.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before


def test_store_written_by_a_newer_syncd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "syncd.db"
    Store.open(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {len(STEPS) + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(SyncdError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert str(path) in message
    assert "newer syncd" in message
    assert f"schema {len(STEPS) + 1}" in message


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "syncd.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SyncdError) as caught:
        Store.open(path)
    assert str(caught.value).startswith(f"{path}: cannot open the store")


# --- apply_batch -----------------------------------------------------------------


def test_apply_batch_writes_rows_touches_and_cursor(store: Store) -> None:
    written = store.apply_batch(
        SRC, Batch([sent("m1", ADA, BOB), received("m2", CAROL), meeting("e1", ADA)], {"pos": 3}), RULES
    )
    assert written == 3
    assert interaction_ids(store) == ["e1", "m1", "m2"]
    assert touches(store) == sorted(
        [
            (ADA, ts(T0), SRC, "m1", "email"),
            (BOB, ts(T0), SRC, "m1", "email"),
            (CAROL, ts(T0), SRC, "m2", "email"),
            (ADA, ts(T0), SRC, "e1", "meeting"),
        ]
    )
    assert store.source_state(SRC).cursor == {"pos": 3}


def test_interaction_round_trips_the_record(store: Store) -> None:
    record = Meeting(
        item_id="e1",
        start=T0,
        end=T0 + timedelta(hours=1),
        organizer=ADA,
        cancelled=False,
        title="Coffee",
        attendees=(
            Attendee(ADA, "accepted"),
            Attendee(ME, "tentative", is_self=True),
            Attendee("room@r.example.com", is_resource=True),
        ),
    )
    message = Message(
        item_id="m1",
        date=T0,
        sender=(ADA,),
        to=(ME,),
        cc=(BOB,),
        bulk=False,
        auto_submitted="no",
        labels=("INBOX",),
        subject="hi",
    )
    store.apply_batch(SRC, Batch([record, message], None), RULES)
    assert store.interaction(SRC, "e1") == record
    assert store.interaction(SRC, "m1") == message
    assert store.interaction(SRC, "nope") is None


def test_upsert_replaces_row_and_touches_follow_the_new_version(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("e1", ADA, BOB)], {"v": 1}), RULES)
    moved = T0 + timedelta(days=3)
    store.apply_batch(SRC, Batch([meeting("e1", BOB, CAROL, at=moved)], {"v": 2}), RULES)
    assert store.interaction_count() == 1
    assert store.interaction(SRC, "e1").start == moved
    assert touches(store) == sorted([(BOB, ts(moved), SRC, "e1", "meeting"), (CAROL, ts(moved), SRC, "e1", "meeting")])


def test_upsert_to_a_version_that_no_longer_counts_removes_its_touches(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("e1", ADA)], None), RULES)
    cancelled = Meeting(
        item_id="e1",
        start=T0,
        end=T0 + timedelta(hours=1),
        organizer=ME,
        attendees=(Attendee(ME), Attendee(ADA)),
        cancelled=True,
    )
    store.apply_batch(SRC, Batch([cancelled], None), RULES)
    assert store.interaction_count() == 1
    assert touches(store) == []


def test_same_item_twice_in_one_batch_keeps_only_the_last_version(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA), sent("m1", BOB)], None), RULES)
    assert store.interaction_count() == 1
    assert touches(store) == [(BOB, ts(T0), SRC, "m1", "email")]


def test_same_item_id_in_two_sources_is_two_rows(store: Store) -> None:
    store.ensure_source("ics:other", "ics")
    store.apply_batch(SRC, Batch([sent("x", ADA)], None), RULES)
    store.apply_batch("ics:other", Batch([meeting("x", BOB)], None), RULES)
    assert store.interaction_count() == 2
    assert [row[0] for row in touches(store)] == [ADA, BOB]


def test_deletes_remove_rows_and_touches(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("m1", ADA), meeting("m2", BOB)], {"v": 1}), RULES)
    store.apply_batch(SRC, Batch([], {"v": 2}, deletes=["m1", "never-seen"]), RULES)
    assert interaction_ids(store) == ["m2"]
    assert [row[3] for row in touches(store)] == ["m2"]
    assert store.source_state(SRC).cursor == {"v": 2}


def test_mail_rows_are_history_no_batch_deletes_them(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA), sent("m2", BOB)], None, scope="a", generation="g1"), RULES)
    store.apply_batch(SRC, Batch([], None, deletes=["m1"], drop_scopes=["a"]), RULES, accept_empty=True)
    store.apply_batch(SRC, Batch([sent("m3", ADA)], None, scope="a", generation="g2", prune=True), RULES)
    assert interaction_ids(store) == ["m1", "m2", "m3"]
    assert sorted(row[3] for row in touches(store)) == ["m1", "m2", "m3"]


def test_delete_only_touches_its_own_source(store: Store) -> None:
    store.ensure_source("ics:other", "ics")
    store.apply_batch(SRC, Batch([sent("x", ADA)], None), RULES)
    store.apply_batch("ics:other", Batch([meeting("x", BOB)], None), RULES)
    store.apply_batch("ics:other", Batch([], None, deletes=["x"]), RULES)
    assert interaction_ids(store) == ["x"]
    assert [row[0] for row in touches(store)] == [ADA]


def test_prune_removes_older_generation_of_that_scope_only(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("a1", ADA), meeting("a2", BOB)], None, scope="a.ics", generation="g1"), RULES)
    store.apply_batch(SRC, Batch([meeting("b1", CAROL)], None, scope="b.ics", generation="g1"), RULES)
    # a full re-read of a.ics finds only a2 (a1 vanished) and a new a3
    store.apply_batch(
        SRC,
        Batch([meeting("a2", BOB), meeting("a3", ADA)], {"v": 2}, scope="a.ics", generation="g2", prune=True),
        RULES,
    )
    assert interaction_ids(store) == ["a2", "a3", "b1"]
    assert sorted(row[3] for row in touches(store)) == ["a2", "a3", "b1"]
    assert store.known_ids(SRC, "a.ics") == {"a2", "a3"}
    assert store.known_ids(SRC, "b.ics") == {"b1"}
    assert store.known_ids(SRC) == {"a2", "a3", "b1"}


def test_prune_with_an_empty_reread_is_refused_unless_accepted(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("a1", ADA)], {"v": 1}, scope="a.ics", generation="g1"), RULES)
    with pytest.raises(EmptyRead, match="read 0 items but the store has 1"):
        store.apply_batch(SRC, Batch([], {"v": 2}, scope="a.ics", generation="g2", prune=True), RULES)
    assert store.interaction_count() == 1 and store.source_state(SRC).cursor == {"v": 1}
    store.apply_batch(SRC, Batch([], None, scope="a.ics", generation="g2", prune=True), RULES, accept_empty=True)
    assert store.interaction_count() == 0
    assert touches(store) == []


def test_without_prune_older_generations_stay(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("a1", ADA)], None, scope="a.mbox", generation="g1"), RULES)
    store.apply_batch(SRC, Batch([sent("a2", BOB)], None, scope="a.mbox", generation="g2"), RULES)
    assert interaction_ids(store) == ["a1", "a2"]


def test_drop_scopes_removes_whole_scopes_and_their_touches(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("a1", ADA)], None, scope="a.ics"), RULES)
    store.apply_batch(SRC, Batch([meeting("b1", BOB)], None, scope="b.ics"), RULES)
    store.apply_batch(SRC, Batch([meeting("c1", CAROL)], None, scope="c.ics"), RULES)
    store.apply_batch(SRC, Batch([], {"files": ["b.ics"]}, drop_scopes=["a.ics", "c.ics"]), RULES)
    assert interaction_ids(store) == ["b1"]
    assert [row[0] for row in touches(store)] == [BOB]
    assert store.source_state(SRC).cursor == {"files": ["b.ics"]}


def test_a_full_listing_drops_unlisted_scopes_but_never_all_of_them(store: Store) -> None:
    store.apply_batch(SRC, Batch([meeting("a1", ADA)], None, scope="a.ics"), RULES)
    store.apply_batch(SRC, Batch([meeting("b1", BOB)], None, scope="b.ics"), RULES)
    store.apply_batch(SRC, Batch([], None, scopes=["b.ics"]), RULES)
    assert interaction_ids(store) == ["b1"]
    with pytest.raises(EmptyRead):
        store.apply_batch(SRC, Batch([], None, scopes=[]), RULES)
    assert interaction_ids(store) == ["b1"]


def test_cursor_none_clears_the_cursor(store: Store) -> None:
    store.apply_batch(SRC, Batch([], {"v": 1}), RULES)
    store.apply_batch(SRC, Batch([], None), RULES)
    assert store.source_state(SRC).cursor is None


def test_reset_cursor(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA)], {"v": 1}), RULES)
    store.reset_cursor(SRC)
    assert store.source_state(SRC).cursor is None
    assert store.interaction_count() == 1


def test_cursor_is_committed_with_the_rows(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA)], {"history": "42"}), RULES)
    other = Store.open(store.path)  # another connection sees both, committed
    try:
        assert other.source_state(SRC).cursor == {"history": "42"}
        assert other.interaction_count() == 1
    finally:
        other.close()


def test_failing_record_rolls_back_rows_touches_and_cursor(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA)], {"v": 1}), RULES)
    unserialisable = Message(item_id="m3", date=T0, sender=(ME,), to=(CAROL,), subject=object())  # json.dumps fails
    with pytest.raises(TypeError):
        store.apply_batch(SRC, Batch([sent("m2", BOB), unserialisable], {"v": 2}, deletes=["m1"]), RULES)
    assert not store.connection.in_transaction
    assert interaction_ids(store) == ["m1"]
    assert touches(store) == [(ADA, ts(T0), SRC, "m1", "email")]
    assert store.source_state(SRC).cursor == {"v": 1}
    # and the store still works afterwards
    store.apply_batch(SRC, Batch([sent("m2", BOB)], {"v": 2}), RULES)
    assert interaction_ids(store) == ["m1", "m2"]


def test_exception_inside_transaction_rolls_back_rows_and_cursor(store: Store) -> None:
    store.apply_batch(SRC, Batch([sent("m1", ADA)], {"v": 1}), RULES)
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as connection:
        connection.execute("DELETE FROM interactions")
        connection.execute("DELETE FROM touches")
        connection.execute("UPDATE sources SET cursor = ? WHERE name = ?", (json.dumps({"v": 99}), SRC))
        raise RuntimeError("boom")
    assert not store.connection.in_transaction
    assert interaction_ids(store) == ["m1"]
    assert len(touches(store)) == 1
    assert store.source_state(SRC).cursor == {"v": 1}


def test_keyboard_interrupt_inside_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(KeyboardInterrupt), store.transaction() as connection:
        connection.execute("UPDATE sources SET cursor = '{\"v\": 5}' WHERE name = ?", (SRC,))
        raise KeyboardInterrupt
    assert store.source_state(SRC).cursor is None


def test_transaction_holds_the_write_lock(store: Store) -> None:
    other = sqlite3.connect(store.path, timeout=0)
    try:
        with store.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


# --- touch rules -----------------------------------------------------------------


def test_ensure_touch_rules_first_call_records_fingerprint_then_no_op(store: Store) -> None:
    assert store.ensure_touch_rules(RULES) is True
    assert store.meta("touch_rules") == RULES.fingerprint()
    assert store.ensure_touch_rules(RULES) is False


def test_ensure_touch_rules_rederives_when_rules_change(store: Store) -> None:
    store.ensure_touch_rules(RULES)
    big = Meeting(
        item_id="e9",
        start=T0,
        end=T0 + timedelta(hours=1),
        organizer=ME,
        attendees=tuple(Attendee(a) for a in (ME, ADA, BOB, CAROL)),
    )  # 4 people
    store.apply_batch(SRC, Batch([received("m1", ADA), big], None), RULES)
    assert len(touches(store)) == 4

    stricter = TouchRules(own_addresses=RULES.own_addresses, max_meeting_size=3, blocklist=("example.com",))
    assert store.ensure_touch_rules(stricter) is True
    assert touches(store) == []  # the meeting is too big now and Ada is blocklisted
    assert store.ensure_touch_rules(stricter) is False

    assert store.ensure_touch_rules(RULES) is True
    assert len(touches(store)) == 4


def test_ensure_touch_rules_new_own_address_stops_touching_it(store: Store) -> None:
    store.ensure_touch_rules(RULES)
    store.apply_batch(SRC, Batch([sent("m1", ADA, "me.work@example.org")], None), RULES)
    assert sorted(row[0] for row in touches(store)) == [ADA, "me.work@example.org"]
    store.ensure_touch_rules(TouchRules(own_addresses=frozenset({ME, "me.work@example.org"})))
    assert [row[0] for row in touches(store)] == [ADA]


def test_ensure_touch_rules_no_op_leaves_touches_alone(store: Store) -> None:
    store.ensure_touch_rules(RULES)
    store.apply_batch(SRC, Batch([sent("m1", ADA)], None), RULES)
    store.connection.execute("DELETE FROM touches")  # a no-op must not re-derive
    assert store.ensure_touch_rules(RULES) is False
    assert touches(store) == []


# --- sources and own addresses ---------------------------------------------------


def test_own_addresses_from_batches(store: Store) -> None:
    assert store.own_addresses() == set()
    store.ensure_source("gmail:me", "gmail")
    store.apply_batch("gmail:me", Batch([], {"h": 1}, own_addresses=["me@gmail.com", "alias@example.com"]), RULES)
    store.apply_batch(SRC, Batch([], None, own_addresses=["me@example.com"]), RULES)
    assert store.own_addresses() == {"me@gmail.com", "alias@example.com", "me@example.com"}
    assert store.source_state("gmail:me").own_addresses == ["alias@example.com", "me@gmail.com"]
    # a batch without own_addresses leaves them as they were
    store.apply_batch("gmail:me", Batch([], {"h": 2}), RULES)
    assert store.source_state("gmail:me").own_addresses == ["alias@example.com", "me@gmail.com"]


def test_source_state_lifecycle(store: Store) -> None:
    assert store.source_state("ics:new") is None
    store.record_attempt("ics:new", "ics", T0)
    state = store.source_state("ics:new")
    assert (state.kind, state.state, state.last_attempt_at, state.last_success_at, state.items, state.failures) == (
        "ics",
        "never",
        T0,
        None,
        0,
        0,
    )
    store.record_failure("ics:new", "error", "cannot parse")
    store.record_failure("ics:new", "error", "cannot parse again")
    state = store.source_state("ics:new")
    assert (state.state, state.error, state.failures) == ("error", "cannot parse again", 2)
    store.apply_batch("ics:new", Batch([meeting("e1", ADA), meeting("e2", BOB)], {"v": 1}), RULES)
    later = T0 + timedelta(minutes=15)
    store.record_success("ics:new", later)
    state = store.source_state("ics:new")
    assert (state.state, state.error, state.failures, state.items, state.last_success_at) == ("ok", None, 0, 2, later)
    assert [s.name for s in store.source_states()] == ["ics:new", SRC]


def test_meetings_between_overlap(store: Store) -> None:
    store.apply_batch(
        SRC,
        Batch([meeting("e1", ADA, at=T0), meeting("e2", BOB, at=T0 + timedelta(days=1)), sent("m1", ADA)], None),
        RULES,
    )
    found = store.meetings_between(T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
    assert [m.item_id for m in found] == ["e1"]
    assert store.meetings_between(T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []  # end is exclusive
    assert sorted(m.item_id for m in store.meetings_between(T0, T0 + timedelta(days=2))) == ["e1", "e2"]


def test_meta_round_trip(store: Store) -> None:
    assert store.meta("x") is None
    store.set_meta("x", "1")
    store.set_meta("x", "2")
    assert store.meta("x") == "2"


def test_migrating_a_version_1_store_keeps_its_rows(tmp_path: Path) -> None:
    """A store written by the first release opens in this one with its data intact."""
    import sqlite3

    from syncd.migrations import STEPS

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    for statement in STEPS[0].split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.execute("INSERT INTO touches VALUES ('ada@example.com', 100, 'ics:x', 'm1', 'meeting')")
    connection.commit()
    connection.close()
    store = Store.open(path)
    try:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == len(STEPS) == 5
        assert store.connection.execute("SELECT address, at, kind FROM touches").fetchall() == [
            ("ada@example.com", 100, "meeting")
        ]
        indexes = {row[1] for row in store.connection.execute("PRAGMA index_list(touches)")}
        assert "touches_address_at_kind" in indexes and "touches_address" not in indexes
    finally:
        store.close()
