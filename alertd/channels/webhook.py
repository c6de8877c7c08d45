"""The generic JSON webhook channel (minimal first version: payload and signing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import httpx

from alertd.channels.base import DeliveryError, SendContext
from alertd.display import due_local, due_text, rfc3339
from alertd.notification import Notification

__all__ = ["WebhookSender", "payload"]


def payload(note: Notification, *, now: datetime) -> dict[str, Any]:
    d = note.deadline
    return {
        "type": note.kind,
        "timestamp": rfc3339(now),
        "data": {
            "alert_id": note.key,
            "deadline": {"id": d.id, "title": d.title, "due": rfc3339(d.due), "due_local": due_local(d),
                         "timezone": d.timezone, "notes": d.notes, "links": list(d.links), "tags": list(d.tags)},
            "lead": note.lead.iso,
            "scheduled_for": rfc3339(note.scheduled_for),
            "late_by_seconds": note.late_by_seconds,
            "text": f"{d.title}: due {due_text(d)}",
        },
    }


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature`: v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class WebhookSender:
    def __init__(self, name: str, config: Any, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    async def send(self, note: Notification, *, now: datetime) -> None:
        body = json.dumps(payload(note, now=now), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {k: v.get_secret_value() for k, v in self.config.headers.items()}
        headers["Content-Type"] = "application/json"
        if self.config.secret is not None:
            ts = int(now.timestamp())
            headers.update({
                "webhook-id": note.key,
                "webhook-timestamp": str(ts),
                "webhook-signature": sign(self.config.secret.get_secret_value(), note.key, ts, body),
            })
        try:
            resp = await self.ctx.http.post(self.config.url.get_secret_value(), content=body, headers=headers,
                                            timeout=self.config.timeout)
        except httpx.TimeoutException:
            raise DeliveryError("timed out") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(self.ctx.redact(f"network error: {type(exc).__name__}")) from None
        if 200 <= resp.status_code < 300:
            return
        retry = resp.status_code in (408, 429) or resp.status_code >= 500
        raise DeliveryError(f"HTTP {resp.status_code}", permanent=not retry)
