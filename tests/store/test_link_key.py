"""The action-link key: made once by whoever needs it first, the same for every later open and instance."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from alertd.store.base import StoreError
from alertd.store.integrity import check_ledger
from alertd.store.ledger import Ledger, LedgerError
from alertd.store.pgschema import SCHEMA_VERSION as PG_VERSION
from alertd.store.pgschema import migrations
from alertd.store.sqlite_schema import MIGRATIONS, V1
from tests.store.conftest import open_postgres


def test_the_key_is_made_once_and_kept_across_opens(opener) -> None:
    first = opener().link_key()
    assert len(first) == 32
    assert opener().link_key() == first


def test_two_stores_at_once_agree_on_the_key(opener) -> None:
    a, b = opener(), opener()
    assert a.link_key() == b.link_key()


def test_two_processes_racing_to_make_the_key_keep_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from alertd.store.ledger import Ledger
        with Ledger.open(Path(sys.argv[1])) as ledger:
            print(ledger.link_key().hex())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_a_read_only_ledger_without_a_key_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    with Ledger.open_readonly(path) as ledger, pytest.raises(StoreError, match="no action-link key yet"):
        ledger.link_key()
    with Ledger.open(path) as ledger:
        made = ledger.link_key()
    with Ledger.open_readonly(path) as ledger:
        assert ledger.link_key() == made


def test_a_key_changed_by_hand_is_refused_naming_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        ledger.link_key()
        ledger.conn.execute("UPDATE keys SET value = x'00'")
        with pytest.raises(StoreError, match=f"ledger {path}: the action-link key it holds is not one"):
            ledger.link_key()


def test_a_version_2_ledger_is_upgraded_to_3_and_gets_the_keys_table(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for script in (V1, MIGRATIONS[2]):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Ledger.open(path) as ledger:
        assert ledger.version == 3
        check_ledger(ledger.conn, path, 3, error=LedgerError)
        assert len(ledger.link_key()) == 32


def test_a_version_3_ledger_without_its_keys_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE keys")
    conn.close()
    with pytest.raises(LedgerError, match="has no table 'keys'"):
        Ledger.open(path)


def test_postgres_gets_the_keys_migration_whatever_else_it_has(pg_url) -> None:
    """003 does not need 002: a database at any earlier version gets every migration it lacks."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA alertd")
        conn.execute("CREATE TABLE alertd.schema_version (version integer PRIMARY KEY, applied_at timestamptz "
                     "NOT NULL DEFAULT now(), applied_by text NOT NULL, file text NOT NULL)")
        first = migrations()[0]
        conn.execute(first[2])
        conn.execute("INSERT INTO alertd.schema_version (version, applied_by, file) VALUES (1, 'old', %s)",
                     (first[1],))
    with open_postgres(pg_url) as store:
        assert store.version == PG_VERSION
        assert len(store.link_key()) == 32
    with psycopg.connect(pg_url) as conn:
        got = [r[0] for r in conn.execute("SELECT version FROM alertd.schema_version ORDER BY version")]
    assert got == [v for v, _, _ in migrations()]
