"""The one "first line of an error" helper (syncd.errors) that status, logs, doctor and the sources share."""

from __future__ import annotations

import pytest

from syncd.errors import SourceError, first_line, first_line_of


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SourceError("server said no\nTraceback (most recent call last):"), "server said no"),
        (ValueError("\n\n  indented first line  \nsecond"), "indented first line"),
        (KeyError(), "KeyError"),
        (OSError("   \n  "), "OSError"),
    ],
)
def test_first_line_of_an_error(error: BaseException, expected: str) -> None:
    assert first_line(error) == expected


def test_first_line_of_text_leaves_the_fallback_to_the_caller() -> None:
    assert first_line_of("one\ntwo") == "one"
    assert first_line_of("\r\n  \n") == ""
