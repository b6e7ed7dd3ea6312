"""Calendar v3 state: calendars, events (singles, recurring masters, exceptions).

Why it mirrors Google's quirks rather than an ideal API: syncd's correctness
hinges on them — deleted events stay as `status: "cancelled"` (so a reused id
is a 409 and a second delete a 410), recurring meetings show up as instances
`<master>_<start>` with `recurringEventId`/`originalStartTime`, and cancelled
events in lists carry only their id (Google guarantees nothing else). Listing,
sync tokens and free/busy live in `calendar_list.py`.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime

from .errors import ApiError, bad_request, not_found
from .timeutil import UTC, event_time, format_utc, instance_suffix, is_all_day, occurrences, zone

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str = "UTC"
    primary: bool = False
    access_role: str = "owner"
    in_list: bool = True
    events: dict[str, dict] = field(default_factory=dict)  # id -> resource
    seq: dict[str, int] = field(default_factory=dict)  # id -> change sequence

    @property
    def tz(self):
        return zone(self.time_zone)


def _merge(dst: dict, patch: dict) -> dict:
    """Google patch semantics: objects merge, arrays and scalars replace, null deletes."""
    for key, value in patch.items():
        if value is None:
            dst.pop(key, None)
        elif isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)
    return dst


class CalendarState:
    """All calendars of the fake's single user; thread-safe through `lock`."""

    def __init__(self, owner: str, now, lock: threading.RLock, minimal_cancelled: bool = True):
        self.owner = owner
        self.now = now
        self.lock = lock
        self.minimal_cancelled = minimal_cancelled
        self.calendars: dict[str, Calendar] = {}
        self.change_seq = 0
        self.generation = 0  # bumped by invalidate_sync_tokens()
        self.add_calendar(owner, summary=owner, primary=True)

    # ----- calendars -------------------------------------------------------
    def add_calendar(
        self,
        cal_id: str,
        summary: str | None = None,
        time_zone: str = "UTC",
        primary: bool = False,
        access_role: str = "owner",
        in_list: bool = True,
    ) -> Calendar:
        with self.lock:
            cal = Calendar(cal_id, summary or cal_id, time_zone, primary, access_role, in_list)
            self.calendars[cal_id] = cal
            return cal

    def calendar(self, cal_id: str) -> Calendar:
        cal = self.calendars.get(self.owner if cal_id == "primary" else cal_id)
        if cal is None:
            raise not_found()
        return cal

    # ----- bookkeeping -----------------------------------------------------
    def _touch(self, cal: Calendar, ev: dict, keep_updated: bool = False) -> None:
        self.change_seq += 1
        cal.seq[ev["id"]] = self.change_seq
        now = self.now()
        if not keep_updated or "updated" not in ev:
            ev["updated"] = format_utc(now, millis=True)
        ev.setdefault("created", ev["updated"])
        ev["etag"] = f'"{3000000000000000 + self.change_seq}"'

    def master_of(self, cal: Calendar, ev: dict) -> dict | None:
        rid = ev.get("recurringEventId")
        return cal.events.get(rid) if rid else None

    def effective_status(self, cal: Calendar, ev: dict) -> str:
        master = self.master_of(cal, ev)
        if master is not None and master.get("status") == "cancelled":
            return "cancelled"
        return ev.get("status", "confirmed")

    def render(self, cal: Calendar, ev: dict, in_list: bool) -> dict:
        """What Google sends for one event; cancelled ones are minimal in lists."""
        out = copy.deepcopy(ev)
        status = self.effective_status(cal, ev)
        out["status"] = status
        if status == "cancelled" and in_list and self.minimal_cancelled:
            keep = ("kind", "etag", "id", "status", "updated", "recurringEventId", "originalStartTime")
            out = {k: out[k] for k in keep if k in out}
        return out

    # ----- validation ------------------------------------------------------
    def _validate_times(self, cal: Calendar, ev: dict) -> None:
        start, end = ev.get("start"), ev.get("end")
        if not start:
            raise bad_request("Missing start time.", "required")
        if not end:
            raise bad_request("Missing end time.", "required")
        if ("date" in start) != ("date" in end):
            raise bad_request("Start and end times must either both be date or both be dateTime.")
        if event_time(end, cal.tz, "end") < event_time(start, cal.tz):
            raise bad_request("The specified time range is empty.", "timeRangeEmpty", "calendar")
        if ev.get("recurrence"):
            next(iter(occurrences(ev, cal.tz, None, None, self.now())), None)

    def _defaults(self, cal: Calendar, ev: dict) -> None:
        ev.setdefault("kind", "calendar#event")
        ev.setdefault("status", "confirmed")
        ev.setdefault("iCalUID", f"{ev['id']}@google.com")
        ev.setdefault("sequence", 0)
        ev.setdefault("eventType", "default")
        ev.setdefault("htmlLink", f"https://www.google.com/calendar/event?eid={ev['id']}")
        organizer = {"email": cal.id}
        if cal.primary:
            organizer["self"] = True
        ev.setdefault("organizer", organizer)
        ev.setdefault("creator", dict(ev["organizer"]))
        ev.setdefault("reminders", {"useDefault": True})
        for att in ev.get("attendees") or []:
            att.setdefault("responseStatus", "needsAction")
            if att.get("email") == cal.id and cal.primary:
                att["self"] = True

    # ----- instances -------------------------------------------------------
    def make_instance(self, master: dict, start: datetime, end: datetime) -> dict:
        all_day = is_all_day(master)
        inst = copy.deepcopy(master)
        inst.pop("recurrence", None)
        inst["id"] = f"{master['id']}_{instance_suffix(start, all_day)}"
        inst["recurringEventId"] = master["id"]
        if all_day:
            inst["start"] = {"date": start.date().isoformat()}
            inst["end"] = {"date": end.date().isoformat()}
        else:
            tzname = master["start"].get("timeZone")
            inst["start"] = {"dateTime": start.isoformat(), **({"timeZone": tzname} if tzname else {})}
            tzend = master["end"].get("timeZone")
            inst["end"] = {"dateTime": end.isoformat(), **({"timeZone": tzend} if tzend else {})}
        inst["originalStartTime"] = dict(inst["start"])
        return inst

    def find_instance(self, cal: Calendar, event_id: str) -> dict | None:
        """A generated (non-exception) instance by id, or None."""
        master_id, _, suffix = event_id.partition("_")
        master = cal.events.get(master_id)
        if not suffix or master is None or not master.get("recurrence"):
            return None
        all_day = is_all_day(master)
        for s, e in occurrences(master, cal.tz, None, None, self.now()):
            got = instance_suffix(s, all_day)
            if got == suffix:
                return self.make_instance(master, s, e)
            if got > suffix and len(got) == len(suffix):
                return None
        return None

    # ----- CRUD ------------------------------------------------------------
    def insert(self, cal_id: str, body: dict, seeded: bool = False) -> dict:
        with self.lock:
            cal = self.calendar(cal_id)
            ev = copy.deepcopy(body)
            if "id" in ev:
                if not isinstance(ev["id"], str) or not EVENT_ID.fullmatch(ev["id"]):
                    raise bad_request("Invalid resource id value.")
                if ev["id"] in cal.events:
                    raise ApiError(409, "The requested identifier already exists.", "duplicate")
            else:
                ev["id"] = "".join(secrets.choice(BASE32HEX) for _ in range(26))
            self._validate_times(cal, ev)
            self._defaults(cal, ev)
            cal.events[ev["id"]] = ev
            self._touch(cal, ev, keep_updated=seeded)
            return self.render(cal, ev, in_list=False)

    def get(self, cal_id: str, event_id: str) -> dict:
        with self.lock:
            cal = self.calendar(cal_id)
            ev = cal.events.get(event_id)
            if ev is not None:
                return self.render(cal, ev, in_list=False)
            inst = self.find_instance(cal, event_id)
            if inst is None:
                raise not_found()
            return self.render(cal, inst, in_list=False)

    def _stored_or_exception(self, cal: Calendar, event_id: str) -> dict:
        """The stored event; for an instance id, a new stored exception."""
        ev = cal.events.get(event_id)
        if ev is not None:
            return ev
        inst = self.find_instance(cal, event_id)
        if inst is None:
            raise not_found()
        cal.events[event_id] = inst
        return inst

    def patch(self, cal_id: str, event_id: str, body: dict, replace: bool = False) -> dict:
        with self.lock:
            cal = self.calendar(cal_id)
            fresh = event_id not in cal.events
            ev = self._stored_or_exception(cal, event_id)
            try:
                return self._apply(cal, ev, body, replace)
            except ApiError:
                if fresh:  # an invalid patch must not leave a new exception behind
                    cal.events.pop(event_id, None)
                raise

    def _apply(self, cal: Calendar, ev: dict, body: dict, replace: bool) -> dict:
        """Patch (merge) or update (replace) a stored event in place, validated first."""
        new = copy.deepcopy(ev)
        if replace:
            keep = {
                k: new[k]
                for k in (
                    "id",
                    "created",
                    "iCalUID",
                    "recurringEventId",
                    "originalStartTime",
                    "organizer",
                    "creator",
                    "kind",
                )
                if k in new
            }
            new = {**copy.deepcopy(body), **keep}
            self._defaults(cal, new)
        else:
            body = {k: v for k, v in body.items() if k != "id"}
            _merge(new, body)
        self._validate_times(cal, new)
        new["sequence"] = ev.get("sequence", 0) + 1
        ev.clear()
        ev.update(new)
        self._touch(cal, ev)
        return self.render(cal, ev, in_list=False)

    def delete(self, cal_id: str, event_id: str) -> None:
        with self.lock:
            cal = self.calendar(cal_id)
            ev = self._stored_or_exception(cal, event_id)
            if self.effective_status(cal, ev) == "cancelled":
                raise ApiError(410, "Resource has been deleted", "deleted")
            ev["status"] = "cancelled"
            self._touch(cal, ev)

    def add_exception(
        self, cal_id: str, master_id: str, original_start, changes: dict | None, cancelled: bool = False
    ) -> dict:
        """Seed a modified or cancelled instance of a recurring event."""
        with self.lock:
            cal = self.calendar(cal_id)
            master = cal.events[master_id]
            if isinstance(original_start, str):
                original_start = event_time(
                    {"dateTime": original_start} if "T" in original_start else {"date": original_start}, cal.tz
                )
            suffix = instance_suffix(original_start, is_all_day(master))
            ev = self._stored_or_exception(cal, f"{master_id}_{suffix}")
            if changes:
                _merge(ev, changes)
            if cancelled:
                ev["status"] = "cancelled"
            self._validate_times(cal, ev)
            self._touch(cal, ev)
            return copy.deepcopy(ev)

    def stored(self, cal_id: str) -> list[dict]:
        with self.lock:
            cal = self.calendar(cal_id)
            return [copy.deepcopy(ev) for ev in cal.events.values()]


def now_utc() -> datetime:
    return datetime.now(UTC)
