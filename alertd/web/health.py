"""`GET /metrics` (Prometheus text) and `GET /healthz` (200 when the daemon's loop and its store are
alive, else 503; a small JSON body says which)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alertd.web.context import CTX

__all__ = ["add_routes"]


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[CTX].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    checks = request.app[CTX].health()
    ok = checks["loop"] and checks["store"]
    return web.json_response({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503,
                             headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
