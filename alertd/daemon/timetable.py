"""When to wake up: a timetable of each deadline's next alert instant, and the waiting retries.

Holding 500,000 alerts as 500,000 scheduler jobs would cost memory and O(n) job-store work (and
a suspend/resume would leave them waking late); the daemon keeps one alarm (alarm.py) at this
timetable's earliest instant instead.

- `Timetable` holds ONE entry per deadline (the instant of its next alert) in a heap, plus the
  retries that are waiting; removed or changed deadlines are dropped lazily.
- An entry may be a lower bound instead of the instant (a deadline whose alerts are all still
  far ahead: computing 500,000 fire instants at start-up would cost seconds). A bound that
  reaches the top of the heap is refined to the exact instant (`refine`) before anyone sees it,
  so the alarm, STATUS and metrics only ever get exact instants: every entry below the top is
  at or after it, and every exact instant is at or after its bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime

__all__ = ["Timetable"]


class Timetable:
    """Next alert instant per deadline, and waiting retries by delivery key.

    `refine(deadline_id)` gives the exact first alert instant of a deadline entered with a bound
    (`exact=False`); it is called only for bounds that reach the top of the heap.
    """

    def __init__(self, refine: Callable[[str], datetime | None] | None = None) -> None:
        self.refine = refine
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
        """`set_deadline` of each (id, instant, exact); into an empty heap with one heapify (start-up)."""
        alerts, live = self._alerts, self._live
        bulk = not alerts
        for deadline_id, instant, exact in entries:
            if instant is None:
                live.pop(deadline_id, None)
                continue
            entry = (instant, deadline_id, exact)
            live[deadline_id] = entry
            if bulk:
                alerts.append(entry)
            else:
                heapq.heappush(alerts, entry)
        if bulk:
            heapq.heapify(alerts)

    def remove_deadline(self, deadline_id: str) -> None:
        self._live.pop(deadline_id, None)
        if len(self._alerts) > 2 * max(len(self._live), 1000):
            live = self._live
            self._alerts = [e for e in self._alerts if live.get(e[1]) is e]
            heapq.heapify(self._alerts)

    def pop_due_deadlines(self, now: datetime) -> list[str]:
        """Deadline ids whose next instant is at or before `now`; their entries are consumed."""
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
        while alerts:
            entry = alerts[0]
            if live.get(entry[1]) is not entry:
                heapq.heappop(alerts)  # replaced or removed
            elif not entry[2]:  # a bound at the top: refined before anyone sees it
                if self.refine is None:
                    raise ValueError("a bound needs a refine callback")
                heapq.heappop(alerts)
                del live[entry[1]]
                self.set_deadline(entry[1], self.refine(entry[1]))
            else:
                break
        while self._retries and self._retry_at.get(self._retries[0][1]) != self._retries[0][0]:
            heapq.heappop(self._retries)
        times = [h[0][0] for h in (self._alerts, self._retries) if h]
        return min(times) if times else None

    def next_deadline(self) -> tuple[datetime, str] | None:
        """The earliest deadline wake-up (instant, id), for STATUS."""
        self.next_instant()
        return (self._alerts[0][0], self._alerts[0][1]) if self._alerts else None
