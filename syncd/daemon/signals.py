"""Signals for the daemon: SIGTERM/SIGINT stop it, SIGHUP asks for a config reload, and sleeping wakes on any of them.

A stop while idle ends the nap at once. A stop in the middle of a job lets the current
store transaction finish (up to STOP_GRACE), then abandons the job by raising
`Interrupted` from the handler; a second signal abandons it at once (SQLite rolls the
transaction back). SIGALRM ticks while a job runs, to feed the systemd watchdog and to
check whether the transaction has ended.
"""

from __future__ import annotations

import select
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

STOP_GRACE = 5.0  # how long a stop waits for the current store transaction to finish
STOP_TICK = 0.05
JOB_WATCHDOG_LIMIT = 3600.0  # a single job running longer than this stops feeding the watchdog


class Interrupted(BaseException):
    """Raised by the stop-signal handler to abandon a job; BaseException so no `except Exception` eats it."""


class Signals:
    def __init__(
        self,
        in_transaction: Callable[[], bool],
        ping_watchdog: Callable[[], None],
        watchdog_seconds: float | None,
    ) -> None:
        self.in_transaction = in_transaction
        self.ping_watchdog = ping_watchdog
        self.watchdog_seconds = watchdog_seconds
        self.stop_signal: int | None = None
        self.reload_requested = False
        self.busy = False
        self.stop_deadline = 0.0
        self.job_started = 0.0
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup_fd = -1

    def install(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for signum, handler in (
            (signal.SIGTERM, self.on_stop),
            (signal.SIGINT, self.on_stop),
            (signal.SIGHUP, self.on_reload),
            (signal.SIGALRM, self.on_tick),
        ):
            self._old_handlers[signum] = signal.signal(signum, handler)

    def restore(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers.clear()
        if self._wake_w is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._wake_r = self._wake_w = None

    def on_stop(self, signum: int, frame: Any = None) -> None:
        first = self.stop_signal is None
        if first:
            self.stop_signal = signum
        if self.busy:
            self.stop_deadline = time.monotonic() + (STOP_GRACE if first else 0.0)
            signal.setitimer(signal.ITIMER_REAL, STOP_TICK, STOP_TICK)
            self.maybe_interrupt()

    def on_reload(self, signum: int, frame: Any = None) -> None:
        self.reload_requested = True  # acted on between cycles, never inside one

    def on_tick(self, signum: int, frame: Any = None) -> None:
        if self.busy and time.monotonic() - self.job_started < JOB_WATCHDOG_LIMIT:
            self.ping_watchdog()
        self.maybe_interrupt()

    def maybe_interrupt(self) -> None:
        if not self.busy or self.stop_signal is None:
            return
        if self.in_transaction() and time.monotonic() < self.stop_deadline:
            return
        self.busy = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise Interrupted()

    def begin_job(self) -> None:
        self.job_started = time.monotonic()
        self.busy = True
        if self.stop_signal is not None:
            signal.setitimer(signal.ITIMER_REAL, STOP_TICK, STOP_TICK)
        elif self.watchdog_seconds:
            interval = self.watchdog_seconds / 2
            signal.setitimer(signal.ITIMER_REAL, interval, interval)

    def end_job(self) -> None:
        self.busy = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def nap(self, seconds: float) -> None:
        """Sleep up to `seconds`; any signal (stop, reload) ends the nap early."""
        if self.stop_signal is not None or self.reload_requested or self._wake_r is None:
            return
        if seconds > 0:
            select.select([self._wake_r], [], [], seconds)
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, InterruptedError):
            pass


def signal_name(signum: int | None) -> str:
    if signum is None:
        return ""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)
