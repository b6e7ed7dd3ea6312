"""OAuth token endpoint and bearer-token checks.

Why: syncd must survive an expired access token (refresh and retry) and a
revoked refresh token (`invalid_grant`: mark the source "needs re-auth", never
crash-loop). google-auth parses `/token` answers itself, so the fake answers
with Google's exact field names and error codes.
"""

from __future__ import annotations

import base64
import secrets
import threading
from urllib.parse import parse_qs, unquote_plus

from .errors import ApiError, Response, unauthenticated

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DEFAULT_SCOPES = tuple(
    SCOPE_PREFIX + s
    for s in ("gmail.metadata", "calendar.events", "calendar.freebusy", "calendar.calendarlist.readonly")
)

# Which granted scopes let a method through (any one suffices).
_READ_EVENTS = {"calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly"}
_SCOPES_FOR = [
    ("calendar.events.list", _READ_EVENTS),
    ("calendar.events.get", _READ_EVENTS),
    ("calendar.events.", {"calendar", "calendar.events"}),
    ("calendar.freebusy.", {"calendar", "calendar.readonly", "calendar.freebusy", "calendar.events.freebusy"}),
    (
        "calendar.calendarList.",
        {"calendar", "calendar.readonly", "calendar.calendarlist", "calendar.calendarlist.readonly"},
    ),
    ("gmail.", {"gmail.metadata", "gmail.readonly", "gmail.modify", "https://mail.google.com/"}),
]


class Auth:
    def __init__(self, scopes):
        self.lock = threading.Lock()
        self.client_id = "fake-client-id.apps.googleusercontent.com"
        self.client_secret = "fake-client-secret"
        self.scopes = tuple(scopes) if scopes is not None else None
        self.refresh_token = ""
        self.revoked: set[str] = set()
        self.access_tokens: set[str] = set()
        self.issued = 0
        self.codes: dict[str, tuple[str, ...]] = {}
        self.new_refresh_token()

    def new_refresh_token(self) -> str:
        with self.lock:
            self.refresh_token = "1//fake-refresh-" + secrets.token_hex(8)
            return self.refresh_token

    def revoke_refresh_token(self, expire_access_tokens: bool = True) -> None:
        with self.lock:
            self.revoked.add(self.refresh_token)
            if expire_access_tokens:
                self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def issue_code(self, scopes=None) -> str:
        """An authorization code, as Google's consent page would hand to the redirect URI.

        `scopes`: what the user granted (default: the fake's scopes); the code exchange
        answers with them, as Google does after granular consent.
        """
        with self.lock:
            code = "4/fake-code-" + secrets.token_hex(8)
            self.codes[code] = tuple(scopes) if scopes is not None else tuple(self.scopes or ())
            return code

    def _exchange_code(self, form: dict) -> Response:
        with self.lock:
            scopes = self.codes.pop(form.get("code", ""), None)
            if scopes is None:
                return Response(400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
            self.refresh_token = "1//fake-refresh-" + secrets.token_hex(8)
            self.issued += 1
            access = f"ya29.fake-{self.issued}-{secrets.token_hex(6)}"
            self.access_tokens.add(access)
            refresh = self.refresh_token
        return Response(
            200,
            {
                "access_token": access,
                "expires_in": 3600,
                "token_type": "Bearer",
                "refresh_token": refresh,
                "scope": " ".join(scopes),
            },
        )

    def token_endpoint(self, body: bytes, authorization: str | None = None) -> Response:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic" and "client_id" not in form:
            # RFC 6749 client_secret_basic, as requests-oauthlib sends it (Google accepts both).
            try:
                client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                client_id = client_secret = ""
            form["client_id"], form["client_secret"] = unquote_plus(client_id), unquote_plus(client_secret)
        if form.get("grant_type") == "authorization_code":
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return Response(
                    401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
                )
            return self._exchange_code(form)
        if form.get("grant_type") != "refresh_token":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Invalid grant_type: " + form.get("grant_type", ""),
                },
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        with self.lock:
            token = form.get("refresh_token")
            if token != self.refresh_token or token in self.revoked:
                return Response(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            self.issued += 1
            access = f"ya29.fake-{self.issued}-{secrets.token_hex(6)}"
            self.access_tokens.add(access)
        resp = {"access_token": access, "expires_in": 3600, "token_type": "Bearer"}
        if self.scopes is not None:
            resp["scope"] = " ".join(self.scopes)
        return Response(200, resp)

    def check(self, authorization: str | None, api_method: str) -> None:
        """Raise the 401/403 Google would send for this Authorization header."""
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            if scheme.lower() != "bearer" or token not in self.access_tokens:
                raise unauthenticated()
        if self.scopes is None:
            return
        granted = {s.removeprefix(SCOPE_PREFIX) for s in self.scopes}
        for prefix, accepted in _SCOPES_FOR:
            if api_method.startswith(prefix):
                if not granted & accepted:
                    raise ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions")
                return
