"""Every store engine offers the `Store` operations with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from alertd.store.base import Store
from alertd.store.ledger import Ledger

OPERATIONS = sorted(name for name, value in vars(Store).items() if callable(value) and not name.startswith("_"))


def test_the_interface_names_the_operations_the_daemon_uses() -> None:
    assert {"see", "first_seen", "record", "apply_marks", "mark_retry", "finish", "get", "rows", "unfinished",
            "next", "recent", "failures", "counts", "close", "unfinished_for", "received_after_due", "act", "states",
            "actions_after", "action", "changed"} <= set(OPERATIONS)


@pytest.mark.parametrize("engine", [Ledger])
@pytest.mark.parametrize("name", OPERATIONS)
def test_an_engine_has_the_operation_with_the_same_parameters(engine: type, name: str) -> None:
    want = inspect.signature(getattr(Store, name)).parameters
    got = inspect.signature(getattr(engine, name)).parameters
    assert [(p.name, p.kind, p.default) for p in got.values()] == [(p.name, p.kind, p.default) for p in want.values()]
