"""ntfy: a JSON publish to the server's root URL, louder as the due nears.

docs.ntfy.sh/publish, "Publish as JSON": `POST` the message object to the root URL (not the
topic URL); `topic` is required, with `title`, `message`, `priority` (1 min .. 5 max),
`tags` (names of emoji show as emoji), `click` (the URL a tap opens) and `actions` (up to
three buttons). "Access tokens": `Authorization: Bearer tk_...`. On a public server the
topic is the password ("the topic is essentially a password"): it and the token are
secrets. Plain text, no Markdown, so config text needs no escaping.

Limits ("Limitations"): "Each message can be up to 4,096 bytes long. Longer messages are
treated as attachments", so the message is clipped to 4,096 UTF-8 bytes; requests refill
"at a rate of one request per 5 seconds" once the burst is spent, so a 429 without a
`Retry-After` waits 5 s. Errors are JSON `{"code", "http", "error", "link"}` (server/errors.go).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertd.config.channels import NtfyChannel
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.clip import clip_bytes, clip_chars
from alertd.delivery.channels.http import json_body, post, raise_for_status
from alertd.delivery.channels.tone import ACTION_LABELS, Tone, action_links, tone

__all__ = ["MESSAGE_MAX_BYTES", "NtfySender", "publication"]

MESSAGE_MAX_BYTES = 4096
_TITLE_MAX = 250
_ACTIONS_MAX = 3  # "You can define up to three user actions"
_REFILL_SECONDS = 5.0
# Priority rises as the due nears: a reminder is "default", one within a day "high", the due and
# anything after it "max" ("Really long vibration bursts ... with a pop-over notification"); the
# acknowledged / done / snoozed notices are "low" ("No vibration or sound").
PRIORITY: dict[Tone, int] = {"test": 3, "notice": 2, "reminder": 3, "soon": 4, "due": 5, "overdue": 5,
                             "escalation": 5}
TAG: dict[Tone, str] = {"test": "test_tube", "notice": "white_check_mark", "reminder": "alarm_clock",
                        "soon": "hourglass_flowing_sand", "due": "rotating_light", "overdue": "rotating_light",
                        "escalation": "sos"}


def publication(msg: Message, *, topic: str, tone_: Tone, actions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON message: title, body within 4,096 bytes, priority and emoji tag by tone, the first
    link as the tap target, buttons for the action links and further links (three at most)."""
    lines = [msg.headline.capitalize(), *(f"Due {due}" for due in msg.dues)]
    if msg.late_note:
        lines.append(msg.late_note)
    if msg.notes:
        lines += ["", msg.notes.strip()]
    if msg.links:
        lines += ["", *msg.links]
    out: dict[str, Any] = {
        "topic": topic,
        "title": clip_chars(one_line(msg.title), _TITLE_MAX),
        "message": clip_bytes("\n".join(lines), MESSAGE_MAX_BYTES),
        "priority": PRIORITY[tone_],
        "tags": [TAG[tone_], *msg.tags],
    }
    # An action button POSTs to its link from the phone (ntfy's `http` action) and clears the
    # notification: acknowledged without opening a browser. https://docs.ntfy.sh/publish/#send-http-request
    buttons = [{"action": "http", "label": label, "url": url, "method": "POST", "clear": True}
               for key, label in ACTION_LABELS.items() if (url := (actions or {}).get(key))]
    web = [link for link in msg.links if link.startswith(("https://", "http://"))]
    if web:
        out["click"] = web[0]
        buttons += [{"action": "view", "label": f"Link {i}", "url": link} for i, link in enumerate(web, 1)]
    elif actions and "ack" in actions:
        out["click"] = actions["ack"].partition("?")[0]  # the page: the deadline and its buttons
    if buttons:
        out["actions"] = buttons[:_ACTIONS_MAX]
    return out


class NtfySender:
    def __init__(self, name: str, config: NtfyChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self._url = config.server + "/"

    def request(self, note: Notification, *, now: datetime) -> tuple[bytes, dict[str, str]]:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        body = publication(msg, topic=self.config.topic.get_secret_value(), tone_=tone(note, now=now),
                           actions=action_links(note))
        headers = {"Content-Type": "application/json"}
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        return json.dumps(body, ensure_ascii=False).encode(), headers

    async def send(self, note: Notification, *, now: datetime) -> None:
        content, headers = self.request(note, now=now)
        response = await post(self.ctx, self._url, content=content, headers=headers, time_limit=self.config.timeout)
        if 200 <= response.status_code < 300:
            return
        error = json_body(response).get("error")
        detail = self.ctx.redact(str(error))[:120] if error else None
        # 400 (a field ntfy refuses), 401/403 (the token cannot publish to the topic; server/errors.go
        # 40101, 40301, "see docs.ntfy.sh/publish/#authentication") and 413 cannot succeed as they
        # are; 429 (the request bucket, or the daily message quota) and 5xx are retried.
        raise_for_status(response, self.ctx, now=now, detail=detail,
                         retry_after=_REFILL_SECONDS if response.status_code == 429 else None)
