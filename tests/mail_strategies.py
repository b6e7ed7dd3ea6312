"""Hypothesis strategies for mail headers from the wild, and what a valid record of them looks like.

Shared by the property tests of the header parsing (test_mail_headers_properties.py) and of
the mbox and Maildir sources over a real store (test_mail_sources_properties.py).
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone, UTC
from email.utils import format_datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from syncd.addresses import normalize
from syncd.records import Message


NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ME = "me@example.com"
FAST = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
SLOW = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


# --- what "canonical" means ------------------------------------------------------------------


def assert_canonical(address: str) -> None:
    assert isinstance(address, str) and address
    assert address == address.lower(), address
    assert address.count("@") == 1, address
    assert not any(ch.isspace() for ch in address), repr(address)
    local, _, domain = address.partition("@")
    assert local and "." in domain, address
    assert normalize(address) == address, f"{address!r} is not a fixed point of normalize"
    address.encode("utf-8")  # SQLite stores UTF-8: a lone surrogate would fail the whole batch


def assert_valid_message(message: Message | None, extra_labels: tuple[str, ...] = ()) -> None:
    if message is None:
        return
    assert isinstance(message, Message)
    assert message.date.tzinfo is not None and message.date.utcoffset() == timedelta(0), message.date
    assert isinstance(message.item_id, str) and 0 < len(message.item_id) <= 500
    message.item_id.encode("utf-8")
    for field in (message.sender, message.to, message.cc):
        assert isinstance(field, tuple) and len(field) == len(set(field)), field
        for address in field:
            assert_canonical(address)
    assert list(message.labels) == sorted(set(message.labels))
    assert set(message.labels) <= set(extra_labels) | {"SPAM", "TRASH", "SENT"}
    for text in (message.subject, message.auto_submitted):
        assert text is None or isinstance(text, str)
        if text is not None:
            text.encode("utf-8")
    assert message.subject is None or len(message.subject) <= 300


# --- strategies ------------------------------------------------------------------------------

CHARSETS = [
    "utf-8",
    "UTF-8",
    "iso-8859-1",
    "windows-1252",
    "us-ascii",
    "koi8-r",
    "utf-7",
    "utf-16",
    "shift_jis",
    "iso-2022-jp",
    "unknown-8bit",
    "x-unknown",
    "bogus",
    "",
    "utf-8*en",
    "../../etc/passwd",
]
ATOM = string.ascii_letters + string.digits + "!#$%&'*+-/=^_`{|}~."
local_parts = st.text(ATOM, min_size=1, max_size=20).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
domains = st.lists(
    st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=12).filter(
        lambda s: s[0] != "-" and s[-1] != "-"
    ),
    min_size=2,
    max_size=4,
).map(".".join)
good_addresses = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains),
    st.builds(
        lambda local, tag, domain: f"{local}+{tag}@{domain}",
        local_parts.filter(lambda s: "+" not in s),
        local_parts,
        st.sampled_from(["gmail.com", "googlemail.com", "GMail.com"]),
    ),
)
broken_base64 = st.text(string.ascii_letters + string.digits + "+/=!*", max_size=30)
broken_qp = st.lists(
    st.one_of(
        st.text(string.ascii_letters, max_size=5),
        st.sampled_from(["=", "=Z", "=ZZ", "=0", "=C3", "=C3=28", "=FF", "_", "?"]),
    ),
    max_size=8,
).map("".join)
encoded_words = st.builds(
    lambda charset, encoding, payload: f"=?{charset}?{encoding}?{payload}?=",
    st.sampled_from(CHARSETS),
    st.sampled_from(["q", "Q", "b", "B", "x", ""]),
    st.one_of(broken_base64, broken_qp),
)
# Display names a mail client could have written: plain words (any script, raw 8-bit on the
# wire), quoted strings, RFC 2047 encoded words with good or bad charsets and payloads.
name_letters = st.characters(categories=["L", "N"], exclude_characters="\x85\u2028\u2029")
display_names = st.one_of(
    st.just(""),
    st.text(string.ascii_letters + " .'-", max_size=20),
    st.lists(st.text(name_letters, min_size=1, max_size=8), min_size=1, max_size=3).map(" ".join),
    st.builds(
        lambda s: '"' + s + '"',
        st.text(string.printable.replace('"', "").replace("\\", "").replace("\r", "").replace("\n", ""), max_size=20),
    ),
    st.lists(encoded_words, min_size=1, max_size=3).map(" ".join),
)
garbage = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "<>",
            "@",
            "@@",
            "a@",
            "@b",
            "a@b",
            "a@@b.com",
            "<a@b.com",
            "a@b.com>",
            "(comment",
            ")",
            '"unterminated',
            "\\",
            ";",
            ":;",
            "undisclosed-recipients:;",
            "=?utf-8?q?",
            "?=",
            "a b@c.com",
            "<a@b.com> trailing",
            "\x00",
            "a\x00@b.com",
        ]
    ),
)


def _mailbox_text(name: str, address: str, style: int) -> str:
    if style == 0 or not name:
        return address
    if style == 1:
        return f"{name} <{address}>"
    return f"{address} ({name.replace('(', '').replace(')', '')})"


good_mailboxes = st.builds(
    lambda n, a, s, upper: (_mailbox_text(n, a.upper() if upper else a, s), a),
    display_names,
    good_addresses,
    st.integers(0, 2),
    st.booleans(),
)


@st.composite
def address_headers(draw, min_good=0) -> tuple[str, list[str]]:
    """A header value mixing well-formed mailboxes (the oracle) with garbage entries."""
    good = draw(st.lists(good_mailboxes, min_size=min_good, max_size=6))
    junk = draw(st.lists(garbage, max_size=3))
    # Junk goes last: an unbalanced quote or comment may swallow what follows it, never what precedes.
    parts = [text for text, _ in good] + [j.replace(",", " ") for j in junk]
    return ", ".join(parts), [address for _, address in good]


aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from(
        [
            UTC,
            timezone(timedelta(hours=-8)),
            timezone(timedelta(hours=5, minutes=30)),
            timezone(timedelta(hours=14)),
            timezone(timedelta(hours=-12)),
        ]
    ),
).map(lambda value: value.replace(microsecond=0))  # RFC 5322 dates carry whole seconds
garbage_dates = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "yesterday",
            "Mon, 32 Foo 2026 25:61:61 +9999",
            "Mon, 2 Mar 10000 10:00:00 +0000",
            "Mon, 2 Mar 0000 10:00:00 +0000",
            "Fri, 31 Dec 9999 23:59:59 -2359",
            "Mon, 1 Jan 0001 00:00:00 +2359",
            "2 Mar 2026",
            "2026-03-02T10:00:00Z",
            "\x00",
            "Mon, 2 Mar 2026 10:00:00 +0000 (" + "(" * 50,
            "Mon, 99999999999999999999 Mar 2026 10:00:00 +0000",
        ]
    ),
)


def _raw(text: str, eight_bit: str) -> bytes:
    if eight_bit == "utf-8":
        return text.encode("utf-8", "surrogatepass")
    if eight_bit == "latin-1":
        return text.encode("latin-1", "replace")
    return text.encode("ascii", "backslashreplace")


@st.composite
def header_blocks(draw):
    """(raw header bytes, what a correct reader must find in them)."""
    date = draw(st.one_of(st.none(), aware_datetimes))
    date_text = format_datetime(date) if date is not None else draw(st.one_of(st.none(), garbage_dates))
    sender, sender_ok = draw(address_headers())
    to, to_ok = draw(address_headers())
    cc, cc_ok = draw(address_headers())
    headers: list[tuple[str, str]] = []
    if date_text is not None:
        headers.append(("Date", date_text))
    headers += [("From", sender), ("To", to), ("Cc", cc)]
    headers.append(
        ("Subject", draw(st.one_of(st.text(max_size=60), st.lists(encoded_words, max_size=4).map(" ".join))))
    )
    message_id = draw(
        st.one_of(
            st.none(),
            st.text(max_size=40),
            st.builds(lambda local, domain: f"<{local}@{domain}>", local_parts, domains),
        )
    )
    if message_id is not None:
        headers.append(("Message-ID", message_id))
    bulk = draw(
        st.sampled_from(
            [
                None,
                ("List-Id", "<news.example.com>"),
                ("List-Unsubscribe", "<mailto:u@example.com>"),
                ("Precedence", "bulk"),
            ]
        )
    )
    if bulk:
        headers.append(bulk)
    headers += draw(
        st.lists(
            st.tuples(
                st.sampled_from(["X-Gmail-Labels", "Auto-Submitted", "Received", "X-Weird", "Reply-To", "References"]),
                st.text(max_size=40),
            ),
            max_size=4,
        )
    )
    headers = draw(st.permutations(headers))
    eight_bit = draw(st.sampled_from(["utf-8", "latin-1", "ascii"]))
    lines = []
    for name, value in headers:
        value = value.replace("\r", " ").replace("\n", " ")
        if draw(st.integers(0, 4)) == 0 and " " in value:  # fold the line
            value = value.replace(" ", "\n\t", 1)
        lines.append(_raw(f"{name}: {value}", eight_bit))
    ending = draw(st.sampled_from(["lf", "crlf", "mixed"]))
    joined = b""
    for line in lines:
        eol = {"lf": b"\n", "crlf": b"\r\n"}.get(ending) or draw(st.sampled_from([b"\n", b"\r\n"]))
        joined += line.replace(b"\n", eol) + eol
    if draw(st.integers(0, 5)) == 0:  # a NUL byte somewhere
        at = draw(st.integers(0, len(joined)))
        joined = joined[:at] + b"\x00" + joined[at:]
        nul = True
    else:
        nul = False
    oracle = {
        "date": date,
        "from": sender_ok,
        "to": to_ok,
        "cc": cc_ok,
        "bulk": bulk is not None,
        "clean": not nul,
        "message_id": message_id,
    }
    return joined, oracle
