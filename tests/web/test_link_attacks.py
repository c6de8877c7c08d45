"""Attacks on the action links and the pages around them, against a real `alertd run`: what an
attacker or a careless operator would try, each answered without a change of state or a leak."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alertd.core.links import sign
from tests.daemon.conftest import iso, just_passed
from tests.web.test_action_links import _actions_recorded, _key


@pytest.fixture
def idle(served, daemon_config, receiver, tmp_path):
    """A daemon with ALERTD_PUBLIC_URL whose one deadline is due tomorrow (nothing is sent while the
    test runs), and a link for that due signed with the key the daemon keeps."""

    def start(**extra: Any) -> tuple[Any, str, datetime, dict[str, Any]]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        deadline = {"id": "late-report", "title": "Late report", "due": iso(due), "remind": ["0"], **extra}
        s = served([deadline], env={"ALERTD_HTTP_ADDR": f"127.0.0.1:{port}", "ALERTD_PUBLIC_URL": url})
        token = sign("late-report", due, key=_key(tmp_path / "state"))
        return s, token, due, deadline

    return start


def _read_answer(sock: socket.socket) -> str:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_due_changed_while_the_form_is_still_arriving_refuses_the_old_link(
        idle, daemon_config, receiver, tmp_path):
    """The link is checked against the deadline as it is when the action is recorded, not as it was
    when the request's head arrived: a reload between the two makes the old link useless."""
    s, token, due, deadline = idle()
    body = b"do=ack&name=mallory"
    head = (f"POST /a/{token} HTTP/1.1\r\nHost: {s.url.removeprefix('http://')}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", int(s.url.rpartition(":")[2])), timeout=30) as sock:
        sock.sendall(head + body[:3])
        # An answer to a request sent after this head shows the server has read the head and begun the POST.
        with httpx.Client(base_url=s.url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
        daemon_config(receiver.url, [{**deadline, "due": iso(due + timedelta(hours=2))}])
        s.daemon.reload()
        sock.sendall(body[3:])
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 403"), answer[:200]
    assert "403 · other_due" in answer
    assert _actions_recorded(tmp_path / "state") == 0


def test_a_deadline_removed_while_the_form_is_still_arriving_is_a_refusal_not_an_error(
        idle, daemon_config, receiver, tmp_path):
    s, token, _, _ = idle()
    body = b"do=done"
    head = (f"POST /a/{token} HTTP/1.1\r\nHost: {s.url.removeprefix('http://')}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", int(s.url.rpartition(":")[2])), timeout=30) as sock:
        sock.sendall(head + body[:2])
        with httpx.Client(base_url=s.url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
        daemon_config(receiver.url, [just_passed("other")])
        s.daemon.reload()
        sock.sendall(body[2:])
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 403"), answer[:200]
    assert "403 · other_deadline" in answer
    assert _actions_recorded(tmp_path / "state") == 0
    assert not s.daemon.events("http.error")


def test_a_bad_link_is_refused_before_its_body_is_read(idle, tmp_path):
    """A POST to a link that is no link is answered at once, without waiting for a body: else a few
    clients that announce a body and never send it would hold every turn the server answers in."""
    s, token, _, _ = idle()
    bad = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    for path in ("/a/not-a-token", f"/a/{bad}"):
        head = (f"POST {path} HTTP/1.1\r\nHost: {s.url.removeprefix('http://')}\r\nConnection: close\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", int(s.url.rpartition(":")[2])), timeout=30) as sock:
            sock.sendall(head)  # and no body: the answer must not need it
            answer = sock.recv(65536).decode("utf-8", "replace")
        assert answer.startswith("HTTP/1.1 403"), (path, answer[:200])
    assert _actions_recorded(tmp_path / "state") == 0
