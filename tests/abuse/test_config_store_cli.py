"""Abuse of the config, the store and the command line: no config, broken stores, absurd values.

Every failure must be one line naming the file and what to do, with the contract's exit
code (2 configuration, 1 a failed run), never a traceback, and never a hold booked into a
place the user did not choose. Commands run in-process through `syncd.cli.main`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from syncd.textsafe import display_width
from tests.abuse.mounts import fill, read_only, small_disk
from tests.abuse.worlds import write_world
from tests.conftest import mbox_message

NOW = "2026-11-20T09:00:00+01:00"
COLD = "2026-12-18T09:00:00+01:00"  # Ada, last touched on 2026-11-04, is cold by then
ME = "me@example.com"
READ_COMMANDS = (("status",), ("status", "--json"), ("cold",), ("holds",), ("contacts", "list"))


def one_line_error(result, *needles: str) -> None:
    """A failure the user can act on: one `syncd:` line, naming what it must, no traceback."""
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncd: "), result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def world(cli):
    """A synced user: contacts, a calendar and a mailbox, holds into an .ics file they named."""
    write_world(
        cli,
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n',
        "mail.mbox",
    )
    cli.store = cli.home / "data" / "syncd.db"
    return cli


def synced(world):
    result = world("sync", now=NOW)
    assert result.code == 0, result.err
    return world


# --- no config, no holds ---------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("sync",),
        ("status",),
        ("status", "--json"),
        ("cold",),
        ("holds",),
        ("contacts", "list"),
        ("touch", "ada@example.com"),
        ("snooze", "ada@example.com", "--days", "3"),
        ("run",),
        ("install-service", "--print"),
    ],
)
def test_without_a_config_every_command_exits_2_and_books_nothing(cli, argv):
    result = cli(*argv, config=False, now=NOW)
    assert result.code == 2
    one_line_error(result, str(cli.home / ".config" / "syncd" / "config.toml"), "run `syncd init`")
    assert not (cli.home / ".local").exists(), "no store, no holds file in a place nobody chose"


def test_an_explicit_config_that_does_not_exist_says_how_to_create_it(cli):
    result = cli("sync", now=NOW)
    assert result.code == 2
    one_line_error(result, str(cli.config), "run `syncd init`", f"syncd --config {cli.config} init")


@pytest.mark.parametrize("argv", [("--help",), ("--version",), ("init",)])
def test_without_a_config_help_version_and_init_work(cli, argv):
    result = cli(*argv, config=False)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err


def test_init_names_the_sink_and_sync_books_only_there(cli):
    assert cli("init", config=False).code == 0
    config = cli.home / ".config" / "syncd" / "config.toml"
    text = config.read_text()
    assert '\nsink = "ics:~/.local/share/syncd/holds.ics"\n' in text
    (cli.home / "contacts.toml").write_text('[[contact]]\nname = "Ada"\nemails = ["ada@example.com"]\n')
    config.write_text(text.replace("[contacts]\n", '[contacts]\nfiles = ["~/contacts.toml"]\n'))
    result = cli("sync", config=False, now=NOW)
    assert result.code == 0, result.err
    assert "booked 1 hold" in result.out
    assert (cli.home / ".local" / "share" / "syncd" / "holds.ics").read_text().count("BEGIN:VEVENT") == 1


def test_holds_enabled_without_a_sink_books_nothing_and_says_why(world):
    world.write_config(world.config.read_text().replace('sink = "ics:holds.ics"', ""))
    result = world("sync", now=COLD)
    assert result.code == 1
    assert "[holds] sink is not set" in result.err and str(world.config) in result.err
    assert "Traceback" not in result.err
    assert sorted(path.name for path in world.home.rglob("*.ics")) == ["cal.ics"]
    status = world("status", "--json", now=COLD)
    assert status.code == 1
    assert any("[holds] sink is not set" in problem for problem in status.json()["problems"])
    assert world("holds", "--json", now=COLD).json() == []
    assert world("cold", "--json", now=COLD).json()[0]["name"] == "Ada Lovelace", "she would have had a hold"


def test_holds_disabled_needs_no_sink(world):
    world.write_config(world.config.read_text().replace('sink = "ics:holds.ics"', "enabled = false"))
    assert world("sync", now=NOW).code == 0
    assert world("status", now=NOW).code == 0


# --- the store -------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [("sync",), *READ_COMMANDS])
def test_a_store_with_junk_written_into_it(world, argv):
    synced(world)
    world.store.write_bytes(b"this is not sqlite, it is a shopping list\n" * 200)
    for companion in ("-wal", "-shm"):
        Path(f"{world.store}{companion}").unlink(missing_ok=True)
    result = world(*argv, now=NOW)
    assert result.code == 1
    if argv == ("status", "--json"):
        problems = result.json()["problems"]
        assert len(problems) == 1 and str(world.store) in problems[0] and "damaged" in problems[0]
        return
    one_line_error(result, str(world.store), "damaged", "restore a backup")


def test_a_store_that_failed_to_open_leaves_no_file_open(world):
    """A daemon retries every cycle: a leaked connection per failed open would pile up."""
    synced(world)
    world.store.write_bytes(b"junk" * 1000)
    assert world("status", now=NOW).code == 1
    open_files = [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink()]
    assert not [name for name in open_files if name.startswith(str(world.store))]


@pytest.mark.parametrize("argv", [("sync",), *READ_COMMANDS])
def test_a_store_whose_pages_were_overwritten_is_malformed_not_a_traceback(world, argv):
    synced(world)
    data = bytearray(world.store.read_bytes())
    wal = Path(f"{world.store}-wal")
    if wal.exists():  # fold the WAL in first, so the damage lands in the tables
        sqlite3.connect(world.store).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        data = bytearray(world.store.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first (the schema)
    world.store.write_bytes(bytes(data))
    result = world(*argv, now=NOW)
    assert result.code == 1
    if argv == ("status", "--json"):
        assert str(world.store) in result.json()["problems"][0]
        return
    one_line_error(result, str(world.store), "damaged")


@pytest.mark.parametrize("argv", [("sync",), *READ_COMMANDS])
def test_a_read_only_store_file_fails_every_command_status_included(world, argv):
    synced(world)
    for companion in ("-wal", "-shm"):
        Path(f"{world.store}{companion}").unlink(missing_ok=True)
    with read_only(world.store):
        result = world(*argv, now=NOW)
    assert result.code == 1
    if argv == ("status", "--json"):
        assert "read-only" in result.json()["problems"][0]
        return
    one_line_error(result, str(world.store), "read-only", "writable")


@pytest.mark.parametrize("argv", [("sync",), ("status",), ("cold",)])
def test_a_read_only_store_folder(world, argv):
    synced(world)
    for companion in ("-wal", "-shm"):
        Path(f"{world.store}{companion}").unlink(missing_ok=True)
    with read_only(world.store.parent):
        result = world(*argv, now=NOW)
    assert result.code == 1
    one_line_error(result, str(world.store.parent))


def test_a_store_folder_that_cannot_be_created(world):
    blocked = world.home / "blocked"
    blocked.mkdir()
    world.write_config(world.config.read_text().replace('path = "data/syncd.db"', 'path = "blocked/data/syncd.db"'))
    with read_only(blocked):
        for argv in (("sync",), ("status",)):
            result = world(*argv, now=NOW)
            assert result.code == 1
            one_line_error(result, str(blocked / "data"))


def test_a_store_path_that_is_a_folder(world):
    world.store.mkdir(parents=True)
    result = world("status", now=NOW)
    assert result.code == 1
    one_line_error(result, str(world.store))


def test_a_vanished_store_folder_is_never_synced_again_not_a_traceback(world):
    synced(world)
    shutil.rmtree(world.store.parent)
    status = world("status", "--json", now=NOW)
    assert status.code == 1 and "Traceback" not in status.err
    assert {source["state"] for source in status.json()["sources"]} == {"never"}
    assert world("sync", now=NOW).code == 0
    assert world("status", now=NOW).code == 0


def test_a_full_disk_fails_in_one_line_and_every_command_says_so(world, tmp_path):
    disk = tmp_path / "disk"
    with small_disk(disk, "8m"):
        world.write_config(world.config.read_text().replace('path = "data/syncd.db"', f'path = "{disk}/syncd.db"'))
        world.store = disk / "syncd.db"
        synced(world)
        fill(disk)
        (world.home / "mail.mbox").write_text(
            "".join(
                mbox_message(f"{n}@x", f"Me <{ME}>", [f"p{n}@example.org"], "Wed, 04 Nov 2026 10:00:00 +0000")
                for n in range(3000)
            )
        )
        for argv in (("sync",), ("status",), ("cold",)):
            result = world(*argv, now=NOW)
            assert result.code == 1, (argv, result.out)
            one_line_error(result, str(world.store), "disk is full", "free some space")
        (disk / "filler").unlink()
        assert world("sync", now=NOW).code == 0
        assert world("cold", "--json", now=NOW).code == 0


# --- values checked when the config loads ----------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe not utf-8 \x00", "cannot read"),
        (b"[holds\nsink = 3\n", "not valid TOML"),
        (b"", None),
    ],
)
def test_a_config_that_is_binary_broken_or_empty(cli, content, needle):
    cli.config.write_bytes(content)
    result = cli("status", now=NOW)
    if needle is None:  # an empty config is all defaults: nothing to sync, holds without a sink
        assert result.code == 1 and "[holds] sink is not set" in result.out
        return
    assert result.code == 2
    one_line_error(result, str(cli.config), needle)


def test_a_config_that_is_a_folder(cli):
    cli.config.mkdir()
    result = cli("sync", now=NOW)
    assert result.code == 2
    one_line_error(result, str(cli.config), "cannot read")


def test_a_hostile_key_name_in_the_config_is_escaped_in_the_error(cli):
    cli.write_config('[holds]\n"evil\\u001b[2J\\u0007" = 1\n')
    result = cli("status", now=NOW)
    assert result.code == 2
    no_control_characters(result.err)
    one_line_error(result, str(cli.config), "unknown key", "\\x1b[2J")


@pytest.mark.parametrize(
    ("title", "needle"),
    [
        ("Coffee with {nope}", "unknown field {nope}"),
        ("Coffee with {name.__class__}", "unknown field {name.__class__}"),
        ("Coffee with {0}", "unknown field {0}"),
        ("Coffee with {name", "expected '}'"),
        ("Coffee with {name!z}", "{name!z}"),
        ("Coffee with {name:%Y}", "{name:%Y}"),
        ("Coffee with {name:>999999999}", "no conversions or format specs"),
        ("Coffee with {first_name:{name}}", "no conversions or format specs"),
        ("Coffee with {}", "unknown field {}"),
    ],
)
def test_a_bad_title_template_is_a_config_error_before_any_sync(world, title, needle):
    world.write_config(world.config.read_text().replace('sink = "ics:holds.ics"', f"title = {json.dumps(title)}"))
    result = world("sync", now=NOW)
    assert result.code == 2
    one_line_error(result, f"{world.config}:", "[holds] title", needle, "{name}, {first_name}")
    assert not world.store.exists(), "nothing synced on a config that failed"


def test_the_allowed_title_fields_and_literal_braces_work(world):
    title = "{{syncd}} coffee: {first_name} ({name})"
    world.write_config(world.config.read_text().replace("[holds]\n", f'[holds]\ntitle = "{title}"\n'))
    assert world("sync", now=COLD).code == 0
    assert "SUMMARY:{syncd} coffee: Ada (Ada Lovelace)" in (world.home / "holds.ics").read_text()


@pytest.mark.parametrize(
    ("section", "key", "value", "needle"),
    [
        ("holds", "duration", "99999999999d", "at most 36500d"),
        ("sources", "lookback", "99999999d", "at most 36500d"),
        ("sources", "lookback", "36501d", "at most 36500d"),
        ("holds", "horizon", "400d", "at most 365d"),
        ("holds", "lead_time", "9999999999999999999999w", "at most 36500d"),
        ("daemon", "sync_every", "99999999999999s", "at most 36500d"),
    ],
)
def test_durations_that_would_overflow_a_datetime_are_config_errors(world, section, key, value, needle):
    text = world.config.read_text()
    if section == "holds":
        world.write_config(text.replace("[holds]\n", f'[holds]\n{key} = "{value}"\n'))
    else:
        world.write_config(f'{text}\n[{section}]\n{key} = "{value}"\n')
    result = world("sync", now=NOW)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert f"[{section}] {key}: expected at most" in result.err and needle in result.err
    assert f"{world.config}:" in result.err


def test_the_largest_durations_allowed_still_sync(world):
    world.write_config(world.config.read_text() + '[sources]\nlookback = "36500d"\n')
    world.write_config(world.config.read_text().replace("[holds]\n", '[holds]\nhorizon = "365d"\n'))
    assert world("sync", now=NOW).code == 0


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "0001-01-01", "3000-01-01"],
)
def test_now_out_of_range_is_a_usage_error(world, value):
    result = world("cold", now=value)
    assert result.code == 2
    one_line_error(result, "--now", "between 1900-01-01 and 2999-12-31", value)
    assert not world.store.exists()


def test_syncd_now_out_of_range_or_junk_is_a_usage_error_naming_the_variable(world):
    for value in ("9999-12-31T23:59:59+00:00", "yesterday"):
        result = world("status", env={"SYNCD_NOW": value})
        assert result.code == 2
        one_line_error(result, "SYNCD_NOW", value)


def test_a_touch_date_out_of_range_is_a_usage_error(world):
    synced(world)
    result = world("touch", "ada@example.com", "--date", "0001-01-01", now=NOW)
    assert result.code == 2
    one_line_error(result, "between 1900-01-01 and 2999-12-31")


@pytest.mark.parametrize("days", ["999999999", "9999999999999", "36501", "-1"])
def test_a_snooze_too_long_or_negative_is_a_usage_error(world, days):
    synced(world)
    result = world("snooze", "ada@example.com", "--days", days, now=NOW)
    assert result.code == 2
    one_line_error(result, "--days", "36500")


def test_the_longest_snooze_and_the_largest_cadence_work(world):
    synced(world)
    assert world("snooze", "ada@example.com", "--days", "36500", now=NOW).code == 0
    assert world("contacts", "add", "Bo", "bo@example.com", "--cadence-days", "99999999999", now=NOW).code == 0
    assert world("touch", "bo@example.com", "--date", "2026-11-01", now=NOW).code == 0
    for argv in (("cold",), ("contacts", "list"), ("sync",), ("status",)):
        assert world(*argv, now=NOW).code == 0, argv


@pytest.mark.parametrize("date", ["-9999w", "-99999999999d", "9999-12-31", "12026-01-01"])
def test_a_touch_date_beyond_any_calendar_is_a_usage_error(world, date):
    synced(world)
    result = world("touch", "ada@example.com", "--date", date, now=NOW)
    assert result.code == 2
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


# --- output is inert -------------------------------------------------------------------

HOSTILE = "Eve \x1b[2J\x1b]0;pwned\x07Mallory\u202e"
SHOWN = "Eve \\x1b[2J\\x1b]0;pwned\\x07Mallory\\u202e"


NOTES = "bell \x07 and \x9bc"


@pytest.fixture
def hostile(world):
    (world.home / "contacts.toml").write_text(
        "[[contact]]\n"
        f"name = {json.dumps(HOSTILE)}\n"
        'emails = ["eve@example.com"]\n'
        f"notes = {json.dumps(NOTES)}\n"
        "[[contact]]\n"
        'name = "山田 太郎"\n'
        'emails = ["taro@example.jp"]\n'
    )
    return synced(world)


def no_control_characters(text: str) -> None:
    assert not [char for char in text if (ord(char) < 32 and char not in "\n") or 0x7F <= ord(char) < 0xA0], text


@pytest.mark.parametrize(
    "argv",
    [("cold",), ("contacts", "list"), ("contacts", "show", "eve@example.com"), ("holds",)],
)
def test_names_and_notes_reach_the_terminal_escaped(hostile, argv):
    result = hostile(*argv, now=NOW)
    assert result.code == 0, result.err
    no_control_characters(result.out)
    assert SHOWN in result.out
    assert "山田 太郎" in result.out or argv == ("contacts", "show", "eve@example.com")


def test_the_sync_summary_is_escaped(world):
    contact = f'[[contact]]\nname = {json.dumps(HOSTILE)}\nemails = ["e@example.com"]\n'
    (world.home / "contacts.toml").write_text(contact)
    result = world("sync", now=NOW)
    assert result.code == 0, result.err
    assert SHOWN in result.out
    no_control_characters(result.out + result.err)


def test_wide_names_keep_the_table_aligned(hostile):
    lines = hostile("contacts", "list", now=NOW).out.splitlines()
    header = lines[0]
    email_column = header.index("EMAIL")
    taro = next(line for line in lines if "山田" in line)
    assert display_width(taro[: taro.index("taro@")]) == email_column


@pytest.mark.parametrize(
    "argv", [("cold", "--json"), ("contacts", "list", "--json"), ("contacts", "show", "eve", "--json")]
)
def test_json_stays_valid_and_keeps_the_exact_name(hostile, argv):
    result = hostile(*argv, now=NOW)
    assert result.code == 0, result.err
    no_control_characters(result.out)
    data = result.json()
    names = [data["name"]] if isinstance(data, dict) else [item["name"] for item in data]
    assert HOSTILE in names


def test_an_error_message_quoting_a_hostile_name_is_escaped(hostile):
    result = hostile("touch", "Eve \x1b[2J\x07", now=NOW)
    assert result.code == 2
    no_control_characters(result.err)
    assert "\\x1b[2J\\x07" in result.err


def test_a_source_error_with_control_characters_is_escaped_in_status(world):
    bad = world.home / "evil\x1b[31m\x07.ics"
    bad.write_text("BEGIN:VCALENDAR\nnot ical at all\n")
    world.write_config(world.config.read_text().replace('paths = ["cal.ics"]', f"paths = [{json.dumps(str(bad))}]"))
    sync = world("sync", now=NOW)
    assert sync.code == 1 and "Traceback" not in sync.err
    no_control_characters(sync.err)
    status = world("status", now=NOW)
    assert status.code == 1
    no_control_characters(status.out)
    assert "evil\\x1b[31m\\x07.ics" in status.out
    sources = world("status", "--json", now=NOW).json()["sources"]
    assert any("evil\x1b[31m\x07.ics" in source["name"] for source in sources), "JSON keeps the exact name"
