"""The binary mbox scan against the stdlib: the same header blocks as `mailbox.mbox` + `read_header_block`.

The reference is the reader syncd used before the scan (kept here only): `mailbox.mbox` finds
the messages, `get_file(key, from_=True)` opens each, `read_header_block` cuts its block. The
mboxes are CPython's own email test corpus written out in several mbox conventions, generated
ones with every boundary oddity Hypothesis can combine, and a few big ones for the cap and the
read windows.
"""

from __future__ import annotations

import mailbox
import os
import random
import sysconfig
from datetime import datetime, timedelta, UTC
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.sources.base import SyncContext
from syncd.sources.mail import MboxSource
from syncd.sources.mail_headers import MAX_HEADER_BYTES, message_from_headers, read_header_block
from syncd.sources.mbox_scan import HeaderBlock, header_blocks

CORPUS = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def stdlib_blocks(path: Path) -> list[tuple[bytes, bytes, bool]]:
    box = mailbox.mbox(path, create=False)
    try:
        blocks = []
        for key in box.iterkeys():
            handle = box.get_file(key, from_=True)
            try:
                blocks.append(read_header_block(cast(BinaryIO, handle)))
            finally:
                handle.close()
        return blocks
    finally:
        box.close()


def scanned_blocks(path: Path, window: int | None = None) -> list[HeaderBlock]:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return list(header_blocks(descriptor) if window is None else header_blocks(descriptor, window))
    finally:
        os.close(descriptor)


def assert_same_blocks(path: Path, window: int | None = None) -> list[HeaderBlock]:
    expected = stdlib_blocks(path)
    scanned = scanned_blocks(path, window)
    assert [(block.from_line, block.headers, block.cut) for block in scanned] == expected
    data = path.read_bytes()
    assert all(data.startswith(b"From ", block.offset) for block in scanned)
    return scanned


def corpus_messages() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS.glob("msg_*.txt"))]


def as_mbox(messages: list[bytes], style: str) -> bytes:
    """The messages in one mbox convention: mboxrd (body `From ` quoted), mboxo left unquoted
    (the stdlib then splits there, and so must the scan), CRLF lines, no blank separators."""
    out = []
    for number, text in enumerate(messages):
        if style == "crlf":
            text = text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if style == "mboxrd":
            text = text.replace(b"\nFrom ", b"\n>From ").replace(b"\n>From ", b"\n>>From ")
        if not text.startswith(b"From "):
            text = f"From sender{number}@example.com Mon Jun  1 09:00:{number % 60:02d} 2026\n".encode() + text
        out.append(text if style == "tight" else text + b"\n")
    return b"".join(out)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="this Python ships without its email test corpus")
@pytest.mark.parametrize("style", ["mboxrd", "mboxo", "crlf", "tight"])
def test_the_cpython_email_corpus_gives_the_same_blocks(tmp_path: Path, style: str):
    path = tmp_path / "corpus.mbox"
    path.write_bytes(as_mbox(corpus_messages(), style))
    assert len(assert_same_blocks(path)) >= len(corpus_messages())


PIECES = [
    b"From a@example.com Mon Jun  1 09:00:00 2026\n",
    b"From \n",
    b"From b Sat Nov 21 09:00:00 2026\r\n",
    b"Date: Mon, 1 Jun 2026 09:00:00 +0000\n",
    b"From: Ada <ada@example.com>\n",
    b"To: b@example.com,\n c@example.com\n",
    b"Subject: From here\n",
    b"Message-ID: <x@y>\n",
    b"\n",
    b"\r\n",
    b"\n\n",
    b">From the body\n",
    b">>From quoted twice\n",
    b"body text\n",
    b"From",
    b"From the body, unquoted (mboxo)\n",
    b"no newline at the end",
    b"\r",
    b" folded continuation\n",
    b"\x00\xff binary \xc3\xa9\n",
    b"X-Long: " + b"x" * 300 + b"\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_generated_mboxes_give_the_same_blocks(tmp_path: Path, pieces: list[bytes]):
    path = tmp_path / "generated.mbox"
    path.write_bytes(b"".join(pieces))
    assert_same_blocks(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_give_the_same_blocks(tmp_path: Path, noise: bytes, lead_with_from: bool):
    path = tmp_path / "noise.mbox"
    lead = b"From x Mon Jun  1 09:00:00 2026\n" if lead_with_from else b""
    path.write_bytes(lead + noise.replace(b"F", b"\nFrom "))
    assert_same_blocks(path)


def big_mbox(count: int, seed: int) -> bytes:
    """Messages of random sizes (some bodies of 100 KB), with headers at and past the cap."""
    rng = random.Random(seed)
    out = [b"preamble that is no message\n"]
    for number in range(count):
        headers = [f"From s{number} Mon Jun  1 09:00:00 2026\n".encode(), f"Message-ID: <{number}@x>\n".encode()]
        shape = rng.random()
        if shape < 0.05:  # a header block right at the cap, either side of it
            filler = MAX_HEADER_BYTES - sum(map(len, headers)) - 12 + rng.randrange(-3, 4)
            headers.append(b"X-Pad: " + b"p" * max(filler, 0) + b"\n")
        elif shape < 0.08:  # one header line longer than the cap
            headers.append(b"X-Huge: " + b"h" * (MAX_HEADER_BYTES + rng.randrange(50)) + b"\n")
        elif shape < 0.1:  # no blank line before the next message
            out.append(b"".join(headers))
            continue
        body = b"\n" + b"line of body\n" * rng.randrange(0, 8000 if shape > 0.97 else 200) + rng.choice([b"\n", b""])
        out.append(b"".join(headers) + body)
    return b"".join(out)


@pytest.mark.parametrize("window", [4096, 100_000, 1 << 20, None])
def test_big_mboxes_with_capped_headers_give_the_same_blocks_whatever_the_window(tmp_path: Path, window: int | None):
    path = tmp_path / "big.mbox"
    path.write_bytes(big_mbox(300, seed=window or 0))
    blocks = assert_same_blocks(path, window)
    assert any(block.cut for block in blocks) and not all(block.cut for block in blocks)


def test_a_from_line_longer_than_the_cap(tmp_path: Path):
    path = tmp_path / "long-from.mbox"
    path.write_bytes(b"From " + b"f" * (MAX_HEADER_BYTES + 10) + b"\nSubject: x\n\nbody\nFrom y\nSubject: y\n")
    assert [block.cut for block in assert_same_blocks(path)] == [True, False]


def test_an_empty_file_and_a_file_without_from_lines_have_no_messages(tmp_path: Path):
    for content in (b"", b"Subject: no From line\n\nbody\n", b"\n\n"):
        path = tmp_path / "nothing.mbox"
        path.write_bytes(content)
        assert assert_same_blocks(path) == []


def test_the_source_gives_the_records_the_stdlib_reader_gave(tmp_path: Path):
    """Record by record, through MboxSource, against the old product path on the same file."""
    path = tmp_path / "archive.mbox"
    messages = corpus_messages() if CORPUS.is_dir() else []
    path.write_bytes(as_mbox(messages, "mboxrd") + big_mbox(200, seed=7))
    context = SyncContext(now=NOW, since=datetime(1970, 1, 2, tzinfo=UTC), until=NOW + timedelta(days=30), tz=UTC)
    records = [record for batch in MboxSource(path).sync(None, context) for record in batch.upserts]
    expected, seen = [], set()
    for from_line, headers, cut in stdlib_blocks(path):
        record = message_from_headers(headers, from_line, (), headers_cut=cut)
        if record is not None and record.item_id not in seen:
            seen.add(record.item_id)
            expected.append(record)
    assert records == expected and len(records) > 200


@pytest.mark.parametrize("shift", range(-3, 4))
@pytest.mark.parametrize("newline_before", [True, False])
def test_a_from_line_at_the_edge_of_a_read_window(tmp_path: Path, shift: int, newline_before: bool):
    """`From ` just before, at and after where one read ends and the next begins: a message
    starts there only after a newline, whichever read sees the newline."""
    window = 4096
    head = b"From a Mon Jun  1 09:00:00 2026\nSubject: a\n\n"
    at = window + shift
    filler = b"y" * (at - len(head) - 1) + (b"\n" if newline_before else b"x")
    tail = b"From b Mon Jun  1 09:00:00 2026\nSubject: b\n\n" + b"z\n" * (MAX_HEADER_BYTES + 10_000)
    path = tmp_path / "edge.mbox"
    path.write_bytes(head + filler + tail)
    blocks = assert_same_blocks(path, window)
    assert len(blocks) == (2 if newline_before else 1)
