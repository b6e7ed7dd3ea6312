"""mbox files and Maildir folders as message sources (stdlib `mailbox`, headers only).

An mbox is re-read only when its size or mtime changed; a Maildir is read by key, so
only new messages are opened and vanished keys delete their rows.
"""

from __future__ import annotations

import mailbox
import os
import uuid
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from syncd.records import Message
from syncd.sources.base import SourceError, SyncContext, display_path, file_signature, log
from syncd.sources.mail_headers import message_from_headers, read_header_block
from syncd.records import Batch

BATCH_SIZE = 5000


def _read(box: mailbox.mbox, key: str, label: str) -> Message | None:
    try:
        handle = box.get_file(key, from_=True)
        try:
            from_line, headers = read_header_block(handle)
        finally:
            handle.close()
    except OSError as error:
        log.warning("%s: skipping message %s: %s", label, key, error)
        return None
    return _record(headers, from_line, (), label, key)


def _record(headers: bytes, from_line: bytes, labels: tuple[str, ...], label: str, key: str) -> Message | None:
    try:
        record = message_from_headers(headers, from_line, labels)
    except (ValueError, TypeError, LookupError, UnicodeError) as error:
        log.warning(
            "%s: skipping message %s: %s",
            label,
            key,
            str(error).splitlines()[0] if str(error) else type(error).__name__,
        )
        return None
    if record is None:
        log.warning("%s: skipping message %s: no usable Date", label, key)
    return record


def maildir_entries(path: Path) -> dict[str, tuple[Path, str]]:
    """key → (file, flags), read from file names as the Maildir spec defines them.

    The key is the unique part before the `:2,` info, so a message keeps its key when
    a mail client moves it from new/ to cur/ or changes its flags.
    """
    entries: dict[str, tuple[Path, str]] = {}
    for sub in ("new", "cur"):
        for name in os.listdir(path / sub):
            if name.startswith("."):
                continue
            key, _, info = name.partition(":")
            entries[key] = (path / sub / name, info[2:] if info.startswith("2,") else "")
    return entries


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
            box = mailbox.mbox(self.path, create=False)
            keys = box.keys()
        except (OSError, mailbox.Error) as error:
            raise SourceError(f"{display_path(self.path)}: cannot read: {error}") from None
        # Batches of BATCH_SIZE keep memory flat however big the mbox; they share one
        # generation and only the last one prunes (and carries the new cursor), so rows of
        # messages that left the file go only once the whole file has been read. Until then
        # the old cursor stays, so an interrupted read starts over.
        generation = uuid.uuid4().hex
        seen: set[str] = set()  # the first copy of a duplicated Message-ID wins
        batch: list[Message] = []
        try:
            for key in keys:
                record = _read(box, key, self.name)
                if record is None or record.date < context.since or record.item_id in seen:
                    continue
                seen.add(record.item_id)
                batch.append(record)
                if len(batch) >= BATCH_SIZE:
                    yield Batch(upserts=batch, cursor=cursor, scope="", generation=generation)
                    batch = []
        finally:
            box.close()
        yield Batch(
            upserts=batch, cursor={"file": signature, "since": since}, scope="", generation=generation, prune=True
        )


class MaildirSource:
    kind = "maildir"

    def __init__(self, path: Path):
        self.path = path
        self.name = f"maildir:{display_path(path)}"

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        if not (self.path / "cur").is_dir() or not (self.path / "new").is_dir():
            raise SourceError(f"{display_path(self.path)}: not a Maildir (expected cur/ and new/ folders)")
        cursor = dict(cursor or {})
        folders = [file_signature(self.path / "cur"), file_signature(self.path / "new")]
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
        item_of_key: dict[str, str] = dict(cursor.get("items", {}))
        was_trashed = set(cursor.get("trashed", []))
        gone = [key for key in item_of_key if key not in keys]
        gone_items = {item_of_key.pop(key) for key in gone} - set(item_of_key.values())
        trashed = {key for key, (_, flags) in entries.items() if "T" in flags}
        flag_changed = {key for key in item_of_key if (key in trashed) != (key in was_trashed)}
        to_read = sorted(
            key for key in keys if (key not in item_of_key and key not in passed_over) or key in flag_changed
        )
        batch: list[Message] = []

        def make_cursor(final: bool) -> dict[str, Any]:
            return {
                "folders": folders if final else None,
                "since": since,
                "items": dict(item_of_key),
                "passed_over": sorted(passed_over),
                "trashed": sorted(trashed & set(item_of_key)),
            }

        for key in to_read:
            record = self._read(key, *entries[key])
            if record is None or record.date < context.since:
                passed_over.add(key)
                continue
            batch.append(record)
            item_of_key[key] = record.item_id
            if len(batch) >= BATCH_SIZE:
                yield Batch(upserts=batch, cursor=make_cursor(False))
                batch = []
        yield Batch(upserts=batch, deletes=sorted(gone_items), cursor=make_cursor(True))

    def _read(self, key: str, path: Path, flags: str) -> Message | None:
        try:
            with open(path, "rb") as handle:
                _, headers = read_header_block(handle)
        except OSError as error:
            log.warning("%s: skipping message %s: %s", self.name, key, error.strerror)
            return None
        return _record(headers, b"", ("TRASH",) if "T" in flags else (), self.name, key)
