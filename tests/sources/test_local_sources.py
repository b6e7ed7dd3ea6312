"""The shared source contract, run against the ICS, mbox and Maildir sources on real files."""

from __future__ import annotations

import mailbox
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from syncd.sources.ics import IcsSource
from syncd.sources.mail import MaildirSource, MboxSource
from tests.conftest import ics_calendar, ics_event, mbox_message
from tests.sources.contract import ME, SourceContract


def _ics_time(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


class IcsWorld:
    """A single .ics file, rewritten as a calendar app would."""

    def __init__(self, folder: Path, vdir: bool = False):
        self.vdir = vdir
        self.root = folder / ("calendar" if vdir else "calendar.ics")
        if vdir:
            self.root.mkdir()
        self.events: dict[str, tuple[str, datetime]] = {}
        self.unreadable: list[str] = []
        self.write()

    def write(self) -> None:
        def event(key: str) -> str:
            address, when = self.events[key]
            return ics_event(
                f"{key}@test", _ics_time(when), _ics_time(when.replace(minute=30)), [ME, address], organizer=ME
            )

        def unreadable(key: str) -> str:  # expanding it overflows the year 9999
            return f"BEGIN:VEVENT\r\nUID:{key}@test\r\nDTSTART;VALUE=DATE:99991231\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT"

        if self.vdir:
            existing = {path.stem for path in self.root.glob("*.ics")}
            for key in existing - set(self.events) - set(self.unreadable):
                (self.root / f"{key}.ics").unlink()
            for key in self.events:
                (self.root / f"{key}.ics").write_text(ics_calendar(event(key)))
            for key in self.unreadable:
                (self.root / f"{key}.ics").write_text(ics_calendar(event(next(iter(self.events))), unreadable(key)))
        else:
            self.root.write_text(
                ics_calendar(*(event(key) for key in self.events), *(unreadable(key) for key in self.unreadable))
            )

    def add_unreadable(self, key):
        self.unreadable.append(key)
        self.write()

    def add(self, key, address, when):
        self.events[key] = (address, when)
        self.write()

    def move(self, key, when):
        self.events[key] = (self.events[key][0], when)
        self.write()

    def remove(self, key):
        del self.events[key]
        self.write()

    def break_it(self):
        target = next(self.root.glob("*.ics")) if self.vdir else self.root
        target.write_text("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n")

    def source(self):
        return IcsSource(self.root)


UNREADABLE_MESSAGE = (
    "From someone sometime\nFrom: eve@example.com\nTo: me@example.com\nDate: 2 Mar 10000 10:00\n\nbody\n"
)


class MboxWorld:
    def __init__(self, folder: Path):
        self.path = folder / "mail.mbox"
        self.messages: dict[str, tuple[str, datetime]] = {}
        self.unreadable = 0
        self.write()

    def write(self):
        text = "".join(
            mbox_message(f"{key}@test", address, [ME], format_datetime(when))
            for key, (address, when) in self.messages.items()
        )
        self.path.write_text(text + UNREADABLE_MESSAGE * self.unreadable)

    def add_unreadable(self, key):
        self.unreadable += 1
        self.write()

    def add(self, key, address, when):
        self.messages[key] = (address, when)
        self.write()

    def move(self, key, when):
        self.messages[key] = (self.messages[key][0], when)
        self.write()

    def remove(self, key):
        del self.messages[key]
        self.write()

    def break_it(self):
        self.path.unlink()

    def source(self):
        return MboxSource(self.path)


class MaildirWorld:
    """Messages delivered into a real Maildir; a "move" re-delivers the message with a new Date."""

    def __init__(self, folder: Path):
        self.path = folder / "Maildir"
        self.box = mailbox.Maildir(self.path, create=True)
        self.keys: dict[str, str] = {}
        self.addresses: dict[str, str] = {}

    def add(self, key, address, when):
        self.addresses[key] = address
        text = mbox_message(f"{key}@test", address, [ME], format_datetime(when)).split("\n", 1)[1]
        self.keys[key] = self.box.add(text)

    def move(self, key, when):
        self.remove(key)
        self.add(key, self.addresses[key], when)

    def remove(self, key):
        self.box.remove(self.keys.pop(key))

    def add_unreadable(self, key):
        self.keys[key] = self.box.add(UNREADABLE_MESSAGE.split("\n", 1)[1])

    def break_it(self):
        for sub in ("cur", "new", "tmp"):
            for child in (self.path / sub).iterdir():
                child.unlink()
            (self.path / sub).rmdir()

    def source(self):
        return MaildirSource(self.path)


class TestIcsFile(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        return IcsWorld(tmp_path)


class TestIcsVdir(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        return IcsWorld(tmp_path, vdir=True)


class TestMbox(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        return MboxWorld(tmp_path)


class TestMaildir(SourceContract):
    @pytest.fixture
    def world(self, tmp_path):
        return MaildirWorld(tmp_path)


def test_maildir_trash_flag_stops_the_touch(tmp_path):
    """A message the user trashes in their mail client no longer counts."""
    from tests.sources.contract import NOW
    from datetime import timedelta
    import os

    from syncd.config import parse_config
    from syncd.engine import sync_source, touch_rules
    from syncd.store import Store

    world = MaildirWorld(tmp_path)
    world.add("a", "ada@example.com", NOW - timedelta(days=2))
    store = Store.open(tmp_path / "s.db")
    config = parse_config(f'[user]\nemails = ["{ME}"]\n', None)
    assert sync_source(world.source(), store, config, touch_rules(config, store), NOW).ok
    assert store.connection.execute("SELECT COUNT(*) FROM touches").fetchone()[0] == 1
    (new_file,) = list((world.path / "new").iterdir())
    os.rename(new_file, world.path / "cur" / f"{new_file.name}:2,ST")
    assert sync_source(world.source(), store, config, touch_rules(config, store), NOW).ok
    assert store.connection.execute("SELECT COUNT(*) FROM touches").fetchone()[0] == 0
    assert store.connection.execute("SELECT COUNT(*) FROM interactions").fetchone()[0] == 1
