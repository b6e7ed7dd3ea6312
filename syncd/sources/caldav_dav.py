"""One CalDAV account over HTTP: calendar discovery and the few WebDAV requests syncd sends.

python-caldav's DAVClient carries the HTTP session, authentication negotiation, TLS and
rate-limit handling; the requests themselves are built here because syncd needs exact
control of them (calendar data inside the sync-collection REPORT so a change costs one
round trip, conditional PUT/DELETE for holds). Both the CalDAV source and the CalDAV hold
sink use this module; it raises only :class:`DavError`, which each turns into its own error.
The password lives in the client object only: never in a message, a log line or a cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from syncd.secrets import resolve_password

if TYPE_CHECKING:  # python-caldav (and icalendar under it) load on the first request, not for `status`
    from caldav.davclient import DAVClient

log = logging.getLogger("syncd.caldav")

TIMEOUT_SECONDS = 10  # a refused or silent server fails the source well within 15 s
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
CS = "{http://calendarserver.org/ns/}"
NAMESPACES = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"'
CALENDAR_PROPS = (
    "<D:displayname/><D:resourcetype/><CS:getctag/><D:sync-token/>"
    "<D:supported-report-set/><C:supported-calendar-component-set/>"
)


class DavError(Exception):
    """A failed request, as one line for the user; `needs_auth` when credentials were refused."""

    def __init__(self, message: str, *, needs_auth: bool = False, token_invalid: bool = False, status: int = 0):
        super().__init__(message)
        self.needs_auth = needs_auth
        self.token_invalid = token_invalid
        self.status = status


@dataclass(frozen=True)
class CaldavAccount:
    """One `[[sources.caldav]]` table."""

    name: str
    url: str
    username: str
    password_command: Sequence[str] | None = None
    calendars: Sequence[str] = ()

    @property
    def source_id(self) -> str:
        return f"caldav:{self.name}"


@dataclass(frozen=True)
class CalendarInfo:
    path: str  # the collection's absolute path, ending in "/"
    display_name: str
    ctag: str | None = None
    sync_token: str | None = None
    supports_sync: bool = False


@dataclass
class DavObject:
    """One calendar object resource from a REPORT: its data is None when it was deleted."""

    href: str
    etag: str = ""
    data: str | None = None
    status: int = 200


@dataclass
class SyncAnswer:
    objects: list[DavObject] = field(default_factory=list)
    token: str | None = None
    truncated: bool = False


class DavSession:
    """A logged-in (lazily: the password is fetched on the first request) CalDAV account."""

    def __init__(self, account: CaldavAccount, password: str | None = None):
        """`password` is for `syncd auth` trying a password before it is stored; otherwise it
        comes from the account's password_command or the keyring, on the first request."""
        self.account = account
        self._password = password
        self._client: DAVClient | None = None
        parts = urlsplit(account.url)
        self.origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        self.label = f"{account.source_id} ({self.origin})"

    def _connect(self) -> DAVClient:
        if self._client is None:
            from caldav.davclient import DAVClient

            from syncd.errors import NeedsAuth

            try:
                password = self._password or resolve_password(self.account.source_id, self.account.password_command)
            except NeedsAuth as error:
                raise DavError(str(error), needs_auth=True) from None
            self._client = DAVClient(
                url=self.account.url,
                username=self.account.username,
                password=password,
                auth_type="basic",
                timeout=TIMEOUT_SECONDS,
            )
        return self._client

    def url(self, path: str) -> str:
        return urljoin(self.origin + "/", path)

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> Any:
        """Send one request; HTTP errors other than 401 come back as the response's status."""
        from caldav.lib import error as dav_error

        client = self._connect()
        try:
            return client.request(self.url(path), method, body, headers or {})
        except dav_error.AuthorizationError as error:
            if error.status == 403 and "{DAV:}valid-sync-token" in error.preconditions:
                raise DavError(
                    f"{self.label}: the server no longer accepts the sync token", token_invalid=True
                ) from None
            if error.status == 403:
                raise DavError(f"{self.label}: {method} {unquote(path)}: permission denied (403)", status=403) from None
            raise DavError(
                f"{self.label}: the server refused user {self.account.username!r} (wrong password?); "
                f"fix password_command or run `syncd auth {self.account.source_id}`",
                needs_auth=True,
            ) from None
        except dav_error.RateLimitError:
            raise DavError(f"{self.label}: the server asks to slow down (rate limited); will retry later") from None
        except Exception as error:  # niquests/urllib3/socket errors: the server is unreachable or broke off
            raise DavError(f"{self.label}: cannot reach the server ({_reason(error)})") from None

    def xml(self, method: str, path: str, body: str, depth: str | None) -> Any:
        """A PROPFIND or REPORT whose answer must be a 207 multistatus; returns its XML tree."""
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        if depth is not None:
            headers["Depth"] = depth
        response = self.request(method, path, body, headers)
        if response.status in (403, 409) and b"valid-sync-token" in _body(response):
            raise DavError(f"{self.label}: the server no longer accepts the sync token", token_invalid=True)
        if response.status != 207 or response.tree is None:
            reason = f"{response.status} {response.reason}".strip()
            raise DavError(f"{self.label}: {method} {unquote(path)} answered {reason}", status=response.status)
        return response.tree

    # ------------------------------------------------------------------ discovery

    def calendars(self) -> list[CalendarInfo]:
        """The event calendars the account's `url` leads to (itself, or the principal's home)."""
        start = urlsplit(self.account.url).path or "/"
        props = f"{CALENDAR_PROPS}<D:current-user-principal/><C:calendar-home-set/>"
        tree = self.xml("PROPFIND", start, f"<D:propfind {NAMESPACES}><D:prop>{props}</D:prop></D:propfind>", "0")
        found = _responses(tree)
        if not found:
            raise DavError(f"{self.label}: {unquote(start)} answered no properties")
        href, prop = found[0]
        if _is_calendar(prop):
            return [_calendar_info(href, prop)]
        home = _href_in(prop, f"{C}calendar-home-set")
        if home is None:
            principal = _href_in(prop, f"{D}current-user-principal")
            if principal is None:
                raise DavError(f"{self.label}: {unquote(start)} is neither a calendar nor leads to a principal")
            body = f"<D:propfind {NAMESPACES}><D:prop><C:calendar-home-set/></D:prop></D:propfind>"
            answers = _responses(self.xml("PROPFIND", principal, body, "0"))
            home = _href_in(answers[0][1], f"{C}calendar-home-set") if answers else None
            if home is None:
                raise DavError(f"{self.label}: the principal {unquote(principal)} names no calendar home")
        body = f"<D:propfind {NAMESPACES}><D:prop>{CALENDAR_PROPS}</D:prop></D:propfind>"
        calendars = [
            _calendar_info(href, prop)
            for href, prop in _responses(self.xml("PROPFIND", home, body, "1"))
            if _is_calendar(prop) and _holds_events(prop)
        ]
        return sorted(calendars, key=lambda info: info.path)

    def calendar(self, path: str) -> CalendarInfo:
        """The current properties of one known calendar (its ctag, sync token)."""
        body = f"<D:propfind {NAMESPACES}><D:prop>{CALENDAR_PROPS}</D:prop></D:propfind>"
        answers = _responses(self.xml("PROPFIND", path, body, "0"))
        if not answers or not _is_calendar(answers[0][1]):
            raise DavError(f"{self.label}: {unquote(path)} is no longer a calendar", status=404)
        return _calendar_info(answers[0][0], answers[0][1])

    # ------------------------------------------------------------------ reading

    def sync_collection(self, path: str, token: str | None) -> SyncAnswer:
        """RFC 6578: what changed since `token` (everything when None), with the calendar data."""
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><D:sync-collection {NAMESPACES}>'
            f"<D:sync-token>{_escape(token or '')}</D:sync-token><D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>"
        )
        tree = self.xml("REPORT", path, body, "1")
        answer = SyncAnswer(token=tree.findtext(f"{D}sync-token"))
        for response in tree.iter(f"{D}response"):
            href = unquote(response.findtext(f"{D}href") or "")
            status = _status_code(response.findtext(f"{D}status"))
            if status == 507 or (href.rstrip("/") == unquote(path).rstrip("/") and status != 404):
                answer.truncated = answer.truncated or status == 507
                continue
            answer.objects.append(_object(href, response, status))
        return answer

    def calendar_query(self, path: str) -> list[DavObject]:
        """Every event object of a calendar with its data (the fallback without sync-collection)."""
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query {NAMESPACES}>'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>'
            "</C:calendar-query>"
        )
        return self._objects(self.xml("REPORT", path, body, "1"))

    def etags(self, path: str) -> dict[str, str]:
        """href → ETag of every object in a calendar (the ctag/etag fallback's listing)."""
        body = f"<D:propfind {NAMESPACES}><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>"
        listing = {}
        for href, prop in _responses(self.xml("PROPFIND", path, body, "1")):
            if href.rstrip("/") != unquote(path).rstrip("/") and prop.find(f"{D}resourcetype/{D}collection") is None:
                listing[href] = prop.findtext(f"{D}getetag") or ""
        return listing

    def multiget(self, path: str, hrefs: Sequence[str]) -> list[DavObject]:
        if not hrefs:
            return []
        wanted = "".join(f"<D:href>{_escape(href)}</D:href>" for href in hrefs)
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget {NAMESPACES}>'
            f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{wanted}</C:calendar-multiget>"
        )
        return self._objects(self.xml("REPORT", path, body, "1"))

    def _objects(self, tree: Any) -> list[DavObject]:
        return [
            _object(
                unquote(response.findtext(f"{D}href") or ""), response, _status_code(response.findtext(f"{D}status"))
            )
            for response in tree.iter(f"{D}response")
        ]


def _responses(tree: Any) -> list[tuple[str, Any]]:
    """(href, merged 200-OK <prop>) of each response of a PROPFIND answer."""
    out = []
    for response in tree.iter(f"{D}response"):
        href = unquote(response.findtext(f"{D}href") or "")
        for propstat in response.findall(f"{D}propstat"):
            if _status_code(propstat.findtext(f"{D}status")) == 200 and propstat.find(f"{D}prop") is not None:
                out.append((href, propstat.find(f"{D}prop")))
                break
    return out


def _object(href: str, response: Any, status: int) -> DavObject:
    for propstat in response.findall(f"{D}propstat"):
        if _status_code(propstat.findtext(f"{D}status")) == 200:
            prop = propstat.find(f"{D}prop")
            return DavObject(href, prop.findtext(f"{D}getetag") or "", prop.findtext(f"{C}calendar-data"), 200)
    return DavObject(href, status=status or 404)


def _is_calendar(prop: Any) -> bool:
    return prop.find(f"{D}resourcetype/{C}calendar") is not None


def _holds_events(prop: Any) -> bool:
    components = prop.find(f"{C}supported-calendar-component-set")
    if components is None or len(components) == 0:
        return True  # RFC 4791: absent means every component type
    return any(str(comp.get("name", "")).upper() == "VEVENT" for comp in components)


def _calendar_info(href: str, prop: Any) -> CalendarInfo:
    path = href if href.endswith("/") else href + "/"
    reports = {element.tag for element in prop.iterfind(f"{D}supported-report-set//{D}report/*")}
    return CalendarInfo(
        path=path,
        display_name=(prop.findtext(f"{D}displayname") or "").strip() or unquote(path.rstrip("/").rpartition("/")[2]),
        ctag=prop.findtext(f"{CS}getctag"),
        sync_token=prop.findtext(f"{D}sync-token"),
        supports_sync=f"{D}sync-collection" in reports,
    )


def _href_in(prop: Any, name: str) -> str | None:
    text = prop.findtext(f"{name}/{D}href")
    return unquote(text.strip()) if text and text.strip() else None


def _status_code(text: str | None) -> int:
    parts = (text or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _body(response: Any) -> bytes:
    raw = getattr(response, "_raw", b"") or b""
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else bytes(raw)


def _reason(error: BaseException) -> str:
    """The innermost cause in one short line (connection refused, timed out, name unknown)."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
