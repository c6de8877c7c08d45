"""Delivery on a shared database: claim before sending, check the lease right before, renew it.

The `ClaimingDispatcher` is the `Dispatcher` for several instances on one PostgreSQL (the store's
`Claims`, docs/high-availability.md). What the engine submits waits in a claim queue; when
delivery slots are free, ONE `claim` statement takes as many of the queued keys as there are free
slots (a 2,000-alert midnight is a handful of statements per instance, and three instances share
it), and only the keys it returns are delivered: the others are another instance's. Right before
a request leaves, `start_sending` (group-committed: one statement for every delivery that starts
in one loop turn) marks it `sending` and confirms the lease on the database's clock; a key it does
not confirm is not sent. A renewal task extends the leases of everything claimed every third of
the lease. Every store call runs in the store's thread pool, never on the loop.

A `StoreUnavailable` from any of these calls never kills a delivery task: nothing whose lease is
not confirmed is sent, queued keys go back to the engine's next pass (the daemon re-plans after an
outage), and `sent` marks that could not be written are kept and written when the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import structlog

from alertd.core.notification import Notification
from alertd.delivery.dispatch import Dispatcher
from alertd.store.base import Mark, StoreUnavailable
from alertd.store.postgres import PostgresStore

__all__ = ["ClaimMarks", "ClaimingDispatcher"]

log = structlog.get_logger("alertd.delivery.claiming")


class ClaimMarks:
    """The `sending` check-and-mark and the `sent` marks, one statement per loop turn each, in threads."""

    def __init__(self, store: PostgresStore, run: Callable[..., Any], on_outage: Callable[[Exception], None]) -> None:
        self.store = store
        self.run = run  # awaits a store call in the thread pool
        self.on_outage = on_outage
        self.unwritten: list[Mark] = []  # `sent` marks the database did not take: written when it is back
        self._starting: list[tuple[str, datetime, asyncio.Future[bool]]] = []
        self._sent: list[tuple[Mark, asyncio.Future[bool]]] = []

    async def sending(self, key: str, *, now: datetime) -> bool:
        """Whether the delivery may leave: its lease confirmed and `sending` recorded."""
        loop = asyncio.get_running_loop()
        if not self._starting:
            loop.call_soon(lambda: loop.create_task(self._flush_starting()))
        waiter: asyncio.Future[bool] = loop.create_future()
        self._starting.append((key, now, waiter))
        return await waiter

    async def _flush_starting(self) -> None:
        batch, self._starting = self._starting, []
        try:
            ours = await self.run(self.store.start_sending, [k for k, _, _ in batch], now=batch[0][1])
        except StoreUnavailable as exc:
            self.on_outage(exc)
            ours = set()
        for key, _, waiter in batch:
            if not waiter.done():
                waiter.set_result(key in ours)

    async def sent(self, key: str, *, now: datetime) -> bool:
        loop = asyncio.get_running_loop()
        if not self._sent:
            loop.call_soon(lambda: loop.create_task(self._flush_sent()))
        waiter: asyncio.Future[bool] = loop.create_future()
        self._sent.append((("sent", key, now), waiter))
        return await waiter

    async def _flush_sent(self) -> None:
        batch, self._sent = self._sent, []
        marks = [m for m, _ in batch]
        try:
            await self.run(self.store.apply_marks, marks)
        except StoreUnavailable as exc:
            self.unwritten += marks  # sent, not yet recorded: another instance may resend it (same key)
            self.on_outage(exc)
        for _, waiter in batch:
            if not waiter.done():
                waiter.set_result(True)

    async def retry_unwritten(self) -> None:
        """Write the `sent` marks kept during an outage (raises StoreUnavailable if it still lasts)."""
        if self.unwritten:
            marks = list(self.unwritten)
            await self.run(self.store.apply_marks, marks)
            del self.unwritten[:len(marks)]


class ClaimingDispatcher(Dispatcher):
    """A `Dispatcher` that sends only what it claimed (see the module's docstring)."""

    def __init__(self, store: PostgresStore, *, concurrency: int, **kw: Any) -> None:
        super().__init__(store, concurrency=concurrency, **kw)
        self.store = store
        self.concurrency = concurrency
        self.on_outage: Callable[[Exception], None] = lambda exc: None  # set by the daemon (shared.py)
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alertd-db")
        self.marks = ClaimMarks(store, self.run, self._outage)  # type: ignore[assignment]
        self.claimed: set[str] = set()  # keys whose lease this instance holds (queued for a slot or in flight)
        self._queue: dict[str, tuple[Notification, int]] = {}
        self._claiming = False
        self._renewer: asyncio.Task[None] | None = None

    def _outage(self, exc: Exception) -> None:
        self.on_outage(exc)

    async def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """A store call in the store's threads: the loop goes on while it waits."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, lambda: fn(*args, **kw))

    @property
    def free(self) -> int:
        return max(self.concurrency - len(self.claimed), 0)

    def submit(self, note: Notification, *, attempt: int) -> None:
        if not self._accepting or note.key in self.busy:
            return
        self.busy.add(note.key)
        self._queue[note.key] = (note, attempt)
        if not self._claiming:
            self._claiming = True
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: self._spawn(self._claim_queued()))  # after this turn's submits
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim_queued(self) -> None:
        try:
            while self._queue and self._accepting and self.free:
                keys = list(self._queue)[:self.free]
                try:
                    rows = await self.run(self.store.claim, keys)
                except StoreUnavailable as exc:
                    self.on_outage(exc)
                    self.drop_queue()
                    return
                ours = {r.key: r for r in rows}
                for key in keys:
                    note, attempt = self._queue.pop(key)
                    if key in ours:
                        self.claimed.add(key)
                        if ours[key].state == "sending":  # started and never confirmed: here or elsewhere
                            log.warning("alert.resend", alert_id=key, deadline=note.deadline.id, channel=note.channel,
                                        reason="crash_resend")
                        self._spawn(self._deliver_claimed(note, attempt))
                    else:
                        self.busy.discard(key)  # another instance holds it, or it is final already
                        log.debug("alert.claimed_elsewhere", alert_id=key)
        finally:
            self._claiming = False
        # slots freed while this ran are picked up by the delivery that freed them (_deliver_claimed)

    def drop_queue(self) -> None:
        """Forget what waits for a claim (an outage: the daemon re-plans when the database is back)."""
        for key in self._queue:
            self.busy.discard(key)
        self._queue.clear()

    async def _deliver_claimed(self, note: Notification, attempt: int) -> None:
        try:
            await self._deliver(note, attempt)
        finally:
            self.claimed.discard(note.key)
            if self._queue and not self._claiming and self._accepting:
                self._claiming = True
                self._spawn(self._claim_queued())

    async def _attempt(self, note: Notification, attempt: int) -> None:
        try:
            await super()._attempt(note, attempt)
        except StoreUnavailable as exc:  # a retry or give-up mark: the lease ends and a sweep takes it again
            self.on_outage(exc)

    async def _renew_forever(self) -> None:
        period = self.store.lease.total_seconds() / 3
        while self._accepting or self.claimed:
            await asyncio.sleep(period)
            keys = list(self.claimed)
            if not keys:
                continue
            try:
                await self.run(self.store.renew, keys)
            except StoreUnavailable as exc:
                self.on_outage(exc)

    async def close(self) -> None:
        """After `drain`: stop renewing, release every lease and mark this instance stopped."""
        self.drop_queue()
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        try:
            await self.run(self.store.stop)
        except StoreUnavailable as exc:
            log.warning("store.stop_failed", error=str(exc), consequence="leases end on their own within "
                        f"{self.store.lease.total_seconds():g} s")
        self.pool.shutdown(wait=False)
