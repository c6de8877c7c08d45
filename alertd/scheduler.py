"""When to wake up: a timetable of next instants, and one APScheduler date job for the earliest.

Design. APScheduler 3.x's AsyncIOScheduler sleeps with `loop.call_later`, i.e. on the monotonic
clock, and compares job times to the wall clock only when it wakes. Holding 500,000 alerts as
500,000 jobs would cost memory and O(n) job-store work, and a suspend/resume or NTP step would
leave them waking late (and, with the default 1 s misfire grace, dropped). So:

- `Timetable` holds ONE entry per deadline (the instant of its next alert) in a heap, plus the
  retries that are waiting; removed or changed deadlines are dropped lazily by generation.
  An entry may be a lower bound instead of the instant (a deadline whose alerts are all still
  far ahead: computing 500,000 fire instants at start-up would cost seconds). A bound that
  reaches the top of the heap is refined to the exact instant (`refine`) before anyone sees it,
  so the alarm, STATUS and metrics only ever get exact instants: every entry below the top is
  at or after it, and every exact instant is at or after its bound.
- `Alarm` keeps ONE APScheduler date job at the timetable's earliest instant
  (`misfire_grace_time=None`: a late wake-up still fires). Its job only wakes the daemon's loop,
  which reads the wall clock and takes from the timetable only what is due: never early, even
  after the wall clock stepped back.
- The daemon's loop also wakes at least every `CLOCK_WATCH` seconds and peeks at the timetable:
  after a forward jump the alerts that fell due go out within that tick (a heap peek per tick,
  so idle cost stays near zero), without waiting for APScheduler's monotonic timer.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

__all__ = ["CLOCK_WATCH", "Alarm", "Timetable"]

CLOCK_WATCH = 0.25  # seconds between wall-clock peeks: with libfaketime's 1 s cache a jump still lands in 2 s


class Timetable:
    """Next alert instant per deadline, and waiting retries by delivery key.

    `refine(deadline_id)` gives the exact first alert instant of a deadline entered with a bound
    (`exact=False`); it is called only for bounds that reach the top of the heap.
    """

    def __init__(self, refine: Callable[[str], datetime | None] | None = None) -> None:
        self.refine = refine
        # (instant, deadline id, generation); a generation in _bounds marks an entry that is a bound
        self._alerts: list[tuple[datetime, str, int]] = []
        self._gen: dict[str, int] = {}
        self._bounds: set[int] = set()
        self._counter = 0
        self._retries: list[tuple[datetime, str, str]] = []  # (instant, key, deadline id)
        self._retry_at: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._gen)

    # -- deadlines ----------------------------------------------------------------------------
    def set_deadline(self, deadline_id: str, instant: datetime | None, *, exact: bool = True) -> None:
        """Make `instant` (or a bound of it) the deadline's only pending wake-up (None: nothing left)."""
        self._counter += 1
        self._gen[deadline_id] = self._counter
        if instant is not None:
            if not exact:
                self._bounds.add(self._counter)
            heapq.heappush(self._alerts, (instant, deadline_id, self._counter))

    def load(self, entries: Iterable[tuple[str, datetime | None, bool]]) -> None:
        """Bulk `set_deadline` of (id, instant, exact) with one heapify (start-up)."""
        alerts, gens, bounds = self._alerts, self._gen, self._bounds
        counter = self._counter
        for deadline_id, instant, exact in entries:
            counter += 1
            gens[deadline_id] = counter
            if instant is not None:
                if not exact:
                    bounds.add(counter)
                alerts.append((instant, deadline_id, counter))
        self._counter = counter
        heapq.heapify(alerts)

    def remove_deadline(self, deadline_id: str) -> None:
        self._bounds.discard(self._gen.pop(deadline_id, -1))
        if len(self._alerts) > 2 * max(len(self._gen), 1000):
            self._alerts = [e for e in self._alerts if self._gen.get(e[1]) == e[2]]
            heapq.heapify(self._alerts)
            live = {e[2] for e in self._alerts}
            self._bounds &= live

    def pop_due_deadlines(self, now: datetime) -> list[str]:
        """Deadline ids whose next instant is at or before `now`; their entries are consumed."""
        out = []
        while self._alerts and self._alerts[0][0] <= now:
            _, deadline_id, gen = heapq.heappop(self._alerts)
            if self._gen.get(deadline_id) == gen:
                out.append(deadline_id)  # a bound too: the caller works out what is really due
                del self._gen[deadline_id]
                self._bounds.discard(gen)
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
        alerts = self._alerts
        while alerts:
            _, deadline_id, gen = alerts[0]
            if self._gen.get(deadline_id) != gen:
                heapq.heappop(alerts)  # replaced or removed
            elif gen in self._bounds:
                assert self.refine is not None, "a bound needs a refine callback"
                heapq.heappop(alerts)
                self._bounds.discard(gen)
                self.set_deadline(deadline_id, self.refine(deadline_id))
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


class Alarm:
    """One APScheduler date job at the earliest instant; when it fires it calls `wake`."""

    JOB_ID = "alertd-next"

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.armed_at: datetime | None = None

    def start(self) -> None:
        self.scheduler.start()

    async def _fire(self) -> None:
        self.armed_at = None
        self._wake()

    def arm(self, instant: datetime | None) -> None:
        """Keep exactly one job, at `instant` (None: no job)."""
        if instant == self.armed_at:
            return
        if instant is None:
            if self.scheduler.get_job(self.JOB_ID):
                self.scheduler.remove_job(self.JOB_ID)
        else:
            # misfire_grace_time=None: a wake-up that comes late (suspend, busy loop) still runs;
            # max_instances is high because the job only sets an event and may overlap a re-arm.
            self.scheduler.add_job(self._fire, DateTrigger(run_date=instant, timezone=UTC), id=self.JOB_ID,
                                   replace_existing=True, misfire_grace_time=None, coalesce=True,
                                   max_instances=100)
        self.armed_at = instant

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
