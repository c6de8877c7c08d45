"""Slack incoming webhooks (and Slack-compatible endpoints): Block Kit plus a `text` fallback.

https://api.slack.com/messaging/webhooks — the URL is the credential, so it never
appears in a message or log; the pacer keys it by its hash.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from alertd.config.schema import SlackChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.http import body_hint, post, raise_for_status, url_secrets

__all__ = ["SlackSender", "blocks", "escape", "link", "mrkdwn"]

_HEADER_MAX = 150  # Block Kit: a header's plain_text is at most 150 characters
_SECTION_MAX = 3000  # and a section's text at most 3,000
_CONTEXT_MAX = 10  # and a context block at most 10 elements


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LINK_UNSAFE = re.compile(r"[|\s]")  # `|` ends a link's URL in `<url|label>`; whitespace ends the link


def escape(text: str) -> str:
    """Slack mrkdwn escaping: only &, < and > are special (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    """Plain text (no escapes) of at most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str, limit: int) -> str:
    """`text` escaped, at most `limit` characters as sent: a cut falls between escapes, never in one."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    size, keep = 1, 0  # the ellipsis
    for char in text:
        size += len(_ESCAPES.get(char, char))
        if size > limit:
            break
        keep += 1
    return escape(text[:keep]) + "…"


def _clip_lines(lines: list[str], limit: int) -> str:
    """Whole mrkdwn lines while they fit in `limit` characters, then `…`: a cut inside a line could
    leave a link, an escape or an emphasis open."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = len("\n…")
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, "…"])


def link(url: str) -> str:
    """A link as mrkdwn `<url>`: escaped, and a `|` (which would start a label) or whitespace
    percent-encoded, as a URL has them anyway."""
    return "<" + escape(_LINK_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)) + ">"


def blocks(msg: Message) -> list[dict[str, Any]]:
    """The Block Kit layout: header, when (zones + how far), notes, links, tags."""
    when = [f"*{escape(msg.headline[:1].upper() + msg.headline[1:])}*", *(f"Due {escape(str(d))}" for d in msg.dues)]
    if msg.late_note:
        when.append(f"_{escape(msg.late_note)}_")
    if msg.remark:
        when.append(f"> {escape(msg.remark)}")
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(one_line(msg.title), _HEADER_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip_lines(when, _SECTION_MAX)}},
    ]
    if msg.notes:
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(msg.notes, _SECTION_MAX)}})
    if msg.links:
        lines = [f"• {link(url)}" for url in msg.links]
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip_lines(lines, _SECTION_MAX)}})
    if msg.tags:
        tags = [{"type": "mrkdwn", "text": f"`{escape(tag)}`"} for tag in msg.tags[:_CONTEXT_MAX]]
        out.append({"type": "context", "elements": tags})
    if msg.actions:
        # url buttons open the signed page; Slack still posts an interaction to the app's request URL
        # if it has one, which incoming webhooks need not (https://api.slack.com/reference/block-kit/block-elements#button)
        out.append({"type": "actions", "elements": [
            {"type": "button", "action_id": f"alertd-{key}", "text": {"type": "plain_text", "text": label},
             "url": url, **({"style": "primary"} if key == "ack" else {})}
            for key, label, url in msg.actions.buttons()]})
    if msg.hint:
        what, _, command = msg.hint.partition(": ")
        text = f"{escape(what)}: `{escape(command)}`"
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return out


class SlackSender:
    def __init__(self, name: str, config: SlackChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        ctx.redact.update(url_secrets(config.url.get_secret_value()))
        self._url = config.url.get_secret_value()
        self._pace_key = ctx.pacer.key(self._url)
        self._paced: set[str] = set()  # notes whose pacing slot `ready` already waited for

    async def ready(self, note: Notification) -> None:
        """Wait for this webhook's next one-a-second slot (the dispatcher calls this first)."""
        await self.ctx.pacer.wait(self._pace_key)
        self._paced.add(note.key)

    def body(self, note: Notification, *, now: datetime) -> dict[str, Any]:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        return {"text": escape(msg.summary), "blocks": blocks(msg)}  # the fallback is mrkdwn too

    async def send(self, note: Notification, *, now: datetime) -> None:
        content = json.dumps(self.body(note, now=now), ensure_ascii=False).encode()
        if note.key in self._paced:
            self._paced.discard(note.key)
        else:
            await self.ctx.pacer.wait(self._pace_key)
        response = await post(self.ctx, self._url, content=content,
                              headers={"Content-Type": "application/json"}, time_limit=self.config.timeout)
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = body_hint(response, self.ctx)
        if status == 429:
            try:
                raise_for_status(response, self.ctx, now=now, detail=reason or "rate limited")
            except DeliveryError as exc:
                # Every sender to this URL waits, not only the one that was told to.
                self.ctx.pacer.hold(self._pace_key, exc.retry_after or 1.0)
                raise
        # Slack's documented webhook errors: 400 invalid_payload, 403 action_prohibited /
        # posting_to_general_channel_denied, 404 channel_not_found / no_service, 410
        # channel_is_archived. None of them can succeed on retry; the webhook or the
        # message must change. https://api.slack.com/messaging/webhooks#handling_errors
        permanent = True if status in (400, 403, 404, 410) else None
        raise_for_status(response, self.ctx, now=now, permanent=permanent, detail=reason)
