"""Gmail v1 state and handlers, as seen through the `gmail.metadata` scope.

Why strict by default (`metadata_only=True`): syncd asks only for
gmail.metadata, under which Gmail refuses `q` and any format but
metadata/minimal with 403. A fake that allowed them would let a syncd bug
pass here and fail against Google. Every change bumps the mailbox historyId
and appends a history record, as Gmail's history.list shows them.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from .errors import ApiError, bad_request
from .query import Query, encode_token, page_of, page_token_offset
from .timeutil import UTC

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
HISTORY_TYPES = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}


def not_found_entity() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "notFound")


@dataclass
class Message:
    id: str
    thread_id: str
    labels: list[str]
    internal_date: int  # ms since epoch
    headers: list[tuple[str, str]]
    size: int
    history_id: int
    deleted: bool = False

    def ref(self, with_labels: bool = True) -> dict:
        out = {"id": self.id, "threadId": self.thread_id}
        if with_labels:
            out["labelIds"] = list(self.labels)
        return out


class GmailState:
    def __init__(self, email: str, lock: threading.RLock, metadata_only: bool = True, first_history_id: int = 10000):
        self.email = email
        self.lock = lock
        self.metadata_only = metadata_only
        self.messages: dict[str, Message] = {}
        self.history: list[dict] = []
        self.history_id = first_history_id
        self.retention_floor = 0
        self.user_labels: set[str] = set()
        self._n = 0

    # ----- seeding / mutation ----------------------------------------------
    def _record(self, kind: str, msg: Message, label_ids=None) -> None:
        self.history_id += 1
        msg.history_id = self.history_id
        entry = {"message": msg.ref()}
        if label_ids is not None:
            entry["labelIds"] = list(label_ids)
        self.history.append({"id": self.history_id, "messages": [msg.ref(False)], kind: [entry]})

    def add_message(self, headers, internal_date, labels=("INBOX",), thread_id=None, size: int | None = None) -> str:
        with self.lock:
            self._n += 1
            mid = f"{0x18F0A00000000000 + self._n * 0x3F1:016x}"
            if isinstance(internal_date, datetime):
                if internal_date.tzinfo is None:
                    internal_date = internal_date.replace(tzinfo=UTC)
                ms = int(internal_date.timestamp() * 1000)
            else:
                ms = int(internal_date)
            pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
            if not any(k.lower() == "date" for k, _ in pairs):
                when = datetime.fromtimestamp(ms / 1000, UTC)
                pairs.append(("Date", format_datetime(when)))
            for label in labels:
                if label not in SYSTEM_LABELS:
                    self.user_labels.add(label)
            msg = Message(
                mid,
                thread_id or mid,
                list(labels),
                ms,
                pairs,
                size or 1000 + sum(len(k) + len(v) + 4 for k, v in pairs),
                0,
            )
            self.messages[mid] = msg
            self._record("messagesAdded", msg)
            return mid

    def _live(self, mid: str) -> Message:
        msg = self.messages.get(mid)
        if msg is None or msg.deleted:
            raise not_found_entity()
        return msg

    def delete_message(self, mid: str) -> None:
        with self.lock:
            msg = self._live(mid)
            msg.deleted = True
            self._record("messagesDeleted", msg)

    def modify_labels(self, mid: str, add=(), remove=()) -> None:
        with self.lock:
            msg = self._live(mid)
            added = [lb for lb in add if lb not in msg.labels]
            removed = [lb for lb in remove if lb in msg.labels]
            msg.labels = [lb for lb in msg.labels if lb not in removed] + added
            self.user_labels.update(lb for lb in added if lb not in SYSTEM_LABELS)
            if added:
                self._record("labelsAdded", msg, added)
            if removed:
                self._record("labelsRemoved", msg, removed)

    def expire_history(self, upto: int | None = None) -> None:
        """startHistoryId below `upto` (default: everything up to now) answers 404."""
        with self.lock:
            self.retention_floor = self.history_id + 1 if upto is None else upto
            self.history = [r for r in self.history if r["id"] >= self.retention_floor]

    # ----- handlers ----------------------------------------------------------
    def check_user(self, user: str) -> None:
        if user not in ("me", self.email):
            raise ApiError(403, f"Delegation denied for {self.email}", "forbidden")

    def profile(self) -> dict:
        with self.lock:
            live = [m for m in self.messages.values() if not m.deleted]
            return {
                "emailAddress": self.email,
                "messagesTotal": len(live),
                "threadsTotal": len({m.thread_id for m in live}),
                "historyId": str(self.history_id),
            }

    def list_messages(self, q: Query) -> dict:
        if q.get("q") and self.metadata_only:
            raise ApiError(403, "Metadata scope does not support 'q' parameter", "forbidden")
        with self.lock:
            size = q.int("maxResults", 100, 500)
            offset, _ = page_token_offset(q, "msgs")
            wanted = q.all("labelIds")
            spam_trash = q.bool("includeSpamTrash") or any(lb in ("SPAM", "TRASH") for lb in wanted)
            found = [
                m
                for m in self.messages.values()
                if not m.deleted
                and all(lb in m.labels for lb in wanted)
                and (spam_trash or not ({"SPAM", "TRASH"} & set(m.labels)))
            ]
            found.sort(key=lambda m: (m.internal_date, m.id), reverse=True)
            chunk, nxt = page_of(found, offset, size)
            resp = {"resultSizeEstimate": len(found)}
            if chunk:
                resp["messages"] = [m.ref(False) for m in chunk]
            if nxt is not None:
                resp["nextPageToken"] = encode_token("msgs", {"o": nxt})
            return resp

    def get_message(self, mid: str, q: Query) -> dict:
        fmt = (q.get("format") or "full").lower()
        if fmt not in ("minimal", "metadata", "full", "raw"):
            raise bad_request(f"Invalid value for format: {fmt}", "invalidArgument")
        if self.metadata_only and fmt not in ("minimal", "metadata"):
            raise ApiError(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
        with self.lock:
            msg = self._live(mid)
            out = {
                **msg.ref(),
                "historyId": str(msg.history_id),
                "internalDate": str(msg.internal_date),
                "sizeEstimate": msg.size,
            }
            if fmt == "minimal":
                return out
            headers = msg.headers
            if fmt == "metadata" and q.all("metadataHeaders"):
                names = {h.lower() for h in q.all("metadataHeaders")}
                headers = [(k, v) for k, v in headers if k.lower() in names]
            if fmt == "raw":
                text = "".join(f"{k}: {v}\r\n" for k, v in msg.headers) + "\r\n"
                out["raw"] = base64.urlsafe_b64encode(text.encode()).decode()
                return out
            out["snippet"] = ""
            out["payload"] = {
                "partId": "",
                "mimeType": "text/plain",
                "filename": "",
                "headers": [{"name": k, "value": v} for k, v in headers],
            }
            if fmt == "full":
                out["payload"]["body"] = {"size": 0}
            return out

    def list_history(self, q: Query) -> dict:
        start = q.get("startHistoryId")
        if not start:
            raise bad_request("Missing required parameter: startHistoryId", "required")
        try:
            start_id = int(start)
        except ValueError:
            raise bad_request("Invalid startHistoryId", "invalidArgument") from None
        kinds = [HISTORY_TYPES.get(t) for t in q.all("historyTypes")]
        if None in kinds:
            raise bad_request("Invalid historyTypes value", "invalidArgument")
        with self.lock:
            if start_id < self.retention_floor:
                raise not_found_entity()
            size = q.int("maxResults", 100, 500)
            offset, page = page_token_offset(q, "hist")
            asof = page.get("a", self.history_id)
            label = q.get("labelId")
            records = []
            for rec in self.history:
                if not start_id < rec["id"] <= asof:
                    continue
                keys = [k for k in HISTORY_TYPES.values() if k in rec and (not kinds or k in kinds)]
                if label:
                    keys = [
                        k
                        for k in keys
                        if any(label in e["message"]["labelIds"] or label in e.get("labelIds", ()) for e in rec[k])
                    ]
                if keys:
                    records.append({"id": str(rec["id"]), "messages": rec["messages"], **{k: rec[k] for k in keys}})
            chunk, nxt = page_of(records, offset, size)
            resp = {"historyId": str(asof)}
            if chunk:
                resp["history"] = chunk
            if nxt is not None:
                resp["nextPageToken"] = encode_token("hist", {"o": nxt, "a": asof})
            return resp

    def labels(self) -> dict:
        with self.lock:
            return {
                "labels": [{"id": lb, "name": lb, "type": "system"} for lb in SYSTEM_LABELS]
                + [{"id": lb, "name": lb, "type": "user"} for lb in sorted(self.user_labels)]
            }
