"""Which API method a request is: path patterns relative to ROOT, per HTTP verb.

The patterns are the discovery documents' paths as the real client joins
them to `api_endpoint` (Calendar: ROOT + "calendar/v3/", Gmail: ROOT).
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from .errors import bad_request

SEG = r"([^/]+)"
CAL = "calendar/v3/"
GM = "gmail/v1/users/" + SEG + "/"

# (HTTP verb, path regex relative to ROOT, API method name as in the discovery doc)
ROUTES = [
    ("POST", r"token", "oauth.token"),
    ("POST", r"batch(?:/(gmail/v1|calendar/v3))?", "batch"),
    ("GET", CAL + r"calendars/" + SEG + "/events", "calendar.events.list"),
    ("POST", CAL + r"calendars/" + SEG + "/events", "calendar.events.insert"),
    ("GET", CAL + r"calendars/" + SEG + "/events/" + SEG, "calendar.events.get"),
    ("PATCH", CAL + r"calendars/" + SEG + "/events/" + SEG, "calendar.events.patch"),
    ("PUT", CAL + r"calendars/" + SEG + "/events/" + SEG, "calendar.events.update"),
    ("DELETE", CAL + r"calendars/" + SEG + "/events/" + SEG, "calendar.events.delete"),
    ("POST", CAL + r"freeBusy", "calendar.freebusy.query"),
    ("GET", CAL + r"users/me/calendarList", "calendar.calendarList.list"),
    ("GET", CAL + r"users/me/calendarList/" + SEG, "calendar.calendarList.get"),
    ("GET", GM + "profile", "gmail.users.getProfile"),
    ("GET", GM + "messages", "gmail.users.messages.list"),
    ("GET", GM + "messages/" + SEG, "gmail.users.messages.get"),
    ("GET", GM + "history", "gmail.users.history.list"),
    ("GET", GM + "labels", "gmail.users.labels.list"),
]
_COMPILED = [(verb, re.compile(rx + r"/?"), name) for verb, rx, name in ROUTES]


def route(verb: str, path: str):
    for rverb, rx, name in _COMPILED:
        m = rx.fullmatch(path)
        if m and rverb == verb:
            return name, [unquote(g) if g else g for g in m.groups()]
    return None


def parse_json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise bad_request("Parse Error", "parseError") from None
    if not isinstance(data, dict):
        raise bad_request("Parse Error", "parseError")
    return data
