"""Matrix: an `m.notice` to one room through the client-server API, idempotent by transaction id.

spec.matrix.org/latest/client-server-api: `PUT /_matrix/client/v3/rooms/{roomId}/send/
m.room.message/{txnId}` with `Authorization: Bearer <access_token>`. "Transaction
identifiers": the homeserver "should identify a request as a retransmission if the
transaction ID is the same" and answer as the first time, so the delivery key, the same on
every retry and after a restart, is the txnId and a resend never posts twice. `m.notice` is
the msgtype for automated senders; `"m.mentions": {}` says the message mentions nobody, so
an `@room` in a title notifies no one. The HTML body escapes every config text.

Errors ("Standard error response"): JSON `{"errcode", "error"}`; "Errors are generally best
expressed by their error code rather than the HTTP status code". `M_LIMIT_EXCEEDED` (429)
waits for `Retry-After`, else the deprecated `retry_after_ms`; `M_RESOURCE_LIMIT_EXCEEDED`
is the homeserver's own limit, worth a retry; `M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`,
`M_FORBIDDEN` (not in the room), `M_NOT_FOUND`, `M_BAD_JSON`, `M_NOT_JSON` and other 4xx
are final. "The complete event MUST NOT be larger than 65536 bytes" ("Size limits"): the
bodies are clipped well below that.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from alertd.config.channels import MatrixChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.clip import clip_bytes, clip_chars
from alertd.delivery.channels.http import json_body, raise_for_status, request
from alertd.delivery.channels.pace import Turns
from alertd.delivery.channels.tone import ACTION_LABELS, action_links

__all__ = ["MatrixSender", "content", "send_url"]

_NOTES_MAX_BYTES = 12_000  # plain and HTML bodies together stay far below the 64 KiB event
_TITLE_MAX = 500
_RETRYABLE_CODES = frozenset({"M_LIMIT_EXCEEDED", "M_RESOURCE_LIMIT_EXCEEDED"})


def send_url(homeserver: str, room: str, txn_id: str) -> str:
    return (f"{homeserver}/_matrix/client/v3/rooms/{quote(room, safe='')}/send/m.room.message/"
            f"{quote(txn_id, safe='')}")


def content(msg: Message, *, actions: dict[str, str] | None = None) -> dict[str, Any]:
    """The event content: a plain `body` and the same as `org.matrix.custom.html`."""
    e = html.escape
    title = clip_chars(one_line(msg.title), _TITLE_MAX)
    notes = clip_bytes(msg.notes.strip(), _NOTES_MAX_BYTES) if msg.notes else None
    links = [(label, url) for key, label in ACTION_LABELS.items() if (url := (actions or {}).get(key))]
    links += [(link, link) for link in msg.links]
    plain = [f"{title} — {msg.headline}", *(f"Due {due}" for due in msg.dues)]
    rich = [f"<strong>{e(title)}</strong> — <em>{e(msg.headline)}</em>", *(f"Due {e(str(due))}" for due in msg.dues)]
    if msg.late_note:
        plain.append(msg.late_note)
        rich.append(f"<em>{e(msg.late_note)}</em>")
    if notes:
        plain += ["", notes]
        rich += ["", e(notes)]
    if links:
        plain += ["", *(url if text == url else f"{text}: {url}" for text, url in links)]
        rich += ["", *(f'<a href="{e(url)}">{e(text)}</a>' for text, url in links)]
    if msg.tags:
        plain += ["", "Tags: " + ", ".join(msg.tags)]
        rich += ["", "Tags: " + e(", ".join(msg.tags))]
    return {"msgtype": "m.notice", "body": "\n".join(plain), "format": "org.matrix.custom.html",
            "formatted_body": "<br>".join(rich), "m.mentions": {}}


class MatrixSender:
    def __init__(self, name: str, config: MatrixChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self.turns = Turns(ctx.pacer_for(0.0), ctx.pacer.key(f"{config.homeserver}\x1f{config.room}"))

    async def ready(self, note: Notification) -> None:
        await self.turns.ready(note.key)

    async def send(self, note: Notification, *, now: datetime) -> None:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        body = json.dumps(content(msg, actions=dict(action_links(note))), ensure_ascii=False).encode()
        await self.turns.take(note.key)
        response = await request(
            self.ctx, "PUT", send_url(self.config.homeserver, self.config.room, note.key), content=body,
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self.config.access_token.get_secret_value()}"},
            time_limit=self.config.timeout)
        status = response.status_code
        if 200 <= status < 300:
            return
        data = json_body(response)
        code = str(data.get("errcode") or "")
        hint = data.get("retry_after_ms")
        retry_after = hint / 1000 if isinstance(hint, int | float) and hint >= 0 else None
        if status == 429 or code == "M_LIMIT_EXCEEDED":
            self.turns.hold(retry_after or 1.0)
        detail = self.ctx.redact(" ".join(filter(None, [code, str(data.get("error") or "")])))[:160] or None
        raise_for_status(response, self.ctx, now=now, detail=detail, retry_after=retry_after,
                         permanent=False if code in _RETRYABLE_CODES else None)
