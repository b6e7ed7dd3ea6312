"""The commands that only read the store answer without loading the Google client or the calendar libraries.

`status`, `cold`, `holds` and `contacts list` list sources and read SQLite; importing
google-api-python-client, icalendar, recurring-ical-events or python-caldav would double
their time. Each command runs in a fresh interpreter (imports are per process), with every
kind of source and a Google and an ICS hold calendar configured, and the modules it loaded
are read from `sys.modules` afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {
    "googleapiclient",
    "google",
    "google_auth_httplib2",
    "httplib2",
    "icalendar",
    "recurring_ical_events",
    "caldav",
}

PROBE = """
import json, sys
from syncd.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def config(tmp_path: Path, sink: str) -> Path:
    (tmp_path / "cal.ics").write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    (tmp_path / "mail.mbox").write_bytes(b"")
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"config-{sink.partition(':')[0]}.toml"
    path.write_text(
        f"""
[user]
emails = ["me@example.com"]
timezone = "Europe/Berlin"
[store]
path = "{tmp_path / "store.db"}"
[sources.ics]
paths = ["{tmp_path / "cal.ics"}"]
[sources.mail]
mbox = ["{tmp_path / "mail.mbox"}"]
maildir = ["{tmp_path / "Maildir"}"]
[sources.google]
enabled = true
[[sources.caldav]]
name = "work"
url = "http://127.0.0.1:9/dav/"
username = "me"
password_command = "echo secret"
[holds]
sink = "{sink}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sink", ["google:primary", "ics:holds.ics"])
@pytest.mark.parametrize("command", [["status"], ["cold"], ["holds"], ["contacts", "list"]])
def test_read_only_commands_load_no_google_or_calendar_library(tmp_path: Path, command: list[str], sink: str):
    if sink.startswith("ics:"):
        sink = f"ics:{tmp_path / 'holds.ics'}"
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(config(tmp_path, sink)), *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, 1), completed.stderr  # status exits 1: the sources never synced
    loaded = [name for name in result["modules"] if name.split(".")[0] in HEAVY]
    assert loaded == [], f"`syncd {' '.join(command)}` loaded {loaded[:8]}"
    assert "syncd.sources.mail" in result["modules"]  # the sources were listed, so the probe saw the real path
