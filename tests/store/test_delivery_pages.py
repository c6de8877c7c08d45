"""`Store.deliveries`: the API's pages of deliveries, the same on both engines (newest change first,
a cursor that does not shift, filters), and on PostgreSQL an index that serves every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alertd.store.base import DeliveryQuery, NewRow
from alertd.store.postgres import page_statement
from tests.store.conftest import open_postgres

T0 = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)
DUE = datetime(2030, 5, 21, 9, 0, tzinfo=UTC)


def row(key: str, deadline: str, state: str = "pending") -> NewRow:
    return NewRow(key, deadline, "P1D", DUE, "hook", T0, state, reason=None if state == "pending" else "superseded")


@pytest.fixture
def filled(store):
    """a-0..a-4 changed a minute apart; b-0..b-2 changed at one instant (the key orders them); b-1 superseded."""
    for i in range(5):
        store.record([row(f"a-{i}", "a")], now=T0 + timedelta(minutes=i))
    store.record([row("b-0", "b"), row("b-1", "b", "superseded"), row("b-2", "b")], now=T0 + timedelta(minutes=10))
    return store


def walk(store, q: DeliveryQuery) -> list[list[str]]:
    """Every page of `q`, each page's last row the cursor of the next."""
    pages = []
    while True:
        rows = store.deliveries(q)
        pages.append([r.key for r in rows])
        if len(rows) < q.limit:
            return pages
        q = DeliveryQuery(q.deadline, q.state, q.since, (rows[-1].updated_at, rows[-1].key), q.limit)


def test_pages_list_every_row_once_newest_change_first_and_ties_by_key(filled) -> None:
    assert walk(filled, DeliveryQuery(limit=3)) == [["b-2", "b-1", "b-0"], ["a-4", "a-3", "a-2"], ["a-1", "a-0"]]
    assert walk(filled, DeliveryQuery(limit=2)) == [["b-2", "b-1"], ["b-0", "a-4"], ["a-3", "a-2"], ["a-1", "a-0"], []]


def test_a_row_changed_after_a_page_was_read_does_not_shift_the_next_page(filled) -> None:
    first = filled.deliveries(DeliveryQuery(limit=3))
    filled.record([row("a-1", "a", "superseded")], now=T0 + timedelta(minutes=20))  # moves to the front
    after = DeliveryQuery(after=(first[-1].updated_at, first[-1].key), limit=3)
    assert [r.key for r in filled.deliveries(after)] == ["a-4", "a-3", "a-2"]


@pytest.mark.parametrize(("query", "keys"), [
    (DeliveryQuery(deadline="b"), ["b-2", "b-1", "b-0"]),
    (DeliveryQuery(deadline="a", limit=2), ["a-4", "a-3"]),
    (DeliveryQuery(state="superseded"), ["b-1"]),
    (DeliveryQuery(deadline="a", state="superseded"), []),
    (DeliveryQuery(since=T0 + timedelta(minutes=3)), ["b-2", "b-1", "b-0", "a-4", "a-3"]),
    (DeliveryQuery(deadline="a", since=T0 + timedelta(minutes=3), after=(T0 + timedelta(minutes=4), "a-4")), ["a-3"]),
    (DeliveryQuery(deadline="nobody"), []),
])
def test_filters_keep_the_order_and_combine(filled, query: DeliveryQuery, keys: list[str]) -> None:
    assert [r.key for r in filled.deliveries(query)] == keys


@pytest.mark.parametrize(("query", "index"), [
    (DeliveryQuery(), "deliveries_page"),
    (DeliveryQuery(after=(T0, "a-1"), state="sent"), "deliveries_page"),
    (DeliveryQuery(deadline="a", after=(T0, "a-1")), "deliveries_page_by_deadline"),
])
def test_on_postgresql_a_page_is_a_walk_of_an_index(pg_url: str, query: DeliveryQuery, index: str) -> None:
    """Without the sequential scan the planner would pick for a tiny table, the page statement is
    served by the index migration 004 made for it, in order (no sort of the whole table)."""
    open_postgres(pg_url).close()  # the schema
    sql, params = page_statement(query)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, params))
    assert f"Index Scan Backward using {index}" in plan, plan
    assert "Sort" not in plan, plan
