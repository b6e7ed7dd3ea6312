"""The Gmail source when things go wrong: revoked or missing tokens, server errors, random faults, 429s.

Split from test_gmail.py, whose helpers and fixtures it shares.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta


from syncd.engine import run_cycle
from syncd.google.pacing import AdaptiveRate
from syncd.sources.base import SyncContext
from syncd.sources.mail import MboxSource
from syncd.store import Store
from tests.conftest import mbox_message
from tests.fakegoogle import FakeGoogle
from tests.sources.contract import ME, NOW
from tests.sources.google_world import store, write_token  # noqa: F401 (store is a fixture)
from tests.sources.test_gmail import (  # noqa: F401 (fake and config are fixtures)
    add,
    api_calls,
    config,
    fake,
    gmail_source,
    google_config,
    rows,
    sync,
    touches,
)


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

    from syncd.sources.progress import Progress

    class Terminal(StringIO):
        def isatty(self):
            return True

    seen = []
    context = SyncContext(now=NOW, since=NOW, until=NOW, tz=UTC, progress=seen.append, interactive=True)
    stream = Terminal()
    progress = Progress("gmail:" + ME, context, stream=stream, after=0)
    progress.update(500)
    progress.update(1000, final=True)
    text = stream.getvalue()
    assert text.startswith("\r\033[K") and text.endswith("\n") and text.count("\n") == 1
    assert "1000 messages" in text.rsplit("\r", 1)[1]
    assert len(seen) == 2 and seen[-1].startswith("gmail:me@example.com: 1000 messages")
