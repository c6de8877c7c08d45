"""Attacks on the action links and the pages around them, against a real `alertd run`: what an
attacker or a careless operator would try, each answered without a change of state or a leak."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alertd.core.links import sign
from alertd.web.guard import ANSWERING
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


def test_bodies_sent_slowly_or_never_hold_no_turn_and_time_out(idle, tmp_path):
    """More clients than the server answers at once (ANSWERING) post a link, good or not, announce a
    body and send one byte of it: the page and /healthz are still answered, and each of them gets 408."""
    s, token, _, _ = idle()
    slow = [socket.create_connection(("127.0.0.1", int(s.url.rpartition(":")[2])), timeout=60)
            for _ in range(ANSWERING + 2)]
    try:
        for i, sock in enumerate(slow):
            path = f"/a/{token}" if i % 2 else "/a/not-a-token"
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {s.url.removeprefix('http://')}\r\nContent-Type: "
                          "application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nd").encode())
        with httpx.Client(base_url=s.url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            assert c.get(f"/a/{token}").status_code == 200
        for sock in slow:
            assert sock.recv(65536).decode("utf-8", "replace").startswith("HTTP/1.1 408")
    finally:
        for sock in slow:
            sock.close()
    assert _actions_recorded(tmp_path / "state") == 0


def test_a_link_for_the_due_before_a_reload_is_refused_and_no_method_but_post_acts(
        idle, daemon_config, receiver, tmp_path):
    s, token, due, deadline = idle()
    with httpx.Client(base_url=s.url, timeout=30) as c:
        for method, path, headers in (
                ("HEAD", f"/a/{token}?do=ack", {}),
                ("GET", f"/a/{token}?do=ack&_method=POST", {"X-HTTP-Method-Override": "POST"}),
                ("OPTIONS", f"/a/{token}?do=ack", {}),
                ("PUT", f"/a/{token}?do=ack", {}),
                ("DELETE", f"/a/{token}", {})):
            answer = c.request(method, path, headers=headers)
            assert answer.status_code in (200, 405), (method, answer.status_code)
        assert _actions_recorded(tmp_path / "state") == 0
        daemon_config(receiver.url, [{**deadline, "due": iso(due + timedelta(minutes=1))}])
        s.daemon.reload()
        for method in ("GET", "POST"):
            answer = c.request(method, f"/a/{token}?do=ack")
            assert answer.status_code == 403 and "403 · other_due" in answer.text, method
    assert _actions_recorded(tmp_path / "state") == 0
