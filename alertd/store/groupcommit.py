"""Group commit: the marks made in one event-loop iteration share one store transaction.

At midnight thousands of deliveries start together; a commit each for `sending` and `sent` would
make the ledger the bottleneck. Each caller still waits until its mark is committed, so
"recorded as started before it is sent" holds for every delivery.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from alertd.store.base import Mark, Store

__all__ = ["GroupCommit"]


class GroupCommit:
    def __init__(self, ledger: Store) -> None:
        self.ledger = ledger
        self._marks: list[Mark] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def sending(self, key: str, *, now: datetime) -> None:
        """Returns once the delivery is recorded as started."""
        await self._add(("sending", key, now))

    async def sent(self, key: str, *, now: datetime) -> None:
        """Returns once the delivery is recorded as accepted."""
        await self._add(("sent", key, now))

    async def _add(self, mark: Mark) -> None:
        loop = asyncio.get_running_loop()
        if not self._marks:
            loop.call_soon(self._flush)  # after every task that runs in this iteration has added its mark
        self._marks.append(mark)
        waiter = loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def _flush(self) -> None:
        marks, waiters = self._marks, self._waiters
        self._marks, self._waiters = [], []
        try:
            self.ledger.apply_marks(marks)
        except Exception as exc:  # every waiter learns the write failed
            for w in waiters:
                if not w.done():
                    w.set_exception(exc)
            return
        for w in waiters:
            if not w.done():
                w.set_result(None)
