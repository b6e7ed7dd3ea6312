"""IMAP accounts as message sources: headers only, incremental by UIDVALIDITY + UIDNEXT.

Per folder the cursor keeps UIDVALIDITY, UIDNEXT and, where the server offers CONDSTORE
(RFC 7162), HIGHESTMODSEQ. A sync STATUSes each folder (one round trip when nothing
changed), fetches only UIDs from the old UIDNEXT on, and, when the mod-sequence moved,
asks for the flags changed since (a message marked \\Deleted stops counting, as Maildir's
T flag does). A changed UIDVALIDITY re-reads that folder from the look-back bound.

Mail is history: a message expunged from the server keeps its row and its touch. Only a
move to the Junk or Trash folder (RFC 6154 `\\Junk`/`\\Trash`) withdraws it: those folders
are never read for touches, but the Message-IDs of new arrivals there are matched against
messages already stored, and those are re-written with a SPAM/TRASH label.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from syncd.config_types import ImapConfig
from syncd.errors import SourceError
from syncd.records import Batch, Message
from syncd.secrets import resolve_password
from syncd.sources.base import SyncContext, log
from syncd.sources.imap_protocol import (
    Endpoint,
    Fetched,
    Folder,
    FolderStatus,
    command,
    connect,
    encode_folder_name,
    login,
    logout,
    parse_list,
    parse_status,
    quote,
    read_uid_fetch,
    send_uid_fetch,
    uid_ranges,
)
from syncd.sources.mail_headers import (
    RECORD_HEADERS,
    build_message,
    message_date,
    message_from_headers,
    parse_headers,
)
from syncd.sources.progress import Progress

UID_RANGE = 5000  # UIDs per FETCH: large ranges, few round trips, bounded memory per batch
WITHDRAWING_FLAGS = {"\\junk": "SPAM", "\\trash": "TRASH"}
HEADER_ITEMS = f"(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS ({' '.join(RECORD_HEADERS).upper()})])"
MESSAGE_ID_ITEMS = "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"


@dataclass(frozen=True)
class ImapAccount:
    host: str
    username: str
    port: int | None = None
    security: str = "tls"
    name: str | None = None
    password_command: tuple[str, ...] | None = None
    folders: tuple[str, ...] | None = None  # None: INBOX and the \Sent folder
    ca_file: Path | None = None

    @classmethod
    def from_config(cls, table: ImapConfig) -> ImapAccount:
        return cls(
            host=table.host,
            username=table.username,
            port=table.port,
            security=table.security or "tls",
            name=table.name,
            password_command=tuple(table.password_command) if table.password_command else None,
            folders=tuple(table.folders) if table.folders else None,
            ca_file=table.ca_file,
        )

    @property
    def endpoint(self) -> Endpoint:
        port = self.port or (993 if self.security == "tls" else 143)
        return Endpoint(self.host, port, self.security, self.ca_file)

    def check_login(self, password: str, auth_hint: str) -> Endpoint:
        """One login and logout, before `syncd auth` stores a password or when `doctor` asks: a
        refusal is NeedsAuth ending in `auth_hint`, an unreachable server SourceError."""
        endpoint = self.endpoint
        client = connect(endpoint)
        try:
            login(client, endpoint, self.username, password, auth_hint)
        finally:
            logout(client)
        return endpoint


@dataclass
class _Run:
    """One sync's connection and running cursor."""

    client: imaplib.IMAP4
    endpoint: Endpoint
    capabilities: set[str]
    cursor: dict[str, Any]
    since: datetime
    known_ids: Callable[[], set[str]]
    progress: Progress
    fetched: int = 0

    def call(self, what: str, function: Callable[..., tuple[str, list[Any]]], *args: Any) -> list[Any]:
        return command(self.client, self.endpoint, what, lambda: function(*args))

    def fetch(self, folder: Folder, uids: str, items: str) -> list[Fetched]:
        return next(self.fetch_each(folder, [uids], items))[1]

    def fetch_each(self, folder: Folder, uid_sets: list[str], items: str) -> Iterator[tuple[str, list[Fetched]]]:
        """(UID set, its answers) for each set in order. The next set's command is sent before this
        set's answer is read, so the server prepares it while this one is parsed and stored; an answer
        left unread when the caller stops is read (and dropped) by imaplib at LOGOUT."""
        what = f"FETCH {folder.name}"
        tags = [self.call(what, send_uid_fetch, self.client, uids, items)[0] for uids in uid_sets[:1]]
        for index, uids in enumerate(uid_sets):
            if index + 1 < len(uid_sets):
                tags.append(self.call(what, send_uid_fetch, self.client, uid_sets[index + 1], items)[0])
            yield uids, self.call(what, read_uid_fetch, self.client, tags[index])

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.capabilities or "QRESYNC" in self.capabilities


class ImapSource:
    kind = "imap"

    def __init__(self, account: ImapAccount):
        self.account = account
        self.name = f"imap:{account.name or f'{account.username}@{account.host}'}"

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        endpoint = self.account.endpoint
        password = resolve_password(self.name, self.account.password_command)
        client = connect(endpoint)
        try:
            hint = f"fix the password (`syncd auth {self.name}` or password_command)"
            capabilities = login(client, endpoint, self.account.username, password, hint)
            del password
            run = self._start(client, endpoint, capabilities, cursor, context)
            reading, withdrawing = self._folders(run)
            for folder in reading:
                yield from self._sync_folder(run, folder)
            for folder in withdrawing:
                yield from self._withdraw_moved(run, folder)
            if run.fetched:
                run.progress.update(run.fetched, final=True)
            found = run.cursor.pop("full_read_found", None)
            yield Batch(upserts=[], cursor=_copy(run.cursor), own_addresses=self._own_addresses(), found=found)
        finally:
            logout(client)

    def _own_addresses(self) -> list[str] | None:
        return [self.account.username] if "@" in self.account.username else None

    def _start(
        self,
        client: imaplib.IMAP4,
        endpoint: Endpoint,
        capabilities: set[str],
        cursor: dict[str, Any] | None,
        context: SyncContext,
    ) -> _Run:
        since = int(context.since.timestamp())
        fresh = not cursor or cursor.get("server") != endpoint.label or cursor.get("since", since) > since
        state: dict[str, Any] = {"server": endpoint.label, "since": since, "folders": {}, "watched": {}}
        if fresh:  # a full read counts what it finds, across interruptions, for the empty-read guard
            state["full_read_found"] = 0
        elif cursor:
            state["folders"] = dict(cursor.get("folders", {}))
            state["watched"] = dict(cursor.get("watched", {}))
            if "full_read_found" in cursor:
                state["full_read_found"] = cursor["full_read_found"]
        known_ids = partial(context.known_ids, None)
        run = _Run(client, endpoint, capabilities, state, context.since, known_ids, Progress(self.name, context))
        if run.condstore:
            run.call("ENABLE CONDSTORE", client.enable, "CONDSTORE")
        return run

    def _folders(self, run: _Run) -> tuple[list[Folder], list[Folder]]:
        """(folders read for touches, Junk/Trash folders watched for moves)."""
        # RFC 6154 servers must name \Sent/\Junk/\Trash when asked with RETURN (SPECIAL-USE)
        pattern = '"*" RETURN (SPECIAL-USE)' if "SPECIAL-USE" in run.capabilities else '"*"'
        listed = parse_list(run.call("LIST", run.client.list, '""', pattern))
        withdrawing = [folder for folder in listed if WITHDRAWING_FLAGS.keys() & folder.flags and folder.selectable]
        never = {folder.name for folder in withdrawing}
        if self.account.folders is None:
            reading = [Folder("INBOX", frozenset())]
            reading += [folder for folder in listed if "\\sent" in folder.flags and folder.selectable]
        else:
            by_name = {folder.name: folder for folder in listed}
            by_name.update({folder.name.upper(): folder for folder in listed if folder.name.upper() == "INBOX"})
            reading = []
            for wanted in self.account.folders:
                encoded = encode_folder_name(wanted)
                folder = by_name.get(encoded) or by_name.get(encoded.upper())
                if folder is None or not folder.selectable:
                    names = ", ".join(sorted(item.name for item in listed if item.selectable))
                    raise SourceError(f"{run.endpoint.label}: folder {wanted!r} does not exist (folders: {names})")
                if folder.name in never:
                    log.warning("%s: folder %r is a Junk/Trash folder; it is never read", self.name, wanted)
                    continue
                reading.append(folder)
        return [folder for folder in reading if folder.name not in never], withdrawing

    def _status(self, run: _Run, folder: Folder) -> FolderStatus:
        items = "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)" if run.condstore else "(UIDVALIDITY UIDNEXT)"
        return parse_status(run.call(f"STATUS {folder.name}", run.client.status, quote(folder.name), items))

    def _sync_folder(self, run: _Run, folder: Folder) -> Iterator[Batch]:
        status = self._status(run, folder)
        old = run.cursor["folders"].get(folder.name)
        if old and old.get("uidvalidity") != status.uidvalidity:
            log.info("%s: %s: UIDVALIDITY changed; reading the folder again", self.name, folder.name)
            old = None
        if old and old["uidnext"] == status.uidnext and old.get("modseq") == status.highestmodseq:
            return
        run.call(f"EXAMINE {folder.name}", run.client.select, quote(folder.name), True)
        first = old["uidnext"] if old else self._first_uid_since(run, folder)
        state: dict[str, Any] = {
            "uidvalidity": status.uidvalidity,
            "uidnext": first,
            "modseq": old.get("modseq") if old else None,
            "deleted": list(old.get("deleted", [])) if old else [],
        }
        run.cursor["folders"][folder.name] = state
        if old and old.get("modseq") and status.highestmodseq and old["modseq"] != status.highestmodseq:
            records = self._flag_changes(run, folder, state, old["modseq"], old["uidnext"])
            if records:
                yield Batch(upserts=records, cursor=_copy(run.cursor))
        for uids, fetched in run.fetch_each(folder, uid_ranges(first, status.uidnext - 1, UID_RANGE), HEADER_ITEMS):
            records = [record for item in fetched if (record := self._record(item, since=run.since))]
            state["deleted"] = sorted(
                set(state["deleted"]) | {item.uid for item in fetched if "\\deleted" in item.flags}
            )
            state["uidnext"] = int(uids.split(":")[1]) + 1
            run.fetched += len(fetched)
            run.progress.update(run.fetched)
            if "full_read_found" in run.cursor:
                run.cursor["full_read_found"] += len(records)
            yield Batch(upserts=records, cursor=_copy(run.cursor))
        state["uidnext"] = status.uidnext
        state["modseq"] = status.highestmodseq

    def _first_uid_since(self, run: _Run, folder: Folder) -> int:
        """The first UID worth fetching on a full read: the oldest message the look-back keeps
        by arrival date (one day of slack for the server's date-only SEARCH)."""
        day = datetime.fromtimestamp(run.since.timestamp() - 86400, UTC).strftime("%d-%b-%Y")
        found = run.call(f"SEARCH {folder.name}", run.client.uid, "SEARCH", "SINCE", day)
        uids = [int(uid) for part in found for uid in part.split()]
        return min(uids) if uids else 1 << 62

    def _flag_changes(
        self, run: _Run, folder: Folder, state: dict[str, Any], modseq: int, uidnext: int
    ) -> list[Message]:
        """Messages whose \\Deleted flag changed since `modseq`, re-read with their new label."""
        if uidnext <= 1:
            return []
        changed = run.fetch(folder, f"1:{uidnext - 1}", f"(UID FLAGS) (CHANGEDSINCE {modseq})")
        deleted = set(state["deleted"])
        now_deleted = {item.uid for item in changed if "\\deleted" in item.flags}
        flipped = sorted((now_deleted - deleted) | ({item.uid for item in changed} - now_deleted) & deleted)
        state["deleted"] = sorted((deleted - {item.uid for item in changed}) | now_deleted)
        if not flipped:
            return []
        fetched = run.fetch(folder, ",".join(map(str, flipped)), HEADER_ITEMS)
        known = run.known_ids()
        return [record for record in map(self._record, fetched) if record and record.item_id in known]

    def _withdraw_moved(self, run: _Run, folder: Folder) -> Iterator[Batch]:
        """Stored messages that arrived in a Junk/Trash folder get its label (their touch goes)."""
        status = self._status(run, folder)
        old = run.cursor["watched"].get(folder.name)
        if old and old["uidvalidity"] == status.uidvalidity and old["uidnext"] == status.uidnext:
            return
        run.cursor["watched"][folder.name] = {"uidvalidity": status.uidvalidity, "uidnext": status.uidnext}
        known = run.known_ids()  # read now: the folders read above have just been stored
        if not known:
            yield Batch(upserts=[], cursor=_copy(run.cursor))
            return
        run.call(f"EXAMINE {folder.name}", run.client.select, quote(folder.name), True)
        same = old and old["uidvalidity"] == status.uidvalidity
        first = old["uidnext"] if old and same else self._first_uid_since(run, folder)
        matches: list[int] = []
        for _, ids in run.fetch_each(folder, uid_ranges(first, status.uidnext - 1, UID_RANGE), MESSAGE_ID_ITEMS):
            matches += [item.uid for item in ids if _message_id(item.headers) in known]
        records: list[Message] = []
        if matches:
            label = next(WITHDRAWING_FLAGS[flag] for flag in WITHDRAWING_FLAGS if flag in folder.flags)
            fetched = run.fetch(folder, ",".join(map(str, matches)), HEADER_ITEMS)
            records = [record for record in (self._record(item, (label,)) for item in fetched) if record]
        yield Batch(upserts=records, cursor=_copy(run.cursor))

    def _record(self, item: Fetched, labels: tuple[str, ...] = (), since: datetime | None = None) -> Message | None:
        """The header parsing shared with mbox/Maildir; INTERNALDATE stands in for a missing Date the way
        an mbox `From ` line does (and makes a Message-ID-less fingerprint unique per copy). A message
        dated before `since` is dropped before its record is built. A message without Message-ID is
        read again from the CRLF block, so that its fingerprint (which hashes folded values with their
        line ends) stays the id stores already hold."""
        if "\\deleted" in item.flags:
            labels = (*labels, "TRASH")
        try:
            headers = parse_headers(_unix_lines(item.headers))
            date = message_date(headers) or item.internaldate
            if date is None or (since is not None and date < since):
                return None
            record = build_message(headers, date, b"", labels)
            if record.item_id.startswith("sha1:"):  # fingerprinted: hash the block as sent, as earlier versions did
                return message_from_headers(item.headers, _envelope(item.internaldate), labels)
            return record
        except (ValueError, TypeError, LookupError, UnicodeError) as error:
            log.warning("%s: skipping message UID %d: %s", self.name, item.uid, type(error).__name__)
            return None


def _unix_lines(block: bytes) -> bytes:
    """A FETCHed header block as mbox and Maildir files hold it: `\\n` line ends and no blank line
    after it. IMAP sends CRLF, and a CR sends the shared parser down its stdlib path, 5 times slower."""
    text = block.replace(b"\r\n", b"\n").rstrip(b"\n")
    return text + b"\n" if text else b""


def _envelope(internaldate: datetime | None) -> bytes:
    """The mbox `From ` line INTERNALDATE stands for; the fingerprint of a message without
    Message-ID hashes it, so it must not change."""
    if internaldate is None:
        return b""
    return b"From MAILER-DAEMON " + internaldate.strftime("%a %b %d %H:%M:%S %Y").encode()


def _message_id(headers: bytes) -> str:
    text = headers.decode("utf-8", "replace")
    _, _, value = text.partition(":")
    return value.strip().strip("<>").strip()[:500]


def _copy(cursor: dict[str, Any]) -> dict[str, Any]:
    return {
        **cursor,
        "folders": {name: dict(state) for name, state in cursor["folders"].items()},
        "watched": dict(cursor["watched"]),
    }
