"""The one retry rule of every Google call: its bounds, and the paced Gmail calls that use it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from syncd.errors import SourceError
from syncd.google.client import GoogleSession
from syncd.google.failures import Transient
from syncd.google.gmail_listing import paced_execute
from syncd.google.pacing import AdaptiveRate
from syncd.google.retry import GaveUp, RetryPolicy, call_with_retry
from tests.fakegoogle import FakeGoogle

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def failing(times: int, transient: Transient):
    """An attempt that raises `transient` `times` times, then answers; it counts its calls."""
    calls = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise transient
        return "answer"

    return attempt, calls


def test_total_waiting_is_bounded_whatever_the_attempts():
    waits = Waits()
    policy = RetryPolicy(attempts=100, base_delay=1.0, max_delay=64.0, max_total=20.0, sleep=waits)
    attempt, calls = failing(1000, Transient("503 backendError"))
    with pytest.raises(GaveUp, match="503 backendError, still failing after"):
        call_with_retry(attempt, policy, "Gmail")
    assert sum(waits.waits) <= 20.0
    assert len(calls) == len(waits.waits) + 1 < 100


def test_a_retry_after_past_the_budget_gives_up_instead_of_sleeping():
    waits = Waits()
    policy = RetryPolicy(max_total=60.0, sleep=waits)
    attempt, calls = failing(1, Transient("429 rateLimitExceeded", retry_after=3600, rate_limited=True))
    with pytest.raises(GaveUp):
        call_with_retry(attempt, policy, "Gmail")
    assert waits.waits == [] and len(calls) == 1


def test_retry_after_within_the_budget_is_waited_for():
    waits = Waits()
    policy = RetryPolicy(sleep=waits, random=random.Random(1))
    attempt, calls = failing(1, Transient("429 rateLimitExceeded", retry_after=9, rate_limited=True))
    assert call_with_retry(attempt, policy, "Gmail") == "answer"
    assert waits.waits[0] >= 9 and len(calls) == 2


def test_an_unreachable_host_gets_three_short_tries():
    waits = Waits()
    policy = RetryPolicy(attempts=8, base_delay=30.0, sleep=waits)
    attempt, calls = failing(1000, Transient("cannot connect (connection refused)", unreachable=True))
    with pytest.raises(GaveUp) as caught:
        call_with_retry(attempt, policy, "Google Calendar")
    assert caught.value.unreachable and len(calls) == 3
    assert len(waits.waits) == 2 and max(waits.waits) <= policy.unreachable_delay


def test_errors_that_are_not_transient_pass_through_untried():
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise SourceError("Gmail answered 400 invalidArgument")

    with pytest.raises(SourceError, match="400"):
        call_with_retry(attempt, RetryPolicy(sleep=Waits()), "Gmail")
    assert calls == [1]


def test_a_paced_call_slows_the_pacer_on_429_and_honours_retry_after():
    waits = Waits()
    with FakeGoogle(quota_units_per_second=None, retry_after=5, now=lambda: NOW) as fake:
        google = GoogleSession(fake.credentials(), fake.root, retry=RetryPolicy(sleep=waits))
        clock = [0.0]
        pacer = AdaptiveRate(
            initial=250.0, clock=lambda: clock[0], sleep=lambda seconds: clock.append(clock.pop() + seconds)
        )
        fake.fail_next(2, "429", paths=("gmail/",))
        request = google.gmail().users().getProfile(userId="me")
        assert paced_execute(google, pacer, request, 1, "profile")["emailAddress"] == "me@example.com"
    assert pacer.limited_events == 2 and pacer.rate < 250.0
    assert clock[0] >= 5  # the pacer held every caller back for the Retry-After too
    assert len(waits.waits) == 2 and min(waits.waits) >= 5
    assert [entry["status"] for entry in fake.log if entry["api"] == "gmail.users.getProfile"] == [429, 429, 200]
