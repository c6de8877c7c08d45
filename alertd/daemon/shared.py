"""`alertd run` on a shared PostgreSQL: opening it, heartbeats, the sweep, and riding out outages.

With `ALERTD_DATABASE_URL` set, any number of instances with the same config share one database
and send each delivery once (docs/high-availability.md). The loop stays the one in loop.py; this
module adds what several instances need around it:

- `open_shared`: connect (retrying with backoff while the database does not answer; READY waits,
  `STATUS=` says why), migrate the schema and register this instance;
- `Shared`: every 2 s a heartbeat (a warning when this host's clock is more than 2 s off the
  database's), every 1 s a sweep that takes over expired or never-taken claims whose instant has
  passed (a dead or frozen instance's work) and hands them to the engine, which decides them as
  its own; and the outage state: the first `StoreUnavailable` logs `store.unavailable` once, the
  loop stops deciding (nothing is sent whose lease is not confirmed), the heartbeat keeps trying
  with backoff, and when it answers again `store.restored` is logged and every deadline is
  decided anew: what fell due meanwhile is recorded, claimed and sent once, late.

Every call made here runs in the dispatcher's thread pool, and so do the engine's own reads and
writes (`Shared.drive`: the engine yields its store calls, engine.py), one engine pass at a time:
the loop never waits on the database, and the first call that meets an outage blocks a worker
thread, not the loop. The follower's reads (acks from other processes) stay on the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from alertd.core.model import Deadline
from alertd.daemon.engine import Engine, Steps
from alertd.daemon.follow import Follower
from alertd.daemon.notify import Notifier
from alertd.delivery.claiming import ClaimingDispatcher
from alertd.settings import Settings, resolve_instance
from alertd.store.base import StoreError, StoreUnavailable
from alertd.store.postgres import PostgresStore

__all__ = ["BEAT_STALE", "CLOCK_OFFSET", "HEARTBEAT", "SWEEP", "ClaimingDispatcher", "Shared", "open_shared"]

HEARTBEAT = 2.0  # seconds between heartbeats (and between reconnect attempts during an outage, at most)
SWEEP = 1.0  # seconds between sweeps
BEAT_STALE = 15.0  # seconds since the last heartbeat that got through: past this the store counts as down
CLOCK_OFFSET = timedelta(seconds=2)  # this host's clock further than this from the database's: a warning
_OPEN_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)

log = structlog.get_logger("alertd.daemon.shared")


def open_shared(settings: Settings, notifier: Notifier) -> PostgresStore:
    """Connect, migrate and register, waiting for the database as long as it takes. Raises
    StoreError when it can never work (a bad URL, another schema, a name in use)."""
    url = settings.database_url.get_secret_value() if settings.database_url is not None else ""
    instance = resolve_instance(settings)
    attempt = 0
    while True:
        try:
            store = PostgresStore.open(url, instance=instance)
            break
        except StoreUnavailable as exc:
            wait = _OPEN_BACKOFF[min(attempt, len(_OPEN_BACKOFF) - 1)]
            if attempt == 0:
                log.error("store.unavailable", error=str(exc), action="waiting for the database",
                          instance=instance)
            notifier.status(f"waiting for the database: {exc}")
            attempt += 1
            time.sleep(wait)
    try:
        beat = store.register()
    except StoreError:
        store.close()
        raise
    log.info("store.registered", database=store.display, instance=instance, lease_seconds=store.lease.total_seconds(),
             clock_offset_seconds=round(beat.offset.total_seconds(), 3))
    return store  # (a clock further off than CLOCK_OFFSET is warned of at the first heartbeat)


def _warn_offset(offset: timedelta) -> None:
    log.warning("clock.offset", seconds=round(offset.total_seconds(), 3),
                consequence="leases use the database's clock, so sending stays once; this host's times in "
                            "logs and messages are off")


class Shared:
    """The daemon's part on a shared database: heartbeats, sweeps, outages (module docstring)."""

    def __init__(self, store: PostgresStore, *, engine: Engine, follower: Follower, dispatcher: ClaimingDispatcher,
                 clock: Callable[[], datetime], wake: Callable[[], None]) -> None:
        self.store = store
        self.engine = engine
        self.follower = follower
        self.dispatcher = dispatcher
        self.clock = clock
        self.wake = wake
        self.down_since: float | None = None  # monotonic; None: the database answers
        self.beat_at = time.monotonic()  # the last heartbeat that got through (registering was one)
        self._offset_warned = False
        self._tasks: list[asyncio.Task[None]] = []
        self._engine_turn = asyncio.Lock()  # one engine pass at a time: their store calls wait in threads
        engine.claims_resends = True
        dispatcher.on_outage = self.outage

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def health(self) -> dict[str, Any]:
        """For /healthz, without a round trip: the store is alive when the last heartbeat got through
        less than BEAT_STALE seconds ago and no call has found the database unreachable since."""
        ago = time.monotonic() - self.beat_at
        out: dict[str, Any] = {"store": self.down_since is None and ago < BEAT_STALE, "instance": self.store.instance,
                               "heartbeat_seconds_ago": round(ago, 3)}
        if self.down_since is not None:
            out["store_error"] = "StoreUnavailable"
        return out

    @classmethod
    def start(cls, daemon: Any) -> Shared:
        """Attach to a started `Daemon` (loop.py) and run its heartbeats and sweeps."""
        shared = cls(daemon.ledger, engine=daemon.engine, follower=daemon.follower, dispatcher=daemon.dispatcher,
                     clock=daemon.clock, wake=daemon.wake.set)
        loop = asyncio.get_running_loop()
        shared._tasks = [loop.create_task(shared._heartbeats()), loop.create_task(shared._sweeps())]
        return shared

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.close()

    def outage(self, exc: Exception) -> None:
        """A call could not reach the database: logged once per outage; the loop stops deciding."""
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("store.unavailable", error=str(exc), database=self.store.display,
                      action="sending nothing whose lease is not confirmed; retrying; what falls due meanwhile "
                             "is sent when the database is back")
            self.dispatcher.drop_queue()

    async def drive(self, steps: Steps[None], *, recovering: bool = False) -> None:
        """Run an engine pass with its store calls in the store's threads (nothing while the store is
        down, unless `recovering`: then StoreUnavailable is raised). Each call is awaited before the
        pass goes on: a row is recorded before it is handed over, and passes do not interleave."""
        if self.down_since is not None and not recovering:
            steps.close()
            return
        async with self._engine_turn:
            try:
                fn, args, kw = next(steps)
                while True:
                    fn, args, kw = steps.send(await self.dispatcher.run(fn, *args, **kw))
            except StopIteration:
                return
            except StoreUnavailable as exc:
                steps.close()
                if recovering:
                    raise
                self.outage(exc)

    async def _heartbeats(self) -> None:
        failures = 0
        while True:
            try:
                beat = await self.dispatcher.run(self.store.heartbeat)
            except StoreUnavailable as exc:
                self.outage(exc)
                failures += 1
                await asyncio.sleep(min(HEARTBEAT, 0.5 * failures))
                continue
            except StoreError as exc:  # not an outage (a statement refused): said, and tried again
                log.error("store.heartbeat_failed", error=str(exc))
                await asyncio.sleep(HEARTBEAT)
                continue
            failures = 0
            self.beat_at = time.monotonic()
            over = abs(beat.offset) > CLOCK_OFFSET  # warned of once, again only after it was back within bounds
            if over and not self._offset_warned:
                _warn_offset(beat.offset)
            self._offset_warned = over
            if self.down_since is not None:
                await self._recover()
            await asyncio.sleep(HEARTBEAT if self.down_since is None else 0.5)

    async def _recover(self) -> None:
        """The database answers again: write what was kept, then decide every deadline anew."""
        try:
            await self.dispatcher.marks.retry_unwritten()
            now = self.clock()
            await self.drive(self.engine.replan_steps(list(self.engine.deadlines.values()), now), recovering=True)
            self.follower.apply(now)
        except StoreError:  # (StoreUnavailable: still down) the next heartbeat tries again
            return
        seconds = round(time.monotonic() - (self.down_since or time.monotonic()), 3)
        self.down_since = None
        log.warning("store.restored", database=self.store.display, down_seconds=seconds)
        self.wake()

    async def _sweeps(self) -> None:
        while True:
            await asyncio.sleep(SWEEP)
            if self.down_since is not None or not self.dispatcher.free:
                continue
            try:
                rows = await self.dispatcher.run(self.store.sweep, limit=self.dispatcher.free)
                if rows:
                    await self.take_over(rows)
            except StoreUnavailable as exc:
                self.outage(exc)
            except StoreError as exc:
                log.error("store.sweep_failed", error=str(exc))

    async def take_over(self, rows: list[Any]) -> None:
        """Swept rows are decided like this instance's own; rows of deadlines its config does not
        hold (another instance's newer config, during a rollout) are released at once."""
        now = self.clock()
        mine: dict[str, Deadline] = {}
        foreign = []
        for row in rows:
            d = self.engine.deadlines.get(row.deadline_id)
            if d is None or d.due != row.due or row.channel not in d.all_channels:
                foreign.append(row.key)
            elif row.action_id is not None:
                self.follower.resume(d, row, now)
            else:
                mine[d.id] = d
        log.info("store.took_over", rows=len(rows), keys=[r.key for r in rows][:20], released=len(foreign))
        if foreign:
            await self.dispatcher.run(self.store.release, foreign)
        if mine:
            await self.drive(self.engine.decide_steps(list(mine.values()), now))
