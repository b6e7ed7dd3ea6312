"""mbox files and Maildir folders as message sources (stdlib `mailbox`, headers only).

An mbox is re-read only when its size or mtime changed; a Maildir is read by key, so
only new messages are opened and vanished keys delete their rows.
"""

from __future__ import annotations

import mailbox
import uuid
from pathlib import Path
from typing import Any, Iterator

from syncd.records import Message
from syncd.sources.base import SourceError, SyncContext, display_path, file_signature, log
from syncd.sources.mail_headers import message_from_headers, read_header_block
from syncd.store import Batch

BATCH_SIZE = 5000


def _read(box: mailbox.Mailbox, key: str, label: str, from_=False) -> Message | None:
    try:
        handle = box.get_file(key, from_=True) if from_ else box.get_file(key)
        try:
            from_line, headers = read_header_block(handle)
        finally:
            handle.close()
        extra = ("TRASH",) if isinstance(box, mailbox.Maildir) and "T" in box.get_flags(key) else ()
        record = message_from_headers(headers, from_line, extra)
    except (OSError, ValueError, TypeError, LookupError, UnicodeError) as error:
        log.warning("%s: skipping message %s: %s", label, key, str(error).splitlines()[0] if str(error) else type(error).__name__)
        return None
    if record is None:
        log.warning("%s: skipping message %s: no usable Date", label, key)
    return record


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
        records: dict[str, Message] = {}
        for key in keys:
            record = _read(box, key, self.name, from_=True)
            if record is not None and record.date >= context.since:
                records.setdefault(record.item_id, record)
        box.close()
        yield Batch(upserts=list(records.values()), cursor={"file": signature, "since": since},
                    scope="", generation=uuid.uuid4().hex, prune=True)


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
        box = mailbox.Maildir(self.path, factory=None, create=False)
        keys = set(box.keys())
        known = context.known_ids(None)
        passed_over = set(cursor.get("passed_over", [])) & keys if cursor.get("since", since) <= since else set()
        item_of_key: dict[str, str] = dict(cursor.get("items", {}))
        gone_items = [item_of_key.pop(key) for key in list(item_of_key) if key not in keys]
        gone_items = [item for item in gone_items if item not in item_of_key.values()]
        new_keys = sorted(key for key in keys if key not in item_of_key and key not in passed_over)
        batch: list[Message] = []

        def make_cursor(final: bool) -> dict[str, Any]:
            return {"folders": folders if final else None, "since": since, "items": dict(item_of_key), "passed_over": sorted(passed_over)}

        for key in new_keys:
            record = _read(box, key, self.name)
            if record is None or record.date < context.since:
                passed_over.add(key)
                continue
            item_of_key[key] = record.item_id
            if record.item_id not in known:
                batch.append(record)
            if len(batch) >= BATCH_SIZE:
                yield Batch(upserts=batch, cursor=make_cursor(False))
                batch = []
        yield Batch(upserts=batch, deletes=gone_items, cursor=make_cursor(True))
