"""Booking windows as the user writes them (syncd.windows): parsing, errors, round trip."""

from __future__ import annotations

from datetime import time

import pytest

from syncd.windows import Window, parse_window


@pytest.mark.parametrize(
    "text, days, start, end",
    [
        ("Tue-Thu 08:30-10:00", {1, 2, 3}, time(8, 30), time(10)),
        ("Mon,Wed 12:00-13:00", {0, 2}, time(12), time(13)),
        ("Mon-Tue,Fri 09:00-10:00", {0, 1, 4}, time(9), time(10)),
        ("mon 9:00-9:30", {0}, time(9), time(9, 30)),
        ("Friday-Mon 07:00 - 08:00", {4, 5, 6, 0}, time(7), time(8)),
        ("  Sun 00:00-23:59 ", {6}, time(0), time(23, 59)),
    ],
)
def test_parse_window_good(text, days, start, end):
    assert parse_window(text) == Window(frozenset(days), start, end)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "expected"),
        ("Tue-Thu", "expected"),
        ("08:30-10:00", "expected"),
        ("Tue-Thu 08:30", "expected"),
        ("Xyz 08:00-09:00", "unknown day"),
        ("Tue 10:00-09:00", "must be after"),
        ("Tue 09:00-09:00", "must be after"),
        ("Tue 24:00-25:00", "not a time of day"),
        ("Tue 09:60-10:00", "not a time of day"),
        ("Tue-Wed-Thu 08:00-09:00", "bad day range"),
        ("Mon,,Tue 08:00-09:00", "empty day"),
    ],
)
def test_parse_window_bad(text, fragment):
    with pytest.raises(ValueError) as err:
        parse_window(text)
    assert fragment in str(err.value)
    assert "Tue-Thu 08:30-10:00" in str(err.value) or fragment in ("must be after",)


def test_window_str_round_trips():
    w = parse_window("Mon-Tue,Fri 09:00-10:00")
    assert parse_window(str(w)) == w
