"""Attacks on the pages and the API of a real `alertd run`: who may read deadline data, and what
every answer tells a browser."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta

from tests.daemon.conftest import iso, just_passed
from tests.web.conftest import TOKEN


def _raw(url: str, request: bytes) -> str:
    """Send `request` as is (bytes an HTTP client would refuse to send) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", int(url.rpartition(":")[2])), timeout=30) as sock:
        sock.sendall(request)
        return _read(sock)


def _read(sock: socket.socket) -> str:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_pages_served_without_the_token_only_to_a_loopback_host_name(served):
    """With a token, a loopback server shows its pages without it to local clients; a page on another
    site whose name was rebound to 127.0.0.1 (DNS rebinding) must not read them that way."""
    s = served([just_passed("secret-merger", "Merger announcement")])
    port = s.url.rpartition(":")[2]
    with s.client(auth=False) as c:
        assert c.get("/").status_code == 200  # a local browser, by 127.0.0.1
        for path in ("/", "/metrics", "/?tag=x"):
            rebound = c.get(path, headers={"Host": f"attacker.example:{port}"})
            assert rebound.status_code == 421, path
            assert "Merger" not in rebound.text and "secret-merger" not in rebound.text
    with s.client() as c:  # the token is good from anywhere
        assert c.get("/", headers={"Host": f"alertd.example:{port}"}).status_code == 200


def test_a_bearer_token_that_is_not_utf8_is_refused_not_an_error(served):
    s = served([just_passed("report")])
    for path, status in (("/api/v1/deadlines", 401), ("/", 200)):  # a page on loopback is open locally
        for scheme in (b"Bearer", b"Basic"):
            answer = _raw(s.url, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          b"Authorization: " + scheme + b" \xff\xfe" + TOKEN.encode()[2:] + b"\r\n\r\n")
            assert answer.startswith(f"HTTP/1.1 {status}"), (path, scheme, answer[:200])
    s.daemon.stop()
    assert not s.daemon.events("http.error")


def test_every_answer_tells_the_browser_not_to_sniff_or_frame_it(served):
    s = served([just_passed("report")])
    with s.client() as c:
        answers = {
            "problem": c.get("/api/v1/deadlines/%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            "json": c.get("/api/v1/deadlines"),
            "openapi": c.get("/api/v1/openapi.json"),
            "metrics": c.get("/metrics"),
            "not found": c.get("/nothing-here"),
            "page": c.get("/"),
            "bad page parameter": c.get("/?page=x"),
        }
    with s.client(auth=False) as c:
        answers |= {"healthz": c.get("/healthz"), "401": c.get("/api/v1/deadlines")}
    for what, answer in answers.items():
        assert answer.headers.get("x-content-type-options") == "nosniff", what
        assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", ""), what
        assert answer.headers.get("referrer-policy") == "no-referrer", what
    assert answers["problem"].headers["content-type"] == "application/problem+json"


def test_an_api_action_whose_body_arrives_after_a_reload_acts_on_the_due_loaded_then(
        served, daemon_config, receiver):
    """`POST .../ack` acts on the deadline's current due: the one loaded when the body has arrived and
    the action is recorded, not a due a reload replaced while the body was on its way."""
    due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    deadline = {"id": "late-report", "title": "Late report", "due": iso(due), "remind": ["0"]}
    s = served([deadline])
    body = b'{"by": "desk"}'
    head = (f"POST /api/v1/deadlines/late-report/ack HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", int(s.url.rpartition(":")[2])), timeout=30) as sock:
        sock.sendall(head + body[:4])
        with s.client() as c:  # answered after the head was sent: the server has read it and begun the POST
            assert c.get("/healthz").status_code == 200
        daemon_config(receiver.url, [{**deadline, "due": iso(due + timedelta(hours=2))}])
        s.daemon.reload()
        sock.sendall(body[4:])
        answer = _read(sock)
    assert answer.startswith("HTTP/1.1 200"), answer[:300]
    result = json.loads(answer.partition("\r\n\r\n")[2])
    assert result["recorded"] is True
    assert result["deadline"]["due"] == (due + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["deadline"]["state"] == "acknowledged"
    with s.client() as c:
        assert c.get("/api/v1/deadlines/late-report").json()["state"] == "acknowledged"


def _script_src(answer) -> str:
    policy = dict(p.strip().split(" ", 1) for p in answer.headers["content-security-policy"].split(";"))
    return policy["script-src"]


def test_pages_run_only_their_own_script_not_any_inline_one(served):
    """The CSP names each answer's script by a fresh nonce: markup that escaped the templates could
    not run a script of its own (no 'unsafe-inline')."""
    s = served([just_passed("report")])
    with s.client() as c:
        first, second = c.get("/"), c.get("/")
        refused = c.get("/a/not-a-token")
    sources = [_script_src(a) for a in (first, second, refused)]
    assert not any("unsafe-inline" in src for src in sources), sources
    nonce = sources[0].removeprefix("'nonce-").removesuffix("'")
    assert sources[0] != sources[1] and len(nonce) >= 16
    scripts = re.findall(r"<script\b[^>]*>", first.text)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
