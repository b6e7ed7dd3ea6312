"""Gather the network report from the store for `syncd report` and the daemon's page refresh.

The store answers (statuses, touch times, holds), :mod:`syncd.network` decides what they
mean, the renderers draw. Writing the page goes through a temporary file and a rename,
so a browser reloading it never sees half a page.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from syncd.app import App
from syncd.cold import ContactStatus
from syncd.config_spec import TIERS
from syncd.planner import Skip
from syncd.private_file import write_private
from syncd.errors import SyncdError
from syncd.explain import blocked_facts
from syncd.health import problems
from syncd.holds import HoldOutcome, plan_holds
from syncd.network import (
    RHYTHM_WEEKS,
    NetworkReport,
    UpcomingHold,
    build_report,
    offset_schedule,
    rhythm,
    touches_by_week,
    week_starts,
    weeks_since,
)
from syncd.network_queries import (
    contact_week_counts,
    holds_gone_by,
    interaction_titles,
    meetings_by_week,
    meetings_with,
)
from syncd.report import ago
from syncd.report_html import render_html
from syncd.why import (
    BOOKED,
    HOLDS_DISABLED,
    HOW_TOUCHED,
    NO_FREE_SLOT,
    NOT_PLANNED_YET,
    SNOOZED,
    UNHEALTHY,
    HoldExplanation,
    HoldFacts,
    hold_explanation,
)

HOLD_WORDS = {
    HOLDS_DISABLED: "holds are disabled (or no [holds] sink is set)",
    UNHEALTHY: "holds are paused while a source is failing or stale",
    NO_FREE_SLOT: "no free slot in the windows",
    SNOOZED: "snoozed",
}


def network_report(app: App, statuses: list[ContactStatus] | None = None) -> NetworkReport:
    """The report as of `app.now`; `statuses` when the caller has them already (they cost a query)."""
    config, now, tz = app.config, app.now, app.config.tz
    statuses = app.statuses() if statuses is None else statuses
    names = {status.contact.id: status.contact.name for status in statuses}
    chart = week_starts(now, tz, weeks_since(now - config.sources.lookback, now, tz))
    recent = week_starts(now, tz, RHYTHM_WEEKS)
    offsets = offset_schedule(chart[0], now, tz)
    weekly = touches_by_week(contact_week_counts(app.store, chart[0], now, chart[0], offsets), len(chart))
    recent_offsets = offset_schedule(recent[0], now, tz)
    gone_by = holds_gone_by(app.store, recent[0], now)
    kept = rhythm(
        meetings_by_week(app.store, recent[0], now, recent[0], recent_offsets),
        meetings_with(app.store, (contact_id for contact_id, _ in gone_by), recent[0], now),
        gone_by,
        recent,
        tz,
        config.holds.per_week,
    )
    holds = [
        UpcomingHold(hold.contact_id, names.get(hold.contact_id, hold.contact_id), hold.start, hold.end)
        for hold in app.upcoming_holds()
    ]
    tier_order = sorted(TIERS, key=config.tier_cadence)
    return build_report(statuses, lambda s: app.tier_of(s.contact), tier_order, weekly, chart, kept, holds, now, tz)


def cold_reasons(
    app: App, report: NetworkReport, statuses: list[ContactStatus], planning: HoldOutcome | None = None
) -> dict[str, str]:
    """Why each cold contact is cold and whether a hold is coming, in the words of `syncd why`.

    The hold part is :func:`syncd.why.hold_explanation`, fed as :mod:`syncd.explain` feeds
    it, but with one dry planning run for every cold contact instead of one per contact;
    or, right after a planning run (the daemon), with that run's outcome.
    """
    tz = app.config.tz
    facts = _hold_facts(app, report, statuses, planning)
    keys = [(t.source, t.item_id) for row in report.cold if (t := row.status.last_touch) and t.source and t.item_id]
    titles = interaction_titles(app.store, keys)
    reasons = {}
    for row in report.cold:
        touch, status = row.status.last_touch, row.status
        if touch is None:
            said = "no meeting, direct mail or logged touch counted in the look-back"
        else:
            what = HOW_TOUCHED.get(touch.kind, touch.kind)
            title = titles.get((touch.source, touch.item_id or "")) if touch.source else touch.note
            said = f"last {what} {touch.at.astimezone(tz):%Y-%m-%d}" + (f" ({title})" if title else "")
            said += f", {ago(touch.at, app.now)}; cadence {status.cadence_days}d"
        hold = hold_explanation(status, facts[status.contact.id])
        reasons[status.contact.id] = f"{said}; {_hold_words(hold, tz)}"
    return reasons


def _hold_facts(
    app: App, report: NetworkReport, statuses: list[ContactStatus], planning: HoldOutcome | None
) -> dict[str, HoldFacts]:
    """`syncd.explain.hold_facts` for every cold contact at once; a dry run plans with the statuses in hand."""
    booked: dict[str, tuple[datetime, datetime]] = {}
    for hold in report.holds:
        booked.setdefault(hold.contact_id, (hold.start, hold.end))
    facts = {row.status.contact.id: HoldFacts(booked=booked.get(row.status.contact.id)) for row in report.cold}
    # whom the planner must be asked about: not booked, not snoozed (the snooze is their reason)
    waiting = [
        row.status.contact.id for row in report.cold if row.status.contact.id not in booked and not row.status.snoozed
    ]
    if not waiting:
        return facts
    outcome = planning
    if outcome is None and app.missing_sink() is None:
        outcome = plan_holds(app.config, app.store, lambda: statuses, problems(app.health()), app.now, dry_run=True)
    if outcome is None or outcome.blocked is not None or outcome.plan is None:
        facts.update(dict.fromkeys(waiting, blocked_facts(app)))
        return facts
    skips: dict[str, Skip] = {}
    for skip in outcome.plan.skipped:
        skips.setdefault(skip.contact_id, skip)
    planned = {hold.contact_id: (hold.start, hold.end) for hold in outcome.plan.create}
    facts.update(
        {contact_id: HoldFacts(skip=skips.get(contact_id), planned=planned.get(contact_id)) for contact_id in waiting}
    )
    return facts


def _hold_words(hold: HoldExplanation, tz: tzinfo) -> str:
    if hold.state == BOOKED and hold.start is not None:
        return f"hold booked {hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}"
    if hold.reason == NOT_PLANNED_YET and hold.start is not None:
        return f"no hold yet: the next planning run books {hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}"
    words = HOLD_WORDS.get(hold.reason or "", (hold.reason or "").replace("_", " "))
    return f"no hold: {hold.detail or words}"


def render_page(app: App, planning: HoldOutcome | None = None) -> tuple[str, NetworkReport]:
    """The page, and the report it shows (for `--json` beside `--html`, so it is built once).

    `planning` is the outcome of a planning run just made (else a dry run explains missing holds).
    """
    statuses = app.statuses()
    report = network_report(app, statuses)
    return render_html(report, cold_reasons(app, report, statuses, planning)), report


def write_page(app: App, path: Path, planning: HoldOutcome | None = None) -> tuple[int, NetworkReport]:
    """Write the HTML report to `path` atomically; returns its size in bytes and the report.

    A place it cannot write is a :class:`SyncdError` naming the file: one line for the CLI
    (exit 1) and for the daemon's log.
    """
    text, report = render_page(app, planning)
    page = text.encode("utf-8")
    try:
        write_private(Path(path), page)
    except OSError as error:
        raise SyncdError(f"{path}: cannot write the report page there ({error.strerror or error})") from None
    return len(page), report
