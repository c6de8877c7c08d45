"""The HTTP surface as a service of the real daemon: opt-in, /healthz, /metrics, refusals at start."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from alertd.store.ledger import Ledger
from alertd.web.context import LOOP_STALE, WebContext
from tests.daemon.conftest import REPO, just_passed
from tests.web.conftest import TOKEN


def test_healthz_and_metrics_served_from_the_daemon(served):
    s = served([just_passed("report")])
    with s.client(auth=False) as c:
        health = c.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["loop"] and health.json()["store"]
    with s.client() as c:
        metrics = c.get("/metrics")
    assert metrics.status_code == 200
    assert "alertd_deadlines 1.0" in metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")


def test_off_without_the_setting(daemon_factory, daemon_config, receiver):
    daemon_config(receiver.url, [just_passed("report")])
    d = daemon_factory()
    d.wait_event("daemon.ready", timeout=60)
    assert d.events("http.listening") == []


def test_health_is_down_when_the_loop_stalls_or_the_store_fails(tmp_path):
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    daemon = SimpleNamespace(ledger=ledger, last_pass=time.monotonic(), stop_requested=False, shared=None)
    ctx = WebContext(daemon=daemon, loopback=True)  # type: ignore[arg-type]
    assert ctx.health()["loop"] and ctx.health()["store"]
    daemon.last_pass -= LOOP_STALE + 1
    assert not ctx.health()["loop"]
    daemon.last_pass = time.monotonic()
    ledger.close()
    assert not ctx.health()["store"]


def _run(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "a.yaml").write_text("deadlines: []\n")
    base = {"PATH": "/usr/bin:/bin", "ALERTD_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "run", "-c", str(config)], cwd=REPO,
                          env=base | env, capture_output=True, text=True, timeout=60, check=False)


def test_non_loopback_without_a_token_refuses_to_start(tmp_path):
    done = _run({"ALERTD_HTTP_ADDR": "0.0.0.0:0"}, tmp_path)
    assert done.returncode == 78
    assert "ALERTD_HTTP_ADDR '0.0.0.0:0' is not a loopback address and no API token is set" in done.stderr
    assert not (tmp_path / "state").exists()  # nothing written


def test_a_bad_address_or_short_token_is_one_clear_line(tmp_path):
    done = _run({"ALERTD_HTTP_ADDR": "127.0.0.1"}, tmp_path)
    assert done.returncode == 78
    assert "ALERTD_HTTP_ADDR '127.0.0.1' is not HOST:PORT" in done.stderr
    done = _run({"ALERTD_HTTP_ADDR": "127.0.0.1:0", "ALERTD_API_TOKEN": "short"}, tmp_path)
    assert done.returncode == 78
    assert "ALERTD_API_TOKEN must be at least 16 printable characters" in done.stderr
    assert "'short'" not in done.stderr  # the value itself is not echoed


def test_the_token_is_never_logged(served):
    s = served([just_passed("report")])
    with s.client() as c:
        assert c.get("/metrics").status_code == 200
    with s.client(auth=False) as c:
        c.get("/api/v1/deadlines", headers={"Authorization": "Bearer wrong-" + TOKEN})
    s.daemon.stop()
    assert TOKEN not in s.daemon.log_path.read_text()


def test_sigterm_stops_the_server_and_the_daemon_cleanly(served):
    s = served([just_passed("report")])
    port = int(s.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as idle:  # a client that stays connected
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"200 OK" in idle.recv(1000)
        assert s.daemon.stop(timeout=30) == 0
    s.daemon.wait_event("daemon.stopped")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize(("public_url", "token", "warned"), [
    ("https://alertd.example.org/desk", None, True),  # a proxy serves it: a bare proxy_pass would expose the pages
    ("https://alertd.example.org/desk", TOKEN, False),
    ("http://localhost:8080", None, False),  # links only for this machine
    ("http://[::1]:8080", None, False),
])
def test_a_public_url_elsewhere_without_a_token_warns_at_start(served, public_url, token, warned):
    s = served([just_passed("report")], token=token, env={"ALERTD_PUBLIC_URL": public_url})
    events = s.daemon.events("http.no_token_behind_public_url")
    assert bool(events) == warned
    if warned:
        [event] = events
        assert event["level"] == "warning" and event["public_url"] == public_url
        assert "X-Forwarded-For" in event["summary"] and "ALERTD_API_TOKEN" in event["summary"]
    with s.client(auth=False) as c:  # the start was not refused
        assert c.get("/healthz").status_code == 200
