"""Services that run beside the daemon in its event loop, started and stopped by it.

The daemon does not know what they are (the HTTP surface, alertd/web, is one): `alertd run`
builds them and passes them to `run_daemon`. Each is started after the daemon's start-up pass,
before it reports itself ready (`daemon.ready`, READY=1), so a client that waits for ready finds
it serving; and stopped first when the daemon stops, before the deliveries in flight are drained.
A service must never block the loop: the alerts run in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Service", "start_all", "stop_all"]


class Service(Protocol):
    async def start(self, daemon: Any) -> None:
        """Start serving; `daemon` is the running `alertd.daemon.loop.Daemon`."""

    async def stop(self) -> None:
        """Stop serving and release what `start` took."""


async def start_all(services: Sequence[Service], daemon: Any) -> None:
    for service in services:
        await service.start(daemon)


async def stop_all(services: Sequence[Service]) -> None:
    for service in reversed(services):
        await service.stop()
