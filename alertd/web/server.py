"""`WebServer`: the HTTP surface as one of the daemon's services (alertd/daemon/services.py).

`WebServer.bind(settings)` is called by `alertd run` before the daemon starts: it reads
ALERTD_HTTP_ADDR, the token, and binds the socket, so a bad address, a taken port or a
non-loopback address without a token stops the start with one clear line (exit 78) before
anything is written. Without a token but with an ALERTD_PUBLIC_URL elsewhere (a reverse proxy,
presumably) it starts, and warns (`http.no_token_behind_public_url`). `start(daemon)` then serves
on that socket from the daemon's event loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from alertd.metrics import MetricsAddressError, listen_failure, parse_metrics_addr
from alertd.settings import Settings
from alertd.web.app import create_app
from alertd.web.auth import TokenError, resolve_token
from alertd.web.context import WebContext
from alertd.web.guard import GUARD, Guard

__all__ = ["WebServer", "WebSetupError"]

SETTING = "ALERTD_HTTP_ADDR"
BACKLOG = 1024
SOON = 0.05  # seconds before an alert's instant the server stops reading requests (guard.py)

log = structlog.get_logger("alertd.web")


class WebSetupError(Exception):
    """The HTTP surface cannot start as configured: the message says why and what to set."""


class WebServer:
    def __init__(self, sock: socket.socket, *, token: str | None, public_url: str | None = None) -> None:
        self.sock = sock
        self.token = token
        self.public_url = public_url
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        self.loopback = ipaddress.ip_address(host).is_loopback
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self.guard: Guard | None = None

    @classmethod
    def bind(cls, settings: Settings, env: Mapping[str, str] | None = None) -> WebServer:
        addr = settings.http_addr or ""
        try:
            host, port = parse_metrics_addr(addr, SETTING)
            token = resolve_token(settings, env)
        except (MetricsAddressError, TokenError) as exc:
            raise WebSetupError(str(exc)) from None
        try:
            family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        except socket.gaierror as exc:
            raise WebSetupError(f"{SETTING} {addr!r}: cannot resolve {host!r}: {exc.strerror}") from None
        if token is None and not ipaddress.ip_address(where[0]).is_loopback:
            raise WebSetupError(
                f"{SETTING} {addr!r} is not a loopback address and no API token is set: alertd serves deadline "
                "data only to clients that present it there. Set ALERTD_API_TOKEN (or the credential "
                "api-token), or listen on 127.0.0.1")
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(where)
        except OSError as exc:
            sock.close()
            raise WebSetupError(f"{SETTING} {addr!r}: cannot listen: {listen_failure(exc)}") from None
        return cls(sock, token=token, public_url=settings.public_url)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self, daemon: Any) -> None:
        app = create_app(WebContext(daemon=daemon, loopback=self.loopback, token=self.token))
        # keep-alive 15 s: the status page polls every 15 s; request heads bounded (400 beyond)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0,
                                     keepalive_timeout=15.0, max_line_size=8190, max_field_size=8190, max_headers=64)
        await self._runner.setup()
        guard = app[GUARD]
        guard.factory = self._runner.server
        self.guard = guard
        self._server = await asyncio.get_running_loop().create_server(guard, sock=self.sock, backlog=BACKLOG)
        guard.give_way(lambda: _sending(daemon))
        log.info("http.listening", url=self.url, loopback=self.loopback, token=self.token is not None,
                 max_connections=guard.limit)
        if self.token is None and self.public_url and not _loopback_url(self.public_url):
            log.warning("http.no_token_behind_public_url", public_url=self.public_url,
                        summary="ALERTD_PUBLIC_URL names another host, so a reverse proxy probably serves these "
                                "pages, and no API token is set: a proxy that forwards without X-Forwarded-For "
                                "or Host looks like a local browser and would expose them to anyone it serves. "
                                "Set ALERTD_API_TOKEN (or the credential api-token)")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()  # no new connections
        if self.guard is not None:
            self.guard.close()
        if self._runner is not None:
            await self._runner.cleanup()  # ends the open ones
            self._runner = None
        self.sock.close()


def _loopback_url(url: str) -> bool:
    """Whether `url` names this machine (localhost or a loopback address)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sending(daemon: Any) -> bool:
    """Whether the daemon is sending alerts or about to: deliveries in flight, deadlines waiting to be
    decided, or the next alert within `SOON` seconds."""
    if daemon.dispatcher.busy or daemon.engine.backlog:
        return True
    nxt = daemon.timetable.next_instant()
    return nxt is not None and (nxt - daemon.clock()).total_seconds() < SOON
