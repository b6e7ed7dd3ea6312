"""DESIGN.md's contract, one promise per test, through the real CLI in this process.

Tests outside this repo drive syncd by these words alone: command names and flags, exit
codes, config keys and their defaults, `--json` fields with their types and formats. Each
test here pins a line of "Commands", "Living with it", "Nothing lost, nothing stray" or
"Details that the contract fixes" that no other test pins as the contract states it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest

from syncd.cli import build_parser
from syncd.cli.conventions import commands
from syncd.config import load_config
from syncd.windows import parse_window
from tests.conftest import Cli, ics_calendar, ics_event

NOW = "2026-11-20T09:00:00+01:00"  # the demo's clock, a Friday; Europe/Berlin is UTC+1 in November
BERLIN = timedelta(hours=1)

# What each command needs to get past argument parsing; every command of the parser must be here.
ARGV = {
    "auth": ["auth"],
    "run": ["run"],
    "install-service": ["install-service", "--print"],
    "contacts": ["contacts", "list"],
    "contacts import": ["contacts", "import", "contacts.toml"],
    "contacts list": ["contacts", "list", "--json"],
    "contacts add": ["contacts", "add", "Ada Lovelace", "ada@example.com"],
    "contacts show": ["contacts", "show", "ada"],
    "contacts edit": ["contacts", "edit", "ada", "--notes", "x"],
    "contacts remove": ["contacts", "remove", "ada"],
    "contacts suggest": ["contacts", "suggest", "--json"],
    "touch": ["touch", "ada", "--date", "yesterday"],
    "snooze": ["snooze", "ada", "--days", "3"],
    "sync": ["sync", "--dry-run"],
    "status": ["status", "--json"],
    "cold": ["cold", "--json"],
    "holds": ["holds", "--json"],
    "holds cancel": ["holds", "cancel", "ada"],
    "why": ["why", "ada", "--json"],
    "report": ["report", "--json"],
    "doctor": ["doctor", "--json"],
}
WITHOUT_CONFIG = {"init", "demo", "completion"}


@pytest.fixture
def demo(cli: Cli) -> Cli:
    """The demo's store, config and files, kept: a populated world on the contract's own example clock."""
    folder = cli.home / "demo"
    assert cli("demo", "--keep", str(folder), config=False).code == 0
    cli.config = folder / "config.toml"
    return cli


@pytest.fixture
def fresh_demo(demo: Cli) -> Cli:
    """The demo's files and config, but no store and no holds yet."""
    for leftover in demo.config.parent.glob("syncd.db*"):
        leftover.unlink()
    (demo.config.parent / "holds.ics").unlink()
    return demo


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def instant(text: str) -> datetime:
    """A JSON timestamp: ISO-8601 with an offset, always."""
    value = datetime.fromisoformat(text)
    assert value.utcoffset() is not None, text
    return value


# --- Commands: no config, no work -------------------------------------------------------


def test_every_command_is_known_to_this_test():
    names = {" ".join(path) for path, _ in commands(build_parser()) if path}
    assert names == set(ARGV) | WITHOUT_CONFIG


@pytest.mark.parametrize("name", sorted(ARGV))
def test_without_a_config_every_command_but_init_demo_and_completion_exits_2(cli, name):
    result = cli(*ARGV[name], config=False, now=NOW)
    assert result.code == 2, (result.out, result.err)
    said = result.out + result.err
    assert str(cli.home / ".config" / "syncd" / "config.toml") in said and "syncd init" in said
    assert "Traceback" not in said
    assert not (cli.home / ".local").exists(), "no store, no holds file in a place nobody chose"


@pytest.mark.parametrize("argv", [["completion", "bash"], ["completion", "zsh"], ["completion", "fish"], ["--help"]])
def test_completion_and_help_need_no_config(cli, argv):
    result = cli(*argv, config=False)
    assert result.code == 0 and result.out, result.err


def test_demo_needs_no_config_and_books_into_its_own_place(cli):
    result = cli("demo", config=False)
    assert result.code == 0, result.err
    assert not (cli.home / ".config").exists() and not (cli.home / ".local").exists()


# --- Global options and the clock ---------------------------------------------------------


def test_global_options_go_before_the_command(fresh_demo):
    result = fresh_demo("--config", str(fresh_demo.config), "--now", NOW, "-v", "sync", config=False)
    assert result.code == 0, result.err
    status = fresh_demo("--config", str(fresh_demo.config), "--now", NOW, "status", "--json", config=False)
    assert status.code == 0, status.err
    assert {source["last_success_at"] for source in status.json()["sources"]} == {NOW}


def test_syncd_now_fixes_the_clock_and_now_wins_over_it(fresh_demo):
    later = "2026-11-20T10:30:00+01:00"
    assert fresh_demo("sync", "--no-holds", env={"SYNCD_NOW": later}).code == 0
    data = fresh_demo("status", "--json", env={"SYNCD_NOW": later}).json()
    assert {source["last_attempt_at"] for source in data["sources"]} == {later}
    fixed = fresh_demo("status", "--json", now="2026-11-20T12:00:00+01:00", env={"SYNCD_NOW": "2030-01-01"})
    assert fixed.code == 1 and "2030" not in fixed.out, "a stale sync: --now, not SYNCD_NOW, is the clock"


def test_timestamps_are_in_the_machines_zone_without_user_timezone(cli):
    (cli.home / "cal.ics").write_text(
        ics_calendar(ics_event("m1", "20261101T150000Z", "20261101T160000Z", ["a@x.example"]))
    )
    (cli.home / "contacts.toml").write_text('[[contact]]\nname = "Al"\nemails = ["a@x.example"]\n')
    cli.write_config("""
        [contacts]
        files = "contacts.toml"
        [sources.ics]
        paths = "cal.ics"
        [holds]
        enabled = false
    """)
    zone = {"TZ": "America/New_York"}
    assert cli("sync", now="2026-11-20T09:00:00Z", env=zone).code == 0
    status = cli("status", "--json", now="2026-11-20T09:00:00Z", env=zone).json()
    assert status["sources"][0]["last_success_at"] == "2026-11-20T04:00:00-05:00"
    (al,) = cli("contacts", "list", "--json", now="2026-11-20T09:00:00Z", env=zone).json()
    assert al["last_touch_at"] == "2026-11-01T10:00:00-05:00"


# --- Details: values, paths, defaults ---------------------------------------------------------


def test_single_strings_for_path_lists_tilde_expanded_and_human_source_names(cli):
    home = cli.home
    for folder in ("cal", "mail", "Maildir/cur", "Maildir/new", "Maildir/tmp"):
        (home / folder).mkdir(parents=True)
    (home / "cal" / "work.ics").write_text(
        ics_calendar(ics_event("m1", "20261101T090000Z", "20261101T100000Z", ["ada@example.com", "me@example.com"]))
    )
    (home / "mail" / "sent.mbox").write_text("")
    (home / "contacts.toml").write_text('[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\n')
    cli.write_config("""
        [user]
        emails = "me@example.com"
        timezone = "Europe/Berlin"
        [store]
        path = "~/data/syncd.db"
        [contacts]
        files = "~/contacts.toml"
        [sources.ics]
        paths = "~/cal/work.ics"
        [sources.mail]
        mbox = "~/mail/sent.mbox"
        maildir = ["~/Maildir"]
        [holds]
        enabled = false
    """)
    result = cli("sync", now=NOW)
    assert result.code == 0, result.err
    assert (home / "data" / "syncd.db").is_file(), "[store] path is the database file, ~ expanded"
    sources = cli("status", "--json", now=NOW).json()["sources"]
    assert {source["name"]: source["kind"] for source in sources} == {
        "ics:~/cal/work.ics": "ics",
        "mbox:~/mail/sent.mbox": "mbox",
        "maildir:~/Maildir": "maildir",
    }
    (ada,) = cli("contacts", "list", "--json", now=NOW).json()
    assert ada["last_touch_at"] == "2026-11-01T10:00:00+01:00" and ada["last_touch_kind"] == "meeting"


def test_disabled_sources_are_not_listed_in_status(cli):
    (cli.home / "cal.ics").write_text(ics_calendar())
    (cli.home / "sent.mbox").write_text("")
    cli.write_config("""
        [sources.google]
        enabled = false
        [sources.ics]
        enabled = false
        paths = ["cal.ics"]
        [sources.mail]
        mbox = ["sent.mbox"]
        [holds]
        enabled = false
    """)
    assert cli("sync", now=NOW).code == 0
    data = cli("status", "--json", now=NOW).json()
    assert [(source["name"], source["kind"]) for source in data["sources"]] == [("mbox:~/sent.mbox", "mbox")]


def test_defaults_are_the_contracts(cli):
    cli.write_config("""
        [holds]
        sink = "ics:holds.ics"
    """)
    config = load_config(cli.config, explicit=True)
    day = timedelta(days=1)
    assert config.sources.lookback == 365 * day
    assert config.daemon.sync_every == timedelta(minutes=15) and f"{config.daemon.plan_at:%H:%M}" == "07:00"
    holds = config.holds
    assert holds.duration == timedelta(minutes=30) and holds.lead_time == day and holds.horizon == 14 * day
    assert holds.windows == (parse_window("Tue-Thu 08:30-10:00"), parse_window("Tue-Thu 12:00-13:30"))
    assert (holds.buffer, holds.per_day, holds.per_week) == (timedelta(minutes=15), 1, 1)
    assert holds.remove_when_touched is True
    assert (config.rules.max_meeting_size, config.rules.max_recipients) == (8, 10)
    assert (config.google.calendars, config.google.gmail) == (["primary"], True)
    tiers = config.tiers
    assert (tiers.meaningful, tiers.intimate, tiers.familiar, tiers.unfamiliar) == (30, 14, 90, 180)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("duration", '"45m"'),
        ("buffer", '"90s"'),
        ("buffer", '"30m"'),
        ("lead_time", '"12h"'),
        ("horizon", '"2w"'),
        ("windows", '"Mon,Wed 12:00-13:00"'),
        ("windows", '["Tue-Thu 08:30-10:00", "Mon,Wed 12:00-13:00"]'),
    ],
)
def test_value_formats_of_the_contract_load(cli, key, value):
    cli.write_config(f"""
        [holds]
        sink = "ics:holds.ics"
        {key} = {value}
        [daemon]
        plan_at = "06:45"
        sync_every = "90s"
    """)
    result = cli("cold", now=NOW)
    assert result.code == 0, result.err


# --- cold --json and contacts list --json ---------------------------------------------------


def test_cold_order_overdue_floor_snoozed_listed_and_ignored_never(cli):
    contacts = [
        ("Zed Never", "zed@x.example", 30, "false"),
        ("Amy Never", "amy@x.example", 30, "false"),
        ("Short Cadence", "short@x.example", 10, "false"),  # 25.96 days: ratio 2.6, overdue 15
        ("Mid Cadence", "mid@x.example", 30, "false"),  # 61 days: ratio 2.03, overdue 31
        ("Long Cadence", "long@x.example", 100, "false"),  # 150.5 days: ratio 1.5, overdue 50
        ("Ivy Ignored", "ivy@x.example", 10, "true"),
    ]
    (cli.home / "contacts.toml").write_text(
        "".join(
            f'[[contact]]\nname = "{name}"\nemails = ["{email}"]\ncadence_days = {days}\nignore = {ignore}\n\n'
            for name, email, days, ignore in contacts
        )
    )
    cli.write_config("""
        [user]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [holds]
        enabled = false
    """)
    assert cli("contacts", "import", "contacts.toml", now=NOW).code == 0
    for who, when in [
        ("short@x.example", "2026-10-25T09:00:00Z"),
        ("Mid Cadence", "2026-09-20T09:00:00+02:00"),
        ("long-cadence", "2026-06-22T21:00:00+02:00"),
        ("ivy@x.example", "2026-01-01T09:00:00+01:00"),
    ]:
        assert cli("touch", who, "--date", when, now=NOW).code == 0
    assert cli("snooze", "mid cadence", "--days", "5", now=NOW).code == 0
    cold = cli("cold", "--json", now=NOW).json()
    assert [item["id"] for item in cold] == ["amy-never", "zed-never", "short-cadence", "mid-cadence", "long-cadence"]
    overdue = {item["id"]: item["overdue_days"] for item in cold}
    assert overdue == {"amy-never": None, "zed-never": None, "short-cadence": 15, "mid-cadence": 31, "long-cadence": 50}
    assert all(type(days) is int for days in overdue.values() if days is not None)
    snoozed = {item["id"]: item["snoozed_until"] for item in cold}
    assert snoozed["mid-cadence"] == "2026-11-25T09:00:00+01:00" and snoozed["short-cadence"] is None
    assert cli("status", "--json", now=NOW).json()["cold_count"] == 5
    listed = by_id(cli("contacts", "list", "--json", now=NOW).json())
    assert listed["ivy-ignored"]["ignore"] is True and listed["ivy-ignored"]["last_touch_kind"] == "manual"
    for item in [*cold, *listed.values()]:
        assert isinstance(item["cadence_days"], int) and isinstance(item["ignore"], bool)
        assert item["email"] == item["emails"][0] and isinstance(item["emails"], list)
        assert item["last_touch_kind"] in ("meeting", "email", "manual", None)
        assert item["last_touch_at"] is None or instant(item["last_touch_at"]).utcoffset() in (BERLIN, 2 * BERLIN)


# --- holds: JSON, the ICS sink, status counts -----------------------------------------------


def test_holds_json_the_ics_hold_and_status_counts(fresh_demo):
    with fresh_demo.config.open("a", encoding="utf-8") as config:  # [holds] is the demo config's last table
        config.write('title = "Coffee: {first_name} / {name}"\n')
    assert fresh_demo("sync", now=NOW).code == 0
    holds = fresh_demo("holds", "--json", now=NOW).json()
    assert holds, "the demo books holds"
    sink = f"ics:{fresh_demo.config.parent / 'holds.ics'}"
    for hold in holds:
        assert set(hold) == {"contact_id", "name", "email", "start", "end", "sink", "event_id"}
        assert hold["sink"] == sink
        start, end = instant(hold["start"]), instant(hold["end"])
        assert start.utcoffset() == BERLIN and end - start == timedelta(minutes=30)
    assert [hold["start"] for hold in holds] == sorted(hold["start"] for hold in holds)
    events = icalendar.Calendar.from_ical((fresh_demo.config.parent / "holds.ics").read_bytes()).walk("VEVENT")
    by_contact = {str(event["X-SYNCD-CONTACT"]): event for event in events}
    assert set(by_contact) == {hold["contact_id"] for hold in holds}
    for hold in holds:
        event = by_contact[hold["contact_id"]]
        assert str(event["UID"]) == hold["event_id"]
        assert str(event["CLASS"]) == "PRIVATE" and str(event["TRANSP"]) == "OPAQUE"
        assert str(event["SUMMARY"]) == f"Coffee: {hold['name'].split()[0]} / {hold['name']}"
        assert event.decoded("DTSTART") == instant(hold["start"])
    status = fresh_demo("status", "--json", now=NOW).json()
    cold = fresh_demo("cold", "--json", now=NOW).json()
    assert status["upcoming_holds"] == len(holds) and type(status["upcoming_holds"]) is int
    assert status["cold_count"] == len(cold) and {hold["contact_id"] for hold in holds} <= {c["id"] for c in cold}


def test_dry_run_writes_no_hold_anywhere(fresh_demo):
    result = fresh_demo("sync", "--dry-run", now=NOW)
    assert result.code == 0 and "would book" in result.out, result.err
    assert not (fresh_demo.config.parent / "holds.ics").exists()
    assert fresh_demo("holds", "--json", now=NOW).json() == []
    assert fresh_demo("status", "--json", now=NOW).json()["upcoming_holds"] == 0
    assert fresh_demo("sync", now=NOW).code == 0, "after a dry run, the real run books as if none happened"
    assert fresh_demo("holds", "--json", now=NOW).json()


# --- CONTACT arguments and --date --------------------------------------------------------------

# (the command, its options after CONTACT)
CONTACT_COMMANDS = [
    (("contacts", "show"), ()),
    (("touch",), ()),
    (("snooze",), ("--days", "3")),
    (("why",), ()),
    (("holds", "cancel"), ()),
    (("contacts", "edit"), ("--notes", "changed")),
    (("contacts", "remove"), ()),
]


@pytest.mark.parametrize("who", ["grace-hopper", "AmazingGrace@GoogleMail.com", "GRACE.HOPPER@navy.example"])
def test_a_contact_by_id_or_any_address(demo, who):
    result = demo("contacts", "show", who, "--json", now=NOW)
    assert result.code == 0, result.err
    assert result.json()["id"] == "grace-hopper"


@pytest.mark.parametrize(("words", "options"), CONTACT_COMMANDS, ids=[" ".join(words) for words, _ in CONTACT_COMMANDS])
def test_every_contact_argument_resolves_a_name_case_insensitively_and_refuses_an_ambiguous_one(demo, words, options):
    assert demo(*words, "aLAN tURING", *options, now=NOW).code == 0
    assert demo("contacts", "add", "Grace Hopper", "grace@cobol.example", now=NOW).code == 0
    listed = {item["id"] for item in demo("contacts", "list", "--json", now=NOW).json()}
    twin = next(item for item in listed if item.startswith("grace-hopper") and item != "grace-hopper")
    before = demo("contacts", "list", "--json", now=NOW).out
    result = demo(*words, "grace hopper", *options, now=NOW)
    assert result.code == 2
    assert twin in result.err and "grace.hopper@navy.example" in result.err and "grace@cobol.example" in result.err
    assert demo("contacts", "list", "--json", now=NOW).out == before, "an ambiguous CONTACT changes nothing"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("today", "2026-11-20"),
        ("yesterday", "2026-11-19"),
        ("-3d", "2026-11-17"),
        ("2026-11-02", "2026-11-02"),
        ("2026-11-02T19:30", "2026-11-02T19:30:00+01:00"),
        ("2026-11-02T19:30:00+05:00", "2026-11-02T15:30:00+01:00"),
    ],
)
def test_touch_date_forms(demo, date, expected):
    result = demo("touch", "alan@bletchley.example", "--date", date, now=NOW)
    assert result.code == 0, result.err
    alan = by_id(demo("contacts", "list", "--json", now=NOW).json())["alan-turing"]
    assert alan["last_touch_kind"] == "manual" and alan["last_touch_at"].startswith(expected)
    assert instant(alan["last_touch_at"]) <= instant(NOW)


def test_touch_date_defaults_to_now(demo):
    assert demo("touch", "alan-turing", now=NOW).code == 0
    assert by_id(demo("contacts", "list", "--json", now=NOW).json())["alan-turing"]["last_touch_at"] == NOW


# --- Accounts beyond one Google login ---------------------------------------------------------


@pytest.mark.parametrize("sink", ["google:primary", "google:carol@example.com/primary"])
def test_with_several_google_accounts_the_hold_sink_must_name_one_when_the_config_loads(cli, sink):
    cli.write_config(f"""
        [[sources.google]]
        enabled = true
        account = "ada@example.com"
        token_file = "ada.json"
        [[sources.google]]
        enabled = true
        account = "bob@example.org"
        token_file = "bob.json"
        [holds]
        sink = "{sink}"
    """)
    result = cli("cold", now=NOW)
    assert result.code == 2
    assert f"{cli.config}:11: [holds] sink" in result.err and "google:ACCOUNT/CALENDAR_ID" in result.err
    assert "ada@example.com" in result.err and "bob@example.org" in result.err
    cli.write_config(cli.config.read_text().replace(sink, "google:Bob@example.org/primary"))
    assert cli("cold", now=NOW).code == 0


def test_a_caldav_hold_sink_names_a_caldav_table_when_the_config_loads(cli):
    cli.write_config("""
        [[sources.caldav]]
        name = "home"
        url = "https://dav.example.com/"
        username = "ada"
        [holds]
        sink = "caldav:work/Coffee"
    """)
    result = cli("cold", now=NOW)
    assert result.code == 2
    assert f"{cli.config}:7: [holds] sink" in result.err and "'work'" in result.err and "home" in result.err
    cli.write_config(cli.config.read_text().replace("caldav:work/", "caldav:home/"))
    assert cli("cold", now=NOW).code == 0


def test_own_addresses_are_checked_when_the_config_loads(cli):
    cli.write_config("""
        [user]
        emails = ["Me <ME@example.com>", "me at example dot com"]
        [holds]
        enabled = false
    """)
    result = cli("cold", now=NOW)
    assert result.code == 2
    assert f"{cli.config}:3: [user] emails" in result.err and "'me at example dot com'" in result.err
    assert "ME@example.com" not in result.err, "a display name and capitals are an address as written"


def test_a_single_account_table_problem_names_its_line(cli):
    cli.write_config("""
        [holds]
        enabled = false
        [sources.imap]
        host = "imap.example.com"
        username = "ada"
        port = 0
    """)
    result = cli("cold", now=NOW)
    assert result.code == 2 and f"{cli.config}:4: [[sources.imap]] #1 port" in result.err


# --- Touch rules: the user's own addresses are never contacts ----------------------------------------


def test_own_addresses_are_never_contacts(demo):
    """The demo user is sam@rivera.example: as a contact, forever cold, booked for coffee with themselves."""
    added = demo("contacts", "add", "Sam Rivera", "Sam@Rivera.example", now=NOW)
    assert added.code == 2 and "sam@rivera.example" in added.err and "own" in added.err
    edited = demo("contacts", "edit", "alan-turing", "--add-email", "sam@rivera.example", now=NOW)
    assert edited.code == 2 and "own" in edited.err
    (demo.home / "card.toml").write_text(
        '[[contact]]\nname = "Sam"\nemails = ["sam@rivera.example"]\n\n'
        '[[contact]]\nname = "Zoe Field"\nemails = ["zoe@field.example", "SAM@rivera.example"]\n'
    )
    imported = demo("contacts", "import", str(demo.home / "card.toml"), now=NOW)
    assert imported.code == 0, imported.err
    listed = demo("contacts", "list", "--json", now=NOW).json()
    assert not [item for item in listed if "sam@rivera.example" in item["emails"]]
    assert by_id(listed)["zoe-field"]["emails"] == ["zoe@field.example"]
    assert "sam" not in {item["id"] for item in demo("cold", "--json", now=NOW).json()}


def test_an_archived_namesake_does_not_make_a_name_ambiguous(demo):
    contacts_file = demo.config.parent / "contacts.toml"
    blocks = contacts_file.read_text().split("[[contact]]")
    contacts_file.write_text("[[contact]]".join(block for block in blocks if "margaret@apollo.example" not in block))
    assert demo("sync", now=NOW).code == 0
    assert demo("contacts", "add", "Margaret Hamilton", "margaret@mit.example", now=NOW).code == 0
    touched = demo("touch", "margaret hamilton", now=NOW)
    assert touched.code == 0, touched.err
    assert "margaret@mit.example" in touched.out
    archived = demo("why", "margaret-hamilton", "--json", now=NOW).json()
    assert archived["hold"]["reason"] == "archived", "the archived one is still found by id"
