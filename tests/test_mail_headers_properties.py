"""Property tests: mail headers as they arrive from the wild never break a sync.

`message_from_headers` and the address helpers get malformed, oddly encoded and huge
headers (RFC 2047 words with bad charsets and broken base64/QP, raw 8-bit Latin-1 and
UTF-8, NUL bytes, CRLF/LF/CR mixes, garbage or missing dates, thousands of addresses).
They must never raise; a message comes back as None (no usable date) or as a record whose
addresses are canonical and whose date is aware UTC, and whose text SQLite can store.
The header split gives what the stdlib feed parser gives. Real mailboxes full of such
messages: test_mail_sources_properties.py.
"""

from __future__ import annotations

import string
from datetime import datetime, UTC
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncd.addresses import decode_rfc2047, normalize, parse_address_list
from syncd.records import Message
from syncd.sources.mail_headers import _PARSER, _index, message_from_headers, parse_date, parse_headers
from tests.mail_strategies import (
    FAST,
    assert_canonical,
    assert_valid_message,
    aware_datetimes,
    domains,
    garbage,
    good_mailboxes,
    header_blocks,
    local_parts,
)


# --- message_from_headers ------------------------------------------------------------------


def parsed(raw: bytes) -> Message:
    message = message_from_headers(raw)
    assert message is not None
    return message


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
    message = parsed(utf8)
    assert message.sender == ("jérôme@exämple.com",) and message.subject == "Grüße"
    latin1 = "Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: Jérôme <jerome@example.com>\nSubject: Grüße\n".encode(
        "latin-1"
    )
    message = parsed(latin1)
    assert message.sender == ("jerome@example.com",) and message.subject == "Grüße"
    encoded = (
        b"Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: =?iso-8859-1?q?J=E9r=F4me?= <jerome@example.com>\n"
        b"Subject: =?utf-8?b?R3LDvMOfZQ==?=\n"
    )
    message = parsed(encoded)
    assert message.sender == ("jerome@example.com",) and message.subject == "Grüße"


def test_bad_encoded_words_never_swallow_or_invent_addresses():
    raw = (
        b"Date: Mon, 2 Mar 2026 10:00:00 +0000\n"
        b"To: =?bogus?q?Ada?= <ada@example.com>, =?utf-8?b?!!!?= <bob@example.com>, =?utf-8?q?=FF=?= <cy@example.com>,"
        b" =?utf-8?q?Evil=2C_x=40y=2Ecom?= <dee@example.com>\n"
    )
    assert parsed(raw).to == ("ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com")


@pytest.mark.timeout(120)
def test_huge_headers_thousands_of_addresses():
    count = 5000
    to = ", ".join(f"=?utf-8?q?Person_{i}?= <P{i}@Example{i % 7}.com>" for i in range(count))
    raw = ("Date: Mon, 2 Mar 2026 10:00:00 +0000\nFrom: me@example.com\nTo: " + to + "\n").encode()
    assert len(raw) > 200_000
    message = parsed(raw)  # a quadratic parse would show up as a pytest-timeout, not as a bet on a clock here
    assert_valid_message(message)
    assert len(message.to) == count and message.to[0] == "p0@example0.com"


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
@pytest.mark.timeout(120)  # a hang fails here; how fast it is belongs to the benchmarks
def test_huge_and_pathological_headers_never_raise(header: bytes):
    raw = b"Date: Tue, 3 Mar 2026 10:00:00 +0000\nFrom: Ada <ada@example.com>\n" + header.rstrip(b"\n") + b"\n"
    message = message_from_headers(raw)
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


@pytest.mark.slow  # hundreds of generated cases: the full tier
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


# --- Date: the common shape read by hand, the stdlib for the rest ------------------------------


def stdlib_date(text: str) -> datetime | None:
    """What `parse_date` answered before it read the common shape itself: the oracle."""
    try:
        parsed = parsedate_to_datetime(text.strip())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


_MONTH_WORDS = ["Jan", "Feb", "Mar", "Dec", "dec", "DEC", "Xyz", "Mai"]


@FAST
@given(
    st.sampled_from(["", "Wed, ", "Wed,", "wed, ", "Xyz, ", "Wed "]),
    st.integers(0, 40).map(str) | st.integers(0, 40).map("{:02d}".format),
    st.sampled_from(_MONTH_WORDS),
    st.integers(0, 9999).map("{:04d}".format) | st.integers(0, 99).map(str),
    st.tuples(st.integers(0, 25), st.integers(0, 61), st.integers(0, 61)),
    st.sampled_from("+-"),
    st.integers(0, 99),
    st.integers(0, 99),
)
@example("Wed, ", "02", "Dec", "0001", (0, 15, 26), "+", 1, 0)  # a year below 100 is a two-digit year
@example("", "31", "Dec", "9999", (23, 59, 59), "-", 1, 0)  # past the last datetime
@example("", "2", "Dec", "2026", (4, 15, 26), "+", 99, 99)  # an offset of a day or more
def test_the_common_date_shape_gives_what_the_stdlib_gives(weekday, day, month, year, clock, sign, hours, minutes):
    text = f"{weekday}{day} {month} {year} {clock[0]:02d}:{clock[1]:02d}:{clock[2]:02d} {sign}{hours:02d}{minutes:02d}"
    assert parse_date(text) == stdlib_date(text)
    assert parse_date(f"  {text}\n") == stdlib_date(text)


def test_the_common_date_shape_is_read_by_hand():
    """The fast path is taken (it gives UTC directly) and gives the instant the offset says."""
    assert parse_date("Wed, 02 Dec 2026 09:30:00 +0130") == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert parse_date("2 Dec 2026 09:30:00 -0000") == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
