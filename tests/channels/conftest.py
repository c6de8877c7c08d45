"""Real loopback peers for the channel tests: an HTTP receiver with scripted answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alertd.config import load_config
from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.notification import Notification

SEED_CONFIG = Path(__file__).resolve().parents[2] / "config"


def seed_deadline() -> Deadline:
    """The shipped deadline: end of Fri 21 May 2021 in Moscow = 2021-05-21T21:00:00Z."""
    config = load_config(SEED_CONFIG, env={})
    return next(d for d in config.deadlines if d.id == "us-diplomats-leave-russia")


def seed_note(lead: str = "1d", channel: str = "ops", late_by_seconds: int = 0) -> Notification:
    d = seed_deadline()
    value = parse_lead(lead)
    return Notification.for_alert(d, value, d.fire_at(value), channel, late_by_seconds=late_by_seconds)


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the request open until the test ends
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A stdlib HTTP server on an ephemeral loopback port answering from a script.

    Answers are taken in order; when the script runs out, every request gets 200 ok.
    """

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self.got_request = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                receiver.got_request.set()
                answer = receiver.script.pop(0) if receiver.script else Answer()
                if answer.drop:
                    self.close_connection = True
                    return
                if answer.hang:
                    receiver.release.wait(30)
                    return
                data = answer.body.encode()
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
