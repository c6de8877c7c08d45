"""What happens to alerts: each pass decides (pure `catchup.decide`) and acts on the decisions.

Acting means recording rows in the ledger, scheduling retries in the timetable and handing
deliveries to the dispatcher. The engine never reads the clock: every call gets `now`. What
people did about a deadline (ack, snooze, done: `states`) is part of every decision; follow.py
keeps it current and sends the notices.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from alertd.core.afterdue import passed_after_due
from alertd.core.catchup import Action, Known, Reason, decide
from alertd.core.leads import LeadError, lead_from_iso
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.notification import Notification, delivery_key
from alertd.core.planner import alerts_for, next_wake, reach
from alertd.core.state import DeadlineState, Hold, held_by
from alertd.daemon.timetable import Timetable
from alertd.delivery.dispatch import Dispatcher
from alertd.metrics import Metrics
from alertd.store.base import NewRow, Store

__all__ = ["Engine", "Steps", "drive"]

T = TypeVar("T")
# The engine's store calls as steps: a generator yields each call (function, args, keywords) and is
# sent its result. `drive` makes them at once (SQLite: microseconds, no thread hop); on PostgreSQL
# the daemon makes them in the store's threads while the loop goes on (shared.py).
Steps = Generator[tuple[Callable[..., Any], tuple, dict], Any, T]


def drive(steps: Steps[T]) -> T:
    """Run `steps`, making each store call directly."""
    try:
        fn, args, kw = next(steps)
        while True:
            fn, args, kw = steps.send(fn(*args, **kw))
    except StopIteration as stop:
        return stop.value


def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Callable[..., Any], tuple, dict]:
    return fn, args, kw

CHUNK = 25  # deadlines decided per pass when many fall due at once: a loop turn stays short (~10 ms)
FIRST_CHUNK = 5  # ... in the first two passes, then 10, 10, 15, 15, ... up to CHUNK: the first deliveries'
# connections need a few loop turns to open, and short turns at the start of a burst let them through
# sooner (measured with the bench's burst, bench/burst.py: first delivery 35-42 ms -> 13-18 ms, all still ~1.3 s)
LATE = timedelta(seconds=1)  # sent this late (catch-up, clock jump) → also logged as alert.catchup

log = structlog.get_logger("alertd.daemon.engine")


class Engine:
    def __init__(self, deadlines: Iterable[Deadline], *, ledger: Store, timetable: Timetable,
                 dispatcher: Dispatcher, window: timedelta, metrics: Metrics | None = None) -> None:
        self.deadlines: dict[str, Deadline] = {d.id: d for d in deadlines}
        self.ledger = ledger
        self.timetable = timetable
        self.dispatcher = dispatcher
        self.window = window
        self.metrics = metrics if metrics is not None else Metrics()
        timetable.refine = self.first_alert
        dispatcher.hold = self.held
        self.backlog: deque[str] = deque()  # deadlines due and not yet decided (see run_due)
        self._queued: set[str] = set()
        self._burst_pass = 0  # passes since the backlog was last empty
        self.states: dict[str, DeadlineState] = {}  # by deadline id, for its current due (none: nothing in force)
        self.on_notice_row = None  # follow.Follower.resume: an open notice row found by a retry
        self.claims_resends = False  # a shared database: the dispatcher logs a resend once it has claimed it

    def load_states(self, deadlines: Iterable[Deadline] | None = None) -> None:
        """Read the states in force for `deadlines` (None: all, at start-up) at their current dues."""
        if deadlines is None:
            found = self.ledger.states()
            self.states = {i: st for (i, due), st in found.items()
                           if (d := self.deadlines.get(i)) is not None and d.due == due}
            return
        deadlines = list(deadlines)
        found = self.ledger.states((d.id, d.due) for d in deadlines)
        for d in deadlines:
            st = found.get((d.id, d.due))
            if st is None:
                self.states.pop(d.id, None)
            else:
                self.states[d.id] = st

    def start(self, now: datetime) -> list:
        """The start-up pass: remember new deadlines, read their states, close orphaned rows, catch
        up, plan. Returns the open notice rows (follow.py resumes them)."""
        self.ledger.see(((d.id, d.due) for d in self.deadlines.values() if d.due > now), now=now)
        self.load_states()
        notices = self.drop_orphans(now)
        self.replan(self.deadlines.values(), now)
        return notices

    def replace(self, deadlines: Iterable[Deadline], now: datetime) -> tuple[int, int, int]:
        """Apply a reloaded config's deadlines as a difference; returns (added, changed, removed)."""
        new = {d.id: d for d in deadlines}
        removed = [i for i in self.deadlines if i not in new]
        old = self.deadlines
        # A reload reuses the Deadline objects of unchanged files: identity settles most at once.
        changed = [d for i, d in new.items() if i in old and old[i] is not d and old[i] != d]
        added = [d for i, d in new.items() if i not in self.deadlines]
        for i in removed:
            self.timetable.remove_deadline(i)
        if self.backlog:  # what replan below decides anew (or what is gone) leaves the backlog
            redo = {d.id for d in changed} | set(removed)
            self.backlog = deque(i for i in self.backlog if i not in redo)
            self._queued -= redo
        self.deadlines = new
        for i in removed:
            self.states.pop(i, None)
        self.load_states([*added, *changed])  # a changed due starts afresh: its own state, if any
        self.ledger.see(((d.id, d.due) for d in (*added, *changed) if d.due > now), now=now)
        self.replan([*added, *changed], now)
        return len(added), len(changed), len(removed)

    def restate(self, deadlines: Iterable[Deadline], now: datetime) -> None:
        """Someone acted on these deadlines: read their states and decide and plan them again."""
        deadlines = list(deadlines)
        self.load_states(deadlines)
        self.replan(deadlines, now)

    def drop_orphans(self, now: datetime) -> list:
        """Unfinished rows of deadlines removed or re-dated while alertd was down are superseded;
        returns the open notice rows that stay (follow.py resumes them)."""
        rows = []
        notices = []
        for row in self.ledger.unfinished():
            d = self.deadlines.get(row.deadline_id)
            if d is not None and d.due == row.due and row.action_id is not None and row.channel in d.all_channels:
                notices.append(row)
            elif d is None or d.due != row.due or row.channel not in d.all_channels:
                reason = "deadline_removed" if d is None else "deadline_changed"
                rows.append(NewRow(row.key, row.deadline_id, row.lead, row.due, row.channel, row.fire_at,
                                   "superseded", reason))
                log.info("alert.superseded", alert_id=row.key, deadline=row.deadline_id, lead=row.lead,
                         channel=row.channel, reason=reason)
                self.metrics.delivery(row.channel, "superseded")
        if rows:
            self.ledger.record(rows, now=now)
        return notices

    def replan(self, deadlines: Iterable[Deadline], now: datetime) -> None:
        drive(self.replan_steps(deadlines, now))

    def replan_steps(self, deadlines: Iterable[Deadline], now: datetime) -> Steps[None]:
        """Decide every passed alert of `deadlines` and put each one's next instant in the timetable.

        A deadline whose earliest possible alert (`planner.reach`) is after `now` has nothing
        passed: it gets that bound as its entry, refined by the timetable when it reaches the top.
        Not one that is done, cancelled or has a state in force (a snooze, an ack): the refining
        knows only its alert instants, so such a one gets its exact next wake-up (none when done).
        """
        passed: list[Deadline] = []
        # id(leads) -> (their reach, now + it): lead lists are shared objects, and hashing one
        # per deadline would cost more than the rest of this loop (the deadlines keep them alive)
        limits: dict[int, tuple[timedelta, datetime]] = {}
        states = self.states

        def entries() -> Iterator[tuple[str, datetime | None, bool]]:
            for d in deadlines:
                found = limits.get(id(d.leads))
                if found is None:
                    r = reach(d.leads)
                    found = limits[id(d.leads)] = (r, now + r)
                if d.due > found[1]:  # its earliest possible alert is after now: nothing passed
                    if d.status != "open" or d.id in states:
                        yield d.id, next_wake(d, now=now, state=states.get(d.id)), True
                    else:
                        yield d.id, d.due - found[0], False
                    continue
                nxt = None
                for a in alerts_for(d):
                    if a.fire_at <= now:
                        if not passed or passed[-1] is not d:
                            passed.append(d)
                    elif nxt is None or a.fire_at < nxt:
                        nxt = a.fire_at
                if d.after is not None or d.status != "open" or d.id in states:  # repeats, steps, holds
                    nxt = next_wake(d, now=now, state=states.get(d.id))
                yield d.id, nxt, True

        self.timetable.load(entries())
        yield from self.decide_steps(passed, now)  # retries it schedules go to their own heap: the order is free

    def held(self, note: Notification, now: datetime) -> Hold | None:
        """Why a delivery handed to the dispatcher must not start at `now` (the dispatcher's `hold`):
        an ack, snooze or done applied while it waited for a slot. None for a notice, or for a
        deadline removed or re-dated meanwhile (its row is closed when it is decided again)."""
        d = self.deadlines.get(note.deadline.id)
        if note.is_notice or d is None or d.due != note.deadline.due:
            return None
        return held_by(d, self.states.get(d.id), PlannedAlert(d, note.lead, note.scheduled_for, (note.channel,)), now)

    def first_alert(self, deadline_id: str) -> datetime | None:
        """The earliest alert instant of a deadline (the timetable's `refine`)."""
        d = self.deadlines.get(deadline_id)
        return min(a.fire_at for a in alerts_for(d)) if d is not None else None

    def decide(self, deadlines: list[Deadline], now: datetime) -> None:
        drive(self.decide_steps(deadlines, now))

    def decide_steps(self, deadlines: list[Deadline], now: datetime) -> Steps[None]:
        """Decide the passed alerts of `deadlines`: record what is decided, then hand over the sends."""
        if not deadlines:
            return
        keys = [delivery_key(d.id, a.lead, d.due, ch) for d in deadlines for a in self._passed(d, now)
                for ch in a.targets]
        # Of the repeats only the latest is a candidate: the older ones the ledger holds open come in here,
        # and so do those of a deadline whose config no longer repeats or escalates (to be closed).
        open_after: dict[str, list] = {}
        repeating = [(d.id, d.due) for d in deadlines if d.due < now]
        for row in (yield call(self.ledger.unfinished_for, repeating)) if repeating else ():
            if row.lead.startswith("-"):
                try:
                    open_after.setdefault(row.deadline_id, []).append((lead_from_iso(row.lead), row.channel))
                except LeadError:
                    continue
                keys.append(row.key)
        rows = yield call(self.ledger.rows, keys)
        known = {k: Known(r.state, r.next_retry_at, r.attempts) for k, r in rows.items()}
        seen = yield call(self.ledger.first_seen, [(d.id, d.due) for d in deadlines if d.due <= now])
        record: list[NewRow] = []
        sends: list[tuple[Notification, int]] = []
        for d in deadlines:
            for dec in decide(d, now=now, window=self.window, known=known, first_seen=seen.get((d.id, d.due)),
                              busy=self.dispatcher.busy, state=self.states.get(d.id),
                              open_after=open_after.get(d.id, ())):
                a = dec.alert
                fields = {"alert_id": dec.key, "deadline": d.id, "lead": a.lead.iso, "channel": dec.channel,
                          "reason": dec.reason.value}
                if dec.action is Action.SEND:
                    record.append(NewRow(dec.key, d.id, a.lead.iso, d.due, dec.channel, a.fire_at, "pending",
                                         kind=a.kind))
                    k = known.get(dec.key)
                    sends.append((Notification.for_planned(a, dec.channel), (k.attempts if k else 0) + 1))
                    if dec.reason is Reason.CRASH_RESEND:
                        if self.claims_resends:  # (a shared database: the row may be another instance's send)
                            log.debug("alert.resend_candidate", **fields)
                        else:
                            log.warning("alert.resend", **fields)
                    elif now - a.fire_at >= LATE and dec.reason is Reason.DUE_NOW:
                        log.info("alert.catchup", **fields, late_by_seconds=int((now - a.fire_at).total_seconds()))
                elif dec.action is Action.WAIT:
                    at = known[dec.key].next_retry_at
                    if at is not None:  # WAIT is decided only for a row with a retry instant
                        self.timetable.add_retry(dec.key, d.id, at)
                elif dec.action in (Action.SUPERSEDED, Action.MISSED, Action.FAILED):
                    record.append(NewRow(dec.key, d.id, a.lead.iso, d.due, dec.channel, a.fire_at,
                                         dec.action.value, dec.reason.value, kind=a.kind))
                    level = {Action.FAILED: logging.ERROR, Action.MISSED: logging.WARNING}.get(dec.action, logging.INFO)
                    log.log(level, f"alert.{dec.action.value}", **fields)
                    self.metrics.delivery(dec.channel, dec.action.value)  # type: ignore[arg-type]
                elif dec.reason is Reason.NEVER_SEEN:
                    log.debug("alert.skipped", **fields)
        if record:
            yield call(self.ledger.record, record, now=now)  # recorded before it is handed over
        for note, attempt in sends:
            self.dispatcher.submit(note, attempt=attempt)

    @staticmethod
    def _passed(d: Deadline, now: datetime) -> list[PlannedAlert]:
        """The alerts of `d` a decision may be about: passed reminders, the due alert, steps, the latest repeat."""
        out = [a for a in alerts_for(d) if a.fire_at <= now]
        if d.after is not None:
            out += passed_after_due(d, now)
        return out

    def run_due(self, now: datetime) -> None:
        drive(self.run_due_steps(now))

    def run_due_steps(self, now: datetime) -> Steps[None]:
        """Decide and act on the deadline wake-ups and retries due at `now`.

        Deadlines are taken `CHUNK` at a time: at a midnight with thousands due, the first
        deliveries start while the rest wait in `backlog` for the next passes (the daemon's loop
        runs them at once, after letting the started deliveries move).
        """
        if not self.backlog:
            self._burst_pass = 0
        limit = min(CHUNK, FIRST_CHUNK * (1 + self._burst_pass // 2))  # the first passes of a burst are short
        self._burst_pass += 1
        for deadline_id in self.timetable.pop_due_deadlines(now):
            if deadline_id not in self._queued:
                self._queued.add(deadline_id)
                self.backlog.append(deadline_id)
        take = [self.backlog.popleft() for _ in range(min(limit, len(self.backlog)))]
        self._queued.difference_update(take)
        due = {i: self.deadlines[i] for i in take if i in self.deadlines}
        for key, deadline_id in self.timetable.pop_due_retries(now):
            d = self.deadlines.get(deadline_id)
            row = yield call(self.ledger.get, key)
            if row is None or row.state not in ("pending", "sending") or key in self.dispatcher.busy:
                continue
            if d is None or d.due != row.due or row.channel not in d.all_channels:
                reason = "deadline_removed" if d is None else "deadline_changed"
                yield call(self.ledger.finish, key, "superseded", reason=reason, now=now)
                log.info("alert.superseded", alert_id=key, deadline=deadline_id, reason=reason)
                self.metrics.delivery(row.channel, "superseded")
                continue
            if row.action_id is not None:
                if self.on_notice_row is not None:
                    self.on_notice_row(d, row, now)  # a notice's retry: not an alert to decide
                continue
            if deadline_id not in due and deadline_id not in self._queued:
                # Only the retry is due: decide on the passed alerts without touching the deadline's entry.
                yield from self.decide_steps([d], now)
        if due:
            yield from self.replan_steps(list(due.values()), now)

