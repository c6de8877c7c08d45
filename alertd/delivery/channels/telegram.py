"""Telegram: the Bot API's `sendMessage` in HTML parse mode.

https://core.telegram.org/bots/api#sendmessage — `POST {api_url}/bot{token}/sendMessage`
with `chat_id` and `text`, "1-4096 characters after entities parsing": the limit is on the
visible text, which is clipped (counted in UTF-16 code units, as Telegram counts entity
offsets) before it is escaped. HTML style (#html-style): "All <, > and & symbols that are
not a part of a tag or an HTML entity must be replaced with the corresponding HTML
entities", so config text can never open a tag. The token is in the URL path: neither is shown.

Answers (#making-requests): `{"ok": false, "error_code", "description", "parameters"}`;
`parameters.retry_after` is "the number of seconds left to wait before the request can be
repeated" (flood control, 429), `parameters.migrate_to_chat_id` says the group became a
supergroup. Pace (core.telegram.org/bots/faq, "My bot is hitting limits, how do I avoid
this?"): at most one message a second to a chat, 20 a minute to a group.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertd.config.channels import TelegramChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.clip import clip_utf16, utf16_len
from alertd.delivery.channels.http import json_body, post, raise_for_status
from alertd.delivery.channels.pace import Turns
from alertd.delivery.channels.tone import ACTION_LABELS, action_links, tone

__all__ = ["TEXT_MAX", "TelegramSender", "message_html"]

TEXT_MAX = 4096
_TITLE_MAX = 500
_LINKS_MAX = 10
_PRIVATE_INTERVAL = 1.0  # "avoid sending more than one message per second" to one chat
_GROUP_INTERVAL = 3.0  # "not ... more than 20 messages per minute to the same group"


def message_html(msg: Message) -> str:
    """The message as Telegram HTML whose visible text fits TEXT_MAX: the notes give way first."""
    head = [("b", clip_utf16(one_line(msg.title), _TITLE_MAX)), ("i", msg.headline.capitalize()),
            *(("", f"Due {due}") for due in msg.dues)]
    if msg.late_note:
        head.append(("i", msg.late_note))
    tail = [("", link) for link in msg.links[:_LINKS_MAX]]
    if msg.tags:
        tail.append(("", "Tags: " + ", ".join(msg.tags)))
    notes: list[tuple[str, str]] = []
    if msg.notes:
        fixed = "\n".join(text for _, text in head + tail)
        room = TEXT_MAX - utf16_len(fixed) - 4  # the blank lines around the notes
        if room > 20:
            notes = [("", clip_utf16(msg.notes.strip(), room))]
    blocks = ["\n".join(_tag(t, text) for t, text in head)]
    blocks += ["\n".join(_tag(t, text) for t, text in part) for part in (notes, tail) if part]
    return "\n\n".join(blocks)


def _tag(tag: str, text: str) -> str:
    escaped = html.escape(text, quote=False)  # <, > and & only; quotes are plain text outside tags
    return f"<{tag}>{escaped}</{tag}>" if tag else escaped


def keyboard(actions: Mapping[str, str]) -> dict[str, Any] | None:
    """An inline keyboard with a URL button per action link (Acknowledge, Snooze, Done)."""
    row = [{"text": label, "url": actions[key]} for key, label in ACTION_LABELS.items() if key in actions]
    return {"inline_keyboard": [row]} if row else None


class TelegramSender:
    def __init__(self, name: str, config: TelegramChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        token = config.token.get_secret_value()
        self._url = f"{config.api_url}/bot{token}/sendMessage"
        group = config.chat_id.startswith(("-", "@"))
        pacer = ctx.pacer_for(_GROUP_INTERVAL if group else _PRIVATE_INTERVAL)
        self.turns = Turns(pacer, ctx.pacer.key(f"{token}\x1f{config.chat_id}"))

    async def ready(self, note: Notification) -> None:
        await self.turns.ready(note.key)

    def body(self, note: Notification, *, now: datetime) -> dict[str, Any]:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        chat: int | str = int(self.config.chat_id) if self.config.chat_id[0] != "@" else self.config.chat_id
        out: dict[str, Any] = {"chat_id": chat, "text": message_html(msg), "parse_mode": "HTML",
                               "link_preview_options": {"is_disabled": True},
                               # a notice (acknowledged, done, snoozed) informs; it need not ring
                               "disable_notification": tone(note, now=now) == "notice"}
        markup = keyboard(action_links(note))
        if markup:
            out["reply_markup"] = markup
        return out

    async def send(self, note: Notification, *, now: datetime) -> None:
        content = json.dumps(self.body(note, now=now), ensure_ascii=False).encode()
        await self.turns.take(note.key)
        response = await post(self.ctx, self._url, content=content, headers={"Content-Type": "application/json"},
                              time_limit=self.config.timeout)
        status = response.status_code
        if 200 <= status < 300:
            return
        data = json_body(response)
        params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        description = self.ctx.redact(str(data.get("description") or ""))[:160] or None
        hint = params.get("retry_after")
        retry_after = float(hint) if isinstance(hint, int | float) and hint >= 0 else None
        if status == 429:
            self.turns.hold(retry_after or 1.0)
        if params.get("migrate_to_chat_id") is not None:
            raise DeliveryError(f"HTTP {status}: the group is now a supergroup; set chat_id to "
                                f"{params['migrate_to_chat_id']}", permanent=True)
        # 400 (chat not found, can't parse entities), 401 (token revoked), 403 (the bot was
        # blocked or removed from the chat) and 404 (no such bot) need a change of config;
        # 429 and 5xx are retried after `retry_after`.
        raise_for_status(response, self.ctx, now=now, retry_after=retry_after, detail=description)
