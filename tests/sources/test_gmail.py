"""The Gmail source: the real google-api-python-client against the fake Google server.

No mocks of syncd code: every test drives `syncd.engine` (or the source's own
generator, to simulate a crash) and looks at the store and at what the fake saw.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from syncd.config import parse_config
from syncd.engine import run_cycle, sync_source, touch_rules
from syncd.google.client import session_for
from syncd.google.pacing import AdaptiveRate
from syncd.google.retry import RetryPolicy
from syncd.sources.base import SyncContext
from syncd.sources.gmail import GmailSource
from syncd.sources.google import google_sources
from tests.fakegoogle import FakeGoogle
from tests.sources.contract import ME, NOW, SourceContract
from tests.sources.google_world import FAST, GoogleWorld, store, write_token  # noqa: F401 (store is a fixture)


def google_config(fake: FakeGoogle, folder: Path, extra: str = "", emails: str = f'["{ME}"]'):
    token = write_token(fake, folder)
    return parse_config(
        f'[user]\nemails = {emails}\ntimezone = "UTC"\n'
        f'[sources.google]\nenabled = true\ncalendars = []\napi_endpoint = "{fake.root}"\n'
        f'token_file = "{token}"\n{extra}',
        None,
    )


def gmail_source(config, **kwargs) -> GmailSource:
    """The source as google_sources builds it, with fast retries and (the fake has no
    quota unless a test sets one) a pacer that starts fast."""
    kwargs.setdefault("pacer_factory", lambda: AdaptiveRate(initial=50000))
    return GmailSource(session_for(config, RetryPolicy(**FAST)), ME, **kwargs)


def sync(source, store, config, now=NOW):
    return sync_source(source, store, config, touch_rules(config, store), now)


def touches(store, address=None):
    if address is None:
        return sorted(row for row in store.connection.execute("SELECT address, at, item_id FROM touches"))
    return [
        datetime.fromtimestamp(row[0], UTC)
        for row in store.connection.execute("SELECT at FROM touches WHERE address = ? ORDER BY at", (address,))
    ]


def rows(store):
    """The interactions table without the per-listing generation tag (a uuid)."""
    return sorted(
        store.connection.execute("SELECT source, item_id, kind, at, end_at, scope, payload FROM interactions")
    )


def api_calls(fake):
    return {name: count for name, count in fake.calls.items() if name != "oauth.token"}


@pytest.fixture
def fake():
    with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def config(fake, tmp_path):
    return google_config(fake, tmp_path)


def add(fake, sender, to, when, labels=("INBOX",), **headers):
    return fake.gmail_add_message({"From": sender, "To": to, **headers}, when, labels)


# --- the shared contract -------------------------------------------------------------


class GmailWorld(GoogleWorld):
    """A fake Gmail mailbox. Gmail cannot change a message's date: a "move" is a new
    message replacing the old one, which goes to the bin (as with a re-imported message)."""

    def __init__(self, fake: FakeGoogle, folder: Path):
        super().__init__(fake, google_config(fake, folder))
        self.addresses: dict[str, str] = {}

    def add(self, key, address, when):
        self.addresses[key] = address
        self.ids[key] = add(self.fake, address, ME, when)

    def move(self, key, when):
        self.fake.gmail_modify_labels(self.ids.pop(key), add=["TRASH"], remove=["INBOX"])
        self.add(key, self.addresses[key], when)

    def remove(self, key):
        self.fake.gmail_delete_message(self.ids.pop(key))


class TestGmailContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
            yield GmailWorld(server, tmp_path)


# --- first sync --------------------------------------------------------------------


def test_source_name_and_kind_come_from_the_stored_account(fake, tmp_path):
    info = {**fake.authorized_user_info(), "account": "ada.lovelace@example.com"}
    (tmp_path / "google-token.json").write_text(json.dumps(info))
    config = google_config(fake, tmp_path)
    (source,) = google_sources(config)
    assert (source.name, source.kind) == ("gmail:ada.lovelace@example.com", "gmail")


def test_first_sync_is_bounded_by_the_lookback(fake, store, config):
    for day in range(30):
        add(fake, f"p{day}@example.com", ME, NOW - timedelta(days=day + 1))
    for day in range(600):  # older than the look-back: more than a listing page of them
        add(fake, "old@example.com", ME, NOW - timedelta(days=366 + day / 10))
    outcome = sync(gmail_source(config), store, config)
    assert outcome.ok and outcome.items == 30
    assert touches(store, "old@example.com") == []
    assert len(touches(store)) == 30
    # It stopped near the boundary instead of reading the whole mailbox (listing runs
    # one page ahead of the fetching; the second page's ids are never fetched).
    assert fake.calls["gmail.users.messages.list"] <= 2
    assert fake.calls["gmail.users.messages.get"] <= 30 + 4 * 50


def test_a_page_that_starts_past_the_lookback_costs_one_message(fake, store, config):
    for day in range(30):
        add(fake, f"p{day}@example.com", ME, NOW - timedelta(days=day + 1))
    for day in range(90):
        add(fake, "old@example.com", ME, NOW - timedelta(days=366 + day))
    outcome = sync(gmail_source(config, list_page=30), store, config)
    assert outcome.ok and outcome.items == 30
    # Each page's newest message is fetched first; the second page's is already too old,
    # so nothing else of it (or of the page listed ahead, at most its newest) is fetched.
    assert 31 <= fake.calls["gmail.users.messages.get"] <= 32


def test_first_sync_records_history_id_before_listing_and_own_address(fake, store, tmp_path):
    config = google_config(fake, tmp_path, emails="[]")  # the user configured no address of their own
    add(fake, ME, "ada@example.com", NOW - timedelta(days=2), labels=("SENT",))
    add(fake, "Bob <bob@example.com>", f"Me <{ME}>", NOW - timedelta(days=3))
    add(fake, "carol@example.com", f"{ME}, dave@example.com", NOW - timedelta(days=4))
    history_before = fake.gmail_history_id
    source = gmail_source(config)
    batches = list(source.sync(None, SyncContext(now=NOW, since=NOW - timedelta(days=365), until=NOW, tz=UTC)))
    assert batches[0].upserts == [] and batches[0].own_addresses == [ME]
    assert batches[0].cursor["history_id"] == str(history_before)
    assert batches[-1].cursor == {"phase": "history", "history_id": str(history_before)} and batches[-1].prune
    # Through the engine: the profile's address is the user's own and never touched
    # (the cycle re-derives touches once the provider told who the user is).
    assert run_cycle(config, store, [gmail_source(config)], NOW).outcomes[0].ok
    assert store.own_addresses() == {ME}
    assert touches(store, ME) == []
    assert [address for address, _, _ in touches(store)] == ["ada@example.com", "bob@example.com", "carol@example.com"]


def test_fetches_only_needed_headers_and_never_sends_q(fake, store, config):
    add(fake, "ada@example.com", ME, NOW - timedelta(days=1), Subject="secret subject")
    assert sync(gmail_source(config), store, config).ok
    add(fake, "bob@example.com", ME, NOW - timedelta(hours=1))
    assert sync(gmail_source(config), store, config).ok
    for _verb, path, query in fake.requests:
        assert "q" not in query, (path, query)
        if "/messages/" in path:
            assert query["format"] == ["metadata"]
            assert "Subject" not in query["metadataHeaders"]
    assert store.interaction(gmail_source(config).name, next(iter(store.known_ids("gmail:" + ME)))).subject is None


def test_message_fields_labels_bulk_and_drafts(fake, store, config):
    sent = add(fake, ME, "ada@example.com", NOW - timedelta(days=1), labels=("SENT",), Cc="Bob <bob@example.com>")
    bulk = add(fake, "news@lists.example.org", ME, NOW - timedelta(days=2), **{"List-Id": "<news.example.org>"})
    auto = add(fake, "robot@example.com", ME, NOW - timedelta(days=3), **{"Auto-Submitted": "auto-replied"})
    draft = add(fake, ME, "carol@example.com", NOW - timedelta(days=1), labels=("DRAFT",))
    assert sync(gmail_source(config), store, config).ok
    name = "gmail:" + ME
    record = store.interaction(name, sent)
    assert record.labels == ("SENT",) and record.sender == (ME,) and record.to == ("ada@example.com",)
    assert record.cc == ("bob@example.com",) and record.date == NOW - timedelta(days=1)
    assert store.interaction(name, bulk).bulk is True
    assert store.interaction(name, auto).auto_submitted == "auto-replied"
    assert store.interaction(name, draft) is None
    assert [address for address, _, _ in touches(store)] == ["ada@example.com", "bob@example.com"]


# --- later syncs ---------------------------------------------------------------------


def test_second_sync_is_one_history_call_and_follows_changes(fake, store, config):
    a = add(fake, "ada@example.com", ME, NOW - timedelta(days=3))
    b = add(fake, "bob@example.com", ME, NOW - timedelta(days=4))
    assert sync(gmail_source(config), store, config).ok
    source = gmail_source(config)
    fake.reset_counters()
    outcome = sync(source, store, config, NOW + timedelta(minutes=15))
    assert outcome.ok and outcome.items == 0
    assert api_calls(fake) == {"gmail.users.history.list": 1}
    assert fake.units_used == 2

    fake.gmail_delete_message(a)
    c = add(fake, "carol@example.com", ME, NOW - timedelta(hours=2))
    fake.gmail_modify_labels(b, add=["TRASH"], remove=["INBOX"])
    fake.reset_counters()
    assert sync(source, store, config, NOW + timedelta(minutes=30)).ok
    assert set(api_calls(fake)) <= {"gmail.users.history.list", "gmail.users.messages.get", "batch"}
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=3)]  # deleted: mail is history, it stays
    assert touches(store, "bob@example.com") == []  # trashed
    assert touches(store, "carol@example.com") == [NOW - timedelta(hours=2)]
    assert store.interaction("gmail:" + ME, b).labels == ("TRASH",)

    fake.gmail_modify_labels(b, add=["INBOX"], remove=["TRASH"])  # restored from the bin
    fake.gmail_modify_labels(c, remove=["UNREAD"], add=["STARRED"])  # meaningless for touches: no refetch of unknown
    assert sync(source, store, config, NOW + timedelta(minutes=45)).ok
    assert touches(store, "bob@example.com") == [NOW - timedelta(days=4)]


def test_label_change_to_spam_removes_the_touch_and_untrash_of_unknown_message_adds_it(fake, store, config):
    a = add(fake, "ada@example.com", ME, NOW - timedelta(days=3))
    trashed = add(fake, "erin@example.com", ME, NOW - timedelta(days=5), labels=("TRASH",))
    assert sync(gmail_source(config), store, config).ok
    assert touches(store, "erin@example.com") == []  # TRASH is not listed at all
    fake.gmail_modify_labels(a, add=["SPAM"], remove=["INBOX"])
    fake.gmail_modify_labels(trashed, remove=["TRASH"], add=["INBOX"])
    assert sync(gmail_source(config), store, config).ok
    assert touches(store, "ada@example.com") == []
    assert touches(store, "erin@example.com") == [NOW - timedelta(days=5)]


def test_history_404_resyncs_fully_without_duplicates(fake, store, config):
    a = add(fake, "ada@example.com", ME, NOW - timedelta(days=3))
    add(fake, "bob@example.com", ME, NOW - timedelta(days=4))
    assert sync(gmail_source(config), store, config).ok
    fake.gmail_delete_message(a)
    add(fake, "carol@example.com", ME, NOW - timedelta(days=1))
    fake.expire_history()
    fake.reset_counters()
    outcome = sync(gmail_source(config), store, config, NOW + timedelta(minutes=15))
    assert outcome.ok, outcome.error
    statuses = [(entry["api"], entry["status"]) for entry in fake.log if entry["api"] == "gmail.users.history.list"]
    assert statuses == [("gmail.users.history.list", 404)]
    assert fake.calls["gmail.users.getProfile"] == 1 and fake.calls["gmail.users.messages.list"] == 1
    # the deleted message stays (mail is history)
    assert [address for address, _, _ in touches(store)] == ["ada@example.com", "bob@example.com", "carol@example.com"]
    assert store.interaction_count() == 3
    state = store.source_state("gmail:" + ME)
    assert state.cursor["phase"] == "history" and state.state == "ok"


def test_interrupted_first_sync_resumes_from_the_page_token(fake, store, config):
    for i in range(110):  # three listing pages of 50
        add(fake, f"p{i % 40}@example.com", ME, NOW - timedelta(hours=i + 1))
    source = gmail_source(config, list_page=50)
    name = source.name
    store.ensure_source(name, source.kind)
    rules = touch_rules(config, store)
    context = SyncContext(now=NOW, since=NOW - timedelta(days=365), until=NOW, tz=UTC)
    generator = source.sync(None, context)
    for _ in range(2):  # the profile batch, then the first page; then the process "dies"
        store.apply_batch(name, next(generator), rules)
    generator.close()
    cursor = store.source_state(name).cursor
    assert cursor["phase"] == "full" and cursor["page_token"] and store.interaction_count() == 50

    fake.reset_counters()
    outcome = sync(gmail_source(config, list_page=50), store, config)
    assert outcome.ok, outcome.error
    listings = [query for verb, path, query in fake.requests if path.endswith("/messages")]
    assert listings and all("pageToken" in query for query in listings)
    assert fake.calls["gmail.users.getProfile"] == 0
    assert fake.calls["gmail.users.messages.get"] == 60
    assert store.interaction_count() == 110
