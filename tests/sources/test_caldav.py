"""The CalDAV source against a real Radicale: the shared contract, discovery, recurrences as in ICS, failures."""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.errors import NeedsAuth
from syncd.sources.caldav import CaldavSource, caldav_sources, check_login
from syncd.sources.caldav_dav import CaldavAccount
from syncd.sources.ics import IcsSource
from syncd.store import Store
from tests.servers.radicale import PASSWORD, USER, Radicale, event_ics, free_port, radicale  # noqa: F401
from tests.sources.contract import ME, NOW, SourceContract

pytestmark = pytest.mark.slow


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def account(server: Radicale, url: str | None = None, password: str = PASSWORD, **options) -> CaldavAccount:
    return CaldavAccount(
        name="home",
        url=url or server.url,
        username=USER,
        password_command=["printf", "%s\\n", password],
        **options,
    )


class CaldavWorld:
    """Events PUT into one calendar of the server, as another CalDAV client would."""

    def __init__(self, server: Radicale):
        self.server = server
        self.calendar = server.make_calendar("work", "Work")
        self.events: dict[str, tuple[str, datetime]] = {}

    def put(self, key: str) -> None:
        address, when = self.events[key]
        ics = event_ics(key, stamp(when), stamp(when + timedelta(hours=1)), attendees=(address,))
        self.server.put(f"{self.calendar}{key}.ics", ics)

    def add(self, key: str, address: str, when: datetime) -> None:
        self.events[key] = (address, when)
        self.put(key)

    def move(self, key: str, when: datetime) -> None:
        self.events[key] = (self.events[key][0], when)
        self.put(key)

    def remove(self, key: str) -> None:
        del self.events[key]
        self.server.delete(f"{self.calendar}{key}.ics")

    def add_unreadable(self, key: str) -> None:
        """Radicale stores it; expanding it overflows the year 9999."""
        unreadable = event_ics(key, "20261101T090000Z", "20261101T100000Z").replace(
            "DTSTART:20261101T090000Z\r\nDTEND:20261101T100000Z", "DTSTART;VALUE=DATE:99991231\r\nRRULE:FREQ=DAILY"
        )
        self.server.put(f"{self.calendar}{key}.ics", unreadable)

    def break_it(self) -> None:
        self.server.stop()

    def source(self) -> CaldavSource:
        return CaldavSource(account(self.server))


class TestCaldavContract(SourceContract):
    @pytest.fixture
    def world(self, radicale):
        return CaldavWorld(radicale)


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(tmp_path / "store" / "syncd.db")
    yield store
    store.close()


@pytest.fixture
def config():
    return parse_config(f'[user]\nemails = ["{ME}"]\ntimezone = "UTC"\n', None)


def run(source, store, config, now=NOW):
    return sync_source(source, store, config, touch_rules(config, store), now)


def touches(store: Store, address: str) -> list[datetime]:
    return SourceContract.touches_of(None, store, address, NOW + timedelta(days=30))  # type: ignore[arg-type]


def private_calendar_with_bob(server: Radicale) -> None:
    """A second calendar, "Private", holding one meeting with bob@example.com five days ago."""
    private = server.make_calendar("private", "Private")
    start = NOW - timedelta(days=5)
    server.put(
        f"{private}b.ics",
        event_ics("b", stamp(start), stamp(start + timedelta(hours=1)), attendees=("bob@example.com",)),
    )


def test_discovery_from_the_server_root_principal_and_calendar_url(radicale, store, config):
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    private_calendar_with_bob(radicale)
    radicale.make_calendar("tasks", "Tasks", components=("VTODO",))
    for url in (radicale.url, radicale.url + f"{USER}/"):
        outcome = run(CaldavSource(account(radicale, url)), store, config)
        assert outcome.ok, outcome.error
    state = store.source_state("caldav:home")
    assert sorted(state.cursor["calendars"]) == ["/ada/private/", "/ada/work/"]  # the VTODO list is not read
    assert touches(store, "bob@example.com") == [NOW - timedelta(days=5)]
    only = CaldavSource(account(radicale, radicale.url + "ada/work/"))
    assert run(only, store, config).ok
    assert list(store.source_state(only.name).cursor["calendars"]) == ["/ada/work/"]


def test_calendars_by_display_name_or_path_each_a_source(radicale, store, config):
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    private_calendar_with_bob(radicale)
    sources = caldav_sources([account(radicale, calendars=("work", "/ada/private/"))])
    assert [source.name for source in sources] == ["caldav:home/work", "caldav:home//ada/private/"]
    for source in sources:
        assert run(source, store, config).ok
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=2)]
    assert touches(store, "bob@example.com") == [NOW - timedelta(days=5)]
    missing = run(CaldavSource(account(radicale), "Holidays"), store, config)
    assert not missing.ok
    assert missing.error == f"caldav:home: no calendar 'Holidays' at {radicale.url} (found: 'Private', 'Work')"


def test_recurrences_and_exceptions_exactly_as_the_ics_source(radicale, store, config, tmp_path):
    series = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//t//EN",
            "BEGIN:VEVENT",
            "UID:weekly",
            "DTSTAMP:20261101T000000Z",
            "DTSTART:20260901T090000Z",
            "DTEND:20260901T093000Z",
            "RRULE:FREQ=WEEKLY;COUNT=20",
            "EXDATE:20260915T090000Z",
            "ORGANIZER:mailto:me@example.com",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:weekly",
            "DTSTAMP:20261101T000000Z",
            "RECURRENCE-ID:20260922T090000Z",
            "DTSTART:20260923T140000Z",
            "DTEND:20260923T143000Z",
            "ORGANIZER:mailto:me@example.com",
            "ATTENDEE;PARTSTAT=DECLINED:mailto:ada@example.com",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    calendar = radicale.make_calendar("work", "Work")
    radicale.put(f"{calendar}weekly.ics", series)
    (tmp_path / "same.ics").write_text(series)
    caldav, ics = CaldavSource(account(radicale)), IcsSource(tmp_path / "same.ics")
    assert run(caldav, store, config).ok and run(ics, store, config).ok

    def rows(name: str) -> list[tuple]:
        query = "SELECT item_id, at, end_at, payload FROM interactions WHERE source = ? ORDER BY item_id"
        return list(store.connection.execute(query, (name,)))

    assert rows(caldav.name) == rows(ics.name)
    ids = [row[0] for row in rows(caldav.name)]
    assert "weekly#20260908T090000Z" in ids and "weekly#20260915T090000Z" not in ids  # EXDATE
    assert "weekly#20260923T140000Z" in ids and "weekly#20260922T090000Z" not in ids  # the moved one
    assert datetime(2026, 9, 23, 14, 0, tzinfo=NOW.tzinfo) not in touches(store, "ada@example.com")  # declined


def test_no_change_sync_is_one_report_per_calendar(radicale, store, config):
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    radicale.make_calendar("private", "Private")
    source = CaldavSource(account(radicale))
    assert run(source, store, config).ok
    before = radicale.requests()
    outcome = run(source, store, config, NOW + timedelta(minutes=15))
    assert outcome.ok and outcome.items == 0
    assert [method for method, _ in radicale.requests()[len(before) :]] == ["REPORT", "REPORT"]


def test_changed_and_deleted_objects_incrementally(radicale, store, config):
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    world.add("b", "bob@example.com", NOW - timedelta(days=3))
    source = CaldavSource(account(radicale))
    assert run(source, store, config).ok
    world.move("a", NOW - timedelta(days=1))
    world.remove("b")
    world.add("c", "cy@example.com", NOW - timedelta(hours=5))
    outcome = run(source, store, config, NOW + timedelta(minutes=15))
    assert outcome.ok, outcome.error
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=1)]
    assert touches(store, "bob@example.com") == []
    assert touches(store, "cy@example.com") == [NOW - timedelta(hours=5)]


def test_an_expired_sync_token_means_a_full_read(radicale, store, config):
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    source = CaldavSource(account(radicale))
    assert run(source, store, config).ok
    cursor = store.source_state(source.name).cursor
    cursor["calendars"]["/ada/work/"]["token"] = "http://radicale.org/ns/sync/" + "0" * 64
    store.connection.execute("UPDATE sources SET cursor = ? WHERE name = ?", (json.dumps(cursor), source.name))
    world.remove("a")
    world.add("b", "bob@example.com", NOW - timedelta(days=1))
    outcome = run(source, store, config, NOW + timedelta(minutes=15))
    assert outcome.ok, outcome.error
    assert touches(store, "ada@example.com") == [] and touches(store, "bob@example.com") == [NOW - timedelta(days=1)]


def test_ctag_and_etag_when_the_cursor_has_no_sync_token(radicale, store, config):
    """The fallback for servers without sync-collection, driven against the real server."""
    world = CaldavWorld(radicale)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    world.add("b", "bob@example.com", NOW - timedelta(days=3))
    source = CaldavSource(account(radicale))
    assert run(source, store, config).ok
    cursor = store.source_state(source.name).cursor
    state = cursor["calendars"]["/ada/work/"]
    del state["token"]
    state["ctag"] = "stale"
    store.connection.execute("UPDATE sources SET cursor = ? WHERE name = ?", (json.dumps(cursor), source.name))
    world.move("a", NOW - timedelta(days=1))
    world.remove("b")
    outcome = run(source, store, config, NOW + timedelta(minutes=15))
    assert outcome.ok, outcome.error
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=1)] and touches(store, "bob@example.com") == []
    before = radicale.requests()
    assert run(source, store, config, NOW + timedelta(minutes=30)).items == 0
    assert [method for method, _ in radicale.requests()[len(before) :]] == ["PROPFIND"]  # the ctag, unchanged


def test_wrong_password_needs_auth_and_never_shows_the_password(radicale, store, config, caplog):
    CaldavWorld(radicale).add("a", "ada@example.com", NOW - timedelta(days=2))
    wrong = "Wr0ng-and-secret-pw"
    source = CaldavSource(account(radicale, password=wrong))
    with caplog.at_level(logging.DEBUG):
        outcome = run(source, store, config)
    assert not outcome.ok
    state = store.source_state(source.name)
    assert state.state == "needs_auth"
    assert "syncd auth caldav:home" in outcome.error and "\n" not in outcome.error
    store.close()
    as_basic = base64.b64encode(f"{USER}:{wrong}".encode()).decode()  # how it travels in a header
    for text in (outcome.error, caplog.text, (store.path).read_bytes().decode("latin-1")):
        assert wrong not in text and PASSWORD not in text and as_basic not in text


def test_a_refused_connection_fails_fast(store, config):
    source = CaldavSource(CaldavAccount("home", f"http://127.0.0.1:{free_port()}/", USER, ["echo", PASSWORD]))
    started = time.monotonic()
    outcome = run(source, store, config)
    assert time.monotonic() - started < 15
    assert not outcome.ok and "cannot reach the server" in outcome.error
    assert store.source_state(source.name).state == "error"


def test_syncd_auth_tries_the_password_once_before_storing_it(radicale):
    """What `syncd auth caldav:NAME` runs before it stores a typed password."""
    CaldavWorld(radicale)
    without_command = CaldavAccount("home", radicale.url, USER)
    check_login(without_command, PASSWORD)
    with pytest.raises(NeedsAuth) as refused:
        check_login(without_command, "typo-" + PASSWORD)
    assert "refused user 'ada'" in str(refused.value) and PASSWORD not in str(refused.value)


def test_a_refused_password_is_tried_once_per_cycle_for_all_the_accounts_calendars(radicale, store, config):
    CaldavWorld(radicale)
    radicale.make_calendar("private", "Private")
    sources = caldav_sources([account(radicale, password="Wr0ng-pw", calendars=("Work", "Private"))])
    before = len(radicale.requests())
    outcomes = [run(source, store, config) for source in sources]
    assert [store.source_state(source.name).state for source in sources] == ["needs_auth", "needs_auth"]
    assert outcomes[0].error == outcomes[1].error
    assert len(radicale.requests()) - before == 1
    later = [run(source, store, config, NOW + timedelta(minutes=15)) for source in sources]
    assert not any(outcome.ok for outcome in later)
    assert len(radicale.requests()) - before == 2  # the next cycle tries again, once
