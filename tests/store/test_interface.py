"""Every store engine offers the `Store` operations with the same parameters; PostgreSQL also `Claims`."""

from __future__ import annotations

import inspect

import pytest

from alertd.store.base import Claims, Store
from alertd.store.ledger import Ledger
from alertd.store.postgres import PostgresStore


def operations(protocol: type) -> list[str]:
    return sorted(name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_"))


def test_the_interface_names_the_operations_the_daemon_uses() -> None:
    assert {"see", "first_seen", "record", "apply_marks", "mark_retry", "finish", "get", "rows", "unfinished",
            "next", "recent", "failures", "counts", "close", "unfinished_for", "received_after_due", "act", "states",
            "actions_after", "action", "changed", "link_key", "deliveries"} <= set(operations(Store))
    assert {"claim", "sweep", "start_sending", "renew", "release", "heartbeat", "instances", "stop"} <= set(
        operations(Claims))


@pytest.mark.parametrize(("engine", "name"), [(e, n) for e in (Ledger, PostgresStore) for n in operations(Store)]
                         + [(PostgresStore, n) for n in operations(Claims)])
def test_an_engine_has_the_operation_with_the_same_parameters(engine: type, name: str) -> None:
    protocol = Store if name in operations(Store) else Claims
    want = inspect.signature(getattr(protocol, name)).parameters
    got = inspect.signature(getattr(engine, name)).parameters
    assert [(p.name, p.kind, p.default) for p in got.values()] == [(p.name, p.kind, p.default) for p in want.values()]
