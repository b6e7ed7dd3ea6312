"""The typed, frozen config: one dataclass per section of the spec in `syncd.config_spec`, and `Config`.

Written out rather than generated so mypy checks every `config.holds.duration`; the test
`test_config_types.py` fails when a dataclass and the spec disagree on a section's keys.
Values arrive converted (`syncd.config` turns "30m" into a timedelta), so each field's
type is what its spec kind converts to, and a key with no default may be None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from syncd.config_spec import REPEATED_SECTIONS
from syncd.windows import Window


@dataclass(frozen=True)
class UserConfig:
    emails: list[str]
    timezone: ZoneInfo | None


@dataclass(frozen=True)
class StoreConfig:
    path: Path | None


@dataclass(frozen=True)
class ContactsConfig:
    files: list[Path]


@dataclass(frozen=True)
class SourcesConfig:
    """`[sources]` itself: what every source shares."""

    lookback: timedelta


@dataclass(frozen=True)
class GoogleConfig:
    """`[sources.google]`, or one `[[sources.google]]` table per account."""

    enabled: bool
    client_secrets: Path | None
    account: str | None
    calendars: list[str]
    gmail: bool
    api_endpoint: str | None
    token_file: Path | None


@dataclass(frozen=True)
class IcsConfig:
    enabled: bool
    paths: list[Path]


@dataclass(frozen=True)
class MailConfig:
    enabled: bool
    mbox: list[Path]
    maildir: list[Path]


@dataclass(frozen=True)
class ImapConfig:
    """One `[[sources.imap]]` table; `name` is filled in (USERNAME@HOST) when the table names none.

    `host` and `username` are required: a config without them fails to load, so never None here.
    """

    name: str
    host: str
    port: int | None
    security: str
    username: str
    password_command: tuple[str, ...] | None
    folders: list[str] | None
    ca_file: Path | None


@dataclass(frozen=True)
class CaldavConfig:
    """One `[[sources.caldav]]` table; `name`, `url` and `username` are required to load."""

    name: str
    url: str
    username: str
    password_command: tuple[str, ...] | None
    calendars: list[str] | None


@dataclass(frozen=True)
class RulesConfig:
    max_meeting_size: int
    max_recipients: int
    blocklist: list[str]


@dataclass(frozen=True)
class TiersConfig:
    meaningful: int
    intimate: int
    familiar: int
    unfamiliar: int
    default: str


@dataclass(frozen=True)
class HoldsConfig:
    enabled: bool
    sink: str | None
    title: str
    duration: timedelta
    windows: tuple[Window, ...]
    per_day: int
    per_week: int
    horizon: timedelta
    lead_time: timedelta
    buffer: timedelta
    remove_when_touched: bool


@dataclass(frozen=True)
class DaemonConfig:
    sync_every: timedelta
    plan_at: time


@dataclass(frozen=True)
class ReportConfig:
    html: Path | None


# The dataclass of each spec section: `syncd.config` builds sections through it, the drift test reads it.
SECTION_TYPES: dict[str, type] = {
    "user": UserConfig,
    "store": StoreConfig,
    "contacts": ContactsConfig,
    "sources": SourcesConfig,
    "sources.google": GoogleConfig,
    "sources.ics": IcsConfig,
    "sources.mail": MailConfig,
    "sources.imap": ImapConfig,
    "sources.caldav": CaldavConfig,
    "rules": RulesConfig,
    "tiers": TiersConfig,
    "holds": HoldsConfig,
    "daemon": DaemonConfig,
    "report": ReportConfig,
}


# Sections reached under a shorter name: `config.google` is `[sources.google]`.
FIELD_OF_SECTION = {"sources.google": "google", "sources.ics": "ics", "sources.mail": "mail"}


@dataclass(frozen=True)
class Config:
    """The checked config: one typed section per spec section, account tables as tuples."""

    path: Path | None
    tz: tzinfo
    store_path: Path  # `[store] path`, or the default in the XDG data folder
    user: UserConfig
    store: StoreConfig
    contacts: ContactsConfig
    sources: SourcesConfig
    google: GoogleConfig  # `[sources.google]`, or the first enabled `[[sources.google]]` table
    ics: IcsConfig
    mail: MailConfig
    imap: tuple[ImapConfig, ...]
    caldav: tuple[CaldavConfig, ...]
    google_accounts: tuple[GoogleConfig, ...]  # `[[sources.google]]`, when an array
    rules: RulesConfig
    tiers: TiersConfig
    holds: HoldsConfig
    daemon: DaemonConfig
    report: ReportConfig

    @property
    def sections(self) -> dict[str, object]:
        """Each single section by its spec name (`sources.google`), for code that walks the spec."""
        return {
            section: getattr(self, FIELD_OF_SECTION.get(section, section))
            for section in SECTION_TYPES
            if section not in REPEATED_SECTIONS
        }

    @property
    def repeated(self) -> dict[str, tuple[ImapConfig, ...] | tuple[CaldavConfig, ...]]:
        """The account tables by their spec name (`sources.imap`)."""
        return {"sources.imap": self.imap, "sources.caldav": self.caldav}

    @property
    def hold_sink(self) -> str | None:
        """Only a sink the config names: holds never go to a place the user did not choose."""
        return self.holds.sink

    def tier_cadence(self, tier: str) -> int:
        cadence: int = getattr(self.tiers, tier)
        return cadence
