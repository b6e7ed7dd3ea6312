"""CalDAV calendars as a source: incremental by sync-collection (RFC 6578), else ctag/etag.

Each calendar is a scope of the source. Its objects are parsed and expanded by the ICS
source's own functions, so recurrences, exceptions and broken events behave exactly as in
an `.ics` file. The cursor remembers, per calendar, the sync token or ctag and, per
object, its ETag and the UIDs its rows carry: a changed or deleted object replaces or
removes exactly its own rows. A no-change sync is one REPORT (or PROPFIND) per calendar;
every `REEXPAND_EVERY` the calendars are rediscovered and read whole, so series expand
into the moving horizon and a removed calendar drops out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from syncd.config_types import CaldavConfig, Config
from syncd.errors import CursorInvalid, NeedsAuth, SourceError
from syncd.records import Batch, Meeting
from syncd.sources.base import SyncContext, log
from syncd.sources.caldav_dav import CaldavAccount, CalendarInfo, DavError, DavObject, DavSession
from syncd.sources.ics import REEXPAND_EVERY, read_calendar


# (account, URL, user) → (the cycle's `now`, the message) of a refused login. A server that locks an
# account after a few failed logins must see at most one attempt per sync cycle, however
# many of the account's calendars are configured as sources.
_REFUSED: dict[tuple[str, str, str], tuple[datetime, str]] = {}


@dataclass
class _Read:
    """What a set of objects gave: rows, per href its ETag, the UIDs of its rows and its skipped events."""

    meetings: list[Meeting]
    objects: dict[str, list[Any]]
    events: int  # readable events: 0 means the calendar reads empty


class CaldavSource:
    kind = "caldav"

    def __init__(self, account: CaldavAccount, calendar: str | None = None):
        """`calendar` (a display name or collection URL/path) limits the source to that one;
        without it the source reads every event calendar the account's URL leads to."""
        self.account = account
        self.wanted = calendar
        self.name = f"caldav:{account.name}/{calendar}" if calendar else f"caldav:{account.name}"

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        login = (self.account.source_id, self.account.url, self.account.username)
        refused = _REFUSED.get(login)
        if refused is not None and refused[0] == context.now:
            raise NeedsAuth(refused[1])  # the account's other calendars: no second login this cycle
        session = DavSession(self.account)
        try:
            yield from self._sync(session, cursor or {}, context)
            _REFUSED.pop(login, None)
        except DavError as error:
            if error.needs_auth:
                _REFUSED[login] = (context.now, str(error))
                raise NeedsAuth(str(error)) from None
            if error.token_invalid or error.status == 404:  # a gone collection is found again by a full read
                raise CursorInvalid(str(error)) from None
            raise SourceError(str(error)) from None

    def _sync(self, session: DavSession, cursor: dict[str, Any], context: SyncContext) -> Iterator[Batch]:
        now = context.now.timestamp()
        expanded_at = cursor.get("expanded_at")
        known: dict[str, dict[str, Any]] = dict(cursor.get("calendars") or {})
        url = self.account.url
        stale = expanded_at is None or not 0 <= now - expanded_at <= REEXPAND_EVERY.total_seconds()
        if known and not stale and cursor.get("url") == url:
            for path in list(known):
                batch = self._incremental(session, path, known[path], context)
                if batch is None:
                    continue
                known[path] = dict(batch.cursor or {})
                batch.cursor = {"url": url, "expanded_at": expanded_at, "calendars": dict(known)}
                batch.skipped = _skipped(known)
                yield batch
            return
        calendars = self._chosen(session.calendars())
        expanded_at = now
        current = {info.path for info in calendars}
        known = {path: state for path, state in known.items() if path in current}
        for info in calendars:
            batch = self._full(session, info, context)
            known[info.path] = dict(batch.cursor or {})
            batch.cursor = {"url": url, "expanded_at": expanded_at, "calendars": dict(known)}
            batch.skipped = _skipped(known)
            yield batch
        # Rows of a calendar that is gone, or no longer chosen, go with it.
        cursor_now = {"url": url, "expanded_at": expanded_at, "calendars": known}
        yield Batch(upserts=[], cursor=cursor_now, scopes=sorted(current), skipped=_skipped(known))

    def _chosen(self, calendars: list[CalendarInfo]) -> list[CalendarInfo]:
        if self.wanted is None:
            if not calendars:
                raise DavError(f"{self.account.source_id}: no event calendar found at {self.account.url}")
            return calendars
        match = find_calendar(calendars, self.wanted)
        if match is None:
            names = ", ".join(repr(info.display_name) for info in calendars) or "none"
            raise DavError(
                f"{self.account.source_id}: no calendar {self.wanted!r} at {self.account.url} (found: {names})"
            )
        return [match]

    def _full(self, session: DavSession, info: CalendarInfo, context: SyncContext) -> Batch:
        """Read a whole calendar: its rows replace every row of its scope (pruned by generation)."""
        if info.supports_sync:
            answer = session.sync_collection(info.path, None)
            while answer.truncated:  # RFC 6578 §3.6: the server sends the rest against the new token
                more = session.sync_collection(info.path, answer.token)
                more.objects = answer.objects + more.objects
                answer = more
            objects = answer.objects
            state: dict[str, Any] = {"token": answer.token}
        else:
            objects, state = session.calendar_query(info.path), {"ctag": info.ctag}
        read = _read(objects, context)
        state |= {"name": info.display_name, "objects": read.objects}
        return Batch(
            upserts=read.meetings,
            cursor=state,
            scope=info.path,
            generation=uuid.uuid4().hex,
            prune=True,
            found=read.events,
        )

    def _incremental(self, session: DavSession, path: str, state: dict[str, Any], context: SyncContext) -> Batch | None:
        """The objects changed since the cursor, or None when nothing changed (one request)."""
        objects: dict[str, list[Any]] = dict(state.get("objects") or {})
        if state.get("token"):
            answer = session.sync_collection(path, state["token"])
            changed = list(answer.objects)
            while answer.truncated:
                answer = session.sync_collection(path, answer.token)
                changed += answer.objects
            if not changed and answer.token == state["token"]:
                return None
            new_state = {**state, "token": answer.token}
        else:
            info = session.calendar(path)
            if info.ctag is not None and info.ctag == state.get("ctag"):
                return None
            listing = session.etags(path)
            stale = [href for href, etag in listing.items() if objects.get(href, [None])[0] != etag]
            changed = session.multiget(path, stale)
            changed += [DavObject(href, status=404) for href in objects if href not in listing]
            new_state = {**state, "ctag": info.ctag}
        read = _read([obj for obj in changed if obj.data is not None], context)
        touched_uids = {uid for obj in changed for uid in (objects.get(obj.href) or [None, []])[1]}
        for obj in changed:
            objects.pop(obj.href, None)
        objects.update(read.objects)
        kept = {meeting.item_id for meeting in read.meetings}
        deletes = [
            item_id
            for item_id in context.known_ids(path)
            if item_id.rpartition("#")[0] in touched_uids and item_id not in kept
        ]
        new_state["objects"] = objects
        return Batch(upserts=read.meetings, cursor=new_state, deletes=deletes, scope=path)


def _read(objects: list[DavObject], context: SyncContext) -> _Read:
    """Parse each object with the ICS source's reader: a bad event costs that event, an
    unreadable object that object (logged); the cursor keeps per object its ETag, the UIDs
    of its rows and how many events were skipped (for `status`)."""
    meetings: list[Meeting] = []
    kept: dict[str, list[Any]] = {}
    events = 0
    for obj in objects:
        if obj.data is None:
            continue
        try:
            read = read_calendar(obj.data.encode("utf-8"), context.since, context.until, context.tz)
            found, skipped = read.meetings, read.skipped
            events += read.events
        except ValueError as error:
            log.warning("%s: skipping an object that is not valid iCalendar: %s", obj.href, error)
            found, skipped = [], 1
        meetings.extend(found)
        kept[obj.href] = [obj.etag, sorted({meeting.item_id.rpartition("#")[0] for meeting in found}), skipped]
    return _Read(meetings, kept, events)


def _skipped(calendars: dict[str, dict[str, Any]]) -> int:
    """Events skipped as unreadable across the source's calendars, as of the cursor."""
    return sum(entry[2] for state in calendars.values() for entry in state["objects"].values() if len(entry) > 2)


def find_calendar(calendars: list[CalendarInfo], wanted: str) -> CalendarInfo | None:
    """A calendar by collection URL or path (exactly), else by display name (case-insensitive)."""
    path = unquote(urlsplit(wanted).path) if "/" in wanted else ""
    if path:
        path = path if path.endswith("/") else path + "/"
        return next((info for info in calendars if info.path == path), None)
    folded = wanted.strip().casefold()
    return next((info for info in calendars if info.display_name.casefold() == folded), None)


def caldav_sources(accounts: list[CaldavAccount]) -> list[CaldavSource]:
    """One source per listed calendar (`caldav:NAME/CALENDAR`), or one for all (`caldav:NAME`)."""
    sources: list[CaldavSource] = []
    for account in accounts:
        if account.calendars:
            sources.extend(CaldavSource(account, calendar) for calendar in account.calendars)
        else:
            sources.append(CaldavSource(account))
    return sources


def caldav_accounts(config: Config) -> list[CaldavAccount]:
    """The `[[sources.caldav]]` tables of a loaded config (none when there are none)."""
    return [account_from_table(table) for table in config.caldav]


def account_from_table(table: CaldavConfig) -> CaldavAccount:
    return CaldavAccount(
        name=table.name,
        url=table.url,
        username=table.username,
        password_command=tuple(table.password_command) if table.password_command else None,
        calendars=tuple(table.calendars or ()),
    )


def check_login(account: CaldavAccount, password: str) -> None:
    """One request with a password before `syncd auth` stores it: NeedsAuth if refused,
    SourceError if the server cannot be reached or leads to no calendar."""
    try:
        DavSession(account, password).calendars()
    except DavError as error:
        raise (NeedsAuth if error.needs_auth else SourceError)(str(error)) from None
