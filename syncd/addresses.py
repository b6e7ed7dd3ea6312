"""Email address normalisation and the addresses that can never be a person.

One canonical form per mailbox lets a contact match every way their address is written:
case, display names, googlemail.com, and Gmail's ignored dots and +tags.

Header values in the common shapes (`addr`, `Name <addr>`, `"Name" <addr>`, comma-separated)
are read by one regular expression; everything else (comments, groups, routes, odd quoting,
backslashes) goes to the stdlib parser, which costs ~20 times more per address. The two agree
on every value the fast path accepts (Hypothesis, tests/test_addresses.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from email.errors import MessageError
from email.header import decode_header, make_header
from email.utils import getaddresses

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
_ROLE_LOCALPARTS = {
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "notifications",
    "notification",
    "notify",
    "info",
    "support",
    "help",
    "mailer-daemon",
    "postmaster",
    "bounce",
    "bounces",
    "newsletter",
    "newsletters",
    "alerts",
    "updates",
    "marketing",
    "billing",
    "invitations",
    "reminders",
    "feedback",
    "calendar-notification",
    "abuse",
    "webmaster",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FWS = r"[ \t\r\n]*"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_NAME_WORD = r"[^\x00-\x20\x7f<>()\[\]:;@\\,\"]+"
_NAME = rf'(?:"[^"\\\x00-\x1f\x7f]*"|{_NAME_WORD}(?:[ \t\r\n]+{_NAME_WORD})*)'
# One mailbox of a common shape and the comma (or the end) after it; group 1 or 3 is the address,
# group 2 the display name as written (quotes included).
_COMMON_MAILBOX = re.compile(rf"{_FWS}(?:({_ADDR_SPEC})|(?:({_NAME}){_FWS})?<({_ADDR_SPEC})>){_FWS}(?:,|\Z)")
_ROLE_PATTERN = re.compile(r"(^|[._+-])(no-?reply|do-?not-?reply|bounces?|mailer-daemon)([._+-]|$)")


def normalize(address: str) -> str | None:
    """The canonical form of one address, or None when it is not an address at all.

    Memoised: a mailbox sees the same few thousand addresses over and over. Only strings of
    an address's length are kept (RFC 5321 allows 254 characters), so hostile headers with
    huge unique "addresses" cannot grow the cache of a long-running daemon: at most
    16,384 × 320 characters."""
    return _memoised_normalize(address) if len(address) <= MEMO_MAX_LENGTH else _normalize(address)


MEMO_MAX_LENGTH = 320


def _normalize(address: str) -> str | None:
    text = address.strip().strip("<>").strip()
    if _CONTROL.search(text):
        return None
    if "<" in text or " " in text:
        try:
            parsed = getaddresses([text])
        except (RecursionError, ValueError, TypeError, LookupError, UnicodeError, MessageError):
            return None  # the stdlib parser recurses once per nested comment: `x ((((…`
        text = parsed[0][1].strip() if parsed else ""
    text = text.lower()
    if not _ADDRESS.match(text):
        return None
    local, _, domain = text.rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


_memoised_normalize = lru_cache(maxsize=1 << 14)(_normalize)


def parse_address_list(header_values: list[str] | str | None, names: dict[str, str] | None = None) -> list[str]:
    """Normalised addresses from raw header values; malformed entries are dropped, not fatal.

    With `names`, each address's display name (as written: maybe quoted, RFC 2047 words still
    encoded) is added to it unless the address already has one, for
    :func:`syncd.records.display_names` to clean; read in the same pass as the addresses."""
    if not header_values:
        return []
    if isinstance(header_values, str):
        header_values = [header_values]
    if len(header_values) == 1 and len(value := str(header_values[0])) <= _MEMO_HEADER_LENGTH:
        mailboxes = _memoised_mailboxes(value)
    else:
        mailboxes = _mailboxes([str(value) for value in header_values])
    if names is not None:
        for canonical, name in mailboxes:
            if name and canonical not in names:
                names[canonical] = name
    return [canonical for canonical, _ in mailboxes]


def _mailboxes(values: list[str]) -> tuple[tuple[str, str], ...]:
    """(canonical address, display name as written) of each distinct mailbox, in order."""
    # Split the raw header first: a decoded display name may contain commas, quotes or
    # even "@", which would otherwise add or swallow addresses. The stdlib parser
    # recurses once per nested comment, so a hostile `((((…` costs this header only.
    mailboxes = common_mailboxes(", ".join(values))
    if mailboxes is None:
        try:
            mailboxes = getaddresses(values)
        except (RecursionError, ValueError, TypeError, LookupError, UnicodeError, MessageError):
            return ()
    found: dict[str, str] = {}
    for name, address in mailboxes:
        canonical = normalize(address) if address else None
        if canonical and canonical not in found:
            found[canonical] = name
    return tuple(found.items())


# The same From, To and Cc values come back message after message (a correspondent's From, the
# user's own To): each distinct short value is parsed once. Long values (a list of recipients)
# are parsed each time, so a hostile mailbox cannot grow the cache past ~4 MB.
_MEMO_HEADER_LENGTH = 1000


@lru_cache(maxsize=1 << 12)
def _memoised_mailboxes(value: str) -> tuple[tuple[str, str], ...]:
    return _mailboxes([value])


def common_mailboxes(text: str) -> list[tuple[str, str]] | None:
    """(display name, address) of a header value made only of common shapes, or None when any
    part needs the full parser. The addresses are those `getaddresses` gives; a name is as
    written, quotes included (:func:`syncd.records.display_names` unquotes the names it keeps)."""
    mailboxes: list[tuple[str, str]] = []
    position, end = 0, len(text)
    while position < end:
        match = _COMMON_MAILBOX.match(text, position)
        if match is None:
            return None
        bare, name, address = match.groups()
        mailboxes.append((name or "", bare or address))
        position = match.end()
        if position == end and text.endswith(","):
            return None  # an empty last entry: let the parser decide what it means
    return mailboxes or None


def decode_rfc2047(value: str) -> str:
    """Display names like =?utf-8?q?Ada?= decoded; broken encodings kept as they were."""
    text = str(value)
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (UnicodeError, LookupError, ValueError, TypeError, AssertionError, MessageError):
        return text


def is_role_address(address: str) -> bool:
    """Role and no-reply mailboxes speak for systems, never for a person you know. Memoised like
    `normalize` (each touch row asks it of every address), for strings of an address's length."""
    return _memoised_is_role(address) if len(address) <= MEMO_MAX_LENGTH else _is_role(address)


def _is_role(address: str) -> bool:
    local = address.partition("@")[0]
    return local in _ROLE_LOCALPARTS or bool(_ROLE_PATTERN.search(local))


_memoised_is_role = lru_cache(maxsize=1 << 14)(_is_role)


def is_blocked(address: str, blocklist: Sequence[str]) -> bool:
    """Blocklist entries are whole addresses or domains (a domain also covers its subdomains)."""
    if not blocklist:
        return False
    domain = address.partition("@")[2]
    for entry in blocklist:
        entry = entry.strip().lower().lstrip("@")
        if "@" in entry:
            if normalize(entry) == address:
                return True
            continue
        entry = "gmail.com" if entry == "googlemail.com" else entry
        if domain == entry or domain.endswith("." + entry):
            return True
    return False
