"""The Google sources of each Google account: one per configured calendar, plus Gmail.

Building them touches neither the network nor (unless the account must be looked up
for Gmail's name) the credential store, and never fails: missing or revoked credentials
surface when a source syncs, as state `needs_auth`, so `status` always works.
All sources of one account share one `GoogleSession` (one token refresh per process).
With several `[[sources.google]]` accounts a calendar's name carries its account,
`google_calendar:ADDRESS/CALENDAR_ID`; with one it stays `google_calendar:CALENDAR_ID`.
"""

from __future__ import annotations

from syncd.config_types import Config
from syncd.google.accounts import google_accounts, several_accounts
from syncd.google.client import GoogleSession, session_for
from syncd.google.credentials import known_account
from syncd.google.retry import RetryPolicy
from syncd.sources.base import Source
from syncd.sources.gmail import GmailSource
from syncd.sources.google_calendar import GoogleCalendarSource


def google_sources(
    config: Config, *, retry: RetryPolicy | None = None, session: GoogleSession | None = None
) -> list[Source]:
    """Per enabled account: `google_calendar:` for each of `calendars`, then `gmail:ADDRESS` when `gmail = true`.

    `session` (tests) serves every account; otherwise each account gets its own.
    """
    sources: list[Source] = []
    prefixed = several_accounts(config)
    for google in google_accounts(config):
        account_session = session or session_for(config, retry, google)
        prefix = f"{google.account}/" if prefixed else ""
        sources += [
            GoogleCalendarSource(account_session, calendar_id, name=f"google_calendar:{prefix}{calendar_id}")
            for calendar_id in google.calendars or []
        ]
        if google.gmail:
            sources.append(GmailSource(account_session, known_account(google)))
    return sources
