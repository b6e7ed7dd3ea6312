"""The cached newest touch per address (syncd.newest_touches) against a plain recomputation.

The property: after any sequence of writes (batches, deletes, prunes, re-derived rules,
contacts gaining and losing addresses, manual touches) and at any `now`, forwards or back,
`last_touches` answers exactly what the stored touches say, computed here from the raw
tables without the cache. The plain tests pin each way the cache must notice it is stale,
and that a read never fails or waits because it cannot write the cache.
"""

from __future__ import annotations

import ast
import re
import sqlite3
import tempfile
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.contacts_store import add_manual_touch, delete_contact, insert_contact, last_touches, replace_emails
from syncd.models import LastTouch
from syncd.newest_touches import CACHE_KEY, VERSION_KEY
from syncd.records import Attendee, Batch, Meeting, Message
from syncd.store import Store, ts
from syncd.touches import TouchRules

ME = "me@example.com"
ADA = "ada@example.com"
BOB = "bob@example.org"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = TouchRules(own_addresses=frozenset({ME}))
SRC = "ics:test"
MAIL = "mbox:test"

# ada and bob start with an address each, carol with none; dan's is nobody's to begin with.
ADDRESSES = [ADA, BOB, "dan@example.com"]
CONTACTS = ["ada", "bob", "carol"]
# Few instants, a second apart at the edges, so touches tie and `now` lands on, just before
# and just after them.
INSTANTS = [T0 + timedelta(seconds=offset) for offset in (-86400, -1, 0, 1, 3600, 86400)]


def reference(store: Store, now: datetime) -> dict[str, LastTouch]:
    """Last touches straight from the tables, by the documented rule: per contact the newest
    touch at or before `now`, the last in (at, kind, source, item) order; a manual touch at
    the same instant or later wins."""
    at_most = ts(now)
    owners: dict[str, str] = dict(store.connection.execute("SELECT address, contact_id FROM contact_emails"))
    newest: dict[str, tuple[int, str, str, str]] = {}
    for address, at, kind, source, item_id in store.connection.execute(
        "SELECT address, at, kind, source, item_id FROM touches"
    ):
        contact_id = owners.get(address)
        if contact_id is not None and at <= at_most:
            newest[contact_id] = max(newest.get(contact_id, (at, kind, source, item_id)), (at, kind, source, item_id))
    result = {
        contact_id: LastTouch(datetime.fromtimestamp(at, UTC), kind, source, item_id)
        for contact_id, (at, kind, source, item_id) in newest.items()
    }
    manual: dict[str, tuple[int, str]] = {}
    for contact_id, at, note in store.connection.execute("SELECT contact_id, at, note FROM manual_touches"):
        if at <= at_most and (contact_id not in manual or at > manual[contact_id][0]):
            manual[contact_id] = (at, note)
    for contact_id, (at, note) in manual.items():
        if contact_id not in newest or at >= newest[contact_id][0]:
            result[contact_id] = LastTouch(datetime.fromtimestamp(at, UTC), "manual", None, None, note)
    return result


def mail(item_id: str, to: tuple[str, ...], at: datetime) -> Message:
    return Message(item_id=item_id, date=at, sender=(ME,), to=to)


def meeting(item_id: str, attendees: tuple[str, ...], at: datetime) -> Meeting:
    return Meeting(
        item_id=item_id,
        start=at,
        end=at + timedelta(hours=1),
        organizer=ME,
        attendees=tuple(Attendee(address, "accepted") for address in (ME, *attendees)),
    )


def cache_state(store: Store) -> str | None:
    return store.meta(CACHE_KEY)


def version(store: Store) -> int:
    return int(store.meta(VERSION_KEY) or 0)


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "syncd.db")
    for name in (SRC, MAIL):
        s.ensure_source(name, name.split(":")[0])
    for contact_id, address in zip(CONTACTS[:2], ADDRESSES[:2], strict=True):
        insert_contact(s, contact_id, contact_id.title(), T0)
        replace_emails(s, contact_id, [(address, address)])
    yield s
    s.close()


# --- the property -------------------------------------------------------------------

addresses = st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True).map(tuple)
records = st.lists(
    st.tuples(st.sampled_from(["m1", "m2", "m3", "m4"]), st.booleans(), addresses, st.sampled_from(INSTANTS)),
    max_size=4,
)
operations = st.one_of(
    st.tuples(st.just("write"), records),
    st.tuples(st.just("delete"), st.lists(st.sampled_from(["m1", "m2", "m3", "m4"]), min_size=1, max_size=2)),
    st.tuples(st.just("prune"), records),
    st.tuples(st.just("rules"), st.frozensets(st.sampled_from(ADDRESSES), max_size=2)),
    st.tuples(st.just("emails"), st.sampled_from(CONTACTS), st.lists(st.sampled_from(ADDRESSES), max_size=2)),
    st.tuples(st.just("contact"), st.sampled_from(CONTACTS), st.booleans()),
    st.tuples(st.just("manual"), st.sampled_from(CONTACTS), st.sampled_from(INSTANTS)),
    st.tuples(st.just("read")),
    st.tuples(st.just("read in a transaction")),
)
# after every operation the test reads at one of these: on, around and between the touches
nows = st.builds(
    lambda instant, seconds, half: instant + timedelta(seconds=seconds, microseconds=500_000 * half),
    st.sampled_from(INSTANTS),
    st.integers(-2, 2),
    st.integers(0, 1),
)


def apply(store: Store, operation: tuple, step: int) -> None:
    """Carry out one write (or nothing, for the reads)."""
    name = operation[0]
    if name in ("write", "prune"):
        upserts = [
            meeting(item, to, at) if is_meeting else mail(item, to, at) for item, is_meeting, to, at in operation[1]
        ]
        source = SRC if any(isinstance(record, Meeting) for record in upserts) else MAIL
        generation = f"g{step}" if name == "prune" else ""
        store.apply_batch(
            source, Batch(upserts, None, generation=generation, prune=name == "prune"), RULES, accept_empty=True
        )
    elif name == "delete":
        for source in (SRC, MAIL):
            store.apply_batch(source, Batch([], None, deletes=operation[1]), RULES)
    elif name == "rules":
        store.ensure_touch_rules(TouchRules(own_addresses=frozenset({ME, *operation[1]})))
    elif name == "emails":
        with store.transaction():
            store.connection.executemany("DELETE FROM contact_emails WHERE address = ?", [(a,) for a in operation[2]])
            exists = store.connection.execute("SELECT 1 FROM contacts WHERE id = ?", (operation[1],)).fetchone()
            if exists:
                replace_emails(store, operation[1], [(address, address) for address in dict.fromkeys(operation[2])])
    elif name == "contact":
        contact_id, add = operation[1], operation[2]
        exists = store.connection.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if add and not exists:
            insert_contact(store, contact_id, contact_id.title(), T0)
        elif not add and exists:
            delete_contact(store, contact_id)
    elif name == "manual":
        exists = store.connection.execute("SELECT 1 FROM contacts WHERE id = ?", (operation[1],)).fetchone()
        if exists:  # a second apart, step by step: two manual touches never share an instant
            add_manual_touch(store, operation[1], operation[2] + timedelta(seconds=step * 7 + 2), f"n{step}", T0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(operations, nows), min_size=1, max_size=12))
def test_cached_last_touches_are_always_the_recomputed_ones(steps: list[tuple[tuple, datetime]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "syncd.db")
        try:
            for name in (SRC, MAIL):
                store.ensure_source(name, name.split(":")[0])
            for contact_id, address in zip(CONTACTS[:2], ADDRESSES[:2], strict=True):
                insert_contact(store, contact_id, contact_id.title(), T0)
                replace_emails(store, contact_id, [(address, address)])
            for step, (operation, now) in enumerate(steps):
                apply(store, operation, step)
                if operation[0] == "read in a transaction":
                    with store.transaction():
                        assert last_touches(store, now) == reference(store, now)
                assert last_touches(store, now) == reference(store, now)
                assert last_touches(store, now) == reference(store, now)  # the second from the cache
            for now in INSTANTS:
                assert last_touches(store, now) == reference(store, now)
        finally:
            store.close()


# --- the version ------------------------------------------------------------------


def test_every_write_to_touches_moves_the_version(store: Store) -> None:
    seen = [version(store)]

    def moved() -> bool:
        seen.append(version(store))
        return seen[-1] > seen[-2]

    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    assert moved()
    store.apply_batch(SRC, Batch([meeting("m", (BOB,), T0)], None, generation="g1"), RULES)
    assert moved()
    store.apply_batch(SRC, Batch([], None, deletes=["m"]), RULES)
    assert moved()
    store.apply_batch(SRC, Batch([meeting("n", (BOB,), T0)], None, generation="g2"), RULES)
    assert moved()
    store.apply_batch(SRC, Batch([meeting("o", (BOB,), T0)], None, generation="g3", prune=True), RULES)
    assert moved()
    assert store.ensure_touch_rules(TouchRules(own_addresses=frozenset({ME, BOB}))) is True
    assert moved()
    assert store.ensure_touch_rules(TouchRules(own_addresses=frozenset({ME, BOB}))) is False
    assert not moved()  # nothing re-derived


def test_a_rolled_back_write_leaves_the_version(store: Store) -> None:
    last_touches(store, T0)
    before = (version(store), cache_state(store))
    with pytest.raises(TypeError):  # the cursor is written last, after the touches
        store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], {"unwritable": object()}), RULES)
    assert (version(store), cache_state(store)) == before
    assert last_touches(store, T0) == {}


WRITES_TOUCHES = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|DELETE\s+FROM|UPDATE|REPLACE\s+INTO)\s+touches\b", re.IGNORECASE
)


def test_every_statement_that_writes_touches_moves_the_version() -> None:
    """A write to `touches` that forgot `touches_changed` would leave a stale cache in use:
    every function in syncd/ holding such a statement must call it (a module-level statement,
    a migration's, must move the version in its own SQL)."""
    writers = []
    for path in sorted((Path(__file__).resolve().parent.parent / "syncd").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        inside: set[int] = set()
        for function in functions:
            strings = [n for n in ast.walk(function) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            inside.update(id(n) for n in strings)
            if any(WRITES_TOUCHES.search(n.value) for n in strings):
                calls = {
                    n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                    for n in ast.walk(function)
                    if isinstance(n, ast.Call)
                }
                writers.append((path.name, function.name))
                assert "touches_changed" in calls, f"{path.name}: {function.name} writes touches"
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and id(node) not in inside else None
            if isinstance(text, str) and WRITES_TOUCHES.search(text):
                assert VERSION_KEY in text, f"{path.name}: a statement writes touches"
    assert ("store.py", "_write_records") in writers and ("store.py", "ensure_touch_rules") in writers


# --- time ------------------------------------------------------------------------


def test_a_future_meeting_counts_once_it_starts(store: Store) -> None:
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0 - timedelta(days=1))], None), RULES)
    store.apply_batch(SRC, Batch([meeting("m", (ADA,), T0 + timedelta(hours=1))], None), RULES)
    assert last_touches(store, T0)["ada"].kind == "email"
    assert cache_state(store) is not None
    assert last_touches(store, T0 + timedelta(minutes=59, seconds=59))["ada"].kind == "email"
    assert last_touches(store, T0 + timedelta(hours=1))["ada"].kind == "meeting"
    assert last_touches(store, T0 + timedelta(days=3))["ada"].kind == "meeting"
    assert last_touches(store, T0)["ada"].kind == "email"  # back in time


def test_a_repeated_read_comes_from_the_cache(store: Store) -> None:
    """Pins that the cache is used at all (the property holds either way)."""
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    assert last_touches(store, T0)["ada"].item_id == "a"
    store.connection.execute("UPDATE newest_touches SET item_id = 'cached' WHERE address = ?", (ADA,))
    assert last_touches(store, T0 + timedelta(days=1))["ada"].item_id == "cached"
    store.apply_batch(MAIL, Batch([mail("b", (BOB,), T0)], None), RULES)
    assert last_touches(store, T0)["ada"].item_id == "a"  # a write: derived again


def test_a_no_change_sync_keeps_the_cache(store: Store) -> None:
    """A daemon cycle whose sources found nothing new (a batch with only a cursor) writes no
    touch, so the next read still comes from the cache."""
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    last_touches(store, T0)
    before = (version(store), cache_state(store))
    store.apply_batch(MAIL, Batch([], {"history": "2"}), RULES)
    assert (version(store), cache_state(store)) == before


def test_an_address_given_after_caching_is_read(store: Store) -> None:
    store.apply_batch(MAIL, Batch([mail("a", ("dan@example.com",), T0)], None), RULES)
    assert "ada" not in last_touches(store, T0)
    replace_emails(store, "ada", [(ADA, ADA), ("dan@example.com", "dan@example.com")])
    assert last_touches(store, T0)["ada"].item_id == "a"


# --- a cache that cannot be written -------------------------------------------------


def test_a_read_does_not_wait_for_a_writer(store: Store) -> None:
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    statements: list[str] = []
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a sync holds the store
        store.connection.set_trace_callback(statements.append)
        assert last_touches(store, T0) == reference(store, T0)
        assert cache_state(store) is None
    finally:
        store.connection.set_trace_callback(None)
        other.execute("ROLLBACK")
        other.close()
    # it asked for the write lock without the 30 s busy timeout, and gave up at once
    assert statements.index("PRAGMA busy_timeout = 0") < statements.index("BEGIN IMMEDIATE")
    assert store.connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    last_touches(store, T0)
    assert cache_state(store) is not None


def test_a_store_that_cannot_be_written_is_read(store: Store) -> None:
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    store.connection.execute("PRAGMA query_only = ON")
    try:
        assert last_touches(store, T0)["ada"].item_id == "a"
        assert not store.connection.in_transaction
    finally:
        store.connection.execute("PRAGMA query_only = OFF")
    assert cache_state(store) is None


def test_a_read_inside_a_transaction_leaves_it_open(store: Store) -> None:
    store.apply_batch(MAIL, Batch([mail("a", (ADA,), T0)], None), RULES)
    with store.transaction():
        assert last_touches(store, T0)["ada"].item_id == "a"
        assert store.connection.in_transaction
    assert cache_state(store) is None


def test_a_migrated_store_derives_its_cache(tmp_path: Path) -> None:
    """A store from schema 4 has touches but no cache and no version: read, then cached."""
    from syncd.migrations import STEPS

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    for step in STEPS[:4]:
        connection.executescript(step)
    connection.execute("PRAGMA user_version = 4")
    connection.execute("INSERT INTO contacts(id, name, created_at, updated_at) VALUES ('ada', 'Ada', 0, 0)")
    connection.execute(f"INSERT INTO contact_emails VALUES ('{ADA}', 'ada', 0, '{ADA}')")
    connection.execute(f"INSERT INTO touches VALUES ('{ADA}', {ts(T0)}, 'ics:x', 'm1', 'meeting')")
    connection.commit()
    connection.close()
    store = Store.open(path)
    try:
        assert last_touches(store, T0)["ada"] == LastTouch(T0, "meeting", "ics:x", "m1")
        assert cache_state(store) is not None
        assert last_touches(store, T0)["ada"] == LastTouch(T0, "meeting", "ics:x", "m1")
    finally:
        store.close()
