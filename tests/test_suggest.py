"""`contacts suggest`: the pure choice (syncd.suggest) and the command on real mail and calendar files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from syncd.suggest import (
    AddressTouches,
    name_from_address,
    name_seen_most,
    new_people,
    suggestions,
    with_names,
)
from syncd.touches import TouchRules
from tests.conftest import ics_calendar, ics_event, mbox_message

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-20T09:00:00+01:00"
ME = "me@example.com"
PIA = "pia.new@example.com"
OMAR = "omar@example.net"


def at(days_ago: float) -> int:
    return int((NOW - timedelta(days=days_ago)).timestamp())


def row(address: str, meetings: int, messages: int, first: float, last: float, met: float | None = None):
    return AddressTouches(address, meetings, messages, at(first), at(last), None if met is None else at(met))


RULES = TouchRules(own_addresses=frozenset({ME}), blocklist=("recruiters.example",))


def test_suggestions_need_min_touches_and_come_most_touched_first() -> None:
    rows = [
        row("few@example.com", 1, 1, 50, 10),
        row("many@example.com", 2, 5, 90, 20),
        row("tie-old@example.com", 0, 3, 60, 30),
        row("tie-new@example.com", 1, 2, 60, 5, met=60),
    ]
    found = suggestions(rows, RULES, 3)
    assert [item.email for item in found] == ["many@example.com", "tie-new@example.com", "tie-old@example.com"]
    many = found[0]
    assert (many.meetings, many.messages, many.touches) == (2, 5, 7)
    assert many.first_at == NOW - timedelta(days=90) and many.last_at == NOW - timedelta(days=20)
    assert [item.email for item in suggestions(rows, RULES, 2)][-1] == "few@example.com"


def test_suggestions_never_own_role_or_blocklisted_addresses() -> None:
    rows = [
        row(ME, 9, 9, 10, 1),
        row("no-reply@shop.example", 0, 9, 10, 1),
        row("support@vendor.example", 0, 9, 10, 1),
        row("jo@recruiters.example", 0, 9, 10, 1),
        row("jo@eu.recruiters.example", 0, 9, 10, 1),
        row("jo@friends.example", 0, 3, 10, 1),
    ]
    assert [item.email for item in suggestions(rows, RULES, 1)] == ["jo@friends.example"]


def test_new_people_are_first_met_in_the_last_two_weeks() -> None:
    rows = [
        row("met-yesterday@example.com", 1, 0, 1, 1, met=1),
        row("met-and-wrote@example.com", 1, 2, 10, 2, met=10),
        row("known-before@example.com", 1, 4, 40, 3, met=3),  # wrote months ago: not new
        row("only-mail@example.com", 0, 2, 5, 1),  # never met
        row("met-long-ago@example.com", 1, 0, 20, 20, met=20),
        row("no-reply@example.com", 1, 0, 1, 1, met=1),
    ]
    assert [item.email for item in new_people(rows, RULES, NOW)] == [
        "met-yesterday@example.com",
        "met-and-wrote@example.com",
    ]


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("ada.lovelace@example.com", "Ada Lovelace"),
        ("grace_hopper+news@example.com", "Grace Hopper"),
        ("jdoe@example.com", "Jdoe"),
        ("li-wei.2024@example.com", "Li Wei"),
        ("42@example.com", "42"),
    ],
)
def test_name_from_address(address: str, name: str) -> None:
    assert name_from_address(address) == name


def test_the_name_seen_most_wins_and_a_tie_goes_to_the_latest() -> None:
    assert name_seen_most([("Nora", at(1)), ("Nora Stranger", at(5)), ("Nora Stranger", at(9))]) == "Nora Stranger"
    assert name_seen_most([("Pia Newman", at(2)), ("Pia Neu", at(3)), ("Pia Neu", at(30)), ("Pia Newman", at(40))]) == (
        "Pia Newman"
    )
    assert name_seen_most([]) is None


def test_with_names_escapes_control_characters_and_keeps_the_guess_for_the_unnamed() -> None:
    rows = [row("evil@example.com", 0, 3, 10, 1), row("quiet.one@example.com", 0, 3, 10, 2)]
    found = with_names(suggestions(rows, RULES, 1), {"evil@example.com": [("Evil\x1b[2J\u202eX", at(1))]})
    assert [(item.email, item.name) for item in found] == [
        ("evil@example.com", "Evil\\x1b[2J\\u202eX"),
        ("quiet.one@example.com", "Quiet One"),
    ]


# --- the command -----------------------------------------------------------------------------


def mail(
    number: int, sender: str, to: list[str], day: int, extra: tuple[str, ...] = (), cc: tuple[str, ...] = ()
) -> str:
    return mbox_message(f"{number}@x", sender, to, f"{day:02d} Nov 2026 10:00:00 +0000", list(extra), list(cc))


@pytest.fixture
def world(cli):
    home = cli.home
    (home / "contacts.toml").write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    crowd = [f"person{index}@example.org" for index in range(12)]
    messages = [
        # Nora: "Nora Stranger" twice, "Nora" once and last, once unnamed: the name seen most wins
        mail(1, f"Me <{ME}>", ["Nora Stranger <nora.stranger@example.com>"], 2),
        mail(2, '"Nora" <nora.stranger@example.com>', [ME], 6),
        mail(3, f"Me <{ME}>", ["ada@example.com"], 4, cc=("=?utf-8?q?Nora_Stranger?= <nora.stranger@example.com>",)),
        mail(22, f"Me <{ME}>", ["nora.stranger@example.com"], 5),
        # Omar: never named in mail; twice "Omar Khayyam" in the calendar's CN=
        mail(4, f"Me <{ME}>", ["omar@example.net"], 5),
        mail(5, "omar@example.net", [ME], 6),
        mail(6, "<omar@example.net>", [ME], 7),
        mail(7, f"Me <{ME}>", crowd, 8),  # to a crowd: not direct
        mail(8, f"Me <{ME}>", crowd, 9),
        mail(9, f"Me <{ME}>", crowd, 10),
        mail(10, "News <news@letters.example>", [ME], 11, ("List-Id: <weekly.letters.example>",)),
        mail(11, "News <news@letters.example>", [ME], 12, ("List-Id: <weekly.letters.example>",)),
        mail(12, "News <news@letters.example>", [ME], 13, ("List-Id: <weekly.letters.example>",)),
        mail(13, "Shop <no-reply@shop.example>", [ME], 14),
        mail(14, "Shop <no-reply@shop.example>", [ME], 15),
        mail(15, "Shop <no-reply@shop.example>", [ME], 16),
        mail(16, "Rex <rex@recruiters.example>", [ME], 14),
        mail(17, "Rex <rex@recruiters.example>", [ME], 15),
        mail(18, "Rex <rex@recruiters.example>", [ME], 16),
        mail(19, "Cc Only <cc.only@example.com>", ["someone@example.com"], 17),  # not to me: not direct
        mail(20, "Cc Only <cc.only@example.com>", ["someone@example.com"], 17),
        mail(21, "Cc Only <cc.only@example.com>", ["someone@example.com"], 17),
    ]
    (home / "mail.mbox").write_text("".join(messages))
    (home / "cal.ics").write_text(
        ics_calendar(
            # Pia: "Pia Neu" as an attendee, then "Pia Newman" as the organiser: a tie, the latest wins
            ics_event("m1", "20261117T090000Z", "20261117T100000Z", [ME], ME, [f"ATTENDEE;CN=Pia Neu:mailto:{PIA}"]),
            ics_event(
                "m3", "20261118T090000Z", "20261118T100000Z", [ME], None, [f'ORGANIZER;CN="Pia Newman":mailto:{PIA}']
            ),
            ics_event(
                "m2", "20261010T090000Z", "20261010T100000Z", [ME], ME, [f"ATTENDEE;CN=Omar Khayyam:mailto:{OMAR}"]
            ),
            ics_event(
                "m4", "20261011T090000Z", "20261011T100000Z", [ME], ME, [f"ATTENDEE;CN=Omar Khayyam:mailto:{OMAR}"]
            ),
        )
    )
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        mbox = "mail.mbox"
        [rules]
        blocklist = ["recruiters.example"]
        [holds]
        enabled = false
    """)
    assert cli("sync", now=NOW_TEXT).code == 0
    return cli


def test_suggest_json_lists_direct_strangers_most_touched_first(world):
    result = world("contacts", "suggest", "--json", now=NOW_TEXT)
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, list)  # DESIGN: a list of people, like the other list outputs
    assert [item["email"] for item in data] == ["omar@example.net", "nora.stranger@example.com"]
    omar, nora = data
    assert omar == {
        "email": "omar@example.net",
        "name": "Omar Khayyam",
        "meetings": 2,
        "messages": 3,
        "first_at": "2026-10-10T11:00:00+02:00",
        "last_at": "2026-11-07T11:00:00+01:00",
    }
    assert (nora["name"], nora["meetings"], nora["messages"]) == ("Nora Stranger", 0, 4)
    new = world("contacts", "suggest", "--new", "--json", now=NOW_TEXT).json()
    assert [(item["email"], item["name"]) for item in new] == [(PIA, "Pia Newman")]


def test_suggest_min_and_the_table(world):
    loose = world("contacts", "suggest", "--json", "--min", "1", now=NOW_TEXT).json()
    assert [item["email"] for item in loose][-1] == "pia.new@example.com"
    assert not {item["email"] for item in loose} & {"news@letters.example", "no-reply@shop.example", ME}
    assert not any(item["email"].startswith(("person", "rex@", "cc.only")) for item in loose)
    text = world("contacts", "suggest", now=NOW_TEXT)
    assert text.code == 0 and "omar@example.net" in text.out and "pia.new@example.com" in text.out
    assert world("contacts", "suggest", "--min", "0", now=NOW_TEXT).code == 2


def test_suggest_add_makes_contacts_and_they_leave_the_list(world):
    result = world(
        "contacts", "suggest", "--add", "Omar@Example.net", "pia.new@example.com", "--tier", "meaningful", now=NOW_TEXT
    )
    assert result.code == 0, result.err
    assert "added omar" in result.out
    contacts = {item["email"]: item for item in world("contacts", "list", "--json", now=NOW_TEXT).json()}
    assert contacts[OMAR]["name"] == "Omar Khayyam" and contacts[OMAR]["tier"] == "meaningful"
    assert contacts[PIA]["name"] == "Pia Newman"
    assert contacts["omar@example.net"]["last_touch_kind"] == "email"
    assert "pia.new@example.com" in contacts
    left = world("contacts", "suggest", "--json", now=NOW_TEXT).json()
    assert [item["email"] for item in left] == ["nora.stranger@example.com"]
    assert world("contacts", "suggest", "--new", "--json", now=NOW_TEXT).json() == []


def test_suggest_add_of_someone_not_suggested_adds_nobody(world):
    result = world("contacts", "suggest", "--add", "nora.stranger@example.com", "rex@recruiters.example", now=NOW_TEXT)
    assert result.code == 2 and "rex@recruiters.example" in result.err
    assert world("contacts", "suggest", "--add", "ada@example.com", now=NOW_TEXT).code == 2
    emails = {item["email"] for item in world("contacts", "list", "--json", now=NOW_TEXT).json()}
    assert emails == {"ada@example.com"}


def test_names_shown_inert_and_rows_stored_without_names_fall_back_to_the_guess(cli):
    evil, otto = "evil@example.com", "old.timer@example.com"
    messages = [mail(day, f'"Evil\x1b[2J" <{evil}>', [ME], day) for day in (1, 2, 3)]
    messages += [mail(10 + day, f"Otto Timer <{otto}>", [ME], day) for day in (1, 2, 3)]
    (cli.home / "mail.mbox").write_text("".join(messages))
    store_path = cli.home / "store.db"
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        [store]
        path = "{store_path}"
        [sources.mail]
        mbox = "mail.mbox"
        [holds]
        enabled = false
    """)
    assert cli("sync", now=NOW_TEXT).code == 0
    table = cli("contacts", "suggest", now=NOW_TEXT)
    assert table.code == 0 and "Evil\\x1b[2J" in table.out and "\x1b" not in table.out and "Otto Timer" in table.out
    names = {item["email"]: item["name"] for item in cli("contacts", "suggest", "--json", now=NOW_TEXT).json()}
    assert names == {evil: "Evil\\x1b[2J", otto: "Otto Timer"}

    store = sqlite3.connect(store_path)  # as a row written before display names were kept
    with store:
        store.execute(
            "UPDATE interactions SET payload = json_remove(payload, '$.names') WHERE payload LIKE ?", (f"%{otto}%",)
        )
    store.close()
    names = {item["email"]: item["name"] for item in cli("contacts", "suggest", "--json", now=NOW_TEXT).json()}
    assert names == {evil: "Evil\\x1b[2J", otto: "Old Timer"}
    assert cli("contacts", "suggest", "--add", evil, now=NOW_TEXT).code == 0
    (contact,) = cli("contacts", "list", "--json", now=NOW_TEXT).json()
    assert contact["name"] == "Evil\\x1b[2J"  # stored as shown: no control character in a contact's name
