"""Google API sessions for syncd: Calendar and Gmail services, per-thread HTTP, batches, retried calls.

One `GoogleSession` per account holds the credentials and builds the Calendar v3 and
Gmail v1 services from the discovery documents that ship inside
google-api-python-client (no network needed to build them).

Endpoints. `[sources.google] api_endpoint` is one root for both APIs (tests, proxies).
With `client_options={"api_endpoint": X}` the client *replaces* rootUrl + servicePath,
so Calendar gets `ROOT + "calendar/v3/"` and Gmail `ROOT`. `new_batch_http_request()`
ignores the endpoint, so batches are `BatchHttpRequest(batch_uri=ROOT + "batch/gmail/v1")`
(or `.../batch/calendar/v3`), built here.

Threads. httplib2 is not thread-safe: every thread gets its own `AuthorizedHttp` over
its own `httplib2.Http` (`session.http()`), and every request is executed with
`execute(http=session.http())`. Request objects themselves may be built anywhere.

Every call goes through `GoogleSession.call` (failures.py classifies, retry.py
decides). Once a call gave up because Google could not be reached at all, the session
fails further calls at once for `UNREACHABLE_HOLD` seconds: the other calendars, Gmail
and the hold sink of the same sync would only wait for the same refusal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from syncd.config_types import Config, GoogleConfig
from syncd.google.failures import GoogleApiError, Transient, api_label, classify
from syncd.google.retry import GaveUp, RetryPolicy, call_with_retry

GOOGLE_BATCH_URIS = {
    "gmail": "https://gmail.googleapis.com/batch/gmail/v1",
    "calendar": "https://www.googleapis.com/batch/calendar/v3",
}
API_VERSIONS = {"gmail": "v1", "calendar": "v3"}
# Gmail answers batches of more than 100 parts with 400 and rate-limits large ones;
# 50 is what Google recommends. Calendar allows 1000 but gains nothing past 50 here.
MAX_BATCH = 50
UNREACHABLE_HOLD = 30.0

T = TypeVar("T")


@dataclass
class BatchOutcome:
    """One HTTP batch: what succeeded, what failed for good, what is worth retrying."""

    ok: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, GoogleApiError] = field(default_factory=dict)
    retry: dict[str, Transient] = field(default_factory=dict)


class GoogleSession:
    """Credentials + services for one account; safe to share between threads."""

    def __init__(
        self,
        credentials: Any | Callable[[], Any],
        api_endpoint: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ):
        self._credentials_source = credentials
        self._credentials: Any = credentials if hasattr(credentials, "refresh") else None
        self.api_endpoint = api_endpoint.rstrip("/") + "/" if api_endpoint else None
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._services: dict[str, Any] = {}
        self._unreachable: tuple[float, str] | None = None  # (monotonic time, why) of the last refusal
        self.clock: Callable[[], float] = time.monotonic

    # credentials and transport ------------------------------------------------------

    @property
    def credentials(self) -> Any:
        """Loaded on first use, so building sources never needs the keyring or network."""
        if self._credentials is None:
            with self._lock:
                if self._credentials is None:
                    self._credentials = self._credentials_source()
        return self._credentials

    def http(self) -> Any:
        """This thread's authorised httplib2 connection (httplib2 is not thread-safe)."""
        current = getattr(self._local, "http", None)
        if current is None:
            import google_auth_httplib2
            import httplib2

            current = google_auth_httplib2.AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=self.timeout))
            self._local.http = current
        return current

    def ensure_token(self, api: str = "") -> None:
        """Refresh the access token now (once, before threads start), mapping failures."""
        from google_auth_httplib2 import Request

        credentials = self.credentials
        if credentials.valid:
            return

        def refresh() -> None:
            try:
                credentials.refresh(Request(self.http().http))
            except Exception as error:  # classify raises what is not transient
                raise classify(error, api) from None

        self.call(refresh, f"{api_label(api)} token refresh")

    def call(self, attempt: Callable[[], T], what: str, on_transient: Callable[[Transient], None] | None = None) -> T:
        """`attempt()` under the retry policy; fails at once while Google was just found unreachable."""
        refused = self._unreachable
        if refused is not None and self.clock() - refused[0] < UNREACHABLE_HOLD:
            raise GaveUp.recently(what, refused[1])
        try:
            result = call_with_retry(attempt, self.retry, what, on_transient)
        except GaveUp as error:
            if error.unreachable:
                self._unreachable = (self.clock(), error.description)
            raise
        self._unreachable = None
        return result

    # services -----------------------------------------------------------------------

    def service(self, api: str) -> Any:
        """The discovery-built service (`"calendar"` or `"gmail"`), built once."""
        with self._lock:
            built = self._services.get(api)
        if built is not None:
            return built
        from googleapiclient.discovery import build

        options = None
        if self.api_endpoint:
            options = {"api_endpoint": self.api_endpoint + ("calendar/v3/" if api == "calendar" else "")}
        built = build(
            api,
            API_VERSIONS[api],
            http=self.http(),
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )
        with self._lock:
            return self._services.setdefault(api, built)

    def calendar(self) -> Any:
        return self.service("calendar")

    def gmail(self) -> Any:
        return self.service("gmail")

    def batch_uri(self, api: str) -> str:
        if self.api_endpoint:
            return f"{self.api_endpoint}batch/{api}/{API_VERSIONS[api]}"
        return GOOGLE_BATCH_URIS[api]

    # single requests ---------------------------------------------------------------

    def execute_once(self, request: Any, api: str = "") -> Any:
        """One attempt; raises Transient, NeedsAuth or GoogleApiError."""
        try:
            return request.execute(http=self.http(), num_retries=0)
        except Exception as error:
            raise classify(error, api) from None

    def execute(self, request: Any, api: str = "", what: str = "") -> Any:
        """Execute with backoff on transient errors; bounded, then a one-line SourceError."""
        label = api_label(api) + (f" {what}" if what else "")
        return self.call(lambda: self.execute_once(request, api), label)

    # batches --------------------------------------------------------------------------

    def run_batch(self, api: str, items: Sequence[tuple[str, Any]]) -> BatchOutcome:
        """Send `items` (key, request) as one HTTP batch, once. A failure of the whole
        batch (network, 5xx, 429 on the batch itself) marks every item for retry."""
        from googleapiclient.errors import HttpError
        from googleapiclient.http import BatchHttpRequest

        outcome = BatchOutcome()
        if not items:
            return outcome
        if len(items) > MAX_BATCH * 2:
            raise ValueError(f"batch of {len(items)} parts is too large")

        def callback(key: str, response: Any, error: HttpError | None) -> None:
            if error is None:
                outcome.ok[key] = response
                return
            try:
                outcome.retry[key] = classify(error, api)
            except GoogleApiError as failure:
                outcome.failed[key] = failure

        batch = BatchHttpRequest(callback=callback, batch_uri=self.batch_uri(api))
        for key, request in items:
            batch.add(request, request_id=key)
        try:
            batch.execute(http=self.http())
        except Exception as error:
            transient = classify(error, api)  # raises NeedsAuth / GoogleApiError
            outcome.ok.clear()
            outcome.failed.clear()
            outcome.retry = {key: transient for key, _ in items}
        return outcome

    def batch(
        self,
        api: str,
        items: Iterable[tuple[str, Any]],
        chunk: int = MAX_BATCH,
        on_result: Callable[[str, Any], None] | None = None,
    ) -> dict[str, Any]:
        """Execute many requests in batches of `chunk`, retrying failed parts with backoff.

        Returns key → response, or key → GoogleApiError for parts that failed for good
        (e.g. 404). Raises SourceError when parts are still failing after the retry budget.
        """
        pending = list(items)
        results: dict[str, Any] = {}

        def send_pending() -> dict[str, Any]:
            nonlocal pending
            retry: list[tuple[str, Any]] = []
            hints: list[Transient] = []
            by_key = dict(pending)
            for start in range(0, len(pending), chunk):
                outcome = self.run_batch(api, pending[start : start + chunk])
                for key, value in outcome.ok.items():
                    results[key] = value
                    if on_result:
                        on_result(key, value)
                results.update(outcome.failed)
                retry.extend((key, by_key[key]) for key in outcome.retry)
                hints.extend(outcome.retry.values())
            pending = retry
            if hints:
                raise _worst(hints)
            return results

        return self.call(send_pending, api_label(api))


def _worst(hints: list[Transient]) -> Transient:
    """One Transient standing for a batch's failed parts: the longest Retry-After any part asked for."""
    retry_after = max((hint.retry_after for hint in hints if hint.retry_after is not None), default=None)
    first = hints[0]
    return Transient(
        first.description,
        retry_after,
        rate_limited=any(hint.rate_limited for hint in hints),
        unreachable=all(hint.unreachable for hint in hints),
    )


def session_for(config: Config, retry: RetryPolicy | None = None, google: GoogleConfig | None = None) -> GoogleSession:
    """The session for one Google account (`google`, default `[sources.google]`): credentials loaded lazily.

    One call never waits between its tries for longer than a quarter of `sync_every` in
    all (5 s at least): past that, the daemon's own per-source backoff takes over, and
    `status` says the source is failing instead of showing a sync that seems to hang.
    """
    from syncd.google.credentials import load_credentials

    if retry is None:
        quarter = config.daemon.sync_every.total_seconds() / 4
        retry = RetryPolicy(
            max_delay=min(RetryPolicy.max_delay, max(1.0, quarter)),
            max_total=min(RetryPolicy.max_total, max(5.0, quarter)),
        )
    account = google if google is not None else config.google
    return GoogleSession(lambda: load_credentials(account), account.api_endpoint, retry=retry)
