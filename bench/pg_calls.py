"""What a PostgreSQL call costs the daemon's event loop: sync psycopg, async psycopg, or sync in a thread.

Also the PostgreSQL engine's batch operations at a midnight burst's size. Run against a scratch
database (created and dropped here):

    .venv/bin/python bench/pg_calls.py [ADMIN_URL]     # default: the local server, user postgres

"wall" is the time per call as the caller sees it; "CPU" is the calling (loop) thread's CPU time per
call, which is what a call takes away from every other task on the loop.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from alertd.store.base import NewRow
from alertd.store.postgres import PostgresStore

N = 3000


def line(label: str, wall: float, cpu: float, n: int) -> None:
    print(f"{label:58s} {wall / n * 1e6:7.0f} us wall  {cpu / n * 1e6:6.0f} us CPU")


def timed(label: str, fn, n: int = N) -> None:
    fn()
    cpu0, t0 = time.thread_time(), time.perf_counter()
    for _ in range(n):
        fn()
    line(label, time.perf_counter() - t0, time.thread_time() - cpu0, n)


async def atimed(label: str, make, n: int = N, tasks: int = 1) -> None:
    await make()
    cpu0, t0 = time.thread_time(), time.perf_counter()

    async def worker() -> None:
        for _ in range(n // tasks):
            await make()

    await asyncio.gather(*(worker() for _ in range(tasks)))
    line(label, time.perf_counter() - t0, time.thread_time() - cpu0, n)


def main(admin: str) -> None:
    name = f"alertd_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(admin, dbname=name)
    try:
        calls(url)
        batches(url)
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def calls(url: str) -> None:
    print("-- one call, one connection or pool, SELECT 1 unless said")
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("CREATE TABLE t (k text PRIMARY KEY, v int)")
    timed("sync psycopg", lambda: conn.execute("SELECT 1").fetchone())
    timed("sync psycopg, one-row upsert (commit: fsync)",
          lambda: conn.execute("INSERT INTO t VALUES ('k', 1) ON CONFLICT (k) DO UPDATE SET v = t.v + 1"), 500)
    pool = ConnectionPool(url, min_size=4, max_size=4, open=True, kwargs={"autocommit": True})
    pool.wait()

    def pooled() -> None:
        with pool.connection() as c:
            c.execute("SELECT 1").fetchone()

    timed("sync pool: getconn + SELECT 1 + putconn", pooled)

    async def run() -> None:
        aconn = await psycopg.AsyncConnection.connect(url, autocommit=True)

        async def one() -> None:
            await (await aconn.execute("SELECT 1")).fetchone()

        await atimed("async psycopg, on the loop", one)
        apool = AsyncConnectionPool(url, min_size=4, max_size=4, open=False, kwargs={"autocommit": True})
        await apool.open(wait=True)

        async def apooled() -> None:
            async with apool.connection() as c:
                await (await c.execute("SELECT 1")).fetchone()

        await atimed("async pool, on the loop", apooled)
        loop = asyncio.get_running_loop()
        ex = ThreadPoolExecutor(4)

        async def offloaded() -> None:
            await loop.run_in_executor(ex, pooled)

        await atimed("sync pool in a 4-thread executor, awaited from the loop", offloaded)
        await atimed("... 50 tasks at once: async pool (4 connections)", apooled, tasks=50)
        await atimed("... 50 tasks at once: sync pool in 4 threads", offloaded, tasks=50)
        await apool.close()
        await aconn.close()
        ex.shutdown()

    asyncio.run(run())
    pool.close()
    conn.close()


def batches(url: str) -> None:
    print("-- the engine's operations on a 2,000-alert burst (one instance)")
    now = datetime.now(UTC)
    rows = [NewRow(f"k{i:05d}", f"d{i}", "PT0S", now, "hook", now, "pending") for i in range(2000)]
    keys = [r.key for r in rows]
    with PostgresStore.open(url, instance="bench", env={}) as store:
        for label, fn in [
            ("see 2,000 (deadline, due) pairs", lambda: store.see(((r.deadline_id, r.due) for r in rows), now=now)),
            ("rows() of 2,000 keys", lambda: store.rows(keys)),
            ("record 2,000 pending rows", lambda: store.record(rows, now=now)),
            ("claim 200 of them (one statement)", lambda: store.claim(keys, limit=200)),
            ("start_sending 200 (check + mark)", lambda: store.start_sending(keys[:200], now=now)),
            ("apply_marks: 200 sent", lambda: store.apply_marks([("sent", k, now) for k in keys[:200]])),
            ("sweep: take over 200 due rows nobody holds", lambda: store.sweep(limit=200)),
            ("heartbeat", store.heartbeat),
        ]:
            t0 = time.perf_counter()
            fn()
            print(f"{label:58s} {(time.perf_counter() - t0) * 1000:7.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test")
