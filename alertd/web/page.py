"""`GET /`: the status page, for a desk's browser or a wall screen.

The deadlines in status order (overdue first, then by next alert: views.py), 50 a page, each with
its due on its zone's clock and in UTC, a countdown, its state (who acknowledged it when, a
snooze's end), and its next alert; the recent deliveries with the failures first and in red;
links to filter by tag. Plain HTML from templates/status.html: readable without JavaScript (a
`<noscript>` refresh every minute); with it, the countdowns tick every second and the page
fetches itself every 15 s and swaps its content in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from alertd.core.display import humanize_seconds, rfc3339
from alertd.store.pages import delivery_item
from alertd.web.api import LISTING
from alertd.web.context import CTX
from alertd.web.views import ParamError, int_param

__all__ = ["PER_PAGE", "add_routes"]

PER_PAGE = 50
RECENT = 15  # deliveries shown
POLL_SECONDS = 15


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _when(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What the row shows about time: the countdown and which band it falls in."""
    due = _parse(item["due"])
    left = (due - now).total_seconds()
    nxt = item["next_alert"]
    soon = nxt is not None and _parse(nxt["fire_at"]) - now <= timedelta(hours=1)
    band = ("overdue" if item["state"] == "overdue" else "closed" if item["state"] in ("done", "cancelled")
            else "handled" if left < 0 else "hour" if left <= 3600 or soon else "later")
    text = f"in {humanize_seconds(left)}" if left >= 0 else f"{humanize_seconds(left)} ago"
    kind = nxt["kind"].removeprefix("deadline.") if nxt else None
    return {"left": text, "band": band, "kind": kind, "due_utc": due.strftime("%Y-%m-%d %H:%M UTC"),
            "due_ms": int(due.timestamp() * 1000)}


async def status_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query
    try:
        page = int_param(q, "page", 1, 1, 10**7)
    except ParamError as exc:
        return web.Response(status=400, text=f"400: {exc}\n")
    tag = q.get("tag") or None
    snap = await request.app[LISTING].get(ctx)
    chosen = snap.select(tag=tag)
    pages = max(1, -(-len(chosen) // PER_PAGE))
    page = min(page, pages)
    now = ctx.now()
    rows = [{**i, **_when(i, now)} for i in chosen[(page - 1) * PER_PAGE: page * PER_PAGE]]
    overdue, hour = snap.tally(chosen, rfc3339(now + timedelta(hours=1)))
    counts = {"overdue": overdue, "hour": hour}
    # ctx.call: on a shared database a read is a round trip, made off the loop
    failures = [delivery_item(r) for r in await ctx.call(ctx.store.failures, RECENT)]
    recent = [delivery_item(r) for r in await ctx.call(ctx.store.recent, RECENT)]

    def link(**changes: Any) -> str:
        params = {"tag": tag, "page": page} | changes
        shown = {k: str(v) for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
        return str(request.rel_url.with_query(shown))

    return ctx.render("status.html", rows=rows, total=len(chosen), all_total=len(snap.items), tags=snap.tags,
                      tag=tag, page=page, pages=pages, per_page=PER_PAGE, counts=counts, failures=failures,
                      recent=recent, link=link, now=now.strftime("%Y-%m-%d %H:%M:%S UTC"),
                      now_ms=int(now.timestamp() * 1000), poll_ms=POLL_SECONDS * 1000)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", status_page)
