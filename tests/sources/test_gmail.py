"""The Gmail source: the real google-api-python-client against the fake Google server.

No mocks of syncd code: every test drives `syncd.engine` (or the source's own
generator, to simulate a crash) and looks at the store and at what the fake saw.
"""

from __future__ import annotations

import json
import logging
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
from syncd.sources.mail import MboxSource
from syncd.store import Store
from tests.conftest import mbox_message
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


# --- errors ----------------------------------------------------------------------------


def test_revoked_token_is_needs_auth_and_other_sources_keep_syncing(fake, store, config, tmp_path):
    add(fake, "ada@example.com", ME, NOW - timedelta(days=3))
    assert sync(gmail_source(config), store, config).ok
    fake.revoke_refresh_token()
    mbox = tmp_path / "mail.mbox"
    mbox.write_text(mbox_message("m1@test", "bob@example.com", [ME], "Thu, 19 Nov 2026 09:00:00 +0000"))
    result = run_cycle(config, store, [gmail_source(config), MboxSource(mbox)], NOW + timedelta(minutes=15))
    by_name = {outcome.name: outcome for outcome in result.outcomes}
    assert not by_name["gmail:" + ME].ok and by_name[f"mbox:{mbox}"].ok
    state = store.source_state("gmail:" + ME)
    assert state.state == "needs_auth" and "syncd auth" in state.error
    assert "\n" not in state.error and "1//" not in state.error and ME not in state.error
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=3)]  # what was synced stays
    assert touches(store, "bob@example.com")
    # Again: the same one-line state, no crash loop, no exception escaping.
    again = run_cycle(config, store, [gmail_source(config)], NOW + timedelta(minutes=30))
    assert not again.outcomes[0].ok and store.source_state("gmail:" + ME).state == "needs_auth"


def test_missing_token_file_is_needs_auth(fake, store, tmp_path):
    config = google_config(fake, tmp_path)
    (tmp_path / "google-token.json").unlink()
    outcome = sync(gmail_source(config), store, config)
    assert not outcome.ok and store.source_state("gmail:" + ME).state == "needs_auth"
    assert "syncd auth" in outcome.error


def test_persistent_server_errors_fail_with_one_line_and_keep_committed_pages(fake, store, config):
    for i in range(30):
        add(fake, "ada@example.com", ME, NOW - timedelta(days=i + 1))
    assert sync(gmail_source(config), store, config).ok
    add(fake, "bob@example.com", ME, NOW - timedelta(hours=1))
    fake.inject(rate=1.0, kinds=("503",), paths=("gmail/",))
    outcome = sync(gmail_source(config), store, config, NOW + timedelta(minutes=15))
    assert not outcome.ok and "\n" not in outcome.error and "503" in outcome.error
    state = store.source_state("gmail:" + ME)
    assert state.state == "error" and state.last_success_at == NOW and state.cursor["phase"] == "history"
    assert len(touches(store, "ada@example.com")) == 30
    fake.clear_faults()
    assert sync(gmail_source(config), store, config, NOW + timedelta(minutes=30)).ok
    assert touches(store, "bob@example.com") == [NOW - timedelta(hours=1)]


def _seed_mailbox(fake):
    ids = []
    for i in range(120):
        sender, to, labels = (
            (ME, f"p{i % 17}@example.com", ("SENT",)) if i % 4 == 0 else (f"p{i % 23}@example.com", ME, ("INBOX",))
        )
        ids.append(add(fake, sender, to, NOW - timedelta(hours=7 * i + 1), labels=labels))
    for i in range(40):
        add(fake, "old@example.com", ME, NOW - timedelta(days=370 + i))
    return ids


def _mutate(fake, ids):
    for message_id in ids[:10]:
        fake.gmail_delete_message(message_id)
    for message_id in ids[10:20]:
        fake.gmail_modify_labels(message_id, add=["TRASH"], remove=["INBOX"])
    for i in range(15):
        add(fake, f"new{i}@example.com", ME, NOW + timedelta(minutes=i))


def test_twenty_percent_faults_give_exactly_the_clean_state(tmp_path):
    folders = {kind: tmp_path / kind for kind in ("clean", "faulty")}
    results = {}
    for kind, folder in folders.items():
        folder.mkdir()
        with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
            ids = _seed_mailbox(server)
            config = google_config(server, folder)
            store = Store.open(folder / "syncd.db")
            if kind == "faulty":
                server.inject(rate=0.2, kinds=("500", "503", "429", "403rate", "reset"), seed=7)
            assert sync(gmail_source(config, list_page=40), store, config).ok
            _mutate(server, ids)
            assert sync(gmail_source(config, list_page=40), store, config, NOW + timedelta(hours=1)).ok
            if kind == "faulty":
                assert len(server.faults.log) > 15
            results[kind] = (rows(store), touches(store), store.own_addresses())
            store.close()
    assert results["faulty"] == results["clean"]
    assert len(results["clean"][0]) == 120 + 15  # deleted messages stay: mail is history


def test_429s_lower_the_pace_to_the_quota_and_the_state_stays_exact(tmp_path, store):
    with FakeGoogle(quota_units_per_second=400, quota_burst_seconds=0.5, now=lambda: NOW) as server:
        for i in range(160):
            add(server, f"p{i % 9}@example.com", ME, NOW - timedelta(hours=i + 1))
        config = google_config(server, tmp_path)
        pacers = []

        def pacer():
            pacers.append(AdaptiveRate(initial=5000))  # far above the quota: 429s must bring it down
            return pacers[-1]

        source = gmail_source(config, pacer_factory=pacer)
        outcome = sync(source, store, config)
        assert outcome.ok, outcome.error
        assert server.count_429 > 0
        assert store.interaction_count() == 160
        assert pacers[0].limited_events >= 1 and pacers[0].rate < 1500
        assert source.stats["rate_limited_parts"] > 0


def test_progress_is_logged_when_not_on_a_terminal(fake, store, config, caplog):
    add(fake, "ada@example.com", ME, NOW - timedelta(days=1))
    with caplog.at_level(logging.INFO, logger="syncd.sources.gmail"):
        assert sync(gmail_source(config), store, config).ok
    assert any("gmail:" in record.getMessage() and "messages" in record.getMessage() for record in caplog.records)


def test_a_hostile_header_costs_that_header_not_the_sync(fake, store, config):
    nested = "(" * 5000 + "x" + ")" * 5000 + " eve@example.com"
    hostile = add(fake, "mallory@example.com", ME, NOW - timedelta(days=2), Cc=nested)
    add(fake, "ada@example.com", ME, NOW - timedelta(days=1))
    assert sync(gmail_source(config), store, config).ok
    assert store.interaction("gmail:" + ME, hostile).sender == ("mallory@example.com",)
    assert [address for address, _, _ in touches(store)] == ["ada@example.com", "mallory@example.com"]


def test_progress_on_a_terminal_is_one_updating_line():
    from io import StringIO

    from syncd.google.progress import Progress

    class Terminal(StringIO):
        def isatty(self):
            return True

    seen = []
    context = SyncContext(now=NOW, since=NOW, until=NOW, tz=UTC, progress=seen.append)
    stream = Terminal()
    progress = Progress("gmail:" + ME, context, stream=stream)
    progress.update(500)
    progress.update(1000, final=True)
    text = stream.getvalue()
    assert text.startswith("\r\033[K") and text.endswith("\n") and text.count("\n") == 1
    assert "1000 messages" in text.rsplit("\r", 1)[1]
    assert len(seen) == 2 and seen[-1].startswith("gmail:me@example.com: 1000 messages")
