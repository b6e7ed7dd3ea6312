"""`holds cancel`, and `snooze`, `contacts edit --ignore`, `contacts remove` taking a hold out at once."""

from __future__ import annotations

import pytest

from tests.living_world import NOW, hold_uids, make_world

LATER = "2026-11-20T10:00:00+01:00"


@pytest.fixture
def world(cli):
    make_world(cli)
    assert cli("sync", now=NOW).code == 0
    assert set(hold_uids(cli)) == {"ada-lovelace", "bob-stone"}
    return cli


def contact(cli, name: str) -> dict:
    return next(item for item in cli("contacts", "list", "--json", now=LATER).json() if item["name"] == name)


def test_cancel_removes_the_hold_and_rests_the_contact_for_a_cadence(world):
    result = world("holds", "cancel", "Ada", now=LATER)
    assert result.code == 0, result.err
    assert "removed the hold on" in result.out and "snoozed until 2026-12-20" in result.out  # meaningful: 30 days
    assert set(hold_uids(world)) == {"bob-stone"}
    assert [hold["contact_id"] for hold in world("holds", "--json", now=LATER).json()] == ["bob-stone"]
    assert contact(world, "Ada Lovelace")["snoozed_until"].startswith("2026-12-20")
    again = world("sync", now=LATER)
    assert again.code == 0, again.err
    assert set(hold_uids(world)) == {"bob-stone"}  # not booked again while she rests
    assert "you deleted their hold" not in again.out  # syncd removed it, the user did not delete it


def test_cancel_keeps_a_longer_snooze(world):
    assert world("holds", "cancel", "bob@example.org", now=LATER).code == 0
    assert world("snooze", "Bob", "--days", "90", now=LATER).code == 0
    assert contact(world, "Bob Stone")["snoozed_until"].startswith("2027-02-18")


def test_cancel_without_a_hold_is_a_usage_error_and_changes_nothing(world):
    assert world("holds", "cancel", "Ada", now=LATER).code == 0
    result = world("holds", "cancel", "Ada", now=LATER)
    assert result.code == 2
    assert "Ada Lovelace has no upcoming hold" in result.err and "Traceback" not in result.err


def test_cancel_of_an_unknown_contact_names_it(world):
    result = world("holds", "cancel", "nobody@example.com", now=LATER)
    assert result.code == 2 and "no contact matches 'nobody@example.com'" in result.err


def test_holds_still_lists_with_and_without_json(world):
    assert "Ada Lovelace" in world("holds", now=LATER).out
    assert len(world("holds", "--json", now=LATER).json()) == 2


def test_snooze_takes_the_hold_out_at_once(world):
    result = world("snooze", "Ada", "--days", "10", now=LATER)
    assert result.code == 0, result.err
    assert "snoozed until 2026-11-30" in result.out and "removed the hold on" in result.out
    assert set(hold_uids(world)) == {"bob-stone"}
    assert world("sync", now=LATER).code == 0
    assert set(hold_uids(world)) == {"bob-stone"}


def test_ending_a_snooze_removes_nothing(world):
    result = world("snooze", "Ada", "--days", "0", now=LATER)
    assert result.code == 0 and "no longer snoozed" in result.out
    assert set(hold_uids(world)) == {"ada-lovelace", "bob-stone"}


def test_ignore_takes_the_hold_out_and_no_ignore_lets_it_come_back(world):
    result = world("contacts", "edit", "Ada", "--ignore", now=LATER)
    assert result.code == 0, result.err
    assert "removed the hold on" in result.out
    assert set(hold_uids(world)) == {"bob-stone"}
    assert world("contacts", "edit", "Ada", "--no-ignore", now=LATER).code == 0
    assert world("sync", now=LATER).code == 0
    assert set(hold_uids(world)) == {"ada-lovelace", "bob-stone"}  # never counted as deleted by the user


def test_remove_takes_the_hold_out(world):
    (world.home / "contacts.toml").write_text(
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n', encoding="utf-8"
    )  # gone from the file too, or the next sync adds her back
    result = world("contacts", "remove", "Ada", now=LATER)
    assert result.code == 0, result.err
    assert "removed ada-lovelace" in result.out and "removed the hold on" in result.out
    assert set(hold_uids(world)) == {"bob-stone"}
    assert world("sync", now=LATER).code == 0
    assert set(hold_uids(world)) == {"bob-stone"}
    assert [item["name"] for item in world("contacts", "list", "--all", "--json", now=LATER).json()] == ["Bob Stone"]


def test_a_calendar_that_cannot_be_written_now_is_retried_by_the_next_sync(world):
    holds = world.home / "holds.ics"
    kept = holds.rename(world.home / "kept.ics")
    holds.mkdir()  # the hold calendar cannot be read or written now
    result = world("holds", "cancel", "Ada", now=LATER)
    assert result.code == 1 and "the next sync retries" in result.err and "Traceback" not in result.err
    holds.rmdir()
    kept.rename(holds)
    assert set(hold_uids(world)) == {"ada-lovelace", "bob-stone"}
    again = world("sync", now=LATER)
    assert again.code == 0, again.err
    assert set(hold_uids(world)) == {"bob-stone"}
    assert "you deleted their hold" not in again.out
