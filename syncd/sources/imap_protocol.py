"""The IMAP wire details the IMAP source needs, over the stdlib `imaplib`.

Connecting (TLS, STARTTLS or plain to localhost, certificates always verified), logging
in once, and parsing the few responses syncd reads: LIST with RFC 6154 special-use
flags, STATUS, and UID FETCH (pipelined, its answers read off the connection by syncd
itself: imaplib's response loop cost as much as the server). Every failure becomes one `SourceError` line that names
the server and never contains the password.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, BinaryIO, cast

from syncd.config_spec import LOCAL_HOSTS
from syncd.errors import NeedsAuth, SourceError, first_line_of
from syncd.timeutil import MONTH_NUMBERS

CONNECT_TIMEOUT_SECONDS = 10  # a refused or unreachable server fails well within the 15 s promise
READ_TIMEOUT_SECONDS = 60

_WIRE_ERRORS = (imaplib.IMAP4.error, OSError, EOFError)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str  # "tls", "starttls" or "plain"
    ca_file: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Folder:
    name: str  # as the server spells it (modified UTF-7), quoted when sent
    flags: frozenset[str]  # lower-case: \sent, \junk, \trash, \noselect, ...

    @property
    def selectable(self) -> bool:
        return not {"\\noselect", "\\nonexistent"} & self.flags


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None


@dataclass(frozen=True)
class Fetched:
    uid: int
    flags: frozenset[str]
    headers: bytes
    internaldate_text: bytes = b""  # as the server sent it: read only for a message without a usable Date

    @cached_property
    def internaldate(self) -> datetime | None:
        return _internaldate(self.internaldate_text) if self.internaldate_text else None


def describe(error: BaseException) -> str:
    """One line for an imaplib or socket failure (the server's words, never our command)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({error.verify_message}); set ca_file for a private CA"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (imaplib.IMAP4.abort, EOFError)):
        return f"connection lost ({_reply(error) or 'closed by the server'})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return _reply(error) or type(error).__name__


def _reply(error: BaseException) -> str:
    """The first line of what the server said: imaplib puts the reply in args[0], often as a bytes repr."""
    text = str(error.args[0] if error.args else error)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return first_line_of(text)[:200]


def connect(endpoint: Endpoint) -> imaplib.IMAP4:
    """A connected client, TLS verified against the system CAs or `ca_file`."""
    if endpoint.security == "plain" and endpoint.host not in LOCAL_HOSTS:
        raise SourceError(f"{endpoint.label}: plain (unencrypted) IMAP is only allowed to localhost")
    try:
        context = ssl.create_default_context(cafile=str(endpoint.ca_file) if endpoint.ca_file else None)
    except (OSError, ssl.SSLError) as error:
        raise SourceError(f"ca_file {endpoint.ca_file}: cannot load: {describe(error)}") from None
    try:
        client: imaplib.IMAP4
        if endpoint.security == "tls":
            client = imaplib.IMAP4_SSL(
                endpoint.host, endpoint.port, ssl_context=context, timeout=CONNECT_TIMEOUT_SECONDS
            )
        else:
            client = imaplib.IMAP4(endpoint.host, endpoint.port, timeout=CONNECT_TIMEOUT_SECONDS)
            if endpoint.security == "starttls":
                client.starttls(context)
        client.sock.settimeout(READ_TIMEOUT_SECONDS)
    except _WIRE_ERRORS as error:
        raise SourceError(f"{endpoint.label}: cannot connect: {describe(error)}") from None
    return client


def login(client: imaplib.IMAP4, endpoint: Endpoint, username: str, password: str, auth_hint: str) -> set[str]:
    """Log in once (a wrong password must not lock the account with retries); the
    capabilities the server offers after login, upper-case."""
    try:
        if password.isascii() and username.isascii():
            client.login(username, password)
        else:  # LOGIN is ASCII-only in imaplib; SASL PLAIN carries UTF-8
            token = f"\0{username}\0{password}".encode()
            client.authenticate("PLAIN", lambda _challenge: token)
    except imaplib.IMAP4.abort as error:
        raise SourceError(f"{endpoint.label}: {describe(error)}") from None
    except imaplib.IMAP4.error as error:
        raise NeedsAuth(f"{endpoint.label}: login as {username} refused ({_reply(error)}); {auth_hint}") from None
    except OSError as error:
        raise SourceError(f"{endpoint.label}: {describe(error)}") from None
    _, answer = client.response("CAPABILITY")  # most servers name them in the LOGIN answer
    if not answer or answer[-1] is None:
        answer = command(client, endpoint, "CAPABILITY", client.capability)
    capabilities = answer[-1].decode("ascii", "replace").upper().split() if answer else []
    client.capabilities = tuple(capabilities)  # imaplib keeps the pre-login list otherwise
    return set(capabilities)


def command(
    client: imaplib.IMAP4, endpoint: Endpoint, what: str, call: Callable[[], tuple[str, list[Any]]]
) -> list[Any]:
    """Run one imaplib call; a NO/BAD or a broken connection becomes one SourceError line."""
    try:
        status, data = call()
    except _WIRE_ERRORS as error:
        raise SourceError(f"{endpoint.label}: {what}: {describe(error)}") from None
    if status != "OK":
        detail = data[-1].decode("utf-8", "replace") if data and isinstance(data[-1], bytes) else status
        raise SourceError(f"{endpoint.label}: {what}: {detail[:200]}")
    return [part for part in data if part is not None]


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_folder_name(name: str) -> str:
    """A folder name as the user writes it (UTF-8) in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def parse_list(data: list[bytes | tuple[bytes, bytes]]) -> list[Folder]:
    """LIST responses; a name sent as a literal arrives as a (prefix, name) tuple."""
    folders = []
    for item in data:
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        match = _LIST_LINE.match(line)
        if not match:
            continue
        flags = frozenset(flag.lower() for flag in match.group("flags").decode("ascii", "replace").split())
        raw = literal if literal is not None else match.group("name")
        name = raw.decode("utf-8", "replace").strip()
        if name.startswith('"') and name.endswith('"'):
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        folders.append(Folder(name=name, flags=flags))
    return folders


def parse_status(data: list[bytes]) -> FolderStatus:
    text = b" ".join(part for part in data if isinstance(part, bytes)).decode("ascii", "replace")
    values = {key.upper(): int(value) for key, value in re.findall(r"([A-Za-z]+) (\d+)", text)}
    if "UIDVALIDITY" not in values or "UIDNEXT" not in values:
        raise SourceError(f"STATUS answer without UIDVALIDITY/UIDNEXT: {text[:200]}")
    return FolderStatus(values["UIDVALIDITY"], values["UIDNEXT"], values.get("HIGHESTMODSEQ"))


_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
# A FETCH answer in the order syncd asks for its items (Dovecot's, and most servers'; MODSEQ under
# CONDSTORE): one match; anything else goes to parse_fetch_answer
_MODSEQ = rb"(?:MODSEQ \(\d+\) )?"
_IN_ORDER = re.compile(
    rb"\* \d+ FETCH \(UID (\d+) " + _MODSEQ + rb"FLAGS \(([^)]*)\) " + _MODSEQ + rb'INTERNALDATE "([^"]+)" '
)
_MAX_LINE = 1_000_000  # imaplib's limit on one response line


def send_uid_fetch(client: imaplib.IMAP4, uids: str, items: str) -> tuple[str, list[Any]]:
    """Send `UID FETCH` without waiting for its answer (read it with `read_uid_fetch`): a command sent
    ahead is prepared by the server while syncd stores the previous answer (pipelining, RFC 3501 5.5)."""
    return "OK", [client._command("UID", "FETCH", uids, items)]


def read_uid_fetch(client: imaplib.IMAP4, tag: bytes) -> tuple[str, list[Any]]:
    """The answers to the UID FETCH sent as `tag`, read straight off the connection into `Fetched`
    items; a NO or BAD comes back as (status, [the server's text]) the way imaplib answers.

    imaplib's general response loop (several regular expressions a line, every answer kept as a
    tuple among the untagged data) cost as much as the server's whole work on a header fetch; here a
    message costs two line reads, one literal read and one match. Other untagged answers (an
    unsolicited EXISTS, a FETCH without UID) are dropped: nothing syncd reads comes from them."""
    fetched: list[Any] = []
    wire = cast(BinaryIO, client.file)  # imaplib opens the socket's file with makefile("rb")
    readline, read = wire.readline, wire.read
    while True:
        line = _line(client, readline)
        if line.startswith(tag + b" "):
            del client.tagged_commands[tag]
            status, _, text = line[len(tag) + 1 : -2].partition(b" ")
            return status.decode("ascii", "replace"), fetched if status == b"OK" else [text]
        literal = None
        while size := _LITERAL.search(line):  # the answer goes on after each literal
            data = read(int(size.group(1)))
            literal = data if literal is None else literal
            line = line[: size.start()] + _line(client, readline)
        in_order = _IN_ORDER.match(line)
        if in_order:
            uid, flags, date = in_order.groups()
            fetched.append(Fetched(int(uid), _flag_set(flags), literal or b"", date))
        elif line.startswith(b"* ") and (item := parse_fetch_answer(line, literal or b"")):
            fetched.append(item)


def _line(client: imaplib.IMAP4, readline: Callable[[int], bytes]) -> bytes:
    """One response line with its CRLF, failing as imaplib does on a closed or broken connection."""
    line = readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise client.error(f"got more than {_MAX_LINE} bytes")
    if not line.endswith(b"\r\n"):
        raise client.abort("socket error: EOF" if not line else "socket error: unterminated line")
    return line


def parse_fetch_answer(text: bytes, literal: bytes) -> Fetched | None:
    """One FETCH answer, its text without the literal (the header block, when one was asked for)."""
    uid = _UID.search(text)
    if not uid:
        return None
    flags = _FLAGS.search(text)
    date = _INTERNALDATE.search(text)
    return Fetched(
        int(uid.group(1)), _flag_set(flags.group(1)) if flags else frozenset(), literal, date.group(1) if date else b""
    )


@lru_cache(maxsize=256)
def _flag_set(raw: bytes) -> frozenset[str]:
    """Lower-case flags; memoised, since nearly every message of a folder has one of a few flag lists."""
    return frozenset(flag.lower() for flag in raw.decode("ascii", "replace").split())


# INTERNALDATE's date-time (RFC 3501): ` 2-Nov-2026 09:00:00 +0100`
_DATE_TIME = re.compile(rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")


def _internaldate(raw: bytes) -> datetime | None:
    """INTERNALDATE in UTC, read field by field: `strptime` cost more than the rest of a FETCH's parsing."""
    match = _DATE_TIME.fullmatch(raw.strip())
    month = MONTH_NUMBERS.get(match.group(2).decode("ascii").lower()) if match else None
    if not match or not month:
        return None
    day, _, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        return local - offset if sign == b"+" else local + offset
    except (ValueError, OverflowError):
        return None


def uid_ranges(first: int, last: int, size: int) -> list[str]:
    """`first:last` cut into UID ranges of `size` (sparse UIDs cost nothing in a range)."""
    return [f"{start}:{min(start + size - 1, last)}" for start in range(first, last + 1, size)]


def logout(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(*_WIRE_ERRORS):
        client.logout()
