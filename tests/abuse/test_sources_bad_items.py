"""Abuse of the sources with items the libraries cannot handle: one bad item costs one item.

An event in year 9999, a duration of 9,999,999 weeks, a message with an overflowing date
are skipped and counted (`status --json` `skipped`), the rest of the file syncs and the
source is ok. A header block cut at the size cap never counts as a direct touch, and a
FIFO left in a Maildir is never opened.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, UTC

import pytest

from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.sources.ics import IcsSource
from syncd.sources.mail import MboxSource
from syncd.sources.mail_headers import MAX_HEADER_BYTES
from syncd.records import from_json
from syncd.store import Store
from tests.conftest import ics_calendar, ics_event, mbox_message

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ME = "me@example.com"
GOOD_EVENT = ics_event("good@x", "20261110T090000Z", "20261110T100000Z", [ME, "ada@example.com"], organizer=ME)


def bad_event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", *lines, "END:VEVENT"])


BAD_EVENTS = {
    "year 9999 all-day": bad_event("y9999@x", "DTSTART;VALUE=DATE:99991231"),
    "P9999999W": bad_event("long@x", "DTSTART:20261110T090000Z", "DURATION:P9999999W"),
    "negative P9999999W": bad_event("back@x", "DTSTART:20261110T090000Z", "DURATION:-P9999999W"),
    "daily from year 9999": bad_event("rule@x", "DTSTART;VALUE=DATE:99991231", "RRULE:FREQ=DAILY"),
    "end past year 9999": bad_event("end@x", "DTSTART:99991231T230000Z", "DURATION:PT2H"),
}


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "syncd.db")
    yield store
    store.close()


@pytest.fixture
def config():
    return parse_config(f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n', None)


def touches(store: Store, address: str) -> list[str]:
    rows = store.connection.execute("SELECT item_id FROM touches WHERE address = ? ORDER BY item_id", (address,))
    return [row[0] for row in rows]


@pytest.mark.parametrize("bad", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_one_absurd_event_costs_only_itself(tmp_path, store, config, bad, caplog):
    calendar = tmp_path / "cal.ics"
    calendar.write_text(ics_calendar(GOOD_EVENT, bad))
    source = IcsSource(calendar)
    with caplog.at_level(logging.DEBUG, logger="syncd"):
        outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
    assert outcome.ok, outcome.error
    assert touches(store, "ada@example.com") == ["good@x#20261110T090000Z"]
    assert store.source_state(source.name).state == "ok"
    assert store.skipped(source.name) == 1
    uid = bad.split("UID:")[1].split("\r\n")[0]
    logged = [record for record in caplog.records if uid in record.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.DEBUG, [r.getMessage() for r in logged]


def test_skipped_items_show_in_status_json_and_the_source_is_ok(cli):
    (cli.home / "cal.ics").write_text(ics_calendar(GOOD_EVENT, *BAD_EVENTS.values()))
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "UTC"
        [store]
        path = "data/syncd.db"
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        enabled = false
        [holds]
        sink = "ics:holds.ics"
    """)
    assert cli("sync", "--no-holds", now=NOW.isoformat()).code == 0
    result = cli("status", "--json", now=NOW.isoformat())
    (source,) = json.loads(result.out)["sources"]
    assert source["state"] == "ok" and source["items"] == 1 and source["skipped"] == len(BAD_EVENTS)


def test_messages_with_overflowing_dates_are_skipped_and_counted(tmp_path, store, config):
    mbox = tmp_path / "mail.mbox"
    mbox.write_text(
        mbox_message("good@x", ME, ["ada@example.com"], "Wed, 04 Nov 2026 10:00:00 +0000")
        + mbox_message("y10000@x", ME, ["bob@example.com"], "Mon, 2 Mar 10000 10:00:00 +0000").replace(
            "Thu Jan  1 00:00:00 2026", "sometime"
        )
        + mbox_message("tz@x", ME, ["bob@example.com"], "Fri, 31 Dec 9999 23:59:59 -9999").replace(
            "Thu Jan  1 00:00:00 2026", "sometime"
        )
    )
    source = MboxSource(mbox)
    outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
    assert outcome.ok, outcome.error
    assert touches(store, "ada@example.com") == ["good@x"] and touches(store, "bob@example.com") == []
    assert store.skipped(source.name) == 2


def test_a_cc_cut_at_the_header_cap_is_never_a_direct_touch(tmp_path, store, config):
    """A mailing to 20,000 people whose Cc runs past the 256 KiB cap cannot be judged direct."""
    crowd = [f"person{number}@example.com" for number in range(20_000)]
    mbox = tmp_path / "mail.mbox"
    mbox.write_text(
        mbox_message("crowd@x", "ada@example.com", [ME], "Wed, 04 Nov 2026 10:00:00 +0000", cc=crowd)
        + mbox_message("direct@x", "bob@example.com", [ME], "Thu, 05 Nov 2026 10:00:00 +0000")
    )
    assert len(", ".join(crowd)) > MAX_HEADER_BYTES
    source = MboxSource(mbox)
    assert sync_source(source, store, config, touch_rules(config, store), NOW).ok
    assert touches(store, "ada@example.com") == []
    assert touches(store, "bob@example.com") == ["direct@x"]
    payloads = [from_json(json.loads(row[0])) for row in store.connection.execute("SELECT payload FROM interactions")]
    assert sorted(record.headers_cut for record in payloads) == [False, True]


@pytest.mark.slow
def test_a_fifo_in_maildir_new_is_skipped_without_being_opened(tmp_path):
    """Run in a child process so a regression hangs the child, not the suite; the timeout is
    only a guard: the assertions are on what the sync did."""
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1780000000.M1P1.host").write_text(
        mbox_message("good@x", "ada@example.com", [ME], "Wed, 04 Nov 2026 10:00:00 +0000").split("\n", 1)[1]
    )
    os.mkfifo(maildir / "new" / "1780000001.M2P1.host")
    (maildir / "cur" / "1780000002.M3P1.host:2,S").mkdir()
    script = textwrap.dedent(f"""
        import json
        from datetime import datetime, UTC
        from pathlib import Path
        from syncd.config import parse_config
        from syncd.engine import sync_source, touch_rules
        from syncd.sources.mail import MaildirSource
        from syncd.store import Store

        store = Store.open(Path({str(tmp_path / "syncd.db")!r}))
        config = parse_config('[user]\\nemails = ["{ME}"]\\n', None)
        outcome = sync_source(
            MaildirSource(Path({str(maildir)!r})), store, config, touch_rules(config, store),
            datetime(2026, 11, 20, 9, tzinfo=UTC),
        )
        rows = store.connection.execute("SELECT item_id FROM interactions").fetchall()
        print(json.dumps({{"ok": outcome.ok, "error": outcome.error, "items": [row[0] for row in rows]}}))
    """)
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd()
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"ok": True, "error": None, "items": ["good@x"]}


def test_every_event_absurd_is_no_readable_event_not_an_empty_calendar(tmp_path, store, config):
    """A file whose only events are bad is an error worth seeing, never a silent success."""
    calendar = tmp_path / "cal.ics"
    calendar.write_text(ics_calendar(GOOD_EVENT))
    source = IcsSource(calendar)
    assert sync_source(source, store, config, touch_rules(config, store), NOW).ok
    calendar.write_text(ics_calendar(*BAD_EVENTS.values()))
    outcome = sync_source(source, store, config, touch_rules(config, store), NOW + timedelta(days=8))
    assert not outcome.ok and "empty" in outcome.error
    assert touches(store, "ada@example.com") == ["good@x#20261110T090000Z"]
