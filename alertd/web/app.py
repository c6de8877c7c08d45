"""`create_app(ctx)`: the aiohttp application of the HTTP surface.

Routes come from the modules in `ROUTE_MODULES`, each exposing `add_routes(app)`; those in
`OPTIONAL_ROUTE_MODULES` are added when the module exists (built on another branch: the signed
action links of alertd/web/actions.py). Errors under /api/ are answered as problem+json, the others
as short plain pages; a shared database that does not answer is 503 with Retry-After; an
unexpected exception is logged with its traceback (without the request's headers) and answered 500.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from alertd.core.links import mask
from alertd.logs import exception_fields
from alertd.store.base import StoreUnavailable
from alertd.web.auth import auth_middleware, is_api
from alertd.web.context import CTX, WebContext
from alertd.web.guard import GUARD, Guard, guard_middleware
from alertd.web.problems import problem

__all__ = ["MAX_BODY", "OPTIONAL_ROUTE_MODULES", "ROUTE_MODULES", "create_app"]

ROUTE_MODULES = ("alertd.web.health", "alertd.web.api", "alertd.web.page")
OPTIONAL_ROUTE_MODULES = ("alertd.web.actions",)  # `/a/TOKEN`: add_routes(app) when present
MAX_BODY = 64 * 1024  # bytes: an API body is a few hundred; a larger one is refused (413) unread

log = structlog.get_logger("alertd.web")


def create_app(ctx: WebContext) -> web.Application:
    app = web.Application(middlewares=[guard_middleware, _errors, auth_middleware], client_max_size=MAX_BODY)
    app[CTX] = ctx
    app[GUARD] = Guard()  # its factory is the server's, set once the runner has made it (server.py)
    app.on_response_prepare.append(_browser_headers)
    for name in ROUTE_MODULES:
        importlib.import_module(name).add_routes(app)
    for name in OPTIONAL_ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_routes(app)
    return app


@web.middleware
async def _errors(request: web.Request,
                  handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        resp = await handler(request)
        resp.headers.setdefault("Cache-Control", "no-store")  # live data, some of it behind a token
        return resp
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if is_api(request.path):
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return problem(exc.status, exc.reason if exc.text is None else _plain(exc.text), headers=headers)
        raise
    except StoreUnavailable as exc:  # a shared database that does not answer now: worth trying again
        log.warning("http.store_unavailable", method=request.method, path=mask(request.path), error=str(exc))
        if is_api(request.path):
            return problem(503, "the database does not answer now; try again shortly", headers={"Retry-After": "5"})
        return web.Response(status=503, text="503: the database does not answer now; try again shortly\n",
                            headers={"Retry-After": "5"})
    except Exception as exc:  # why, with its traceback; /a/TOKEN is a capability, in the path or the text
        log.error("http.error", method=request.method, path=mask(request.path),
                  **{k: mask(v) for k, v in exception_fields(exc).items()})
        if is_api(request.path):
            return problem(500, "the server failed to answer; the daemon's log says why")
        return web.Response(status=500, text="500: the server failed to answer; the daemon's log says why\n")


def _plain(text: str) -> str:
    return text.split(": ", 1)[-1].strip() or text


# Every answer, not only the pages (which carry their own CSP: context.py): a browser must not
# sniff JSON or text into HTML, frame it, or tell another site the URL it came from.
_BROWSER_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


async def _browser_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _BROWSER_HEADERS.items():
        response.headers.setdefault(name, value)
