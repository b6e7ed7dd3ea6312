"""Google API access for syncd: services, batches, retries, and error mapping.

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

Errors, in syncd's three classes:
  * needs re-auth — `invalid_grant` (revoked/expired refresh token), a 401 that survives
    the library's refresh-and-retry, a token without a needed scope → `NeedsAuth`;
  * transient — 429, 403 `rateLimitExceeded`/`userRateLimitExceeded`, 5xx, connection
    errors, timeouts → retried with exponential backoff and full jitter, honouring
    `Retry-After`; after `RetryPolicy.attempts` tries → `SourceError` (one line);
  * anything else → `GoogleApiError` (a `SourceError` carrying `status` and `reason`)
    that callers inspect (Calendar 410 → resync, Gmail history 404 → resync, 404 on a
    message that vanished → skip).
The client's own retries are not used (`num_retries=0`): they ignore `Retry-After`, and
batch parts are never retried by the client at all, so `batch()` retries them here.
Messages never carry tokens or addresses (Google's error texts may name the account,
so they are reduced to status and reason).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any
from collections.abc import Callable, Iterable, Sequence

from syncd.errors import NeedsAuth, SourceError

log = logging.getLogger("syncd.google")

GOOGLE_BATCH_URIS = {
    "gmail": "https://gmail.googleapis.com/batch/gmail/v1",
    "calendar": "https://www.googleapis.com/batch/calendar/v3",
}
API_VERSIONS = {"gmail": "v1", "calendar": "v3"}
API_LABELS = {"gmail": "Gmail", "calendar": "Google Calendar"}
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RESOURCE_EXHAUSTED"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
# Gmail answers batches of more than 100 parts with 400 and rate-limits large ones;
# 50 is what Google recommends. Calendar allows 1000 but gains nothing past 50 here.
MAX_BATCH = 50


# --- retry policy ------------------------------------------------------------------


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, never shorter than a server's Retry-After."""

    attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 64.0
    sleep: Callable[[float], None] = time.sleep
    random: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before retry number `attempt + 1` (attempt counts from 0)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        wait = self.random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


# --- errors --------------------------------------------------------------------------


class GoogleApiError(SourceError):
    """A definite (non-transient) answer from a Google API."""

    def __init__(self, message: str, status: int, reason: str):
        super().__init__(message)
        self.status = status
        self.reason = reason


class Transient(Exception):
    """Worth retrying; `retry_after` is the server's hint in seconds, if it gave one."""

    def __init__(self, description: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after
        self.rate_limited = rate_limited


def _http_error_details(error: Any) -> tuple[int, str]:
    status = int(getattr(error.resp, "status", 0) or 0)
    reason = ""
    try:
        data = json.loads(error.content.decode("utf-8") if isinstance(error.content, bytes) else error.content)
        body = data.get("error") if isinstance(data, dict) else None
        if isinstance(body, dict):
            items = body.get("errors") or []
            if items and isinstance(items[0], dict):
                reason = str(items[0].get("reason") or "")
            for detail in body.get("details") or []:
                if isinstance(detail, dict) and detail.get("reason") and not reason:
                    reason = str(detail["reason"])
            reason = reason or str(body.get("status") or "")
        elif isinstance(data, dict) and isinstance(data.get("error"), str):
            reason = data["error"]
    except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
        pass
    return status, reason


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or garbage."""
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


def _refresh_error_code(error: Exception) -> str:
    args = getattr(error, "args", ())
    if len(args) > 1 and isinstance(args[1], dict) and args[1].get("error"):
        return str(args[1]["error"])
    text = str(args[0]) if args else ""
    return text.split(":", 1)[0].strip() if ":" in text else "refresh failed"


def classify(error: BaseException, api: str = "") -> Transient:
    """Return a Transient for errors worth retrying; raise syncd's error for the rest."""
    import google.auth.exceptions
    import httplib2
    from googleapiclient.errors import BatchError, HttpError

    label = API_LABELS.get(api, "Google")
    if isinstance(error, HttpError):
        status, reason = _http_error_details(error)
        if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
            hint = parse_retry_after(error.resp.get("retry-after"))
            return Transient(f"{status} {reason or 'rate limited'}", hint, rate_limited=True)
        if status >= 500 or status == 408:
            return Transient(f"{status} {reason or 'server error'}", parse_retry_after(error.resp.get("retry-after")))
        if status == 401:
            raise NeedsAuth(f"{label} rejected the authorization even after refreshing it (401); run `syncd auth`")
        if status == 403 and reason in SCOPE_REASONS:
            raise NeedsAuth(f"the Google authorization lacks a permission {label} needs ({reason}); run `syncd auth`")
        raise GoogleApiError(f"{label} answered {status} {reason or 'error'}", status, reason)
    if isinstance(error, google.auth.exceptions.RefreshError):
        if getattr(error, "retryable", False):
            return Transient("token refresh failed temporarily")
        code = _refresh_error_code(error)
        if code == "invalid_grant":
            raise NeedsAuth(
                "Google refused the saved authorization (invalid_grant: revoked or expired); run `syncd auth`"
            )
        raise NeedsAuth(f"Google refused to refresh the authorization ({code}); run `syncd auth`")
    if isinstance(error, google.auth.exceptions.TransportError):
        return Transient("cannot reach the Google token endpoint")
    if isinstance(error, (httplib2.HttpLib2Error, http.client.HTTPException, OSError, BatchError)):
        return Transient(f"network error ({type(error).__name__})")
    raise error


# --- adaptive pacing -----------------------------------------------------------------


class AdaptiveRate:
    """A client-side pacer that finds and holds a per-user quota ceiling.

    Callers `acquire(units)` before sending work worth that many quota units; a caller
    may go when the bucket is not in deficit, and its units are then taken (the bucket
    may go negative), so the long-run rate is `rate` whatever the request sizes. The
    rate starts at `initial` units/s (Gmail's documented per-user limit is 250) and
    doubles every `probe_seconds` while nothing is rate-limited (slow start), then grows
    by `growth` per probe period. A 429 in the first `window` seconds halves the rate;
    later, a 429 sets the rate to what the server actually
    *accepted* over the last `window` seconds — at saturation that is the server's
    refill rate, i.e. the ceiling — so the pacer sits at the ceiling instead of sawing
    far below it as halving (AIMD) would. It never drops below half the highest rate the
    server has accepted during this run (`peak`, measured every probe period): 429s that
    are not about the rate (another app of the user eating the quota, a flaky proxy)
    must not spiral the pace down to a crawl while the server keeps accepting. A
    Retry-After pauses everyone until it has passed. Thread-safe; waiting callers see
    rate changes at once.
    """

    def __init__(
        self,
        initial: float = 250.0,
        *,
        minimum: float = 25.0,
        maximum: float = 1e6,
        window: float = 2.0,
        probe_seconds: float = 0.5,
        growth: float = 0.03,
        burst_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = float(initial)
        self.minimum = minimum
        self.maximum = maximum
        self.window = window
        self.probe_seconds = probe_seconds
        self.growth = growth
        self.burst_seconds = burst_seconds
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        now = clock()
        self.tokens = 0.0
        self.last_fill = now
        self.paused_until = 0.0
        self.slow_start = True
        self.accepted: list[tuple[float, float]] = []  # (time, units) of accepted work
        self.last_limited = -1e9
        self.last_probe = now
        self.started = now
        self.limited_events = 0
        self.peak = 0.0

    def acquire(self, units: float) -> None:
        while True:
            with self.lock:
                now = self.clock()
                self._probe(now)
                self.tokens = min(self.rate * self.burst_seconds, self.tokens + (now - self.last_fill) * self.rate)
                self.last_fill = now
                if now >= self.paused_until and self.tokens >= 0:
                    self.tokens -= units
                    return
                wait = max(self.paused_until - now, -self.tokens / self.rate)
            self.sleep(min(max(wait, 0.001), 0.05))

    def _measured(self, now: float) -> float:
        """Units/s the server accepted over the last `window` seconds (or since the start)."""
        span = min(self.window, max(now - self.started, 1e-3))
        return sum(units for at, units in self.accepted if at >= now - span) / span

    def _probe(self, now: float) -> None:
        if now - self.last_probe < self.probe_seconds:
            return
        self.last_probe = now
        if now - self.started >= self.window:
            self.peak = max(self.peak, self._measured(now))
        if now - self.last_limited < self.window:
            return
        factor = 2.0 if self.slow_start else 1.0 + self.growth
        self.rate = min(self.maximum, self.rate * factor)

    def accepted_units(self, units: float) -> None:
        with self.lock:
            now = self.clock()
            self.accepted.append((now, units))
            horizon = now - self.window * 2
            if len(self.accepted) > 256 and self.accepted[0][0] < horizon:
                self.accepted = [item for item in self.accepted if item[0] >= horizon]

    def limited(self, retry_after: float | None = None) -> None:
        """A request was rate-limited: fall back to the measured accepted rate."""
        with self.lock:
            now = self.clock()
            if retry_after:
                self.paused_until = max(self.paused_until, now + retry_after)
            if now - self.last_limited < self.window / 2:
                return  # one adjustment per burst of 429s
            self.limited_events += 1
            self.last_limited = now
            self.slow_start = False
            if now - self.started < self.window:
                # Too early to measure anything but latency: just halve.
                self.rate = max(self.minimum, self.rate * 0.5)
                return
            measured = self._measured(now)
            self.rate = max(self.minimum, self.peak / 2, min(self.rate * 0.95, measured or self.rate * 0.5))


# --- the session ---------------------------------------------------------------------


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
        for attempt in range(self.retry.attempts):
            try:
                credentials.refresh(Request(self.http().http))
                return
            except Exception as error:  # classify raises what is not transient
                transient = classify(error, api)
                if attempt + 1 >= self.retry.attempts:
                    raise SourceError(
                        f"{API_LABELS.get(api, 'Google')}: {transient.description}, still failing after {self.retry.attempts} attempts"
                    ) from None
                self.retry.sleep(self.retry.delay(attempt, transient.retry_after))

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
        """Execute with backoff on transient errors; bounded, then SourceError."""
        label = API_LABELS.get(api, "Google")
        for attempt in range(self.retry.attempts):
            try:
                return self.execute_once(request, api)
            except Transient as transient:
                if attempt + 1 >= self.retry.attempts:
                    raise SourceError(
                        f"{label}{' ' + what if what else ''}: {transient.description}, still failing after {self.retry.attempts} attempts"
                    ) from None
                wait = self.retry.delay(attempt, transient.retry_after)
                log.debug("%s: %s; retrying in %.1fs", label, transient.description, wait)
                self.retry.sleep(wait)
        raise AssertionError("unreachable")

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
        label = API_LABELS.get(api, "Google")
        attempt = 0
        while pending:
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
            if not retry:
                break
            if attempt + 1 >= self.retry.attempts:
                raise SourceError(
                    f"{label}: {hints[0].description}, still failing after {self.retry.attempts} attempts"
                )
            retry_after = max((hint.retry_after for hint in hints if hint.retry_after is not None), default=None)
            self.retry.sleep(self.retry.delay(attempt, retry_after))
            attempt += 1
            pending = retry
        return results


def session_for(config: Any, retry: RetryPolicy | None = None) -> GoogleSession:
    """The session for `[sources.google]`: credentials loaded lazily from the store.

    One call never backs off for longer than a quarter of `sync_every`: past that, the
    daemon's own per-source backoff takes over, and `status` says the source is failing
    instead of showing a sync that seems to hang.
    """
    from syncd.google.credentials import load_credentials

    if retry is None:
        cycle = config.daemon.sync_every.total_seconds()
        retry = RetryPolicy(max_delay=min(RetryPolicy.max_delay, max(1.0, cycle / 4)))
    return GoogleSession(lambda: load_credentials(config), config.google.api_endpoint, retry=retry)


def utc_now() -> datetime:
    return datetime.now(UTC)
