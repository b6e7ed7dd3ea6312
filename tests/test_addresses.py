"""Address normalisation, header parsing, role and blocklist detection (syncd.addresses)."""

from __future__ import annotations

import string
from email.utils import getaddresses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.addresses import common_mailboxes as fast_mailboxes
from syncd.addresses import (
    _memoised_normalize,
    decode_rfc2047,
    is_blocked,
    is_role_address,
    normalize,
    parse_address_list,
)


# --- normalize -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com\t", "ada@example.com"),
        ("<ada@example.com>", "ada@example.com"),
        (" < ada@example.com > ", "ada@example.com"),
        ("Ada Lovelace <ADA@example.com>", "ada@example.com"),
        ('"Lovelace, Ada" <ada@example.com>', "ada@example.com"),
        ("Ada <ada@example.com>", "ada@example.com"),
    ],
)
def test_normalize_strips_case_whitespace_display_names_and_brackets(written: str, canonical: str) -> None:
    assert normalize(written) == canonical


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("ada.lovelace@gmail.com", "adalovelace@gmail.com"),
        ("A.D.A.Lovelace@Gmail.com", "adalovelace@gmail.com"),
        ("adalovelace+newsletters@gmail.com", "adalovelace@gmail.com"),
        ("ada.lovelace+a.b+c@gmail.com", "adalovelace@gmail.com"),
        ("adalovelace@googlemail.com", "adalovelace@gmail.com"),
        ("Ada.Lovelace+x@GoogleMail.COM", "adalovelace@gmail.com"),
        ("Ada <ada.lovelace+tag@googlemail.com>", "adalovelace@gmail.com"),
    ],
)
def test_normalize_gmail_ignores_dots_and_plus_tags_and_googlemail(written: str, canonical: str) -> None:
    assert normalize(written) == canonical


@pytest.mark.parametrize(
    "written",
    [
        "ada.lovelace@example.com",
        "ada+work@example.com",
        "ada.l+x@example.com",
        "a.da@gmail.co.uk",
        "ada+x@mail.gmail.com.evil.org",
    ],
)
def test_normalize_keeps_dots_and_plus_tags_outside_gmail(written: str) -> None:
    assert normalize(written) == written.lower()


def test_gmail_variants_share_one_canonical_form() -> None:
    forms = [
        "adalovelace@gmail.com",
        "Ada.Lovelace@gmail.com",
        "adalovelace+coffee@googlemail.com",
        "a.d.a.lovelace@GOOGLEMAIL.com",
    ]
    assert {normalize(form) for form in forms} == {"adalovelace@gmail.com"}


def test_non_gmail_variants_stay_distinct() -> None:
    assert normalize("ada.lovelace@example.com") != normalize("adalovelace@example.com")
    assert normalize("ada+x@example.com") != normalize("ada@example.com")


@pytest.mark.parametrize(
    "written",
    [
        "",
        "   ",
        "<>",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada x@example.com",
        "mailto:ada@example.com",
        "+tag@gmail.com",
        "...@gmail.com",
        "Lovelace, Ada <ada@example.com>",
    ],
)
def test_normalize_malformed_is_none(written: str) -> None:
    assert normalize(written) is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    canonical = normalize(text)
    if canonical is not None:
        assert canonical == canonical.lower().strip()
        assert normalize(canonical) == canonical


# --- header lists ----------------------------------------------------------------


def test_parse_address_list_plain_and_named() -> None:
    assert parse_address_list("Ada <Ada@Example.com>, bob@example.org") == ["ada@example.com", "bob@example.org"]


def test_parse_address_list_accepts_several_header_values_and_dedupes() -> None:
    values = ["ada@example.com, Bob <bob@example.org>", "ADA@example.com", "Ada.L+x@googlemail.com, ada.l@gmail.com"]
    assert parse_address_list(values) == ["ada@example.com", "bob@example.org", "adal@gmail.com"]


@pytest.mark.parametrize("empty", [None, "", []])
def test_parse_address_list_empty(empty) -> None:
    assert parse_address_list(empty) == []


def test_parse_address_list_drops_malformed_entries_only() -> None:
    assert parse_address_list("ada@example.com, not an address, undisclosed-recipients:;, bob@example.org") == [
        "ada@example.com",
        "bob@example.org",
    ]


def test_parse_address_list_rfc2047_display_names() -> None:
    header = "=?utf-8?q?Ada_Lovelace?= <ada@example.com>, =?utf-8?b?R3LDoWNl?= <grace@example.com>"
    assert parse_address_list(header) == ["ada@example.com", "grace@example.com"]


def test_parse_address_list_rfc2047_name_with_comma() -> None:
    assert parse_address_list("=?utf-8?q?Lovelace=2C_Ada?= <ada@example.com>") == ["ada@example.com"]


def test_parse_address_list_unknown_charset_is_not_fatal() -> None:
    assert parse_address_list("=?bogus-charset?q?Ada?= <ada@example.com>") == ["ada@example.com"]


def test_parse_address_list_broken_base64_word_is_not_fatal() -> None:
    assert parse_address_list("=?utf-8?b?QQ?= <ada@example.com>") == ["ada@example.com"]
    assert parse_address_list("=?utf-8?b?!!!notbase64?= <ada@example.com>") == ["ada@example.com"]
    assert decode_rfc2047("=?utf-8?b?!!!notbase64?=") == "=?utf-8?b?!!!notbase64?="


def test_parse_address_list_encoded_quote_in_display_name_does_not_swallow_next_address() -> None:
    assert parse_address_list("=?utf-8?q?=22?= <ada@example.com>, bob@example.org") == [
        "ada@example.com",
        "bob@example.org",
    ]


def test_parse_address_list_encoded_display_name_cannot_inject_an_address() -> None:
    assert parse_address_list("=?utf-8?q?eve=40evil=2Ecom=2C?= <ada@example.com>") == ["ada@example.com"]


def test_decode_rfc2047() -> None:
    assert decode_rfc2047("=?utf-8?q?Ada_Lovelace?=") == "Ada Lovelace"
    assert decode_rfc2047("=?iso-8859-1?q?Jos=E9?=") == "José"
    assert decode_rfc2047("plain") == "plain"
    assert decode_rfc2047("=?nope?q?x?=") == "=?nope?q?x?="


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(), max_size=4))
def test_parse_address_list_never_raises(values: list[str]) -> None:
    for address in parse_address_list(values):
        assert normalize(address) == address


# --- role addresses --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "noreply@example.com",
        "no-reply@example.com",
        "no_reply@example.com",
        "donotreply@example.com",
        "do-not-reply@example.com",
        "do_not_reply@example.com",
        "notifications@github.com",
        "info@example.com",
        "support@example.com",
        "bounces+xyz@example.com",
        "bounce-123@mailer.example.com",
        "mailer-daemon@example.com",
        "postmaster@example.com",
        "noreply-calendar@example.com",
        "team.noreply@example.com",
        "no-reply+abc@example.com",
    ],
)
def test_role_addresses(address: str) -> None:
    assert is_role_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com",
        "information.officer@example.com",
        "supporter@example.com",
        "infoman@example.com",
        "reply@example.com",
        "norbert@example.com",
        "noah.reply@example.com",
    ],
)
def test_people_are_not_role_addresses(address: str) -> None:
    assert not is_role_address(address)


def test_role_detection_applies_to_normalised_gmail_form() -> None:
    # "no.reply@gmail.com" is the same mailbox as noreply@gmail.com.
    canonical = normalize("no.reply@gmail.com")
    assert canonical is not None and is_role_address(canonical)


# --- blocklist -------------------------------------------------------------------


def test_blocked_by_whole_address_in_any_written_form() -> None:
    assert is_blocked("recruiter@example.com", ["Recruiter@Example.com"])
    assert is_blocked("recruiter@example.com", ["  <recruiter@example.com> "])
    assert is_blocked("adalovelace@gmail.com", ["Ada.Lovelace+jobs@googlemail.com"])
    assert not is_blocked("ada@example.com", ["recruiter@example.com"])


def test_blocked_by_domain_and_its_subdomains() -> None:
    assert is_blocked("x@example.org", ["example.org"])
    assert is_blocked("x@mail.example.org", ["example.org"])
    assert is_blocked("x@a.b.example.org", ["EXAMPLE.ORG"])
    assert is_blocked("x@example.org", ["@example.org"])


def test_domain_blocklist_does_not_match_suffix_of_another_domain() -> None:
    assert not is_blocked("x@notexample.org", ["example.org"])
    assert not is_blocked("x@example.org.uk", ["example.org"])


def test_empty_blocklist_blocks_nothing() -> None:
    assert not is_blocked("ada@example.com", [])


# --- the fast path for common shapes against the stdlib parser -----------------------------

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atoms = st.text(ATEXT, min_size=1, max_size=8)
addr_specs = st.builds(
    lambda local, domain: ".".join(local) + "@" + ".".join(domain),
    st.lists(atoms, min_size=1, max_size=3),
    st.lists(atoms, min_size=1, max_size=3),
)
NAME_SPECIALS = '<>()[]:;@\\,"\x7f'  # and controls, spaces: where a display-name word ends
name_words = st.text(st.characters(blacklist_characters=NAME_SPECIALS, min_codepoint=0x21), min_size=1, max_size=8)
plain_names = st.lists(name_words, min_size=1, max_size=3).map(" ".join)
quoted_names = st.text(st.characters(blacklist_characters='"\\\x7f', min_codepoint=0x20), max_size=12).map(
    lambda text: f'"{text}"'
)
spaces = st.sampled_from(["", " ", "  ", "\n ", "\r\n\t", "\t"])
common_mailboxes = st.one_of(
    addr_specs,
    st.builds(lambda address: f"<{address}>", addr_specs),
    st.builds(lambda name, gap, address: f"{name}{gap}<{address}>", plain_names | quoted_names, spaces, addr_specs),
)
common_values = st.builds(
    lambda boxes, gaps: ",".join(
        f"{gaps[i % len(gaps)]}{box}{gaps[-1 - i % len(gaps)]}" for i, box in enumerate(boxes)
    ),
    st.lists(common_mailboxes, min_size=1, max_size=4),
    st.lists(spaces, min_size=1, max_size=3),
)
# Near misses: the characters that make a header need the full parser, mixed into common shapes.
TRICKY = st.sampled_from(
    ["(", ")", "(c)", '"', "\\", ":", ";", "group:", "@", "<", ">", ",", "[", "]", ".", " ", "=?utf-8?q?x?=", "\x00"]
)
near_misses = st.builds(
    lambda value, insert, at: value[:at] + insert + value[at:], common_values, TRICKY, st.integers(0, 60)
)


def stdlib_addresses(text: str) -> list[str]:
    return [address for _name, address in getaddresses([text])]


def common_addresses(text: str) -> list[str] | None:
    """The addresses the fast path reads, in the shape `getaddresses` gives them."""
    mailboxes = fast_mailboxes(text)
    return None if mailboxes is None else [address for _name, address in mailboxes]


@pytest.mark.slow  # hundreds of generated cases: the full tier
@settings(max_examples=1000, deadline=None)
@given(st.one_of(common_values, near_misses, st.text(ATEXT + ' <>@",.()\\:;', max_size=40)))
def test_the_fast_path_agrees_with_the_stdlib_on_everything_it_accepts(text: str) -> None:
    fast = common_addresses(text)
    if fast is not None:
        assert fast == stdlib_addresses(text)


@pytest.mark.slow  # hundreds of generated cases: the full tier
@settings(max_examples=500, deadline=None)
@given(common_values)
def test_the_fast_path_takes_the_common_shapes(text: str) -> None:
    assert common_addresses(text) == stdlib_addresses(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ada (the first) <ada@example.com>",
        "undisclosed-recipients:;",
        "team: ada@example.com, bob@example.com;",
        '"Ada \\"the\\" first" <ada@example.com>',
        "<@route.example:ada@example.com>",
        "ada@example.com,",
        "ada@[192.0.2.1]",
        "Ada ada@example.com",
    ],
)
def test_comments_groups_routes_and_odd_quoting_go_to_the_stdlib(text: str) -> None:
    assert common_addresses(text) is None
    assert parse_address_list(text) == [
        canonical for address in stdlib_addresses(text) if (canonical := normalize(address))
    ]


def test_normalize_is_memoised_for_strings_of_an_address_length_only() -> None:
    before = _memoised_normalize.cache_info()
    assert normalize("Memo.Ised@GoogleMail.com") == normalize("Memo.Ised@GoogleMail.com") == "memoised@gmail.com"
    assert _memoised_normalize.cache_info().hits > before.hits
    huge = "x" * 100_000 + "@example.com"
    size = _memoised_normalize.cache_info().currsize
    assert normalize(huge) == normalize(huge) == huge
    assert _memoised_normalize.cache_info().currsize == size
