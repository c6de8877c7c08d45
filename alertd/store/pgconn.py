"""Reaching PostgreSQL: the URL and its password, every timeout that bounds a call, and the pool.

`Target.resolve` turns `ALERTD_DATABASE_URL` into libpq parameters: `${NAME}` references expand
like the config's (an environment variable, else the file NAME in `$CREDENTIALS_DIRECTORY`); a URL
without a password takes the credential `database-password` when systemd passes one; the
password, the URL and every expanded value go to a `Redactor`, so no error message shows them.

`Database` hands out pooled connections (psycopg 3, psycopg_pool) inside `call()`, which bounds the
whole call by a client-side deadline on top of the server's `statement_timeout`: a network that
swallows packets without an answer (a partition, a frozen peer) cannot hang a caller, because a
watchdog shuts the stuck connection's socket down at the deadline. Failures come out as
`StoreUnavailable` (try again later) or `StoreError`, with secrets redacted.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from alertd.config.secretrefs import SecretLookupError, expand
from alertd.redact import Redactor
from alertd.store.base import StoreError, StoreUnavailable

__all__ = ["PASSWORD_CREDENTIAL", "Database", "Target", "Timeouts"]

PASSWORD_CREDENTIAL = "database-password"  # noqa: S105 - a credential's name; systemd LoadCredential=database-password:/etc/alertd/db-password
_KV_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
_IDLE_CHECK = 2.0  # a pooled connection idle this long is checked (one empty query) before it is handed out


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `call` bounds a whole call on the client; the others are the server's bounds."""

    connect: float = 5.0  # libpq connect_timeout (libpq enforces at least 2 s)
    statement: float = 5.0  # statement_timeout: every statement short
    lock: float = 2.0  # lock_timeout: a row lock held by a stuck peer fails a write instead of blocking it
    idle_in_transaction: float = 5.0  # a frozen client's open transaction (and its row locks) ends
    call: float = 8.0  # the client's deadline for one call, connection included

    def options(self) -> str:
        ms = lambda s: int(s * 1000)  # noqa: E731
        return (f"-c statement_timeout={ms(self.statement)} -c lock_timeout={ms(self.lock)} "
                f"-c idle_in_transaction_session_timeout={ms(self.idle_in_transaction)}")


@dataclass(frozen=True, slots=True)
class Target:
    """libpq connection parameters, a display form without the password, and the secrets to redact."""

    params: dict[str, str] = field(repr=False)  # holds the password
    display: str
    redact: Redactor = field(repr=False)

    @classmethod
    def resolve(cls, url: str, env: Mapping[str, str] | None = None, *, instance: str = "alertd",
                timeouts: Timeouts = Timeouts()) -> Target:
        """Raises StoreError naming the problem (never the password) when the URL is unusable."""
        env = dict(os.environ) if env is None else env
        secrets: set[str] = {url}
        with contextlib.suppress(ValueError):
            if (password := urlsplit(url).password):
                secrets.add(password)
        secrets.update(m[1].strip("'") for m in _KV_PASSWORD.finditer(url))  # `password=...` in key=value form
        redact = Redactor(secrets)
        try:
            raw = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError("ALERTD_DATABASE_URL is not a libpq URL or connection string: "
                             f"{redact(str(exc))}") from None
        params: dict[str, str] = {}
        for key, value in raw.items():
            text = str(value)
            try:
                expanded = expand(text, env, secrets)
            except SecretLookupError as exc:
                raise StoreError(f"ALERTD_DATABASE_URL: {exc}") from None
            params[key] = expanded
        if "password" in params:
            secrets.add(params["password"])
        elif "passfile" not in params and env.get("CREDENTIALS_DIRECTORY"):
            path = Path(env["CREDENTIALS_DIRECTORY"]) / PASSWORD_CREDENTIAL
            if path.is_file():
                try:
                    params["password"] = path.read_text(encoding="utf-8").removesuffix("\n")
                except OSError as exc:
                    raise StoreError(f"cannot read credential {path}: {exc.strerror}") from None
                secrets.add(params["password"])
        redact.update(secrets)
        display = _display(params)
        # The server bounds every statement; libpq bounds connecting and (tcp_user_timeout,
        # keepalives) a dead network. A URL that sets one of these keeps its own value: `options=`
        # left empty sends none, as a transaction-pooling pgbouncer requires (it refuses startup
        # options; set the timeouts on the role there: docs/high-availability.md).
        params.setdefault("connect_timeout", str(max(2, round(timeouts.connect))))
        params.setdefault("options", timeouts.options())
        params.setdefault("application_name", f"alertd {instance}"[:63])
        params.setdefault("keepalives", "1")
        params.setdefault("keepalives_idle", "5")
        params.setdefault("keepalives_interval", "2")
        params.setdefault("keepalives_count", "3")
        params.setdefault("tcp_user_timeout", str(int(timeouts.call * 1000)))
        if not params["options"]:
            del params["options"]
        return cls(params, display, redact)


def _display(params: Mapping[str, str]) -> str:
    """`postgresql://user@host:port/dbname`, for messages (never the password)."""
    user = params.get("user", "")
    host = params.get("host", "") or params.get("hostaddr", "")
    port = params.get("port", "")
    where = f"{host}:{port}" if port else host
    return f"postgresql://{user + '@' if user else ''}{where}/{params.get('dbname', '')}"


class _Watchdog:
    """One thread that shuts down the socket of a connection whose call overran its deadline.

    libpq has no client-side timeout for a query in flight; shutting the socket down from another
    thread makes the blocked read fail at once ("server closed the connection"), and the pool then
    throws the connection away. shutdown() keeps the descriptor, so it cannot hit a reused one.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, psycopg.Connection] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="alertd-db-watchdog", daemon=True)
        self._thread.start()

    def arm(self, conn: psycopg.Connection, seconds: float) -> int:
        token = next(self._ids)
        with self._cond:
            self._armed[token] = conn
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._heap[0][1] == token:
                self._cond.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Returns whether the deadline had fired (the connection is then broken)."""
        with self._cond:
            self._armed.pop(token, None)
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=1)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait()
                    continue
                at, token = self._heap[0]
                delay = at - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                conn = self._armed.pop(token)
                self._fired.add(token)
                with contextlib.suppress(OSError, psycopg.Error):
                    socket.socket(fileno=os.dup(conn.fileno())).shutdown(socket.SHUT_RDWR)


class Database:
    """A pool of autocommit connections to one database, and the bounded `call()` around each use."""

    def __init__(self, target: Target, *, timeouts: Timeouts = Timeouts(), max_size: int = 4) -> None:
        self.target = target
        self.timeouts = timeouts
        self.redact = target.redact
        self._watchdog = _Watchdog()
        self.pool = psycopg_pool.ConnectionPool(
            "", kwargs={**target.params, "autocommit": True}, min_size=1, max_size=max_size, open=False,
            timeout=timeouts.connect + 1, name="alertd", check=self._check, reconnect_timeout=3600)

    def open(self) -> None:
        """Connect (waiting at most the connect timeout); raises StoreUnavailable if the server does not answer."""
        try:
            self.pool.open(wait=True, timeout=self.timeouts.connect + 1)
        except psycopg_pool.PoolTimeout:
            self._watchdog.stop()
            raise StoreUnavailable(f"database {self.target.display} did not answer within "
                                   f"{self.timeouts.connect + 1:g} s") from None

    def close(self) -> None:
        self.pool.close(timeout=2)
        self._watchdog.stop()

    def _check(self, conn: psycopg.Connection) -> None:
        """The pool's check: a connection idle for a while may have died with a database restart."""
        if time.monotonic() - getattr(conn, "_alertd_used", 0.0) < _IDLE_CHECK:
            return
        token = self._watchdog.arm(conn, self.timeouts.call)
        try:
            conn.execute("")
        finally:
            self._watchdog.disarm(token)

    @contextlib.contextmanager
    def call(self, what: str) -> Iterator[psycopg.Connection]:
        """A connection for one operation, bounded by the call deadline.

        Raises StoreUnavailable for an outage, a timeout or a lost connection, StoreError for any
        other database error; `what` names the operation in the message.
        """
        start = time.monotonic()
        try:
            conn = self.pool.getconn()
        except psycopg_pool.PoolTimeout:
            raise StoreUnavailable(f"database {self.target.display} unreachable: no connection for "
                                   f"{what} within {time.monotonic() - start:.1f} s") from None
        except psycopg_pool.PoolClosed:
            raise StoreError(f"{what}: the store is closed") from None
        token = self._watchdog.arm(conn, max(0.1, self.timeouts.call - (time.monotonic() - start)))
        fired = False
        try:
            yield conn
        except psycopg.OperationalError as exc:
            fired = self._watchdog.disarm(token)
            if fired:
                raise StoreUnavailable(f"database {self.target.display}: {what} took longer than "
                                       f"{self.timeouts.call:g} s; connection dropped") from None
            raise StoreUnavailable(f"database {self.target.display}: {what} failed: "
                                   f"{self.redact(_first_line(exc))}") from None
        except psycopg.Error as exc:
            fired = self._watchdog.disarm(token)
            raise StoreError(f"database {self.target.display}: {what} failed: "
                             f"{self.redact(_first_line(exc))}") from None
        finally:
            fired = self._watchdog.disarm(token) or fired
            if fired:
                conn.close()  # the deadline shut its socket: never hand it out again
            else:
                conn._alertd_used = time.monotonic()  # type: ignore[attr-defined]
            self.pool.putconn(conn)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
