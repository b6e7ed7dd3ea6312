"""The typed config sections (syncd.config_types) against the one spec (syncd.config_spec).

The dataclasses are written out so mypy can check `config.holds.duration`; these tests
are what keeps them from drifting from SPEC: the same sections, the same keys, a field
type that matches each key's kind, and a loaded value of that type for every key.
"""

from __future__ import annotations

import json
import types
from dataclasses import FrozenInstanceError, fields
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import pytest

from syncd.config import parse_config
from syncd.config_spec import REPEATED_SECTIONS, SPEC
from syncd.config_types import FIELD_OF_SECTION, SECTION_TYPES
from syncd.windows import Window

# What each spec kind converts to (syncd.config._convert).
KIND_TYPES: dict[str, Any] = {
    "str": str,
    "bool": bool,
    "int": int,
    "duration": timedelta,
    "hhmm": time,
    "timezone": ZoneInfo,
    "path": Path,
    "paths": list[Path],
    "strings": list[str],
    "windows": tuple[Window, ...],
    "sink": str,
    "url": str,
    "title": str,
    "command": tuple[str, ...],
}

# Keys without a default that an account table must have: a config without them does not load.
REQUIRED = {
    ("sources.imap", "host"),
    ("sources.imap", "username"),
    ("sources.imap", "name"),  # filled in as USERNAME@HOST when the table names none
    ("sources.caldav", "name"),
    ("sources.caldav", "url"),
    ("sources.caldav", "username"),
}


def spec_keys(section: str) -> list[str]:
    return [key.name for key in SPEC if key.section == section]


def test_one_dataclass_per_spec_section() -> None:
    assert set(SECTION_TYPES) == {key.section for key in SPEC}


@pytest.mark.parametrize("section", sorted(SECTION_TYPES))
def test_dataclass_fields_are_the_spec_keys(section: str) -> None:
    assert [field.name for field in fields(SECTION_TYPES[section])] == spec_keys(section)


@pytest.mark.parametrize("key", SPEC, ids=lambda key: f"{key.section}.{key.name}")
def test_field_type_matches_the_kind(key) -> None:
    hint = get_type_hints(SECTION_TYPES[key.section])[key.name]
    expected = KIND_TYPES[key.kind]
    if key.default is None and (key.section, key.name) not in REQUIRED:
        expected = expected | None
    assert hint == expected


def full_config(tmp_path: Path) -> str:
    """Every key of the spec set, to its example where it has one, else its default."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("", encoding="utf-8")
    lines: list[str] = []
    for key in SPEC:
        value = key.example if key.example is not None else key.default
        if key.name == "ca_file":
            value = str(ca_file)
        header = f"[[{key.section}]]" if key.section in REPEATED_SECTIONS else f"[{key.section}]"
        if header not in lines:
            lines.append(header)
        if value is not None:
            lines.append(f"{key.name} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def conforms(value: Any, hint: Any) -> bool:
    """isinstance for the few shapes the config types use: X | None, list[X], tuple[X, ...]."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(conforms(value, option) for option in get_args(hint))
    if origin is list:
        return isinstance(value, list) and all(conforms(item, get_args(hint)[0]) for item in value)
    if origin is tuple:
        return isinstance(value, tuple) and all(conforms(item, get_args(hint)[0]) for item in value)
    if hint is type(None):
        return value is None
    return isinstance(value, hint)


@pytest.mark.parametrize("text", ["", "full"])
def test_every_loaded_value_has_its_field_type(tmp_path: Path, text: str) -> None:
    config = parse_config(full_config(tmp_path) if text == "full" else text, tmp_path / "config.toml")
    for section, cls in SECTION_TYPES.items():
        if section in REPEATED_SECTIONS:
            tables = config.repeated[section]
            assert len(tables) == (1 if text == "full" else 0)
        else:
            tables = (getattr(config, FIELD_OF_SECTION.get(section, section)),)
        hints = get_type_hints(cls)
        for table in tables:
            assert isinstance(table, cls)
            for name, hint in hints.items():
                value = getattr(table, name)
                assert conforms(value, hint), f"[{section}] {name} = {value!r} is not {hint}"


def test_full_config_sets_every_key(tmp_path: Path) -> None:
    """The config above really changes values: a key left at its default proves less."""
    config = parse_config(full_config(tmp_path), tmp_path / "config.toml")
    assert config.google.api_endpoint == "http://127.0.0.1:8080/"
    assert config.imap[0].host == "imap.fastmail.com" and config.imap[0].name == "work"
    assert config.caldav[0].calendars == ["Personal", "Work"]
    assert config.report.html is not None and config.report.html.name == "syncd-report.html"


def test_sections_are_frozen() -> None:
    config = parse_config("", None)
    with pytest.raises(FrozenInstanceError):
        config.holds.enabled = False  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        config.tz = ZoneInfo("UTC")  # type: ignore[misc]
