"""The daemon's alarm: ONE APScheduler date job at the timetable's earliest instant.

APScheduler 3.x's AsyncIOScheduler sleeps with `loop.call_later`, on the monotonic clock, and
compares job times with the wall clock only when it wakes. So alertd keeps a single date job
(`misfire_grace_time=None`: a late wake-up still fires) whose only work is to wake the daemon's
loop; the loop reads the wall clock and takes from the timetable only what is due, never early,
even after the wall clock stepped back. The loop also wakes at least every `CLOCK_WATCH` seconds
and peeks at the timetable, so after a forward jump (suspend/resume, an NTP step) what fell due
goes out within that tick rather than when APScheduler's monotonic timer ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

__all__ = ["CLOCK_WATCH", "Alarm"]

CLOCK_WATCH = 0.25  # seconds between wall-clock peeks: with libfaketime's 1 s cache a jump still lands in 2 s


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
