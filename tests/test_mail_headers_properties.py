"""Property tests: mail headers as they arrive from the wild never break a sync.

`message_from_headers` and the address helpers get malformed, oddly encoded and huge
headers (RFC 2047 words with bad charsets and broken base64/QP, raw 8-bit Latin-1 and
UTF-8, NUL bytes, CRLF/LF/CR mixes, garbage or missing dates, thousands of addresses).
They must never raise; a message comes back as None (no usable date) or as a record whose
addresses are canonical and whose date is aware UTC, and whose text SQLite can store.
Then real mbox and Maildir files full of such messages are synced into a real store.
"""

from __future__ import annotations

import logging
import string
import tempfile
import time
from datetime import datetime, timedelta, timezone, UTC
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncd.addresses import decode_rfc2047, normalize, parse_address_list
from syncd.config import parse_config
from syncd.engine import sync_source, touch_rules
from syncd.records import Message
from syncd.sources.mail import MaildirSource, MboxSource
from syncd.sources.mail_headers import _PARSER, _index, message_from_headers, parse_headers
from syncd.store import Store

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


# --- message_from_headers ------------------------------------------------------------------


@FAST
@given(
    st.binary(max_size=2000),
    st.binary(max_size=80),
    st.lists(st.sampled_from(["TRASH", "SENT", "SPAM", "INBOX"]), max_size=2).map(tuple),
)
@example(b"\x00\x00\x00", b"", ())
@example(b"Date: Mon, 2 Mar 2026 10:00:00 +0000\nTo: " + b"(" * 5000 + b"\n", b"", ())
@example(
    b"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nFrom: =?utf-8?q?\xff?= <A@B.COM>\nTo: x\xe9y@d.org\r\r\n",
    b"From x Mon Mar  2 10:00:00 2026\n",
    (),
)
def test_any_bytes_give_none_or_a_valid_message(raw: bytes, from_line: bytes, labels: tuple[str, ...]):
    assert_valid_message(message_from_headers(raw, from_line, labels), labels)


@FAST
@given(header_blocks())
def test_generated_headers_parse_to_what_they_say(block):
    raw, oracle = block
    message = message_from_headers(raw)
    assert_valid_message(message)
    if oracle["date"] is None or not oracle["clean"]:
        return  # no (readable) Date, or a NUL that may end the header block early: None or any valid record
    assert message is not None, raw
    assert message.date == oracle["date"]
    assert message.bulk or not oracle["bulk"]
    if oracle["clean"]:
        # Every well-formed mailbox we wrote is found, canonicalised, whatever else is in the header.
        assert {normalize(a) for a in oracle["to"]} <= set(message.to), (raw, message.to)
        assert {normalize(a) for a in oracle["cc"]} <= set(message.cc), (raw, message.cc)
        assert {normalize(a) for a in oracle["from"]} <= set(message.sender), (raw, message.sender)


@FAST
@given(aware_datetimes, st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_missing_date_falls_back_to_the_mbox_from_line(when: datetime, eol: bytes, with_garbage_date: bool):
    utc = when.astimezone(UTC)
    from_line = f"From someone@example.com {utc:%a %b %d %H:%M:%S %Y}".encode() + eol
    raw = b"From: a@example.com" + eol + (b"Date: not a date" + eol if with_garbage_date else b"")
    message = message_from_headers(raw, from_line)
    assert message is not None and message.date == utc
    assert message_from_headers(raw) is None  # and without it, nothing to date the message by


def test_non_ascii_headers_keep_their_letters():
    """Raw UTF-8 (RFC 6532) and legacy Latin-1 header bytes are text, not U+FFFD."""
    utf8 = (
        "Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: Jérôme <JÉRÔME@exämple.com>\n"
        "To: Zoë <zoe@example.com>\nSubject: Grüße\n"
    ).encode()
    message = message_from_headers(utf8)
    assert message.sender == ("jérôme@exämple.com",) and message.subject == "Grüße"
    latin1 = "Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: Jérôme <jerome@example.com>\nSubject: Grüße\n".encode(
        "latin-1"
    )
    message = message_from_headers(latin1)
    assert message.sender == ("jerome@example.com",) and message.subject == "Grüße"
    encoded = (
        b"Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: =?iso-8859-1?q?J=E9r=F4me?= <jerome@example.com>\n"
        b"Subject: =?utf-8?b?R3LDvMOfZQ==?=\n"
    )
    message = message_from_headers(encoded)
    assert message.sender == ("jerome@example.com",) and message.subject == "Grüße"


def test_bad_encoded_words_never_swallow_or_invent_addresses():
    raw = (
        b"Date: Mon, 2 Mar 2026 10:00:00 +0000\n"
        b"To: =?bogus?q?Ada?= <ada@example.com>, =?utf-8?b?!!!?= <bob@example.com>, =?utf-8?q?=FF=?= <cy@example.com>,"
        b" =?utf-8?q?Evil=2C_x=40y=2Ecom?= <dee@example.com>\n"
    )
    assert message_from_headers(raw).to == ("ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com")


def test_huge_headers_thousands_of_addresses():
    count = 5000
    to = ", ".join(f"=?utf-8?q?Person_{i}?= <P{i}@Example{i % 7}.com>" for i in range(count))
    raw = ("Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: me@example.com\nTo: " + to + "\n").encode()
    assert len(raw) > 200_000
    started = time.monotonic()
    message = message_from_headers(raw)
    elapsed = time.monotonic() - started
    assert_valid_message(message)
    assert len(message.to) == count and message.to[0] == "p0@example0.com"
    assert elapsed < 20, f"{count} addresses took {elapsed:.1f}s"


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: " + b"=?utf-8?q?" + b"a" * 60 + b"?= " * 6000,  # ~400 KB of encoded words
        b"References: " + b"<x@y> " * 100_000,  # 600 KB
        b"X-Long: " + b"x" * 1_000_000,  # one 1 MB line
        b"To: " + b"(" * 100_000 + b"a@b.com",  # nested comments: recursion in the stdlib parser
        b"To: " + b'"' * 100_001 + b"a@b.com",
        b"To: " + b"\\" * 200_001,
        b"To: " + b"<" * 50_000 + b"a@b.com" + b">" * 50_000,
        b"To: a@b.com\n" * 20_000,  # twenty thousand To: lines
        b"Cc: " + b"\xff\xfe" * 100_000,
        b"Date: " + b"Mon, 2 Mar 2026 10:00:00 +0000 " * 20_000,
    ],
    ids=[
        "encoded-subject",
        "references",
        "1mb-line",
        "nested-parens",
        "quotes",
        "backslashes",
        "angles",
        "many-to-lines",
        "8bit-cc",
        "long-date",
    ],
)
def test_huge_and_pathological_headers_never_raise(header: bytes):
    raw = b"Date: Tue, 3 Mar 2026 10:00:00 +0000\nFrom: Ada <ada@example.com>\n" + header.rstrip(b"\n") + b"\n"
    started = time.monotonic()
    message = message_from_headers(raw)
    assert time.monotonic() - started < 20
    assert_valid_message(message)
    assert message is not None and message.sender == ("ada@example.com",)


# --- parse_address_list / normalize ----------------------------------------------------------


@FAST
@given(st.one_of(st.text(max_size=300), st.lists(st.text(max_size=80), max_size=5), st.none()))
@example('a\x00b@c.com, <>, @, ((x), "q, <y@z.com>')
@example(["=?utf-8?q?=FF?= <A@B.COM>", "b@c.com,, ,"])
def test_parse_address_list_never_raises_and_gives_canonical_addresses(value):
    result = parse_address_list(value)
    assert isinstance(result, list) and len(result) == len(set(result))
    for address in result:
        assert_canonical(address)


@FAST
@given(st.lists(good_mailboxes, min_size=1, max_size=8), st.lists(garbage, max_size=4))
def test_parse_address_list_finds_every_well_formed_mailbox(mailboxes, junk):
    value = ", ".join([text for text, _ in mailboxes] + [j.replace(",", " ") for j in junk])
    found = parse_address_list(value)
    assert {normalize(address) for _, address in mailboxes} <= set(found)


@FAST
@given(st.text(max_size=100))
@example("  <A.B+x@GoogleMail.com>  ")
@example("\u0130@example.com")
def test_normalize_is_none_or_a_canonical_fixed_point(text: str):
    result = normalize(text)
    if result is not None:
        assert_canonical(result)
        assert normalize(result) == result


@FAST
@given(local_parts, domains, st.text(string.ascii_letters + " ", min_size=1, max_size=20))
def test_normalize_ignores_case_display_names_and_brackets(local: str, domain: str, name: str):
    address = f"{local}@{domain}"
    expected = normalize(address)
    assert expected is not None and expected == address.lower()
    assert normalize(address.upper()) == expected
    assert normalize(f" <{address}> ") == expected
    assert normalize(f'"{name}" <{address}>') == expected
    assert normalize(f"{name.strip() or 'x'} <{address.upper()}>") == expected


@FAST
@given(
    st.text("abcdefgh", min_size=1, max_size=10),
    st.text("abc.", max_size=6),
    st.text("xyz", max_size=6),
    st.sampled_from(["gmail.com", "googlemail.com"]),
)
def test_gmail_dots_tags_and_googlemail_are_one_mailbox(local: str, dots: str, tag: str, domain: str):
    dotted = ".".join(local) + dots.replace(".", "")
    plain = normalize(f"{local}{dots.replace('.', '')}@gmail.com")
    assert normalize(f"{dotted}+{tag}@{domain}") == plain


@FAST
@given(st.text(max_size=200))
@example("=?bogus?q?x?=")
@example("=?utf-8?b?!!!?=")
@example("=?unknown-8bit?q?=FF?=")
def test_decode_rfc2047_never_raises(text: str):
    assert isinstance(decode_rfc2047(text), str)


def test_parse_address_list_survives_deeply_nested_comments():
    assert parse_address_list("(" * 5000 + "a@b.com") == []


def test_normalize_survives_deeply_nested_comments():
    assert normalize("x " + "(" * 5000 + "a@b.com") is None


@pytest.mark.parametrize("text", ["a\x00b@example.com", "a\x07@example.com", "a@exa\x1bmple.com"])
def test_normalize_rejects_control_characters(text: str):
    assert normalize(text) is None


# --- real mailboxes into a real store -------------------------------------------------------

GOOD = [
    (
        "good-plain@example.com",
        f"Date: Mon, 4 May 2026 10:00:00 +0000\nFrom: Me <{ME}>\nTo: Ada Lovelace <ada@example.com>\nSubject: hello\n",
    ),
    (
        "good-8bit@example.com",
        f"Date: Tue, 5 May 2026 10:00:00 +0200\nFrom: Jérôme Ünal <jerome@example.com>\nTo: {ME}\nSubject: Grüße\n",
    ),
    (
        "good-latin1@example.com",
        f"Date: Wed, 6 May 2026 10:00:00 -0500\nFrom: Zoë <zoe@example.com>\nTo: {ME}\nSubject: Café\n",
    ),
    (
        "good-crlf@example.com",
        f"Date: Thu, 7 May 2026 10:00:00 +0000\r\nFrom: {ME}\r\n"
        "To: =?bogus?q?Bob?= <Bob.Stone+x@GoogleMail.com>\r\nSubject: =?utf-8?b?!!!?=\r\n",
    ),
    (
        "good-nested@example.com",
        f"Date: Fri, 8 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: cy@example.com\nCc: {'(' * 3000}x\n",
    ),
    (
        "good-nul@example.com",
        f"Date: Sat, 9 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: dee@example.com\nX-Junk: a\x00b\n",
    ),
    (
        "good-news@example.com",
        f"Date: Sun, 10 May 2026 10:00:00 +0000\nFrom: News <news@example.org>\nTo: {ME}\nList-Id: <n.example.org>\n",
    ),
    (
        "good-huge@example.com",
        f"Date: Mon, 11 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: "
        + ", ".join(f"p{i}@example.com" for i in range(3000))
        + "\n",
    ),
]
BROKEN = [
    ("broken-nodate@example.com", "From: eve@example.com\nTo: me@example.com\n"),
    ("broken-garbagedate@example.com", "Date: the day after tomorrow\nFrom: eve@example.com\nTo: me@example.com\n"),
    ("broken-year10000@example.com", "Date: Mon, 2 Mar 10000 10:00:00 +0000\nFrom: eve@example.com\n"),
]
LATIN1_IDS = {"good-latin1@example.com"}


def _message_bytes(message_id: str, headers: str) -> bytes:
    text = headers.rstrip("\n").rstrip("\r") + ("\r\n" if "\r\n" in headers else "\n")
    text = f"Message-ID: <{message_id}>\n" + text + "\nBody is never read. From here on it is only body.\n"
    return text.encode("latin-1" if message_id in LATIN1_IDS else "utf-8")


def _config(tmp: Path, mbox: Path | None = None, maildir: Path | None = None):
    mail = f'mbox = ["{mbox}"]' if mbox else f'maildir = ["{maildir}"]'
    return parse_config(
        f"""
[user]
emails = ["{ME}"]
timezone = "UTC"
[store]
path = "{tmp / "store" / "syncd.db"}"
[sources.ics]
enabled = false
[sources.mail]
{mail}
""",
        tmp / "config.toml",
    )


def _sync(tmp: Path, source, config):
    store = Store.open(config.store_path)
    outcome = sync_source(source, store, config, touch_rules(config, store), NOW)
    ids = {
        row[0] for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
    }
    touched = {row[0] for row in store.connection.execute("SELECT DISTINCT address FROM touches")}
    return store, outcome, ids, touched


def _write_mbox(path: Path, messages: list[tuple[str, str]], from_lines: dict[str, str] | None = None) -> None:
    with open(path, "wb") as handle:
        for message_id, headers in messages:
            from_line = (from_lines or {}).get(message_id, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970")
            handle.write(from_line.encode() + b"\n" + _message_bytes(message_id, headers) + b"\n")


def _check_store(store: Store, source: str, ids: set[str], touched: set[str]) -> None:
    for item_id in ids:
        assert_valid_message(store.interaction(source, item_id))
    assert {
        "ada@example.com",
        "jerome@example.com",
        "zoe@example.com",
        "bobstone@gmail.com",
        "cy@example.com",
        "dee@example.com",
    } <= touched
    assert "news@example.org" not in touched and "eve@example.com" not in touched
    assert not any(
        address.startswith("p") and address.endswith("@example.com") and address[1:-12].isdigit() for address in touched
    )  # 3000 recipients: bulk


def test_mbox_with_broken_messages_syncs_the_good_ones(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    mbox = tmp_path / "mail.mbox"
    # A garbage From_ line cannot rescue a message without a usable Date.
    _write_mbox(mbox, GOOD + BROKEN, {message_id: "From eve@example.com sometime" for message_id, _ in BROKEN})
    config = _config(tmp_path, mbox=mbox)
    source = MboxSource(mbox)
    with caplog.at_level(logging.DEBUG, logger="syncd"):
        store, outcome, ids, touched = _sync(tmp_path, source, config)
    try:
        assert outcome.ok, outcome.error
        assert ids == {message_id for message_id, _ in GOOD}
        skipped = [record.getMessage() for record in caplog.records if "skipping message" in record.getMessage()]
        assert len(skipped) == len(BROKEN), skipped
        assert all(source.name in text for text in skipped)
        _check_store(store, source.name, ids, touched)
        # The Date header wins over the From_ line; its offset is honoured.
        assert store.interaction(source.name, "good-8bit@example.com").date == datetime(2026, 5, 5, 8, 0, tzinfo=UTC)
    finally:
        store.close()


def test_mbox_from_line_dates_a_message_without_date(tmp_path: Path):
    mbox = tmp_path / "mail.mbox"
    _write_mbox(
        mbox,
        [("dated-by-from-line@example.com", f"From: {ME}\nTo: ada@example.com\n")],
        {"dated-by-from-line@example.com": "From me@example.com Tue May 12 08:30:00 2026"},
    )
    store, outcome, ids, touched = _sync(tmp_path, MboxSource(mbox), _config(tmp_path, mbox=mbox))
    try:
        assert outcome.ok and ids == {"dated-by-from-line@example.com"} and touched == {"ada@example.com"}
    finally:
        store.close()


def test_maildir_with_broken_messages_syncs_the_good_ones(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number, (message_id, headers) in enumerate(GOOD + BROKEN):
        where = (
            maildir
            / ("new" if number % 2 else "cur")
            / (f"1780000000.M{number}P1.host" + ("" if number % 2 else ":2,S"))
        )
        where.write_bytes(_message_bytes(message_id, headers))
    config = _config(tmp_path, maildir=maildir)
    source = MaildirSource(maildir)
    with caplog.at_level(logging.DEBUG, logger="syncd"):
        store, outcome, ids, touched = _sync(tmp_path, source, config)
    try:
        assert outcome.ok, outcome.error
        assert ids == {message_id for message_id, _ in GOOD}
        skipped = [record.getMessage() for record in caplog.records if "skipping message" in record.getMessage()]
        assert len(skipped) == len(BROKEN), skipped
        _check_store(store, source.name, ids, touched)
    finally:
        store.close()


@SLOW
@given(st.lists(header_blocks(), min_size=1, max_size=12), st.sampled_from(["mbox", "maildir"]))
def test_any_mailbox_of_generated_messages_syncs(blocks, kind: str):
    """Whatever the headers, the sync succeeds and stores exactly the messages that parse."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        expected: dict[str, Message] = {}
        payloads = []
        for raw, _ in blocks:
            # Headers end at the first blank line; keep the generated block as one header block.
            raw = b"\n".join(
                line
                for line in raw.replace(b"\r\n", b"\n").split(b"\n")
                if line.strip() and not line.startswith(b"From ")
            )
            raw += b"\n"
            message = message_from_headers(raw, b"From x@y Mon Jan  1 00:00:00 1990\n" if kind == "mbox" else b"")
            if message is not None and message.date >= NOW - timedelta(days=365):
                expected.setdefault(message.item_id, message)
            payloads.append(raw + b"\nbody\n")
        if kind == "mbox":
            path = tmp / "mail.mbox"
            path.write_bytes(
                b"".join(
                    b"From x@y Mon Jan  1 00:00:00 1990\n" + payload.replace(b"\nFrom ", b"\n>From ") + b"\n"
                    for payload in payloads
                )
            )
            source, config = MboxSource(path), _config(tmp, mbox=path)
        else:
            path = tmp / "Maildir"
            for sub in ("new", "cur", "tmp"):
                (path / sub).mkdir(parents=True)
            for number, payload in enumerate(payloads):
                (path / "new" / f"17800000{number:02d}.M{number}P1.host").write_bytes(payload)
            source, config = MaildirSource(path), _config(tmp, maildir=path)
        store, outcome, ids, _ = _sync(tmp, source, config)
        try:
            assert outcome.ok, outcome.error
            assert ids == set(expected), ids ^ set(expected)
            for item_id in ids:
                assert_valid_message(store.interaction(source.name, item_id))
        finally:
            store.close()


def test_a_big_mbox_is_read_in_batches_and_pruned_only_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Memory stays flat: several batches share one generation; only the last prunes and moves the cursor."""
    import syncd.sources.mail as mail

    monkeypatch.setattr(mail, "BATCH_SIZE", 3)
    mbox = tmp_path / "big.mbox"
    messages = [
        (f"m{i}@example.com", f"Date: Mon, 4 May 2026 10:{i:02d}:00 +0000\nFrom: {ME}\nTo: p{i}@example.com\n")
        for i in range(10)
    ]
    _write_mbox(
        mbox,
        messages + [("m0@example.com", f"Date: Tue, 5 May 2026 10:00:00 +0000\nFrom: {ME}\nTo: dup@example.com\n")],
    )
    config = _config(tmp_path, mbox=mbox)
    source = MboxSource(mbox)
    batches = list(source.sync(None, _context()))
    assert [len(batch.upserts) for batch in batches] == [3, 3, 3, 1]
    assert len({batch.generation for batch in batches}) == 1 and [batch.prune for batch in batches] == [
        False,
        False,
        False,
        True,
    ]
    assert [batch.cursor for batch in batches[:-1]] == [None, None, None] and batches[-1].cursor["file"]
    assert next(r for b in batches for r in b.upserts if r.item_id == "m0@example.com").to == (
        "p0@example.com",
    )  # first copy wins

    store, outcome, ids, _ = _sync(tmp_path, source, config)
    try:
        assert outcome.ok and ids == {f"m{i}@example.com" for i in range(10)}
        # Rewrite without m0..m4 and crash after the first batch: nothing is pruned yet, the old cursor stays.
        _write_mbox(
            mbox,
            messages[5:]
            + [
                (f"n{i}@example.com", f"Date: Wed, 6 May 2026 10:{i:02d}:00 +0000\nFrom: {ME}\nTo: q{i}@example.com\n")
                for i in range(4)
            ],
        )
        old_cursor = store.source_state(source.name).cursor
        rules = touch_rules(config, store)
        first = next(iter(source.sync(old_cursor, _context())))
        store.apply_batch(source.name, first, rules)
        kept = {
            row[0]
            for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
        }
        assert {f"m{i}@example.com" for i in range(5)} <= kept and store.source_state(source.name).cursor == old_cursor
        # The next sync starts over and ends with the file's messages, and keeps those that left
        # it (mail is history: m0..m4 were still written).
        again = sync_source(source, store, config, rules, NOW)
        final = {
            row[0]
            for row in store.connection.execute("SELECT item_id FROM interactions WHERE source = ?", (source.name,))
        }
        assert again.ok and final == {f"m{i}@example.com" for i in range(10)} | {f"n{i}@example.com" for i in range(4)}
        orphans = store.connection.execute(
            "SELECT COUNT(*) FROM touches t LEFT JOIN interactions i USING (source, item_id) WHERE i.item_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        store.close()


def _context():
    from zoneinfo import ZoneInfo

    from syncd.sources.base import SyncContext

    return SyncContext(now=NOW, since=NOW - timedelta(days=365), until=NOW + timedelta(days=35), tz=ZoneInfo("UTC"))


# --- the header split against the stdlib feed parser ----------------------------------------

FIELD_PIECES = [
    b"Date: Mon, 2 Mar 2026 10:00:00 +0000\n",
    b"From: Ada <ada@example.com>\n",
    b"to:b@example.com,\n",
    b"\tc@example.com\n",
    b" \n",
    b"CC :x@y.z\n",
    b"Subject:\n",
    b"Subject: caf\xc3\xa9 \xe9\n",
    b"X-Odd;Name!: v\n",
    b"From x Mon Mar  2 10:00:00 2026\n",
    b": no name\n",
    b"not a field\n",
    b"\n",
    b"\r\n",
    b"Received: from a\r",
    b"Message-ID: <1@x>",
    b"List-Id:   <l.example.org>   \n",
    b"X-Empty:\n",
    b"\x00: nul\n",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        header_blocks().map(lambda block: block[0]),
        st.lists(st.sampled_from(FIELD_PIECES), max_size=12).map(b"".join),
        st.binary(max_size=300),
    )
)
@example(b"Subject: a\nFrom b\n")
@example(b" leading continuation\nTo: a@b.c\n")
@example(b"X Y: a space in the name ends the fields\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n")
def test_the_header_split_gives_what_the_feed_parser_gives(raw: bytes):
    assert parse_headers(raw) == _index(_PARSER.parsebytes(raw))
