"""The one declarative list of config keys.

Validation, defaults, and the `syncd init` template are all generated from SPEC, so a
key cannot be documented but unchecked, or checked but undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncd.timeutil import MAX_DURATION

# Kinds understood by syncd.config.convert: str, bool, int, duration, hhmm, timezone,
# path, paths, strings, windows, sink, url, title, command.

# The longest duration any key accepts unless it says less (timeutil explains the limit).
MAX_DURATION_SECONDS = int(MAX_DURATION.total_seconds())

# The only fields a title template may use; checked when the config loads.
TITLE_FIELDS = ("name", "first_name")

# Sections written as arrays of tables, one table per account: `[[sources.imap]]`.
REPEATED_SECTIONS = ("sources.imap", "sources.caldav")

# Where an unencrypted connection may go (IMAP `security = "plain"`).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
IMAP_SECURITY = ("tls", "starttls", "plain")


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    kind: str
    default: Any
    doc: str
    example: Any = None
    minimum: int | None = None  # ints: the smallest value; durations: the fewest seconds
    maximum: int = MAX_DURATION_SECONDS  # durations: the most seconds


DEFAULT_WINDOWS = ["Tue-Thu 08:30-10:00", "Tue-Thu 12:00-13:30"]

SPEC: tuple[Key, ...] = (
    Key("user", "emails", "strings", [], "Your own addresses; they are never contacts.", ["me@example.com"]),
    Key(
        "user",
        "timezone",
        "timezone",
        None,
        "IANA zone for windows and display (default: the machine's).",
        "Europe/Berlin",
    ),
    Key(
        "store",
        "path",
        "path",
        None,
        "The SQLite database file (default: XDG data dir, syncd/syncd.db).",
        "~/.local/share/syncd/syncd.db",
    ),
    Key(
        "contacts",
        "files",
        "paths",
        [],
        "Contacts files imported on every sync (TOML, CSV, .vcf or a vdir).",
        ["~/.config/syncd/contacts.toml"],
    ),
    Key("sources", "lookback", "duration", "365d", "How far back the first sync of every source reads.", minimum=86400),
    Key("sources.google", "enabled", "bool", False, "Read Google Calendar and Gmail (run `syncd auth` first)."),
    Key(
        "sources.google",
        "client_secrets",
        "path",
        None,
        "The OAuth client JSON you downloaded from Google Cloud.",
        "~/.config/syncd/client_secret.json",
    ),
    Key(
        "sources.google",
        "account",
        "str",
        None,
        "The Google account (its keyring entry); required with several [[sources.google]] tables.",
        "me@gmail.com",
    ),
    Key("sources.google", "calendars", "strings", ["primary"], "Calendar ids to read."),
    Key("sources.google", "gmail", "bool", True, "Read Gmail message metadata (headers only)."),
    Key(
        "sources.google",
        "api_endpoint",
        "url",
        None,
        "One root URL for both APIs, for tests and proxies.",
        "http://127.0.0.1:8080/",
    ),
    Key(
        "sources.google",
        "token_file",
        "path",
        None,
        "Authorized-user JSON, only where no OS keyring exists (kept 0600).",
        "~/.config/syncd/token.json",
    ),
    Key("sources.ics", "enabled", "bool", True, "Read the ICS files and vdir folders below."),
    Key("sources.ics", "paths", "paths", [], ".ics files or vdir folders of them.", ["~/calendars/work.ics"]),
    Key("sources.mail", "enabled", "bool", True, "Read the mailboxes below (headers only)."),
    Key("sources.mail", "mbox", "paths", [], "mbox files.", ["~/Mail/sent.mbox"]),
    Key("sources.mail", "maildir", "paths", [], "Maildir folders.", ["~/Maildir/INBOX"]),
    Key(
        "sources.imap",
        "name",
        "str",
        None,
        "Short unique name: the source is imap:NAME, `syncd auth imap:NAME` (default: USERNAME@HOST).",
        "work",
    ),
    Key("sources.imap", "host", "str", None, "The IMAP server (required).", "imap.fastmail.com"),
    Key("sources.imap", "port", "int", None, 'Default 993, or 143 with security = "starttls".', 993, minimum=1),
    Key("sources.imap", "security", "str", "tls", '"tls", "starttls", or "plain" (only to localhost).'),
    Key("sources.imap", "username", "str", None, "The login name (required).", "me@fastmail.com"),
    Key(
        "sources.imap",
        "password_command",
        "command",
        None,
        "Prints the password on its first line (argv list, or a string split like a shell; never a shell). "
        "Without it: `syncd auth imap:NAME` keeps it in the OS keyring.",
        ["pass", "show", "mail/work"],
    ),
    Key(
        "sources.imap",
        "folders",
        "strings",
        None,
        "Folders to read (default: INBOX and the \\Sent folder; Junk and Trash are never read).",
        ["INBOX", "Sent"],
    ),
    Key(
        "sources.imap",
        "ca_file",
        "path",
        None,
        "PEM file of a private CA (certificates are always verified).",
        "~/ca.pem",
    ),
    Key(
        "sources.caldav",
        "name",
        "str",
        None,
        "Short unique name (required): source caldav:NAME, `syncd auth caldav:NAME`, sink caldav:NAME/CALENDAR.",
        "home",
    ),
    Key(
        "sources.caldav",
        "url",
        "url",
        None,
        "Server, principal or calendar URL (required); calendars are discovered from it.",
        "https://caldav.fastmail.com/",
    ),
    Key("sources.caldav", "username", "str", None, "The login name (required).", "me@fastmail.com"),
    Key(
        "sources.caldav",
        "password_command",
        "command",
        None,
        "Prints the password on its first line (argv list, or a string split like a shell; never a shell). "
        "Without it: `syncd auth caldav:NAME` keeps it in the OS keyring.",
        ["pass", "show", "calendar/home"],
    ),
    Key(
        "sources.caldav",
        "calendars",
        "strings",
        None,
        "Calendars to read, by display name or collection URL (default: every event calendar).",
        ["Personal", "Work"],
    ),
    Key("rules", "max_meeting_size", "int", 8, "Meetings with more attendees do not count as a touch.", minimum=1),
    Key("rules", "max_recipients", "int", 10, "Messages with more To+Cc recipients do not count.", minimum=1),
    Key(
        "rules",
        "blocklist",
        "strings",
        [],
        "Addresses or domains that never count as a touch.",
        ["recruiter@example.com", "example.org"],
    ),
    Key("tiers", "meaningful", "int", 30, "Cadence in days for the `meaningful` tier.", minimum=1),
    Key("tiers", "intimate", "int", 14, "Cadence in days for the `intimate` tier.", minimum=1),
    Key("tiers", "familiar", "int", 90, "Cadence in days for the `familiar` tier.", minimum=1),
    Key("tiers", "unfamiliar", "int", 180, "Cadence in days for the `unfamiliar` tier.", minimum=1),
    Key("tiers", "default", "str", "familiar", "Tier of a contact that names none."),
    Key("holds", "enabled", "bool", True, "Book coffee holds for cold contacts."),
    Key(
        "holds",
        "sink",
        "sink",
        None,
        'Where holds go: "ics:PATH" or "google:CALENDAR_ID". No default: without a sink no hold is booked.',
        "ics:~/calendars/syncd-holds.ics",
    ),
    Key("holds", "title", "title", "Coffee with {name}", "Title template; {name} and {first_name} are filled in."),
    Key("holds", "duration", "duration", "30m", "Length of a hold.", minimum=300),
    Key("holds", "windows", "windows", DEFAULT_WINDOWS, "When holds may be booked, in your time zone."),
    Key("holds", "per_day", "int", 1, "At most this many holds a day.", minimum=0),
    Key("holds", "per_week", "int", 1, "At most this many holds an ISO week (one coffee a week).", minimum=0),
    Key("holds", "horizon", "duration", "14d", "How far ahead holds are booked.", minimum=86400, maximum=365 * 86400),
    Key("holds", "lead_time", "duration", "1d", "No hold sooner than this from now."),
    Key("holds", "buffer", "duration", "15m", "Free time kept around busy events."),
    Key("holds", "remove_when_touched", "bool", True, "Remove a future hold when its contact got touched first."),
    Key("daemon", "sync_every", "duration", "15m", "How often `syncd run` syncs.", minimum=1),
    Key("daemon", "plan_at", "hhmm", "07:00", "When `syncd run` plans holds each day (local time)."),
    Key(
        "report",
        "html",
        "path",
        None,
        "Write the `syncd report --html` page here after each planning run of `syncd run`.",
        "~/syncd-report.html",
    ),
)

TIERS = ("meaningful", "intimate", "familiar", "unfamiliar")
