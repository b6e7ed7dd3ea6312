"""`report --html`: the network report as one self-contained page (inline CSS and SVG, no script, no URL).

The page opens from a file offline and prints: nothing is fetched, nothing runs. Every
string from the user's data goes through :func:`_text` (control characters made visible,
then HTML-escaped), so a name can neither break the markup nor the SVG's XML. The warmth
chart draws its cells as strokes of one path per intensity, which keeps a page of 5,000
contacts over a year of weeks well under 2 MB.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime

from syncd.network import ContactWarmth, NetworkReport, RhythmWeek
from syncd.textsafe import inert

LABEL_WIDTH = 190  # the names column of the warmth chart
CELL = 10  # a week's square
PITCH = 14  # a week's column, and a contact's row
HEADER = 40  # year and week labels above the first row
LEVEL_OF = ("", "l1", "l2", "l3", "l3", "l4")  # touches in a week (5 or more: the last) → intensity class

STYLE = """
:root{color-scheme:light;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--cold:#cf222e;--warm:#1a7f37}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line)}
.sub{color:var(--muted);margin:0}
nav{margin:12px 0;color:var(--muted)}nav a{color:var(--ink);margin-right:14px}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.stat{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.stat b{display:block;font-size:22px}.stat.cold b{color:var(--cold)}.stat.warm b{color:var(--warm)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);
vertical-align:top}th{font-weight:600;color:var(--muted)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;width:140px;height:10px;background:#ffebe9;border-radius:2px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--warm)}
.why{color:var(--muted)}.never{color:var(--cold)}
svg{display:block;max-width:100%;height:auto}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--ink)}
svg .n{text-anchor:end}svg .t{font-weight:700}svg .w{fill:var(--muted)}svg .nv{fill:var(--cold)}
.cells{fill:none;stroke-width:10}.l1{stroke:#aceebb}.l2{stroke:#4ac26b}.l3{stroke:#2da44e}.l4{stroke:#116329}
.life{stroke:var(--line);stroke-width:2;fill:none}.gone{stroke:var(--cold);stroke-width:2;fill:none}
.kept{fill:#4ac26b}.missed{fill:#ffcecb}.target{stroke:var(--ink);stroke-dasharray:4 3;stroke-width:1.5}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
@page{margin:12mm}
@media print{body{max-width:none;padding:0;font-size:11px}nav{display:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section{break-inside:auto}h2{break-after:avoid}tr,.stat{break-inside:avoid}}
"""


def render_html(report: NetworkReport, reasons: dict[str, str]) -> str:
    """The whole page; `reasons` says per cold contact id why they are cold and what happens next."""
    tz = report.tz
    warm = sum(1 for row in report.contacts if row.warm)
    kept = sum(1 for week in report.rhythm if week.kept)
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>syncd — your network on {report.generated_at.astimezone(tz):%Y-%m-%d}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>Your network</h1>",
        f'<p class="sub">generated {report.generated_at.astimezone(tz):%A %Y-%m-%d %H:%M %Z}'
        f" · weeks {_text(report.weeks[0])} to {_text(report.weeks[-1])}</p></header>",
        '<nav><a href="#rhythm">Rhythm</a><a href="#tiers">Tiers</a><a href="#warmth">Warmth</a>'
        '<a href="#cold">Cold</a><a href="#holds">Upcoming holds</a></nav>',
        '<div class="stats">',
        _stat("contacts", len(report.contacts)),
        _stat("warm", warm, "warm"),
        _stat("cold", len(report.contacts) - warm, "cold"),
        _stat("upcoming holds", len(report.holds)),
        _stat(f"weeks the rhythm was kept (of {len(report.rhythm)})", kept),
        "</div>",
        _rhythm_section(report.rhythm),
        _tiers_section(report),
        _warmth_section(report),
        _cold_section(report, reasons),
        _holds_section(report),
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _text(value: object) -> str:
    """User data into markup: control characters shown as escapes, then HTML/XML-escaped."""
    return html.escape(inert(str(value)), quote=True)


def _stat(label: str, value: int, kind: str = "") -> str:
    return f'<div class="stat {kind}"><b>{value}</b>{_text(label)}</div>'


def _rhythm_section(weeks: tuple[RhythmWeek, ...]) -> str:
    """Coffees per week as bars against the `per_week` target drawn as a dashed line."""
    if not weeks:
        return ""
    target = weeks[-1].target
    top = max([target, *(week.coffees for week in weeks)], default=1) or 1
    bar, gap, height = 36, 12, 120
    base = height + 16  # the bars' baseline, with room above the tallest for its number
    width, total = len(weeks) * (bar + gap) + gap, base + 24
    scale = height / top
    shapes = []
    for index, week in enumerate(weeks):
        x = gap + index * (bar + gap)
        tall = week.coffees * scale
        middle = x + bar / 2
        shapes += [
            f'<rect class="{"kept" if week.kept else "missed"}" x="{x}" y="{base - tall:.1f}" width="{bar}" '
            f'height="{max(tall, 2):.1f}"><title>{_text(week.week)}: {week.coffees} of {week.target}</title></rect>',
            f'<text x="{middle}" y="{base + 16}" text-anchor="middle">{_text(week.week[-3:])}</text>',
            f'<text x="{middle}" y="{base - tall - 4:.1f}" text-anchor="middle">{week.coffees}</text>',
        ]
    line_y = base - target * scale
    shapes.append(f'<line class="target" x1="0" x2="{width}" y1="{line_y:.1f}" y2="{line_y:.1f}"/>')
    kept = sum(1 for week in weeks if week.kept)
    return (
        '<section id="rhythm"><h2>Rhythm</h2>'
        f"<p>Coffees (meetings with contacts, and holds that happened) per week over the last {len(weeks)} weeks "
        f"against the target of {target} a week (dashed): kept in {kept} of {len(weeks)} weeks.</p>"
        f'<svg role="img" aria-label="coffees per week" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}">{"".join(shapes)}</svg></section>'
    )


def _tiers_section(report: NetworkReport) -> str:
    rows = []
    for tier in report.tiers:
        share = 100 * tier.warm / tier.count if tier.count else 0
        rows.append(
            f'<tr><td>{_text(tier.tier)}</td><td class="num">{tier.count}</td><td class="num">{tier.warm}</td>'
            f'<td class="num">{tier.count - tier.warm}</td>'
            f'<td><span class="bar"><span style="width:{share:.0f}%"></span></span> {share:.0f}% warm</td></tr>'
        )
    return (
        '<section id="tiers"><h2>Tiers</h2><table><thead><tr><th>tier</th><th class="num">contacts</th>'
        '<th class="num">warm</th><th class="num">cold</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _warmth_section(report: NetworkReport) -> str:
    return (
        '<section id="warmth"><h2>Warmth</h2>'
        "<p>One row per contact, one column per week: a square for each week with touches (darker: more), "
        'a line while the contact is warm, ending in red where they went cold. <span class="legend">'
        '<span style="background:#aceebb"></span>1<span style="background:#4ac26b"></span>2'
        '<span style="background:#2da44e"></span>3–4<span style="background:#116329"></span>5+</span></p>'
        f"{warmth_svg(report)}</section>"
    )


def warmth_svg(report: NetworkReport) -> str:
    """Contacts × weeks; a heading row per tier; cells by intensity, lifelines to where each went cold."""
    columns = len(report.weeks)
    width = LABEL_WIDTH + columns * PITCH + 24
    start = report.chart_start
    labels, life, gone = [], [], []
    cells: dict[str, list[str]] = {css: [] for css in LEVEL_OF[1:]}
    by_total = [cells[css] if css else [] for css in LEVEL_OF]  # touches in a week → its intensity's path
    moves = [f"M{LABEL_WIDTH + column * PITCH} " for column in range(columns)]
    most = len(by_total) - 1
    row = 0
    tier = None
    for contact in report.contacts:
        if contact.tier != tier:
            tier = contact.tier
            count = next((item.count for item in report.tiers if item.tier == tier), 0)
            y = HEADER + row * PITCH + PITCH - 2
            labels.append(f'<text class="t" x="4" y="{y}">{_text(tier)} ({count})</text>')
            row += 1
        middle = HEADER + row * PITCH + PITCH // 2
        name_class = "n nv" if contact.status.last_touch is None else "n"
        labels.append(
            f'<text class="{name_class}" x="{LABEL_WIDTH - 6}" y="{middle + 4}">{_text(_name(contact))}</text>'
        )
        end = _row_end(contact, report, start, columns)
        if end > LABEL_WIDTH:
            life.append(f"M{LABEL_WIDTH} {middle}H{end}")
        if contact.status.cold and contact.status.last_touch is not None and end > LABEL_WIDTH:
            gone.append(f"M{end} {middle - 5}v10")
        stroke = f"{middle}h{CELL}"
        for _, column, meetings, messages in contact.weeks:  # a stroke 10 wide and 10 long: a square
            by_total[min(meetings + messages, most)].append(moves[column] + stroke)
        row += 1
    height = HEADER + row * PITCH + 4
    ticks = []
    for index, week in enumerate(report.weeks):
        year, number = week.split("-")
        if index == 0 or number == "W01":
            ticks.append(f'<text class="w" x="{LABEL_WIDTH + index * PITCH}" y="12">{_text(year)}</text>')
        if index % 4 == 0:
            ticks.append(f'<text class="w" x="{LABEL_WIDTH + index * PITCH}" y="{HEADER - 10}">{_text(number)}</text>')
    paths = [f'<path class="life" d="{"".join(life)}"/>', f'<path class="gone" d="{"".join(gone)}"/>']
    paths += [f'<path class="cells {css}" d="{"".join(parts)}"/>' for css, parts in cells.items() if parts]
    return (
        f'<svg role="img" aria-label="warmth of each contact per week" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"{''.join(ticks)}{''.join(paths)}{''.join(labels)}</svg>"
    )


def _name(contact: ContactWarmth) -> str:
    name = contact.status.contact.name
    return name if len(name) <= 28 else name[:27] + "…"


def _row_end(contact: ContactWarmth, report: NetworkReport, start: datetime, columns: int) -> int:
    """Where the row's lifeline ends: now for a warm contact, the moment the cadence ran out for a cold one."""
    if contact.status.last_touch is None:
        return LABEL_WIDTH
    until = contact.cold_at if contact.cold_at is not None else report.generated_at
    weeks = (until - start).total_seconds() / (7 * 86400)
    return LABEL_WIDTH + round(min(max(weeks, 0.0), float(columns)) * PITCH)


def _cold_section(report: NetworkReport, reasons: dict[str, str]) -> str:
    cold = report.cold
    if not cold:
        return '<section id="cold"><h2>Cold</h2><p>Nobody is cold.</p></section>'
    rows = [
        f'<tr><td class="{"never" if row.status.last_touch is None else ""}">{_text(row.status.contact.name)}</td>'
        f'<td>{_text(row.tier)}</td><td class="num">{_overdue(row)}</td>'
        f'<td class="why">{_text(reasons.get(row.status.contact.id, ""))}</td></tr>'
        for row in cold
    ]
    return (
        f'<section id="cold"><h2>Cold ({len(cold)})</h2><table><thead><tr><th>contact</th><th>tier</th>'
        f'<th class="num">overdue</th><th>why</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def _overdue(row: ContactWarmth) -> str:
    return "never touched" if row.status.overdue_days is None else f"{row.status.overdue_days}d"


def _holds_section(report: NetworkReport) -> str:
    if not report.holds:
        return '<section id="holds"><h2>Upcoming holds</h2><p>No upcoming holds.</p></section>'
    tz = report.tz
    rows: Iterable[str] = (
        f"<tr><td>{hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}–{hold.end.astimezone(tz):%H:%M}</td>"
        f"<td>{_text(hold.name)}</td></tr>"
        for hold in report.holds
    )
    return (
        '<section id="holds"><h2>Upcoming holds</h2><table><thead><tr><th>when</th><th>with</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )
