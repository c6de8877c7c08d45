"""Microsoft Teams through a Workflows webhook: one Adaptive Card per notification.

Office 365 connectors are retired; a Workflows flow "When a Teams webhook request is
received" takes the same envelope, `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}`, and supports Adaptive
Cards only (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
connectors-using: "Workflows support Adaptive Cards only"; the envelope under "Send
Adaptive Cards using an Incoming Webhook"). The URL carries its signature (`sig=`): it
is the credential, never shown.

Text goes in RichTextBlock TextRuns, whose text "does not support Markdown" (Adaptive Cards
schema, TextRun), so a title like `**x**` or `[x](y)` shows as written. Messages are capped at
28 KB ("the message size limit is 28 KB", same page), the webhook at 4 requests a second.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertd.config.channels import TeamsChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.clip import clip_chars
from alertd.delivery.channels.http import post, raise_for_status, retry_after_seconds
from alertd.delivery.channels.pace import Turns
from alertd.delivery.channels.tone import ACTION_LABELS, Tone, action_links, tone

__all__ = ["MAX_BYTES", "TeamsSender", "card", "encode", "envelope"]

MAX_BYTES = 26_000  # under Teams' 28 KB, leaving room for the envelope
_TITLE_MAX = 500
_NOTES_MAX = 4_000  # characters; shortened further if the card would still be too large
_LINKS_MAX = 5
_INTERVAL = 0.25  # "If more than four requests are made in a second, the client connection is throttled"
_COLOR: dict[Tone, str] = {"test": "Default", "reminder": "Accent", "soon": "Warning", "due": "Attention",
                           "overdue": "Attention", "escalation": "Attention", "notice": "Good"}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def card(msg: Message, *, tone_: Tone, actions: Mapping[str, str] | None = None, notes_max: int = _NOTES_MAX) -> dict:
    """The Adaptive Card: title, how far (coloured by tone), the due per zone, notes, links, tags,
    and an Action.OpenUrl button per action link (Acknowledge, Snooze, Done) when there are any."""
    body: list[dict[str, Any]] = [
        _run(clip_chars(one_line(msg.title), _TITLE_MAX), size="Large", weight="Bolder"),
        _run(msg.headline.capitalize(), weight="Bolder", color=_COLOR[tone_]),
        *(_run(f"Due {due}") for due in msg.dues),
    ]
    if msg.late_note:
        body.append(_run(msg.late_note, isSubtle=True, italic=True))
    if msg.notes:
        body.append(_run(clip_chars(msg.notes.strip(), notes_max)))
    body += [_run(f"• {link}") for link in msg.links[:_LINKS_MAX]]
    if msg.tags:
        body.append(_run("Tags: " + ", ".join(msg.tags), isSubtle=True))
    for block in body:
        block["wrap"] = True
    actions = actions or {}
    buttons = [{"type": "Action.OpenUrl", "title": label, "url": actions[key]}
               for key, label in ACTION_LABELS.items() if key in actions]
    buttons += [{"type": "Action.OpenUrl", "title": f"Link {i}", "url": link}
                for i, link in enumerate(msg.links[:_LINKS_MAX], 1) if link.startswith(("https://", "http://"))]
    out: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                           "version": "1.2", "body": body, "msteams": {"width": "Full"}}
    if buttons:
        out["actions"] = buttons[:6]
    return out


def envelope(content: dict) -> dict[str, Any]:
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}]}


def encode(msg: Message, *, tone_: Tone, actions: Mapping[str, str] | None = None) -> bytes:
    """The request body, within MAX_BYTES: the notes shrink until it fits (non-ASCII notes are larger)."""
    notes_max = _NOTES_MAX
    while True:
        body = json.dumps(envelope(card(msg, tone_=tone_, actions=actions, notes_max=notes_max)),
                          ensure_ascii=False).encode()
        if len(body) <= MAX_BYTES or notes_max <= 100 or not msg.notes:
            return body
        notes_max = max(100, notes_max * MAX_BYTES // len(body) - 200)


class TeamsSender:
    def __init__(self, name: str, config: TeamsChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self._url = config.url.get_secret_value()
        self.turns = Turns(ctx.pacer_for(_INTERVAL), ctx.pacer.key(self._url))

    async def ready(self, note: Notification) -> None:
        await self.turns.ready(note.key)

    def body(self, note: Notification, *, now: datetime) -> bytes:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        return encode(msg, tone_=tone(note, now=now), actions=action_links(note))

    async def send(self, note: Notification, *, now: datetime) -> None:
        content = self.body(note, now=now)
        await self.turns.take(note.key)
        response = await post(self.ctx, self._url, content=content, headers={"Content-Type": "application/json"},
                              time_limit=self.config.timeout)
        if response.status_code == 429:  # every sender to this webhook waits, not only this one
            self.turns.hold(retry_after_seconds(response.headers.get("Retry-After"), now=now) or 1.0)
        # A Workflows webhook answers 202 Accepted. 400 (not an Adaptive Card), 401/403 (the
        # `sig` no longer valid), 404 (the flow was deleted or turned off) and 413 (over 28 KB)
        # cannot succeed on retry; 408, 429 and 5xx can (Retry-After honoured) — the defaults.
        raise_for_status(response, self.ctx, now=now)

