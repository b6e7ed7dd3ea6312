"""Sources configured in the config file, one object per provider account, file or folder."""

from __future__ import annotations

from syncd.config import Config
from syncd.sources.base import Source
from syncd.sources.ics import IcsSource
from syncd.sources.mail import MaildirSource, MboxSource


def configured_sources(config: Config) -> list[Source]:
    """Enabled sources in a stable order; disabled ones are not listed anywhere."""
    sources: list[Source] = []
    if config.google.enabled:
        from syncd.sources.google import google_sources

        sources.extend(google_sources(config))
    if config.ics.enabled:
        sources.extend(IcsSource(path) for path in config.ics.paths)
    if config.mail.enabled:
        sources.extend(MboxSource(path) for path in config.mail.mbox)
        sources.extend(MaildirSource(path) for path in config.mail.maildir)
    if config.imap:
        from syncd.sources.imap import ImapAccount, ImapSource

        sources.extend(ImapSource(ImapAccount.from_config(table)) for table in config.imap)
    if config.caldav:
        from syncd.sources.caldav import caldav_accounts, caldav_sources

        sources.extend(caldav_sources(caldav_accounts(config)))
    return sources
