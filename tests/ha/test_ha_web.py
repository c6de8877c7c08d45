"""The HTTP surface of two `alertd run` instances on one PostgreSQL, each on its own address.

Real processes, a real database, a loopback webhook receiver. Each instance has its own
ALERTD_PUBLIC_URL, so a message's links tell which instance sent it: a link signed by one is
opened and used on the other, and the ack recorded there stops the repeats whoever sends them.
"""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from psycopg.conninfo import make_conninfo

from alertd.web.openapi import document
from tests.daemon.conftest import SECRET, iso, wait_until
from tests.ha.conftest import Cluster
from tests.pgserver import server_address
from tests.tcpproxy import Proxy
from tests.web.conftest import TOKEN

pytestmark = pytest.mark.slow

LATE = "late-report"
DELIVERY_LIST = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/DeliveryList",
                                                 "components": document()["components"]})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(cluster: Cluster, receiver_url: str, *, late: datetime | None = None) -> None:
    """A far deadline; with `late`, also one due then that repeats every 2 s."""
    directory = cluster.root / "config"
    directory.mkdir(exist_ok=True)
    far = iso(datetime.now(UTC) + timedelta(days=30))
    deadlines: list[dict[str, Any]] = [{"id": "far", "title": "Far", "due": far}]
    if late is not None:
        deadlines.append({"id": LATE, "title": "Late report", "due": iso(late), "remind": ["0"], "repeat": "2s",
                          "repeat_for": "1h"})
    doc = {"channels": {"hook": {"type": "webhook", "url": receiver_url, "secret": SECRET}},
           "defaults": {"channels": ["hook"], "remind": ["0s"]}, "deadlines": deadlines}
    (directory / "alertd.yaml").write_text(json.dumps(doc, indent=1))


class Served:
    """One instance and its HTTP address."""

    def __init__(self, cluster: Cluster, name: str, *, url: str | None = None) -> None:
        port = free_port()
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.daemon = cluster.start(name, url=url, env={"ALERTD_HTTP_ADDR": f"127.0.0.1:{port}",
                                                        "ALERTD_PUBLIC_URL": self.url, "ALERTD_API_TOKEN": TOKEN})

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

    def deliveries(self, deadline: str) -> list[dict[str, Any]]:
        """Every page of GET /api/v1/deliveries?deadline=..., followed through `next`."""
        items, path = [], f"/api/v1/deliveries?deadline={deadline}&limit=2"
        with self.client() as c:
            while path:
                r = c.get(path)
                assert r.status_code == 200, r.text
                DELIVERY_LIST.validate(r.json())  # as the API's OpenAPI document says, `by` included
                items += r.json()["deliveries"]
                path = r.json()["next"]
        return items


def overdue(receiver) -> list[dict[str, Any]]:
    return [p["json"] for p in receiver.posts if p["json"]["type"] == "deadline.overdue"]


def link_of(message: dict[str, Any], action: str) -> str:
    return next(a["url"] for a in message["data"]["actions"] if a["action"] == action)


def two(cluster: Cluster, receiver, *, url: str | None = None) -> tuple[Served, Served]:
    write_config(cluster, receiver.url)
    a, b = Served(cluster, "a", url=url), Served(cluster, "b", url=url)
    for s in (a, b):
        s.daemon.wait_event("daemon.ready", timeout=60)
    return a, b


def repeats_stop(receiver, since: float) -> None:
    """No repeat is sent two repeat periods after `since` but one already on its way."""
    count = len(overdue(receiver))
    wait_until(lambda: time.time() > since + 4.5, 10, "two repeat periods to pass")
    assert len(overdue(receiver)) <= count + 1


def test_a_link_sent_by_one_instance_opens_and_acts_on_the_other_and_the_repeats_stop(cluster: Cluster,
                                                                                       receiver) -> None:
    a, b = two(cluster, receiver)
    # Only a has the repeating deadline at first (a rollout), so the first repeats are a's for sure.
    write_config(cluster, receiver.url, late=datetime.now(UTC) + timedelta(seconds=2))
    a.daemon.reload()
    first = wait_until(lambda: overdue(receiver), 30, "a repeat from a")[0]
    ack = link_of(first, "ack")
    assert ack.startswith(f"{a.url}/a/")
    b.daemon.reload()
    on_b = urlsplit(ack).path + "?" + urlsplit(ack).query  # the same token, at b's address

    with httpx.Client(base_url=b.url, timeout=30) as c:  # no API token: the link is the credential
        page = c.get(on_b)
        assert page.status_code == 200, page.text
        assert "Late report" in page.text
        assert cluster.rows("SELECT count(*) FROM alertd.deadline_actions") == [(0,)]  # a GET changes nothing
        done = c.post(on_b)
        assert done.status_code == 200, done.text
        assert "Acknowledged by link." in done.text
    acked_at = time.time()
    assert cluster.rows("SELECT deadline_id, act, who FROM alertd.deadline_actions") == [(LATE, "ack", "link")]
    notice = wait_until(lambda: [p for p in receiver.posts if p["json"]["type"] == "deadline.acknowledged"], 30,
                        "the ack notice")
    assert len(notice) == 1 and notice[0]["json"]["data"]["by"] == "link"
    repeats_stop(receiver, acked_at)
    a.daemon.wait_event("state.applied", timeout=30)  # a heard of the ack from the database

    # Both list the same deliveries, each with the instance that sent it.
    wait_until(lambda: {d["alert_id"] for d in a.deliveries(LATE)} == {d["alert_id"] for d in b.deliveries(LATE)},
               30, "the same deliveries on both")
    on_a, on_b_list = a.deliveries(LATE), b.deliveries(LATE)
    assert [(d["alert_id"], d["by"]) for d in on_a] == [(d["alert_id"], d["by"]) for d in on_b_list]
    assert {d["alert_id"] for d in on_a} == {k for (k,) in cluster.rows(
        "SELECT key FROM alertd.deliveries WHERE deadline_id = %s", LATE)}
    assert "a" in {d["by"] for d in on_a} and {d["by"] for d in on_a} <= {"a", "b"}
    with b.client() as c:
        item = c.get(f"/api/v1/deadlines/{LATE}").json()
        page = c.get("/")  # the status page of the instance that did not send the first repeats
    assert (item["state"], item["by"]) == ("acknowledged", "link")
    assert page.status_code == 200, page.text
    assert "Late report" in page.text and f"sent · <bdi>{LATE}</bdi>" in page.text
    shown_by = re.findall(r'<small class="by">by <bdi>([^<]*)</bdi></small>', page.text)  # who sent each, muted
    assert shown_by and set(shown_by) <= {"a", "b"}
    for s in (a, b):
        assert s.daemon.stop() == 0


def test_an_api_ack_on_one_instance_stops_the_repeats_the_other_sends(cluster: Cluster, receiver) -> None:
    a, b = two(cluster, receiver)
    write_config(cluster, receiver.url, late=datetime.now(UTC) + timedelta(seconds=2))
    a.daemon.reload()  # only a sends at first
    wait_until(lambda: overdue(receiver), 30, "a repeat from a")
    b.daemon.reload()
    with b.client() as c:
        r = c.post(f"/api/v1/deadlines/{LATE}/ack", json={"by": "ops", "note": "on it"})
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] is True and r.json()["deadline"]["state"] == "acknowledged"
    acked_at = time.time()
    repeats_stop(receiver, acked_at)
    with a.client() as c:
        wait_until(lambda: c.get(f"/api/v1/deadlines/{LATE}").json()["state"] == "acknowledged", 10,
                   "a shows the ack made on b")
        again = c.post(f"/api/v1/deadlines/{LATE}/ack", json={"by": "someone else"})
    assert again.json()["recorded"] is False  # a sees it is acknowledged already: one action in the store
    assert cluster.rows("SELECT who, note FROM alertd.deadline_actions") == [("ops", "on it")]


def test_healthz_follows_the_database_on_each_instance(cluster: Cluster, receiver) -> None:
    with Proxy(server_address(cluster.url)) as proxy:
        a, b = two(cluster, receiver, url=make_conninfo(cluster.url, host="127.0.0.1", port=proxy.port))
        for s in (a, b):
            with s.client() as c:
                r = c.get("/healthz")
            assert r.status_code == 200, r.text
            assert (r.json()["store"], r.json()["instance"]) == (True, s.name)
        proxy.cut()
        for s in (a, b):
            with s.client() as c:
                wait_until(lambda c=c: c.get("/healthz").status_code == 503, 60, "503 while the database is cut")
                body = c.get("/healthz").json()
                assert (body["status"], body["store"], body["loop"]) == ("unavailable", False, True)
                deliveries = c.get("/api/v1/deliveries")
                assert deliveries.status_code == 503  # a read of the store: try again later
                assert deliveries.headers["content-type"].startswith("application/problem+json")
        proxy.restore()
        for s in (a, b):
            with s.client() as c:
                wait_until(lambda c=c: c.get("/healthz").status_code == 200, 60, "200 once it answers again")
                assert c.get("/api/v1/deliveries").status_code == 200
