"""The command contract, driven through the real CLI in a subprocess on real files."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import ics_calendar, ics_event, mbox_message

NOW = "2026-11-20T09:00:00+01:00"
ME = "me@example.com"


@pytest.fixture
def world(cli):
    home = cli.home
    (home / "contacts.toml").write_text(
        '[[contact]]\nname = "Ada Lovelace"\nemails = ["ada@example.com"]\ntier = "meaningful"\n\n'
        '[[contact]]\nname = "Bob Stone"\nemails = ["bob@example.org", "b.stone@gmail.com"]\ncadence_days = 10\n\n'
        '[[contact]]\nname = "Carol Never"\nemails = ["carol@example.net"]\n\n'
        '[[contact]]\nname = "Dan Ignored"\nemails = ["dan@example.net"]\nignore = true\n'
    )
    (home / "cal.ics").write_text(
        ics_calendar(
            ics_event("m1", "20261001T090000Z", "20261001T100000Z", [ME, "ada@example.com"], organizer=ME),
            ics_event("m2", "20261125T090000Z", "20261125T100000Z", [ME, "carol@example.net"], organizer=ME),
        )
    )
    (home / "mail.mbox").write_text(
        mbox_message("1@x", f"Me <{ME}>", ["Bob <B.Stone+news@googlemail.com>"], "Wed, 04 Nov 2026 10:00:00 +0000")
    )
    cli.write_config(f"""
        [user]
        emails = ["{ME}"]
        timezone = "Europe/Berlin"
        [contacts]
        files = ["contacts.toml"]
        [sources.ics]
        paths = ["cal.ics"]
        [sources.mail]
        mbox = "mail.mbox"
        [holds]
        enabled = false
    """)
    return cli


def test_sync_then_cold_json_contract(world):
    assert world("sync", now=NOW).code == 0
    result = world("cold", "--json", now=NOW)
    assert result.code == 0
    cold = result.json()
    assert [item["id"] for item in cold] == ["carol-never", "ada-lovelace", "bob-stone"]
    carol, ada, bob = cold
    assert carol["last_touch_at"] is None and carol["overdue_days"] is None and carol["last_touch_kind"] is None
    assert ada["last_touch_at"] == "2026-10-01T11:00:00+02:00"
    assert ada["last_touch_kind"] == "meeting" and ada["cadence_days"] == 30 and ada["overdue_days"] == 19
    assert bob["email"] == "bob@example.org" and bob["emails"] == ["bob@example.org", "bstone@gmail.com"]
    assert bob["last_touch_kind"] == "email" and bob["overdue_days"] == 5
    for item in cold:
        assert set(item) >= {
            "id",
            "name",
            "email",
            "emails",
            "tier",
            "cadence_days",
            "last_touch_at",
            "last_touch_kind",
            "overdue_days",
            "ignore",
        }
        assert item["ignore"] is False


def test_contacts_list_json_includes_ignored(world):
    world("sync", now=NOW)
    listed = {item["id"]: item for item in world("contacts", "list", "--json", now=NOW).json()}
    assert set(listed) == {"ada-lovelace", "bob-stone", "carol-never", "dan-ignored"}
    assert listed["dan-ignored"]["ignore"] is True
    assert listed["carol-never"]["tier"] == "familiar" and listed["carol-never"]["cadence_days"] == 90


def test_future_meeting_counts_once_it_started(world):
    world("sync", now=NOW)
    later = "2026-11-25T10:30:00+01:00"
    carol = next(item for item in world("contacts", "list", "--json", now=later).json() if item["id"] == "carol-never")
    assert carol["last_touch_at"] == "2026-11-25T10:00:00+01:00"


def test_status_json_and_exit_codes(world):
    before = world("status", "--json", now=NOW)
    assert before.code == 1
    assert {source["state"] for source in before.json()["sources"]} == {"never"}
    world("sync", now=NOW)
    result = world("status", "--json", now=NOW)
    assert result.code == 0, result.out
    data = result.json()
    assert {source["name"]: source["kind"] for source in data["sources"]} == {
        f"ics:{world.home}/cal.ics".replace(str(world.home), "~"): "ics",
        "mbox:~/mail.mbox": "mbox",
    }
    for source in data["sources"]:
        assert source["state"] == "ok" and source["error"] is None and source["items"] >= 1
        assert source["last_success_at"] == "2026-11-20T09:00:00+01:00"
    assert data["cold_count"] == 3 and data["upcoming_holds"] == 0
    assert "next_run_at" in data
    stale = world("status", "--json", now="2026-11-20T10:00:00+01:00")
    assert stale.code == 1 and "not synced successfully" in " ".join(stale.json()["problems"])


def test_unparseable_source_fails_sync_with_exit_1(world):
    (world.home / "cal.ics").write_text("BEGIN:VCALENDAR\nthis is not ical\n")
    result = world("sync", now=NOW)
    assert result.code == 1
    assert "cal.ics" in result.err and "Traceback" not in result.err
    status = world("status", "--json", now=NOW).json()
    ics = next(source for source in status["sources"] if source["kind"] == "ics")
    mbox = next(source for source in status["sources"] if source["kind"] == "mbox")
    assert ics["state"] == "error" and "cal.ics" in ics["error"]
    assert mbox["state"] == "ok"


def test_touch_and_snooze(world):
    world("sync", now=NOW)
    assert world("touch", "Ada", "--date", "2026-11-19", now=NOW).code == 0
    ada = next(item for item in world("contacts", "list", "--json", now=NOW).json() if item["id"] == "ada-lovelace")
    assert ada["last_touch_kind"] == "manual" and ada["last_touch_at"].startswith("2026-11-19")
    assert world("snooze", "carol@example.net", "--days", "7", now=NOW).code == 0
    carol = next(item for item in world("cold", "--json", now=NOW).json() if item["id"] == "carol-never")
    assert carol["snoozed_until"].startswith("2026-11-27")
    future = world("touch", "ada", "--date", "2026-12-01", now=NOW)
    assert future.code == 2 and "future" in future.err


def test_ambiguous_contact_lists_candidates(world):
    world("sync", now=NOW)
    world("contacts", "add", "Ada Byron", "ada.byron@example.com", now=NOW)
    result = world("touch", "ada", now=NOW)
    assert result.code == 2
    assert "ada-lovelace" in result.err and "ada-byron" in result.err
    assert world("touch", "ada byron", now=NOW).code == 0


def test_contacts_show_explains_the_last_touch(world):
    world("sync", now=NOW)
    result = world("contacts", "show", "b.stone@googlemail.com", now=NOW)
    assert result.code == 0
    assert "Bob Stone" in result.out and "exchanged mail" in result.out and "mbox:~/mail.mbox" in result.out
    data = world("contacts", "show", "bob-stone", "--json", now=NOW).json()
    assert data["last_touch"]["source"] == "mbox:~/mail.mbox" and data["last_touch"]["item_id"] == "1@x"


def test_bad_config_reports_every_problem_with_line(cli):
    cli.write_config("""
        [holds]
        per_dya = 2
        duration = "half an hour"
        [sources.mail]
        mbox = 3
    """)
    result = cli("status")
    assert result.code == 2
    assert "Traceback" not in result.err
    assert f"{cli.config}:3: unknown key [holds] per_dya (did you mean 'per_day'?)" in result.err
    assert f"{cli.config}:4: [holds] duration: expected a duration like 30m" in result.err
    assert f"{cli.config}:6: [sources.mail] mbox: expected a string or a list of strings" in result.err


def test_missing_explicit_config_is_exit_2(cli):
    result = cli("status")
    assert result.code == 2 and "no such config file" in result.err


def test_bad_contacts_file_imports_nothing(cli):
    cli.write_config("[holds]\nenabled = false\n")
    good = cli.home / "good.csv"
    good.write_text("name,emails,tier\nAda,ada@example.com,meaningful\n")
    bad = cli.home / "bad.csv"
    bad.write_text("name,emails,tier\nBob,bob@example.com,bestie\n")
    result = cli("contacts", "import", str(good), str(bad))
    assert result.code == 2 and f"{bad}:2: tier" in result.err
    assert cli("contacts", "list", "--json").json() == []


def test_init_writes_once_and_parses(cli):
    first = cli("init")
    assert first.code == 0 and cli.config.exists()
    assert stat.S_IMODE(os.stat(cli.config).st_mode) & 0o077 in (0, 0o044, 0o004, 0o040)
    assert cli("init").code == 1
    assert cli("status", "--json").code == 0


def test_usage_errors_exit_2(cli):
    cli.write_config("")
    assert cli("snooze", "x").code == 2
    assert cli("no-such-command").code == 2
    assert cli("--now", "yesterday", "cold").code == 2


def test_store_is_private(world):
    world("sync", now=NOW)
    store = world.home / ".local/share/syncd/syncd.db"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.parent).st_mode) == 0o700


def test_demo_runs(cli):
    result = cli("demo", config=False)
    assert result.code == 0, result.err
    assert "Margaret Hamilton" in result.out and "COLD, never touched" in result.out
    assert "Barbara Liskov" in result.out and "ignored" in result.out


def test_logs_never_show_addresses_at_info(world):
    (world.home / "cal.ics").write_text("not a calendar")
    result = world("-v", "sync", now=NOW)
    assert result.code == 1
    assert "@" not in "\n".join(line for line in result.err.splitlines() if " INFO " in line or " WARNING " in line)


def test_sync_ends_with_one_summary_line_even_when_nothing_changed(world):
    first = world("sync", now=NOW)
    again = world("sync", now=NOW)
    for result in (first, again):
        assert result.code == 0, result.err
        assert result.out.splitlines()[-1] == (
            "sync: 2 sources ok; "
            + ("3" if result is first else "0")
            + " items; holds paused: holds are disabled ([holds] enabled = false)"
        )
    assert world("sync", "--no-holds", now=NOW).out.splitlines()[-1].endswith("; holds not planned (--no-holds)")


def test_a_failing_source_is_printed_once_and_named_in_the_summary(world):
    (world.home / "cal.ics").write_text("not a calendar")
    result = world("sync", now=NOW)
    assert result.code == 1
    failures = [line for line in result.err.splitlines() if "cal.ics" in line]
    assert len(failures) == 1 and failures[0].startswith("syncd: ics:~/cal.ics: ")
    assert result.out.splitlines()[-1].startswith("sync: 1 source ok, 1 failed (ics:~/cal.ics); ")


def test_a_stale_source_in_status_problems_is_in_the_users_zone(world):
    world("sync", now=NOW)
    status = world("status", "--json", now="2026-11-25T09:00:00+01:00").json()
    stale = [problem for problem in status["problems"] if "has not synced successfully" in problem]
    assert stale and all(problem.endswith("since 2026-11-20 09:00 CET") for problem in stale)


def test_a_hold_calendar_that_fails_is_said_once_and_in_the_summary(world):
    (world.home / "calendars").write_text("a file where a folder should be")
    config = world.config.read_text().replace("enabled = false", 'sink = "ics:calendars/holds.ics"')
    world.config.write_text(config)
    result = world("sync", now=NOW)
    assert result.code == 1
    (line,) = [line for line in result.err.splitlines() if "holds.ics" in line]
    assert line.startswith("syncd: no holds booked: cannot read the hold calendar: ")
    assert result.out.splitlines()[-1] == "sync: 2 sources ok; 3 items; holds failed (see above)"
