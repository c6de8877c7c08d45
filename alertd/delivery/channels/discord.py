"""Discord webhooks: one embed per notification, no pings.

Execute Webhook, `POST /webhooks/{id}/{token}?wait=true` (discord.com/developers/docs/
resources/webhook): with `wait=true` Discord confirms the message was saved ("when false a
message that is not saved does not return an error"). The token is in the URL, so the URL
is the credential. `allowed_mentions: {"parse": []}` keeps an `@everyone` or `<@id>` in a
title from pinging anyone.

Limits (docs/resources/message, "Embed Limits"): title 256, description 4096, field value
1024, footer 2048, all embeds together 6000 characters, "Violating any of these
constraints will result in a Bad Request". Counted here in UTF-16 code units, as Discord's
clients do, so an emoji title can never tip it over.

Rate limits (docs/topics/rate-limits): a 429 carries `Retry-After` and a JSON body with
`retry_after` (float seconds); both are honoured, and every sender to the webhook holds off.
`X-RateLimit-Remaining: 0` with `X-RateLimit-Reset-After` on a success also holds it off
("your app should parse response headers to prevent hitting the limit").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alertd.config.channels import DiscordChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.clip import clip_utf16
from alertd.delivery.channels.http import json_body, post, raise_for_status
from alertd.delivery.channels.pace import Turns
from alertd.delivery.channels.tone import ACTION_LABELS, Tone, action_links, tone

__all__ = ["DiscordSender", "embed", "escape", "execute_url"]

_TITLE_MAX = 256
_DESCRIPTION_MAX = 4096
_FOOTER_MAX = 2048
_CONTENT_MAX = 2000
_NOTES_MAX = 3000  # with title and the rest well within the 6,000 total
_COLOR: dict[Tone, int] = {"test": 0x95A5A6, "reminder": 0x3498DB, "soon": 0xF1C40F, "due": 0xE67E22,
                           "overdue": 0xE74C3C, "escalation": 0xC0392B, "notice": 0x2ECC71}
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<:-])")


def escape(text: str) -> str:
    """Backslash-escape Discord's markdown, so text shows as written (`**x**`, `[a](b)`, `<@1>`)."""
    return _MARKDOWN.sub(r"\\\1", text)


def execute_url(url: str) -> str:
    """The webhook URL with `wait=true` added (its other query parameters, e.g. thread_id, kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("wait", "true")])))


def embed(msg: Message, *, tone_: Tone, actions: Mapping[str, str] | None = None) -> dict[str, Any]:
    lines = [f"**{escape(msg.headline.capitalize())}**", *(f"Due {escape(str(d))}" for d in msg.dues)]
    if msg.late_note:
        lines.append(f"*{escape(msg.late_note)}*")
    if msg.notes:
        lines += ["", clip_utf16(escape(msg.notes.strip()), _NOTES_MAX)]
    links = [f"[{label}]({url})" for key, label in ACTION_LABELS.items() if (url := (actions or {}).get(key))]
    links += [f"<{link}>" for link in msg.links[:10]]
    if links:
        lines += ["", *links]
    out: dict[str, Any] = {
        "title": clip_utf16(escape(one_line(msg.title)), _TITLE_MAX),
        "description": clip_utf16("\n".join(lines), _DESCRIPTION_MAX),
        "color": _COLOR[tone_],
    }
    if msg.tags:
        out["footer"] = {"text": clip_utf16("Tags: " + ", ".join(msg.tags), _FOOTER_MAX)}
    return out


class DiscordSender:
    def __init__(self, name: str, config: DiscordChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self._url = execute_url(config.url.get_secret_value())
        self.turns = Turns(ctx.pacer_for(0.0), ctx.pacer.key(config.url.get_secret_value()))

    async def ready(self, note: Notification) -> None:
        await self.turns.ready(note.key)

    def body(self, note: Notification, *, now: datetime) -> dict[str, Any]:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        return {"content": clip_utf16(escape(msg.summary), _CONTENT_MAX),
                "embeds": [embed(msg, tone_=tone(note, now=now), actions=action_links(note))],
                "allowed_mentions": {"parse": []}}

    async def send(self, note: Notification, *, now: datetime) -> None:
        content = json.dumps(self.body(note, now=now), ensure_ascii=False).encode()
        await self.turns.take(note.key)
        response = await post(self.ctx, self._url, content=content, headers={"Content-Type": "application/json"},
                              time_limit=self.config.timeout)
        self._note_bucket(response.headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        data = json_body(response)
        hint = data.get("retry_after")
        retry_after = float(hint) if isinstance(hint, int | float) and hint >= 0 else None
        detail = self.ctx.redact(str(data.get("message") or ""))[:120] or None  # redact, then cut
        if status == 429:
            self.turns.hold(retry_after or 1.0)
        # 401 (invalid webhook token) and 404 (webhook deleted: "If a webhook returns a 404
        # status you should not attempt to use it again", docs/topics/rate-limits) are final,
        # as is 400 (an embed over its limits) and any other 4xx but 408/429; 429 and 5xx are
        # retried, after `retry_after`.
        raise_for_status(response, self.ctx, now=now, retry_after=retry_after, detail=detail)

    def _note_bucket(self, headers: Mapping[str, str]) -> None:
        if headers.get("X-RateLimit-Remaining") == "0":
            try:
                self.turns.hold(max(0.0, float(headers.get("X-RateLimit-Reset-After", "1"))))
            except ValueError:
                self.turns.hold(1.0)
