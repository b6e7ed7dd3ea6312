"""Gather the network report from the store for `syncd report` and the daemon's page refresh.

The store answers (statuses, touch times, holds), :mod:`syncd.network` decides what they
mean, the renderers draw. Writing the page goes through a temporary file and a rename,
so a browser reloading it never sees half a page.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from syncd.app import App
from syncd.config_spec import TIERS
from syncd.network import (
    RHYTHM_WEEKS,
    ContactWarmth,
    NetworkReport,
    UpcomingHold,
    build_report,
    rhythm,
    touches_by_week,
    week_starts,
    weeks_since,
)
from syncd.network_queries import contact_meetings, contact_touch_times, holds_gone_by
from syncd.report import ago
from syncd.report_html import render_html


def network_report(app: App) -> NetworkReport:
    config, now, tz = app.config, app.now, app.config.tz
    statuses = app.statuses()
    names = {status.contact.id: status.contact.name for status in statuses}
    chart = week_starts(now, tz, weeks_since(now - config.sources.lookback, now, tz))
    recent = week_starts(now, tz, RHYTHM_WEEKS)
    weekly = touches_by_week(contact_touch_times(app.store, chart[0] - timedelta(seconds=1), now), chart, tz)
    since = recent[0] - timedelta(seconds=1)
    kept = rhythm(
        contact_meetings(app.store, since, now), holds_gone_by(app.store, since, now), recent, tz, config.holds.per_week
    )
    holds = [
        UpcomingHold(hold.contact_id, names.get(hold.contact_id, hold.contact_id), hold.start, hold.end)
        for hold in app.upcoming_holds()
    ]
    tier_order = sorted(TIERS, key=config.tier_cadence)
    return build_report(statuses, lambda s: app.tier_of(s.contact), tier_order, weekly, chart, kept, holds, now, tz)


def cold_reasons(app: App, report: NetworkReport) -> dict[str, str]:
    """Why each cold contact is cold and what syncd does about it, as `contacts show` tells it."""
    return {row.status.contact.id: _reason(app, row) for row in report.cold}


def _reason(app: App, row: ContactWarmth) -> str:
    tz, status = app.config.tz, row.status
    touch = status.last_touch
    if touch is None:
        said = "no meeting or direct mail with them found in the look-back"
    else:
        what = {"meeting": "met", "email": "exchanged mail", "manual": "logged by hand"}.get(touch.kind, touch.kind)
        record = app.store.interaction(touch.source, touch.item_id) if touch.source and touch.item_id else None
        title = (getattr(record, "title", None) or getattr(record, "subject", None)) if record else touch.note
        detail = f" ({title})" if title else ""
        said = f"last {what} {touch.at.astimezone(tz):%Y-%m-%d}{detail}, {ago(touch.at, app.now)}"
        said += f"; cadence {status.cadence_days}d, {status.overdue_days}d overdue"
    return f"{said}; {_hold_state(app, row)}"


def _hold_state(app: App, row: ContactWarmth) -> str:
    contact = row.status.contact
    if row.hold_start is not None:
        return f"hold booked {row.hold_start.astimezone(app.config.tz):%a %Y-%m-%d %H:%M}"
    if row.status.snoozed and contact.snoozed_until is not None:
        return f"no hold: snoozed until {contact.snoozed_until.astimezone(app.config.tz):%Y-%m-%d}"
    if not app.config.holds.enabled:
        return "no hold: holds are turned off"
    if not app.config.hold_sink:
        return "no hold: no [holds] sink is set"
    return "no hold yet: the next planning books one if a free slot and the limits allow"


def render_page(app: App) -> str:
    report = network_report(app)
    return render_html(report, cold_reasons(app, report))


def write_page(app: App, path: Path) -> int:
    """Write the HTML report to `path` atomically; returns its size in bytes."""
    page = render_page(app).encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(page)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(page)
