"""The JSON API under /api/v1/ (its OpenAPI 3.1 document: openapi.py, served at /api/v1/openapi.json).

- `GET deadlines?tag=&state=&limit=&offset=`: the deadlines in status order (views.py), a page.
- `GET deadlines/{id}`: one deadline.
- `GET alerts?from=&until=&limit=`: the alerts in [from, until) as `alertd plan --json` prints them.
- `GET deliveries?deadline=&state=&since=&limit=&before=&before_key=`: ledger rows, newest change first;
  `next` is the URL of the next page (`before` and `before_key` name the last row of this one).
- `POST deadlines/{id}/ack|snooze|done|reopen`: JSON `{"by", "note", "until" | "duration"}`,
  recorded through the store's `act` as `alertd ack` records it, applied by the daemon at once.
Errors are problem+json (problems.py): 401 without the token (auth.py), 404 for an unknown id,
409 for a deadline the config closed, 415 for a body that is not JSON, 422 for a bad parameter
or body, 413 for a body over 64 KiB.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from alertd.core.display import rfc3339
from alertd.core.leads import LeadError, parse_span
from alertd.core.overview import plan_item
from alertd.core.planner import plan
from alertd.core.state import Act, Action, Condition
from alertd.store.base import FINAL_STATES, OPEN_STATES
from alertd.store.pages import DeliveryQuery, delivery_item
from alertd.web.context import CTX, WebContext
from alertd.web.openapi import document
from alertd.web.problems import problem
from alertd.web.views import Listing, ParamError, compute, int_param

__all__ = ["LISTING", "add_routes"]

PREFIX = "/api/v1"
BY_MAX, NOTE_MAX = 200, 2000  # characters, as for `alertd ack --by/--note`
MAX_WINDOW = timedelta(days=366)
STATES = tuple(c.value for c in Condition)
DELIVERY_STATES = OPEN_STATES + FINAL_STATES
LISTING = web.AppKey("alertd_listing", Listing)


def _instant(query: dict[str, str] | Any, name: str) -> datetime | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ParamError(name, "must be an RFC 3339 instant, e.g. 2030-05-21T12:00:00Z") from None
    if value.tzinfo is None:
        raise ParamError(name, "must name its offset (Z or +HH:MM)")
    return value


def _choice(query: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ParamError(name, f"must be one of {', '.join(allowed)}")
    return value


def _unprocessable(exc: ParamError) -> web.Response:
    return problem(422, str(exc), errors=[{"name": exc.name, "detail": exc.detail}])


async def list_deadlines(request: web.Request) -> web.Response:
    q = request.query
    try:
        limit = int_param(q, "limit", 100, 1, 1000)
        offset = int_param(q, "offset", 0, 0, 10**9)
        state = _choice(q, "state", STATES)
    except ParamError as exc:
        return _unprocessable(exc)
    snap = await request.app[LISTING].get(request.app[CTX])
    chosen = snap.select(tag=q.get("tag"), state=state)
    page = chosen[offset:offset + limit]
    nxt = None
    if offset + limit < len(chosen):
        nxt = str(request.rel_url.update_query({"offset": str(offset + limit), "limit": str(limit)}))
    return web.json_response({"deadlines": page, "total": len(chosen), "offset": offset, "limit": limit,
                              "next": nxt, "at": rfc3339(snap.at)})


def _one(ctx: WebContext, deadline_id: str) -> dict[str, Any] | None:
    d = ctx.deadlines.get(deadline_id)
    if d is None:
        return None
    return compute([d], ctx.states, ctx.now()).items[0]


async def get_deadline(request: web.Request) -> web.Response:
    item = _one(request.app[CTX], request.match_info["id"])
    if item is None:
        return problem(404, f"no deadline {request.match_info['id']!r} is loaded")
    return web.json_response(item)


async def list_alerts(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query
    try:
        start, end = _instant(q, "from"), _instant(q, "until")
        if start is None:
            start = ctx.now() if end is None or end > ctx.now() else end - timedelta(days=30)
        end = end or start + timedelta(days=30)
        limit = int_param(q, "limit", 1000, 1, 10000)
        if end < start:
            raise ParamError("until", "is before from")
        if end - start > MAX_WINDOW:
            raise ParamError("until", "is more than 366 days after from")
    except ParamError as exc:
        return _unprocessable(exc)
    deadlines = list(ctx.deadlines.values())
    alerts = await asyncio.to_thread(plan, deadlines, start=start, end=end)
    return web.json_response({"alerts": [plan_item(a) for a in alerts[:limit]], "from": rfc3339(start),
                              "until": rfc3339(end), "truncated": len(alerts) > limit})


async def list_deliveries(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query
    try:
        before = _instant(q, "before")
        after = (before, q.get("before_key", "\uffff")) if before is not None else None
        query = DeliveryQuery(deadline=q.get("deadline"), state=_choice(q, "state", DELIVERY_STATES),
                              since=_instant(q, "since"), after=after, limit=int_param(q, "limit", 100, 1, 1000))
    except ParamError as exc:
        return _unprocessable(exc)
    rows = await ctx.call(ctx.store.deliveries, query)
    nxt = None
    if len(rows) == query.limit:
        last = rows[-1]
        nxt = str(request.rel_url.update_query({"before": rfc3339(last.updated_at), "before_key": last.key}))
    return web.json_response({"deliveries": [delivery_item(r) for r in rows], "next": nxt})


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    """`by` or `note`: a string of at most `limit` characters. Control characters (but a note's newlines
    and tabs) and lone surrogates become U+FFFD; blank is as if absent."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str):
        raise ParamError(name, "must be a string")
    if len(value) > limit:
        raise ParamError(name, f"is longer than {limit} characters")
    value = _CONTROL.sub("\ufffd", value if name == "note" else value.replace("\n", " ").replace("\t", " "))
    return value.strip() or None


def _until(body: dict[str, Any], now: datetime) -> datetime:
    if ("until" in body) == ("duration" in body):
        raise ParamError("duration", "a snooze takes a duration (30m, 2h, 1d) or an until instant, not both")
    if "until" in body:
        if not isinstance(body["until"], str):
            raise ParamError("until", "must be an RFC 3339 instant")
        end = _instant(body, "until")
        if end is not None and end <= now:
            raise ParamError("until", f"is in the past ({rfc3339(now)} now)")
        return end or now
    try:
        seconds = parse_span(body["duration"], "duration")
    except LeadError as exc:
        raise ParamError("duration", str(exc)) from None
    if seconds <= 0:
        raise ParamError("duration", "a snooze must last longer than 0")
    end = now + timedelta(seconds=seconds)
    return end + timedelta(microseconds=-end.microsecond % 1_000_000) if end.microsecond else end  # whole second


FIELDS = {"by", "note", "until", "duration"}


async def act(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    what = Act(request.match_info["act"])
    d = ctx.deadlines.get(request.match_info["id"])
    if d is None:
        return problem(404, f"no deadline {request.match_info['id']!r} is loaded")
    if request.content_type != "application/json":
        return problem(415, "send the body as application/json (it may be {})")
    try:
        body = await request.json()
    except ValueError:
        return problem(422, "the body is not JSON", errors=[{"name": "body", "detail": "is not JSON"}])
    now = ctx.now()
    try:
        if not isinstance(body, dict):
            raise ParamError("body", "must be a JSON object")
        extra = sorted(set(body) - (FIELDS if what is Act.SNOOZE else {"by", "note"}))
        if extra:
            raise ParamError(extra[0], "is not a field of this request")
        by = _text(body, "by", BY_MAX) or "api"
        note = _text(body, "note", NOTE_MAX)
        until = _until(body, now) if what is Act.SNOOZE else None
    except ParamError as exc:
        return _unprocessable(exc)
    d = ctx.deadlines.get(d.id)  # as loaded now: a reload while the body arrived may have changed its due
    if d is None:
        return problem(404, f"no deadline {request.match_info['id']!r} is loaded")
    if d.status != "open":
        return problem(409, f"{d.id} is {d.status} in its config ({d.source}): change `status` there")
    recorded, _ = await ctx.act(Action(d.id, d.due, what, by, now, note=note, until=until))
    request.app[LISTING].invalidate()
    return web.json_response({"recorded": recorded is not None, "deadline": _one(ctx, d.id)})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(), headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    app[LISTING] = Listing()
    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    app.router.add_get(f"{PREFIX}/deadlines", list_deadlines)
    app.router.add_get(PREFIX + "/deadlines/{id}", get_deadline)
    app.router.add_post(PREFIX + "/deadlines/{id}/{act:ack|snooze|done|reopen}", act)
    app.router.add_get(f"{PREFIX}/alerts", list_alerts)
    app.router.add_get(f"{PREFIX}/deliveries", list_deliveries)
