"""The stdlib HTTP handler: bytes in, FakeGoogle.dispatch(), bytes out.

Kept apart from the API logic so the same dispatch() serves batch parts.
"""

from __future__ import annotations

import socket
import struct
from http.server import BaseHTTPRequestHandler

RESET = object()  # dispatch() result: close the socket without answering


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 30

    def log_message(self, format, *args):  # noqa: A002 - quiet test output
        pass

    def setup(self):
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to every keep-alive exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length and hasattr(socket, "TCP_QUICKACK"):
            # The client holds the body back until its headers are ACKed (Nagle).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = self.server.fake.dispatch(self.command, self.path, headers, body)
        if resp is RESET:
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = resp.payload()
        self.send_response(resp.status)
        if payload:
            self.send_header("Content-Type", resp.content_type())
        for name, value in resp.headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n" + payload)  # headers and body in one write
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
