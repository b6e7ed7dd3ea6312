"""What a terminal can take: colour only where it shows (never under NO_COLOR or TERM=dumb), and
tables that fit the window, counting wide (CJK, emoji) characters as two columns."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

from syncd.textsafe import display_width, inert

ELLIPSIS = "…"
GAP = "  "
STYLES = {"ok": "32", "warn": "33", "fail": "31", "bold": "1", "dim": "2"}


def colour_enabled(stream: TextIO | None = None) -> bool:
    """Colour on a terminal only, and never when the user said no (https://no-color.org) or the terminal is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or wrapped stream
        return False


def styled_stream() -> TextIO:
    """Where coloured lines go: stdout past the CLI's inert filter (which would show the codes as
    text). Whatever is painted must be made inert first (:func:`syncd.textsafe.inert`)."""
    return getattr(sys.stdout, "unfiltered", sys.stdout)


def paint(text: str, style: str, enabled: bool) -> str:
    """`text` in one of :data:`STYLES` when `enabled`; the escape codes are syncd's own, never the text's."""
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m" if enabled else text


def terminal_width() -> int | None:
    """Columns to fit: `COLUMNS` when set, the terminal's when stdout is one, else None —
    output into a pipe or a file is never cut (`syncd cold | grep` sees whole names)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        on_terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):
        on_terminal = False
    return shutil.get_terminal_size((80, 24)).columns if on_terminal else None


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` columns, ending in `…` when something was cut."""
    if text.isascii():  # a column a character: cut by slicing
        return text if len(text) <= width else text[: width - 1] + ELLIPSIS if width > 0 else ""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        size = display_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS if width > 0 else ""


def fit_widths(widths: list[int], limit: int, minimum: int = 8) -> list[int]:
    """Column widths whose sum plus gaps fits `limit`: the widest column gives way, a column at a
    time, never below `minimum`, so short columns (dates, counts) stay whole. When every column
    is at its floor the table stays wider than `limit` and the terminal wraps it."""
    widths = list(widths)
    budget = limit - len(GAP) * (len(widths) - 1)
    excess = sum(widths) - budget
    while excess > 0:
        widest = max(range(len(widths)), key=lambda index: widths[index])
        if widths[widest] <= minimum:
            break
        widths[widest] -= 1
        excess -= 1
    return widths


def table(headers: list[str], rows: list[list[str]], width: int | None = None) -> str:
    """Aligned columns that fit `width` (default: the terminal's); every cell made inert first,
    so an escape cannot break the layout or the terminal, and wide characters count two."""
    texts = [list(map(str, row)) for row in [headers, *rows]]
    columns = list(zip(*texts, strict=False))
    if not columns:
        return "\n".join("" for _ in texts)
    return _laid_out(columns, width)


def column_table(headers: list[str], columns: list[list[str]], width: int | None = None) -> str:
    """What :func:`table` makes of the same cells, given a column at a time, every cell a str.

    For the long tables (`contacts list`: 5,000 rows): the caller builds each column in one
    comprehension instead of a list a row, and the cells are neither converted nor transposed
    on the way in (≈ 3 ms of the 5,000 rows)."""
    return _laid_out([[header, *column] for header, column in zip(headers, columns, strict=True)], width)


def _laid_out(columns: Sequence[Sequence[str]], width: int | None) -> str:
    """The table of these columns (each headed by its header), one line a row.

    `contacts list` lays out some 35,000 cells, so the work goes a column at a time: the whole
    table is checked for anything to escape at once, a column without wide or zero-width
    characters is measured and padded by `len`, and only a column that must be cut is cut
    cell by cell."""
    everything = " ".join(" ".join(column) for column in columns)  # a space is never escaped: a cell changes alone
    if inert(everything) != everything:
        columns = [[inert(cell) for cell in column] for column in columns]
    sizes = [
        None if _one_column_a_character("".join(column)) else list(map(display_width, column)) for column in columns
    ]
    natural = [
        max(map(len, column)) if measured is None else max(measured)
        for column, measured in zip(columns, sizes, strict=True)
    ]
    limit = width if width is not None else terminal_width()
    widths = natural if limit is None else fit_widths(natural, limit)
    if widths == natural and all(measured is None for measured in sizes):  # nothing to cut, a column a character
        line = GAP.join(f"%-{size}s" for size in widths)  # `%-Ns` pads a str as `ljust(N)` does
        return "\n".join([(line % row).rstrip() for row in zip(*columns, strict=True)])
    padded = [
        _padded(column, size, measured, cut=size < full)
        for column, size, full, measured in zip(columns, widths, natural, sizes, strict=True)
    ]
    return "\n".join(GAP.join(parts).rstrip() for parts in zip(*padded, strict=True))


def _one_column_a_character(text: str) -> bool:
    """No character of `text` is wide or zero-width: ASCII, or nothing from the combining marks (U+0300) on."""
    return text.isascii() or max(text) < "\u0300"


def _padded(column: Sequence[str], size: int, measured: list[int] | None, cut: bool) -> list[str]:
    """The column's cells filled to `size` columns, cut to it first when the column is wider.
    `measured` holds each cell's width, None for a column a character: measured by `len`,
    when cut too (the `…` is one column)."""
    if measured is None:
        return [cell.ljust(size) for cell in ([truncate(cell, size) for cell in column] if cut else column)]
    if cut:
        shown = [truncate(cell, size) for cell in column]
        return [cell + " " * (size - display_width(cell)) for cell in shown]
    return [cell + " " * (size - width) for cell, width in zip(column, measured, strict=True)]
