"""Query-string access with Google's parsing rules, and opaque page/sync tokens."""

from __future__ import annotations

import base64
import json

from .errors import bad_request


class Query:
    """Repeated parameters (metadataHeaders, labelIds, ...) stay lists."""

    def __init__(self, params: dict[str, list[str]]):
        self.params = params

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.params.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.params

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request(f"Invalid boolean value for {name}: {value!r}", "invalidParameter")
        return value.lower() == "true"

    def int(self, name: str, default: int, maximum: int) -> int:
        """Out-of-range page sizes are clamped to the maximum, as Google does."""
        value = self.get(name)
        if value is None:
            return default
        try:
            n = int(value)
        except ValueError:
            raise bad_request(f"Invalid value for {name}: {value!r}", "invalidParameter") from None
        if n < 1:
            raise bad_request(f"Invalid value for {name}: {n}", "invalidParameter")
        return min(n, maximum)


def encode_token(kind: str, data: dict) -> str:
    raw = json.dumps({"k": kind, **data}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str) -> dict | None:
    """None if the token is not one of ours of this kind."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("k") != kind:
        return None
    return data


def page_of(items: list, offset: int, size: int) -> tuple[list, int | None]:
    """The slice at `offset` and the next offset (None on the last page)."""
    page = items[offset : offset + size]
    nxt = offset + size
    return page, (nxt if nxt < len(items) else None)


def page_token_offset(q: Query, kind: str) -> tuple[int, dict]:
    token = q.get("pageToken")
    if not token:
        return 0, {}
    data = decode_token(kind, token)
    if data is None:
        raise bad_request("Invalid page token value.", "invalid")
    return int(data.get("o", 0)), data
