"""Following what people do about deadlines (ack, snooze, done, reopen) from a running daemon.

`alertd ack ID` and the other commands write to the store from their own process. The daemon's
loop waits on the store's change descriptor (`Store.change_fd`: an inotify watch on SQLite's WAL)
with everything else, asks the store whether another writer committed (`Store.changed`: SQLite's
`PRAGMA data_version`, which reads no table) when it fires, and only then `apply`s the new
actions by id. Without a descriptor, `poll` asks on every 250 ms tick of the clock watch.

Each action about a deadline's current due updates the engine's state for it and re-plans it at
once: an ack stops the repeats, a snooze holds everything, done stops everything, a reopen lets
what is held go.

An ack, snooze or done that is still in force sends its notice (`deadline.acknowledged`, ...)
to the channels that got a repeat or escalation step for that due, and only those; a notice is
a delivery like any other (ledger row, retries, resent with the same key after a crash).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog

from alertd.core.catchup import Reason, effective_window
from alertd.core.display import rfc3339
from alertd.core.model import Deadline
from alertd.core.notification import Notification
from alertd.core.state import NOTICE_KINDS, Act, Action
from alertd.daemon.engine import Engine
from alertd.store.base import FINAL_STATES, NewRow, Row

__all__ = ["Follower"]

log = structlog.get_logger("alertd.daemon.follow")

_IN_FORCE = {Act.ACK: "acked", Act.SNOOZE: "snoozed", Act.DONE: "done"}
_AFTER_DUE = ("deadline.overdue", "deadline.escalation")  # the alerts whose channels get the notices


class Follower:
    def __init__(self, engine: Engine, *, window: timedelta) -> None:
        self.engine = engine
        self.window = window
        self.cursor = 0  # the last action id applied
        engine.on_notice_row = self.resume

    def start(self, now: datetime) -> None:
        """Start the engine and follow from there: resume the notices left open, send those of
        recent actions (within the catch-up window) that were never recorded, and apply what was
        recorded while starting.

        The store's change descriptor is opened and the action cursor taken BEFORE the engine
        reads the states in force: an `alertd ack` committed at any moment of a start-up is then
        either in those states, or after the cursor (applied here), or after the descriptor
        opened (it wakes the loop). Taking the cursor after the states lost an ack committed in
        between; opening the descriptor after start-up left one committed meanwhile unapplied
        until the next change.
        """
        engine = self.engine
        engine.ledger.change_fd()
        actions = self._read()
        notice_rows = engine.start(now)
        for row in notice_rows:
            d = engine.deadlines.get(row.deadline_id)
            if d is not None:
                self.resume(d, row, now)
        self._notices([a for a in actions if now - a.at <= self.window], now)
        self.poll(now)  # what another process recorded while this one started

    def poll(self, now: datetime) -> int:
        """One tick: apply what another process recorded since the last one; how many actions."""
        if not self.engine.ledger.changed():
            return 0
        return self.apply(now)

    def apply(self, now: datetime) -> int:
        """Apply every action recorded after the cursor (also without a probe: the caller wrote it)."""
        actions = self._read()
        touched: dict[str, Deadline] = {}
        for a in actions:
            d = self.engine.deadlines.get(a.deadline_id)
            fields = {"deadline": a.deadline_id, "act": a.act.value, "by": a.by, "action_id": a.id,
                      "due": rfc3339(a.due), "lag_ms": round((now - a.at).total_seconds() * 1000, 1)}
            if a.until is not None:
                fields["until"] = rfc3339(a.until)
            if d is None or d.due != a.due:
                log.info("state.ignored", **fields, reason="not the deadline's current due")
                continue
            touched[d.id] = d
            log.info("state.applied", **fields)
        if touched:
            self.engine.restate(touched.values(), now)
            self._notices(actions, now)
        return len(actions)

    def _read(self) -> list[Action]:
        out: list[Action] = []
        while batch := self.engine.ledger.actions_after(self.cursor):
            out += batch
            self.cursor = batch[-1].id or self.cursor
        return out

    def _notices(self, actions: Iterable[Action], now: datetime) -> None:
        engine = self.engine
        notes: list[Notification] = []
        # A repeat or step whose attempt has started may still read `pending` in the store (its
        # `sending` mark waits for the group commit): its channel gets it, so the notice too.
        handed: list[Row] | None = None
        for a in actions:
            d = engine.deadlines.get(a.deadline_id)
            if a.act not in NOTICE_KINDS or d is None or d.due != a.due:
                continue
            state = engine.states.get(d.id)
            in_force = getattr(state, _IN_FORCE[a.act]) if state is not None else None
            if in_force is None or in_force.id != a.id:  # undone (reopened) or replaced since
                continue
            channels = set(engine.ledger.received_after_due(d.id, d.due, before=a.at))
            if handed is None:  # read once, and only when a notice may go
                handed = [r for r in engine.ledger.rows(engine.dispatcher.started).values() if r.kind in _AFTER_DUE]
            channels.update(r.channel for r in handed if r.deadline_id == d.id and r.due == d.due and r.fire_at <= a.at)
            notes += [Notification.for_notice(d, a, ch) for ch in sorted(channels) if ch in d.all_channels]
        if not notes:
            return
        known = engine.ledger.rows(n.key for n in notes)
        busy = engine.dispatcher.busy
        todo = [n for n in notes
                if n.key not in busy and (n.key not in known or known[n.key].state not in FINAL_STATES)]
        engine.ledger.record([_row(n) for n in todo], now=now)
        for n in todo:
            log.info("notice.queued", alert_id=n.key, deadline=n.deadline.id, kind=n.kind, channel=n.channel)
            engine.dispatcher.submit(n, attempt=(known[n.key].attempts if n.key in known else 0) + 1)

    def resume(self, d: Deadline, row: Row, now: datetime) -> None:
        """An open notice row (a retry came due, or found at start-up): send it again, wait, or,
        more than the catch-up window past its action, give it up."""
        engine = self.engine
        action = engine.ledger.action(row.action_id) if row.action_id is not None else None
        if action is None or action.act not in NOTICE_KINDS:
            engine.ledger.finish(row.key, "failed", reason="action_missing", now=now)
            log.error("alert.failed", alert_id=row.key, deadline=d.id, channel=row.channel, reason="action_missing")
            return
        if now - row.fire_at > effective_window(self.window):
            # After downtime, as for an alert: a notice more than the catch-up window past its action
            # is not sent late (docs/after-the-due.md); one already tried is a give-up.
            state = "failed" if row.attempts else "missed"
            engine.ledger.finish(row.key, state, reason=Reason.BEYOND_CATCHUP.value, now=now)
            log.log(logging.ERROR if row.attempts else logging.WARNING, f"alert.{state}", alert_id=row.key,
                    deadline=d.id, channel=row.channel, kind=row.kind, reason=Reason.BEYOND_CATCHUP.value)
            engine.metrics.delivery(row.channel, state)
            return
        if row.next_retry_at is not None and row.next_retry_at > now:
            engine.timetable.add_retry(row.key, d.id, row.next_retry_at)
            return
        if row.state == "sending":
            log.warning("alert.resend", alert_id=row.key, deadline=d.id, channel=row.channel, kind=row.kind)
        engine.dispatcher.submit(Notification.for_notice(d, action, row.channel), attempt=row.attempts + 1)


def _row(n: Notification) -> NewRow:
    return NewRow(n.key, n.deadline.id, "", n.deadline.due, n.channel, n.scheduled_for, "pending", kind=n.kind,
                  action_id=n.action.id if n.action is not None else None)
