"""The deadlines as the status page and the API list them, and the query parameters they take.

Order: overdue first (someone must act), then by next alert, soonest first (so the next hour's
come first), then those with nothing more to send, by due. Each item is `core.overview.
deadline_item` (the shape of `alertd status --json`) plus `due_local` (the due on its zone's
clock) and `notes`.

At 100,000 deadlines working out every next alert takes a second or more: `Listing` does it off
the event loop (in a thread, on a copy of the states) and keeps the result until the deadlines are
reloaded, someone acts on one, or `REFRESH` seconds pass, so pages and polls cost a slice of a
list, not a pass over every deadline, and the alerts in the loop are not held up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertd.core.display import due_local
from alertd.core.model import Deadline
from alertd.core.overview import deadline_item
from alertd.core.state import DeadlineState
from alertd.web.context import WebContext

__all__ = ["REFRESH", "Listing", "ParamError", "Snapshot", "int_param"]

REFRESH = 2.0  # seconds a computed listing is served before it is computed again (at least)


class ParamError(ValueError):
    """A query parameter or body field that cannot be used: `name` and what is wrong."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name, self.detail = name, detail


def int_param(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ParamError(name, f"must be a whole number from {lo} to {hi}")
    return int(text)


@dataclass(frozen=True)
class Snapshot:
    items: list[dict[str, Any]]  # every deadline, in status order
    tags: list[str]  # every tag in use, sorted
    at: datetime  # the `now` it was computed for
    _selected: dict[tuple[str | None, str | None], list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def select(self, *, tag: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """The items with that tag and state (None: any), in order; kept, so a page or a poll of the same
        selection is a slice, not a pass over 100,000 items in the event loop."""
        key = (tag, state)
        if key not in self._selected:
            if tag is None and state is None:
                self._selected[key] = self.items
            else:
                self._selected[key] = [i for i in self.items if (tag is None or tag in i["tags"])
                                       and (state is None or i["state"] == state)]
        return self._selected[key]

    def tally(self, items: list[dict[str, Any]], until: str) -> tuple[int, int]:
        """(overdue, next alert at or before `until`) among `items` (a selection, in order): overdue ones
        come first, then the others by next alert, so counting stops at the first one past `until`."""
        overdue = hour = 0
        for i in items:
            if i["state"] == "overdue":
                overdue += 1
                continue
            nxt = i["next_alert"]
            if nxt is None or nxt["fire_at"] > until:
                break
            hour += 1
        return overdue, hour


def _key(item: dict[str, Any]) -> tuple:
    nxt = item["next_alert"]
    return (item["state"] != "overdue", nxt is None, nxt["fire_at"] if nxt else item["due"], item["id"])


def compute(deadlines: Iterable[Deadline], states: Mapping[str, DeadlineState], now: datetime) -> Snapshot:
    items, tags = [], set()
    for d in deadlines:
        item = deadline_item(d, states.get(d.id), now=now)
        item["due_local"] = due_local(d)
        item["notes"] = d.notes
        items.append(item)
        tags.update(d.tags)
    items.sort(key=_key)
    return Snapshot(items, sorted(tags), now)


class Listing:
    """The current `Snapshot`, recomputed off the loop when it is stale."""

    def __init__(self) -> None:
        self._snap: Snapshot | None = None
        self._key: tuple[int, int] | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._until = 0.0

    async def get(self, ctx: WebContext) -> Snapshot:
        async with self._lock:  # one computation at a time; the others wait for its result
            key = (id(ctx.deadlines), ctx.daemon.follower.cursor)
            if self._snap is None or key != self._key or time.monotonic() >= self._until:
                deadlines, states = list(ctx.deadlines.values()), dict(ctx.states)
                started = time.monotonic()
                self._snap = await asyncio.to_thread(compute, deadlines, states, ctx.now())
                took = time.monotonic() - started
                self._key, self._until = key, time.monotonic() + max(REFRESH, 5 * took)
            return self._snap
