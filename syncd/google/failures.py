"""How a failed Google call is classified: retry it, give up at once, or re-authorise.

syncd's three classes of failure:
  * needs re-auth — `invalid_grant` (revoked/expired refresh token), a 401 that survives
    the library's refresh-and-retry, a token without a needed scope → `NeedsAuth`;
  * transient — 429, 403 `rateLimitExceeded`/`userRateLimitExceeded`, 5xx, connection
    errors, timeouts → a `Transient` the retry helper backs off on (honouring
    `Retry-After`). A host that refuses the connection or cannot be resolved is
    `unreachable`: retrying for minutes would only delay the local sources, so the
    retry helper gives up on it after a few quick tries;
  * anything else → `GoogleApiError` (a `SourceError` carrying `status` and `reason`)
    that callers inspect (Calendar 410 → resync, Gmail history 404 → resync, 404 on a
    message that vanished → skip).
Messages never carry tokens or addresses (Google's error texts may name the account,
so they are reduced to status and reason).
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import json
from collections.abc import Callable
from datetime import UTC
from typing import Any
import time

from syncd.errors import NeedsAuth, SourceError

API_LABELS = {"gmail": "Gmail", "calendar": "Google Calendar"}
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RESOURCE_EXHAUSTED"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
UNREACHABLE_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})


def api_label(api: str) -> str:
    """The API as messages name it ("Gmail", "Google Calendar"; "Google" when unknown)."""
    return API_LABELS.get(api, "Google")


class GoogleApiError(SourceError):
    """A definite (non-transient) answer from a Google API."""

    def __init__(self, message: str, status: int, reason: str):
        super().__init__(message)
        self.status = status
        self.reason = reason


class Transient(Exception):
    """Worth retrying; `retry_after` is the server's hint in seconds, if it gave one."""

    def __init__(
        self,
        description: str,
        retry_after: float | None = None,
        rate_limited: bool = False,
        unreachable: bool = False,
    ):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.unreachable = unreachable


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
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) > 1 and isinstance(args[1], dict) and args[1].get("error"):
        return str(args[1]["error"])
    text = str(args[0]) if args else ""
    return text.split(":", 1)[0].strip() if ":" in text else "refresh failed"


def unreachable_reason(error: BaseException) -> str | None:
    """Why no server answers at all ("connection refused", ...), looking down the cause chain; None if one does.

    google-auth wraps transport errors of the token endpoint, so the chain is walked.
    """
    import httplib2

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, httplib2.ServerNotFoundError):
            return "host not found"
        if isinstance(current, OSError) and current.errno in UNREACHABLE_ERRNOS:
            return current.strerror.lower() if current.strerror else "unreachable"
        current = current.__cause__ or current.__context__
    return None


def classify(error: BaseException, api: str = "") -> Transient:
    """Return a Transient for errors worth retrying; raise syncd's error for the rest."""
    import google.auth.exceptions
    import httplib2
    from googleapiclient.errors import BatchError, HttpError

    label = api_label(api)
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
    unreachable = unreachable_reason(error)
    if unreachable:
        return Transient(f"cannot connect ({unreachable})", unreachable=True)
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
