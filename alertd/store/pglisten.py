"""Hearing at once what another instance or command did: LISTEN on its own connection, with a poll.

Every `act` on PostgreSQL commits with `NOTIFY alertd_state` (pgstate.py). A `Listener` is a thread
on a dedicated autocommit connection (never pooled: LISTEN belongs to a session) that waits in
`notifies(timeout=1)` and makes a pipe readable when a notification comes from another session;
the daemon's loop waits on that pipe with everything else (`Store.change_fd`).

A notification sent while the connection was down is lost, so the listener also makes the pipe
readable after every (re)connect, and every `poll` seconds asks for the newest action id and does
so when it grew: a lost notification costs at most one poll. A dead connection is noticed by that
poll (and by TCP keepalives) and replaced with backoff; an outage is logged once, not per attempt.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Mapping

import psycopg
import structlog

__all__ = ["CHANNEL", "Listener"]

CHANNEL = "alertd_state"
POLL = 5.0  # seconds between the "anything new?" probes that catch a lost notification
_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds between reconnect attempts, the last one repeating

log = structlog.get_logger("alertd.store.listen")


class Listener:
    """A LISTEN thread and the pipe it makes readable; `drain()` says whether anything came."""

    def __init__(self, params: Mapping[str, str], *, display: str, own_pids: set[int], poll: float = POLL) -> None:
        self._params = dict(params)
        self._display = display
        self._own = own_pids  # backend pids of this store's own sessions: their notifications are ours
        self._poll = poll
        self.newest = 0  # the newest action id known here (own acts raise it too)
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="alertd-db-listen", daemon=True)
        self._thread.start()

    @property
    def fd(self) -> int:
        return self._r

    def drain(self) -> bool:
        """Read what made the pipe readable; whether anything had."""
        got = False
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 4096):
                got = True
        return got

    def close(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:  # wake a thread blocked in notifies()
            with contextlib.suppress(OSError, psycopg.Error):
                socket.socket(fileno=os.dup(conn.fileno())).shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=3)
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _signal(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def _run(self) -> None:
        failures = 0
        attempts = 0
        while not self._stop.is_set():
            try:
                attempts += 1
                self._listen(again=attempts > 1)
                failures = 0
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                if failures == 0:
                    log.warning("store.listen_lost", database=self._display, error=type(exc).__name__,
                                action="reconnecting with backoff; polling for changes after")
                self._stop.wait(_BACKOFF[min(failures, len(_BACKOFF) - 1)])
                failures += 1

    def _listen(self, *, again: bool) -> None:
        with psycopg.connect(**self._params, autocommit=True) as conn:
            self._conn = conn
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                # What was notified while nobody listened is gone (before the first connect too:
                # the caller read what was there a moment earlier): say "look".
                self._check(conn, always=True)
                if again:
                    log.info("store.listen_restored", database=self._display)
                quiet = 0.0
                while not self._stop.is_set():
                    heard = False
                    for note in conn.notifies(timeout=1.0, stop_after=64):
                        if note.pid not in self._own:
                            heard = True
                        with contextlib.suppress(ValueError):
                            self.newest = max(self.newest, int(note.payload))
                    if heard:
                        self._signal()
                        quiet = 0.0
                        continue
                    quiet += 1.0
                    if quiet >= self._poll:
                        quiet = 0.0
                        self._check(conn, always=False)
            finally:
                self._conn = None

    def _check(self, conn: psycopg.Connection, *, always: bool) -> None:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM alertd.deadline_actions").fetchone()
        newest = int(row[0]) if row else 0
        if always or newest > self.newest:
            self._signal()
        self.newest = max(self.newest, newest)
