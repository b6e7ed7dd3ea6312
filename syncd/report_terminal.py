"""`syncd report` in the terminal: one line per contact with a bar of days since touch against cadence.

The bar spans twice the cadence; its middle is where a contact turns cold. Colour is a
choice of the caller (a terminal without `NO_COLOR`): the text alone says everything,
so a pipe or a colour-blind reader loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from syncd.network import ContactWarmth, NetworkReport
from syncd.terminal import paint as styled
from syncd.textsafe import display_width, inert

BAR = 20  # columns for twice the cadence
NAME_WIDTH = 28
Paint = Callable[[str, str], str]  # (style of syncd.terminal.STYLES, text) → text, coloured or not
GREEN, YELLOW, RED, DIM, BOLD = "ok", "warn", "fail", "dim", "bold"


def render_terminal(report: NetworkReport, colour: bool = False) -> str:
    paint = _painter(colour)
    width = min(NAME_WIDTH, max((display_width(_name(row)) for row in report.contacts), default=0))
    lines: list[str] = []
    tier = None
    for row in report.contacts:
        if row.tier != tier:
            tier = row.tier
            summary = next(item for item in report.tiers if item.tier == tier)
            lines.append(
                paint(
                    BOLD,
                    f"{inert(tier)} — {summary.count} contact{'' if summary.count == 1 else 's'}, {summary.warm} warm",
                )
            )
        lines.append(_line(row, report, width, paint))
    if not report.contacts:
        lines.append("no contacts yet (import some with `syncd contacts import FILE`)")
    lines.append(rhythm_line(report))
    return "\n".join(lines)


def rhythm_line(report: NetworkReport) -> str:
    weeks = report.rhythm
    target = weeks[-1].target if weeks else 0
    kept = sum(1 for week in weeks if week.kept)
    counts = " ".join(str(week.coffees) for week in weeks)
    return (
        f"rhythm: coffees a week over the last {len(weeks)} weeks (oldest first): {counts}; "
        f"target {target} a week, kept in {kept} of {len(weeks)}"
    )


def _line(row: ContactWarmth, report: NetworkReport, width: int, paint: Paint) -> str:
    name = _name(row)
    padded = name + " " * max(0, width - display_width(name))
    status = row.status
    if row.days_since_touch is None:
        bar = paint(RED, "never touched".ljust(BAR))
        days = f"{'':>5} / {status.cadence_days}d"
    else:
        ratio = row.days_since_touch / status.cadence_days
        filled = min(BAR, round(ratio * BAR / 2))
        colour = RED if status.cold else YELLOW if ratio > 0.75 else GREEN
        overflow = ">" if ratio > 2 else " "
        bar = paint(colour, "█" * filled) + paint(DIM, "·" * (BAR - filled)) + overflow
        days = f"{row.days_since_touch:>4}d / {status.cadence_days}d"
    marks = []
    if status.cold:
        marks.append(paint(RED, "cold"))
    if row.hold_start is not None:
        marks.append(f"◆ hold {row.hold_start.astimezone(report.tz):%a %m-%d %H:%M}")
    if status.snoozed and status.contact.snoozed_until is not None:
        marks.append(f"snoozed until {status.contact.snoozed_until.astimezone(report.tz):%m-%d}")
    return f"  {padded}  {bar} {days}  {'  '.join(marks)}".rstrip()


def _name(row: ContactWarmth) -> str:
    """The name made inert, cut to NAME_WIDTH columns (wide characters count two)."""
    name = inert(row.status.contact.name)
    if display_width(name) <= NAME_WIDTH:
        return name
    while display_width(name) > NAME_WIDTH - 1:
        name = name[:-1]
    return name + "…"


def _painter(colour: bool) -> Paint:
    def paint(style: str, text: str) -> str:
        return styled(text, style, colour and bool(text))

    return paint
