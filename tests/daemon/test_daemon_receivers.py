"""Receivers that misbehave, against the daemon as a real process: retry storms and echoed secrets."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import REPO, SECRET, iso

pytestmark = pytest.mark.slow


class EchoReceiver:
    """Answers every POST with `status`, its `headers` and a body echoing the request line and headers."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.times: list[float] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.times.append(time.monotonic())
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.dumps({"error": f"bad request {self.requestline}", "headers": dict(self.headers)},
                                  ensure_ascii=True).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo() -> Iterator[list[EchoReceiver]]:
    made: list[EchoReceiver] = []
    yield made
    for r in made:
        r.close()


def write_config(tmp_path: Path, url: str, headers: dict[str, str] | None = None) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    doc = {"channels": {"hook": {"type": "webhook", "url": url, "secret": SECRET, **({"headers": headers} if headers
                                                                                  else {})}},
           "defaults": {"channels": ["hook"]},
           "deadlines": [{"id": "echoed", "title": "Echoed", "due": iso(due), "remind": ["90m"]}]}
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "a.yaml").write_text(json.dumps(doc))


@pytest.mark.parametrize("retry_after", ["0", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_a_retry_after_of_zero_or_the_past_does_not_make_a_retry_storm(echo, daemon_factory, tmp_path,
                                                                       retry_after: str) -> None:
    echo.append(EchoReceiver(503, {"Retry-After": retry_after}))
    write_config(tmp_path, echo[0].base + "/hook")
    d = daemon_factory()
    d.wait_event("alert.retry")
    time.sleep(4.0)  # the behaviour under test is a rate: requests per span of time
    assert d.stop() == 0
    times = echo[0].times
    # backoff with equal jitter: 1-2 s, 2-4 s, ...: at most 3 attempts in 4 s (a storm was thousands)
    assert 1 <= len(times) <= 3, len(times)
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(times)), times


SECRET_TOKEN = "sécret wörd-tøken"  # a space and non-ASCII: it travels percent-encoded


def test_a_secret_echoed_in_its_wire_form_is_redacted_everywhere(echo, daemon_factory, tmp_path) -> None:
    echo.append(EchoReceiver(400))
    env = {"HOOK_TOKEN": SECRET_TOKEN.replace(" ", "-"), "API_KEY": "Bearer k3y-" + "ü" * 3}
    token = env["HOOK_TOKEN"]
    write_config(tmp_path, echo[0].base + "/hook/${HOOK_TOKEN}", headers={"X-Api-Key": "${API_KEY}"})
    env["API_KEY"] = "Bearer k3y-v4lue-0123"  # header values must be ASCII (check refuses others)
    d = daemon_factory(env=env)
    d.wait_event("alert.failed")
    assert d.stop() == 0
    forms = {token, quote(token), quote(token, safe=""), quote(token).lower(), env["API_KEY"], "k3y-v4lue-0123"}
    state = tmp_path / "state"
    full = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    full |= {"ALERTD_STATE_DIR": str(state), **env}
    outputs = [d.log_path.read_text()]
    for args in (["status"], ["status", "--json"], ["test", "hook"], ["check"], ["plan", "--json"]):
        done = subprocess.run([sys.executable, "-m", "alertd.cli", *args, "-c", str(tmp_path / "config")], cwd=REPO,
                              env=full, capture_output=True, text=True, timeout=60, check=False)
        outputs.append(done.stdout + done.stderr)
    assert "bad request POST /hook/[redacted]" in outputs[0]  # the echo is there, redacted
    for name in os.listdir(state):  # the ledger and its WAL, as bytes
        with contextlib.suppress(IsADirectoryError):
            outputs.append((state / name).read_bytes().decode("utf-8", "replace"))
    for text in outputs:
        for form in forms:
            assert form not in text, (form, text[:2000])
