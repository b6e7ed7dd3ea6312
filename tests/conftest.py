"""Shared fixtures: a private HOME per test and the real CLI, in-process or as a subprocess.

`cli` calls `syncd.cli.main(argv)` in this process with the same environment a user's
shell would give it (fast: the default tier runs hundreds of these); `cli_process` runs
`python -m syncd` for the tests that need a real process (signals, concurrency, crashes).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run and keeps no example database in the checkout:
# a property that fails there fails for a reason, never by the draw of a seed.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


_IN_PROCESS = threading.Lock()


@dataclass
class Cli:
    """Runs syncd exactly as a user would, in a throwaway HOME: in-process unless `process`."""

    home: Path
    config: Path
    process: bool = False

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
        argv: list[str] = []
        if config:
            argv += ["--config", str(self.config)]
        if now:
            argv += ["--now", now]
        argv += list(args)
        if not self.process:
            return self._in_process(argv, self.env(**(env or {})))
        completed = subprocess.run(
            [sys.executable, "-m", "syncd", *argv],
            capture_output=True,
            text=True,
            env=self.env(**(env or {})),
            timeout=timeout,
            cwd=self.home,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def _in_process(self, argv: list[str], env: dict[str, str]) -> Result:
        """`syncd.cli.main(argv)` under the user's environment, cwd and time zone, then restore ours.

        Environment, cwd and stdout belong to the whole process, so calls from several threads
        (the crash harness drives worlds in parallel) take turns.
        """
        with _IN_PROCESS:
            return self._in_process_alone(argv, env)

    def _in_process_alone(self, argv: list[str], env: dict[str, str]) -> Result:
        from syncd.cli import main

        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        root = logging.getLogger()
        saved_logging = (root.handlers[:], root.level)
        out, err = io.StringIO(), io.StringIO()
        try:
            os.environ.clear()
            os.environ.update(env)
            time.tzset()
            os.chdir(self.home)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exit:  # --help, --version
                    code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            time.tzset()
            os.chdir(saved_cwd)
            root.handlers[:], level = saved_logging
            root.setLevel(level)
        return Result(code, out.getvalue(), err.getvalue())

    def write_config(self, text: str) -> Path:
        self.config.write_text(textwrap.dedent(text), encoding="utf-8")
        return self.config


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home=home, config=home / "config.toml")


@pytest.fixture
def cli_process(cli: Cli) -> Cli:
    """The same throwaway HOME, but every command a real `python -m syncd` process."""
    cli.process = True
    return cli


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


@pytest.fixture
def daemon_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The daemon's own log lines at INFO, for tests that check what it told the user."""
    caplog.set_level(logging.INFO, logger="syncd.daemon")
    return caplog
