"""Google plumbing shared by the Google sources and the Google hold sink.

- `credentials`: where the OAuth token lives (OS keyring, or a 0600 `token_file`).
- `client`: Calendar/Gmail services for an `api_endpoint` root, batches, per-thread HTTP.
- `failures` and `retry`: how a failed call is classified, and the one retry rule
  (backoff with jitter, Retry-After, bounded; fail fast when Google is unreachable).
- `pacing`, `gmail_fetch`, `gmail_listing`: Gmail at the quota ceiling (its progress line is
  `syncd.sources.progress`, shared with the other sources).
- `event_time`: Calendar's times, read and written in one place.
- `auth`: `syncd auth`, the installed-app OAuth flow.
"""

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
# The narrowest scopes that work (DESIGN.md "Scopes"): headers only for Gmail, event
# read/write for Calendar (read events, write holds), free/busy for hold planning.
SCOPES = (
    SCOPE_PREFIX + "gmail.metadata",
    SCOPE_PREFIX + "calendar.events",
    SCOPE_PREFIX + "calendar.freebusy",
)
