"""syncd's own UID FETCH reader against a scripted IMAP server on 127.0.0.1: answer shapes Dovecot never sends."""

from __future__ import annotations

import imaplib
import socket
import threading
from contextlib import suppress
from collections.abc import Callable, Iterator

import pytest

from syncd.sources.imap_protocol import read_uid_fetch, send_uid_fetch

pytestmark = pytest.mark.slow

HEADER = b"From: ada@example.com\r\n\r\n"
_CLOSED = (imaplib.IMAP4.abort, OSError)


def _serve(listener: socket.socket, answer: Callable[[bytes, bytes], bytes]) -> None:
    connection, _ = listener.accept()
    with connection, connection.makefile("rb") as lines:
        connection.sendall(b"* OK scripted server ready\r\n")
        for line in lines:
            tag, name = line.split()[:2]
            reply = answer(tag, name.upper())
            connection.sendall(reply)
            if name.upper() == b"LOGOUT" or not reply.endswith(b"\r\n"):  # a cut answer: the server goes away
                return


@pytest.fixture
def client_of() -> Iterator[Callable[[Callable[[bytes], bytes]], imaplib.IMAP4]]:
    """A factory: an imaplib client, in a mailbox, of a server whose UID FETCH answers are `fetch(tag)`."""
    opened: list[tuple[imaplib.IMAP4, socket.socket, threading.Thread]] = []

    def make(fetch: Callable[[bytes], bytes]) -> imaplib.IMAP4:
        def answer(tag: bytes, name: bytes) -> bytes:
            if name == b"UID":
                return fetch(tag)
            untagged = {
                b"CAPABILITY": b"* CAPABILITY IMAP4rev1\r\n",
                b"EXAMINE": b"* 3 EXISTS\r\n",
                b"LOGOUT": b"* BYE\r\n",
            }
            return untagged.get(name, b"") + tag + b" OK done\r\n"

        listener = socket.create_server(("127.0.0.1", 0))
        server = threading.Thread(target=_serve, args=(listener, answer), daemon=True)
        server.start()
        client = imaplib.IMAP4("127.0.0.1", listener.getsockname()[1], timeout=5)
        client.state = "AUTH"  # the scripted server needs no login
        client.select("INBOX", readonly=True)
        opened.append((client, listener, server))
        return client

    yield make
    for client, listener, server in opened:
        with suppress(*_CLOSED):
            client.logout()
        server.join(5)
        listener.close()


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def test_answers_in_any_order_and_other_untagged_answers(client_of):
    client = client_of(
        lambda tag: (
            b"* 3 EXISTS\r\n"
            b'* 1 FETCH (FLAGS (\\Seen) UID 7 INTERNALDATE "02-Nov-2026 09:00:00 +0100" BODY[HEADER.FIELDS (FROM)] '
            + literal(HEADER)
            + b")\r\n* 2 FETCH (BODY[HEADER.FIELDS (FROM)] "
            + literal(HEADER)
            + b' UID 8 FLAGS (\\Deleted) INTERNALDATE "02-Nov-2026 10:00:00 +0000")\r\n'
            b"* 3 FETCH (FLAGS (\\Seen))\r\n"
            b'* 4 FETCH (UID 9 MODSEQ (12) FLAGS () INTERNALDATE "02-Nov-2026 11:00:00 +0000" '
            b"BODY[HEADER.FIELDS (FROM)] " + literal(HEADER) + b")\r\n" + tag + b" OK fetched\r\n"
        )
    )
    status, fetched = read_uid_fetch(client, send_uid_fetch(client, "1:*", "(UID FLAGS)")[1][0])
    assert status == "OK"
    assert [(item.uid, sorted(item.flags), item.headers) for item in fetched] == [
        (7, ["\\seen"], HEADER),
        (8, ["\\deleted"], HEADER),
        (9, [], HEADER),
    ]
    assert [item.internaldate.isoformat() for item in fetched if item.internaldate] == [
        "2026-11-02T08:00:00+00:00",
        "2026-11-02T10:00:00+00:00",
        "2026-11-02T11:00:00+00:00",
    ]
    assert client.tagged_commands == {}


def test_pipelined_commands_are_answered_in_order_and_a_refusal_is_its_status(client_of):
    answered: list[bytes] = []

    def fetch(tag: bytes) -> bytes:
        answered.append(tag)
        if len(answered) == 1:
            return b"* 1 FETCH (UID 1 FLAGS ())\r\n" + tag + b" OK fetched\r\n"
        return tag + b" NO [SERVERBUG] try again later\r\n"

    client = client_of(fetch)
    first = send_uid_fetch(client, "1:5000", "(UID FLAGS)")[1][0]
    second = send_uid_fetch(client, "5001:10000", "(UID FLAGS)")[1][0]
    assert [item.uid for item in read_uid_fetch(client, first)[1]] == [1]
    assert read_uid_fetch(client, second) == ("NO", [b"[SERVERBUG] try again later"])
    assert answered == [first, second]


def test_a_connection_closed_mid_answer_is_imaplibs_abort(client_of):
    client = client_of(lambda tag: b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM)] {50}\r\nFrom: ada")
    tag = send_uid_fetch(client, "1:*", "(UID FLAGS)")[1][0]
    with pytest.raises(imaplib.IMAP4.abort, match="EOF"):
        read_uid_fetch(client, tag)
