"""A TCP relay on 127.0.0.1 in front of a real server: it records what clients send, and can
drop the connection in the middle of an answer (a server or network failing mid-FETCH), or
hide words from the server's answers (a server without an extension)."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class Proxy:
    """Relays 127.0.0.1:`port` to 127.0.0.1:`target`.

    `sent` holds every line a client sent, in order. With `cut_on`, once a client line
    contains it, only `cut_after` more bytes of the server's answer are relayed and then
    both sides are closed. Every word in `hide` is removed from what the server sends.
    """

    def __init__(self, target: int, cut_on: bytes | None = None, cut_after: int = 40, hide: tuple[bytes, ...] = ()):
        self.target = target
        self.cut_on = cut_on
        self.cut_after = cut_after
        self.hide = hide
        self.sent: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            cut = threading.Event()
            self._start(self._client_to_server, client, server, cut)
            self._start(self._server_to_client, server, client, cut)

    def _client_to_server(self, client: socket.socket, server: socket.socket, cut: threading.Event) -> None:
        pending = b""
        with suppress(OSError):
            while data := client.recv(65536):
                pending += data
                *lines, pending = pending.split(b"\r\n")
                self.sent += lines
                if self.cut_on and any(self.cut_on in line for line in lines):
                    cut.set()
                server.sendall(data)
        _close(client, server)

    def _server_to_client(self, server: socket.socket, client: socket.socket, cut: threading.Event) -> None:
        pending = b""  # with `hide`, whole lines only, so a word split across reads is still found
        with suppress(OSError):
            while data := server.recv(65536):
                if cut.is_set():
                    client.sendall(data[: self.cut_after])
                    break
                if self.hide:
                    buffered = pending + data
                    end = buffered.rfind(b"\n") + 1
                    data, pending = buffered[:end], buffered[end:]
                    for word in self.hide:
                        data = data.replace(b" " + word, b"")
                client.sendall(data)
        _close(client, server)

    def commands(self) -> list[str]:
        """The IMAP command names clients sent (`UID FETCH` counts as FETCH)."""
        names = []
        for line in self.sent:
            parts = line.decode("ascii", "replace").split()
            if len(parts) >= 2:
                names.append(parts[2].upper() if parts[1].upper() == "UID" and len(parts) > 2 else parts[1].upper())
        return names

    def close(self) -> None:
        """Stop accepting. The listener is shut down before it is closed: a close alone does not
        wake the thread blocked in accept(), which would then accept on whatever socket reuses
        the descriptor (another relay's)."""
        _close(self._listener)
        self._threads[0].join(timeout=5)


def _close(*sockets: socket.socket) -> None:
    for item in sockets:
        with suppress(OSError):
            item.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            item.close()
