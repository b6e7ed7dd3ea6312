"""A fake Google (OAuth token endpoint, Calendar v3, Gmail v1, batch) on 127.0.0.1.

Use it with the real google-api-python-client:

    from tests.fakegoogle import FakeGoogle

    with FakeGoogle() as fake:
        creds = fake.credentials()        # Credentials(token=None, refresh_token=..., token_uri=ROOT+"token")
        cal = build("calendar", "v3", credentials=creds, static_discovery=True,
                    client_options={"api_endpoint": fake.root + "calendar/v3/"})
        gmail = build("gmail", "v1", credentials=creds, static_discovery=True,
                      client_options={"api_endpoint": fake.root})
        batch = BatchHttpRequest(batch_uri=fake.root + "batch/gmail/v1")

Or as a pytest fixture: `from tests.fakegoogle import fake_google` in a test
module (or a conftest) and take `fake_google` as an argument.

Public API (details in server.py):
  FakeGoogle(email="me@example.com", *, quota_units_per_second=250,
             calendar_units_per_second=None, quota_burst_seconds=1.0,
             rate_limit_status=429, retry_after=None|seconds|"auto",
             gmail_metadata_only=True, minimal_cancelled=True, freebusy_max_days=62,
             batch_limits={"gmail/v1": 100, "calendar/v3": 1000}, scopes=DEFAULT_SCOPES,
             now=callable, monotonic=callable)
  .root .port .start() .stop() context manager (seeding methods: seeding.py)
  schema:   every JSON answer is checked against the discovery documents shipped in
            google-api-python-client (schema.py); .schema_problems, .schema_checked;
            .stop() raises AssertionError when an answer drifted (check_schema=False: off)
  auth:     .authorized_user_info() .credentials() .calendar_service() .gmail_service()
            .revoke_refresh_token(expire_access_tokens=True) .new_refresh_token()
            .expire_access_tokens()
            .auth.issue_code(scopes=None) -> an authorization code for the
            installed-app flow's `grant_type=authorization_code` exchange at /token
  calendar: .add_calendar(id, summary=, time_zone=, primary=, access_role=, in_list=)
            .calendar_add_event(event, calendar_id="primary") -> stored event
            .calendar_update_event(id, changes) .calendar_delete_event(id)
            .calendar_add_exception(master_id, original_start, changes=None, cancelled=False)
            .calendar_get_event(id) .calendar_events(calendar_id, include_cancelled=True)
            .invalidate_sync_tokens() .calendar_snapshot() .calendar_restore(snapshot)
  gmail:    .gmail_add_message(headers, internal_date, labels=("INBOX",), thread_id=None) -> id
            .gmail_delete_message(id) .gmail_modify_labels(id, add=(), remove=())
            .expire_history(upto=None) .gmail_history_id
  limits:   .set_quota(units_per_second, api=None)
            .inject(rate=0.2, kinds=(...), seed=0, paths=(...), methods=None, delay=None, in_batch=True)
            .fail_next(n=1, kind="500", paths=(...), methods=None, in_batch=True) .clear_faults()
            kinds: 500 503 429 403rate, "reset" (dropped before acting), "lost" (acted,
            then dropped before answering), "delay" (fault_delay seconds, then answered)
  counters: .calls (Counter by API method, e.g. "gmail.users.messages.get") .units_used
            .count_429 .requests [(verb, path, query)]
            .log [dicts: method, path, query, api, status ("reset"/"lost" for drops), batch, body]
            .faults.log [(kind, api method, path)] .auth.issued (tokens handed out)
            .reset_counters()
  hooks:    .after_dispatch [callables hook(entry)], run after a request is answered and
            before the answer is sent (crash tests kill the client there)
"""

from __future__ import annotations

from .auth import DEFAULT_SCOPES
from .limits import FAULT_KINDS, GMAIL_UNITS
from .server import FakeGoogle

__all__ = ["FakeGoogle", "DEFAULT_SCOPES", "FAULT_KINDS", "GMAIL_UNITS", "fake_google"]

try:
    import pytest
except ImportError:  # pragma: no cover - the fake is usable without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def fake_google():
        """A started FakeGoogle, stopped after the test."""
        with FakeGoogle() as fake:
            yield fake
