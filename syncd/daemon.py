"""`syncd run`: the long-running daemon that systemd starts.

One loop, driven by `schedule`: a sync every `sync_every` (the first one at once), hold
planning daily at `plan_at` and after a sync that changed something. Between jobs it
sleeps in `select` on a signal wake-up socket until the next job is due, waking at most
every minute to notice a suspend/resume (wall clock moved, monotonic clock did not) and
to ping the systemd watchdog.

What it guarantees:
- One daemon per store (`syncd.lock.daemon_lock`); a sync cycle holds the store lock,
  so a `syncd sync` typed meanwhile waits for it.
- SIGTERM/SIGINT: when idle, it exits at once; in the middle of a sync it lets the
  current store transaction finish, abandons the rest (the next start resumes from the
  committed cursors) and exits 0. A second signal, or 5 s without leaving the
  transaction, abandons the transaction too (SQLite rolls it back).
- A failing source is retried with a growing delay (to a cap) while the others keep
  their rhythm; no error from a provider, the network or a bug in one cycle ends the
  process.
- Each turn of the loop writes a heartbeat into the store, which `daemon_info` reads
  for `syncd status` (a single job does not beat: a first sync longer than
  2 × sync_every + 60 s shows the daemon as not running until it ends).
- `--now`/SYNCD_NOW start a clock that advances with real time; `plan_at` still fires
  at the real local time of day.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import select
import signal
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from collections.abc import Callable

import schedule

from syncd.app import App
from syncd.config import Config
from syncd.engine import CycleResult
from syncd.heartbeat import META_HEARTBEAT, META_NEXT_RUN, META_PID, META_SYNC_EVERY, iso as _iso
from syncd.lock import StoreLocked, daemon_lock, store_lock
from syncd.sdnotify import Notifier
from syncd.logs import redact as _redact
from syncd.sources.base import Source
from syncd.store import Store
from syncd.timeutil import format_duration, resolve_now

log = logging.getLogger("syncd.daemon")

MAX_NAP = 60.0  # longest sleep: bounds how late a suspend/resume is noticed
CLOCK_JUMP = 30.0  # wall vs monotonic disagreement (s) that counts as a suspend or clock change
RESUME_DELAY = 5.0  # after a wake-up, give the network a moment before syncing
STOP_GRACE = 5.0  # how long a stop waits for the current store transaction to finish
STOP_TICK = 0.05
JOB_WATCHDOG_LIMIT = 3600.0  # a single job running longer than this stops feeding the watchdog
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
HEARTBEAT_BUSY_MS = 2000
STORE_BUSY_MS = 30000  # Store.open's timeout, restored after a heartbeat


class Interrupted(BaseException):
    """Raised by the stop-signal handler to abandon a job; BaseException so no `except Exception` eats it."""


# --- public helpers ------------------------------------------------------------------------


def backoff_delay(failures: int, sync_every: timedelta) -> timedelta:
    """Delay before retrying a source that failed `failures` times in a row.

    Doubles from min(sync_every, 30s) up to a cap of 32 × sync_every, at most an hour
    (never below sync_every): 15m → 30s, 1m, 2m, … 32m, 1h; 2s → 2s, 4s, … 64s.
    """
    base = min(sync_every, RETRY_BASE)
    cap = max(sync_every, min(RETRY_CAP, sync_every * 32))
    return min(base * (2 ** max(0, min(failures - 1, 30))), cap)


def run_daemon(config: Config, now_option: str | None) -> int:
    """`syncd run`. Returns 0 after a clean stop.

    Another daemon on the same store: raises StoreLocked, "another syncd is running (pid
    N)", exit code 1. Not 2: nothing is wrong with the usage or the config, the command
    ran and found the store taken (the contract's "1"). It also suits systemd: with
    Restart=on-failure a service that finds a hand-started `syncd run` retries every
    RestartSec and takes over once that one stops. A store that cannot be opened also
    ends the start with exit 1 (systemd retries); after the start nothing ends it but a
    signal.
    """
    text = now_option or os.environ.get("SYNCD_NOW")
    start = resolve_now(text, config.tz) if text else None
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)  # the daemon's own lines (no addresses) go to the journal by default
    return Daemon(config, Clock(start)).run()


# --- the daemon ----------------------------------------------------------------------------


@dataclass
class Clock:
    """Real UTC time, or `--now`/SYNCD_NOW as the start of a clock that advances with real time."""

    start: datetime | None = None
    _wall0: float = field(default_factory=time.time)

    def now(self) -> datetime:
        if self.start is None:
            return datetime.now(_dt.UTC)
        return self.start + timedelta(seconds=time.time() - self._wall0)


class Daemon:
    def __init__(self, config: Config, clock: Clock, notifier: Notifier | None = None):
        self.config = config
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.sync_every = max(config.daemon.sync_every, timedelta(seconds=1))
        self.scheduler = schedule.Scheduler()
        self.app: App | None = None
        self.store: Store | None = None
        self.sync_job: schedule.Job | None = None
        self.retry_job: schedule.Job | None = None
        # stop handling (touched by signal handlers)
        self.stop_signal: int | None = None
        self.busy = False
        self.stop_deadline = 0.0
        self.job_started = 0.0
        # backoff per source (monotonic deadlines) and for whole cycles
        self.failures: dict[str, int] = {}
        self.retry_at: dict[str, float] = {}
        self.cycle_failures = 0
        self.cycle_retry_at: float | None = None
        # clock watching
        self.last_wall = time.time()
        self.last_mono = time.monotonic()
        self.last_sync_mono: float | None = None
        self.resync_pending = False
        self.plan_pending = False
        self.last_ping = 0.0
        self.last_summary = ""
        self.summary_pending = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup_fd = -1

    # --- lifecycle -----------------------------------------------------------------------

    def run(self) -> int:
        with daemon_lock(self.config.store_path):
            self._install_signals()
            try:
                self.app = App(self.config, self.clock.now())
                self.store = self.app.store  # a store that cannot open fails the start (exit 1)
                self._schedule_jobs()
                log.info(
                    "syncd daemon started (pid %d): syncing every %s, planning holds daily at %s%s",
                    os.getpid(),
                    format_duration(self.sync_every),
                    self.config.daemon.plan_at.strftime("%H:%M"),
                    f", clock starting at {self.clock.start.isoformat()}" if self.clock.start else "",
                )
                self._heartbeat()
                self.notifier.ready("starting the first sync")
                try:
                    if self.stop_signal is None:
                        assert self.sync_job is not None
                        self.sync_job.run()  # the first sync, now; reschedules itself
                    self._loop()
                except Interrupted:
                    pass
            finally:
                self._shutdown()
                self._restore_signals()
        return 0

    def _loop(self) -> None:
        while self.stop_signal is None:
            self._check_clock()
            self.scheduler.run_pending()
            if self.stop_signal is not None:
                break
            self._schedule_retry()
            self._send_status()
            self._heartbeat()
            self._ping_watchdog()
            self._nap(self._nap_seconds())

    def _shutdown(self) -> None:
        self.scheduler.clear()
        self.notifier.stopping(f"stopping ({_signal_name(self.stop_signal)})" if self.stop_signal else "stopping")
        store = self.store
        if store is not None:
            try:
                if store.connection.in_transaction:
                    store.connection.execute("ROLLBACK")
                self._write_meta({META_HEARTBEAT: _iso(self.clock.now())}, remove=(META_PID, META_NEXT_RUN))
            except sqlite3.Error as error:
                log.debug("could not clear the heartbeat: %s", error)
        if self.app is not None:
            self.app.close()
        self.notifier.close()
        log.info("syncd daemon stopped%s", f" on {_signal_name(self.stop_signal)}" if self.stop_signal else "")

    # --- signals ------------------------------------------------------------------------

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for signum, handler in (
            (signal.SIGTERM, self._on_stop),
            (signal.SIGINT, self._on_stop),
            (signal.SIGALRM, self._on_tick),
        ):
            self._old_handlers[signum] = signal.signal(signum, handler)

    def _restore_signals(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._old_wakeup_fd)
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()

    def _on_stop(self, signum: int, frame: Any) -> None:
        first = self.stop_signal is None
        if first:
            self.stop_signal = signum
        if self.busy:
            # First signal: let the open transaction commit (up to STOP_GRACE); second: now.
            self.stop_deadline = time.monotonic() + (STOP_GRACE if first else 0.0)
            signal.setitimer(signal.ITIMER_REAL, STOP_TICK, STOP_TICK)
            self._maybe_interrupt()

    def _on_tick(self, signum: int, frame: Any) -> None:
        if self.busy and time.monotonic() - self.job_started < JOB_WATCHDOG_LIMIT:
            self._ping_watchdog()
        self._maybe_interrupt()

    def _maybe_interrupt(self) -> None:
        if not self.busy or self.stop_signal is None:
            return
        in_transaction = self.store is not None and self.store.connection.in_transaction
        if in_transaction and time.monotonic() < self.stop_deadline:
            return
        self.busy = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise Interrupted()

    def _arm_ticker(self) -> None:
        if self.stop_signal is not None:
            signal.setitimer(signal.ITIMER_REAL, STOP_TICK, STOP_TICK)
        elif self.notifier.watchdog_seconds:
            interval = self.notifier.watchdog_seconds / 2
            signal.setitimer(signal.ITIMER_REAL, interval, interval)

    # --- sleeping and the clock ---------------------------------------------------------

    def _nap_seconds(self) -> float:
        idle = self.scheduler.idle_seconds
        nap = MAX_NAP if idle is None else min(idle, MAX_NAP)
        if self.notifier.watchdog_seconds:
            nap = min(nap, self.notifier.watchdog_seconds / 2)
        return max(0.0, nap)

    def _nap(self, seconds: float) -> None:
        if self.stop_signal is not None or self._wake_r is None:
            return
        if seconds > 0:
            select.select([self._wake_r], [], [], seconds)
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _check_clock(self) -> None:
        """Notice suspend/resume and clock changes; `schedule` alone would sleep through them."""
        wall, mono = time.time(), time.monotonic()
        drift = (wall - self.last_wall) - (mono - self.last_mono)
        self.last_wall, self.last_mono = wall, mono
        if abs(drift) > CLOCK_JUMP:
            log.info(
                "the wall clock jumped %s by %s (suspend/resume or a clock change); syncing in %ds",
                "ahead" if drift > 0 else "back",
                format_duration(timedelta(seconds=int(abs(drift)))),
                RESUME_DELAY,
            )
            self.resync_pending = True
            self._sync_soon(RESUME_DELAY)
        elif (
            self.last_sync_mono is not None
            and not self.resync_pending
            and mono - self.last_sync_mono > self.sync_every.total_seconds() * 1.5 + 5
        ):
            # schedule keeps naive local times: a DST change or a clock set back can delay it
            log.info("the scheduled sync is overdue; syncing now")
            self._sync_soon(0)

    def _sync_soon(self, seconds: float) -> None:
        """Move the regular sync (only called between jobs: schedule reschedules after a run)."""
        if self.sync_job is not None:
            self.sync_job.next_run = _dt.datetime.now() + timedelta(seconds=seconds)

    # --- jobs --------------------------------------------------------------------------

    def _schedule_jobs(self) -> None:
        seconds = max(1, int(self.sync_every.total_seconds()))
        self.sync_job = self.scheduler.every(seconds).seconds.do(self._guarded, self._sync, "scheduled")
        plan_at = self.config.daemon.plan_at.strftime("%H:%M")
        self._daily(plan_at).do(self._guarded, self._plan_daily)

    def _daily(self, plan_at: str) -> schedule.Job:
        """`plan_at` in the user's time zone (pytz, when schedule needs it, is optional)."""
        zone = getattr(self.config.tz, "key", None)
        machine = getattr(_machine_tz(), "key", None)
        if zone is None or zone == machine:
            return self.scheduler.every().day.at(plan_at)
        try:
            return self.scheduler.every().day.at(plan_at, zone)
        except ImportError:
            hour, minute = map(int, plan_at.split(":"))
            today = datetime.now(self.config.tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
            local = today.astimezone().strftime("%H:%M")
            log.warning(
                "planning at %s machine time (%s %s); install pytz to follow %s across DST changes",
                local,
                plan_at,
                zone,
                zone,
            )
            return self.scheduler.every().day.at(local)

    def _guarded(self, job: Callable[..., Any], *args: Any) -> Any:
        """Run one job; a stop signal may abandon it, nothing else may escape it."""
        if self.stop_signal is not None:
            return None
        self.job_started = time.monotonic()
        self.busy = True
        self._arm_ticker()
        try:
            return job(*args)
        except Interrupted:
            log.info("stop requested: abandoned the running job; the next start resumes from the last commit")
        except Exception as error:  # a bug must not end the daemon; the next run retries
            log.error("unexpected error in %s: %s", getattr(job, "__name__", "a job"), _one_line(error))
            log.debug("traceback", exc_info=True)
        finally:
            self.busy = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        return None

    def _sync(self, reason: str, only_failing: bool = False) -> None:
        try:
            self._sync_once(reason, only_failing)
        finally:
            self.last_sync_mono = time.monotonic()

    def _sync_once(self, reason: str, only_failing: bool) -> None:
        assert self.app is not None
        mono = time.monotonic()
        self.resync_pending = False
        now = self.clock.now()
        self.app.now = now
        sources = self.app.sources
        full = not only_failing or self.cycle_retry_at is not None
        due = [
            source
            for source in sources
            if self.retry_at.get(source.name, 0.0) <= mono and (full or source.name in self.failures)
        ]
        if sources and not due:
            log.debug("%s sync: every source is backing off", reason)
            return
        try:
            with store_lock(self.config.store_path, wait=False):
                result = self._run_cycle(due, sources)
                self.cycle_failures = 0
                self.cycle_retry_at = None
                self._record(result, time.monotonic())
                if result.changed or self.plan_pending:
                    self.plan_pending = False
                    self._plan("after a sync that changed something" if result.changed else "after waking up")
        except StoreLocked as error:
            log.info("%s; skipping this %s sync", _redact(str(error)), reason)
            return
        except Exception as error:  # the store, a contacts file, a bug: log, back off, retry
            self.cycle_failures += 1
            delay = backoff_delay(self.cycle_failures, self.sync_every)
            self.cycle_retry_at = time.monotonic() + delay.total_seconds()
            log.error("sync failed: %s; retrying in %s", _redact(_one_line(error)), format_duration(delay))
            log.debug("traceback", exc_info=True)
            self.notifier.status(
                f"sync failed at {self._local(now)}: {_redact(_one_line(error))}; retrying in {format_duration(delay)}"
            )
            return
        self._report(result, len(sources) - len(due), now)

    def _run_cycle(self, due: list[Source], sources: list[Source]) -> CycleResult:
        assert self.app is not None
        return self.app.sync_sources(sources=due)

    def _record(self, result: CycleResult, mono: float) -> None:
        for outcome in result.outcomes:
            if outcome.ok:
                if self.failures.pop(outcome.name, None):
                    log.info("%s recovered", _redact(outcome.name))
                self.retry_at.pop(outcome.name, None)
                continue
            count = self.failures[outcome.name] = self.failures.get(outcome.name, 0) + 1
            delay = backoff_delay(count, self.sync_every)
            self.retry_at[outcome.name] = mono + delay.total_seconds()
            log.info(
                "%s failed %d time%s in a row; next try in %s",
                _redact(outcome.name),
                count,
                "" if count == 1 else "s",
                format_duration(delay),
            )

    def _schedule_retry(self) -> None:
        """One retry job at the earliest backed-off source, unless the regular sync comes first.

        Called between jobs, when `schedule` has set the regular sync's next run.
        """
        deadlines = list(self.retry_at.values()) + ([self.cycle_retry_at] if self.cycle_retry_at is not None else [])
        delay = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        regular = self._seconds_until(self.sync_job)
        if delay is not None and regular is not None and regular <= delay:
            delay = None  # the regular sync retries them anyway
        current = self._seconds_until(self.retry_job)
        if delay is not None and current is not None and abs(current - delay) < 1.5:
            return
        if self.retry_job is not None:
            self.scheduler.cancel_job(self.retry_job)
            self.retry_job = None
        if delay is not None:
            self.retry_job = self.scheduler.every(max(1, int(delay + 0.999))).seconds.do(self._guarded, self._retry)

    def _retry(self) -> type[schedule.CancelJob]:
        self.retry_job = None  # one-shot: the loop schedules the next one if still needed
        self._sync("retry", only_failing=True)
        return schedule.CancelJob

    def _plan_daily(self) -> None:
        if self.resync_pending:
            self.plan_pending = True  # plan after the wake-up sync, not from stale data
            return
        try:
            with store_lock(self.config.store_path, wait=False):
                self._plan("daily")
        except StoreLocked as error:
            log.info("%s; skipping the daily planning (that sync plans too)", _redact(str(error)))

    def _plan(self, reason: str) -> None:
        """Book/remove holds; the planner itself refuses while a source is failing or stale."""
        assert self.app is not None
        self.app.now = self.clock.now()
        try:
            outcome = self.app.plan_holds()
        except Exception as error:
            log.error("hold planning failed: %s", _redact(_one_line(error)))
            log.debug("traceback", exc_info=True)
            return
        summary = outcome.summary(self.config.tz)
        headline = _redact(summary.splitlines()[0]) if summary else ""
        if outcome.failed:
            log.warning("hold planning (%s): %s", reason, headline)
        else:
            (log.info if outcome.changed else log.debug)("hold planning (%s): %s", reason, headline)
        log.debug("%s", summary)

    # --- reporting ---------------------------------------------------------------------

    def _report(self, result: CycleResult, skipped: int, now: datetime) -> None:
        outcomes = result.outcomes
        ok = sum(1 for outcome in outcomes if outcome.ok)
        items = sum(outcome.items for outcome in outcomes)
        parts = [f"last sync {self._local(now)}: {ok}/{len(outcomes)} sources ok, {items} items updated"]
        if result.failed:
            parts.append(f"{len(result.failed)} failing")
        if skipped:
            parts.append(f"{skipped} backing off")
        self.last_summary = "; ".join(parts)
        self.summary_pending = True
        (log.info if result.changed or result.failed else log.debug)("%s", self.last_summary)

    def _send_status(self) -> None:
        """STATUS= once the job is over, when `schedule` has set the next run."""
        if not self.summary_pending:
            return
        self.summary_pending = False
        next_run = self._next_run_at()
        self.notifier.status(self.last_summary + (f"; next {self._local(next_run)}" if next_run else ""))

    def _local(self, value: datetime) -> str:
        return value.astimezone(self.config.tz).strftime("%H:%M:%S")

    def _seconds_until(self, job: schedule.Job | None) -> float | None:
        if job is None or job.next_run is None:
            return None
        return (job.next_run - _dt.datetime.now()).total_seconds()

    def _next_run_at(self) -> datetime | None:
        waits = [
            wait
            for wait in (self._seconds_until(self.sync_job), self._seconds_until(self.retry_job))
            if wait is not None
        ]
        if not waits:
            return None
        return self.clock.now() + timedelta(seconds=max(0.0, min(waits)))

    def _heartbeat(self) -> None:
        next_run = self._next_run_at()
        values = {
            META_PID: str(os.getpid()),
            META_HEARTBEAT: _iso(self.clock.now()),
            META_SYNC_EVERY: str(int(self.sync_every.total_seconds())),
        }
        if next_run is not None:
            values[META_NEXT_RUN] = _iso(next_run)
        try:
            self._write_meta(values)
        except sqlite3.Error as error:  # a long `syncd sync` transaction: skip this beat
            log.debug("heartbeat skipped: %s", error)

    def _write_meta(self, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        store = self.store
        if store is None:
            return
        store.connection.execute(f"PRAGMA busy_timeout = {HEARTBEAT_BUSY_MS}")
        try:
            with store.transaction() as connection:
                for key, value in values.items():
                    store.set_meta(key, value, connection)
                for key in remove:
                    connection.execute("DELETE FROM meta WHERE key = ?", (key,))
        finally:
            store.connection.execute(f"PRAGMA busy_timeout = {STORE_BUSY_MS}")

    def _ping_watchdog(self) -> None:
        if self.notifier.watchdog_seconds:
            self.notifier.watchdog()
            self.last_ping = time.monotonic()


# --- small helpers -------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _machine_tz():
    from syncd.timeutil import local_timezone

    return local_timezone()


def _signal_name(signum: int | None) -> str:
    if signum is None:
        return ""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)
