"""mbox files and Maildir folders as message sources (headers only).

An mbox is re-read only when its size or mtime changed, in one binary scan of its header
blocks (`mbox_scan`); a Maildir is read by key, so only new messages are opened. A message
that vanished keeps its row (mail is history: the store never deletes it); an emptied mailbox
is refused as an empty read.
"""

from __future__ import annotations

import enum
import os
import stat
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

from syncd.errors import first_line
from syncd.records import Batch, Message
from syncd.sources.base import SourceError, SyncContext, display_path, file_signature, log
from syncd.sources.mail_headers import build_message, header_block_in, message_date, parse_headers, read_header_block
from syncd.sources.mbox_scan import header_blocks
from syncd.sources.progress import Progress

BATCH_SIZE = 5000
_FIRST_READ = 64 * 1024  # holds the header block of nearly every message


class Passed(enum.Enum):
    """Why a message gave no record: it cannot be read, or it is older than the look-back."""

    UNUSABLE = "unusable"
    TOO_OLD = "too old"


def _record(
    headers: bytes,
    from_line: bytes,
    labels: tuple[str, ...],
    label: str,
    key: str,
    cut: bool,
    since: datetime | None = None,
) -> Message | Passed:
    """One message; an unusable one is logged once at debug with its key so it costs only itself.
    The date comes first: a message older than `since` is passed over before its addresses are parsed."""
    try:
        parsed = parse_headers(headers)
        date = message_date(parsed, from_line)
        if date is None:
            log.debug("%s: skipping message %s: no usable Date", label, key)
            return Passed.UNUSABLE
        if since is not None and date < since:
            return Passed.TOO_OLD
        return build_message(parsed, date, from_line, labels, headers_cut=cut)
    except (ValueError, TypeError, LookupError, UnicodeError, OverflowError) as error:
        log.debug("%s: skipping message %s: %s", label, key, first_line(error))
        return Passed.UNUSABLE


def maildir_entries(path: Path) -> dict[str, tuple[Path, str]]:
    """key → (file, flags), read from file names as the Maildir spec defines them.

    The key is the unique part before the `:2,` info, so a message keeps its key when
    a mail client moves it from new/ to cur/ or changes its flags. Only regular files are
    messages: a FIFO, socket or folder left in new/ or cur/ would block or fail an open.
    """
    entries: dict[str, tuple[Path, str]] = {}
    for sub in ("new", "cur"):
        with os.scandir(path / sub) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                if not entry.is_file():
                    log.debug("%s: skipping %s: not a regular file", display_path(path), entry.path)
                    continue
                key, _, info = entry.name.partition(":")
                entries[key] = (path / sub / entry.name, info[2:] if info.startswith("2,") else "")
    return entries


def folder_labels(path: Path) -> tuple[str, ...]:
    """A Maildir that is a junk or trash folder (`.Junk`, `Trash`, `.INBOX.Spam`…) labels its
    messages so, as Gmail's SPAM and TRASH do, they never count as touches."""
    name = path.name.rsplit(".", 1)[-1].strip().lower()
    if name in _JUNK_FOLDERS:
        return ("SPAM",)
    if name in _TRASH_FOLDERS:
        return ("TRASH",)
    return ()


def _listing(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


_JUNK_FOLDERS = frozenset({"junk", "spam", "junk e-mail", "junk email", "bulk mail"})
_TRASH_FOLDERS = frozenset({"trash", "bin", "deleted", "deleted items", "deleted messages", "papierkorb"})


class MboxSource:
    kind = "mbox"

    def __init__(self, path: Path):
        self.path = path
        self.name = f"mbox:{display_path(path)}"

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        if not self.path.is_file():
            raise SourceError(f"{display_path(self.path)}: no such mbox file")
        signature = file_signature(self.path)
        since = int(context.since.timestamp())
        if cursor and cursor.get("file") == signature and cursor.get("since", since) <= since:
            return
        try:
            descriptor = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as error:
            raise SourceError(f"{display_path(self.path)}: cannot read: {error.strerror}") from None
        # Batches of BATCH_SIZE keep memory flat however big the mbox; they share one
        # generation and only the last one prunes (and carries the new cursor), so rows of
        # messages that left the file go only once the whole file has been read. Until then
        # the old cursor stays, so an interrupted read starts over.
        generation = uuid.uuid4().hex
        seen: set[str] = set()  # the first copy of a duplicated Message-ID wins
        batch: list[Message] = []
        found = skipped = 0
        progress = Progress(self.name, context)
        try:
            for block in header_blocks(descriptor):
                record = _record(
                    block.headers, block.from_line, (), self.name, f"at byte {block.offset}", block.cut, context.since
                )
                found += record is not Passed.UNUSABLE
                skipped += record is Passed.UNUSABLE
                progress.tick(found + skipped)
                if isinstance(record, Passed) or record.item_id in seen:
                    continue
                seen.add(record.item_id)
                batch.append(record)
                if len(batch) >= BATCH_SIZE:
                    yield Batch(upserts=batch, cursor=cursor, scope="", generation=generation)
                    batch = []
        except OSError as error:
            raise SourceError(f"{display_path(self.path)}: cannot read: {error.strerror}") from None
        finally:
            os.close(descriptor)
        progress.update(found + skipped, final=True)
        yield Batch(
            upserts=batch,
            cursor={"file": signature, "since": since},
            scope="",
            generation=generation,
            prune=True,
            found=found,
            skipped=skipped,
        )


class MaildirSource:
    kind = "maildir"

    def __init__(self, path: Path):
        self.path = path
        self.name = f"maildir:{display_path(path)}"
        self.labels = folder_labels(path)

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        if not (self.path / "cur").is_dir() or not (self.path / "new").is_dir():
            raise SourceError(f"{display_path(self.path)}: not a Maildir (expected cur/ and new/ folders)")
        cursor = dict(cursor or {})
        watched = self._withdrawing_folders()
        folders = [file_signature(folder / sub) for folder in [self.path, *watched] for sub in ("cur", "new")]
        since = int(context.since.timestamp())
        if cursor.get("folders") == folders and cursor.get("since", since) <= since:
            return
        try:
            entries = maildir_entries(self.path)
        except OSError as error:
            raise SourceError(f"{display_path(self.path)}: cannot list: {error.strerror}") from None
        keys = set(entries)
        same_window = cursor.get("since", since) <= since
        passed_over = set(cursor.get("passed_over", [])) & keys if same_window else set()
        unreadable = set(cursor.get("unreadable", [])) & passed_over
        item_of_key: dict[str, str] = dict(cursor.get("items", {}))
        was_trashed = set(cursor.get("trashed", []))
        gone = [key for key in item_of_key if key not in keys]
        gone_items = {item_of_key.pop(key) for key in gone} - set(item_of_key.values())
        trashed = {key for key, (_, flags) in entries.items() if "T" in flags}
        flag_changed = {key for key in item_of_key if (key in trashed) != (key in was_trashed)}
        to_read = sorted(
            key for key in keys if (key not in item_of_key and key not in passed_over) or key in flag_changed
        )
        binned = {folder: set(cursor.get("binned", {}).get(str(folder), [])) for folder in watched}
        batch: list[Message] = []

        def make_cursor(final: bool) -> dict[str, Any]:
            return {
                "folders": folders if final else None,
                "since": since,
                "items": dict(item_of_key),
                "passed_over": sorted(passed_over),
                "trashed": sorted(trashed & set(item_of_key)),
                "unreadable": sorted(unreadable),
                "binned": {str(folder): sorted(keys) for folder, keys in binned.items()},
            }

        progress = Progress(self.name, context)
        for done, key in enumerate(to_read, 1):
            record = self._read(key, *entries[key], since=context.since)
            progress.tick(done)
            if record is Passed.UNUSABLE:
                unreadable.add(key)
            if isinstance(record, Passed):
                passed_over.add(key)
                continue
            batch.append(record)
            item_of_key[key] = record.item_id
            if len(batch) >= BATCH_SIZE:
                yield Batch(upserts=batch, cursor=make_cursor(False))
                batch = []
        progress.update(len(to_read), final=True)
        batch += self._withdrawn(binned, lambda: context.known_ids(None) | set(item_of_key.values()))
        yield Batch(
            upserts=batch,
            deletes=sorted(gone_items),
            cursor=make_cursor(True),
            found=len(keys),
            skipped=len(unreadable),
        )

    def _withdrawing_folders(self) -> list[Path]:
        """The Junk and Trash folders beside this one: Maildir++ subfolders (`.Junk`) of an
        INBOX, or sibling folders (`Trash`) when each folder is its own Maildir."""
        if self.labels:
            return []
        candidates = [self.path / name for name in _listing(self.path) if name.startswith(".")]
        candidates += [self.path.parent / name for name in _listing(self.path.parent) if name != self.path.name]
        return sorted(
            folder
            for folder in candidates
            if folder_labels(folder) and (folder / "cur").is_dir() and (folder / "new").is_dir()
        )

    def _withdrawn(self, binned: dict[Path, set[str]], known_ids: Callable[[], set[str]]) -> list[Message]:
        """Messages of this folder that the user moved to Junk or Trash, re-written with that
        label: a move there is the one way a message's touch is withdrawn. New keys only."""
        records = []
        known: set[str] | None = None
        for folder, seen in binned.items():
            labels = folder_labels(folder)
            try:
                entries = maildir_entries(folder)
            except OSError as error:
                log.debug("%s: cannot list %s: %s", self.name, folder, error.strerror)
                continue
            for key in sorted(set(entries) - seen):
                record = self._read(key, entries[key][0], "", labels)
                known = known_ids() if known is None else known
                if isinstance(record, Message) and record.item_id in known:
                    records.append(record)
            seen.clear()
            seen.update(entries)  # keys that left the folder may come back as new ones
        return records

    def _read(
        self, key: str, path: Path, flags: str, labels: tuple[str, ...] = (), since: datetime | None = None
    ) -> Message | Passed:
        """Opened without blocking and read only if still a regular file: something swapped in
        for a message after the listing (a FIFO) must not hang the sync. One read takes the
        header block of nearly every message; a longer one is read line by line."""
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            with os.fdopen(descriptor, "rb") as handle:
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    log.debug("%s: skipping %s: not a regular file", self.name, key)
                    return Passed.UNUSABLE
                block = header_block_in(handle.read(_FIRST_READ))
                if block is None:
                    handle.seek(0)
                    block = read_header_block(handle)
        except OSError as error:
            log.debug("%s: skipping message %s: %s", self.name, key, error.strerror)
            return Passed.UNUSABLE
        _, headers, cut = block
        found = set(labels or self.labels) | ({"TRASH"} if "T" in flags else set())
        return _record(headers, b"", tuple(sorted(found)), self.name, key, cut, since)
