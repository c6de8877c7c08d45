"""Bounds on what clients can hold: connections, and time to send a request.

aiohttp bounds a request's head (8 KiB a line, 128 header fields: 400 beyond) and body (64 KiB:
413, app.py) but not how many connections stay open or how slowly a client sends its head, so a
slow-loris client, or 1,000 of them, could hold file descriptors the deliveries need. `Guard`
wraps each connection's protocol:

- at most `limit` connections are open at once (half the process's file-descriptor limit, at most
  1,024): the next one is closed at once, without a byte read;
- a connection must start a request within `HEAD_SECONDS` of opening, or of the end of its last
  one (`request_started` / `request_done` are called by the app's middleware), else it is closed;
- a request's body (64 KiB at most) is read before the request waits for its turn, and must
  arrive within `HEAD_SECONDS` (else 408): a client that sends it slowly, or never, holds no turn;
- no connection lives longer than `LIFE_SECONDS` (the status page polls; nothing streams);
- at most `ANSWERING` requests are answered at once, and while the daemon is sending alerts or
  about to (`give_way`) none starts and no connection is read from, for up to 2 s at a time: the
  server shares the daemon's event loop, and a flood of requests would otherwise put every
  delivery step behind hundreds of request callbacks (bench/http_load.py measures it).
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import web

from alertd.web.auth import is_api
from alertd.web.problems import problem

__all__ = ["GUARD", "HEAD_SECONDS", "LIFE_SECONDS", "Guard", "connection_limit", "guard_middleware"]

HEAD_SECONDS = 10.0
LIFE_SECONDS = 300.0
MAX_CONNECTIONS = 1024
GIVE_WAY_SECONDS = 2.0
ANSWERING = 4  # requests answered at once; the others wait (suspended, cheap) for a turn
CHECK_SECONDS = 0.01  # how often the guard looks whether alerts are being sent


def connection_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft // 2))


class Guard:
    def __init__(self, factory: Callable[[], asyncio.Protocol] | None = None, *, limit: int | None = None,
                 head_seconds: float = HEAD_SECONDS, life_seconds: float = LIFE_SECONDS) -> None:
        self.factory = factory
        self.limit = limit if limit is not None else connection_limit()
        self.head_seconds = head_seconds
        self.life_seconds = life_seconds
        self.open: dict[asyncio.BaseTransport, _Guarded] = {}
        self.answering = asyncio.Semaphore(ANSWERING)
        self.go = asyncio.Event()  # clear while giving way to the alerts
        self.go.set()
        self._busy: Callable[[], bool] | None = None
        self._check: asyncio.TimerHandle | None = None
        self.paused_since: float | None = None  # loop time reading stopped for the alerts
        self._resumed_at = 0.0  # loop time reading resumed while still busy (0: not busy since)
        self.pauses = 0
        self.refused = 0  # connections closed at once for being over the limit
        self.timed_out = 0  # connections closed for not sending a request in time

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)

    # -- giving way to the alerts -----------------------------------------------------------------
    def give_way(self, busy: Callable[[], bool]) -> None:
        """While `busy()` (deliveries starting or in flight), stop reading from every connection, so the
        loop runs the alerts' tasks first; at most `GIVE_WAY_SECONDS` at a time, then `GIVE_WAY_SECONDS`
        of reading again (a slow receiver must not make the page unreachable)."""
        self._busy = busy
        self._check = asyncio.get_running_loop().call_later(CHECK_SECONDS, self._watch)

    def _watch(self) -> None:
        now = asyncio.get_running_loop().time()
        busy = self._busy is not None and self._busy()
        if self.paused_since is None:
            if busy and now >= self._resumed_at + GIVE_WAY_SECONDS * (self._resumed_at > 0):
                self.paused_since = now
                self.pauses += 1
                self.go.clear()
                for conn in self.open.values():
                    conn.pause()
        elif not busy or now - self.paused_since >= GIVE_WAY_SECONDS:
            self.paused_since = None
            self._resumed_at = now if busy else 0.0
            self.go.set()
            for conn in self.open.values():
                conn.resume()
        self._check = asyncio.get_running_loop().call_later(CHECK_SECONDS, self._watch)

    async def turn(self) -> None:
        """Wait until a request may be answered: not while giving way, and `ANSWERING` at a time."""
        while True:
            await self.go.wait()
            await self.answering.acquire()
            if self.go.is_set():
                return
            self.answering.release()

    def close(self) -> None:
        if self._check is not None:
            self._check.cancel()

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        conn = self.open.get(transport) if transport is not None else None
        if conn is not None:
            conn.busy = True
            conn.cancel_head_timer()

    def request_done(self, transport: asyncio.BaseTransport | None) -> None:
        conn = self.open.get(transport) if transport is not None else None
        if conn is not None:
            conn.busy = False
            conn.arm_head_timer()


class _Guarded(asyncio.Protocol):
    """Delegates to aiohttp's protocol; closes the connection when the guard says so."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self._head: asyncio.TimerHandle | None = None
        self._life: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # a stream server's
        g = self.guard
        if len(g.open) >= g.limit:
            g.refused += 1
            transport.abort()
            return
        self.transport = transport
        g.open[transport] = self
        if g.factory is None:
            raise RuntimeError("Guard.factory is not set")
        self.inner = g.factory()
        self.inner.connection_made(transport)
        if g.paused_since is not None:
            transport.pause_reading()
        self._life = asyncio.get_running_loop().call_later(g.life_seconds, self._close)
        self.arm_head_timer()

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()
            self.cancel_head_timer()  # the wait is ours, not the client's

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
            if not self.busy:
                self.arm_head_timer()

    def arm_head_timer(self) -> None:
        self.cancel_head_timer()
        self._head = asyncio.get_running_loop().call_later(self.guard.head_seconds, self._head_late)

    def cancel_head_timer(self) -> None:
        if self._head is not None:
            self._head.cancel()
            self._head = None

    def _head_late(self) -> None:
        if not self.busy:
            self.guard.timed_out += 1
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_timer()
        if self._life is not None:
            self._life.cancel()
        if self.transport is not None:
            self.guard.open.pop(self.transport, None)
        if self.inner is not None:
            self.inner.connection_lost(exc)


GUARD = web.AppKey("alertd_guard", Guard)


def _too_large(request: web.Request) -> web.Response:
    detail = f"the body is over {request.client_max_size // 1024} KiB"
    if is_api(request.path):
        return problem(413, detail, headers={"Connection": "close"})
    return web.Response(status=413, text=f"413: {detail}\n", headers={"Connection": "close"})


@web.middleware
async def guard_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A request is being answered: its connection is not idle until the answer is written."""
    guard = request.app.get(GUARD)
    if guard is None:
        return await handler(request)
    guard.request_started(request.transport)
    try:
        if request.body_exists:  # read before taking a turn: a slow body must hold none
            try:
                async with asyncio.timeout(guard.head_seconds):
                    await request.read()
            except TimeoutError:
                return web.Response(status=408, text="408: the request's body did not arrive in time\n",
                                    headers={"Connection": "close"})
            except web.HTTPRequestEntityTooLarge:
                return _too_large(request)
        await guard.turn()
        try:
            return await handler(request)
        finally:
            guard.answering.release()
    finally:
        guard.request_done(request.transport)
