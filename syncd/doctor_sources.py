"""`syncd doctor`'s checks of each configured source: the cheapest call that proves it would sync.

Files are opened and their first bytes read (an `.ics` begins with BEGIN:VCALENDAR, an
mbox with a `From ` line); a Maildir has cur/ and new/. Accounts are asked once, the way
the source asks: Google refreshes its token against the stored token endpoint, IMAP logs
in, CalDAV lists its calendars. One login per account, so a server that locks accounts
after failed logins sees no more from `doctor` than from one sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from syncd.config import Config
from syncd.config_types import CaldavConfig, GoogleConfig, ImapConfig
from syncd.doctor import FAIL, OK, WARN, Check
from syncd.errors import SyncdError, first_line
from syncd.google.accounts import google_accounts, several_accounts
from syncd.sources.base import display_path

HEADER_BYTES = 4096


def source_checks(config: Config) -> Iterator[Check]:
    for google in google_accounts(config):
        name = f"google {google.account}" if several_accounts(config) else "google"
        yield _guarded(name, partial(google_check, google))
    if config.ics.enabled:
        for path in config.ics.paths:
            yield _guarded(f"ics:{display_path(path)}", partial(ics_check, path))
    if config.mail.enabled:
        for path in config.mail.mbox:
            yield _guarded(f"mbox:{display_path(path)}", partial(mbox_check, path))
        for path in config.mail.maildir:
            yield _guarded(f"maildir:{display_path(path)}", partial(maildir_check, path))
    for imap in config.imap:
        yield _guarded(f"imap:{imap.name}", partial(imap_check, imap))
    for caldav in config.caldav:
        yield _guarded(f"caldav:{caldav.name}", partial(caldav_check, caldav))


def _guarded(name: str, check: Callable[[], tuple[str, str]]) -> Check:
    """Run one check; a failure of syncd's own kind is its one-line message, anything else its type too."""
    try:
        state, detail = check()
    except SyncdError as error:
        state, detail = FAIL, first_line(error)
    except OSError as error:
        state, detail = FAIL, f"{error.filename or 'a file'}: {error.strerror or error}"
    except Exception as error:  # a library's own error must become a line, not end the other checks
        state, detail = FAIL, f"{type(error).__name__}: {first_line(error)}"
    return Check(name, state, detail)


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEADER_BYTES)


def ics_check(path: Path) -> tuple[str, str]:
    if path.is_dir():
        count = sum(1 for child in path.rglob("*.ics") if child.is_file())
        return (OK, f"{count} calendar file(s)") if count else (WARN, "a folder with no .ics file yet")
    if not path.exists():
        return FAIL, f"{display_path(path)}: no such file or folder; fix [sources.ics] paths"
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.upper().startswith(b"BEGIN:VCALENDAR"):
        return FAIL, f"{display_path(path)} is not an iCalendar file (it does not begin with BEGIN:VCALENDAR)"
    return OK, "readable iCalendar file"


def mbox_check(path: Path) -> tuple[str, str]:
    if not path.is_file():
        return FAIL, f"{display_path(path)}: no such mbox file; fix [sources.mail] mbox"
    head = _head(path)
    if not head:
        return WARN, "empty mbox"
    if not head.startswith(b"From "):
        return FAIL, f"{display_path(path)} is not an mbox (its first line does not begin with 'From ')"
    return OK, "readable mbox"


def maildir_check(path: Path) -> tuple[str, str]:
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        return FAIL, f"{display_path(path)}: not a Maildir (expected cur/ and new/ folders)"
    next(iter((path / "cur").iterdir()), None)  # raises when the folder cannot be listed
    return OK, "readable Maildir"


def google_check(google: GoogleConfig) -> tuple[str, str]:
    """The stored token refreshed once against its token endpoint: proves both credentials and reachability."""
    from syncd.google.client import GoogleSession
    from syncd.google.credentials import credentials_from_info, load_info
    from syncd.google.retry import RetryPolicy

    info = load_info(google)
    quick = RetryPolicy(attempts=1, max_total=5.0, unreachable_attempts=1)  # doctor answers now; the daemon retries
    session = GoogleSession(lambda: credentials_from_info(info), google.api_endpoint, retry=quick)
    session.ensure_token()
    where = "token file" if google.token_file else "OS keyring"
    return OK, f"token for {info.get('account') or 'the account'} ({where}) refreshed at {info['token_uri']}"


def imap_check(table: ImapConfig) -> tuple[str, str]:
    from syncd.secrets import resolve_password
    from syncd.sources.imap import ImapAccount

    account = ImapAccount.from_config(table)
    source = f"imap:{table.name}"
    endpoint = account.check_login(resolve_password(source, account.password_command), f"run `syncd auth {source}`")
    return OK, f"logged in to {endpoint.label}"


def caldav_check(table: CaldavConfig) -> tuple[str, str]:
    from syncd.secrets import resolve_password
    from syncd.sources.caldav import account_from_table, check_login

    account = account_from_table(table)
    check_login(account, resolve_password(account.source_id, account.password_command))
    return OK, f"logged in to {account.url}"
