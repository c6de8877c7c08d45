"""The extension point for other modules' routes (the signed action links): a module named in
OPTIONAL_ROUTE_MODULES is added when it exists, and a `@public` handler is let through without the
token while everything else still asks for it."""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType, SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alertd.web import app as app_module
from alertd.web.auth import public
from alertd.web.context import CTX, WebContext


def _actions_module() -> ModuleType:
    module = ModuleType("alertd.web.actions")

    @public
    async def link(request: web.Request) -> web.Response:
        assert request.app[CTX].loopback is False
        return web.Response(text=f"link {request.match_info['token']}")

    def add_routes(app: web.Application) -> None:
        app.router.add_get("/a/{token}", link)

    module.add_routes = add_routes  # type: ignore[attr-defined]
    return module


def test_an_optional_module_adds_its_routes_and_public_handlers_skip_the_token(monkeypatch):
    assert "alertd.web.actions" in app_module.OPTIONAL_ROUTE_MODULES
    monkeypatch.setitem(sys.modules, "alertd.web.actions", _actions_module())
    ctx = WebContext(daemon=SimpleNamespace(), loopback=False, token="t" * 32)  # type: ignore[arg-type]

    async def main() -> None:
        async with TestClient(TestServer(app_module.create_app(ctx))) as client:
            resp = await client.get("/a/abc")
            assert resp.status == 200 and await resp.text() == "link abc"
            assert (await client.get("/api/v1/deadlines")).status == 401
            assert (await client.get("/")).status == 401

    asyncio.run(main())


def test_without_the_module_the_app_starts_all_the_same(monkeypatch):
    monkeypatch.setitem(sys.modules, "alertd.web.actions", None)  # importing it raises ModuleNotFoundError
    app = app_module.create_app(WebContext(daemon=SimpleNamespace(), loopback=True))  # type: ignore[arg-type]
    assert not any(r.resource and r.resource.canonical.startswith("/a/") for r in app.router.routes())
