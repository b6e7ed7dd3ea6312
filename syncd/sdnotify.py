"""The systemd notify protocol (sd_notify(3)) with the standard library only.

Outside systemd (no NOTIFY_SOCKET) every call is a no-op, so the daemon code never
asks whether it runs under systemd. A failed send is logged at debug and ignored:
losing a STATUS line must never stop a sync.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("syncd.daemon")


class Notifier:
    def __init__(self, environ: os._Environ[str] | dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or ""
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self.address = address if address.startswith(("/", "\0")) else ""
        self.watchdog_seconds = _watchdog_seconds(env)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, **fields: str | int) -> bool:
        """Send `KEY=value` lines, e.g. notify(READY=1, STATUS="syncing")."""
        if not self.address:
            return False
        message = "\n".join(f"{key}={_one_line(str(value))}" for key, value in fields.items()).encode("utf-8")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(message, self.address)
            return True
        except OSError as error:
            log.debug("sd_notify %s failed: %s", ",".join(fields), error)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify(READY=1, **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1) if self.watchdog_seconds else False

    def stopping(self, status: str | None = None) -> bool:
        return self.notify(STOPPING=1, **({"STATUS": status} if status else {}))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_seconds(env: os._Environ[str] | dict[str, str]) -> float | None:
    """WATCHDOG_USEC in seconds, when it is meant for this process (WATCHDOG_PID)."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000


def _one_line(text: str) -> str:
    return " ".join(text.split())
