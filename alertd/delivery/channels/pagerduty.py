"""PagerDuty Events API v2: one alert per deadline due, triggered, acknowledged and resolved.

developer.pagerduty.com/docs/events-api-v2/trigger-events: `POST /v2/enqueue` with
`routing_key`, `event_action` (`trigger`, `acknowledge`, `resolve`), `dedup_key` (at most
255 characters) and, for a trigger, `payload.summary` (at most 1024), `source`, `severity`
(`critical`, `error`, `warning`, `info`). "Submitting subsequent events for the same
`dedup_key` will result in those events being applied to an open alert": the key here is
the deadline and its due, so every reminder, the due alert, repeats and escalation steps of
one due land on one alert, and the acknowledge and done notices act on it. A changed due (an
extension) is a new alert, as it is everywhere in alertd.

Kinds: `deadline.acknowledged` → acknowledge, `deadline.done` → resolve,
`deadline.snoozed` → acknowledge (a snooze silences; PagerDuty's own acknowledgement
timeout, when the service sets one, re-triggers), every other kind → trigger.

Answers (events-api-v2/overview, "Response Codes & Retry Logic"): 202 accepted; 400 "Check
that the JSON is valid" — Retry? "No"; 429 "Yes - retry after some time", 5xx and network
errors likewise. The 429 carries no Retry-After; rate-limits says "retrying 3 times with each
request being 30 seconds apart", so a 429 without one waits 30 s. About 120 events a minute
per integration key, so sends to one key are spaced half a second.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from alertd.config.channels import PagerDutyChannel
from alertd.core.display import rfc3339
from alertd.core.message import render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.clip import clip_chars
from alertd.delivery.channels.http import json_body, post, raise_for_status
from alertd.delivery.channels.pace import Turns
from alertd.delivery.channels.tone import ACTION_LABELS, Tone, action_links, tone

__all__ = ["PagerDutySender", "dedup_key", "event", "event_action"]

_SUMMARY_MAX = 1024
_DEDUP_MAX = 255
_NOTES_MAX = 8000  # custom details; the whole event is limited to 512 KB
_RATE_LIMIT_WAIT = 30.0
_INTERVAL = 0.5  # "approximately 120 calls/minute per integration key"
_ACTIONS = {"deadline.acknowledged": "acknowledge", "deadline.done": "resolve", "deadline.snoozed": "acknowledge"}
SEVERITY: dict[Tone, str] = {"test": "info", "notice": "info", "reminder": "info", "soon": "warning",
                             "due": "error", "overdue": "critical", "escalation": "critical"}


def event_action(kind: str) -> str:
    return _ACTIONS.get(kind, "trigger")


def dedup_key(note: Notification) -> str:
    """One PagerDuty alert per deadline and due: `alertd/<id>/<due in UTC>` (ids are at most 128)."""
    return f"alertd/{note.deadline.id}/{rfc3339(note.deadline.due)}"[:_DEDUP_MAX]


def event(note: Notification, *, routing_key: str, now: datetime, channel_zone: str | None = None) -> dict[str, Any]:
    action = event_action(str(note.kind))
    out: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(note)}
    if action != "trigger":
        return out  # acknowledge and resolve take only the key (Example Request Payloads)
    msg = render(note, now=now, channel_zone=channel_zone)
    d = note.deadline
    details: dict[str, Any] = {"kind": str(note.kind), "headline": msg.headline, "due": rfc3339(d.due),
                               "due_local": [str(due) for due in msg.dues], "lead": note.lead.iso,
                               "alert_id": note.key}
    if msg.late_note:
        details["late"] = msg.late_note
    if msg.notes:
        details["notes"] = clip_chars(msg.notes.strip(), _NOTES_MAX)
    if msg.tags:
        details["tags"] = list(msg.tags)
    out |= {
        "payload": {"summary": clip_chars(msg.summary, _SUMMARY_MAX), "source": "alertd",
                    "severity": SEVERITY[tone(note, now=now)], "timestamp": rfc3339(now),
                    "component": d.id, "class": str(note.kind), "custom_details": details},
        "client": "alertd",
    }
    actions = action_links(note)
    links = [{"href": actions[key], "text": label} for key, label in ACTION_LABELS.items() if key in actions]
    links += [{"href": link, "text": link} for link in d.links if link.startswith(("https://", "http://"))]
    if links:
        out["links"] = links
    return out


class PagerDutySender:
    def __init__(self, name: str, config: PagerDutyChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self.turns = Turns(ctx.pacer_for(_INTERVAL), ctx.pacer.key(config.routing_key.get_secret_value()))

    async def ready(self, note: Notification) -> None:
        await self.turns.ready(note.key)

    async def send(self, note: Notification, *, now: datetime) -> None:
        body = event(note, routing_key=self.config.routing_key.get_secret_value(), now=now,
                     channel_zone=self.config.timezone)
        await self.turns.take(note.key)
        response = await post(self.ctx, self.config.url, content=json.dumps(body, ensure_ascii=False).encode(),
                              headers={"Content-Type": "application/json"}, time_limit=self.config.timeout)
        status = response.status_code
        if 200 <= status < 300:
            return
        data = json_body(response)
        reasons = [str(e) for e in data.get("errors", []) if isinstance(e, str)] or [str(data.get("message") or "")]
        detail = self.ctx.redact("; ".join(r for r in reasons if r))[:160] or None
        if status == 429:
            self.turns.hold(_RATE_LIMIT_WAIT)
        raise_for_status(response, self.ctx, now=now, detail=detail,
                         retry_after=_RATE_LIMIT_WAIT if status == 429 else None)
