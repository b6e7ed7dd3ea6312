"""Google-style error bodies and the exception handlers raise to produce them.

Google APIs answer errors with one JSON shape (``{"error": {"code", "message",
"errors": [{"domain", "reason", "message"}], "status"}}``); googleapiclient's
``HttpError`` parses ``reason`` out of it and syncd's retry logic reads it, so
the fake must produce exactly that shape, never a bare status.
"""

from __future__ import annotations

import json

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "GONE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(code: int, message: str, reason: str, domain: str = "global", **extra) -> dict:
    """The JSON body Google sends with an error status."""
    item = {"domain": domain, "reason": reason, "message": message}
    item.update(extra)
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [item],
            "status": STATUS_NAMES.get(code, "UNKNOWN"),
        }
    }


class ApiError(Exception):
    """Raised by a handler to answer with a Google-style error."""

    def __init__(
        self, code: int, message: str, reason: str, domain: str = "global", headers: dict | None = None, **extra
    ):
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.body = error_body(code, message, reason, domain, **extra)
        self.headers = headers or {}


def bad_request(message: str, reason: str = "invalid", domain: str = "global") -> ApiError:
    return ApiError(400, message, reason, domain)


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message, "notFound")


def rate_limited(status: int = 429, retry_after: float | None = None) -> ApiError:
    """What Google answers when the per-user quota is exhausted."""
    headers = {"Retry-After": str(int(retry_after + 0.999))} if retry_after else {}
    if status == 403:
        return ApiError(403, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits", headers=headers)
    return ApiError(
        429,
        "Too many requests. Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
        "rateLimitExceeded",
        "usageLimits",
        headers=headers,
    )


def server_error(status: int) -> ApiError:
    if status == 503:
        return ApiError(503, "The service is currently unavailable.", "backendError")
    return ApiError(500, "Backend Error", "backendError")


UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        UNAUTHENTICATED,
        "authError",
        location="Authorization",
        locationType="header",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
    )


class Response:
    """A handler's answer: status, JSON-able body (or bytes), extra headers."""

    def __init__(self, status: int = 200, body=None, headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, indent=1).encode()

    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json; charset=UTF-8")

    @classmethod
    def from_error(cls, err: ApiError) -> Response:
        return cls(err.code, err.body, err.headers)
