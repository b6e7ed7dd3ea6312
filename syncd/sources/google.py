"""The Google sources of `[sources.google]`: one per configured calendar, plus Gmail.

Building them touches neither the network nor (unless the account must be looked up
for Gmail's name) the credential store, and never fails: missing or revoked credentials
surface when a source syncs, as state `needs_auth`, so `status` always works.
All sources of the account share one `GoogleSession` (one token refresh per process).
"""

from __future__ import annotations

from typing import Any

from syncd.google.client import GoogleSession, RetryPolicy, session_for
from syncd.google.credentials import known_account
from syncd.sources.base import Source
from syncd.sources.gmail import GmailSource
from syncd.sources.google_calendar import GoogleCalendarSource


def google_sources(
    config: Any, *, retry: RetryPolicy | None = None, session: GoogleSession | None = None
) -> list[Source]:
    """`google_calendar:<id>` for each of `calendars`, then `gmail:<account>` when `gmail = true`."""
    google = config.google
    session = session or session_for(config, retry)
    sources: list[Source] = [GoogleCalendarSource(session, calendar_id) for calendar_id in google.calendars or []]
    if google.gmail:
        sources.append(GmailSource(session, known_account(config)))
    return sources
