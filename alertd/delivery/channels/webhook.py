"""The generic JSON webhook: the payload of docs/webhook.md, signed with Standard Webhooks when keyed.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
`webhook-id` is the delivery key, so it is the same on every retry and after a
restart and receivers can dedupe on it; `webhook-timestamp` is the attempt's time,
so each attempt is signed afresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from alertd.config.checks import FIXED_HEADERS
from alertd.config.schema import WebhookChannel
from alertd.core.display import due_local, rfc3339
from alertd.core.message import render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import USER_AGENT, SendContext
from alertd.delivery.channels.http import post, raise_for_status, url_secrets

__all__ = ["WebhookSender", "payload", "sign"]



def payload(note: Notification, *, now: datetime, channel_zone: str | None = None) -> dict[str, Any]:
    """The JSON document docs/webhook.md describes, for `note` sent at `now`.

    Alerts carry `lead`, `scheduled_for`, `late_by_seconds`, `ack_command` and, with a public URL, the
    signed `actions` links; after the due also
    `overdue_by_seconds`, and an escalation its `escalation_step`. A notice (`deadline.acknowledged`,
    `deadline.done`, `deadline.snoozed`) carries `by`, `note`, `at` and `until` (a snooze's end) instead.
    """
    d = note.deadline
    data: dict[str, Any] = {
        "alert_id": note.key,
        "deadline": {"id": d.id, "title": d.title, "due": rfc3339(d.due), "due_local": due_local(d),
                     "timezone": d.timezone, "notes": d.notes, "links": list(d.links), "tags": list(d.tags)},
    }
    action = note.action
    if action is not None:
        data |= {"by": action.by, "note": action.note, "at": rfc3339(action.at),
                 "until": rfc3339(action.until) if action.until is not None else None}
    else:
        data |= {"lead": note.lead.iso, "scheduled_for": rfc3339(note.scheduled_for),
                 "late_by_seconds": note.late_by_seconds}
        if note.lead.is_after_due:
            data["overdue_by_seconds"] = max(int((now - d.due).total_seconds()), 0)
        if note.step:
            data["escalation_step"] = note.step
        if note.kind != "alertd.test":
            data["ack_command"] = f"alertd ack {d.id}"
        if note.actions is not None:
            # GET `url`: the page with the action chosen; POST `url`: the action, as its button does
            data["actions"] = [{"action": key, "label": label, "url": url}
                               for key, label, url in note.actions.buttons()]
    data["text"] = render(note, now=now, channel_zone=channel_zone).text
    return {"type": note.kind, "timestamp": rfc3339(now), "data": data}


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class WebhookSender:
    def __init__(self, name: str, config: WebhookChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        ctx.redact.update(url_secrets(config.url.get_secret_value()))

    def request(self, note: Notification, *, now: datetime) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one attempt (pure given `now`)."""
        body = json.dumps(payload(note, now=now, channel_zone=self.config.timezone), ensure_ascii=False,
                          separators=(",", ":")).encode()
        # The configured headers cannot replace the ones alertd fixes (type, agent, signature).
        headers = {k: v.get_secret_value() for k, v in self.config.headers.items()
                   if k.lower() not in FIXED_HEADERS and not k.lower().startswith("webhook-")}
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        if self.config.secret is not None:
            ts = int(now.timestamp())
            headers["webhook-id"] = note.key
            headers["webhook-timestamp"] = str(ts)
            headers["webhook-signature"] = sign(self.config.secret.get_secret_value(), note.key, ts, body)
        return body, headers

    async def send(self, note: Notification, *, now: datetime) -> None:
        body, headers = self.request(note, now=now)
        response = await post(self.ctx, self.config.url.get_secret_value(), content=body, headers=headers,
                              time_limit=self.config.timeout)
        raise_for_status(response, self.ctx, now=now)
