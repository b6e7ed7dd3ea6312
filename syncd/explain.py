"""Gathers what `why` explains: the contact's interactions judged by the rules in force, and its hold.

:mod:`syncd.why` decides what to say; this module reads the store, re-judges each stored
interaction that names the contact with :func:`syncd.touches.judge` and the same rules
the store derived its touches with, and asks the planner (a dry run, which writes
nothing) why a cold contact got no hold.
"""

from __future__ import annotations

from syncd.app import App
from syncd.cold import ContactStatus, contact_status, statuses
from syncd.contacts_store import interactions_with, last_touches, list_contacts
from syncd.models import Contact, LastTouch
from syncd.records import Record
from syncd.rules import touch_rules
from syncd.touches import judge
from syncd.why import (
    HOLDS_DISABLED,
    UNHEALTHY,
    HoldFacts,
    JudgedInteraction,
    LastTouchShown,
    Why,
    explain,
    record_title,
)


def all_statuses(app: App) -> list[ContactStatus]:
    """Every contact's status, archived ones included (`contacts list --all`, `why`, `contacts show`)."""
    contacts = list_contacts(app.store, include_archived=True)
    return statuses(contacts, app.cadence_of, last_touches(app.store, app.now), app.now)


def status_of(app: App, contact: Contact) -> ContactStatus:
    """One contact's status, archived or not, without listing every contact again (the caller has resolved it)."""
    touch = last_touches(app.store, app.now).get(contact.id)
    return contact_status(contact, app.cadence_of(contact), touch, app.now)


def explain_contact(app: App, contact: Contact) -> Why:
    """Everything `why CONTACT` shows, for a listed or an archived contact."""
    status = status_of(app, contact)
    rules = touch_rules(app.config, app.store)
    judged = [
        JudgedInteraction(source, record, judge(record, rules))
        for source, record in interactions_with(app.store, contact.emails)
    ]
    return explain(status, _shown(app, status.last_touch), judged, hold_facts(app, status), app.now)


def hold_facts(app: App, status: ContactStatus) -> HoldFacts:
    """The booked hold, or what planning now would say (only asked when nothing simpler explains it)."""
    contact = status.contact
    booked = next(((hold.start, hold.end) for hold in app.upcoming_holds() if hold.contact_id == contact.id), None)
    if booked is not None or contact.archived_at or contact.ignore or not status.cold or status.snoozed:
        return HoldFacts(booked=booked)
    outcome = app.plan_holds(dry_run=True)
    if outcome.blocked is not None:
        return blocked_facts(app)
    assert outcome.plan is not None
    skip = next((item for item in outcome.plan.skipped if item.contact_id == contact.id), None)
    planned = next(((hold.start, hold.end) for hold in outcome.plan.create if hold.contact_id == contact.id), None)
    return HoldFacts(skip=skip, planned=planned)


def blocked_facts(app: App) -> HoldFacts:
    """Planning refused to run: the user turned holds off (or named no sink), or the data is not to be trusted."""
    disabled = not app.config.holds.enabled or app.missing_sink() is not None
    return HoldFacts(blocked=HOLDS_DISABLED if disabled else UNHEALTHY)


def _shown(app: App, touch: LastTouch | None) -> LastTouchShown | None:
    if touch is None:
        return None
    record: Record | None = None
    if touch.source is not None and touch.item_id is not None:
        record = app.store.interaction(touch.source, touch.item_id)
    title = record_title(record) if record is not None else (touch.note or None)
    return LastTouchShown(touch.at, touch.kind, touch.source, title)
