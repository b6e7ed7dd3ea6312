"""Contacts over time through the CLI: edit, remove, archived when they leave the files, addresses that move."""

from __future__ import annotations

import pytest

from tests.living_world import NOW, hold_uids, make_world

CAROL = '[[contact]]\nname = "Carol Byrne"\nemails = ["carol@example.net"]\n'


@pytest.fixture
def world(cli):
    return make_world(cli)


def listed(cli, *flags: str) -> dict[str, dict]:
    return {item["id"]: item for item in cli("contacts", "list", "--json", *flags, now=NOW).json()}


def test_edit_changes_only_the_fields_given(world):
    assert world("contacts", "import", "contacts.toml", now=NOW).code == 0
    result = world(
        "contacts", "edit", "Ada", "--tier", "intimate", "--notes", "likes tea", "--tag", "x", "--tag", "y", now=NOW
    )
    assert result.code == 0, result.err
    ada = listed(world)["ada-lovelace"]
    assert (ada["tier"], ada["cadence_days"], ada["notes"], ada["tags"]) == ("intimate", 14, "likes tea", ["x", "y"])
    assert ada["name"] == "Ada Lovelace" and ada["emails"] == ["ada@example.com"]
    assert world("contacts", "edit", "ada-lovelace", "--name", "Ada King", "--cadence-days", "45", now=NOW).code == 0
    ada = listed(world)["ada-lovelace"]
    assert (ada["name"], ada["cadence_days"], ada["tier"], ada["tags"]) == ("Ada King", 45, "intimate", ["x", "y"])
    assert world("contacts", "edit", "Ada King", "--tag", "", now=NOW).code == 0
    assert listed(world)["ada-lovelace"]["tags"] == []


def test_edit_adds_and_removes_addresses(world):
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    result = world("contacts", "edit", "Eve", "--add-email", "Eve.Moss@Work.Example", now=NOW)
    assert result.code == 0, result.err
    assert listed(world)["eve-moss"]["emails"] == ["eve@example.com", "eve.moss@work.example"]
    assert world("contacts", "edit", "eve.moss@work.example", "--remove-email", "eve@example.com", now=NOW).code == 0
    assert listed(world)["eve-moss"]["emails"] == ["eve.moss@work.example"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add-email", "ada@example.com"], "already belongs to Ada Lovelace (ada-lovelace)"),
        (["--remove-email", "nobody@example.com"], "not an address of Eve Moss"),
        (["--remove-email", "eve@example.com"], "needs at least one address"),
        (["--cadence-days", "0"], "--cadence-days"),
        (["--add-email", "not an address"], "not an email address"),
        ([], "nothing to change"),
    ],
)
def test_edit_refuses_with_one_line_and_changes_nothing(world, args, message):
    assert world("contacts", "import", "contacts.toml", now=NOW).code == 0
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    before = listed(world)
    result = world("contacts", "edit", "Eve", *args, now=NOW)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert listed(world) == before


def test_edit_of_a_file_contact_says_the_file_wins_on_the_next_sync(world):
    assert world("sync", now=NOW).code == 0
    result = world("contacts", "edit", "Ada", "--tier", "familiar", now=NOW)
    assert result.code == 0 and "comes from your [contacts] files" in result.out
    assert world("sync", now=NOW).code == 0
    assert listed(world)["ada-lovelace"]["tier"] == "meaningful"


def test_remove_forgets_the_contact_and_their_logged_touches(world):
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    assert world("touch", "Eve", "--date", "2026-11-01", now=NOW).code == 0
    result = world("contacts", "remove", "eve@example.com", now=NOW)
    assert result.code == 0 and "removed eve-moss" in result.out
    assert "eve-moss" not in listed(world, "--all")
    assert world("contacts", "add", "Eve Moss", "eve@example.com", now=NOW).code == 0
    assert listed(world)["eve-moss"]["last_touch_at"] is None  # the old manual touch went with her


def test_a_contact_gone_from_the_files_is_archived_never_cold_and_loses_its_hold(world):
    assert world("contacts", "add", "Carol Byrne", "carol@example.net", now=NOW).code == 0  # by hand
    assert world("sync", now=NOW).code == 0
    assert {"ada-lovelace", "bob-stone", "carol-byrne"} <= set(hold_uids(world))
    (world.home / "contacts.toml").write_text(
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org"]\ntier = "meaningful"\n', encoding="utf-8"
    )
    result = world("sync", now=NOW)
    assert result.code == 0, result.err
    assert "Ada Lovelace  (archived, or no longer a contact)" in result.out  # her hold, removed
    assert "ada-lovelace" not in listed(world)
    assert "archived 2026-11-20" in world("contacts", "show", "Ada", now=NOW).out
    assert "carol-byrne" in listed(world)  # added by hand: the files never archive her
    everyone = listed(world, "--all")
    assert everyone["ada-lovelace"]["archived"] is True and everyone["bob-stone"]["archived"] is False
    assert "archived" in world("contacts", "list", "--all", now=NOW).out
    assert "ada-lovelace" not in {item["id"] for item in world("cold", "--json", now=NOW).json()}
    assert "ada-lovelace" not in hold_uids(world)
    assert "ada-lovelace" not in {hold["contact_id"] for hold in world("holds", "--json", now=NOW).json()}
    why = world("why", "Ada", "--json", now=NOW).json()
    assert why["hold"] == {"state": "none", "start": None, "end": None, "reason": "archived"}
    (world.home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n', encoding="utf-8"
    )
    assert world("sync", now=NOW).code == 0
    assert "ada-lovelace" in listed(world)  # back in a file: no longer archived


def test_an_emptied_contacts_file_archives_nobody(world):
    assert world("sync", now=NOW).code == 0
    (world.home / "contacts.toml").write_text("", encoding="utf-8")
    assert world("sync", now=NOW).code == 0
    assert set(listed(world)) == {"ada-lovelace", "bob-stone"}


def test_an_import_that_moves_an_address_warns_and_names_both(world):
    assert world("contacts", "import", "contacts.toml", now=NOW).code == 0
    (world.home / "move.csv").write_text(
        "name,emails,tier,cadence_days,notes,tags,ignore\nBob Stone,ada@example.com;bob@example.org,,,,,\n",
        encoding="utf-8",
    )
    result = world("contacts", "import", "move.csv", now=NOW)
    assert result.code == 2  # two contacts own its addresses: refused, naming both
    assert "Ada Lovelace (ada-lovelace) and Bob Stone (bob-stone)" in result.err
    (world.home / "move.csv").write_text(
        "name,emails,tier,cadence_days,notes,tags,ignore\nBob Stone,ada@example.com,,,,,\n", encoding="utf-8"
    )
    result = world("contacts", "import", "move.csv", now=NOW)
    assert result.code == 0, result.err
    assert "moves an address from Ada Lovelace (ada-lovelace) to Bob Stone (bob-stone)" in result.err
    contacts = listed(world)
    assert contacts["bob-stone"]["emails"] == ["ada@example.com"] and contacts["ada-lovelace"]["emails"] == []


def test_an_import_that_renames_a_contact_says_so(world):
    assert world("contacts", "import", "contacts.toml", now=NOW).code == 0
    (world.home / "rename.csv").write_text(
        "name,emails,tier,cadence_days,notes,tags,ignore\nAda King,ada@example.com,,,,,\n", encoding="utf-8"
    )
    result = world("contacts", "import", "rename.csv", now=NOW)
    assert result.code == 0 and "renames Ada Lovelace (ada-lovelace) to Ada King" in result.err
    assert listed(world)["ada-lovelace"]["name"] == "Ada King"
