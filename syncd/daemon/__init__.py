"""The long-running daemon (`syncd run`): pure timing decisions, an injectable loop, signals and status."""

from __future__ import annotations

import logging
import os

from syncd.config import Config
from syncd.daemon.clock import Clock
from syncd.daemon.runner import Daemon
from syncd.timeutil import resolve_now

log = logging.getLogger("syncd.daemon")


def run_daemon(config: Config, now_option: str | None) -> int:
    """`syncd run`. Returns 0 after a clean stop.

    Another daemon on the same store: raises StoreLocked, "another syncd is running (pid
    N)", exit code 1. Not 2: nothing is wrong with the usage or the config, the command
    ran and found the store taken. It also suits systemd: with Restart=on-failure a
    service that finds a hand-started `syncd run` retries every RestartSec and takes over
    once that one stops. A store that cannot be opened also ends the start with exit 1;
    after the start nothing ends it but a signal. `--now`/SYNCD_NOW start a clock that
    advances with real time.
    """
    fixed = bool(now_option or os.environ.get("SYNCD_NOW"))
    start = resolve_now(now_option, config.tz) if fixed else None  # its precedence, and its error naming the setting
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # the daemon's own lines (no addresses) go to the journal by default
    return Daemon(config, Clock(start)).run()


__all__ = ["Clock", "Daemon", "run_daemon"]
