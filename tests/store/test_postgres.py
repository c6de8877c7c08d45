"""The PostgreSQL engine's own concerns: its schema, its URL and password, and database outages."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from alertd.store.base import NewRow, StoreError, StoreUnavailable
from alertd.store.pgconn import Target
from alertd.store.pgschema import SCHEMA_VERSION, migrations
from alertd.store.postgres import PostgresStore
from tests.pgserver import server_address
from tests.store.conftest import FAST, open_postgres
from tests.store.test_claims import DUE, NOW, wait_for
from tests.tcpproxy import Proxy

PASSWORD = "Sup3r-Secret-Pw"


def versions(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, file FROM alertd.schema_version ORDER BY version").fetchall()


def test_it_creates_the_schema_once_with_its_version(pg_url):
    with open_postgres(pg_url) as store:
        assert store.version == SCHEMA_VERSION
    with open_postgres(pg_url) as store:
        assert store.version == SCHEMA_VERSION
    assert versions(pg_url) == [(v, name) for v, name, _ in migrations()]


def test_three_instances_starting_at_once_create_the_schema_once(pg_url):
    script = textwrap.dedent("""
        import sys, time
        from alertd.store.postgres import PostgresStore
        from alertd.store.pgschema import migrate
        start = float(sys.argv[2])
        while time.time() < start:
            pass
        store = PostgresStore.open(sys.argv[1], instance=sys.argv[3], env={})
        print(store.version)
        store.close()
    """)
    start = time.time() + 2.0  # all three interpreters are up by then, then race for the schema
    procs = [subprocess.Popen([sys.executable, "-c", script, pg_url, str(start), f"i{n}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert [out.strip() for out, _ in outs] == [str(SCHEMA_VERSION)] * 3
    assert versions(pg_url) == [(v, name) for v, name, _ in migrations()]


def test_a_newer_schema_is_refused(pg_url):
    open_postgres(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO alertd.schema_version VALUES (%s, now(), 'later', 'later.sql')",
                     (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this alertd"):
        open_postgres(pg_url)


def test_a_reader_never_creates_the_schema(pg_url):
    with pytest.raises(StoreError, match="has `alertd run` started"):
        open_postgres(pg_url, migrate_schema=False)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regnamespace('alertd')").fetchone() == (None,)
    open_postgres(pg_url).close()
    open_postgres(pg_url, migrate_schema=False).close()


def test_every_statement_is_bounded_by_the_server(pg_url):
    with open_postgres(pg_url) as store, store.db.call("probe") as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("2s",)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("2s",)


def test_a_statement_over_its_timeout_is_a_clean_retryable_error(pg_url):
    with open_postgres(pg_url) as store:
        with pytest.raises(StoreUnavailable, match="canceling statement due to statement timeout"), \
                store.db.call("probe") as conn:
            conn.execute("SELECT pg_sleep(5)")
        assert store.counts() == {}  # the pool goes on


# -- the URL and the password ---------------------------------------------------------------------
def test_the_password_comes_from_a_reference_or_a_credential(tmp_path):
    by_ref = Target.resolve("postgresql://alertd:${DB_PASSWORD}@db.example.org/alertd", {"DB_PASSWORD": PASSWORD})
    assert by_ref.params["password"] == PASSWORD
    assert by_ref.display == "postgresql://alertd@db.example.org/alertd"
    (tmp_path / "database-password").write_text(PASSWORD + "\n")
    by_file = Target.resolve("postgresql://alertd@db.example.org:6432/alertd", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert by_file.params["password"] == PASSWORD
    assert by_file.display == "postgresql://alertd@db.example.org:6432/alertd"
    assert PASSWORD not in repr(by_ref) + repr(by_file)


def test_an_unresolvable_reference_names_it(tmp_path):
    with pytest.raises(StoreError, match=r"\$\{DB_PASSWORD\} is not set"):
        Target.resolve("postgresql://alertd:${DB_PASSWORD}@db/alertd", {"CREDENTIALS_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize("url", [f"postgresql://alertd:{PASSWORD}@db/alertd?bogus=1",
                                 f"host=db password={PASSWORD} junk"])
def test_a_bad_url_is_refused_without_showing_the_password(url):
    with pytest.raises(StoreError) as err:
        Target.resolve(url, {})
    assert PASSWORD not in str(err.value)


def test_the_password_never_shows_when_the_server_cannot_be_reached(caplog):
    caplog.set_level(logging.DEBUG)
    with Proxy(("127.0.0.1", 9)) as proxy:
        proxy.cut()
        url = f"postgresql://alertd:{PASSWORD}@127.0.0.1:{proxy.port}/alertd"
        with pytest.raises(StoreUnavailable) as err:
            PostgresStore.open(url, instance="a", env={}, timeouts=FAST)
    assert f"postgresql://alertd@127.0.0.1:{proxy.port}/alertd" in str(err.value)
    assert PASSWORD not in str(err.value) and PASSWORD not in repr(err.value)
    assert caplog.records and not [r for r in caplog.records if PASSWORD in r.getMessage()]


# -- outages --------------------------------------------------------------------------------------
@pytest.fixture
def proxied(pg_url):
    """A store that reaches the database through a proxy the test can cut or stall."""
    open_postgres(pg_url).close()  # the schema, created directly
    with Proxy(server_address(pg_url)) as proxy:
        store = open_postgres(make_conninfo(pg_url, host="127.0.0.1", port=proxy.port))
        yield store, proxy
        store.close()


def bounded(call, limit: float) -> StoreUnavailable:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        call()
    assert time.monotonic() - started < limit, f"took {time.monotonic() - started:.1f} s"
    return err.value


def test_a_stopped_database_gives_clean_errors_then_recovers(proxied):
    store, proxy = proxied
    store.record([NewRow("k", "d", "P1D", DUE, "hook", NOW, "pending")], now=NOW)
    proxy.cut()
    bounded(lambda: store.get("k"), FAST.call + 1)
    bounded(lambda: store.mark_sending("k", now=NOW), FAST.call + 1)  # the pool has nothing to give: bounded too
    proxy.restore()
    row = wait_for("the store reconnects", lambda: _try(lambda: store.get("k")), ceiling=20)
    assert row.state == "pending"


def test_a_network_that_swallows_everything_cannot_hang_a_call(proxied):
    store, proxy = proxied
    store.record([NewRow("k", "d", "P1D", DUE, "hook", NOW, "pending")], now=NOW)
    proxy.stall()
    err = bounded(lambda: store.claim(["k"]), FAST.call + 1)
    assert "took longer than" in str(err) or "failed" in str(err)
    proxy.restore()
    assert wait_for("the store reconnects", lambda: _try(lambda: store.claim(["k"])), ceiling=20)


def _try(call):
    try:
        return call()
    except StoreUnavailable:
        return None
