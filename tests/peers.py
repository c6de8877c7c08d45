"""A scripted loopback HTTP receiver: the real peer of the HTTP channel and `alertd test` tests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
    method: str = "POST"

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
                receiver.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                          self.command))
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

            do_PUT = do_POST  # Matrix sends with PUT

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)
