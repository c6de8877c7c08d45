"""Real parts for daemon tests: a loopback webhook receiver, a NOTIFY_SOCKET, the daemon as a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `predicate` every 10 ms until it returns something truthy; fail after `timeout`."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def just_passed(deadline_id: str, title: str | None = None) -> dict[str, Any]:
    """A deadline two hours ahead whose one reminder (2h) has just passed.

    A daemon sends such a reminder as soon as it sees it (late, as after downtime), however
    long its start-up took: the tests that need "a delivery now" use it instead of a due a
    second or two ahead, which a slow start-up on a loaded machine would let pass unseen.
    Tests that measure on-time firing start the daemon first and add their deadline by SIGHUP.
    """
    return {"id": deadline_id, "title": title or deadline_id.title(),
            "due": iso(datetime.now(UTC) + timedelta(hours=2)), "remind": ["2h"]}


def parse_instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Receiver:
    """A loopback HTTP server that records every POST with its arrival time.

    `hold` makes requests wait until `release()`; `statuses` is a queue of status codes to answer
    with before answering 200.
    """

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.hold = False
        self._released = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.posts.append({"at": arrived, "json": json.loads(body), "headers": dict(self.headers)})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.hold:
                    receiver._released.wait(30)
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def release(self) -> None:
        self.hold = False
        self._released.set()

    def wait_posts(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.posts) >= n, timeout, f"{n} webhook posts (got {len(self.posts)})")
        return list(self.posts)

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class NotifyListener:
    """A real unix datagram socket standing in for systemd's NOTIFY_SOCKET (abstract name)."""

    def __init__(self) -> None:
        self.name = f"@alertd-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(data.decode())

    def count(self, line: str) -> int:
        return sum(line in m.splitlines() for m in self.messages)

    def wait_for(self, line: str, n: int = 1, timeout: float = 10.0) -> None:
        wait_until(lambda: self.count(line) >= n, timeout, f"{line} x{n} on NOTIFY_SOCKET (got {self.messages})")

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class DaemonProcess:
    """`alertd run` as a real subprocess; its log lines (JSON on a pipe-less file) are parsed."""

    def __init__(self, config_dir: Path, state_dir: Path, notify: NotifyListener | None, log_path: Path, *,
                 env: dict[str, str] | None = None, prefix: list[str] | None = None,
                 args: list[str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_", "WATCHDOG_"))}
        full_env |= {"ALERTD_STATE_DIR": str(state_dir), "ALERTD_LOG_LEVEL": "debug", "PYTHONUNBUFFERED": "1"}
        if notify is not None:
            full_env["NOTIFY_SOCKET"] = notify.name
        full_env |= env or {}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen([*(prefix or []), sys.executable, "-m", "alertd.cli", "run", "-c",
                                      str(config_dir), *(args or [])], cwd=REPO, env=full_env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and (name is None or event.get("event") == name):
                    out.append(event)
        return out

    def wait_event(self, name: str, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.events(name)) >= n and self.events(name), timeout,
                          f"log event {name} x{n}\n--- log ---\n{self.log_path.read_text(errors='replace')}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def reload(self) -> dict[str, Any]:
        """SIGHUP, and wait for the `config.reloaded` it causes; returns that event."""
        n = len(self.events("config.reloaded")) + 1
        self.signal(signal.SIGHUP)
        return self.wait_event("config.reloaded", n=n)[-1]

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def notify():
    n = NotifyListener()
    yield n
    n.close()


@pytest.fixture
def daemon_factory(tmp_path, notify):
    """Start daemons on `tmp_path/config` and `tmp_path/state`; every one is killed at the end."""
    started: list[DaemonProcess] = []

    def start(env: dict[str, str] | None = None, prefix: list[str] | None = None,
              notify_socket: NotifyListener | None = notify, args: list[str] | None = None) -> DaemonProcess:
        d = DaemonProcess(tmp_path / "config", tmp_path / "state", notify_socket,
                          tmp_path / f"daemon-{len(started)}.log", env=env, prefix=prefix, args=args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


@pytest.fixture
def daemon_config(tmp_path):
    """Write one config file with a webhook channel (signed) and the given deadlines."""
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)

    def write(url: str, deadlines: list[dict[str, Any]], name: str = "alertd.yaml") -> Path:
        doc = {"channels": {"hook": {"type": "webhook", "url": url, "secret": SECRET}},
               "defaults": {"channels": ["hook"]}, "deadlines": deadlines}
        path = directory / name
        path.write_text(json.dumps(doc, indent=1))  # JSON is YAML
        return path

    return write
