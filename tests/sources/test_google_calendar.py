"""The Google Calendar source: the real google-api-python-client against the fake Google server."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncd.config import parse_config
from syncd.engine import run_cycle, sync_source, touch_rules
from syncd.google.client import session_for
from syncd.google.retry import RetryPolicy
from syncd.sources.base import SyncContext
from syncd.sources.google import google_sources
from syncd.sources.google_calendar import GoogleCalendarSource
from syncd.sources.ics import IcsSource
from syncd.store import Store
from tests.conftest import ics_calendar, ics_event
from tests.fakegoogle import FakeGoogle
from tests.sources.contract import ME, NOW, SourceContract
from tests.sources.google_world import FAST, GoogleWorld, store, write_token  # noqa: F401 (store is a fixture)

NAME = "google_calendar:primary"


def google_config(
    fake: FakeGoogle, folder: Path, calendars: str = '["primary"]', emails: str = f'["{ME}"]', gmail: str = "false"
):
    token = write_token(fake, folder)
    return parse_config(
        f'[user]\nemails = {emails}\ntimezone = "UTC"\n'
        f"[sources.google]\nenabled = true\ncalendars = {calendars}\ngmail = {gmail}\n"
        f'api_endpoint = "{fake.root}"\ntoken_file = "{token}"\n',
        None,
    )


def calendar_source(config, calendar_id="primary", **kwargs) -> GoogleCalendarSource:
    return GoogleCalendarSource(session_for(config, RetryPolicy(**FAST)), calendar_id, **kwargs)


def sync(source, store, config, now=NOW):
    return sync_source(source, store, config, touch_rules(config, store), now)


def touches(store, address=None, until=NOW):
    if address is None:
        return sorted(
            store.connection.execute(
                "SELECT address, at, item_id FROM touches WHERE at <= ?", (int(until.timestamp()),)
            )
        )
    return [
        datetime.fromtimestamp(row[0], UTC)
        for row in store.connection.execute(
            "SELECT at FROM touches WHERE address = ? AND at <= ? ORDER BY at", (address, int(until.timestamp()))
        )
    ]


def rows(store):
    return sorted(
        store.connection.execute("SELECT source, item_id, kind, at, end_at, scope, payload FROM interactions")
    )


def api_calls(fake):
    return {name: count for name, count in fake.calls.items() if name != "oauth.token"}


def event(start: datetime, minutes: int = 30, attendees=(), **extra) -> dict:
    people = [{"email": ME, "responseStatus": "accepted"}]
    for item in attendees:
        people.append(item if isinstance(item, dict) else {"email": item, "responseStatus": "accepted"})
    return {
        "summary": "sync",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
        "attendees": people,
        **extra,
    }


def list_queries(fake):
    return [query for verb, path, query in fake.requests if path.endswith("/events") and verb == "GET"]


@pytest.fixture
def fake():
    with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def config(fake, tmp_path):
    return google_config(fake, tmp_path)


# --- the shared contract -------------------------------------------------------------


class CalendarWorld(GoogleWorld):
    def __init__(self, fake: FakeGoogle, folder: Path):
        super().__init__(fake, google_config(fake, folder))

    def add(self, key, address, when):
        self.ids[key] = self.fake.calendar_add_event(event(when, attendees=[address]))["id"]

    def move(self, key, when):
        self.fake.calendar_update_event(
            self.ids[key],
            {"start": {"dateTime": when.isoformat()}, "end": {"dateTime": (when + timedelta(minutes=30)).isoformat()}},
        )

    def remove(self, key):
        self.fake.calendar_delete_event(self.ids.pop(key))


class TestGoogleCalendarContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
            yield CalendarWorld(server, tmp_path)


# --- first sync and query shapes ------------------------------------------------------


def test_sources_per_calendar_and_names(fake, tmp_path):
    config = google_config(fake, tmp_path, calendars='["primary", "team@group.calendar.google.com"]', gmail="true")
    names = [(source.name, source.kind) for source in google_sources(config)]
    assert names == [
        ("google_calendar:primary", "google_calendar"),
        ("google_calendar:team@group.calendar.google.com", "google_calendar"),
        ("gmail:me", "gmail"),
    ]


def test_first_sync_lists_from_the_lookback_without_an_upper_bound(fake, store, config):
    fake.calendar_add_event(event(NOW - timedelta(days=400), attendees=["old@example.com"]))
    recent = fake.calendar_add_event(event(NOW - timedelta(days=30), attendees=["ada@example.com"]))["id"]
    far = fake.calendar_add_event(event(NOW + timedelta(days=90), attendees=["bob@example.com"]))["id"]
    assert sync(calendar_source(config), store, config).ok
    assert store.known_ids(NAME) == {recent, far}  # beyond `until` too: no later delta would bring it
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=30)]
    assert touches(store, "bob@example.com", until=NOW + timedelta(days=365)) == [NOW + timedelta(days=90)]
    assert touches(store, "bob@example.com") == []  # not yet
    (first,) = list_queries(fake)
    assert first["singleEvents"] == ["true"] and first["timeMin"][0].startswith("2025-11-20")
    assert not {"timeMax", "orderBy", "q", "syncToken"} & set(first)


def test_second_sync_is_one_sync_token_call(fake, store, config):
    fake.calendar_add_event(event(NOW - timedelta(days=3), attendees=["ada@example.com"]))
    assert sync(calendar_source(config), store, config).ok
    fake.reset_counters()
    outcome = sync(calendar_source(config), store, config, NOW + timedelta(minutes=15))
    assert outcome.ok and outcome.items == 0
    assert api_calls(fake) == {"calendar.events.list": 1}
    (query,) = list_queries(fake)
    assert set(query) == {"syncToken", "singleEvents", "maxResults", "alt"}


def test_event_fields_map_to_meetings(fake, store, tmp_path):
    fake.add_calendar("berlin@group.calendar.google.com", time_zone="Europe/Berlin")
    config = google_config(fake, tmp_path, calendars='["primary", "berlin@group.calendar.google.com"]')
    room = {"email": "room-1@resource.calendar.google.com", "resource": True, "responseStatus": "accepted"}
    ids = {
        "meeting": fake.calendar_add_event(
            event(
                NOW - timedelta(days=1),
                attendees=[
                    {"email": "Ada@Example.com", "responseStatus": "tentative"},
                    {"email": "bob@example.com", "responseStatus": "declined"},
                    room,
                ],
                organizer={"email": "carol@example.com"},
            )
        )["id"],
        "free": fake.calendar_add_event(
            event(NOW - timedelta(days=2), attendees=["dave@example.com"], transparency="transparent")
        )["id"],
        "cancelled": fake.calendar_add_event(event(NOW - timedelta(days=3), attendees=["erin@example.com"]))["id"],
    }
    fake.calendar_delete_event(ids["cancelled"])
    allday = fake.calendar_add_event(
        {
            "summary": "offsite",
            "start": {"date": "2026-11-18"},
            "end": {"date": "2026-11-19"},
            "attendees": [{"email": "frank@example.com"}],
        },
        "berlin@group.calendar.google.com",
    )["id"]
    for source in google_sources(config, retry=RetryPolicy(**FAST)):
        assert sync(source, store, config).ok
    meeting = store.interaction(NAME, ids["meeting"])
    attendees = {a.address: a for a in meeting.attendees}
    assert attendees[ME].is_self and attendees[ME].response == "accepted"
    assert attendees["ada@example.com"].response == "tentative" and not attendees["ada@example.com"].is_self
    assert attendees["bob@example.com"].response == "declined"
    assert attendees["room-1@resource.calendar.google.com"].is_resource
    assert meeting.organizer == "carol@example.com" and meeting.start == NOW - timedelta(days=1)
    assert meeting.end == NOW - timedelta(days=1) + timedelta(minutes=30) and not meeting.all_day
    assert store.interaction(NAME, ids["free"]).transparent
    assert store.interaction(NAME, ids["cancelled"]) is None
    day = store.interaction("google_calendar:berlin@group.calendar.google.com", allday)
    assert day.all_day and day.start == datetime(2026, 11, 18, tzinfo=ZoneInfo("Europe/Berlin"))
    # Touch rules over those fields: tentative counts, declined/room/free/all-day do not.
    assert [address for address, _, _ in touches(store)] == ["ada@example.com", "carol@example.com"]


def test_recurring_meeting_counts_each_occurrence_with_exceptions(fake, store, config):
    first = NOW - timedelta(weeks=10, hours=1)
    series = fake.calendar_add_event(
        event(first, attendees=["ada@example.com"], recurrence=["RRULE:FREQ=WEEKLY;COUNT=20"])
    )["id"]
    assert sync(calendar_source(config), store, config).ok
    expected = [first + timedelta(weeks=week) for week in range(11)]  # the 11th began an hour ago
    assert touches(store, "ada@example.com") == expected
    assert len(store.known_ids(NAME)) == 20  # one row per instance, each with its own id

    moved_from, cancelled_at, declined_at = expected[2], expected[5], expected[7]
    moved_to = moved_from + timedelta(days=1)
    fake.calendar_add_exception(
        series,
        moved_from.isoformat(),
        {
            "start": {"dateTime": moved_to.isoformat()},
            "end": {"dateTime": (moved_to + timedelta(minutes=30)).isoformat()},
        },
    )
    fake.calendar_add_exception(series, cancelled_at.isoformat(), cancelled=True)
    fake.calendar_add_exception(
        series,
        declined_at.isoformat(),
        {
            "attendees": [
                {"email": ME, "responseStatus": "declined"},
                {"email": "ada@example.com", "responseStatus": "accepted"},
            ]
        },
    )
    fake.reset_counters()
    assert sync(calendar_source(config), store, config, NOW + timedelta(minutes=15)).ok
    assert api_calls(fake) == {"calendar.events.list": 1}
    assert touches(store, "ada@example.com") == sorted(
        [when for when in expected if when not in (moved_from, cancelled_at, declined_at)] + [moved_to]
    )
    assert len(store.known_ids(NAME)) == 19

    fake.calendar_delete_event(series)  # the whole series: every instance goes
    assert sync(calendar_source(config), store, config, NOW + timedelta(minutes=30)).ok
    assert touches(store, "ada@example.com") == []


def test_own_address_from_the_primary_calendar(fake, store, tmp_path):
    config = google_config(fake, tmp_path, emails="[]")
    fake.calendar_add_event(event(NOW - timedelta(days=1), attendees=["ada@example.com"]))
    assert run_cycle(config, store, [calendar_source(config)], NOW).outcomes[0].ok
    assert store.own_addresses() == {ME}
    assert [address for address, _, _ in touches(store)] == ["ada@example.com"]


# --- resync, resume, errors --------------------------------------------------------------


def _seed(fake):
    # Explicit ids (the fake draws random ones) so two fakes seeded alike compare equal.
    ids = [
        fake.calendar_add_event(
            event(NOW - timedelta(days=day, hours=day % 5), attendees=[f"p{day % 7}@example.com"], id=f"event{day:03d}")
        )["id"]
        for day in range(1, 25)
    ]
    ids.append(
        fake.calendar_add_event(
            event(
                NOW - timedelta(weeks=6),
                attendees=["ada@example.com"],
                id="series001",
                recurrence=["RRULE:FREQ=WEEKLY;COUNT=10"],
            )
        )["id"]
    )
    return ids


def _mutate(fake, ids):
    fake.calendar_delete_event(ids[0])
    fake.calendar_update_event(
        ids[1],
        {
            "start": {"dateTime": (NOW - timedelta(hours=3)).isoformat()},
            "end": {"dateTime": (NOW - timedelta(hours=2)).isoformat()},
        },
    )
    fake.calendar_add_event(event(NOW - timedelta(hours=5), attendees=["new@example.com"], id="added001"))
    fake.calendar_add_exception(ids[-1], (NOW - timedelta(weeks=4)).isoformat(), cancelled=True)


def test_410_resyncs_fully_without_duplicates_or_losses(fake, store, config, tmp_path):
    ids = _seed(fake)
    assert sync(calendar_source(config, page_size=7), store, config).ok
    _mutate(fake, ids)
    fake.invalidate_sync_tokens()
    fake.reset_counters()
    outcome = sync(calendar_source(config, page_size=7), store, config, NOW + timedelta(minutes=15))
    assert outcome.ok, outcome.error
    statuses = [entry["status"] for entry in fake.log if entry["api"] == "calendar.events.list"]
    assert statuses[0] == 410 and set(statuses[1:]) == {200} and len(statuses) > 2
    # Exactly what a fresh sync of the same calendar gives.
    fresh = Store.open(tmp_path / "fresh.db")
    assert sync(calendar_source(config), fresh, config, NOW + timedelta(minutes=15)).ok
    assert rows(store) == rows(fresh) and touches(store) == touches(fresh)
    fresh.close()


def test_interrupted_full_listing_resumes_from_the_page_token(fake, store, config):
    _seed(fake)
    source = calendar_source(config, page_size=5)
    store.ensure_source(source.name, source.kind)
    rules = touch_rules(config, store)
    generator = source.sync(None, SyncContext(now=NOW, since=NOW - timedelta(days=365), until=NOW, tz=UTC))
    store.apply_batch(source.name, next(generator), rules)
    generator.close()
    cursor = store.source_state(source.name).cursor
    assert cursor["phase"] == "full" and cursor["page_token"] and store.interaction_count() == 5
    fake.reset_counters()
    assert sync(calendar_source(config, page_size=5), store, config).ok
    queries = list_queries(fake)
    assert "pageToken" in queries[0] and queries[0]["timeMin"] == [cursor["time_min"]]
    assert store.interaction_count() == 24 + 10


def test_twenty_percent_faults_give_exactly_the_clean_state(tmp_path):
    results = {}
    for kind in ("clean", "faulty"):
        folder = tmp_path / kind
        folder.mkdir()
        with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
            ids = _seed(server)
            config = google_config(server, folder)
            store = Store.open(folder / "syncd.db")
            if kind == "faulty":
                server.inject(rate=0.2, kinds=("500", "503", "429", "403rate", "reset"), seed=3)
            assert sync(calendar_source(config, page_size=4), store, config).ok
            _mutate(server, ids)
            assert sync(calendar_source(config, page_size=4), store, config, NOW + timedelta(hours=1)).ok
            if kind == "faulty":
                assert len(server.faults.log) >= 3
            results[kind] = (rows(store), touches(store))
            store.close()
    assert results["faulty"] == results["clean"]


def test_revoked_token_is_needs_auth_and_a_local_source_still_syncs(fake, store, config, tmp_path):
    fake.calendar_add_event(event(NOW - timedelta(days=2), attendees=["ada@example.com"]))
    assert sync(calendar_source(config), store, config).ok
    fake.revoke_refresh_token()
    ics = tmp_path / "work.ics"
    ics.write_text(
        ics_calendar(ics_event("x@test", "20261118T090000Z", "20261118T093000Z", [ME, "bob@example.com"], organizer=ME))
    )
    result = run_cycle(config, store, [calendar_source(config), IcsSource(ics)], NOW + timedelta(minutes=15))
    assert [outcome.ok for outcome in result.outcomes] == [False, True]
    state = store.source_state(NAME)
    assert state.state == "needs_auth" and "invalid_grant" in state.error and "\n" not in state.error
    assert touches(store, "ada@example.com") == [NOW - timedelta(days=2)]
    assert touches(store, "bob@example.com")


def test_unknown_calendar_fails_alone(fake, store, tmp_path):
    config = google_config(fake, tmp_path, calendars='["primary", "nope@group.calendar.google.com"]')
    fake.calendar_add_event(event(NOW - timedelta(days=2), attendees=["ada@example.com"]))
    outcomes = [sync(source, store, config) for source in google_sources(config, retry=RetryPolicy(**FAST))]
    assert [outcome.ok for outcome in outcomes] == [True, False]
    assert "no such calendar" in outcomes[1].error and "\n" not in outcomes[1].error and "@" not in outcomes[1].error
    assert store.source_state("google_calendar:nope@group.calendar.google.com").state == "error"
