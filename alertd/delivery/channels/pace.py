"""At most one message per interval per receiver: a reservation-based asyncio pacer.

Slack accepts about one message per second per incoming webhook and answers bursts
with 429 (https://api.slack.com/apis/rate-limits#incoming-webhooks-rate-limits). One
pacer lives in the SendContext, so every sender of every channel that shares a URL
shares its slots.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

__all__ = ["Pacer", "Turns"]


class Pacer:
    """Hands out send slots per key, `interval` seconds apart, in the order they are asked for."""

    def __init__(self, interval: float = 1.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, cap: float = 3600.0) -> None:
        self.interval = interval
        self.cap = cap  # the longest hold (channels/base.py passes RETRY_AFTER_CAP, the dispatcher's cap too)
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}

    @staticmethod
    def key(url: str) -> str:
        """A key for `url` that is not the URL: the pacer's state must not hold a credential."""
        return hashlib.sha256(url.encode()).hexdigest()

    def reserve(self, key: str) -> float:
        """Take the next free slot for `key`; return how many seconds until it (0 = now)."""
        now = self._clock()
        if len(self._next) > 1024:  # forget receivers that have been idle, so the map stays small
            self._next = {k: t for k, t in self._next.items() if t > now}
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval
        return slot - now

    def held_for(self, key: str) -> float:
        """Seconds until `key`'s next free slot (0 when it may be sent to now)."""
        return max(self._next.get(key, 0.0) - self._clock(), 0.0)

    async def wait(self, key: str) -> None:
        """Return when `key` may be sent to."""
        delay = self.reserve(key)
        if delay > 0:
            await self._sleep(delay)

    def hold(self, key: str, seconds: float) -> None:
        """Give `key` no slot for `seconds` (the receiver asked us to back off), at most `cap`: a 429
        with `Retry-After: 99999999999` must not silence a webhook until the daemon restarts."""
        seconds = min(max(seconds, 0.0), self.cap)
        self._next[key] = max(self._next.get(key, 0.0), self._clock() + seconds)


class Turns:
    """One sender's place in a shared pacer: `ready` (the dispatcher's call before it takes a
    concurrency slot) waits for a slot, and `take` (in `send`) waits only if `ready` did not."""

    def __init__(self, pacer: Pacer, key: str) -> None:
        self.pacer = pacer
        self.key = key
        self._waited: set[str] = set()  # delivery keys whose slot `ready` already waited for

    async def ready(self, note_key: str) -> None:
        await self.pacer.wait(self.key)
        self._waited.add(note_key)

    async def take(self, note_key: str) -> None:
        if note_key in self._waited:
            self._waited.discard(note_key)
        else:
            await self.pacer.wait(self.key)

    def hold(self, seconds: float) -> None:
        """The service asked every sender to this receiver to back off."""
        self.pacer.hold(self.key, seconds)
