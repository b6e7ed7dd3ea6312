"""Calendar reads: events.list (full and incremental), freeBusy.query, calendarList.

singleEvents + syncToken — what Google does, and so what this fake does:
  * The events.list reference lists the parameters that may NOT be combined with
    syncToken: iCalUID, orderBy, privateExtendedProperty, q,
    sharedExtendedProperty, timeMin, timeMax, updatedMin (Google answers 400).
    singleEvents is not among them; the reference says all other parameters
    "should be the same as for the initial synchronization to avoid undefined
    behavior" (discovery doc calendar.v3, events.list, syncToken).
  * So singleEvents=true with a syncToken is allowed and the delta is in
    instance form: a changed recurring series comes back as all its instances
    (cancelled ones when the series was deleted), never as the master. People
    doing this against Google report it works and can be long for open-ended
    series (stackoverflow.com/questions/30599745). A report that nextSyncToken
    went missing with singleEvents (googleapis/google-api-php-client#2637)
    comes without a reproduction; Google's reference promises nextSyncToken on
    every last page, so the fake always sends it there.
  * A syncToken from a full sync that used timeMin/timeMax yields changes to
    events anywhere, not just inside the old window (the filters cannot be
    repeated), so the delta here ignores the window.
freeBusy range limit: undocumented by Google. Over it Google answers 400
`timeRangeTooLong` "The requested time range is too long." (seen in public
code: calcom/cal.diy PR #11962 states "maximum time span of 90 days"; another
project found 3 calendar months already rejected and chunks by 1 month). The
fake defaults to a stricter 62 days (`freebusy_max_days`), so a client that
passes here passes at Google.
"""

from __future__ import annotations

from datetime import timedelta

from .calendar import Calendar, CalendarState
from .errors import ApiError, bad_request
from .query import Query, decode_token, encode_token, page_of, page_token_offset
from .timeutil import event_time, format_utc, instance_suffix, is_all_day, occurrences, parse_rfc3339, zone

SYNC_FORBIDDEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
FREEBUSY_MAX_CALENDARS = 50


def gone() -> ApiError:
    return ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired", "calendar")


def _span(cal: Calendar, ev: dict):
    return event_time(ev["start"], cal.tz), event_time(ev["end"], cal.tz, "end")


def _overlaps(span, lo, hi) -> bool:
    s, e = span
    return (lo is None or e > lo) and (hi is None or s < hi)


def expanded(state: CalendarState, cal: Calendar, lo, hi, single: bool, show_deleted: bool):
    """Stored events (single=False) or one-off events + instances (single=True) in [lo, hi)."""
    now = state.now()
    for ev in list(cal.events.values()):
        status = state.effective_status(cal, ev)
        if ev.get("recurrence"):
            if status == "cancelled" and not show_deleted:
                continue
            if not single:
                if lo is None and hi is None or next(occurrences(ev, cal.tz, lo, hi, now), None):
                    yield ev
                continue
            all_day = is_all_day(ev)
            for s, e in occurrences(ev, cal.tz, lo, hi, now):
                if f"{ev['id']}_{instance_suffix(s, all_day)}" not in cal.events:
                    yield state.make_instance(ev, s, e)
            continue
        if status == "cancelled" and not show_deleted:
            # Google keeps cancelled exceptions of a live series in non-expanded lists.
            master = state.master_of(cal, ev)
            if single or master is None or master.get("status") == "cancelled":
                continue
        if _overlaps(_span(cal, ev), lo, hi):
            yield ev


def _delta(state: CalendarState, cal: Calendar, since: int, asof: int, single: bool) -> list:
    changed = sorted(
        ((cal.seq.get(i, 0), ev) for i, ev in cal.events.items() if since < cal.seq.get(i, 0) <= asof),
        key=lambda pair: pair[0],
    )
    out, seen = [], set()

    def add(ev):
        if ev["id"] not in seen:
            seen.add(ev["id"])
            out.append(ev)

    for _, ev in changed:
        if single and ev.get("recurrence"):
            all_day = is_all_day(ev)
            for s, e in occurrences(ev, cal.tz, None, None, state.now()):
                iid = f"{ev['id']}_{instance_suffix(s, all_day)}"
                add(cal.events.get(iid) or state.make_instance(ev, s, e))
        else:
            add(ev)
    return out


def _matches_filters(ev: dict, q: Query) -> bool:
    ext = ev.get("extendedProperties") or {}
    for param, scope in (("privateExtendedProperty", "private"), ("sharedExtendedProperty", "shared")):
        props = ext.get(scope) or {}
        for constraint in q.all(param):
            key, _, value = constraint.partition("=")
            if props.get(key) != value:
                return False
    if q.get("iCalUID") and ev.get("iCalUID") != q.get("iCalUID"):
        return False
    if q.get("updatedMin") and ev.get("updated", "") < format_utc(
        parse_rfc3339(q.get("updatedMin"), "updatedMin"), millis=True
    ):
        return False
    text = q.get("q")
    if text:
        hay = " ".join(
            [
                ev.get("summary", ""),
                ev.get("description", ""),
                ev.get("location", ""),
                (ev.get("organizer") or {}).get("email", ""),
            ]
            + [a.get("email", "") for a in ev.get("attendees") or []]
        ).lower()
        if not all(word in hay for word in text.lower().split()):
            return False
    return True


def list_events(state: CalendarState, cal_id: str, q: Query) -> dict:
    with state.lock:
        cal = state.calendar(cal_id)
        single = q.bool("singleEvents")
        size = q.int("maxResults", 250, 2500)
        offset, page = page_token_offset(q, "events")
        asof = page.get("a", state.change_seq)
        sync = q.get("syncToken")
        if sync:
            bad = [p for p in SYNC_FORBIDDEN if q.has(p)]
            if bad:
                raise bad_request(f"The {bad[0]} parameter cannot be used together with syncToken.", "invalidParameter")
            tok = decode_token("sync", sync)
            if tok is None or tok.get("g") != state.generation or tok.get("c") != cal.id:
                raise gone()
            items = _delta(state, cal, tok["s"], asof, single)
        else:
            lo = parse_rfc3339(q.get("timeMin"), "timeMin") if q.get("timeMin") else None
            hi = parse_rfc3339(q.get("timeMax"), "timeMax") if q.get("timeMax") else None
            if lo and hi and hi <= lo:
                raise bad_request("The specified time range is empty.", "timeRangeEmpty", "calendar")
            order = q.get("orderBy")
            if order not in (None, "startTime", "updated") or (order == "startTime" and not single):
                raise bad_request("The requested ordering is not available for the particular query.", "invalid")
            show_deleted = q.bool("showDeleted") or q.has("updatedMin")
            items = [ev for ev in expanded(state, cal, lo, hi, single, show_deleted) if _matches_filters(ev, q)]
            if order == "updated":
                items.sort(key=lambda ev: (ev.get("updated", ""), ev["id"]))
            else:
                items.sort(key=lambda ev: (_span(cal, ev)[0], ev["id"]))
        chunk, nxt = page_of(items, offset, size)
        resp = {
            "kind": "calendar#events",
            "etag": f'"p{asof}"',
            "summary": cal.summary,
            "updated": format_utc(state.now(), millis=True),
            "timeZone": cal.time_zone,
            "accessRole": cal.access_role,
            "defaultReminders": [],
            "items": [state.render(cal, ev, in_list=True) for ev in chunk],
        }
        if nxt is not None:
            resp["nextPageToken"] = encode_token("events", {"o": nxt, "a": asof})
        else:
            resp["nextSyncToken"] = encode_token("sync", {"c": cal.id, "s": asof, "g": state.generation})
        return resp


def _declined_by_self(cal: Calendar, ev: dict) -> bool:
    for att in ev.get("attendees") or []:
        if att.get("self") or att.get("email") == cal.id:
            return att.get("responseStatus") == "declined"
    return False


def freebusy(state: CalendarState, body: dict, max_days: float) -> dict:
    if not body.get("timeMin"):
        raise bad_request("Missing timeMin parameter.", "required")
    if not body.get("timeMax"):
        raise bad_request("Missing timeMax parameter.", "required")
    lo = parse_rfc3339(body["timeMin"], "timeMin")
    hi = parse_rfc3339(body["timeMax"], "timeMax")
    if hi <= lo:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty", "calendar")
    if hi - lo > timedelta(days=max_days):
        raise bad_request("The requested time range is too long.", "timeRangeTooLong", "calendar")
    items = body.get("items") or []
    if len(items) > FREEBUSY_MAX_CALENDARS:
        raise bad_request(
            "The number of calendars requested is too large for a single query.",
            "tooManyCalendarsRequested",
            "calendar",
        )
    out_tz = zone(body.get("timeZone") or "UTC")

    def fmt(dt):
        return format_utc(dt) if str(out_tz) == "UTC" else dt.astimezone(out_tz).isoformat()

    calendars = {}
    with state.lock:
        for item in items:
            cid = item.get("id", "")
            cal = state.calendars.get(state.owner if cid == "primary" else cid)
            if cal is None:
                calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            spans = sorted(
                (max(s, lo), min(e, hi))
                for ev in expanded(state, cal, lo, hi, single=True, show_deleted=False)
                if ev.get("transparency") != "transparent" and not _declined_by_self(cal, ev)
                for s, e in [_span(cal, ev)]
            )
            merged = []
            for s, e in spans:
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            calendars[cid] = {"busy": [{"start": fmt(s), "end": fmt(e)} for s, e in merged]}
    return {"kind": "calendar#freeBusy", "timeMin": format_utc(lo), "timeMax": format_utc(hi), "calendars": calendars}


ROLE_RANK = {"freeBusyReader": 0, "reader": 1, "writer": 2, "owner": 3}


def _list_entry(cal: Calendar) -> dict:
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{abs(hash(cal.id)) % 10**12}"',
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "accessRole": cal.access_role,
        "selected": True,
        "defaultReminders": [],
    }
    if cal.primary:
        entry["primary"] = True
    return entry


def calendar_list(state: CalendarState, q: Query) -> dict:
    with state.lock:
        size = q.int("maxResults", 100, 250)
        offset, _ = page_token_offset(q, "callist")
        floor = ROLE_RANK.get(q.get("minAccessRole") or "freeBusyReader", 0)
        cals = [c for c in state.calendars.values() if c.in_list and ROLE_RANK.get(c.access_role, 0) >= floor]
        chunk, nxt = page_of(cals, offset, size)
        resp = {"kind": "calendar#calendarList", "etag": '"cl"', "items": [_list_entry(c) for c in chunk]}
        if nxt is not None:
            resp["nextPageToken"] = encode_token("callist", {"o": nxt})
        else:
            resp["nextSyncToken"] = encode_token("callistsync", {"g": state.generation})
        return resp


def calendar_list_get(state: CalendarState, cal_id: str) -> dict:
    with state.lock:
        cal = state.calendar(cal_id)
        if not cal.in_list:
            raise ApiError(404, "Not Found", "notFound")
        return _list_entry(cal)
