"""`syncd doctor`: every check that would otherwise only show as a failure at 3 am, run now.

Each check gives one :class:`Check` (`ok`, `warn` or `fail` with one line of detail); a
check that does not apply to the config (no source needs the keyring, holds are off) is
left out. Nothing here writes anything that stays: a folder's writability is probed with
a temporary file that is removed at once. The sources' own checks (files, logins, tokens)
are in :mod:`syncd.doctor_sources`.
"""

from __future__ import annotations

import os
import shlex
import tempfile
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd.config import Config, xdg_config_home
from syncd.contact_files import read_contact_files
from syncd.errors import SyncdError, first_line
from syncd.google.accounts import google_accounts
from syncd.secrets import keyring_trouble
from syncd.service import UNIT_NAME, unit_path
from syncd.sources.base import display_path

OK, WARN, FAIL = "ok", "warn", "fail"
KEYRING_PROBE = "syncd-doctor-probe"  # looked up, never written: reading proves the keyring answers


@dataclass(frozen=True)
class Check:
    check: str
    state: str  # ok | warn | fail
    detail: str


def run_checks(config: Config, now: datetime) -> list[Check]:
    """All checks that apply to `config`, in the order a user would fix them."""
    from syncd.doctor_sources import source_checks

    checks = [config_check(config)]
    checks.append(store_check(config))
    checks.extend(contacts_checks(config))
    checks.extend(source_checks(config))
    keyring = keyring_check(config)
    if keyring is not None:
        checks.append(keyring)
    sink = sink_check(config)
    if sink is not None:
        checks.append(sink)
    checks.append(unit_check())
    checks.append(timezone_check(config, now))
    return checks


def config_check(config: Config) -> Check:
    return Check("config", OK, f"{display_path(config.path)} loaded" if config.path else "defaults (no config file)")


# --- paths -------------------------------------------------------------------------


def writable_folder(folder: Path) -> str | None:
    """Why syncd could not create a file in `folder` (or the folder itself), or None.

    Probed with a real temporary file, because `access(2)` says yes to root even where a
    read-only mount or a full disk will refuse the write.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{display_path(existing)} is not a folder"
    try:
        handle, name = tempfile.mkstemp(dir=existing, prefix=".syncd-doctor-")
    except OSError as error:
        return f"cannot write in {display_path(existing)}: {error.strerror or error}"
    os.close(handle)
    os.unlink(name)
    return None


def writable_file(path: Path) -> str | None:
    """Why syncd could not write `path` (creating it if missing), or None."""
    if path.exists():
        if path.is_dir():
            return f"{display_path(path)} is a folder, not a file"
        try:
            os.close(os.open(path, os.O_WRONLY))  # no O_TRUNC: opening changes nothing
        except OSError as error:
            return f"cannot write {display_path(path)}: {error.strerror or error}"
        return None
    return writable_folder(path.parent)


def store_check(config: Config) -> Check:
    path = config.store_path
    # SQLite writes its journal beside the file: the folder must be writable too.
    problem = writable_file(path) or writable_folder(path.parent)
    return place_check("store", path, problem, "fix the permissions or set [store] path")


def place_check(name: str, path: Path, problem: str | None, fix: str) -> Check:
    """A file syncd writes: writable here, and inside what the installed service may write."""
    if problem:
        return Check(name, FAIL, f"{problem}; {fix}")
    outside = outside_unit(path)
    if outside:
        return Check(name, FAIL, outside)
    return Check(name, OK, f"{display_path(path)} writable")


def contacts_checks(config: Config) -> Iterator[Check]:
    """Each configured contacts file read and parsed the way `sync` imports it."""
    for path in config.contacts.files:
        name = f"contacts {display_path(path)}"
        if not path.exists():
            yield Check(name, FAIL, f"{display_path(path)}: no such file or folder; fix [contacts] files")
            continue
        try:
            entries = read_contact_files([path])
        except SyncdError as error:
            yield Check(name, FAIL, first_line(error))
        except OSError as error:
            yield Check(name, FAIL, f"{display_path(path)}: cannot read: {error.strerror or error}")
        else:
            yield Check(name, OK, f"{len(entries)} contact(s)")


# --- keyring -----------------------------------------------------------------------


def keyring_users(config: Config) -> list[str]:
    """What keeps its secret in the OS keyring: Google accounts without a token_file,
    IMAP/CalDAV accounts without a password_command."""
    users = [f"google {google.account or ''}".strip() for google in google_accounts(config) if not google.token_file]
    users += [f"imap:{table.name}" for table in config.imap if not table.password_command]
    users += [f"caldav:{table.name}" for table in config.caldav if not table.password_command]
    return users


def keyring_check(config: Config) -> Check | None:
    users = keyring_users(config)
    if not users:
        return None
    import keyring

    backend = keyring.get_keyring()
    label = f"{type(backend).__module__}.{type(backend).__name__}"
    try:
        keyring.get_password("syncd", KEYRING_PROBE)
    except Exception as error:  # every backend has its own error types (D-Bus, Secret Service, …)
        return Check(
            "keyring",
            FAIL,
            f"{keyring_trouble(error)} ({label}); needed by {', '.join(users)}: unlock it, "
            "or set token_file (Google) / password_command (IMAP, CalDAV) in the config",
        )
    return Check("keyring", OK, f"{label} answers (needed by {', '.join(users)})")


# --- the sink and the service ------------------------------------------------------


def sink_check(config: Config) -> Check | None:
    if not config.holds.enabled:
        return None
    sink = config.hold_sink
    if not sink:
        return Check("sink", FAIL, '[holds] sink is not set; set it (e.g. sink = "ics:~/holds.ics") or enabled = false')
    kind, _, rest = sink.partition(":")
    if kind != "ics":
        return Check("sink", OK, f"{sink} (written with the credentials checked above)")
    path = Path(os.path.expanduser(rest.strip())).absolute()
    return place_check("sink", path, writable_file(path), "the holds cannot be written there")


def unit_files() -> list[Path]:
    """The installed unit and its drop-ins (`systemctl --user edit syncd`), in the order systemd reads them."""
    unit = unit_path()
    if not unit.exists():
        return []
    drop_ins = unit.with_name(UNIT_NAME + ".d")
    return [unit, *sorted(drop_ins.glob("*.conf"))] if drop_ins.is_dir() else [unit]


def read_write_paths(files: list[Path]) -> list[Path]:
    """`ReadWritePaths=` of the unit as systemd reads it: `%h` expanded, an empty value resets."""
    paths: list[Path] = []
    for file in files:
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            key, equals, value = line.strip().partition("=")
            if not equals or key.strip() != "ReadWritePaths":
                continue
            words = shlex.split(value.replace("%h", str(Path.home())).replace("%%", "%"))
            if not words:
                paths = []
            paths += [Path(word.lstrip("-+")) for word in words]
    return paths


def outside_unit(path: Path) -> str | None:
    """Why the installed service could not write `path` (ProtectHome=read-only), or None.

    Without an installed unit there is nothing to compare: `install-service` renders
    ReadWritePaths= from the config itself.
    """
    files = unit_files()
    if not files:
        return None
    target = Path(os.path.realpath(path))
    allowed = read_write_paths(files)
    for folder in allowed:
        if target.is_relative_to(os.path.realpath(folder)):
            return None
    listed = " ".join(display_path(folder) for folder in allowed) or "nothing"
    return (
        f"{display_path(path)} is outside the service's writable paths (ReadWritePaths={listed} in "
        f"{display_path(files[0])}); run `syncd install-service` again, or `systemctl --user edit syncd`"
    )


def unit_check() -> Check:
    unit = unit_path()
    if not unit.exists():
        return Check(
            "unit", WARN, "not installed; run `syncd install-service`, then `systemctl --user enable --now syncd`"
        )
    wants = xdg_config_home() / "systemd" / "user" / "default.target.wants" / UNIT_NAME
    if not (wants.exists() or wants.is_symlink()):
        return Check(
            "unit", WARN, f"{display_path(unit)} installed but not enabled; run `systemctl --user enable --now syncd`"
        )
    return Check("unit", OK, f"{display_path(unit)} installed and enabled")


# --- time zone ---------------------------------------------------------------------


def timezone_check(config: Config, now: datetime) -> Check:
    """Windows, `plan_at` and every time shown follow this zone; without IANA data no DST switch is followed."""
    zone = config.tz
    local = now.astimezone(zone)
    if not isinstance(zone, zoneinfo.ZoneInfo):
        return Check(
            "timezone",
            WARN,
            f"no IANA zone found (using fixed offset UTC{local.isoformat()[-6:]}); DST changes will not be followed: "
            'set [user] timezone (e.g. "Europe/Berlin")',
        )
    where = next((folder for folder in zoneinfo.TZPATH if (Path(folder) / zone.key).is_file()), None)
    source = f"data from {where}" if where else "data from the tzdata package"
    return Check("timezone", OK, f"{zone.key} (now UTC{local.isoformat()[-6:]}), {source}")
