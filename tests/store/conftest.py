"""Stores to test against: the SQLite ledger in a temporary directory and PostgreSQL in a fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alertd.store.ledger import Ledger
from alertd.store.pgconn import Timeouts
from alertd.store.postgres import PostgresStore

# short bounds: an outage test fails in seconds, not in the daemon's 8
FAST = Timeouts(connect=2, statement=2, lock=1, idle_in_transaction=2, call=3)


def open_postgres(url: str, instance: str = "a", *, lease: timedelta = timedelta(seconds=5), **kw) -> PostgresStore:
    return PostgresStore.open(url, instance=instance, env={}, timeouts=FAST, lease=lease, **kw)


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], object]]:
    """Opens (and reopens) one store of the parametrized engine; closes them all at the end."""
    opened = []
    if request.param == "sqlite":
        path = tmp_path / "state" / "ledger.sqlite3"

        def make() -> object:
            opened.append(Ledger.open(path))
            return opened[-1]
    else:
        url = request.getfixturevalue("pg_url")

        def make() -> object:
            opened.append(open_postgres(url))
            return opened[-1]
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Callable[[], object]) -> object:
    return opener()
