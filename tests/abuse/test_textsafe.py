"""The one function between hostile text and the terminal: what it escapes, what it leaves alone."""

from __future__ import annotations

import io
import logging
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from syncd.textsafe import InertMessages, InertStream, display_width, inert, inert_lines

BIDI_CONTROLS = {chr(code) for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def steers_a_terminal(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


@given(st.text())
def test_nothing_that_steers_a_terminal_survives(text):
    assert not [char for char in inert(text) if steers_a_terminal(char)]


@given(st.text().filter(lambda text: not any(steers_a_terminal(char) for char in text)))
def test_text_without_control_characters_is_unchanged(text):
    assert inert(text) == text


def test_escapes_read_like_python():
    assert inert("a\x1b[2Jb\x07c\x7f\x9b\u202e\u2028\n\t") == "a\\x1b[2Jb\\x07c\\x7f\\x9b\\u202e\\u2028\\x0a\\x09"


def test_wide_characters_emoji_and_joiners_pass():
    text = "山田 太郎 👩‍💻 café"  # the emoji is a ZWJ sequence: a format character, not a control
    assert inert(text) == text
    assert display_width("山田") == 4 and display_width("cafe\u0301") == 4


def test_inert_lines_keeps_the_line_breaks_only():
    assert inert_lines("one\x1b\ntwo\r") == "one\\x1b\ntwo\\x0d"


def test_the_stream_keeps_newlines_and_tabs_and_escapes_the_rest():
    target = io.StringIO()
    stream = InertStream(target)
    print("a\tb\x1b]0;title\x07", file=stream)
    assert target.getvalue() == "a\tb\\x1b]0;title\\x07\n"


def test_log_messages_are_made_inert_with_their_arguments():
    record = logging.LogRecord("syncd", logging.WARNING, __file__, 1, "%s: %s", ("evil\x1b[31m", "x\x07"), None)
    assert InertMessages().filter(record)
    assert record.getMessage() == "evil\\x1b[31m: x\\x07"
