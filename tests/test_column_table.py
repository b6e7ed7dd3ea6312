"""The long tables' shortcuts show what the plain rules show.

`column_table` (cells given a column at a time, laid out with one `%` format a row when
nothing is cut or wide) must lay out what the cell-by-cell reference does, and
`describe_touches` (each local day's text made once) must say of every touch what its own
date, kind and age say, across a daylight-saving change and in every unit of `ago`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.cold import contact_status
from syncd.models import Contact, LastTouch
from syncd.report import ago, describe_touches
from syncd.terminal import column_table, table
from tests.test_table_layout import CELLS, reference_table

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # the day Europe/Berlin moves its clocks forward
BERLIN = ZoneInfo("Europe/Berlin")


@settings(max_examples=400, deadline=None)
@given(columns=st.integers(1, 4), data=st.data(), width=st.none() | st.integers(0, 60))
def test_column_table_matches_the_cell_by_cell_layout(columns: int, data: st.DataObject, width: int | None) -> None:
    headers = data.draw(st.lists(CELLS, min_size=columns, max_size=columns))
    rows = data.draw(st.lists(st.lists(CELLS, min_size=columns, max_size=columns), max_size=6))
    by_column = [[row[index] for row in rows] for index in range(columns)]
    assert column_table(headers, by_column, width) == reference_table(headers, rows, width)
    assert table(headers, rows, width) == reference_table(headers, rows, width)


def test_ago_names_the_largest_whole_unit_at_each_boundary() -> None:
    said = {seconds: ago(NOW - timedelta(seconds=seconds), NOW) for seconds in (0, 59, 60, 3599, 3600, 86399, 86400)}
    assert said == {
        0: "just now",
        59: "just now",
        60: "1m ago",
        3599: "59m ago",
        3600: "1h ago",
        86399: "23h ago",
        86400: "1d ago",
    }
    assert ago(NOW + timedelta(seconds=1), NOW) == "in the future"
    assert ago(None, NOW) == "never"
    assert ago(NOW - timedelta(days=400, hours=23), NOW) == "400d ago"


def test_describe_touches_says_each_touchs_own_local_day_kind_and_age() -> None:
    # Around the clock change one UTC day spans two local days: a day's text is shared only within one.
    moments = [NOW - timedelta(hours=hours) for hours in range(0, 80, 7)] + [NOW - timedelta(seconds=30)]
    touches = [
        LastTouch(at=at, kind="meeting" if index % 2 else "email", source="s", item_id=str(index))
        for index, at in enumerate(moments)
    ]
    contacts = [Contact(id=f"c{index}", name=f"Person {index}", emails=[]) for index in range(len(touches) + 1)]
    statuses = [
        contact_status(contact, 30, touch, NOW) for contact, touch in zip(contacts, [*touches, None], strict=True)
    ]
    expected = [f"{touch.at.astimezone(BERLIN):%Y-%m-%d} ({touch.kind}, {ago(touch.at, NOW)})" for touch in touches]
    expected.append("never")
    assert describe_touches(statuses, NOW, BERLIN) == expected
    assert len(set(text[:10] for text in expected[:-1])) > 2  # the touches span several local days
