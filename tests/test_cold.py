"""Who is cold and in which order (syncd.cold): pure functions of contacts, last touches and now."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, UTC

import pytest

from syncd.cold import cold_list, contact_status, statuses
from syncd.models import Contact, LastTouch

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def person(name: str, cid: str | None = None, **fields) -> Contact:
    return Contact(
        id=cid or name.lower().replace(" ", "-"),
        name=name,
        emails=[f"{name.lower().replace(' ', '.')}@example.com"],
        **fields,
    )


def touched(days_ago: float, kind: str = "email") -> LastTouch:
    return LastTouch(at=NOW - timedelta(days=days_ago), kind=kind, source="test", item_id="x")


def test_not_cold_at_exactly_the_cadence() -> None:
    status = contact_status(person("Ada"), 30, touched(30), NOW)
    assert status.cold is False
    assert status.overdue_days == 0
    assert status.overdue_ratio == 1.0


def test_cold_one_second_past_the_cadence_with_overdue_days_zero() -> None:
    status = contact_status(person("Ada"), 30, LastTouch(NOW - timedelta(days=30, seconds=1), "email", "t", "x"), NOW)
    assert status.cold is True
    assert status.overdue_days == 0


@pytest.mark.parametrize(
    ("days_since", "cadence", "overdue", "cold"),
    [
        (30.9, 30, 0, True),
        (31.0, 30, 1, True),
        (45.5, 30, 15, True),
        (29.99, 30, -1, False),
        (10, 30, -20, False),
        (0, 14, -14, False),
    ],
)
def test_overdue_days_is_floored(days_since: float, cadence: int, overdue: int, cold: bool) -> None:
    status = contact_status(person("Ada"), cadence, touched(days_since), NOW)
    assert status.overdue_days == overdue
    assert status.cold is cold
    assert status.overdue_ratio == pytest.approx(days_since / cadence)


def test_never_touched_is_cold_with_no_overdue_days() -> None:
    status = contact_status(person("Ada"), 30, None, NOW)
    assert status.cold is True
    assert status.overdue_days is None
    assert math.isinf(status.overdue_ratio)
    assert status.last_touch is None


def test_ignored_contact_is_never_cold() -> None:
    assert contact_status(person("Ada", ignore=True), 30, None, NOW).cold is False
    assert contact_status(person("Ada", ignore=True), 30, touched(400), NOW).cold is False


def test_snoozed_flag() -> None:
    assert contact_status(person("Ada", snoozed_until=NOW + timedelta(days=1)), 30, touched(90), NOW).snoozed is True
    assert (
        contact_status(person("Ada", snoozed_until=NOW - timedelta(seconds=1)), 30, touched(90), NOW).snoozed is False
    )
    assert contact_status(person("Ada", snoozed_until=NOW), 30, touched(90), NOW).snoozed is False
    assert contact_status(person("Ada"), 30, touched(90), NOW).snoozed is False


def test_snoozed_contacts_stay_in_the_cold_list() -> None:
    snoozed = contact_status(person("Ada", snoozed_until=NOW + timedelta(days=7)), 30, touched(90), NOW)
    result = cold_list([snoozed])
    assert [s.contact.name for s in result] == ["Ada"]
    assert result[0].snoozed is True


def test_cold_order_never_touched_by_name_then_ratio_largest_first() -> None:
    all_statuses = [
        contact_status(person("zoe"), 30, None, NOW),
        contact_status(person("Bob"), 90, touched(120), NOW),  # 30 days overdue, ratio 1.33
        contact_status(person("Ada"), 14, touched(28), NOW),  # 14 days overdue, ratio 2.0
        contact_status(person("Mia"), 30, touched(10), NOW),  # warm
        contact_status(person("Carl"), 30, None, NOW),
        contact_status(person("Ian", ignore=True), 30, None, NOW),  # ignored, never
        contact_status(person("Eve", ignore=True), 30, touched(300), NOW),  # ignored
        contact_status(person("Dan"), 180, touched(400), NOW),  # ratio 2.22
    ]
    assert [s.contact.name for s in cold_list(all_statuses)] == ["Carl", "zoe", "Dan", "Ada", "Bob"]


def test_equal_ratios_are_ordered_by_name_then_id() -> None:
    all_statuses = [
        contact_status(person("Bea", "bea-2"), 30, touched(60), NOW),
        contact_status(person("bea", "bea-1"), 30, touched(60), NOW),
        contact_status(person("Al"), 15, touched(30), NOW),
    ]
    assert [s.contact.id for s in cold_list(all_statuses)] == ["al", "bea-1", "bea-2"]


def test_cold_list_empty_when_everyone_is_warm() -> None:
    assert cold_list([contact_status(person("Ada"), 30, touched(1), NOW)]) == []


def test_statuses_use_cadence_of_and_touch_map() -> None:
    ada, bob = person("Ada", cadence_days=7), person("Bob", tier="intimate")
    cadences = {"intimate": 14}
    result = statuses([ada, bob], lambda c: c.cadence_days or cadences[c.tier or ""], {"ada": touched(10)}, NOW)
    assert [(s.contact.id, s.cadence_days, s.cold, s.overdue_days) for s in result] == [
        ("ada", 7, True, 3),
        ("bob", 14, True, None),
    ]


def test_manual_touch_counts_like_any_other() -> None:
    assert contact_status(person("Ada"), 30, touched(5, "manual"), NOW).cold is False
