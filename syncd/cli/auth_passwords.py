"""`syncd auth imap:NAME` / `caldav:NAME`: ask for an account's password and keep it in the OS keyring.

The password is read without echo from the terminal, or as one line from stdin when
stdin is not a terminal (`pass show mail | syncd auth imap:work`). For IMAP it is tried
against the server once before it is stored, so a typo is caught here and not at 3 am
by the daemon.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from syncd.config import Config
from syncd.errors import UsageError
from syncd.secrets import split_source_id, store_password
from syncd.sources.imap import ImapAccount
from syncd.sources.imap_protocol import connect, login, logout


def account_table(config: Config, source: str) -> Any:
    """The `[[sources.KIND]]` table named in `source`, or a usage error listing the names."""
    kind, name = split_source_id(source)
    tables = getattr(config, kind, None) or []
    for table in tables:
        if table.name == name:
            return table
    names = ", ".join(f"{kind}:{table.name}" for table in tables) or "none"
    raise UsageError(f"{source}: no [[sources.{kind}]] table with name = {name!r} in the config (configured: {names})")


def read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def auth_password(config: Config, source: str) -> int:
    table = account_table(config, source)
    if table.password_command:
        raise UsageError(f"{source} has a password_command; its password comes from there, not from the keyring")
    password = read_password(f"Password for {table.username} at {getattr(table, 'host', None) or table.url}: ")
    if not password:
        raise UsageError(f"{source}: no password given; nothing stored")
    if source.startswith("imap:"):
        check_imap_login(ImapAccount.from_config(table), source, password)
    if source.startswith("caldav:"):
        from syncd.sources.caldav import account_from_table, check_login

        check_login(account_from_table(table), password)
    store_password(source, password)
    print(f"stored the password for {source} in the OS keyring")
    return 0


def check_imap_login(account: ImapAccount, source: str, password: str) -> None:
    """One login attempt; a refusal raises NeedsAuth (exit 1) and nothing is stored."""
    endpoint = account.endpoint
    client = connect(endpoint)
    try:
        login(client, endpoint, account.username, password, f"nothing stored; run `syncd auth {source}` again")
    finally:
        logout(client)
