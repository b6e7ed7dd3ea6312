"""`why`: the touch rules' reasons (touches.judge), the pure explanation (syncd.why), and the command on real data."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, UTC

import pytest

from syncd.cold import contact_status
from syncd.demo import DEMO_NOW
from syncd.models import Contact, LastTouch
from syncd.planner import Skip
from syncd.records import Attendee, Meeting, Message
from syncd.touches import REASONS, TouchRules, judge, touched_addresses
from syncd.why import HoldFacts, JudgedInteraction, hold_explanation, not_counted, reason_for
from tests.living_world import NOW, add_mail, make_world, mbox_message

ME = "me@example.com"
ADA = "ada@example.com"
BOB = "bob@example.org"
START = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
RULES = TouchRules(own_addresses=frozenset({ME}), blocklist=("blocked.example",))


def meeting(*attendees: str, **fields) -> Meeting:
    people = tuple(Attendee(address) for address in attendees)
    return Meeting("m", START, START + timedelta(minutes=30), attendees=people, organizer=ME, **fields)


def message(sender=(ADA,), to=(ME,), cc=(), **fields) -> Message:
    return Message("x", START, sender=tuple(sender), to=tuple(to), cc=tuple(cc), **fields)


# --- touches.judge: each rule names its reason ------------------------------------


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (meeting(ME, ADA), None),
        (meeting(ME, ADA, cancelled=True), "cancelled"),
        (meeting(ME, ADA, all_day=True), "all_day"),
        (meeting(ME, ADA, transparent=True), "marked_free"),
        (meeting(ME, ADA, *[f"p{i}@example.com" for i in range(8)]), "too_many_people"),
        (message(), None),
        (message(sender=(ME,), to=(ADA,)), None),
        (message(labels=("SPAM",)), "spam_or_trash"),
        (message(labels=("TRASH",), bulk=True), "spam_or_trash"),
        (message(bulk=True), "bulk"),
        (message(auto_submitted="auto-replied"), "auto_submitted"),
        (message(sender=(ME,), to=(ADA,), headers_cut=True), "too_many_recipients"),
        (message(sender=(ME,), to=tuple(f"p{i}@example.com" for i in range(10)) + (ADA,)), "too_many_recipients"),
        (message(to=(BOB,)), "not_direct"),  # you were Bcc'd
    ],
)
def test_judge_names_the_rule_that_rejected(record, reason):
    assert judge(record, RULES)[ADA] == reason


def test_judge_declines_are_the_users_or_the_attendees():
    declined_by_me = Meeting(
        "m", START, START + timedelta(hours=1), (Attendee(ME, "declined"), Attendee(ADA)), organizer=BOB
    )
    assert judge(declined_by_me, RULES) == {ADA: "declined", BOB: "declined"}
    declined_by_ada = Meeting("m", START, START + timedelta(hours=1), (Attendee(ME), Attendee(ADA, "declined")))
    assert judge(declined_by_ada, RULES) == {ADA: "declined"}


def test_judge_address_level_reasons_and_co_recipients():
    assert judge(meeting(ME, "info@example.com"), RULES) == {"info@example.com": "role_address"}
    assert judge(meeting(ME, "eve@blocked.example"), RULES) == {"eve@blocked.example": "blocklisted"}
    assert judge(message(sender=(ADA,), to=(ME, BOB)), RULES) == {ADA: None, BOB: "not_direct"}
    assert ME not in judge(message(sender=(ME,), to=(ADA,)), RULES)  # never the user's own


def test_touched_addresses_is_exactly_what_judge_counts():
    records: list[Meeting | Message] = [
        meeting(ME, ADA, BOB),
        meeting(ME, ADA, cancelled=True),
        message(sender=(ADA,), to=(ME, BOB), cc=("info@example.com",)),
        message(sender=(ME,), to=(ADA, "eve@blocked.example")),
        message(to=(BOB,)),
    ]
    for record in records:
        counted = [address for address, reason in judge(record, RULES).items() if reason is None]
        assert touched_addresses(record, RULES) == counted
    assert {reason for record in records for reason in judge(record, RULES).values()} - {None} <= set(REASONS)


# --- syncd.why: pure ---------------------------------------------------------------


def test_reason_for_one_counting_address_is_enough_and_the_future_is_future():
    verdicts = {ADA: "not_direct", "ada@work.example": None}
    assert reason_for(verdicts, [ADA, "ada@work.example"], START, START) is None
    assert reason_for(verdicts, [ADA], START, START) == "not_direct"
    assert reason_for(verdicts, [ADA, "ada@work.example"], START, START - timedelta(seconds=1)) == "future"
    assert reason_for({ADA: "declined"}, [ADA], START, START - timedelta(days=1)) == "future"


def test_not_counted_groups_by_reason_with_counts_and_the_latest_example():
    def judged(record, reason):
        return JudgedInteraction("ics:x", record, {ADA: reason})

    items = [
        judged(replace(meeting(ME, ADA, title="Old all-hands"), start=START - timedelta(days=9)), "too_many_people"),
        judged(meeting(ME, ADA, title="All-hands"), "too_many_people"),
        judged(replace(meeting(ME, ADA, title="Review"), item_id="r"), "declined"),
        judged(replace(meeting(ME, ADA, title="Coffee"), item_id="c"), None),
        JudgedInteraction("ics:x", meeting(ME, BOB), {BOB: None}),  # not hers
    ]
    grouped = not_counted(items, [ADA], START + timedelta(days=1))
    assert [(item.reason, item.count, item.latest_at, item.title) for item in grouped] == [
        ("too_many_people", 2, START, "All-hands"),
        ("declined", 1, START, "Review"),
    ]


def status(now: datetime = START, touched_days_ago: int | None = None, **fields):
    contact = Contact("ada", "Ada", [ADA], **fields)
    touch = None if touched_days_ago is None else LastTouch(now - timedelta(days=touched_days_ago), "meeting", "x", "m")
    return contact_status(contact, 30, touch, now)


@pytest.mark.parametrize(
    ("the_status", "facts", "reason"),
    [
        (status(archived_at=START, ignore=True), HoldFacts(blocked="holds_disabled"), "archived"),
        (status(ignore=True), HoldFacts(blocked="unhealthy"), "ignored"),
        (status(touched_days_ago=3), HoldFacts(blocked="unhealthy"), "warm"),
        (status(snoozed_until=START + timedelta(days=1)), HoldFacts(blocked="holds_disabled"), "snoozed"),
        (
            status(),
            HoldFacts(blocked="holds_disabled", skip=Skip("ada", "per-week limit", "limits_reached")),
            "holds_disabled",
        ),
        (
            status(),
            HoldFacts(skip=Skip("ada", "already meeting you within 2w", "upcoming_meeting")),
            "upcoming_meeting",
        ),
        (
            status(),
            HoldFacts(
                skip=Skip(
                    "ada", "per-week limit of 1 reached in every week with a free slot within 2w", "limits_reached"
                )
            ),
            "limits_reached",
        ),
        (
            status(),
            HoldFacts(skip=Skip("ada", "no free slot in the windows within 2w", "no_free_slot")),
            "no_free_slot",
        ),
    ],
)
def test_hold_explanation_gives_the_first_reason_there_is_none(the_status, facts, reason):
    explained = hold_explanation(the_status, facts)
    assert (explained.state, explained.start, explained.reason) == ("none", None, reason)


def test_hold_explanation_booked_wins():
    explained = hold_explanation(status(ignore=True), HoldFacts(booked=(START, START + timedelta(minutes=30))))
    assert (explained.state, explained.start, explained.reason) == ("booked", START, None)


# --- the command on the bundled demo data ------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tests.conftest import Cli

    home = tmp_path_factory.mktemp("home")
    cli = Cli(home=home, config=home / "demo" / "config.toml")
    assert cli("demo", "--keep", str(home / "demo"), config=False).code == 0
    return cli


def why(cli, who: str, now: str = DEMO_NOW) -> dict:
    result = cli("why", who, "--json", now=now)
    assert result.code == 0, result.err
    return result.json()


def reasons(data: dict) -> dict[str, tuple[int, str, str]]:
    return {item["reason"]: (item["count"], item["latest_at"], item["title"]) for item in data["not_counted"]}


def test_why_json_has_the_contract_shape(demo):
    data = why(demo, "margaret@apollo.example")
    assert set(data) == {"contact_id", "last_touch", "not_counted", "hold"}
    assert data["contact_id"] == "margaret-hamilton" and data["last_touch"] is None
    assert all(set(item) == {"reason", "count", "latest_at", "title"} for item in data["not_counted"])
    assert set(data["hold"]) == {"state", "start", "end", "reason"}
    assert all(item["reason"] in REASONS for item in data["not_counted"])


def test_why_explains_a_declined_and_an_oversized_meeting_on_the_demo(demo):
    found = reasons(why(demo, "Margaret"))
    assert found["declined"] == (1, "2026-10-14T14:00:00+02:00", "Design review")
    count, latest, title = found["too_many_people"]
    assert title == "All-hands" and count >= 2 and latest[:10] <= DEMO_NOW[:10]  # the past ones; the rest is future
    assert found["not_direct"][2] == "FYI (you were Bcc'd)"
    assert found["future"][2] == "All-hands"  # the all-hands still to come


def test_why_explains_an_all_day_event_on_the_demo(demo):
    data = why(demo, "Tim")
    assert reasons(data)["all_day"] == (1, "2026-10-15T00:00:00+02:00", "Web standards offsite")
    assert reasons(data)["bulk"][2] == "Web Weekly #212"
    assert data["last_touch"]["kind"] == "email" and data["last_touch"]["title"] == "Thanks for the intro"
    assert data["last_touch"]["source"].startswith("mbox:")


def test_why_on_the_demo_hold_reasons(demo):
    assert why(demo, "Ada")["hold"]["reason"] == "warm"
    assert reasons(why(demo, "Ada"))["marked_free"][2] == "Reminder: Ada's birthday"
    assert why(demo, "Barbara")["hold"]["reason"] == "ignored"
    radia = why(demo, "Radia")
    assert radia["hold"]["reason"] == "upcoming_meeting" and reasons(radia)["future"][2] == "Lunch with Radia"
    knuth = why(demo, "Knuth")
    assert set(reasons(knuth)) == {"cancelled", "auto_submitted"}
    booked = why(demo, "Alan")["hold"]
    assert booked["state"] == "booked" and booked["reason"] is None
    holds = {hold["contact_id"]: hold for hold in demo("holds", "--json", now=DEMO_NOW).json()}
    assert (booked["start"], booked["end"]) == (holds["alan-turing"]["start"], holds["alan-turing"]["end"])
    assert why(demo, "Knuth")["hold"]["reason"] == ("limits_reached" if "donald-knuth" not in holds else None)


def test_why_text_names_each_reason_and_the_hold(demo):
    result = demo("why", "Margaret", now=DEMO_NOW)
    assert result.code == 0
    assert "last touch: never" in result.out
    assert "declined" in result.out and "'Design review'" in result.out
    assert "more people than max_meeting_size" in result.out and "hold: " in result.out


def test_why_of_an_unknown_contact_is_one_line(demo):
    result = demo("why", "nobody@example.com", now=DEMO_NOW)
    assert result.code == 2 and result.err.count("\n") == 1 and "no contact matches" in result.err


# --- the command on a world that changes -------------------------------------------


@pytest.fixture
def world(cli):
    return make_world(cli)


def test_why_tells_what_the_next_planning_run_will_book(world):
    assert world("sync", now=NOW).code == 0
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    planned = world("why", "Eve", "--json", now=NOW).json()["hold"]
    assert planned["state"] == "none" and planned["reason"] == "not_planned_yet" and planned["start"]
    assert world("sync", now=NOW).code == 0
    booked = world("why", "Eve", "--json", now=NOW).json()["hold"]
    assert booked == {"state": "booked", "start": planned["start"], "end": planned["end"], "reason": None}


def test_why_follows_snooze_touch_and_config(world):
    assert world("sync", now=NOW).code == 0
    assert world("snooze", "Ada", "--days", "5", now=NOW).code == 0
    assert world("why", "Ada", "--json", now=NOW).json()["hold"]["reason"] == "snoozed"
    assert world("touch", "Bob", "--note", "phone call", now=NOW).code == 0
    bob = world("why", "Bob", "--json", now=NOW).json()
    assert bob["last_touch"] == {
        "at": "2026-11-20T09:00:00+01:00",
        "kind": "manual",
        "source": None,
        "title": "phone call",
    }
    assert bob["hold"]["state"] == "booked"  # until the next planning run takes it out (remove_when_touched)
    assert world("sync", now=NOW).code == 0
    assert world("why", "Bob", "--json", now=NOW).json()["hold"]["reason"] == "warm"
    world.config.write_text(world.config.read_text().replace("[holds]\n", "[holds]\nenabled = false\n"))
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    assert world("why", "Eve", "--json", now=NOW).json()["hold"]["reason"] == "holds_disabled"


def test_why_an_unhealthy_sync_pauses_holds(world):
    assert world("sync", now=NOW).code == 0
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    (world.home / "cal.ics").write_text("not a calendar", encoding="utf-8")
    assert world("sync", now=NOW).code == 1
    assert world("why", "Eve", "--json", now=NOW).json()["hold"]["reason"] == "unhealthy"


def test_why_counts_mail_exactly_as_the_store_did(world):
    add_mail(
        world,
        mbox_message("a1", ADA, [BOB], "Tue, 03 Nov 2026 10:00:00 +0100", cc=[ME]),  # Cc'd: counts for Ada
        mbox_message("a2", BOB, [ADA], "Wed, 04 Nov 2026 10:00:00 +0100", cc=[ME]),  # Bob wrote: not direct for Ada
        mbox_message("a3", BOB, [ME, ADA], "Thu, 05 Nov 2026 10:00:00 +0100"),
        mbox_message("a4", ADA, [ME], "Fri, 06 Nov 2026 10:00:00 +0100", extra=["Precedence: bulk"]),
    )
    assert world("sync", now=NOW).code == 0
    data = world("why", "Ada", "--json", now=NOW).json()
    assert data["last_touch"]["at"] == "2026-11-03T10:00:00+01:00" and data["last_touch"]["kind"] == "email"
    found = reasons(data)
    assert found["not_direct"][:2] == (2, "2026-11-05T10:00:00+01:00") and found["bulk"][0] == 1
    assert set(found) == {"not_direct", "bulk"}
