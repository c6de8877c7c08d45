"""`alertd run`: startup → main loop → shutdown.

Signal handlers only set flags and wake the loop; the loop reads the clock once per pass and
hands `now` down. When `alertd ack` or another command writes to the store, the store's change
descriptor (an inotify watch on the ledger's WAL) wakes the loop, which applies it (follow.py);
where there is no such descriptor each pass (at least every 250 ms) asks the store instead. With
`--watch`, the loop also polls the config files' metadata and, on a settled change, takes the
same reload path as SIGHUP. Exit codes: 0 after a graceful stop, 78 for an invalid config or
metrics address at start, 1 when the state directory or the ledger cannot be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from alertd.config import Config, ConfigCache, ConfigError, load_config, load_or_report
from alertd.config.secretrefs import environ
from alertd.core.display import rfc3339
from alertd.core.notification import Notification
from alertd.daemon.alarm import CLOCK_WATCH, Alarm
from alertd.daemon.engine import Engine, Steps, drive
from alertd.daemon.follow import Follower
from alertd.daemon.links import linker
from alertd.daemon.notify import Notifier
from alertd.daemon.opening import StateDirLock, open_store
from alertd.daemon.outlook import outlook
from alertd.daemon.services import Service, start_all, stop_all
from alertd.daemon.timetable import Timetable
from alertd.daemon.watch import ConfigWatch
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.registry import Sender, build_sender
from alertd.delivery.dispatch import Dispatcher
from alertd.exitcodes import EX_CONFIG, EX_FAIL, EX_OK
from alertd.logs import configure_logging
from alertd.metrics import Metrics, MetricsAddressError, MetricsServer, start_metrics_server
from alertd.redact import Redactor
from alertd.settings import Settings, resolve_state_dir
from alertd.store.base import Store, StoreError
from alertd.store.ledger import LEDGER_FILE

__all__ = ["Daemon", "run_daemon"]

JUMP_TOLERANCE = 1.0  # seconds of wall-vs-monotonic drift per tick before calling it a jump
LOGGED_PROBLEMS = 100  # a refused reload logs this many of its problems (`alertd check` shows them all)
STORE_RECHECK = 1.0  # seconds to keep asking the store after a write that showed no change yet

log = structlog.get_logger("alertd.daemon.loop")


def run_daemon(config_dir: Path, settings: Settings, services: Sequence[Service] = ()) -> int:
    # A SIGHUP before the loop runs would kill the process (its default action): remember it instead.
    early_reload: list[int] = []
    # Start-up makes a million long-lived objects and no garbage cycles worth finding: the cyclic
    # GC stays off until they are frozen at the end of `Daemon.startup` (~0.2 s at 100k deadlines).
    gc.disable()
    signal.signal(signal.SIGHUP, lambda *_: early_reload.append(1))
    # The watch's first snapshot is taken before the config is read: an edit made while it loads
    # is seen as a change (one reload too many at worst, never one too few).
    watch = ConfigWatch(config_dir, settings.watch, now=time.monotonic()) if settings.watch else None
    cache = ConfigCache()  # reloads re-read only the files that changed
    config = load_or_report(config_dir, sys.stderr, cache)
    if config is None:
        return EX_CONFIG
    # A second daemon on this ledger would send everything twice: the state directory is locked. If
    # it exists, at once (another daemon is the likeliest reason to stop); else just before the
    # ledger is made in it, so a start refused for its metrics address writes nothing.
    lock = StateDirLock(resolve_state_dir(settings), shared=settings.database_url is not None)
    if lock.dir.is_dir() and not lock.take():
        return EX_FAIL
    try:
        return _run_locked(config, settings, services, lock=lock, cache=cache, watch=watch, early_reload=early_reload)
    finally:
        lock.release()


def _run_locked(config: Config, settings: Settings, services: Sequence[Service], *, lock: StateDirLock,
                cache: ConfigCache, watch: ConfigWatch | None, early_reload: list[int]) -> int:
    redact = Redactor(config.secrets)
    configure_logging(settings.log_level, settings.log_format, redact)
    metrics = Metrics()
    server: MetricsServer | None = None
    if settings.metrics_addr is not None:
        try:
            server = start_metrics_server(settings.metrics_addr, metrics)
        except MetricsAddressError as exc:
            print(f"alertd: error: {exc}", file=sys.stderr)
            log.error("daemon.start_failed", error=str(exc))
            return EX_CONFIG
        log.info("metrics.listening", host=server.host, port=server.port, url=server.url)
    path = lock.dir / LEDGER_FILE
    try:
        if not lock.take():
            return EX_FAIL
        notifier = Notifier()
        try:
            ledger, shared = open_store(settings, path, notifier)
        except StoreError as exc:
            print(f"alertd: error: {exc}", file=sys.stderr)
            log.error("daemon.start_failed", error=str(exc), path=str(path))
            return EX_FAIL
        daemon = Daemon(config, settings, ledger, notifier, redact, metrics=metrics, watch=watch, cache=cache,
                        services=services)
        daemon.shared_hooks = shared
        daemon.reload_requested = bool(early_reload)
        try:
            return asyncio.run(daemon.run())
        except StoreError as exc:  # a row it cannot read, a database gone at start: one clear line
            print(f"alertd: error: {exc}", file=sys.stderr)
            log.error("daemon.stopped_on_ledger", error=str(exc), path=str(path))
            return EX_FAIL
        finally:
            ledger.close()
    finally:
        if server is not None:
            server.close()


def give_back_memory() -> None:
    """Return the heap freed by config loading to the system (glibc's malloc_trim).

    Parsing frees tens of MB of short-lived objects; glibc keeps freed heap for reuse, and at
    100,000 deadlines this gives ~25 MB of resident memory back. A no-op where it is unavailable."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _warm_http() -> None:
    """httpx imports its transport (anyio, h11) on the first request; doing it at start-up keeps
    ~25 ms off the first alert's delivery."""
    for name in ("httpcore._backends.anyio", "anyio._backends._asyncio", "h11"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


class _Unsendable:
    """Stands in for a channel whose sender cannot be built: every delivery fails permanently."""

    def __init__(self, error: DeliveryError) -> None:
        self.error = error

    async def send(self, note: Notification, *, now: datetime) -> None:
        raise DeliveryError(str(self.error), permanent=True)


class Daemon:
    def __init__(self, config: Config, settings: Settings, ledger: Store, notifier: Notifier,
                 redact: Redactor, *, metrics: Metrics | None = None, watch: ConfigWatch | None = None,
                 cache: ConfigCache | None = None, services: Sequence[Service] = ()) -> None:
        self.config = config
        self.config_cache = cache if cache is not None else ConfigCache()
        self.settings = settings
        self.ledger = ledger
        self.notifier = notifier
        self.redact = redact
        self.metrics = metrics if metrics is not None else Metrics()
        self.watch = watch
        self.timetable = Timetable()
        self.stop_requested = False
        self.reload_requested = False
        self._status = ""
        self.services, self.last_pass = list(services), time.monotonic()  # last_pass: the loop's last round
        self.shared_hooks: Any = None  # daemon/shared.py, `shared` its `Shared`: several instances, one PostgreSQL
        self.shared: Any = None

    @staticmethod
    def clock() -> datetime:
        return datetime.now(UTC)

    async def run(self) -> int:
        await self.startup()
        try:
            await self.main_loop()
        finally:
            await self.shutdown()
        return EX_OK

    # -- startup --------------------------------------------------------------------------------
    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal)
        loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)
        self.ctx = SendContext.create(self.redact, max_connections=self.settings.concurrency)
        self.dispatcher = (self.shared_hooks.ClaimingDispatcher if self.shared_hooks else Dispatcher)(
            self.ledger, concurrency=self.settings.concurrency, window=self.settings.catchup, clock=self.clock,
            on_retry=self._on_retry, redact=self.redact, metrics=self.metrics)
        self.dispatcher.senders, self.dispatcher.links = self._build_senders(self.config), linker(
            self.settings, self.ledger, self.redact)  # links: None unless ALERTD_PUBLIC_URL is set
        _warm_http()
        self.alarm = Alarm(self.wake.set)
        self.alarm.start()
        now = self.clock()
        self._offset = now.timestamp() - time.monotonic()
        self.engine = Engine(self.config.deadlines, ledger=self.ledger, timetable=self.timetable,
                             dispatcher=self.dispatcher, window=self.settings.catchup, metrics=self.metrics)
        self.metrics.channels_known(list(self.config.channels))
        self.follower = Follower(self.engine, window=self.settings.catchup)
        self.follower.start(now)  # starts the engine
        if self.shared_hooks is not None:
            self.shared = self.shared_hooks.Shared.start(self)  # heartbeats, sweeps, outages
        self._store_fd = self.ledger.change_fd()  # opened by the follower's start, before it read the store
        self._store_changed = False
        self._ask_store_until = 0.0  # monotonic: ask on every tick until then (a write not yet committed)
        if self._store_fd is not None:  # waited on with everything else: nothing to do while nobody writes
            loop.add_reader(self._store_fd, self._on_store_write)
        self.metrics.config_loaded(ok=True, at=now, deadlines=len(self.engine.deadlines))
        # The config's deadlines live as long as the process: keep the cyclic collector from
        # rescanning 100,000s of them on every full collection (idle CPU, pauses at midnight).
        gc.freeze()
        gc.enable()
        give_back_memory()
        self.alarm.arm(self.timetable.next_instant())
        self._record_next()
        self._status = self._status_text()
        await start_all(self.services, self)
        log.info("daemon.ready", **self._outlook(), ledger=str(self.ledger.path),
                 watch_seconds=self.watch.interval if self.watch else None)
        self.notifier.ready(self._status)  # after the line: whoever waits for READY=1 finds it logged
        if self.reload_requested:
            self.wake.set()

    def _build_senders(self, config: Config) -> dict[str, Sender]:
        senders: dict[str, Sender] = {}
        for name, channel in config.channels.items():
            try:
                senders[name] = build_sender(name, channel, self.ctx)
            except DeliveryError as exc:
                log.error("channel.unavailable", channel=name, error=str(exc))
                senders[name] = _Unsendable(exc)
        return senders

    async def tick(self) -> None:
        """One pass: read the clock once, take what is due, re-arm the alarm. On a shared database
        the engine's store calls run in the store's threads (shared.py): the loop never waits on them."""
        now = self.clock()
        offset = now.timestamp() - time.monotonic()
        if abs(offset - self._offset) > JUMP_TOLERANCE:
            log.warning("clock.jumped", seconds=round(offset - self._offset, 3))
        self._offset = offset
        if self.shared is None:
            drive(self._tick(now))
        else:  # an outage decides nothing: all is re-decided after it (StoreUnavailable → outage)
            await self.shared.drive(self._tick(now))

    def _tick(self, now: datetime) -> Steps[None]:
        if self.ledger.unwritten:
            self.ledger.retry_unwritten()  # writes a full disk refused, once it has room again
        if self._store_changed:
            self._store_changed = False
            self.follower.apply(now)  # an ack, snooze, done or reopen from another process
        elif self._store_fd is None or time.monotonic() < self._ask_store_until:
            self.follower.poll(now)  # no descriptor to wait on, or a write not yet committed: ask the store
        yield from self.engine.run_due_steps(now)
        self._arm()
        if self.engine.backlog:
            self.wake.set()  # more is due: the loop comes back after one turn of the deliveries

    def _arm(self) -> None:
        self.alarm.arm(self.timetable.next_instant())
        self._record_next()
        status = self._status_text()
        if status != self._status:
            self.notifier.status(status)
            self._status = status

    def _record_next(self) -> None:
        nxt = self.timetable.next_deadline()  # the next planned alert, as in STATUS (retries aside)
        self.metrics.scheduled(nxt[0] if nxt else None)

    def _on_store_write(self) -> None:
        """The ledger's WAL was written or closed by a writer (anyone, this process too): wake the
        loop if another process committed; else ask on each tick for a second (a write shows up
        a moment before its commit does)."""
        if self.ledger.changed():
            self._store_changed = True
            self.wake.set()
        else:
            self._ask_store_until = time.monotonic() + STORE_RECHECK

    def _on_retry(self, key: str, deadline_id: str, at: datetime) -> None:
        self.timetable.add_retry(key, deadline_id, at)
        self.wake.set()  # the loop re-arms the alarm if this retry comes first

    # -- reload ---------------------------------------------------------------------------------
    def reload(self, trigger: str = "signal") -> None:
        """Re-read the config (SIGHUP, or `trigger="watch"`); keep the running one if it is invalid."""
        self.notifier.reloading()
        if self.watch is not None:
            self.watch.rebase()  # what is about to be read; a later edit is a new change
        try:
            config = load_config(self.config.directory, env=environ(), cache=self.config_cache)
        except ConfigError as exc:
            self.redact.update(exc.secrets)
            for problem in exc.problems[:LOGGED_PROBLEMS]:
                log.error("config.reload_failed", problem=str(problem))
            log.error("config.reload_failed", errors=len(exc.errors), action="kept the running config",
                      trigger=trigger, not_logged=max(len(exc.problems) - LOGGED_PROBLEMS, 0))
            self.metrics.config_loaded(ok=False, at=self.clock())
            self.notifier.ready(self._status_text())
            return
        self.redact.update(config.secrets)
        now = self.clock()
        self.config = config
        self.dispatcher.senders = self._build_senders(config)
        self.metrics.channels_known(list(config.channels))
        added, changed, removed = self.engine.replace(config.deadlines, now)
        self._arm()
        self.metrics.config_loaded(ok=True, at=now, deadlines=len(self.engine.deadlines))
        for problem in config.warnings:
            log.warning("config.warning", problem=str(problem))
        log.info("config.reloaded", **self._outlook(), added=added, changed=changed, removed=removed,
                 files_reused=self.config_cache.reused, trigger=trigger)
        self.notifier.ready(self._status_text())

    # -- main loop ------------------------------------------------------------------------------
    def _on_stop_signal(self) -> None:
        if self.stop_requested:  # a second signal: stop waiting for in-flight deliveries
            self.dispatcher.cancel_all()
        self.stop_requested = True
        self.wake.set()

    def _on_reload_signal(self) -> None:
        self.reload_requested = True
        self.wake.set()

    async def main_loop(self) -> None:
        interval = self.notifier.watchdog_interval
        timeout = min(CLOCK_WATCH, interval) if interval else CLOCK_WATCH
        last_ping = time.monotonic()
        while not self.stop_requested:
            if self.engine.backlog:
                await asyncio.sleep(0)  # let the deliveries just started take their first steps
            with contextlib.suppress(TimeoutError):  # the timeout is the clock-watch tick
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()
            self.last_pass = time.monotonic()
            if self.stop_requested:
                break
            trigger = "signal"
            if self.watch is not None and not self.reload_requested:
                changes = self.watch.poll(time.monotonic())
                if changes is not None:
                    log.info("config.changed", **changes)
                    self.reload_requested, trigger = True, "watch"
            if self.reload_requested:
                self.reload_requested = False
                self.reload(trigger)
            await self.tick()
            if interval and time.monotonic() - last_ping >= interval * 0.9:
                self.notifier.watchdog()  # from the loop that does the work: a hung loop stops pinging
                last_ping = time.monotonic()

    # -- shutdown -------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        self.notifier.stopping()
        await stop_all(self.services)
        in_flight = len(self.dispatcher.busy)
        log.info("daemon.stopping", in_flight=in_flight, grace_seconds=self.settings.shutdown_grace)
        self.alarm.shutdown()
        loop = asyncio.get_running_loop()
        if self._store_fd is not None:
            loop.remove_reader(self._store_fd)
        cut = await self.dispatcher.drain(self.settings.shutdown_grace)
        if self.shared is not None:
            await self.shared.stop()  # leases released: the others take what is left at once
        await self.ctx.aclose()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        log.info("daemon.stopped", cut_short=cut)
        self.notifier.close()

    # -- status ---------------------------------------------------------------------------------
    def _outlook(self) -> dict[str, object]:
        return outlook(self.config, self.engine.deadlines, self.timetable.next_deadline(), now=self.clock())

    def _next_text(self) -> str | None:
        nxt = self.timetable.next_deadline()
        return f"{nxt[1]} at {rfc3339(nxt[0])}" if nxt else None

    def _status_text(self) -> str:
        nxt = self._next_text()
        return f"{len(self.engine.deadlines)} deadlines; next: {nxt or 'none'}"
