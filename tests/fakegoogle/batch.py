"""multipart/mixed batch bodies: parsing what BatchHttpRequest sends, answering it.

Why the exact wire format matters: googleapiclient matches each answer to its
request by `Content-ID: <response-BASE + N>` and parses each part's status
line itself, so anything looser than Google's format would hide client bugs
(or make the real client fail where Google would not).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.parser import BytesParser, Parser
from email import policy

from .errors import Response


@dataclass
class Part:
    content_id: str  # as sent, e.g. "<uuid + 1>"
    method: str
    target: str  # path and query, e.g. "/gmail/v1/users/me/messages/x?format=..."
    headers: dict[str, str]  # lower-cased names
    body: bytes


class BatchFormatError(ValueError):
    pass


def parse_batch(content_type: str, body: bytes) -> list[Part]:
    if not content_type.lower().startswith("multipart/mixed"):
        raise BatchFormatError("batch body must be multipart/mixed")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    if not msg.is_multipart():
        raise BatchFormatError("batch body has no parts")
    parts = []
    for sub in msg.get_payload():
        if sub.get_content_type() != "application/http":
            raise BatchFormatError("each batch part must be application/http")
        payload = sub.get_payload(decode=False)
        if isinstance(payload, list):
            raise BatchFormatError("nested multipart is not supported")
        status_line, _, rest = payload.lstrip("\r\n").partition("\n")
        try:
            method, target, _version = status_line.strip().split(" ", 2)
        except ValueError:
            raise BatchFormatError(f"bad request line in part: {status_line!r}") from None
        inner = Parser(policy=policy.compat32).parsestr(rest)
        headers = {k.lower(): v for k, v in inner.items()}
        inner_body = inner.get_payload(decode=False) or ""
        if isinstance(inner_body, list):
            raise BatchFormatError("nested multipart is not supported")
        parts.append(Part(sub.get("Content-ID", ""), method.upper(), target, headers, inner_body.encode()))
    return parts


REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def format_batch(answers: list[tuple[str, Response]]) -> tuple[str, bytes]:
    """(content type, body) for the outer 200 response."""
    boundary = "batch_" + uuid.uuid4().hex
    out = []
    for content_id, resp in answers:
        cid = content_id.strip()
        cid = "<response-" + cid[1:] if cid.startswith("<") else f"<response-{cid}>"
        payload = resp.payload()
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: {cid}",
            "",
            f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}",
        ]
        if payload:
            lines.append(f"Content-Type: {resp.content_type()}")
        for name, value in resp.headers.items():
            if name.lower() != "content-type":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(payload)}")
        lines.append("")
        out.append("\r\n".join(lines).encode() + b"\r\n" + payload + b"\r\n")
    body = b"".join(out) + f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", body
