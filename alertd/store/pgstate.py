"""What people did about a deadline's due, on PostgreSQL: the state half of `PostgresStore`.

The same operations and meanings as the SQLite ledger's (ledger_state.py), on the tables of
migration 002. `act` runs in one transaction behind a transaction-level advisory lock, so two
racing acks from two hosts record one, and action ids grow in commit order; it commits with
`NOTIFY alertd_state`, which every instance's `Listener` (pglisten.py) hears. `change_fd` is that
listener's pipe; `changed` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from alertd.core.state import Act, Action, DeadlineState
from alertd.store.base import Pair, Row
from alertd.store.pgconn import Database
from alertd.store.pglisten import Listener

__all__ = ["ACTION_COLUMNS", "ACT_LOCK", "StateOps"]

ACT_LOCK = int.from_bytes(b"alertd:a", "big") & 0x7FFF_FFFF_FFFF_FFFF  # the advisory lock every `act` holds
ACTION_COLUMNS = "id, deadline_id, due, act, who, note, until, at"


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)


def _action(r: Sequence) -> Action | None:
    if r[0] is None:
        return None
    return Action(r[1], _utc(r[2]), Act(r[3]), r[4], _utc(r[7]), r[5], _utc(r[6]), r[0])  # type: ignore[arg-type]


class StateOps:
    """The state operations of the `Store` protocol (base.py) on the store's pool."""

    db: Database
    display: str
    _sql: dict[str, str]
    _listener: Listener | None = None
    _own_pids: set[int]
    # and from postgres.py: _all(what, params) -> list[tuple], _rows(what, params) -> list[Row]

    def act(self, action: Action) -> tuple[Action | None, DeadlineState]:
        pair = {"id": action.deadline_id, "due": action.due}
        with self.db.call("act") as conn, conn.transaction():
            self._own_pids.add(conn.info.backend_pid)
            conn.execute(self._sql["act_lock"], {"lock": ACT_LOCK})
            state = self._read_states(conn, [(action.deadline_id, action.due)]).get(
                (action.deadline_id, action.due.astimezone(UTC)), DeadlineState())
            if state.apply(action) is None:
                return None, state
            (new_id,) = conn.execute(self._sql["act_insert"], {  # type: ignore[misc]
                **pair, "act": action.act.value, "who": action.by, "note": action.note, "until": action.until,
                "at": action.at}).fetchone()
            recorded = replace(action, id=new_id)
            after = state.apply(recorded) or DeadlineState()
            if after.empty:
                conn.execute(self._sql["state_delete"], pair)
            else:
                conn.execute(self._sql["state_put"], {**pair, "acked": after.acked and after.acked.id,
                                                      "snoozed": after.snoozed and after.snoozed.id,
                                                      "done": after.done and after.done.id})
            conn.execute(self._sql["act_notify"], {"action_id": new_id})
        if self._listener is not None:
            self._listener.newest = max(self._listener.newest, new_id)
        return recorded, after

    def states(self, pairs: Iterable[Pair] | None = None) -> dict[Pair, DeadlineState]:
        with self.db.call("states") as conn:
            return self._read_states(conn, None if pairs is None else list(pairs))

    def _read_states(self, conn, pairs: list[Pair] | None) -> dict[Pair, DeadlineState]:
        found = conn.execute(self._sql["states"], {
            "all": pairs is None, "ids": [i for i, _ in pairs or ()], "dues": [d for _, d in pairs or ()]}).fetchall()
        wanted = None if pairs is None else {(i, d.astimezone(UTC)): (i, d) for i, d in pairs}
        out: dict[Pair, DeadlineState] = {}
        for r in found:
            key = (r[0], _utc(r[1]))
            pair = key if wanted is None else wanted.get(key)  # type: ignore[arg-type]
            if pair is not None:
                out[pair] = DeadlineState(_action(r[2:10]), _action(r[10:18]), _action(r[18:26]))  # type: ignore[index]
        return out

    def actions_after(self, after: int, limit: int = 1000) -> list[Action]:
        return [_action(r) for r in self._all(  # type: ignore[attr-defined]
            "actions_after", {"after": after, "limit": limit})]  # type: ignore[misc]

    def action(self, action_id: int) -> Action | None:
        found = self._all("action"  # type: ignore[attr-defined]
                           , {"id": action_id})
        return _action(found[0]) if found else None

    def unfinished_for(self, pairs: Iterable[Pair]) -> list[Row]:
        pairs = list(pairs)
        if not pairs:
            return []
        return self._rows("unfinished_for", {"ids": [i for i, _ in pairs], "dues": [d for _, d in pairs]})

    def received_after_due(self, deadline_id: str, due: datetime, *, before: datetime) -> list[str]:
        return [c for (c,) in self._all("received_after_due", {"id": deadline_id, "due": due, "before": before})]

    def change_fd(self) -> int | None:
        """The LISTEN thread's pipe (started on the first call): readable when another session
        recorded an action, after the listener (re)connected, or when its poll found a new one."""
        if self._listener is None:
            self._listener = Listener(self.db.target.params, display=self.display, own_pids=self._own_pids)
        return self._listener.fd

    def changed(self) -> bool:
        """Whether another writer may have recorded an action since the last call: reads the
        listener's pipe (starting the listener on the first call), no table."""
        if self._listener is None:
            self.change_fd()
            return False
        return self._listener.drain()

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
