"""Which Google accounts the config names: the `[[sources.google]]` tables, or the one `[sources.google]`.

With one account everything keeps its one-account names (`google_calendar:ID`,
`google:ID`), so an existing store goes on without a resync; with several, names carry
the account (`google_calendar:ADDRESS/ID`, `google:ADDRESS/ID`).
"""

from __future__ import annotations

from syncd.config_types import Config, GoogleConfig


def configured_accounts(config: Config) -> list[GoogleConfig]:
    """Every Google account table, enabled or not, in the config's order."""
    return list(config.google_accounts) or [config.google]


def google_accounts(config: Config) -> list[GoogleConfig]:
    """The enabled Google account tables."""
    return [table for table in configured_accounts(config) if table.enabled]


def several_accounts(config: Config) -> bool:
    return len(configured_accounts(config)) > 1


def account_named(config: Config, address: str) -> GoogleConfig | None:
    """The table whose `account` is `address` (case as Google ignores it), or None."""
    wanted = address.strip().lower()
    return next((t for t in configured_accounts(config) if (t.account or "").lower() == wanted), None)


def split_calendar(config: Config, spec: str) -> tuple[GoogleConfig | None, str]:
    """`ACCOUNT/CALENDAR_ID` or, with one account, `CALENDAR_ID` → (account table, calendar id).

    The table is None when several accounts are configured and `spec` names none of them.
    """
    account, slash, calendar_id = spec.partition("/")
    if slash:
        table = account_named(config, account)
        if table is not None:
            return table, calendar_id.strip()
    if several_accounts(config):
        return None, spec
    return configured_accounts(config)[0], spec
