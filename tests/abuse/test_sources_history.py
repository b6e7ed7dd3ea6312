"""Abuse of the sources' history: emptied, rotated, replaced and pruned mailboxes and calendars.

Mail is history: a message that leaves its mailbox was still written, so its touch stays;
only a move to Spam/Trash withdraws it. A full read that suddenly finds nothing while the
store holds items of that source is refused (vdirsyncer's rule) until the user says
`syncd sync --accept-empty SOURCE`. Every case runs the real CLI on real files.
"""

from __future__ import annotations

import json
import mailbox
import os

import pytest

from tests.abuse.worlds import write_world
from tests.conftest import ics_calendar, ics_event, mbox_message

NOW = "2026-11-20T09:00:00+01:00"
ME = "me@example.com"
ADA_MAIL = "2026-11-04T11:00:00+01:00"  # the mbox message below, in the user's zone
ADA_MEETING = "2026-10-01T11:00:00+02:00"  # the calendar event below


@pytest.fixture
def world(cli):
    """A synced user with Ada and Bob as contacts, a calendar and a mailbox they named."""
    write_world(
        cli,
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n'
        '[[contact]]\nname = "Bob Babbage"\nemails = ["bob@example.com"]\n',
        "sent.mbox",
    )
    result = cli("sync", "--no-holds", now=NOW)
    assert result.code == 0, result.err
    assert last_touch(cli, "Ada Lovelace") == ADA_MAIL
    return cli


def last_touch(cli, name: str) -> str | None:
    result = cli("contacts", "list", "--json", now=NOW)
    assert result.code == 0, result.err
    (contact,) = [item for item in json.loads(result.out) if item["name"] == name]
    return contact["last_touch_at"]


def source_status(cli, name: str) -> tuple[int, dict, list[str]]:
    result = cli("status", "--json", now=NOW)
    data = json.loads(result.out)
    (source,) = [item for item in data["sources"] if item["name"] == name]
    return result.code, source, data["problems"]


def refused(cli, name: str) -> str:
    """A sync that refuses an empty read: exit 1, one stderr line naming the source and the way
    out, and no hold planned from the incomplete picture (Bob, never touched, is cold)."""
    result = cli("sync", now=NOW)
    assert result.code == 1 and "Traceback" not in result.err
    (line,) = [line for line in result.err.splitlines() if line.startswith(f"syncd: {name}: ")]
    assert "empty" in line and f"syncd sync --accept-empty {name}" in line, line
    assert not (cli.home / "holds.ics").exists() or "BEGIN:VEVENT" not in (cli.home / "holds.ics").read_text()
    return line


def test_an_emptied_mbox_is_refused_keeps_every_touch_and_pauses_holds(world):
    (world.home / "sent.mbox").write_text("")  # `: > sent.mbox`
    line = refused(world, "mbox:~/sent.mbox")
    assert "read 0 items but the store has 1" in line
    assert last_touch(world, "Ada Lovelace") == ADA_MAIL
    code, source, problems = source_status(world, "mbox:~/sent.mbox")
    assert code == 1 and source["state"] == "error" and "empty" in source["error"]
    assert any("mbox:~/sent.mbox" in problem and "empty" in problem for problem in problems)


def test_accept_empty_accepts_once_and_mail_history_stays(world):
    (world.home / "sent.mbox").write_text("")
    refused(world, "mbox:~/sent.mbox")
    result = world("sync", "--accept-empty", "mbox:~/sent.mbox", now=NOW)
    assert result.code == 0, result.err
    assert last_touch(world, "Ada Lovelace") == ADA_MAIL  # you did write it
    code, source, _ = source_status(world, "mbox:~/sent.mbox")
    assert code == 0 and source["state"] == "ok"
    holds = (world.home / "holds.ics").read_text()
    assert holds.count("BEGIN:VEVENT") == 1 and "Bob Babbage" in holds, "healthy again: Bob gets the held-back hold"
    assert world("sync", now=NOW).code == 0  # accepted once; the mailbox is simply empty now


def test_accept_empty_of_an_unknown_source_is_a_usage_error(world):
    result = world("sync", "--accept-empty", "mbox:~/nope.mbox", now=NOW)
    assert result.code == 2
    assert "mbox:~/nope.mbox" in result.err and "mbox:~/sent.mbox" in result.err and "Traceback" not in result.err


def test_an_mbox_replaced_by_random_bytes_is_refused_not_synced_as_empty(world):
    (world.home / "sent.mbox").write_bytes(os.urandom(64 * 1024).replace(b"From ", b"from "))
    refused(world, "mbox:~/sent.mbox")
    assert last_touch(world, "Ada Lovelace") == ADA_MAIL


def test_a_rotated_mbox_keeps_the_touches_of_the_messages_that_left(world):
    (world.home / "sent.mbox").write_text(
        mbox_message("2@x", f"Me <{ME}>", ["bob@example.com"], "Tue, 17 Nov 2026 10:00:00 +0000")
    )
    result = world("sync", "--no-holds", now=NOW)
    assert result.code == 0, result.err
    assert last_touch(world, "Ada Lovelace") == ADA_MAIL
    assert last_touch(world, "Bob Babbage") == "2026-11-17T11:00:00+01:00"


def test_a_calendar_replaced_by_an_empty_vcalendar_is_refused_until_accepted(world):
    (world.home / "sent.mbox").write_text("")  # only the calendar then sets Ada's last touch…
    world("sync", "--no-holds", "--accept-empty", "mbox:~/sent.mbox", now=NOW)
    (world.home / "cal.ics").write_text(ics_calendar())
    line = refused(world, "ics:~/cal.ics")
    assert "read 0 items but the store has 1" in line
    assert last_touch(world, "Ada Lovelace") == ADA_MAIL
    result = world("sync", "--no-holds", "--accept-empty", "ics:~/cal.ics", now=NOW)
    assert result.code == 0, result.err
    code, source, _ = source_status(world, "ics:~/cal.ics")
    assert code == 0 and source["state"] == "ok" and source["items"] == 0  # a calendar follows its file


def test_a_deleted_calendar_event_still_removes_its_row(world):
    (world.home / "cal.ics").write_text(
        ics_calendar(ics_event("m2", "20261002T090000Z", "20261002T100000Z", [ME, "bob@example.com"], organizer=ME))
    )
    assert world("sync", "--no-holds", now=NOW).code == 0
    code, source, _ = source_status(world, "ics:~/cal.ics")
    assert code == 0 and source["items"] == 1
    assert last_touch(world, "Bob Babbage") == "2026-10-02T11:00:00+02:00"


def test_a_calendar_replaced_by_random_bytes_is_a_parse_error_not_an_empty_read(world):
    (world.home / "cal.ics").write_bytes(os.urandom(4096))
    result = world("sync", "--no-holds", now=NOW)
    assert result.code == 1 and "cal.ics" in result.err and "Traceback" not in result.err
    code, source, _ = source_status(world, "ics:~/cal.ics")
    assert code == 1 and source["state"] == "error" and source["items"] == 1


def test_a_gmail_style_spam_label_still_withdraws_the_touch(world):
    """An mbox exported from Gmail says where each message is in X-Gmail-Labels."""
    (world.home / "sent.mbox").write_text(
        mbox_message(
            "1@x", f"Me <{ME}>", ["ada@example.com"], "Wed, 04 Nov 2026 10:00:00 +0000", ["X-Gmail-Labels: Spam"]
        )
    )
    assert world("sync", "--no-holds", now=NOW).code == 0
    assert last_touch(world, "Ada Lovelace") == ADA_MEETING


# --- Maildir -----------------------------------------------------------------------------------


@pytest.fixture
def maildir_world(cli):
    """A Maildir++ INBOX with Junk and Trash folders; Ada wrote to the user directly."""
    root = cli.home / "Maildir"
    inbox = mailbox.Maildir(root, create=True)
    junk = inbox.add_folder("Junk")
    inbox.add_folder("Trash")
    (cli.home / "contacts.toml").write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [store]
        path = "data/syncd.db"
        [contacts]
        files = ["contacts.toml"]
        [sources.mail]
        maildir = "Maildir"
        [holds]
        sink = "ics:holds.ics"
    """)
    message = mbox_message("1@x", "ada@example.com", [ME], "Wed, 04 Nov 2026 10:00:00 +0000").split("\n", 1)[1]
    cli.key = inbox.add(message)
    cli.inbox, cli.junk, cli.message = inbox, junk, message
    assert cli("sync", "--no-holds", now=NOW).code == 0
    assert last_touch(cli, "Ada Lovelace") == ADA_MAIL
    return cli


def test_a_message_deleted_from_a_maildir_keeps_its_touch(maildir_world):
    maildir_world.inbox.add("Subject: a newer message\nFrom: someone@example.com\n\nhi\n")
    maildir_world.inbox.remove(maildir_world.key)
    result = maildir_world("sync", "--no-holds", now=NOW)
    assert result.code == 0, result.err
    assert last_touch(maildir_world, "Ada Lovelace") == ADA_MAIL


def test_a_maildir_emptied_is_refused(maildir_world):
    maildir_world.inbox.remove(maildir_world.key)
    refused(maildir_world, "maildir:~/Maildir")
    assert last_touch(maildir_world, "Ada Lovelace") == ADA_MAIL


def test_a_move_to_the_junk_folder_withdraws_the_touch_and_back_restores_it(maildir_world):
    maildir_world.inbox.remove(maildir_world.key)
    junk_key = maildir_world.junk.add(maildir_world.message)
    maildir_world.inbox.add("Subject: a newer message\nFrom: someone@example.com\n\nhi\n")
    assert maildir_world("sync", "--no-holds", now=NOW).code == 0
    assert last_touch(maildir_world, "Ada Lovelace") is None
    maildir_world.junk.remove(junk_key)  # not spam after all
    maildir_world.inbox.add(maildir_world.message)
    assert maildir_world("sync", "--no-holds", now=NOW).code == 0
    assert last_touch(maildir_world, "Ada Lovelace") == ADA_MAIL


# --- a contacts file that fails to import ----------------------------------------------------


def test_a_broken_contacts_file_no_longer_stops_the_sources(world):
    (world.home / "sent.mbox").write_text(
        mbox_message("1@x", f"Me <{ME}>", ["ada@example.com"], "Wed, 04 Nov 2026 10:00:00 +0000")
        + mbox_message("2@x", f"Me <{ME}>", ["bob@example.com"], "Tue, 17 Nov 2026 10:00:00 +0000")
    )
    (world.home / "contacts.toml").write_text('[[contact]]\nname = "Ada"\nemails = "not a list"\n[[')
    result = world("sync", "--no-holds", now=NOW)
    assert result.code == 1 and "Traceback" not in result.err
    (line,) = [line for line in result.err.splitlines() if line.startswith("syncd: contacts file: ")]
    assert "contacts.toml" in line
    assert last_touch(world, "Bob Babbage") == "2026-11-17T11:00:00+01:00", "the mailbox still synced"
    status = world("status", "--json", now=NOW)
    assert status.code == 1
    problems = json.loads(status.out)["problems"]
    assert any("contacts.toml" in problem for problem in problems), problems
    assert all(source["state"] == "ok" for source in json.loads(status.out)["sources"])

    (world.home / "contacts.toml").write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    assert world("sync", "--no-holds", now=NOW).code == 0
    assert not any("contacts" in problem for problem in json.loads(world("status", "--json", now=NOW).out)["problems"])
