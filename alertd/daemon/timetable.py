"""When to wake up: a timetable of each deadline's next alert instant, and the waiting retries.

Holding 500,000 alerts as 500,000 scheduler jobs would cost memory and O(n) job-store work (and
a suspend/resume would leave them waking late); the daemon keeps one alarm (alarm.py) at this
timetable's earliest instant instead.

- `Timetable` holds ONE entry per deadline (the instant of its next alert) in a heap, plus the
  retries that are waiting; removed or changed deadlines are dropped lazily.
  An entry may be a lower bound instead of the instant (a deadline whose alerts are all still
  far ahead: computing 500,000 fire instants at start-up would cost seconds). A bound that
  reaches the top of the heap is refined to the exact instant (`refine`) before anyone sees it,
  so the alarm, STATUS and metrics only ever get exact instants: every entry below the top is
  at or after it, and every exact instant is at or after its bound.
  At start-up the far deadlines get no entry at all: they wait in one list sorted by due, with
  one reach for all (`far`), and each is taken into the heap (refined) when its due minus that
  reach comes before the heap's top or the present. An entry is a tuple, a bound a datetime
  and a dict slot: ~15 MB at 100,000 deadlines that the list does not cost.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Timetable"]


class Timetable:
    """Next alert instant per deadline, and waiting retries by delivery key.

    `refine(deadline_id)` gives the exact first alert instant of a deadline entered with a bound
    (`exact=False`); it is called only for bounds that reach the top of the heap. `current(d)`
    tells whether a deadline of the far list is still the one in force (not since removed or
    replaced by a reload, which enters its replacement with `set_deadline`).
    """

    def __init__(self, refine: Callable[[str], datetime | None] | None = None,
                 current: Callable[[Any], bool] | None = None) -> None:
        self.refine = refine
        self.current = current
        self._far: list[Any] = []  # deadlines (with .id and .due) sorted by due; taken from _far_at on
        self._far_at = 0
        self._far_reach = timedelta(0)  # every alert of a far deadline is at or after due - this
        # Heap of (instant, deadline id, exact); `_live` maps each deadline to its one current
        # entry, so a replaced or removed one is told by identity (no generation counters: at
        # 100,000 deadlines every object per entry costs megabytes). exact=False marks a bound.
        self._alerts: list[tuple[datetime, str, bool]] = []
        self._live: dict[str, tuple[datetime, str, bool]] = {}
        self._retries: list[tuple[datetime, str, str]] = []  # (instant, key, deadline id)
        self._retry_at: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._live)

    # -- deadlines ----------------------------------------------------------------------------
    def set_deadline(self, deadline_id: str, instant: datetime | None, *, exact: bool = True) -> None:
        """Make `instant` (or a bound of it) the deadline's only pending wake-up (None: nothing left)."""
        if instant is None:
            self._live.pop(deadline_id, None)
            return
        entry = (instant, deadline_id, exact)
        self._live[deadline_id] = entry
        heapq.heappush(self._alerts, entry)

    def load(self, entries: Iterable[tuple[str, datetime | None, bool]]) -> None:
        """Bulk `set_deadline` of (id, instant, exact) with one heapify (start-up)."""
        alerts, live = self._alerts, self._live
        for deadline_id, instant, exact in entries:
            if instant is None:
                live.pop(deadline_id, None)
                continue
            entry = (instant, deadline_id, exact)
            live[deadline_id] = entry
            alerts.append(entry)
        heapq.heapify(alerts)

    def add_far(self, deadlines: list[Any], reach: timedelta) -> None:
        """Keep `deadlines` (sorted by due, none with an entry) until due - `reach` comes near.

        Every alert of each must be at or after its due - `reach` (engine: the longest reach).
        """
        if self.refine is None or self.current is None:
            raise ValueError("far deadlines need refine and current")
        self._take_far(None)
        self._far, self._far_at, self._far_reach = deadlines, 0, reach

    def _take_far(self, upto: datetime | None) -> None:
        """Enter (refined) the far deadlines whose due - reach is at or before `upto` (None: all)."""
        far, reach = self._far, self._far_reach
        while self._far_at < len(far):
            d = far[self._far_at]
            if upto is not None and d.due - reach > upto:
                break
            self._far_at += 1
            if self.current(d):  # type: ignore[misc]
                self.set_deadline(d.id, self.refine(d.id))  # type: ignore[misc]
        if self._far_at >= len(far):
            self._far, self._far_at = [], 0
        elif self._far_at > 4096 and self._far_at * 2 > len(far):
            del far[:self._far_at]  # let the taken ones go
            self._far_at = 0

    def _far_next(self) -> datetime | None:
        return self._far[self._far_at].due - self._far_reach if self._far_at < len(self._far) else None

    def remove_deadline(self, deadline_id: str) -> None:
        self._live.pop(deadline_id, None)
        if len(self._alerts) > 2 * max(len(self._live), 1000):
            live = self._live
            self._alerts = [e for e in self._alerts if live.get(e[1]) is e]
            heapq.heapify(self._alerts)

    def pop_due_deadlines(self, now: datetime) -> list[str]:
        """Deadline ids whose next instant is at or before `now`; their entries are consumed."""
        self._take_far(now)
        out = []
        alerts, live = self._alerts, self._live
        while alerts and alerts[0][0] <= now:
            entry = heapq.heappop(alerts)
            if live.get(entry[1]) is entry:
                out.append(entry[1])  # a bound too: the caller works out what is really due
                del live[entry[1]]
        return out

    # -- retries ------------------------------------------------------------------------------
    def add_retry(self, key: str, deadline_id: str, at: datetime) -> None:
        self._retry_at[key] = at
        heapq.heappush(self._retries, (at, key, deadline_id))

    def pop_due_retries(self, now: datetime) -> list[tuple[str, str]]:
        """(key, deadline id) of the retries due at `now`."""
        out = []
        while self._retries and self._retries[0][0] <= now:
            at, key, deadline_id = heapq.heappop(self._retries)
            if self._retry_at.get(key) == at:
                del self._retry_at[key]
                out.append((key, deadline_id))
        return out

    # -- peeking ------------------------------------------------------------------------------
    def next_instant(self) -> datetime | None:
        alerts, live = self._alerts, self._live
        while True:
            while alerts:
                entry = alerts[0]
                if live.get(entry[1]) is not entry:
                    heapq.heappop(alerts)  # replaced or removed
                elif not entry[2]:
                    if self.refine is None:
                        raise ValueError("a bound needs a refine callback")
                    heapq.heappop(alerts)
                    del live[entry[1]]
                    self.set_deadline(entry[1], self.refine(entry[1]))
                else:
                    break
            far = self._far_next()
            if far is None or (alerts and alerts[0][0] < far):
                break  # every far deadline's alerts come after the top: the top is the earliest
            self._take_far(far)
        while self._retries and self._retry_at.get(self._retries[0][1]) != self._retries[0][0]:
            heapq.heappop(self._retries)
        times = [h[0][0] for h in (self._alerts, self._retries) if h]
        return min(times) if times else None

    def next_deadline(self) -> tuple[datetime, str] | None:
        """The earliest deadline wake-up (instant, id), for STATUS."""
        self.next_instant()
        return (self._alerts[0][0], self._alerts[0][1]) if self._alerts else None
