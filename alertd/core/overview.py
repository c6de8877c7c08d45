"""A deadline as status shows it: its state word with who, when and until, and its next alert.

One shape for `alertd status --json` (and the HTTP API after it): pure functions of the
deadline, its state and `now`; instants as RFC 3339 UTC, leads as canonical ISO durations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from alertd.core.display import rfc3339
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.planner import next_alert
from alertd.core.state import Action, Condition, DeadlineState, condition

__all__ = ["ATTENTION", "deadline_item", "deadline_items", "plan_item"]

# Status lists the deadlines that need someone first.
ATTENTION = (Condition.OVERDUE, Condition.SNOOZED, Condition.ACKNOWLEDGED, Condition.OPEN, Condition.DONE,
             Condition.CANCELLED)


def _beside(word: Condition, state: DeadlineState | None) -> Action | None:
    """The action the state word stands on (the ack of `acknowledged`, ...)."""
    if state is None:
        return None
    return {Condition.ACKNOWLEDGED: state.acked, Condition.SNOOZED: state.snoozed,
            Condition.DONE: state.done}.get(word)


def deadline_item(d: Deadline, state: DeadlineState | None, *, now: datetime) -> dict[str, Any]:
    """`{"id", "title", "due", "timezone", "tags", "state", "by", "at", "note", "until", "next_alert"}`.

    `state` is open, acknowledged, snoozed, done, cancelled or overdue (due passed and nobody acted);
    `by`/`at`/`note` say who did it when (null for open, overdue, and done or cancelled by the config),
    `until` is a snooze's end. `next_alert` is the next alert that will go out (`lead`, `fire_at`,
    `kind`, `channels`), null when none will; during a snooze the first one after it.
    """
    word = condition(d, state, now)
    act = _beside(word, state)
    nxt = next_alert(d, now=now, state=state)
    return {
        "id": d.id, "title": d.title, "due": rfc3339(d.due), "timezone": d.timezone, "tags": list(d.tags),
        "state": word.value,
        "by": act.by if act else None,
        "at": rfc3339(act.at) if act else None,
        "note": act.note if act else None,
        "until": rfc3339(act.until) if act and act.until else None,
        "next_alert": None if nxt is None else {
            "lead": nxt.lead.iso, "fire_at": rfc3339(nxt.fire_at), "kind": nxt.kind, "channels": list(nxt.targets)},
    }


def deadline_items(deadlines: Iterable[Deadline], states: Mapping[str, DeadlineState], *, now: datetime,
                   limit: int | None = None) -> list[dict[str, Any]]:
    """The deadlines' items, those that need someone first (overdue, snoozed, acknowledged), then
    by their next alert; at most `limit`."""
    items = [deadline_item(d, states.get(d.id), now=now) for d in deadlines]
    rank = {c.value: i for i, c in enumerate(ATTENTION)}
    items.sort(key=lambda i: (rank[i["state"]], i["next_alert"] is None,
                              i["next_alert"]["fire_at"] if i["next_alert"] else "", i["id"]))
    return items if limit is None else items[:limit]


def plan_item(a: PlannedAlert) -> dict[str, Any]:
    """One alert as `plan --json` prints it (and the HTTP API's `alerts`); alerts after the due also
    say their kind (and step)."""
    item: dict[str, Any] = {"deadline": a.deadline.id, "lead": a.lead.iso, "fire_at": rfc3339(a.fire_at),
                            "due": rfc3339(a.deadline.due), "channels": list(a.targets)}
    if a.lead.is_after_due:
        item["kind"] = "escalation" if a.step else "overdue"
        if a.step:
            item["step"] = a.step
    return item
