"""The PostgreSQL engine: the `Store` operations with the SQLite ledger's meanings, and `Claims`.

Chosen by `ALERTD_DATABASE_URL`; several instances on different hosts share one database and
send each delivery once (docs/high-availability.md has the protocol, its guarantees and the
numbers behind the choices here). The statements live in `sql/postgres/queries.sql`, the schema
in the numbered migrations beside it (pgschema.py applies them at open).

The engine is synchronous, like the ledger: `alertd status` and the other commands call it
directly, and the daemon's loop must hand its calls to a thread (a call costs the calling
thread ~0.1 ms of CPU against a local server, but on an outage it may wait for its deadline).
Every call is bounded: connecting, each statement, and the whole call (pgconn.py); a failure to
reach the database raises `StoreUnavailable`, which the caller retries.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alertd import __version__
from alertd.store.base import FINAL_STATES, Beat, DeliveryQuery, Instance, Mark, NewRow, Row, StoreError
from alertd.store.keys import LINK_KEY, new_key
from alertd.store.pgconn import Database, Target, Timeouts
from alertd.store.pgschema import SCHEMA_VERSION, migrate, queries, version
from alertd.store.pgstate import ACTION_COLUMNS, StateOps

__all__ = ["DEAD_AFTER", "LEASE", "PostgresStore", "page_statement"]

LEASE = timedelta(seconds=5)  # a claim's length; renewed every ~lease/3 while a send runs
DEAD_AFTER = timedelta(seconds=10)  # an instance without a heartbeat this long is shown as dead
DEFAULT_TIMEOUTS = Timeouts()
_CHUNK = 5000  # rows per statement for the bulk writes and reads: each statement stays short
_COLUMNS = ("key, deadline_id, lead, due, channel, fire_at, state, reason, attempts, first_attempt_at, "
            "last_attempt_at, sent_at, next_retry_at, last_error, updated_at, claimed_by, kind, action_id")
_PAGE_FILTERS = {"deadline": " AND deadline_id = %(deadline)s", "state": " AND state = %(state)s",
                 "since": " AND updated_at >= %(since)s"}  # deliveries_page's {filters}, in this order
_FAR = datetime(9999, 12, 31, tzinfo=UTC)  # the first page's cursor: after every row
_FILL = {"{columns}": _COLUMNS, "{actions}": ACTION_COLUMNS,
         **{f"{{actions_{t}}}": ", ".join(f"{t}.{c}" for c in ACTION_COLUMNS.split(", ")) for t in "abc"}}


def _fill(text: str) -> str:
    for name, value in _FILL.items():
        text = text.replace(name, value)
    return text


_SQL = {name: _fill(text) for name, text in queries().items()}


def _utc(value: datetime | None) -> datetime | None:
    """psycopg gives instants in the session's time zone; the store speaks UTC."""
    return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)


def _row(r: Sequence) -> Row:
    return Row(r[0], r[1], r[2], _utc(r[3]), r[4], _utc(r[5]), r[6], r[7], r[8], _utc(r[9]),  # type: ignore[arg-type]
               _utc(r[10]), _utc(r[11]), _utc(r[12]), r[13], _utc(r[14]), claimed_by=r[15], kind=r[16],
               action_id=r[17])  # type: ignore[arg-type]


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def page_statement(q: DeliveryQuery) -> tuple[str, dict]:
    """`deliveries_page` with the conditions `q` names, and its parameters."""
    params = {"deadline": q.deadline, "state": q.state, "since": q.since, "limit": q.limit,
              "before": q.after[0] if q.after else _FAR, "before_key": q.after[1] if q.after else ""}
    filters = "".join(sql for name, sql in _PAGE_FILTERS.items() if params[name] is not None)
    return _SQL["deliveries_page"].replace("{filters}", filters), params


class PostgresStore(StateOps):
    """A `Store` and `Claims` (base.py) on PostgreSQL. Every method is one short call, mostly one statement."""

    unwritten = 0  # (the ledger's count of writes its storage refused: here a failed write raises instead)

    def __init__(self, db: Database, *, instance: str, lease: timedelta = LEASE,
                 dead_after: timedelta = DEAD_AFTER) -> None:
        self.db = db
        self.instance = instance
        self.lease = lease
        self.dead_after = dead_after
        self.display = db.target.display
        self.path = Path(self.display)  # the Store's "where it lives", for messages (no password)
        self._sql = _SQL
        self._own_pids: set[int] = set()

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, instance: str, env: dict[str, str] | None = None, migrate_schema: bool = True,
             timeouts: Timeouts = DEFAULT_TIMEOUTS, lease: timedelta = LEASE,
             dead_after: timedelta = DEAD_AFTER, max_connections: int = 4) -> PostgresStore:
        """Connect and create or migrate the schema (`migrate_schema=False`: only check it, for readers).

        Raises StoreUnavailable when the server does not answer (try again), StoreError when the
        URL is unusable or the schema is of another version.
        """
        target = Target.resolve(url, env, instance=instance, timeouts=timeouts)
        db = Database(target, timeouts=timeouts, max_size=max_connections)
        db.open()
        store = cls(db, instance=instance, lease=lease, dead_after=dead_after)
        try:
            with db.call("schema migration" if migrate_schema else "schema check") as conn:
                if migrate_schema:
                    migrate(conn, applied_by=instance)
                else:
                    found = version(conn)
                    if found != SCHEMA_VERSION:
                        raise StoreError(f"database {store.display} has alertd schema version {found}; this alertd "
                                         f"reads {SCHEMA_VERSION}" + (": has `alertd run` started with it?"
                                                                      if found == 0 else ""))
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        self._close_listener()
        self.db.close()

    def retry_unwritten(self) -> bool:
        return True

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        with self.db.call("schema version") as conn:
            return version(conn)

    def _all(self, what: str, params: dict | None = None) -> list[tuple]:
        with self.db.call(what) as conn:
            return conn.execute(_SQL[what], params).fetchall()

    def _rows(self, what: str, params: dict | None = None) -> list[Row]:
        return [_row(r) for r in self._all(what, params)]

    # -- deadlines seen -----------------------------------------------------------------------
    def see(self, pairs: Iterable[tuple[str, datetime]], *, now: datetime) -> None:
        """Remember (deadline_id, due) pairs first seen at `now`; known pairs keep their time.

        In statements of 5,000 pairs, each its own transaction: the operation is idempotent, so a
        cut in the middle is finished by the next call, and no statement runs long.
        """
        items = list(pairs)
        with self.db.call("see") as conn:
            for part in _chunks(items):
                conn.execute(_SQL["see"], {"ids": [i for i, _ in part], "dues": [d for _, d in part], "now": now})

    def first_seen(self, pairs: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], datetime]:
        wanted = {(i, d.astimezone(UTC)): (i, d) for i, d in pairs}
        keys = list(wanted)
        out: dict[tuple[str, datetime], datetime] = {}
        with self.db.call("first_seen") as conn:
            for part in _chunks(keys):
                for i, d, seen in conn.execute(_SQL["first_seen"], {"ids": [k[0] for k in part],
                                                                    "dues": [k[1] for k in part]}):
                    pair = wanted.get((i, _utc(d)))
                    if pair is not None:
                        out[pair] = _utc(seen)  # type: ignore[assignment]
        return out

    # -- reading deliveries -------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        found = self._rows("get", {"key": key})
        return found[0] if found else None

    def rows(self, keys: Iterable[str]) -> dict[str, Row]:
        keys = list(keys)
        out: dict[str, Row] = {}
        with self.db.call("rows") as conn:
            for part in _chunks(keys):
                for r in conn.execute(_SQL["rows"], {"keys": list(part)}):
                    out[r[0]] = _row(r)
        return out

    def unfinished(self) -> list[Row]:
        return self._rows("unfinished")

    def next(self, limit: int = 10) -> list[Row]:
        return self._rows("next", {"limit": limit})

    def recent(self, limit: int = 20) -> list[Row]:
        return self._rows("recent", {"limit": limit})

    def failures(self, limit: int = 20) -> list[Row]:
        return self._rows("failures", {"limit": limit})

    def counts(self) -> dict[str, int]:
        return dict(self._all("counts"))  # type: ignore[arg-type]

    def deliveries(self, q: DeliveryQuery) -> list[Row]:
        """Up to `q.limit` rows matching `q`, newest change first (base.py)."""
        sql, params = page_statement(q)
        with self.db.call("deliveries page") as conn:
            return [_row(r) for r in conn.execute(sql, params).fetchall()]

    # -- writing ------------------------------------------------------------------------------
    def record(self, rows: Iterable[NewRow], *, now: datetime) -> None:
        """Record decisions at once (one transaction). A final row is left alone; an open one takes
        the new state unless another instance holds a live lease on it."""
        # Within one batch the same key resolves as the ledger's one-by-one upserts would: the
        # first final decision stands, else the last one.
        folded: dict[str, NewRow] = {}
        for r in rows:
            held = folded.get(r.key)
            if held is None or held.state not in FINAL_STATES:
                folded[r.key] = r
        items = list(folded.values())
        if not items:
            return
        with self.db.call("record") as conn, conn.transaction():
            for part in _chunks(items):
                conn.execute(_SQL["record"], {
                    "keys": [r.key for r in part], "ids": [r.deadline_id for r in part],
                    "leads": [r.lead for r in part], "dues": [r.due for r in part],
                    "channels": [r.channel for r in part], "fire_ats": [r.fire_at for r in part],
                    "states": [r.state for r in part], "reasons": [r.reason for r in part],
                    "kinds": [r.kind for r in part], "action_ids": [r.action_id for r in part],
                    "now": now, "me": self.instance})

    def apply_marks(self, marks: Iterable[Mark]) -> None:
        """`sending` (attempts + 1) and `sent` marks in one transaction, in order: consecutive marks
        of one kind go as one statement, split where a key repeats."""
        runs: list[tuple[str, list[str], list[datetime]]] = []
        for state, key, now in marks:
            if not runs or runs[-1][0] != state or key in runs[-1][1]:
                runs.append((state, [], []))
            runs[-1][1].append(key)
            runs[-1][2].append(now)
        if not runs:
            return
        with self.db.call("marks") as conn, conn.transaction():
            for state, keys, ats in runs:
                conn.execute(_SQL["mark_sending" if state == "sending" else "mark_sent"], {"keys": keys, "ats": ats})

    def mark_sending(self, key: str, *, now: datetime) -> None:
        self.apply_marks([("sending", key, now)])

    def mark_sent(self, key: str, *, now: datetime) -> None:
        self.apply_marks([("sent", key, now)])

    def mark_retry(self, key: str, *, at: datetime, error: str, now: datetime) -> None:
        with self.db.call("mark_retry") as conn:
            conn.execute(_SQL["mark_retry"], {"key": key, "at": at, "error": error, "now": now, "me": self.instance})

    def finish(self, key: str, state: str, *, reason: str, now: datetime, error: str | None = None) -> None:
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final state")
        with self.db.call("finish") as conn:
            conn.execute(_SQL["finish"], {"key": key, "state": state, "reason": reason, "error": error, "now": now,
                                          "me": self.instance})

    # -- claims -------------------------------------------------------------------------------
    def claim(self, keys: Iterable[str], *, limit: int | None = None) -> list[Row]:
        return self._rows("claim", {"keys": list(keys), "limit": limit, "me": self.instance, "lease": self.lease})

    def sweep(self, *, limit: int) -> list[Row]:
        return self._rows("sweep", {"limit": limit, "me": self.instance, "lease": self.lease})

    def start_sending(self, keys: Iterable[str], *, now: datetime) -> set[str]:
        found = self._all("start_sending", {"keys": list(keys), "now": now, "me": self.instance,
                                            "lease": self.lease})
        return {k for (k,) in found}

    def renew(self, keys: Iterable[str]) -> set[str]:
        return {k for (k,) in self._all("renew", {"keys": list(keys), "me": self.instance, "lease": self.lease})}

    def release(self, keys: Iterable[str] | None = None) -> int:
        with self.db.call("release") as conn:
            cur = conn.execute(_SQL["release"], {"me": self.instance, "all": keys is None,
                                                 "keys": [] if keys is None else list(keys)})
            return cur.rowcount

    def register(self) -> Beat:
        """Join as this instance: refused (StoreError) while a live process elsewhere has the same name."""
        host, pid = socket.gethostname(), os.getpid()
        with self.db.call("register") as conn:
            found = conn.execute(_SQL["register"], {"me": self.instance, "dead_after": self.dead_after}).fetchone()
        if found is not None:
            other_host, other_pid, alive = found
            if alive and (other_host, other_pid) != (host, pid) and not _gone(other_host, other_pid, host):
                raise StoreError(f"another alertd instance named {self.instance!r} is alive "
                                 f"(host {other_host}, pid {other_pid}): give each instance its own "
                                 "ALERTD_INSTANCE")
        return self._beat(start=True)

    def heartbeat(self) -> Beat:
        return self._beat(start=False)

    def _beat(self, *, start: bool) -> Beat:
        before = time.time()
        with self.db.call("heartbeat") as conn:
            (db_now,) = conn.execute(_SQL["heartbeat"], {
                "me": self.instance, "host": socket.gethostname(), "pid": os.getpid(), "version": __version__,
                "start": start}).fetchone()  # type: ignore[misc]
        after = time.time()
        db_now = _utc(db_now)
        local = datetime.fromtimestamp((before + after) / 2, UTC)
        return Beat(db_now, db_now - local)

    def instances(self) -> list[Instance]:
        return [Instance(r[0], r[1], r[2], r[3], _utc(r[4]), _utc(r[5]), _utc(r[6]), r[7], r[8])  # type: ignore[arg-type]
                for r in self._all("instances", {"dead_after": self.dead_after})]

    def link_key(self) -> bytes:
        """The action-link key, made by the first instance that needs it (keys.py says why)."""
        with self.db.call("link key") as conn:
            conn.execute(_SQL["make_key"], {"name": LINK_KEY, "value": new_key()})
            row = conn.execute(_SQL["key"], {"name": LINK_KEY}).fetchone()
        if row is None:
            raise StoreError(f"database {self.display} kept no action-link key")
        return bytes(row[0])

    def stop(self) -> None:
        with self.db.call("stop") as conn, conn.transaction():
            conn.execute(_SQL["release"], {"me": self.instance, "all": True, "keys": []})
            conn.execute(_SQL["stop"], {"me": self.instance})


def _gone(other_host: str, other_pid: int, host: str) -> bool:
    """A same-named instance on this host whose process is gone (killed, then restarted) is us again."""
    if other_host != host:
        return False
    try:
        os.kill(other_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

