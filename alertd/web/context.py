"""What handlers get from the daemon: `request.app[CTX]`, a `WebContext`.

Everything is read in the daemon's own thread and loop (handlers are coroutines in it): the
engine's deadlines and states are the daemon's own, current up to its last pass. Handlers must
not block: the alerts run in the same loop. So what they ask of the store goes through `call`,
which on a shared PostgreSQL runs it in the daemon's store threads (a round trip, or up to the
call deadline during an outage, when it raises StoreUnavailable: the app answers 503), and on the
local SQLite ledger runs it in place (its connection belongs to this thread; a read is a few ms).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from alertd.config import Config
from alertd.core.model import Deadline
from alertd.core.state import Action, DeadlineState
from alertd.daemon.loop import Daemon
from alertd.metrics import Metrics
from alertd.settings import Settings
from alertd.store.base import Store

__all__ = ["CTX", "LOOP_STALE", "WebContext", "templates"]

T = TypeVar("T")
LOOP_STALE = 10.0  # seconds without a pass of the daemon's loop (it goes round every 250 ms) = not alive


def templates() -> jinja2.Environment:
    """The HTML templates (alertd/web/templates), every value escaped unless marked safe."""
    return jinja2.Environment(loader=jinja2.PackageLoader("alertd.web", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass
class WebContext:
    daemon: Daemon
    loopback: bool  # whether the server listens on a loopback address only
    token: str | None = field(default=None, repr=False)  # never logged
    env: jinja2.Environment = field(default_factory=templates)

    # -- what the daemon holds ------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self.daemon.ledger

    @property
    def config(self) -> Config:
        return self.daemon.config

    @property
    def settings(self) -> Settings:
        return self.daemon.settings

    @property
    def metrics(self) -> Metrics:
        return self.daemon.metrics

    def now(self) -> datetime:
        return self.daemon.clock()

    @property
    def deadlines(self) -> dict[str, Deadline]:
        """The loaded deadlines by id (the daemon's engine's; a reload replaces the dict)."""
        return self.daemon.engine.deadlines

    @property
    def states(self) -> dict[str, DeadlineState]:
        """What people did, by deadline id, for each deadline's current due."""
        return self.daemon.engine.states

    @property
    def shared(self) -> bool:
        """Whether the store is a database shared with other instances (PostgreSQL)."""
        return self.daemon.shared is not None

    async def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """`fn(*args, **kw)`, a store operation, without holding up the loop (module docstring)."""
        if self.shared:
            return await self.daemon.dispatcher.run(fn, *args, **kw)
        return fn(*args, **kw)

    # -- acting -----------------------------------------------------------------------------------
    async def act(self, action: Action) -> tuple[Action | None, DeadlineState]:
        """Record `action` as `alertd ack` does (`Store.act`), then have the daemon apply it at once:
        its own writes are not reported by the store's change descriptor, so the follower is run here
        and the loop woken to re-arm its alarm. On a shared database the other instances hear of it
        from the database (its NOTIFY) and apply it the same way. Raises StoreUnavailable."""
        recorded, state = await self.call(self.store.act, action)
        if recorded is not None:
            self.daemon.follower.apply(self.now())
            self.daemon.wake.set()
        return recorded, state

    # -- health -----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """`{"loop": bool, "store": bool, ...}`: the main loop went round lately, the store answers and
        holds no writes it could not make. On a shared database, "answers" is the daemon's own view
        (`Shared.health`: the last heartbeat got through and was recent), read without a round trip,
        so a probe never waits on a database that does not answer."""
        since = time.monotonic() - self.daemon.last_pass
        loop_ok = since < LOOP_STALE and not self.daemon.stop_requested
        if self.shared:
            return {"loop": loop_ok, "loop_seconds_since_pass": round(since, 3), **self.daemon.shared.health()}
        try:
            self.store.get("")
            store_ok, error = getattr(self.store, "unwritten", 0) == 0, None
        except Exception as exc:  # any failure to read is "not alive"
            store_ok, error = False, type(exc).__name__
        out: dict[str, Any] = {"loop": loop_ok, "loop_seconds_since_pass": round(since, 3), "store": store_ok}
        if error:
            out["store_error"] = error
        return out

    # -- pages ------------------------------------------------------------------------------------
    def render(self, template: str, *, status: int = 200, **values: Any) -> web.Response:
        """The page, with a fresh `csp_nonce` its own `<script nonce="{{ csp_nonce }}">` runs by."""
        nonce = secrets.token_urlsafe(18)
        html = self.env.get_template(template).render(csp_nonce=nonce, **values)
        return web.Response(status=status, text=html, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": CSP.format(nonce=nonce),
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                                     "X-Frame-Options": "DENY"})


# Pages carry their own small script and style inline and load nothing from elsewhere. Only the script
# carrying the answer's nonce runs: no 'unsafe-inline' for scripts.
CSP = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

CTX = web.AppKey("alertd_ctx", WebContext)
