"""Who may see what: the API token and the middleware that asks for it.

- ALERTD_API_TOKEN, else the systemd credential `api-token` (`$CREDENTIALS_DIRECTORY/api-token`),
  is the one token. The API takes it as `Authorization: Bearer TOKEN` only; pages also take it as
  the password of HTTP Basic authentication (any user name), which browsers ask for and remember.
- With a token, the API always needs it; pages need it when the server listens on an address
  that is not loopback, or when the request came through a reverse proxy (it carries Forwarded,
  X-Forwarded-For or X-Real-IP: the proxy's clients are not local). Without a token the server
  listens on loopback only (server.py refuses anything else). Whatever is answered without the
  token (pages on loopback, with or without one set) goes only to requests whose Host is a
  loopback name and that no proxy forwarded (a web page elsewhere cannot read it through DNS
  rebinding); others get 421.
- /healthz is open (it says up or down, nothing else). A handler marked `@public` does its own
  authentication (a signed link) and is let through.
Tokens are compared in constant time and never logged, echoed or put in a page.
"""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from alertd.settings import Settings
from alertd.web.context import CTX
from alertd.web.problems import problem

__all__ = ["TOKEN_CREDENTIAL", "TokenError", "auth_middleware", "presented_token", "public", "resolve_token"]

TOKEN_CREDENTIAL = "api-token"  # noqa: S105 - the credential's file name, not a secret
OPEN_PATHS = frozenset({"/healthz"})
MIN_TOKEN = 16  # characters: a guessable token is no protection
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")  # a reverse proxy's marks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(Exception):
    """The token cannot be read, or is too short to protect anything."""


def resolve_token(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """ALERTD_API_TOKEN, else the credential `api-token`, else None."""
    env = os.environ if env is None else env
    token: str | None = settings.api_token.get_secret_value() if settings.api_token is not None else None
    where = "ALERTD_API_TOKEN"
    if token is None and env.get("CREDENTIALS_DIRECTORY"):
        path = Path(env["CREDENTIALS_DIRECTORY"]) / TOKEN_CREDENTIAL
        try:
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenError(f"cannot read the credential {path}: {exc.strerror}") from None
        where = f"the credential {path}"
    if token is None:
        return None
    token = token.strip()
    if len(token) < MIN_TOKEN or not token.isprintable() or " " in token:
        raise TokenError(f"{where} must be at least {MIN_TOKEN} printable characters without spaces "
                         "(e.g. the output of `openssl rand -hex 32`)")
    return token


def public(handler: Handler) -> Handler:
    """Mark a handler that authenticates requests by itself (a signed link): the token is not asked."""
    handler.alertd_public = True  # type: ignore[attr-defined]
    return handler


def presented_token(request: web.Request) -> str | None:
    """The token a request carries: a Bearer token, or (pages only, not the API) the password of
    Basic authentication."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic" and not is_api(request.path):  # the API is documented as Bearer: one form
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 inside (UnicodeDecodeError)
            return None
        return decoded.partition(":")[2]
    return None


def _matches(presented: str | None, token: str) -> bool:
    # A header's bytes that are not UTF-8 arrive as lone surrogates: kept, they match no token.
    return presented is not None and hmac.compare_digest(presented.encode("utf-8", "surrogatepass"),
                                                         token.encode("utf-8"))


def is_api(path: str) -> bool:
    return path.startswith("/api/")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CTX]
    path = request.path
    if path in OPEN_PATHS or getattr(_target(handler, request), "alertd_public", False):
        return await handler(request)
    proxied = any(h in request.headers for h in _PROXY_HEADERS)
    if ctx.token is not None:
        if _matches(presented_token(request), ctx.token):
            return await handler(request)
        if is_api(path) or not ctx.loopback or proxied:  # through a proxy a client is not local
            return _refused(path, 401, "this needs the API token (Authorization: Bearer TOKEN)")
    # Served without the token: loopback only (server.py), and only to a client that names this server
    # by a loopback address, so a page elsewhere whose name was rebound to 127.0.0.1 cannot read it.
    if _host_name(request.host or "") not in _LOOPBACK_HOSTS or proxied:
        return _refused(path, 421, "without the API token this server answers only local clients that "
                                   "name it by a loopback address (no proxies)")
    return await handler(request)


def _host_name(host: str) -> str:
    """`127.0.0.1:8080` → `127.0.0.1`, `[::1]:8080` → `::1`, `Localhost.` → `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")


def _target(handler: Handler, request: web.Request) -> Any:
    """The route's own handler (middlewares may wrap `handler`)."""
    info = request.match_info
    return getattr(info, "handler", handler)


def _refused(path: str, status: int, detail: str) -> web.StreamResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="alertd"'} if status == 401 else {}
    if is_api(path):
        return problem(status, detail, headers=headers)
    if status == 401:  # a browser asks for the token as a password
        headers["WWW-Authenticate"] = 'Basic realm="alertd", charset="UTF-8"'
    return web.Response(status=status, text=f"{status}: {detail}\n", headers=headers)
