"""`syncd auth imap:NAME` / `caldav:NAME`: ask for an account's password and keep it in the OS keyring.

The password is read without echo from the terminal, or as one line from stdin when
stdin is not a terminal (`pass show mail | syncd auth imap:work`). It is tried against
the server once before it is stored (an IMAP login, a CalDAV calendar listing), so a typo
is caught here and not at 3 am by the daemon.
"""

from __future__ import annotations

import getpass
import sys

from syncd.config import Config
from syncd.config_types import CaldavConfig, ImapConfig
from syncd.errors import UsageError
from syncd.secrets import split_source_id, store_password
from syncd.sources.imap import ImapAccount


def account_table(config: Config, source: str) -> ImapConfig | CaldavConfig:
    """The `[[sources.KIND]]` table named in `source`, or a usage error listing the names."""
    kind, name = split_source_id(source)
    tables: tuple[ImapConfig, ...] | tuple[CaldavConfig, ...] = config.imap if kind == "imap" else config.caldav
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
    where = table.host if isinstance(table, ImapConfig) else table.url
    password = read_password(f"Password for {table.username} at {where}: ")
    if not password:
        raise UsageError(f"{source}: no password given; nothing stored")
    if isinstance(table, ImapConfig):
        # A refusal raises NeedsAuth (exit 1) and nothing is stored.
        ImapAccount.from_config(table).check_login(password, f"nothing stored; run `syncd auth {source}` again")
    else:
        from syncd.sources.caldav import account_from_table, check_login

        check_login(account_from_table(table), password)
    store_password(source, password)
    print(f"stored the password for {source} in the OS keyring")
    return 0
