"""Delivery: concurrent, bounded, recorded, retried.

Each delivery is recorded `sending` before the request leaves and `sent` after the receiver
accepted it. A failure is retried with exponential backoff and jitter (or after the receiver's
`Retry-After`) until the deadline (for a repeat, step or notice: its own instant) is more than
the catch-up window past; the retry instant is
kept in the ledger (`next_retry_at`), so retries survive a restart. A give-up is logged as
`alert.failed` with its reason and kept in the ledger.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from alertd.core.catchup import effective_window
from alertd.core.display import rfc3339
from alertd.core.links import Linker
from alertd.core.notification import ALERT_KINDS, Notification
from alertd.core.state import Hold
from alertd.delivery.channels.base import RETRY_AFTER_CAP, DeliveryError, error_text
from alertd.delivery.channels.registry import Sender
from alertd.metrics import Metrics
from alertd.redact import Redactor
from alertd.store.base import Store
from alertd.store.groupcommit import GroupCommit

__all__ = ["RETRY_AFTER_CAP", "Dispatcher", "backoff"]

log = structlog.get_logger("alertd.delivery.dispatch")

RETRY_BASE = 2.0  # seconds before the first retry
RETRY_CAP = 600.0  # never wait longer than this between attempts (unless Retry-After says so)


def backoff(attempt: int, *, retry_after: float | None, rand: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based); `rand` is in [0, 1).

    The receiver's Retry-After may lengthen the wait (up to RETRY_AFTER_CAP), never shorten it:
    `Retry-After: 0` or a date in the past made a webhook retry without pause, 33,000 requests in 75 s.
    """
    # "Equal jitter": half fixed, half random, so retries spread but never come too fast.
    base = min(RETRY_BASE * 2 ** (attempt - 1), RETRY_CAP)
    wait = base / 2 + base / 2 * rand
    if retry_after is not None and retry_after > wait:
        return min(retry_after, RETRY_AFTER_CAP)
    return wait


class Dispatcher:
    """Runs deliveries as tasks, at most `concurrency` at once.

    `on_retry(key, deadline_id, at)` is called when a retry has been recorded, so the daemon can
    wake up for it. `busy` holds the keys this process is delivering (queued or in flight).
    """

    def __init__(self, ledger: Store, *, concurrency: int, window: timedelta, clock: Callable[[], datetime],
                 on_retry: Callable[[str, str, datetime], None], redact: Redactor,
                 rand: Callable[[], float] = random.random, metrics: Metrics | None = None) -> None:
        self.ledger = ledger
        self.marks = GroupCommit(ledger)
        self.window = window
        self.clock = clock
        self.on_retry = on_retry
        self.redact = redact
        self.rand = rand
        self.metrics = metrics if metrics is not None else Metrics()
        self.senders: Mapping[str, Sender] = {}
        self.links: Linker | None = None  # set: alerts carry signed action links (ALERTD_PUBLIC_URL)
        self.busy: set[str] = set()
        self.started: set[str] = set()  # the keys of `busy` whose attempt has begun (their mark may be uncommitted)
        # Why a delivery must not start after all (`Engine.held`: an ack, snooze or done applied while
        # it waited for a slot or its channel's pacing), or None when it may.
        self.hold: Callable[[Notification, datetime], Hold | None] | None = None
        self._sem = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True

    def submit(self, note: Notification, *, attempt: int) -> None:
        """Start delivering `note` (its ledger row exists and is pending or sending)."""
        if not self._accepting or note.key in self.busy:
            return
        self.busy.add(note.key)
        task = asyncio.get_running_loop().create_task(self._deliver(note, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, note: Notification, attempt: int) -> None:
        try:
            # A channel that must pace itself (Slack: one message a second per webhook) waits for
            # its turn BEFORE taking a slot, so a burst to one Slack URL cannot hold every slot
            # while other channels' deliveries queue behind it.
            ready = getattr(self.senders.get(note.channel), "ready", None)
            if ready is not None:
                await ready(note)
            async with self._sem:
                if not self._accepting:
                    return  # left pending in the ledger: the next start sends it
                if await self._held(note):
                    return
                self.started.add(note.key)
                await self._attempt(note, attempt)
        finally:
            self.busy.discard(note.key)
            self.started.discard(note.key)

    async def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """A store call from a delivery (a retry, give-up or hold mark): made at once here, where the
        ledger is local; on a shared database in the store's threads (claiming.py)."""
        return fn(*args, **kw)

    async def _held(self, note: Notification) -> bool:
        """Whether what people did since the delivery was handed over holds it. Acknowledged, done
        or cancelled: its row is closed with that reason (as `catchup.decide` closes an open row).
        Snoozed: it stays pending, and the snooze's end decides it again."""
        now = self.clock()
        why = self.hold(note, now) if self.hold is not None else None
        if why is None:
            return False
        if why is not Hold.SNOOZED:
            await self.run(self.ledger.finish, note.key, "superseded", reason=why.value, now=now)
            self.metrics.delivery(note.channel, "superseded")
        log.info("alert.held", alert_id=note.key, deadline=note.deadline.id, channel=note.channel, kind=note.kind,
                 lead=note.lead.iso, reason=why.value)
        return True

    async def _attempt(self, note: Notification, attempt: int) -> None:
        now = self.clock()
        late = max(int((now - note.scheduled_for).total_seconds()), 0)
        note = replace(note, late_by_seconds=late)
        if self.links is not None and note.kind in ALERT_KINDS:  # reminders, the due, repeats, escalations
            note = replace(note, actions=self.links.actions_for(note.deadline.id, note.deadline.due))
        fields = {"alert_id": note.key, "deadline": note.deadline.id, "channel": note.channel, "attempt": attempt,
                  "kind": note.kind, "lead": None if note.is_notice else note.lead.iso}
        if await self.marks.sending(note.key, now=now) is False:  # a shared database: the lease is gone
            log.warning("alert.not_sent", **fields, reason="lease_lost",
                        action="left to the instance that holds it now")
            return
        sender = self.senders.get(note.channel)
        try:
            if sender is None:
                raise DeliveryError(f"channel {note.channel!r} is not configured", permanent=True)
            await sender.send(note, now=now)
        except DeliveryError as exc:
            await self._failed(note, fields, str(exc), permanent=exc.permanent, retry_after=exc.retry_after,
                               started=now, reason=exc.reason or "permanent")
            return
        except Exception as exc:  # a sender bug must not kill the daemon; treat it as transient
            await self._failed(note, fields, f"{type(exc).__name__}: {exc}", permanent=False, retry_after=None,
                               started=now)
            return
        done = self.clock()
        await self.marks.sent(note.key, now=done)
        self.metrics.attempt(note.channel, (done - now).total_seconds(), retry=False)
        self.metrics.delivery(note.channel, "sent", lateness=(done - note.scheduled_for).total_seconds())
        log.info("alert.sent", **fields, scheduled_for=rfc3339(note.scheduled_for), late_by_seconds=late,
                 took_ms=round((done - now).total_seconds() * 1000, 1))

    async def _failed(self, note: Notification, fields: dict, error: str, *, permanent: bool,
                retry_after: float | None, started: datetime, reason: str = "permanent") -> None:
        error = error_text(error, self.redact)
        now = self.clock()
        took = (now - started).total_seconds()
        if permanent:
            await self.run(self.ledger.finish, note.key, "failed", reason=reason, error=error, now=now)
            self.metrics.attempt(note.channel, took, retry=False)
            self.metrics.delivery(note.channel, "failed")
            log.error("alert.failed", **fields, reason=reason, error=error)
            return
        at = now + timedelta(seconds=backoff(fields["attempt"], retry_after=retry_after, rand=self.rand()))
        # A reminder is retried until the deadline is a window past; a repeat, step or notice
        # (planned after the due) until a window past its own instant.
        give_up_at = max(note.deadline.due, note.scheduled_for) + effective_window(self.window)
        if at > give_up_at:
            await self.run(self.ledger.finish, note.key, "failed", reason="retry_window_closed", error=error, now=now)
            self.metrics.attempt(note.channel, took, retry=False)
            self.metrics.delivery(note.channel, "failed")
            log.error("alert.failed", **fields, reason="retry_window_closed", error=error)
            return
        await self.run(self.ledger.mark_retry, note.key, at=at, error=error, now=now)
        self.metrics.attempt(note.channel, took, retry=True)
        log.warning("alert.retry", **fields, error=error, retry_at=rfc3339(at),
                    retry_in_seconds=round((at - now).total_seconds(), 3))
        self.on_retry(note.key, note.deadline.id, at)

    async def drain(self, grace: float) -> int:
        """Stop taking work; let in-flight deliveries finish for up to `grace` seconds, then cancel
        them (their rows stay `sending` and are resent on the next start). Returns how many were cut."""
        self._accepting = False
        tasks = set(self._tasks)
        if not tasks:
            return 0
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        return len(pending)

    def cancel_all(self) -> None:
        """A second stop signal: give up waiting."""
        self._accepting = False
        for task in self._tasks:
            task.cancel()
