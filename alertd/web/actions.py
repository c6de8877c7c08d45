"""`/a/TOKEN`: the signed action link in messages (alertd/core/links.py makes and checks tokens).

- `GET /a/TOKEN[?do=ack|snooze|done]` shows the deadline (title, due in its zone and in UTC, its
  state) and the buttons Acknowledge / Snooze 1 h / Done, the one `do` names first. A GET never
  changes anything: mail scanners and link previews open links.
- `POST /a/TOKEN` with `do` (form field, else the query) acts through the same `Store.act` as
  `alertd ack`, by `link` or the form's `name`. ntfy's buttons POST with no body: `?do=` says what.
- A token that is altered, expired, signed with another key, or for a due the deadline no longer
  has is answered 403 with a page that says why, and nothing changes.
- Cross-site browser posts are refused (Origin / Sec-Fetch-Site), and a browser's form must carry
  the token as a field; a client that is not a browser (ntfy's server, curl) sends neither header.

The token is the credential: these routes skip the API token (`@public`), the page never shows
it, and what is logged names the deadline, never the path.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from alertd.core.display import due_text, rfc3339_seconds, when_text
from alertd.core.links import Claim, Refusal, Refused, verify
from alertd.core.model import Deadline
from alertd.core.overview import deadline_item
from alertd.core.state import Act, Action
from alertd.core.zones import get_zone
from alertd.daemon.links import link_key
from alertd.web.api import LISTING
from alertd.web.auth import public
from alertd.web.context import CTX, WebContext

__all__ = ["LINK_BY", "SNOOZE", "add_routes"]

log = structlog.get_logger("alertd.web.actions")

LINK_BY = "link"  # who acted, when the form gave no name
SNOOZE = timedelta(hours=1)
NAME_MAX = 100
KEY = web.AppKey("alertd_link_key", bytes)
ACTS = {"ack": Act.ACK, "snooze": Act.SNOOZE, "done": Act.DONE}
BUTTONS = (("ack", "Acknowledge"), ("snooze", "Snooze 1 h"), ("done", "Done"))
WHY = {
    Refusal.MALFORMED: "This is not an alertd action link: it may have been cut short when it was copied.",
    Refusal.TAMPERED: "This link has been altered: its signature does not match.",
    Refusal.UNKNOWN_KEY: "This link was signed with another key than this alertd's (the key was changed, or the "
                         "link is from another alertd).",
    Refusal.EXPIRED: "This link has expired: action links work until 7 days after the deadline's due.",
    Refusal.OTHER_DUE: "The deadline's due has changed since this link was sent: use a link from a newer message.",
    Refusal.OTHER_DEADLINE: "This link is for a deadline that is no longer in alertd's config.",
}
DONE_WORDS = {Act.ACK: "Acknowledged", Act.SNOOZE: "Snoozed for 1 hour", Act.DONE: "Marked done"}
_BROWSER_SITES = frozenset({"same-origin", "none"})  # Sec-Fetch-Site values of a post from the page itself


def _key(request: web.Request) -> bytes:
    """The link key, as the daemon signs with it (read once: it never changes while it runs)."""
    app = request.app
    if KEY not in app:
        ctx = app[CTX]
        links = getattr(ctx.daemon.dispatcher, "links", None)
        app[KEY] = links.key if links is not None else link_key(ctx.settings, ctx.store)
    return app[KEY]


def _claim(request: web.Request, ctx: WebContext) -> Claim:
    claim = verify(request.match_info["token"], key=_key(request), now=ctx.now())
    d = ctx.deadlines.get(claim.deadline_id)
    if d is None:
        raise Refused(Refusal.OTHER_DEADLINE)
    claim.check(d.id, d.due)
    return claim


def _claim_or_refusal(request: web.Request, ctx: WebContext) -> Claim | web.Response:
    """The token's claim, or the 403 page saying why it was refused."""
    try:
        return _claim(request, ctx)
    except Refused as exc:
        log.info("link.refused", reason=exc.reason.value, method=request.method)
        return ctx.render("action_refused.html", status=403, why=WHY[exc.reason], reason=exc.reason.value)


def _view(ctx: WebContext, claim: Claim, token: str, *, chosen: str | None = None, message: str | None = None,
          status: int = 200, deadline: Deadline | None = None) -> web.Response:
    # `deadline`: the one acted on, kept across the store call's await (a reload meanwhile may
    # have removed it from ctx.deadlines; the answer still describes what was done).
    d = deadline if deadline is not None else ctx.deadlines[claim.deadline_id]
    held = ctx.states.get(d.id)
    item = deadline_item(d, held, now=ctx.now())
    act = None if held is None else {"acknowledged": held.acked, "snoozed": held.snoozed,
                                     "done": held.done}.get(item["state"])
    zone = get_zone(d.timezone)
    state = {"word": item["state"], "by": item["by"], "note": item["note"],
             "at": when_text(act.at, zone) if act is not None else None,
             "until": when_text(act.until, zone) if act is not None and act.until else None}
    response = ctx.render(
        "action.html", status=status, title=d.title, due_local=due_text(d), due_utc=due_text(d, UTC),
        zone=d.timezone, state=state, notes=d.notes, open=d.status == "open", message=message,
        buttons=sorted(BUTTONS, key=lambda b: b[0] != chosen), chosen=chosen, token=token,
        expires=rfc3339_seconds(claim.expires))
    response.headers["Cache-Control"] = "no-store"  # a shared cache must not keep a capability's page
    return response


def _cross_site(request: web.Request, ctx: WebContext) -> bool:
    """A browser post from another site. Sec-Fetch-Site, where the browser sends it, says so;
    else Origin must be one of ours. The page's `Referrer-Policy: no-referrer` makes Chromium send
    `Origin: null` with its own form posts, so `null` counts only when Sec-Fetch-Site vouches."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in _BROWSER_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    ours = {f"{request.scheme}://{request.host}".lower()}
    if ctx.settings.public_url:
        parts = urlsplit(ctx.settings.public_url)
        ours.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin.lower() not in ours


@public
async def show(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    claim = _claim_or_refusal(request, ctx)
    if isinstance(claim, web.Response):
        return claim
    chosen = request.query.get("do")
    return _view(ctx, claim, request.match_info["token"], chosen=chosen if chosen in ACTS else None)


@public
async def act(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    # Checked before the body is read (a bad link is refused at once, not after a body that may never
    # come), and again once the form is in, with no wait before the action is recorded: a reload while
    # the body arrived may have changed the due (the link is then useless) or removed the deadline.
    claim = _claim_or_refusal(request, ctx)
    if isinstance(claim, web.Response):
        return claim
    form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
    claim = _claim_or_refusal(request, ctx)
    if isinstance(claim, web.Response):
        return claim
    token = request.match_info["token"]
    browser = "Origin" in request.headers or "Sec-Fetch-Site" in request.headers
    if _cross_site(request, ctx) or (browser and form.get("token") != token):
        log.warning("link.cross_site_refused", deadline=claim.deadline_id)
        return ctx.render("action_refused.html", status=403, reason="cross_site",
                          why="This form was sent from another site, or without its token: nothing was changed. "
                              "Open the link from the message and press the button there.")
    what = form.get("do") or request.query.get("do")
    if not isinstance(what, str) or what not in ACTS:
        return _view(ctx, claim, token, status=400, message="Choose Acknowledge, Snooze 1 h or Done.")
    d = ctx.deadlines[claim.deadline_id]
    if d.status != "open":
        return _view(ctx, claim, token, status=409,
                     message=f"This deadline is {d.status} in its config: nothing to do here.")
    name = form.get("name")
    by = " ".join(name.split())[:NAME_MAX] if isinstance(name, str) and name.strip() else LINK_BY
    by = "".join(c for c in by if c.isprintable()) or LINK_BY
    now = ctx.now()
    act_ = ACTS[what]
    recorded, _ = await ctx.act(Action(d.id, d.due, act_, by, now, until=now + SNOOZE if act_ is Act.SNOOZE else None))
    _invalidate(request)
    log.info("link.used", deadline=d.id, act=what, recorded=recorded is not None)
    message = f"{DONE_WORDS[act_]} by {by}." if recorded is not None else "Nothing changed: it already was."
    return _view(ctx, claim, token, message=message, deadline=d)


def _invalidate(request: web.Request) -> None:
    """The status page and the API list the deadline's new state at once."""
    if LISTING in request.app:
        request.app[LISTING].invalidate()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/a/{token}", show)
    app.router.add_post("/a/{token}", act)
