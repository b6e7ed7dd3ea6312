"""Parse contacts files (TOML, CSV, vCard 3/4 and vdir folders) into plain entries.

Parsing is all-or-nothing per import: every problem is reported with file, line (or
entry) and field, and nothing reaches the store unless every file parsed.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from pathlib import Path
from typing import Any

from syncd.addresses import normalize
from syncd.config_spec import TIERS
from syncd.errors import UsageError
from syncd.models import ContactEntry

FIELDS = ("name", "emails", "tier", "cadence_days", "notes", "tags", "ignore")


def read_contact_files(paths: list[Path]) -> list[ContactEntry]:
    entries: list[ContactEntry] = []
    problems: list[str] = []
    for path in paths:
        try:
            entries.extend(_read_one(path, problems))
        except OSError as error:
            problems.append(f"{path}: cannot read: {error.strerror or error}")
    if problems:
        raise UsageError("\n".join(problems))
    return entries


def _read_one(path: Path, problems: list[str]) -> list[ContactEntry]:
    if path.is_dir():
        entries = []
        for child in sorted(path.iterdir()):
            if child.suffix.lower() == ".vcf":
                entries.extend(_parse_vcards(child, _read_text(child), problems))
        return entries
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _parse_toml(path, text, problems)
    if suffix == ".csv":
        return _parse_csv(path, text, problems)
    if suffix in (".vcf", ".vcard"):
        return _parse_vcards(path, text, problems)
    problems.append(f"{path}: unknown contacts format (expected .toml, .csv, .vcf or a vdir folder)")
    return []


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def entry_from_fields(origin: str, values: dict[str, Any], problems: list[str]) -> ContactEntry | None:
    """One contact from loose fields (a file row, `contacts add`); problems are appended, not raised."""
    before = len(problems)
    unknown = set(values) - set(FIELDS)
    for key in sorted(unknown):
        problems.append(f"{origin}: unknown field {key!r} (expected one of {', '.join(FIELDS)})")
    raw_emails = values.get("emails")
    if isinstance(raw_emails, str):
        raw_emails = [raw_emails]
    if not isinstance(raw_emails, list) or not raw_emails or not all(isinstance(item, str) for item in raw_emails):
        problems.append(f"{origin}: emails: expected a non-empty list of addresses")
        raw_emails = []
    emails: list[str] = []
    for written in raw_emails:
        canonical = normalize(written)
        if canonical is None:
            problems.append(f"{origin}: emails: {written!r} is not an email address")
        elif canonical not in emails:
            emails.append(canonical)
    entry = ContactEntry(origin=origin, emails=emails, written_emails=[item.strip() for item in raw_emails])
    if "name" in values:
        if not isinstance(values["name"], str) or not values["name"].strip():
            problems.append(f"{origin}: name: expected a non-empty string")
        else:
            entry.name = values["name"].strip()
    if values.get("tier") is not None:
        if values["tier"] not in TIERS:
            problems.append(f"{origin}: tier: expected one of {', '.join(TIERS)}, got {values['tier']!r}")
        else:
            entry.tier = values["tier"]
    if values.get("cadence_days") is not None:
        cadence = values["cadence_days"]
        if isinstance(cadence, str) and cadence.strip().isdigit():
            cadence = int(cadence)
        if not isinstance(cadence, int) or isinstance(cadence, bool) or cadence < 1:
            problems.append(
                f"{origin}: cadence_days: expected a whole number of days ≥ 1, got {values['cadence_days']!r}"
            )
        else:
            entry.cadence_days = cadence
    if values.get("notes") is not None:
        entry.notes = str(values["notes"])
    if values.get("tags") is not None:
        tags = values["tags"]
        if isinstance(tags, str):
            tags = [tag for tag in (part.strip() for part in tags.split(";")) if tag]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            problems.append(f"{origin}: tags: expected a list of strings")
        else:
            entry.tags = tags
    if values.get("ignore") is not None:
        ignore = values["ignore"]
        if isinstance(ignore, str) and ignore.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            ignore = ignore.strip().lower() in ("true", "yes", "1")
        if not isinstance(ignore, bool):
            problems.append(f"{origin}: ignore: expected true or false, got {values['ignore']!r}")
        else:
            entry.ignore = ignore
    return entry if len(problems) == before else None


def _parse_toml(path: Path, text: str, problems: list[str]) -> list[ContactEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problems.append(f"{path}: not valid TOML: {error}")
        return []
    extra = set(data) - {"contact"}
    for key in sorted(extra):
        problems.append(f"{path}: unknown top-level key {key!r} (contacts are [[contact]] tables)")
    tables = data.get("contact", [])
    if not isinstance(tables, list):
        problems.append(f"{path}: contact: expected [[contact]] tables")
        return []
    lines = [number for number, line in enumerate(text.splitlines(), 1) if re.match(r"^\s*\[\[\s*contact\s*\]\]", line)]
    entries = []
    for index, table in enumerate(tables):
        where = f"{path}:{lines[index]}" if index < len(lines) else f"{path}: contact #{index + 1}"
        entry = entry_from_fields(where, table, problems)
        if entry:
            entries.append(entry)
    return entries


def _parse_csv(path: Path, text: str, problems: list[str]) -> list[ContactEntry]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if "emails" not in header:
        problems.append(f"{path}:1: header must name the columns {','.join(FIELDS)} (at least emails)")
        return []
    entries = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if None in row:
            problems.append(f"{where}: more fields than the header has columns")
            continue
        values = {key.strip(): (value.strip() if isinstance(value, str) else value) for key, value in row.items()}
        if not any(values.values()):
            continue
        values["emails"] = [part.strip() for part in (values.get("emails") or "").split(";") if part.strip()]
        values = {key: value for key, value in values.items() if value not in ("", None) or key == "emails"}
        entry = entry_from_fields(where, values, problems)
        if entry:
            entries.append(entry)
    return entries


def _unfold(text: str) -> list[tuple[int, str]]:
    """vCard lines with folding undone, each with the line number it started on."""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + line[1:])
        elif line.strip():
            lines.append((number, line))
    return lines


def _vcard_value(value: str) -> str:
    return re.sub(r"\\([,;\\nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _parse_vcards(path: Path, text: str, problems: list[str]) -> list[ContactEntry]:
    entries = []
    card: dict[str, Any] | None = None
    start = 0
    for number, line in _unfold(text):
        name, _, value = line.partition(":")
        prop = name.split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, start = {"emails": []}, number
        elif prop == "END" and value.strip().upper() == "VCARD" and card is not None:
            where = f"{path}:{start}"
            if not card["emails"]:
                problems.append(f"{where}: vCard {card.get('name', '')!r} has no EMAIL")
            else:
                entry = entry_from_fields(where, card, problems)
                if entry:
                    entries.append(entry)
            card = None
        elif card is not None:
            if prop == "FN":
                card["name"] = _vcard_value(value)
            elif prop == "N" and "name" not in card:
                parts = _vcard_value(value).split(";")
                card["name"] = " ".join(part for part in (parts[1:2] + parts[:1]) if part)
            elif prop == "EMAIL":
                card["emails"].append(value.strip().removeprefix("mailto:"))
            elif prop == "NOTE":
                card["notes"] = _vcard_value(value)
            elif prop == "CATEGORIES":
                card["tags"] = [_vcard_value(tag).strip() for tag in re.split(r"(?<!\\),", value) if tag.strip()]
    if card is not None:
        problems.append(f"{path}:{start}: vCard without END:VCARD")
    if not entries and not problems and "BEGIN:VCARD" not in text.upper():
        problems.append(f"{path}: no vCard found")
    return entries
