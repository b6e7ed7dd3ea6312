"""`syncd run`: the loop that asks `timing.decide` what is due, does it, and sleeps until the next thing.

What it guarantees:
- One daemon per store (`syncd.lock.daemon_lock`); a sync cycle holds the store lock,
  so a `syncd sync` typed meanwhile waits for it, and a daemon cycle meeting one skips.
- SIGTERM/SIGINT end it cleanly (see `signals`); SIGHUP and an edited config file
  reload the config between cycles, and an invalid one keeps the old config running
  with the reason in `status`. A store deleted or replaced under it is reopened.
- A failing source is retried with a growing delay (to a cap) while the others keep
  their rhythm; no error from a provider, the network, the store or a bug ends it.
- Each turn writes a heartbeat and the next sync time into the store for `syncd status`.
- Time comes from an injected clock and sleep: tests run it in-process, without waiting.
  It wakes at least every MAX_NAP to notice a suspend/resume (the wall clock moved, the
  monotonic one did not), an edited config or a vanished store, and to feed the watchdog.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from syncd.app import App
from syncd.config import Config, load_config
from syncd.daemon.clock import DaemonClock
from syncd.daemon.signals import Interrupted, Signals, signal_name
from syncd.daemon.status import StatusWriter
from syncd.daemon.timing import (
    Action,
    Do,
    TimingState,
    after_cycle_failure,
    after_plan,
    after_skipped_sync,
    after_sync,
    after_wake,
    backoff_delay,
    decide,
    reconfigured,
)
from syncd.daemon.watch import ConfigFingerprint, FileIdentity
from syncd.errors import SyncdError, first_line, first_line_of
from syncd.holds import HoldOutcome
from syncd.lock import StoreLocked, daemon_lock, store_lock
from syncd.logs import redact
from syncd.network_report import write_page
from syncd.sdnotify import Notifier
from syncd.store import Store
from syncd.timeutil import format_duration

log = logging.getLogger("syncd.daemon")

MAX_NAP = 60.0  # longest sleep: bounds how late a suspend/resume, a config edit or a lost store is noticed
CLOCK_JUMP = 30.0  # wall vs monotonic disagreement (s) that counts as a suspend or clock change
MAX_ACTIONS_PER_TURN = 8  # every action moves its deadline past now; this only guards against a bug spinning


class Daemon:
    """One daemon on one store: the loop, what it looks at between cycles, and the jobs it runs."""

    def __init__(
        self,
        config: Config,
        clock: DaemonClock,
        sleep: Callable[[float], None] | None = None,
        notifier: Notifier | None = None,
        handle_signals: bool = True,
    ) -> None:
        """`sleep(seconds)` defaults to a nap that any signal ends; tests pass one that advances a fake clock."""
        self.config = config
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.handle_signals = handle_signals
        self.signals = Signals(self._in_transaction, self._ping_watchdog, self.notifier.watchdog_seconds)
        self.sleep = sleep or self.signals.nap
        self.app: App | None = None
        self.store: Store | None = None
        self.store_identity: FileIdentity | None = None
        self.config_print = ConfigFingerprint.of(config.path) if config.path else None
        self.status = StatusWriter(lambda: self.store, config.tz, self.notifier)
        started = clock.now()
        self.timing = TimingState(
            sync_every=_sync_every(config), plan_at=config.daemon.plan_at, zone=config.tz, started_at=started
        )
        self.wake_at = started
        self.last_wall = started
        self.last_mono = clock.monotonic()

    # --- lifecycle -----------------------------------------------------------------------

    def run(self) -> int:
        """Until a stop signal (or `request_stop`). A store that cannot open at start raises SyncdError (exit 1)."""
        with daemon_lock(self.config.store_path):
            if self.handle_signals:
                self.signals.install()
            try:
                self._open_store()
                self.timing = replace(self.timing, sources=tuple(source.name for source in self._app().sources))
                log.info(
                    "syncd daemon started (pid %d): syncing every %s, planning holds daily at %s",
                    os.getpid(),
                    format_duration(self.timing.sync_every),
                    self.timing.plan_at.strftime("%H:%M"),
                )
                self.status.heartbeat(self.clock.now(), self.clock.now(), self.timing.sync_every)
                self.notifier.ready("starting the first sync")
                try:
                    while self.signals.stop_signal is None:
                        self.step()
                        if self.signals.stop_signal is not None:
                            break
                        self.sleep(self._nap_seconds())
                except Interrupted:
                    pass
            finally:
                self._shutdown()
                if self.handle_signals:
                    self.signals.restore()
        return 0

    def request_stop(self, signum: int) -> None:
        """What SIGTERM does, for a daemon run in-process."""
        self.signals.on_stop(signum)

    def request_reload(self) -> None:
        """What SIGHUP does, for a daemon run in-process."""
        self.signals.on_reload(0)

    def step(self) -> None:
        """One turn: look around (clock, config, store), do what is due, write the heartbeat."""
        for look in (self._notice_clock_jump, self._notice_config_change, self._notice_store_replaced):
            try:
                look()
            except Exception as error:  # looking around must never end the daemon; the next turn looks again
                log.error("%s failed: %s", look.__name__.strip("_").replace("_", " "), redact(first_line(error)))
                log.debug("traceback", exc_info=True)
        decision = decide(self.timing, self.clock.now())
        for _ in range(MAX_ACTIONS_PER_TURN):
            if not decision.actions or self.signals.stop_signal is not None:
                break
            for action in decision.actions:
                self._guarded(action)
            decision = decide(self.timing, self.clock.now())
        now = self.clock.now()
        self.wake_at = decision.wake_at
        self.status.send(decision.next_sync_at)
        self.status.heartbeat(now, decision.next_sync_at, self.timing.sync_every)
        self._ping_watchdog()

    def _shutdown(self) -> None:
        stopping = signal_name(self.signals.stop_signal)
        self.notifier.stopping(f"stopping ({stopping})" if stopping else "stopping")
        self.status.stopped(self.clock.now())
        self._close_app()
        self.notifier.close()
        log.info("syncd daemon stopped%s", f" on {stopping}" if stopping else "")

    def _nap_seconds(self) -> float:
        nap = min((self.wake_at - self.clock.now()).total_seconds(), MAX_NAP)
        if self.notifier.watchdog_seconds:
            nap = min(nap, self.notifier.watchdog_seconds / 2)
        return max(0.0, nap)

    # --- looking around between cycles ---------------------------------------------------

    def _notice_clock_jump(self) -> None:
        """A suspend/resume or a clock change: the wall clock moved unlike the monotonic one."""
        wall, mono = self.clock.now(), self.clock.monotonic()
        drift = (wall - self.last_wall).total_seconds() - (mono - self.last_mono)
        self.last_wall, self.last_mono = wall, mono
        if abs(drift) > CLOCK_JUMP:
            log.info(
                "the wall clock jumped %s by %s (suspend/resume or a clock change); syncing soon",
                "ahead" if drift > 0 else "back",
                format_duration(timedelta(seconds=int(abs(drift)))),
            )
            self.timing = after_wake(self.timing, wall)

    def _notice_config_change(self) -> None:
        path = self.config.path
        hup, self.signals.reload_requested = self.signals.reload_requested, False
        if path is None:
            return
        current = ConfigFingerprint.of(path)
        if not hup and current == self.config_print:
            return
        if not hup and self.config_print is not None and self.config_print.same_content(current):
            self.config_print = current  # touched, not changed
            return
        self.config_print = current  # a bad edit is reported once, not on every turn
        reason = "on SIGHUP" if hup else "after the config file changed"
        try:
            config = load_config(path, explicit=True)
            if config.store_path != self.config.store_path:
                raise SyncdError(f"{path}: [store] path changed; restart syncd to move to another store")
            app = App(config, self.clock.now())
            sources = tuple(source.name for source in app.sources)
        except (SyncdError, ValueError, OSError) as error:
            message = redact(first_line(error))
            log.error("config not reloaded %s, keeping the running one: %s", reason, message)
            self.status.config_error(message)
            return
        self._close_app()
        self.app, self.config = app, config
        self.timing = reconfigured(self.timing, _sync_every(config), config.daemon.plan_at, config.tz, sources)
        self.status.zone = config.tz
        log.info("config reloaded %s: %d sources, syncing now", reason, len(sources))
        self._open_store()  # may fail like any open; the sync it asks for retries with backoff
        self.status.config_error(None)

    def _notice_store_replaced(self) -> None:
        if self.store is None:
            return  # not open (it failed to reopen): the next sync tries again
        identity = FileIdentity.of(self.config.store_path)
        if identity == self.store_identity:
            return
        what = "deleted" if identity is None else "replaced"
        log.warning("the store %s was %s under the daemon; reopening it", self.config.store_path, what)
        self._close_app()
        try:
            self._open_store()
        except SyncdError as error:
            log.error("%s; retrying on the next cycle", first_line(error))
        self.timing = replace(self.timing, last_sync_at=None)  # fill the new store at once

    def _open_store(self) -> App:
        app = self._app()
        if self.store is None:
            self.store = app.store  # opens it; a new store is created if there is none
            self.store_identity = FileIdentity.of(self.config.store_path)
        return app

    def _close_app(self) -> None:
        if self.app is not None:
            self.app.close()
        self.app = self.store = None

    def _app(self) -> App:
        if self.app is None:
            self.app = App(self.config, self.clock.now())
        return self.app

    # --- jobs ---------------------------------------------------------------------------

    def _guarded(self, action: Action) -> None:
        """Run one action; a stop signal may abandon it, nothing else may escape it."""
        if self.signals.stop_signal is not None:
            return
        now = self.clock.now()
        self.signals.begin_job()
        try:
            if action.do is Do.PLAN:
                self._plan(action, now)
            else:
                self._sync(action, now)
        except Interrupted:
            log.info("stop requested: abandoned the running job; the next start resumes from the last commit")
        except Exception as error:  # a bug must not end the daemon; back off and retry
            log.error("unexpected error in the %s job: %s", action.do.value, redact(first_line(error)))
            log.debug("traceback", exc_info=True)
            if action.do is not Do.PLAN:  # `_plan` folds itself into the timing before it starts
                self.timing = after_cycle_failure(self.timing, action, now)
        finally:
            self.signals.end_job()

    def _sync(self, action: Action, now: datetime) -> None:
        try:
            app = self._open_store()
            app.now = now
            by_name = {source.name: source for source in app.sources}
            due = [by_name[name] for name in action.sources if name in by_name]
            if by_name and not due:
                log.debug("%s sync: every source is backing off", action.reason)
                self.timing = after_skipped_sync(self.timing, action, now)
                return
            with store_lock(self.config.store_path, wait=False):
                result = app.sync_sources(sources=due)
        except StoreLocked as error:
            log.info("%s; skipping this %s sync", redact(str(error)), action.reason)
            self.timing = after_skipped_sync(self.timing, action, now)
            return
        except Exception as error:  # the store, a contacts file: log, back off, retry
            self.timing = after_cycle_failure(self.timing, action, now)
            delay = backoff_delay(self.timing.cycle_failures, self.timing.sync_every)
            message = redact(first_line(error))
            log.error("sync failed: %s; retrying in %s", message, format_duration(delay))
            log.debug("traceback", exc_info=True)
            self.status.sync_failed(now, message, delay)
            return
        before = self.timing.failures
        self.timing = after_sync(self.timing, action, now, {o.name: o.ok for o in result.outcomes}, result.changed)
        for outcome in result.outcomes:
            count = self.timing.failures.get(outcome.name)
            if count is None:
                if outcome.name in before:
                    log.info("%s recovered", redact(outcome.name))
                continue
            delay = self.timing.retry_at[outcome.name] - now
            plural = "" if count == 1 else "s"
            log.info(
                "%s failed %d time%s in a row; next try in %s",
                redact(outcome.name),
                count,
                plural,
                format_duration(delay),
            )
        self.status.synced(now, result, len(by_name) - len(due))

    def _plan(self, action: Action, now: datetime) -> None:
        """Book/remove holds; the planner itself refuses while a source is failing or stale."""
        self.timing = after_plan(self.timing, action, now)
        app = self._open_store()
        app.now = now
        try:
            with store_lock(self.config.store_path, wait=False):
                outcome = app.plan_holds()
        except StoreLocked as error:
            log.info("%s; skipping the %s planning (that sync plans too)", redact(str(error)), action.reason)
            return
        summary = outcome.summary(self.config.tz)
        headline = redact(first_line_of(summary))
        if outcome.failed:
            log.warning("hold planning (%s): %s", action.reason, headline)
        else:
            (log.info if outcome.changed else log.debug)("hold planning (%s): %s", action.reason, headline)
        log.debug("%s", summary)
        if self.config.report.html is not None:
            self._write_report_page(app, self.config.report.html, outcome)

    def _write_report_page(self, app: App, path: Path, outcome: HoldOutcome) -> None:
        """`[report] html`: the page follows each planning run (whose outcome explains missing holds);
        failing to write it never stops the daemon."""
        try:
            write_page(app, path, outcome)
        except (OSError, sqlite3.Error, SyncdError) as error:
            log.warning("report page %s: %s", path, redact(first_line(error)))

    # --- signals' view of the daemon --------------------------------------------------------

    def _in_transaction(self) -> bool:
        return self.store is not None and self.store.connection.in_transaction

    def _ping_watchdog(self) -> None:
        if self.notifier.watchdog_seconds:
            self.notifier.watchdog()


def _sync_every(config: Config) -> timedelta:
    return max(config.daemon.sync_every, timedelta(seconds=1))
