"""syncd.google.client against the fake Google server: endpoints, batches, retries, errors."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, UTC
from email.utils import format_datetime

import pytest

from syncd.errors import NeedsAuth, SourceError
from syncd.google.client import GOOGLE_BATCH_URIS, GoogleSession
from syncd.google.failures import GoogleApiError, parse_retry_after
from syncd.google.pacing import AdaptiveRate
from syncd.google.retry import RetryPolicy
from tests.fakegoogle import FakeGoogle

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Sleeps:
    """A RetryPolicy sleep that records instead of waiting."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake():
    with FakeGoogle(quota_units_per_second=None, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def sleeps():
    return Sleeps()


def session(fake, sleeps=None, attempts=6, credentials=None) -> GoogleSession:
    policy = RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.1, sleep=sleeps or (lambda s: None))
    return GoogleSession(credentials or fake.credentials(), fake.root, retry=policy)


def statuses(fake, api):
    return [entry["status"] for entry in fake.log if entry["api"] == api]


def seed_messages(fake, count):
    return [
        fake.gmail_add_message({"From": f"p{i}@example.com", "To": "me@example.com"}, NOW - timedelta(hours=i + 1))
        for i in range(count)
    ]


# --- endpoints ---------------------------------------------------------------------------


def test_one_root_serves_both_apis_and_their_batches(fake):
    google = session(fake)
    google.execute(google.calendar().events().list(calendarId="primary"), "calendar")
    google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert google.batch_uri("gmail") == fake.root + "batch/gmail/v1"
    assert google.batch_uri("calendar") == fake.root + "batch/calendar/v3"
    paths = [path for _, path, _ in fake.requests if path != "/token"]
    assert paths == ["/calendar/v3/calendars/primary/events", "/gmail/v1/users/me/profile"]


def test_default_endpoints_are_googles(fake):
    google = GoogleSession(fake.credentials(), None)
    assert google.batch_uri("gmail") == GOOGLE_BATCH_URIS["gmail"] == "https://gmail.googleapis.com/batch/gmail/v1"
    assert google.batch_uri("calendar") == "https://www.googleapis.com/batch/calendar/v3"
    assert google.gmail()._baseUrl == "https://gmail.googleapis.com/"
    assert google.calendar()._baseUrl == "https://www.googleapis.com/calendar/v3/"


def test_endpoint_without_trailing_slash_works(fake):
    google = GoogleSession(fake.credentials(), fake.root.rstrip("/"))
    assert google.execute(google.gmail().users().getProfile(userId="me"), "gmail")["emailAddress"] == "me@example.com"


def test_each_thread_has_its_own_http(fake):
    google = session(fake)
    seen = {}

    def grab(name):
        seen[name] = (google.http(), google.http())

    threads = [threading.Thread(target=grab, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grab("main")
    assert all(first is second for first, second in seen.values())
    assert len({id(first) for first, _ in seen.values()}) == 4
    assert len({id(first.http) for first, _ in seen.values()}) == 4  # distinct httplib2 connections


def test_credentials_load_lazily(fake):
    loads = []

    def loader():
        loads.append(1)
        return fake.credentials()

    google = GoogleSession(loader, fake.root)
    assert loads == []
    google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert loads == [1]


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "503", "429", "403rate", "reset"])
def test_transient_errors_are_retried(fake, sleeps, kind):
    google = session(fake, sleeps)
    fake.fail_next(3 if kind != "reset" else 4, kind, paths=("gmail/",))  # httplib2 absorbs one reset by itself
    profile = google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert profile["emailAddress"] == "me@example.com"
    assert len(sleeps.waits) >= 2


def test_backoff_is_exponential_with_jitter_and_bounded():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        waits = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1
    assert policy.delay(0, retry_after=30) == 30


def test_retry_after_is_honoured(sleeps):
    with FakeGoogle(quota_units_per_second=None, retry_after=7) as fake:
        google = session(fake, sleeps)
        fake.fail_next(1, "429", paths=("gmail/",))
        google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
        assert sleeps.waits and sleeps.waits[0] >= 7


def test_retry_after_forms():
    assert parse_retry_after("12") == 12
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=120)
    assert 100 < parse_retry_after(format_datetime(later, usegmt=True)) <= 121


def test_bounded_attempts_end_in_one_line_source_error(fake, sleeps):
    google = session(fake, sleeps, attempts=4)
    fake.inject(rate=1.0, kinds=("503",), paths=("gmail/",))
    with pytest.raises(SourceError) as caught:
        google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert not isinstance(caught.value, (GoogleApiError, NeedsAuth)) and caught.value.state == "error"
    message = str(caught.value)
    assert "503" in message and "4 attempts" in message and "\n" not in message
    assert len(sleeps.waits) == 3
    assert statuses(fake, "gmail.users.getProfile") == [503] * 4


def test_definite_errors_are_not_retried(fake, sleeps):
    google = session(fake, sleeps)
    with pytest.raises(GoogleApiError) as caught:
        google.execute(google.gmail().users().messages().get(userId="me", id="nope", format="metadata"), "gmail")
    assert caught.value.status == 404 and sleeps.waits == []
    with pytest.raises(GoogleApiError) as caught:  # the metadata scope refuses q: a bug, never retried
        google.execute(google.gmail().users().messages().list(userId="me", q="from:x"), "gmail")
    assert caught.value.status == 403 and "me@example.com" not in str(caught.value)


# --- auth errors ---------------------------------------------------------------------------


def test_invalid_grant_is_needs_auth(fake, sleeps):
    google = session(fake, sleeps)
    fake.revoke_refresh_token()
    with pytest.raises(NeedsAuth) as caught:
        google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    message = str(caught.value)
    assert "invalid_grant" in message and "syncd auth" in message and "1//" not in message
    assert sleeps.waits == []


def test_expired_access_token_is_refreshed_silently(fake):
    google = session(fake)
    google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    fake.expire_access_tokens()
    google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
    assert fake.auth.issued == 2


def test_401_after_refresh_is_needs_auth(fake):
    # Tokens from another issuer: the refresh works, yet the API keeps answering 401.
    with FakeGoogle(quota_units_per_second=None) as other:
        google = session(fake, credentials=other.credentials())
        with pytest.raises(NeedsAuth) as caught:
            google.execute(google.calendar().events().list(calendarId="primary"), "calendar")
        assert "401" in str(caught.value) and "Google Calendar" in str(caught.value)
        assert statuses(fake, "calendar.events.list") == [401] * 3  # google-auth refreshes twice, then gives up


def test_missing_scope_is_needs_auth():
    calendar_only = ["https://www.googleapis.com/auth/calendar.events"]
    with FakeGoogle(quota_units_per_second=None, scopes=calendar_only) as fake:
        google = session(fake)
        with pytest.raises(NeedsAuth) as caught:
            google.execute(google.gmail().users().getProfile(userId="me"), "gmail")
        assert "insufficientPermissions" in str(caught.value)


def test_ensure_token_maps_invalid_grant(fake):
    google = session(fake)
    fake.revoke_refresh_token()
    with pytest.raises(NeedsAuth):
        google.ensure_token("gmail")


# --- batches ------------------------------------------------------------------------------------


def test_batch_retries_failed_parts_only(fake, sleeps):
    ids = seed_messages(fake, 12)
    google = session(fake, sleeps)
    messages = google.gmail().users().messages()
    fake.fail_next(3, "500", methods=["gmail.users.messages.get"])
    fake.fail_next(2, "429", methods=["gmail.users.messages.get"])
    requests = [(i, messages.get(userId="me", id=i, format="metadata")) for i in ids + ["gone"]]
    results = google.batch("gmail", requests, chunk=5)
    assert {key for key, value in results.items() if isinstance(value, dict)} == set(ids)
    assert isinstance(results["gone"], GoogleApiError) and results["gone"].status == 404
    gets = statuses(fake, "gmail.users.messages.get")
    assert gets.count(200) == 12 and gets.count(500) == 3 and gets.count(429) == 2
    assert len(gets) == 13 + 5  # only the failed parts went again
    assert fake.calls["batch"] == 3 + 1  # 13 parts in chunks of 5, then one retry batch


def test_whole_batch_failure_is_retried(fake, sleeps):
    ids = seed_messages(fake, 4)
    google = session(fake, sleeps)
    messages = google.gmail().users().messages()
    fake.fail_next(2, "503", paths=("batch",), in_batch=False)
    results = google.batch("gmail", [(i, messages.get(userId="me", id=i, format="metadata")) for i in ids])
    assert all(isinstance(value, dict) for value in results.values()) and len(results) == 4
    assert statuses(fake, "batch")[:2] == [503, 503]


def test_batch_gives_up_after_the_budget(fake, sleeps):
    ids = seed_messages(fake, 3)
    google = session(fake, sleeps, attempts=3)
    messages = google.gmail().users().messages()
    fake.inject(rate=1.0, kinds=("503",), methods=["gmail.users.messages.get"])
    with pytest.raises(SourceError) as caught:
        google.batch("gmail", [(i, messages.get(userId="me", id=i, format="metadata")) for i in ids])
    assert "3 attempts" in str(caught.value)


def test_calendar_batch_uses_its_own_endpoint(fake):
    google = session(fake)
    events = google.calendar().events()
    results = google.batch("calendar", [("a", events.list(calendarId="primary"))])
    assert results["a"]["kind"] == "calendar#events"
    assert [path for _, path, _ in fake.requests if "batch" in path] == ["/batch/calendar/v3"]


def test_batch_part_401_after_refresh_is_needs_auth(fake):
    with FakeGoogle(quota_units_per_second=None) as other:
        google = session(fake, credentials=other.credentials())
        with pytest.raises(NeedsAuth):
            google.batch("gmail", [("x", google.gmail().users().getProfile(userId="me"))])


# --- the adaptive pacer --------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_pacer_slow_start_then_holds_the_measured_ceiling():
    clock = Clock()
    pacer = AdaptiveRate(initial=100, clock=clock, sleep=clock.sleep, probe_seconds=0.5, window=2.0)
    sent = 0.0
    while clock.now < 1003:  # three seconds of demand: the rate doubles while nothing is refused
        pacer.acquire(50)
        sent += 50
    assert pacer.rate >= 3200
    # The server accepts 500 units/s: the pacer drops to what was accepted, not below.
    for _ in range(10):
        pacer.accepted_units(100)
        clock.now += 0.2
    pacer.limited()
    assert 450 <= pacer.rate <= 550
    limited = pacer.rate
    pacer.limited()  # a burst of 429s adjusts once
    assert pacer.rate == limited
    # Paced at that rate: 1000 units take about two seconds.
    start = clock.now
    for _ in range(20):
        pacer.acquire(50)
    assert 1.7 <= clock.now - start <= 2.3


def test_pacer_honours_retry_after():
    clock = Clock()
    pacer = AdaptiveRate(initial=1000, clock=clock, sleep=clock.sleep)
    pacer.acquire(1)
    pacer.limited(retry_after=5)
    start = clock.now
    pacer.acquire(1)
    assert clock.now - start >= 5


def test_pacer_halves_on_an_early_429_and_never_spirals_below_half_the_peak():
    clock = Clock()
    pacer = AdaptiveRate(initial=1000, clock=clock, sleep=clock.sleep, window=2.0, probe_seconds=0.5)
    clock.now += 0.05
    pacer.limited()  # nothing measurable yet: no "ceiling" from 50 ms of latency
    assert pacer.rate == 500
    # The server accepts 2000 units/s for a while; then 429s keep coming although it
    # still accepts most of what is sent (not a rate problem): the pace holds at ≥ peak/2.
    for _ in range(40):
        pacer.acquire(0)
        pacer.accepted_units(200)
        clock.now += 0.1
    assert pacer.peak >= 1900
    for _ in range(30):
        for _ in range(10):
            pacer.accepted_units(pacer.rate * 0.08)
            clock.now += 0.1
        pacer.acquire(0)
        pacer.limited()
    assert pacer.rate >= pacer.peak / 2 >= 950
