"""The event loop never waits on the database: an outage that begins under an engine pass.

A real `alertd run` on PostgreSQL through a TCP proxy the test controls, a deadline repeating every
2 s (so an engine pass reads and writes the store every 2 s) and the HTTP surface on the same loop.
The proxy stalls the connection (a partition: no error comes back, a call waits for its 8 s
deadline): the next engine pass meets it. Had that pass made its store calls on the loop, the loop
would stop for up to 8 s and /healthz (answered on the loop, without a round trip) with it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from psycopg.conninfo import make_conninfo

from tests.daemon.conftest import wait_until
from tests.ha.conftest import Cluster
from tests.ha.test_ha_web import Served, overdue, write_config
from tests.pgserver import server_address
from tests.tcpproxy import Proxy

pytestmark = pytest.mark.slow

ANSWER_WITHIN = 4.0  # seconds: half the database's call deadline; a loop waiting on a stalled call misses it


def test_a_stalled_database_does_not_stop_the_loop_and_the_daemon_recovers(cluster: Cluster, receiver) -> None:
    with Proxy(server_address(cluster.url)) as proxy:
        write_config(cluster, receiver.url)
        a = Served(cluster, "a", url=make_conninfo(cluster.url, host="127.0.0.1", port=proxy.port))
        a.daemon.wait_event("daemon.ready", timeout=60)
        write_config(cluster, receiver.url, late=datetime.now(UTC) + timedelta(seconds=2))
        a.daemon.reload()
        wait_until(lambda: len(overdue(receiver)) >= 2, 30, "two repeats: engine passes with store calls")
        proxy.stall()
        stalled = time.monotonic()
        answers = 0
        with httpx.Client(base_url=a.url, timeout=ANSWER_WITHIN) as c:
            # across the whole deadline of the first stalled call, and past it: every request is answered
            while time.monotonic() < stalled + 12 or not a.daemon.events("store.unavailable"):
                assert time.monotonic() < stalled + 60, "store.unavailable never logged"
                r = c.get("/healthz")  # a loop that waits on the database times this out
                assert r.status_code in (200, 503), r.text
                assert r.json()["loop"] is True
                answers += 1
                time.sleep(0.2)
            assert c.get("/healthz").status_code == 503  # the outage is known: nothing is decided meanwhile
        assert answers >= 20
        assert len(a.daemon.events("store.unavailable")) == 1  # logged once per outage
        proxy.restore()
        a.daemon.wait_event("store.restored", timeout=60)
        sent = len(overdue(receiver))
        wait_until(lambda: len(overdue(receiver)) >= sent + 2, 30, "repeats again once the database is back")
