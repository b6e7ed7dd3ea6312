"""Load and validate the TOML config, early and completely.

Every problem is collected and reported at once with the file, line and key, so the user
fixes the file in one pass; nothing else in syncd runs on a config that failed here.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import string
import tomllib
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from syncd.addresses import normalize
from syncd.config_accounts import account_tables, google_account_tables
from syncd.config_spec import REPEATED_SECTIONS, SPEC, TIERS, TITLE_FIELDS, Key
from syncd.config_types import FIELD_OF_SECTION, SECTION_TYPES, CaldavConfig, Config, GoogleConfig, ImapConfig
from syncd.errors import ConfigError
from syncd.timeutil import format_duration, local_timezone, parse_duration, parse_hhmm, parse_timezone
from syncd.windows import parse_window


def xdg_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_config_path() -> Path:
    return xdg_config_home() / "syncd" / "config.toml"


def default_data_dir() -> Path:
    return xdg_data_home() / "syncd"


def expand_path(text: str, base: Path | None = None) -> Path:
    """`~` and variables expanded; relative paths are relative to the config file's folder."""
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def _convert(key: Key, value: Any, base: Path | None) -> Any:
    kind = key.kind
    if kind == "str":
        _expect(isinstance(value, str), "a string", value)
        return value
    if kind == "bool":
        _expect(isinstance(value, bool), "true or false", value)
        return value
    if kind == "int":
        _expect(isinstance(value, int) and not isinstance(value, bool), "a whole number", value)
        if key.minimum is not None and value < key.minimum:
            raise ValueError(f"expected a whole number ≥ {key.minimum}, got {value}")
        return value
    if kind == "duration":
        _expect(isinstance(value, str), 'a duration string like "30m" or "14d"', value)
        duration = parse_duration(value)
        if key.minimum is not None and duration.total_seconds() < key.minimum:
            raise ValueError(f"expected at least {format_duration(timedelta(seconds=key.minimum))}, got {value!r}")
        if duration.total_seconds() > key.maximum:
            raise ValueError(f"expected at most {format_duration(timedelta(seconds=key.maximum))}, got {value!r}")
        return duration
    if kind == "title":
        _expect(isinstance(value, str), 'a title like "Coffee with {name}"', value)
        return check_title(value)
    if kind == "hhmm":
        _expect(isinstance(value, str), 'a time of day like "07:00"', value)
        return parse_hhmm(value)
    if kind == "timezone":
        _expect(isinstance(value, str), 'a time zone name like "Europe/Berlin"', value)
        return parse_timezone(value)
    if kind == "path":
        _expect(isinstance(value, str) and value.strip() != "", "a path", value)
        return expand_path(value, base)
    if kind in ("paths", "strings", "windows"):
        items = [value] if isinstance(value, str) else value
        _expect(
            isinstance(items, list) and all(isinstance(item, str) for item in items),
            "a string or a list of strings",
            value,
        )
        if kind == "paths":
            return [expand_path(item, base) for item in items]
        if kind == "windows":
            return tuple(parse_window(item) for item in items)
        return [item.strip() for item in items]
    if kind == "sink":
        _expect(isinstance(value, str), 'a sink like "ics:PATH" or "google:primary"', value)
        prefix, _, rest = value.partition(":")
        if prefix not in ("ics", "google", "caldav") or not rest or (prefix == "caldav" and "/" not in rest):
            raise ValueError(f'expected "ics:PATH", "google:CALENDAR_ID" or "caldav:NAME/CALENDAR", got {value!r}')
        return f"ics:{expand_path(rest, base)}" if prefix == "ics" else value
    if kind == "command":
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as error:
                raise ValueError(f"cannot split {value!r} like a shell would: {error}") from None
        _expect(isinstance(value, list) and all(isinstance(item, str) for item in value), "a string or a list", value)
        _expect(bool(value) and bool(value[0]), "a command", value)
        return tuple(value)
    if kind == "url":
        _expect(isinstance(value, str) and re.match(r"^https?://", value) is not None, "an http(s) URL", value)
        return value if value.endswith("/") else value + "/"
    raise AssertionError(f"unknown kind {kind}")


def check_title(template: str) -> str:
    """A title template may use {name} and {first_name} as they are: caught now, not after a sync committed.

    Format specs and conversions are refused too: `{name:>999999999}` would be a gigabyte title.
    """
    allowed = ", ".join("{" + name + "}" for name in TITLE_FIELDS)
    try:
        parts = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)]
    except ValueError as error:
        raise ValueError(f"{error} in {template!r}; a title may use {allowed}, and {{{{ }}}} for braces") from None
    for name, spec, conversion in parts:
        if name is not None and name not in TITLE_FIELDS:
            raise ValueError(f"unknown field {{{name}}} in {template!r}; a title may use {allowed}")
        if spec or conversion:
            shown = (name or "") + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"{{{shown}}} in {template!r}: no conversions or format specs; a title may use {allowed}")
    return template


def _expect(condition: bool, what: str, value: Any) -> None:
    if not condition:
        raise ValueError(f"expected {what}, got {value!r}")


def _line_of(text: str, section: str, name: str | None) -> int | None:
    """Best-effort line number of a key: tomllib reports none for valid TOML."""
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).replace(" ", "")
            if name is None and current == section:
                return number
            continue
        if name is not None and current == section and re.match(rf"^\s*{re.escape(name)}\s*=", line):
            return number
    return None


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Split nested tables into {"sources.google": {...}} so each section validates alike."""
    known_sections = {key.section for key in SPEC}
    sections: dict[str, dict[str, Any]] = {}
    own: dict[str, Any] = {}
    for name, value in data.items():
        full = prefix + name
        if isinstance(value, dict):
            has_children = any(section.startswith(full + ".") for section in known_sections)
            if has_children:
                sections.update(_flatten(value, full + "."))
            else:
                sections[full] = value
        else:
            own[name] = value
    if own:
        sections.setdefault(prefix.rstrip(".") or "(top level)", {}).update(own)
    return sections


def parse_config(text: str, path: Path | None) -> Config:
    label = str(path) if path else "<config>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{label}: not valid TOML: {error}"]) from None
    base = path.parent if path else None
    known = {(key.section, key.name): key for key in SPEC}
    convert = partial(_convert, base=base)
    repeated, problems = account_tables(data, label, text, convert, _did_you_mean)
    google_accounts, google_problems = google_account_tables(data, label, text, convert, _did_you_mean)
    problems += google_problems
    known_sections = {key.section for key in SPEC if key.section not in REPEATED_SECTIONS}
    values: dict[str, dict[str, Any]] = {section: {} for section in known_sections}
    for section, items in _flatten(data).items():
        if section == "(top level)":
            for name in items:
                homes = sorted(key.section for key in SPEC if key.name == name)
                hint = f" (did you mean under [{homes[0]}]?)" if homes else ""
                problems.append(f"{_where(label, text, '', name)}: key {name!r} must be inside a section{hint}")
            continue
        if section not in known_sections:
            where = _where(label, text, section, None)
            suggestion = _did_you_mean(section, known_sections)
            problems.append(f"{where}: unknown section [{section}]{suggestion}")
            continue
        for name, value in items.items():
            # `_where` scans the whole text: only a key with a problem pays for its line number.
            key = known.get((section, name))
            if key is None:
                suggestion = _did_you_mean(name, [k.name for k in SPEC if k.section == section])
                problems.append(f"{_where(label, text, section, name)}: unknown key [{section}] {name}{suggestion}")
                continue
            try:
                values[section][name] = _convert(key, value, base)
            except ValueError as error:
                problems.append(f"{_where(label, text, section, name)}: [{section}] {name}: {error}")
    for key in SPEC:
        if key.section in REPEATED_SECTIONS:
            continue
        if key.name not in values[key.section] and key.default is not None:
            values[key.section][key.name] = _convert(key, key.default, base)
        values[key.section].setdefault(key.name, None)
    if values["tiers"]["default"] not in TIERS:
        tier = values["tiers"]["default"]
        where = _where(label, text, "tiers", "default")
        problems.append(f"{where}: [tiers] default: expected one of {', '.join(TIERS)}, got {tier!r}")
    problems.extend(_cross_checks(label, text, values))
    problems.extend(_sink_account(label, text, values["holds"]["sink"], google_accounts, repeated["sources.caldav"]))
    if problems:
        raise ConfigError(problems)
    tz = values["user"]["timezone"] or local_timezone()
    sections = {FIELD_OF_SECTION.get(name, name): SECTION_TYPES[name](**items) for name, items in values.items()}
    return Config(
        path=path,
        tz=tz,
        store_path=values["store"]["path"] or default_data_dir() / "syncd.db",
        imap=tuple(ImapConfig(**table) for table in repeated["sources.imap"]),
        caldav=tuple(CaldavConfig(**table) for table in repeated["sources.caldav"]),
        google_accounts=tuple(GoogleConfig(**table) for table in google_accounts),
        **sections,
    )


def _cross_checks(label: str, text: str, values: dict[str, dict[str, Any]]) -> list[str]:
    problems = [
        f"{_where(label, text, 'user', 'emails')}: [user] emails: {address!r} is not an email address"
        for address in values["user"]["emails"]
        if normalize(address) is None
    ]
    google = values["sources.google"]
    if google["enabled"] and not google["calendars"] and not google["gmail"]:
        where = _where(label, text, "sources.google", "enabled")
        problems.append(f"{where}: [sources.google] enabled: no calendars and gmail = false leaves nothing to read")
    sink = values["holds"]["sink"]
    if sink and sink.startswith("google:") and not google["enabled"]:
        problems.append(
            f"{_where(label, text, 'holds', 'sink')}: [holds] sink: {sink!r} needs [sources.google] enabled = true"
        )
    holds = values["holds"]
    if (
        holds["enabled"]
        and holds["duration"] is not None
        and holds["horizon"] is not None
        and holds["duration"] >= holds["horizon"]
    ):
        problems.append(f"{_where(label, text, 'holds', 'duration')}: [holds] duration: expected shorter than horizon")
    return problems


def _sink_account(
    label: str, text: str, sink: str | None, google: list[dict[str, Any]], caldav: list[dict[str, Any]]
) -> list[str]:
    """The account a hold sink names must be configured: caught at load, not at the first booking.

    `caldav:NAME/CALENDAR` names a `[[sources.caldav]]` table; with several Google accounts,
    `google:ACCOUNT/CALENDAR_ID` names one of them.
    """
    kind, _, rest = (sink or "").partition(":")
    account, slash, _ = rest.partition("/")
    if kind == "caldav":
        known = [table["name"] for table in caldav if table["name"]]
        if account.strip() in known:
            return []
        problem = f"no [[sources.caldav]] table is named {account.strip()!r} (names: {', '.join(known) or 'none'})"
    elif kind == "google" and len(google) > 1:
        known = [table["account"] for table in google if table["account"]]
        if slash and account.strip().lower() in {name.lower() for name in known}:
            return []
        problem = f"several Google accounts, so write google:ACCOUNT/CALENDAR_ID with ACCOUNT one of {', '.join(known)}"
    else:
        return []
    return [f"{_where(label, text, 'holds', 'sink')}: [holds] sink: {sink!r}: {problem}"]


def _where(label: str, text: str, section: str, name: str | None) -> str:
    line = _line_of(text, section, name)
    return f"{label}:{line}" if line else label


def _did_you_mean(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_config(path: Path | None, explicit: bool) -> Config:
    """No config, no work: without the file syncd has no sources to trust and no sink the user chose."""
    path = (path or default_config_path()).absolute()
    if not path.exists():
        how = f": `syncd --config {path} init`" if explicit else ""
        raise ConfigError([f"{path}: no such config file; run `syncd init` to write a starter one{how}"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from None
    return parse_config(text, path)


def starter_config() -> str:
    """The `syncd init` template: every key, its default or an example, and why to change it."""
    lines = [
        "# syncd configuration. Every key is optional: uncomment what you want to change.",
        "# One line is set: [holds] sink, because syncd books holds only into a calendar you chose.",
        "# Durations: 90s, 30m, 14d, 2w. Paths: ~ is expanded, relative paths are relative to this file.",
    ]
    section = None
    for key in SPEC:
        # An account table exists only with its header: its keys are uncommented together with it.
        repeated = key.section in REPEATED_SECTIONS
        commented = "#   " if repeated else "# "
        if key.section != section:
            section = key.section
            header = f"# [[{section}]]   # one table per account" if repeated else f"[{section}]"
            lines += ["", header]
        lines.append(f"# {key.doc}")
        if (key.section, key.name) == ("holds", "sink"):
            # Holds go only where the user chose; the starter names a place they can see and change.
            lines.append(f"sink = {_toml_value(starter_sink())}")
        elif key.default not in (None, []):
            lines.append(f"{commented}{key.name} = {_toml_value(key.default)}")
        elif key.example is not None:
            lines.append(f"{commented}{key.name} = {_toml_value(key.example)}   # an example; default: none")
    return "\n".join(lines) + "\n"


def starter_sink() -> str:
    """The holds file `syncd init` proposes: beside the default store, `~` kept readable."""
    path = default_data_dir() / "holds.ics"
    try:
        return f"ics:~/{path.relative_to(Path.home())}"
    except ValueError:
        return f"ics:{path}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
