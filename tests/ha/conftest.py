"""Several real `alertd run` processes on one real PostgreSQL database (a fresh one per test)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.daemon.conftest import (  # noqa: F401 - fixtures
    DaemonProcess,
    NotifyListener,
    Receiver,
    daemon_config,
    notify,
    receiver,
)
from tests.daemon.test_daemon_after_due import receivers  # noqa: F401 - a fixture: one receiver per name

__all__ = ["Cluster", "keys_of"]


def keys_of(posts: list[dict[str, Any]]) -> Counter[str]:
    """How many times each delivery key (the webhook's `webhook-id`) arrived."""
    return Counter(p["headers"]["webhook-id"] for p in posts)


class Cluster:
    """Start instances named a, b, c, ... on one database; each has its own state directory and log."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.started: list[DaemonProcess] = []

    def start(self, name: str, *, url: str | None = None, env: dict[str, str] | None = None,
              prefix: list[str] | None = None, config: str = "config",
              listener: NotifyListener | None = None) -> DaemonProcess:
        """`config`: the config directory's name under the test's directory (the same for all by default);
        `listener`: its NOTIFY_SOCKET."""
        d = DaemonProcess(self.root / config, self.root / f"state-{name}", listener, self.root / f"{name}.log",
                          env={"ALERTD_DATABASE_URL": url or self.url, "ALERTD_INSTANCE": name, **(env or {})},
                          prefix=prefix)
        self.started.append(d)
        return d

    def rows(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def kill_all(self) -> None:
        for d in self.started:
            d.kill()


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, pg_url)
    yield c
    c.kill_all()
