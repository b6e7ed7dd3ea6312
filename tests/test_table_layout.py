"""The column-at-a-time table lays out exactly what laying out one cell at a time does.

`syncd.terminal.table` takes shortcuts for speed (one escape check for the whole table, `len`
for ASCII columns, slicing to cut ASCII); the reference below is the plain rule: escape each
cell, measure it, cut it to its column, pad it. Hypothesis draws cells from ASCII, wide
(CJK, emoji), combining, control and odd-space characters, with and without a width.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.terminal import ELLIPSIS, GAP, fit_widths, table, truncate
from syncd.textsafe import display_width, inert

CHARACTERS = st.sampled_from(
    list("ab Z09-.@") + ["é", "漢", "😀", "\u0301", "\x1b", "\t", "\u202e", "\u3000", "\xa0", "…"]
)
CELLS = st.text(CHARACTERS, max_size=12) | st.text(st.sampled_from(list("abc xyz-")), max_size=12)


def reference_truncate(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        if used + display_width(char) > width - 1:
            break
        kept.append(char)
        used += display_width(char)
    return "".join(kept) + ELLIPSIS if width > 0 else ""


def reference_table(headers: list[str], rows: list[list[str]], width: int | None) -> str:
    cells = [[inert(str(cell)) for cell in row] for row in [headers, *rows]]
    natural = [max(display_width(cell) for cell in column) for column in zip(*cells, strict=False)]
    widths = natural if width is None else fit_widths(natural, width)
    lines = []
    for row in cells:
        parts = []
        for cell, size in zip(row, widths, strict=False):
            shown = reference_truncate(cell, size)
            parts.append(shown + " " * (size - display_width(shown)))
        lines.append(GAP.join(parts).rstrip())
    return "\n".join(lines)


@settings(max_examples=400, deadline=None)
@given(
    columns=st.integers(1, 4),
    data=st.data(),
    width=st.none() | st.integers(0, 60),
)
def test_table_matches_the_cell_by_cell_layout(columns: int, data: st.DataObject, width: int | None) -> None:
    headers = data.draw(st.lists(CELLS, min_size=columns, max_size=columns))
    rows = data.draw(st.lists(st.lists(CELLS, min_size=columns, max_size=columns), max_size=6))
    assert table(headers, rows, width) == reference_table(headers, rows, width)


@given(text=CELLS, width=st.integers(-1, 14))
def test_truncate_matches_the_character_by_character_cut(text: str, width: int) -> None:
    assert truncate(text, width) == reference_truncate(text, width)


def test_an_ascii_column_cut_to_fit_ends_in_an_ellipsis_and_keeps_its_alignment() -> None:
    lines = table(["ID", "EMAIL"], [["a", "someone.with.a.long.address@example.com"], ["bb", "x@y.z"]], width=20)
    assert lines.splitlines() == ["ID  EMAIL", "a   someone.with.a.…", "bb  x@y.z"]
