"""Gmail and the mail files (mbox, Maildir, IMAP) judge "list or bulk" and "automatic" by one rule.

They used to differ: an empty List-Id made Gmail mail bulk but not mbox mail, and a blank
Auto-Submitted made mbox mail automatic but not Gmail mail. The same headers must now give the
same record flags whichever source read them, and DESIGN.md's words decide the blank cases: a
List-Id is a bulk marker, and an Auto-Submitted other than `no` is never a touch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncd.sources.gmail import message_record
from syncd.sources.mail_headers import message_from_headers
from syncd.touches import AUTO_SUBMITTED, TouchRules, judge
from tests.mail_strategies import FAST

DATED = b"Date: Mon, 02 Nov 2026 09:00:00 +0000\n"

VALUES = st.sampled_from(["", " ", "\t", "list.example.org", "<ada.example.org>", "bulk", " List ", "junk", "no"])
OPTIONAL = st.none() | VALUES


def gmail_and_file(extra: dict[str, str]) -> tuple[tuple[bool, str | None], tuple[bool, str | None]]:
    headers = {"From": "Ada <ada@example.com>", "To": "me@example.com", "Date": "Mon, 02 Nov 2026 09:00:00 +0000"}
    headers.update(extra)
    gmail = message_record(
        {
            "id": "m1",
            "internalDate": "1793610000000",
            "labelIds": ["INBOX"],
            "payload": {"headers": [{"name": name, "value": value} for name, value in headers.items()]},
        }
    )
    block = "".join(f"{name}: {value}\n" for name, value in headers.items()).encode()
    local = message_from_headers(block)
    assert gmail is not None and local is not None
    return (gmail.bulk, gmail.auto_submitted), (local.bulk, local.auto_submitted)


@FAST
@given(list_id=OPTIONAL, unsubscribe=OPTIONAL, precedence=OPTIONAL, auto=OPTIONAL)
def test_gmail_and_mail_files_flag_the_same_headers_alike(list_id, unsubscribe, precedence, auto):
    extra = {
        name: value
        for name, value in (
            ("List-Id", list_id),
            ("List-Unsubscribe", unsubscribe),
            ("Precedence", precedence),
            ("Auto-Submitted", auto),
        )
        if value is not None
    }
    gmail, local = gmail_and_file(extra)
    assert gmail == local


def test_blank_list_and_auto_headers_still_mark_the_message():
    gmail, local = gmail_and_file({"List-Id": " ", "Auto-Submitted": " "})
    assert gmail == local == (True, "")
    message = message_from_headers(b"From: ada@example.com\nTo: me@example.com\nAuto-Submitted: \n" + DATED)
    assert message is not None
    rules = TouchRules(own_addresses=frozenset({"me@example.com"}))
    assert judge(message, rules) == {"ada@example.com": AUTO_SUBMITTED}


def test_auto_submitted_no_is_a_person_writing():
    message = message_from_headers(b"From: ada@example.com\nTo: me@example.com\nAuto-Submitted: No \n" + DATED)
    assert message is not None
    assert judge(message, TouchRules(own_addresses=frozenset({"me@example.com"}))) == {"ada@example.com": None}


def test_a_list_id_or_bulk_precedence_is_bulk_and_auto_submitted_is_kept_stripped():
    assert gmail_and_file({"List-Id": "<team.example.org>"})[1] == (True, None)
    assert gmail_and_file({"Precedence": " Bulk "})[0] == (True, None)
    assert gmail_and_file({"Auto-Submitted": " auto-replied "}) == ((False, "auto-replied"), (False, "auto-replied"))
