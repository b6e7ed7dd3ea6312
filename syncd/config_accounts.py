"""Account sections written as arrays of tables (`[[sources.imap]]`), one table per account.

Each table is checked key by key with the same conversions as any section (the caller
passes them in), then as an account: required keys, `security`, unique names. Problems
name the table by its number and line, so several accounts are fixed in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from syncd.config_spec import IMAP_SECURITY, LOCAL_HOSTS, REPEATED_SECTIONS, SPEC, Key

Convert = Callable[[Key, Any], Any]


def account_tables(
    data: dict[str, Any], label: str, text: str, convert: Convert, did_you_mean: Callable[[str, Any], str]
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """`[[sources.imap]]` tables (taken out of `data`), each checked like a section; a
    single `[sources.imap]` table counts as one. Problems name the table by its number;
    each table comes back as its converted values, every key of the spec filled in."""
    tables: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    for section in REPEATED_SECTIONS:
        tables[section] = []
        *parents, leaf = section.split(".")
        holder: Any = data
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or leaf not in holder:
            continue
        raw = holder.pop(leaf)
        entries = [raw] if isinstance(raw, dict) else raw
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            problems.append(f"{label}: [[{section}]]: expected tables, one per account")
            continue
        for number, entry in enumerate(entries, 1):
            values, where, found = _table_values(section, number, entry, label, text, convert, did_you_mean)
            problems += found
            problems += [f"{where}: [[{section}]] #{number} {problem}" for problem in _check_account(section, values)]
            tables[section].append(values)
    names = [f"{section}:{table['name']}" for section, items in tables.items() for table in items if table["name"]]
    problems += [f"{label}: two accounts are both named {name!r}; give each a unique name" for name in _twice(names)]
    return tables, problems


def _table_values(
    section: str,
    number: int,
    entry: dict[str, Any],
    label: str,
    text: str,
    convert: Convert,
    did_you_mean: Callable[[str, Any], str],
) -> tuple[dict[str, Any], str, list[str]]:
    """One table's keys converted like any section's, defaults filled in; (values, where, problems)."""
    keys = {key.name: key for key in SPEC if key.section == section}
    line = _table_line(text, section, number)
    where = f"{label}:{line}" if line else label
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in entry.items():
        if name not in keys:
            problems.append(f"{where}: unknown key [[{section}]] #{number} {name}{did_you_mean(name, keys)}")
            continue
        try:
            values[name] = convert(keys[name], value)
        except ValueError as error:
            problems.append(f"{where}: [[{section}]] #{number} {name}: {error}")
    for name, key in keys.items():
        if name not in values:
            values[name] = convert(key, key.default) if key.default is not None else None
    return values, where, problems


def google_account_tables(
    data: dict[str, Any], label: str, text: str, convert: Convert, did_you_mean: Callable[[str, Any], str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """`[[sources.google]]`: one table per Google account, each checked like `[sources.google]`.

    The array is replaced in `data` by one of its tables (the first enabled one), so the
    single `[sources.google]` section keeps its meaning for whatever reads it; a single
    table is left alone and gives no accounts here.
    """
    sources = data.get("sources")
    if not isinstance(sources, dict) or not isinstance(sources.get("google"), list):
        return [], []
    raw = sources["google"]
    if not raw or not all(isinstance(entry, dict) for entry in raw):
        sources.pop("google")
        return [], [f"{label}: [[sources.google]]: expected tables, one per Google account"]
    tables: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, entry in enumerate(raw, 1):
        values, where, found = _table_values("sources.google", number, entry, label, text, convert, did_you_mean)
        problems += found
        if len(raw) > 1 and not values.get("account"):
            problems.append(f"{where}: [[sources.google]] #{number} account is required when there are several")
        if values.get("enabled") and not values.get("calendars") and not values.get("gmail"):
            problems.append(
                f"{where}: [[sources.google]] #{number}: no calendars and gmail = false leaves nothing to read"
            )
        tables.append(values)
    accounts = [table["account"] for table in tables if table["account"]]
    problems += [f"{label}: two [[sources.google]] tables are both account {name!r}" for name in _twice(accounts)]
    chosen = next((entry for entry, table in zip(raw, tables, strict=True) if table["enabled"]), raw[0])
    known = {key.name for key in SPEC if key.section == "sources.google"}
    sources["google"] = {name: value for name, value in chosen.items() if name in known}  # reported once, above
    return tables, problems


def _check_account(section: str, values: dict[str, Any]) -> list[str]:
    """What one account table needs beyond each key's own type; fills in IMAP's default name."""
    if section == "sources.caldav":
        return [f"{name} is required" for name in ("name", "url", "username") if not values.get(name)]
    problems = [f"{name} is required" for name in ("host", "username") if not values.get(name)]
    if values["security"] not in IMAP_SECURITY:
        problems.append(f"security: expected one of {', '.join(IMAP_SECURITY)}, got {values['security']!r}")
    elif values["security"] == "plain" and values.get("host") and values["host"] not in LOCAL_HOSTS:
        problems.append('security: "plain" (unencrypted) is only allowed to localhost; use "tls" or "starttls"')
    if values.get("port") is not None and values["port"] > 65535:
        problems.append(f"port: expected 1 to 65535, got {values['port']}")
    if values.get("ca_file") and not values["ca_file"].is_file():
        problems.append(f"ca_file: {values['ca_file']}: no such file")
    if not values.get("name") and values.get("host") and values.get("username"):
        values["name"] = f"{values['username']}@{values['host']}"
    return problems


def _twice(names: list[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


def _table_line(text: str, section: str, number: int) -> int | None:
    """The line of the `number`-th `[[section]]` header (or of the one `[section]` table)."""
    pattern = re.compile(rf"^\s*\[{{1,2}}\s*{re.escape(section)}\s*\]")
    headers = [line for line, content in enumerate(text.splitlines(), 1) if pattern.match(content)]
    return headers[number - 1] if len(headers) >= number else None
