"""Progress of a long source read: live on a terminal for `syncd sync`, silent in a pipe and under the daemon."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest

from syncd.sources.base import SyncContext
from syncd.sources.mail import MaildirSource, MboxSource
from syncd.sources.progress import Progress

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def context(interactive: bool, seen: list[str] | None = None) -> SyncContext:
    return SyncContext(
        now=NOW,
        since=NOW - timedelta(days=365),
        until=NOW,
        tz=UTC,
        progress=(seen.append if seen is not None else lambda text: None),
        interactive=interactive,
    )


def test_a_person_at_a_terminal_sees_one_updating_line_ending_in_a_newline():
    stream = Terminal()
    progress = Progress("mbox:~/archive.mbox", context(True), stream=stream, after=0)
    progress.update(512)
    progress.update(20_000, final=True)
    text = stream.getvalue()
    assert text.startswith("\r\033[K") and text.endswith("\n") and text.count("\n") == 1
    last = text.rsplit("\r\033[K", 1)[1]
    assert last.startswith("mbox:~/archive.mbox: 20000 messages (") and last.endswith("/s)\n")


def test_a_quick_read_shows_nothing_even_on_a_terminal():
    stream = Terminal()
    progress = Progress("mbox:~/archive.mbox", context(True), stream=stream)  # after the default 2 s
    progress.update(256)
    progress.update(300, final=True)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("interactive", "stream"), [(False, Terminal()), (True, StringIO())])
def test_the_daemon_and_a_pipe_get_no_live_line_but_a_log_line_at_the_end(
    interactive: bool, stream: StringIO, caplog: pytest.LogCaptureFixture
):
    progress = Progress("maildir:~/Mail", context(interactive), stream=stream, after=0)
    with caplog.at_level(logging.INFO, logger="syncd.sources.maildir"):
        progress.update(512)
        progress.update(1000, final=True)
    assert stream.getvalue() == ""
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == ["maildir:~/Mail: 1000 messages"]


def _message(number: int) -> bytes:
    return (
        f"Date: Mon, 1 Jun 2026 08:00:00 +0000\nFrom: a{number}@example.com\nTo: me@example.com\n"
        f"Message-ID: <{number}@example.com>\n\nbody\n"
    ).encode()


def test_mbox_and_maildir_report_the_items_they_read(tmp_path: Path):
    mbox = tmp_path / "archive.mbox"
    mbox.write_bytes(b"".join(b"From x Mon Jun  1 08:00:00 2026\n" + _message(n) for n in range(600)))
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number in range(300):
        (maildir / "new" / f"{number}.bench").write_bytes(_message(number))
    for source, count in ((MboxSource(mbox), 600), (MaildirSource(maildir), 300)):
        seen: list[str] = []
        batches = list(source.sync(None, context(False, seen)))
        assert sum(len(batch.upserts) for batch in batches) == count
        assert seen[0].startswith(f"{source.name}: 256 messages (")
        assert seen[-1].startswith(f"{source.name}: {count} messages (")
