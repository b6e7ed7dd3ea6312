"""Shared fixtures: a private HOME per test and the real CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs `python -m syncd` exactly as a user would, in a throwaway HOME."""

    home: Path
    config: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SYNCD_", "XDG_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            PYTHONPATH=str(REPO),
            TZ="UTC",
        )
        env.update(extra)
        return env

    def __call__(
        self,
        *args: str,
        now: str | None = None,
        config: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Result:
        command = [sys.executable, "-m", "syncd"]
        if config:
            command += ["--config", str(self.config)]
        if now:
            command += ["--now", now]
        completed = subprocess.run(
            command + list(args),
            capture_output=True,
            text=True,
            env=self.env(**(env or {})),
            timeout=timeout,
            cwd=self.home,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def write_config(self, text: str) -> Path:
        self.config.write_text(textwrap.dedent(text), encoding="utf-8")
        return self.config


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home=home, config=home / "config.toml")


def ics_event(
    uid: str, start: str, end: str, attendees: list[str] = (), organizer: str | None = None, extra: list[str] = ()
) -> str:
    """One VEVENT; start/end in ICS form (20261101T090000Z)."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"DTSTART:{start}", f"DTEND:{end}"]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    lines += [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{address}" for address in attendees]
    lines += list(extra)
    lines.append("END:VEVENT")
    return "\r\n".join(lines)


def ics_calendar(*events: str) -> str:
    return (
        "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//syncd tests//EN", *events, "END:VCALENDAR"]) + "\r\n"
    )


def mbox_message(
    message_id: str, sender: str, to: list[str], date: str, extra: list[str] = (), cc: list[str] = ()
) -> str:
    """One mbox entry; date in RFC 2822 form."""
    lines = [f"From {sender} Thu Jan  1 00:00:00 2026", f"From: {sender}", f"To: {', '.join(to)}"]
    if cc:
        lines.append(f"Cc: {', '.join(cc)}")
    lines += [f"Date: {date}", f"Message-ID: <{message_id}>", "Subject: hello", *extra, "", "body line", ""]
    return "\n".join(lines) + "\n"
