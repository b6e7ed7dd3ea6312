"""A throw-away Radicale CalDAV server on 127.0.0.1 for the tests, with helpers to seed it.

Radicale runs as a subprocess of the test with its own config, storage in the test's tmp
dir and one htpasswd user (plain passwords), so the CalDAV source and sink are tested
against a real server's WebDAV, sync-collection and precondition handling. Radicale is
in the `test` extra: a missing module is a failure, never a skip.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

USER = "ada"
PASSWORD = "s3cret-Radicale-pw"
START_TIMEOUT_SECONDS = 30
REQUEST_LINE = re.compile(r"\[INFO\] ([A-Z]+) request for '([^']*)'")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Radicale:
    """A running server; `request` speaks HTTP to it as the test user (not through syncd)."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def home(self) -> str:
        return f"/{USER}/"

    def request(
        self, method: str, path: str, body: str | bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        sent = {"Authorization": f"Basic {token}", **(headers or {})}
        try:
            connection.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=sent)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def make_calendar(self, slug: str, display_name: str, components: tuple[str, ...] = ("VEVENT",)) -> str:
        """MKCALENDAR under the user's home; returns the collection path."""
        path = f"{self.home}{quote(slug)}/"
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<D:displayname>{display_name}</D:displayname>"
            f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        status, _, answer = self.request("MKCALENDAR", path, body, {"Content-Type": "application/xml"})
        assert status == 201, (status, answer)
        return path

    def put(self, path: str, ics: str) -> str:
        """PUT an object (created or replaced); returns its new ETag."""
        status, headers, answer = self.request("PUT", path, ics, {"Content-Type": "text/calendar; charset=utf-8"})
        assert status in (201, 204), (status, answer)
        return headers.get("etag", "")

    def delete(self, path: str) -> None:
        status, _, answer = self.request("DELETE", path)
        assert status in (200, 204), (status, answer)

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, body = self.request("GET", path)
        return status, body

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request the server received so far, from its log."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return [(match[1], match[2]) for match in REQUEST_LINE.finditer(text)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_radicale(folder: Path, port: int | None = None, hook: str | None = None) -> Radicale:
    """Start Radicale and wait until it answers; fails (never skips) if it cannot start.

    `hook` is a shell command Radicale runs after every write, before it answers (its
    storage hook): the crash tests use it to kill the client right after a write landed."""
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    port = port or free_port()
    config = folder / "radicale.conf"
    config.write_text(
        "\n".join(
            [
                "[server]",
                f"hosts = 127.0.0.1:{port}",
                "[auth]",
                "type = htpasswd",
                f"htpasswd_filename = {users}",
                "htpasswd_encryption = plain",
                "delay = 0",
                "[rights]",
                "type = owner_only",
                "[storage]",
                f"filesystem_folder = {folder / 'collections'}",
                *([f"hook = {hook}"] if hook else []),
                "[logging]",
                "level = info",
                "mask_passwords = True",
                "",
            ]
        ),
        encoding="utf-8",
    )
    log_path = folder / "radicale.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Radicale(port, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Radicale exited with {process.returncode}: {log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Radicale did not listen on port {port} within {START_TIMEOUT_SECONDS}s") from None
            time.sleep(0.05)
    # The first authenticated request creates the user's home collection.
    status, _, _ = server.request("PROPFIND", server.home, b"", {"Depth": "0"})
    assert status == 207, status
    return server


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = start_radicale(tmp_path / "radicale")
    yield server
    server.stop()


def event_ics(uid: str, start: str, end: str, *, attendees: tuple[str, ...] = (), extra: str = "") -> str:
    """A one-event VCALENDAR; `start`/`end` are iCalendar UTC stamps like 20261117T090000Z."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//syncd tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART:{start}",
        f"DTEND:{end}",
        "SUMMARY:Meeting",
        "ORGANIZER:mailto:me@example.com",
        *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{address}" for address in attendees),
        *([extra] if extra else []),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines)
