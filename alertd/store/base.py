"""What the daemon and the commands need from a state store, whatever engine keeps it.

`Store` is the interface: remembering which deadlines were seen, recording decisions, marking
deliveries as they go, reading them back for `alertd status`, and keeping what people did about
a deadline's due (ack, snooze, done, reopen: `act`, `states`) with a cheap way for a running
daemon to learn of it (`changed`, `actions_after`). `Ledger` (SQLite, ledger.py) implements it;
`PostgresStore` (postgres.py) implements the same operations with the same meanings, and `Claims`
beside them: the leases that let several instances share one database and send each delivery once.

A delivery row's life: created `pending` when its alert's instant has passed and alertd decided
to send it (or `superseded` / `missed` when it decided not to); `sending` once an attempt has
started (a crash leaves it so, and it is sent again with the same key); then `sent` after the
receiver accepted it, back to `pending` with a `next_retry_at` after a failure worth retrying,
or `failed` when alertd gave up. `sent`, `failed`, `superseded` and `missed` are final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from alertd.core.state import Action, DeadlineState

__all__ = ["FINAL_STATES", "OPEN_STATES", "Beat", "Claims", "DeliveryQuery", "Instance", "Mark", "NewRow", "Pair",
           "Row", "Store", "StoreError", "StoreUnavailable"]

OPEN_STATES = ("pending", "sending")
FINAL_STATES = ("sent", "failed", "superseded", "missed")

Mark = tuple[str, str, datetime]  # ("sending" | "sent", delivery key, when)
Pair = tuple[str, datetime]  # (deadline id, due): what a deadline's state belongs to


class StoreError(Exception):
    """The store cannot be opened, read or written: the message names where and why."""


class StoreUnavailable(StoreError):
    """The store cannot be reached now (a database outage, a timeout): try again later.

    The operation either did not happen or, for a write cut off mid-commit, may have happened;
    every write is safe to repeat.
    """


@dataclass(frozen=True, slots=True)
class Row:
    """One delivery as recorded."""

    key: str
    deadline_id: str
    lead: str
    due: datetime
    channel: str
    fire_at: datetime
    state: str
    reason: str | None
    attempts: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    next_retry_at: datetime | None
    last_error: str | None
    updated_at: datetime
    kind: str | None = None  # the webhook type; None in rows from before it was kept (reminder or due)
    action_id: int | None = None  # a notice's action
    claimed_by: str | None = None  # the instance that holds or last held the row's claim (PostgreSQL only)


@dataclass(frozen=True, slots=True)
class NewRow:
    """A decision to record: a delivery that becomes pending, superseded or missed."""

    key: str
    deadline_id: str
    lead: str
    due: datetime
    channel: str
    fire_at: datetime
    state: str
    reason: str | None = None
    kind: str | None = None
    action_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Which deliveries `Store.deliveries` returns: all filters optional, pages newest change first."""

    deadline: str | None = None
    state: str | None = None
    since: datetime | None = None  # changed at or after
    after: tuple[datetime, str] | None = None  # the (updated_at, key) of the last row of the page before
    limit: int = 100


class Store(Protocol):
    """The state store's operations. Instants are aware UTC datetimes; `now` comes from the caller."""

    path: Path  # where it lives, for messages

    # deadlines seen: a deadline whose due passed before it was ever seen sends nothing
    def see(self, pairs: Iterable[tuple[str, datetime]], *, now: datetime) -> None:
        """Remember (deadline id, due) pairs first seen at `now`; known pairs keep their time."""

    def first_seen(self, pairs: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], datetime]:
        """When each pair was first seen; pairs never seen are absent."""

    # decisions and marks
    def record(self, rows: Iterable[NewRow], *, now: datetime) -> None:
        """Record decisions at once. A final row is left alone; an open one takes the new state."""

    def apply_marks(self, marks: Iterable[Mark]) -> None:
        """`sending` (attempts + 1) and `sent` marks, at once and in order."""

    def mark_retry(self, key: str, *, at: datetime, error: str, now: datetime) -> None:
        """Back to `pending`, to be tried again at `at`; `error` (redacted) is kept."""

    def finish(self, key: str, state: str, *, reason: str, now: datetime, error: str | None = None) -> None:
        """Close a row as failed, superseded or missed with a named reason."""

    # reading
    def get(self, key: str) -> Row | None: ...

    def rows(self, keys: Iterable[str]) -> dict[str, Row]:
        """The rows of those keys that exist."""

    def unfinished(self) -> list[Row]:
        """Rows still pending or sending."""

    def next(self, limit: int = 10) -> list[Row]:
        """Open rows in the order they will be attempted."""

    def recent(self, limit: int = 20) -> list[Row]:
        """The most recently changed rows, newest first."""

    def failures(self, limit: int = 20) -> list[Row]:
        """Failed and missed rows, newest first."""

    def counts(self) -> dict[str, int]:
        """How many rows are in each state."""

    def deliveries(self, q: DeliveryQuery) -> list[Row]:
        """Up to `q.limit` rows matching `q`, newest change first (`updated_at`, then key, both
        descending): a page's last row is the cursor (`after`) of the next, so rows changed meanwhile
        do not shift what follows. One short indexed statement on either engine."""

    def unfinished_for(self, pairs: Iterable[Pair]) -> list[Row]:
        """Rows still pending or sending of those deadlines and dues."""

    def received_after_due(self, deadline_id: str, due: datetime, *, before: datetime) -> list[str]:
        """The channels that were sent (or are being sent) a repeat or escalation step for this due,
        planned at or before `before`: those a notice goes to."""

    # what people did about a deadline's due
    def act(self, action: Action) -> tuple[Action | None, DeadlineState]:
        """Record `action` if it changes the state of its (deadline, due), in one transaction that
        no other writer interleaves. Returns the recorded action (with its `id`) or None when it
        changed nothing (a second ack), and the state after it."""

    def states(self, pairs: Iterable[Pair] | None = None) -> dict[Pair, DeadlineState]:
        """The state in force for those pairs (None: every pair that has one); pairs with none are absent."""

    def actions_after(self, after: int, limit: int = 1000) -> list[Action]:
        """Recorded actions with an id above `after`, in order (a reader keeps the last id it saw)."""

    def action(self, action_id: int) -> Action | None: ...

    def changed(self) -> bool:
        """Cheap: whether another writer may have changed the store since the last call (then read
        `actions_after`). Reads no table. Changes made through this same object are not reported;
        its caller knows them."""

    def link_key(self) -> bytes:
        """The key that signs action links (`alertd.core.links`): made once, on first use, and kept,
        so every restart and every instance on a shared store signs and checks alike."""

    def change_fd(self) -> int | None:
        """A file descriptor that becomes readable when the store may have changed (then call
        `changed()`, which reads what made it readable), for the daemon's event loop to wait on;
        None when there is none and the caller must ask `changed()` on its own (every tick).
        SQLite: an inotify watch on the WAL file; PostgreSQL: the LISTEN connection's socket."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Instance:
    """One alertd instance on a shared database, as its heartbeats left it."""

    name: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool  # heartbeat recent (database clock) and not stopped
    claims: int  # open deliveries it holds a live lease on


@dataclass(frozen=True, slots=True)
class Beat:
    """A heartbeat's answer: the database's clock, and how far this host's clock is from it."""

    db_now: datetime
    offset: timedelta  # database clock minus this host's clock (midpoint of the round trip)


class Claims(Protocol):
    """Leases on deliveries, so that instances sharing one database send each delivery once.

    A claim is a lease with an end on the DATABASE's clock (`claim_until`), held by one instance
    (`claimed_by`). Only an open row (pending or sending) is claimed; a final mark ends the lease.
    """

    instance: str  # this instance's name: ALERTD_INSTANCE, else the host name
    lease: timedelta

    def claim(self, keys: Iterable[str], *, limit: int | None = None) -> list[Row]:
        """Take the open rows among `keys` that no other instance holds a live lease on, up to
        `limit`, in one statement; returns them (this instance's own live claims included)."""

    def sweep(self, *, limit: int) -> list[Row]:
        """Take over open rows whose instant has passed and whose lease expired or was never
        taken (a dead or frozen instance's work), up to `limit`; returns them."""

    def start_sending(self, keys: Iterable[str], *, now: datetime) -> set[str]:
        """The check right before sending: mark `sending` (attempts + 1) and extend the lease of
        those keys whose lease this instance still holds on the database's clock; returns them.
        A key missing from the answer must not be sent."""

    def renew(self, keys: Iterable[str]) -> set[str]:
        """Extend the leases still recorded as this instance's; returns the keys renewed."""

    def release(self, keys: Iterable[str] | None = None) -> int:
        """End this instance's leases on `keys` (all of them when None) so others take over at
        once; returns how many ended."""

    def heartbeat(self) -> Beat:
        """Record this instance as alive now; returns the database's clock."""

    def instances(self) -> list[Instance]:
        """Every instance that ever registered, live and dead, by name."""

    def stop(self) -> None:
        """A clean shutdown: release every lease and record this instance as stopped."""
