"""`syncd doctor` through the CLI on real files, a real unit file and real keyring backends."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from tests.conftest import ics_calendar, ics_event, mbox_message
from tests.servers.dovecot import dovecot  # noqa: F401 (the fixture)
from tests.servers.radicale import radicale  # noqa: F401 (the fixture)

NOW = "2026-11-20T09:00:00+01:00"


@pytest.fixture
def world(cli):
    """Files of every local kind, a contacts file, an ICS sink in the data folder: nothing needs the keyring."""
    home = cli.home
    (home / "contacts.toml").write_text('[[contact]]\nname = "Ada"\nemails = ["ada@example.com"]\n')
    (home / "cal.ics").write_text(ics_calendar(ics_event("m1", "20261001T090000Z", "20261001T100000Z")))
    (home / "sent.mbox").write_text(
        mbox_message("1@x", "me@example.com", ["ada@example.com"], "Wed, 04 Nov 2026 10:00:00 +0000")
    )
    for sub in ("cur", "new", "tmp"):
        (home / "Maildir" / sub).mkdir(parents=True)
    write_config(cli, sink="~/.local/share/syncd/holds.ics")
    return cli


def write_config(cli, sink: str | None = None, extra: str = "", holds: bool = True) -> None:
    cli.write_config(
        '[user]\nemails = ["me@example.com"]\ntimezone = "Europe/Berlin"\n'
        '[contacts]\nfiles = ["contacts.toml"]\n[sources.ics]\npaths = ["cal.ics"]\n'
        '[sources.mail]\nmbox = ["sent.mbox"]\nmaildir = ["Maildir"]\n'
        + (f'[holds]\nenabled = true\nsink = "ics:{sink}"\n' if holds else "[holds]\nenabled = false\n")
        + extra
    )


def checks(result) -> dict[str, dict]:
    return {item["check"]: item for item in json.loads(result.out)}


def line_of(result, name: str) -> str:
    return next(line for line in result.out.splitlines() if line.split()[1:2] == [name])


def test_a_healthy_setup_passes_with_the_unit_a_warning(world):
    result = world("doctor", "--json", now=NOW)
    assert result.code == 0, result.out
    found = checks(result)
    assert list(found) == [
        "config",
        "store",
        "contacts ~/contacts.toml",
        "ics:~/cal.ics",
        "mbox:~/sent.mbox",
        "maildir:~/Maildir",
        "sink",
        "unit",
        "timezone",
    ]
    assert {name: item["state"] for name, item in found.items() if item["state"] != "ok"} == {"unit": "warn"}
    assert "not installed" in found["unit"]["detail"] and "syncd install-service" in found["unit"]["detail"]
    assert found["contacts ~/contacts.toml"]["detail"] == "1 contact(s)"
    assert found["timezone"]["detail"].startswith("Europe/Berlin (now UTC+01:00)")
    assert "keyring" not in found  # no source keeps a secret there: skipped, not "ok"


def test_text_output_is_one_line_per_check_without_colour_off_a_terminal(world):
    result = world("doctor", now=NOW)
    assert result.code == 0
    assert len(result.out.splitlines()) == 9
    assert line_of(result, "unit").startswith("warn  unit")
    assert "\x1b" not in result.out and "\\x1b" not in result.out


def test_an_unwritable_sink_fails_with_one_clear_line(world):
    (world.home / "calendars").write_text("a file where a folder should be")
    write_config(world, sink="~/calendars/holds.ics")
    result = world("doctor", now=NOW)
    assert result.code == 1
    assert (
        line_of(result, "sink")
        == "fail  sink                      ~/calendars is not a folder; the holds cannot be written there"
    )


def test_a_sink_outside_the_installed_units_writable_paths_fails(world):
    assert world("install-service").code == 0
    units = world.home / ".config/systemd/user"
    (units / "default.target.wants").mkdir()
    (units / "default.target.wants/syncd.service").symlink_to(units / "syncd.service")
    inside = checks(world("doctor", "--json", now=NOW))
    assert inside["sink"]["state"] == "ok" and inside["unit"] == {
        "check": "unit",
        "state": "ok",
        "detail": "~/.config/systemd/user/syncd.service installed and enabled",
    }
    (world.home / "calendars").mkdir()
    write_config(world, sink="~/calendars/holds.ics")
    result = world("doctor", "--json", now=NOW)
    assert result.code == 1
    sink = checks(result)["sink"]
    assert sink["state"] == "fail"
    assert sink["detail"].startswith(
        "~/calendars/holds.ics is outside the service's writable paths (ReadWritePaths=~/.local/share/syncd in "
        "~/.config/systemd/user/syncd.service)"
    )
    drop_in = units / "syncd.service.d"
    drop_in.mkdir()
    (drop_in / "calendars.conf").write_text("[Service]\nReadWritePaths=%h/calendars\n")
    assert checks(world("doctor", "--json", now=NOW))["sink"]["state"] == "ok"


def test_an_installed_but_disabled_unit_is_a_warning(world):
    world("install-service")
    result = world("doctor", "--json", now=NOW)
    assert result.code == 0
    assert checks(result)["unit"]["state"] == "warn"
    assert "not enabled" in checks(result)["unit"]["detail"]


def test_holds_off_skips_the_sink(world):
    write_config(world, holds=False)
    assert "sink" not in checks(world("doctor", "--json", now=NOW))


def test_broken_files_fail_each_on_its_line(world):
    (world.home / "cal.ics").write_text("not a calendar")
    (world.home / "sent.mbox").write_text("hello\n")
    (world.home / "contacts.toml").write_text("[[contact]]\nemails = 3\n")
    result = world("doctor", "--json", now=NOW)
    assert result.code == 1
    found = checks(result)
    assert (
        found["ics:~/cal.ics"]["detail"]
        == "~/cal.ics is not an iCalendar file (it does not begin with BEGIN:VCALENDAR)"
    )
    assert found["mbox:~/sent.mbox"]["state"] == "fail" and "not an mbox" in found["mbox:~/sent.mbox"]["detail"]
    assert found["contacts ~/contacts.toml"]["state"] == "fail"
    assert "contacts.toml" in found["contacts ~/contacts.toml"]["detail"]


def test_a_config_that_does_not_load_is_the_one_failing_check_exit_2(cli):
    cli.write_config("[user]\ntimezone = 3\n")
    result = cli("doctor", "--json", now=NOW)
    assert result.code == 2
    (config,) = checks(result).values()
    assert config["state"] == "fail" and "timezone" in config["detail"]


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


IMAP_WITHOUT_COMMAND = (
    '[[sources.imap]]\nname = "work"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "plain"\nusername = "me"\n'
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_missing_keyring_fails_with_one_clear_line(world, no_keyring):
    write_config(world, sink="~/.local/share/syncd/holds.ics", extra=IMAP_WITHOUT_COMMAND.format(port=closed_port()))
    result = world("doctor", now=NOW)
    assert result.code == 1
    assert line_of(result, "keyring").startswith(
        "fail  keyring                   no OS keyring is available here (keyring.backends.fail.Keyring); "
        "needed by imap:work: unlock it, or set token_file (Google) / password_command (IMAP, CalDAV)"
    )
    assert "no OS keyring" in line_of(result, "imap:work")


def test_an_imap_server_that_cannot_be_reached_fails_its_source(world):
    port = closed_port()
    extra = IMAP_WITHOUT_COMMAND.format(port=port) + 'password_command = ["echo", "secret"]\n'
    write_config(world, sink="~/.local/share/syncd/holds.ics", extra=extra)
    result = world("doctor", "--json", now=NOW)
    assert result.code == 1
    imap = checks(result)["imap:work"]
    assert imap["state"] == "fail" and f"127.0.0.1:{port}: cannot connect" in imap["detail"]
    assert "keyring" not in checks(result)  # a password_command needs no keyring


@pytest.mark.slow  # a real `python -m syncd` process, the keyring backend chosen by the environment
def test_the_keyring_backend_from_the_environment_is_the_one_checked(world, cli_process):
    write_config(world, sink="~/.local/share/syncd/holds.ics", extra=IMAP_WITHOUT_COMMAND.format(port=closed_port()))
    result = cli_process("doctor", "--json", now=NOW, env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.code == 1
    keyring_check = checks(result)["keyring"]
    assert keyring_check["state"] == "fail" and "no OS keyring is available here" in keyring_check["detail"]


@pytest.mark.slow  # the fake Google token endpoint on 127.0.0.1
def test_google_token_refreshed_against_the_configured_endpoint(world):
    from tests.fakegoogle import FakeGoogle

    with FakeGoogle("me@example.com") as fake:
        token = world.home / "token.json"
        token.write_text(json.dumps(fake.authorized_user_info()))
        os.chmod(token, 0o600)
        extra = f'[sources.google]\nenabled = true\napi_endpoint = "{fake.root}"\ntoken_file = "{token}"\n'
        write_config(world, sink="~/.local/share/syncd/holds.ics", extra=extra)
        good = checks(world("doctor", "--json", now=NOW))["google"]
        assert good["state"] == "ok" and fake.root in good["detail"]
        fake.revoke_refresh_token()
        result = world("doctor", "--json", now=NOW)
    assert result.code == 1
    revoked = checks(result)["google"]
    assert revoked["state"] == "fail" and "syncd auth" in revoked["detail"]


def test_a_missing_google_token_fails_and_says_what_to_run(world, tmp_path: Path):
    extra = f'[sources.google]\nenabled = true\ntoken_file = "{tmp_path / "absent.json"}"\n'
    write_config(world, sink="~/.local/share/syncd/holds.ics", extra=extra)
    google = checks(world("doctor", "--json", now=NOW))["google"]
    assert google["state"] == "fail" and "syncd auth" in google["detail"]


def test_no_config_file_is_the_one_failing_line(cli):
    result = cli("doctor", config=False, now=NOW)
    assert result.code == 2
    assert result.out.startswith("fail  config  ") and "syncd init" in result.out


@pytest.mark.slow  # a real Dovecot on 127.0.0.1
def test_imap_login_is_checked_against_the_server(world, dovecot):  # noqa: F811 (the fixture)
    username, password = dovecot.new_user()
    account = (
        f'[[sources.imap]]\nname = "work"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'username = "{username}"\n'
    )
    write_config(
        world, "~/.local/share/syncd/holds.ics", extra=account + f'password_command = ["echo", "{password}"]\n'
    )
    good = checks(world("doctor", "--json", now=NOW))["imap:work"]
    assert good == {"check": "imap:work", "state": "ok", "detail": f"logged in to 127.0.0.1:{dovecot.port}"}
    write_config(
        world, "~/.local/share/syncd/holds.ics", extra=account + 'password_command = ["echo", "bad-secret-7"]\n'
    )
    result = world("doctor", "--json", now=NOW)
    assert result.code == 1
    bad = checks(result)["imap:work"]
    assert bad["state"] == "fail" and "syncd auth imap:work" in bad["detail"] and "bad-secret-7" not in bad["detail"]


@pytest.mark.slow  # a real Radicale on 127.0.0.1
def test_caldav_login_is_checked_against_the_server(world, radicale):  # noqa: F811 (the fixture)
    from tests.servers.radicale import PASSWORD, USER

    for secret, state in ((PASSWORD, "ok"), ("bad-secret-7", "fail")):
        account = (
            f'[[sources.caldav]]\nname = "home"\nurl = "{radicale.url}"\nusername = "{USER}"\n'
            f'password_command = ["echo", "{secret}"]\n'
        )
        write_config(world, "~/.local/share/syncd/holds.ics", extra=account)
        caldav = checks(world("doctor", "--json", now=NOW))["caldav:home"]
        assert caldav["state"] == state, caldav
        assert "bad-secret-7" not in caldav["detail"]
