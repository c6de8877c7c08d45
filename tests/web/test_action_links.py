"""Signed action links end to end: a real `alertd run` with ALERTD_PUBLIC_URL, a loopback webhook
receiver getting the links, the page at /a/TOKEN, and the refusals that change nothing."""

from __future__ import annotations

import socket
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from alertd.core.links import LIFETIME, derive_key, sign, verify
from tests.daemon.conftest import iso, just_passed, wait_until


def _ledger_value(state_dir, sql: str) -> Any:
    """One value read from the daemon's ledger, beside it (read-only)."""
    conn = sqlite3.connect(f"file:{state_dir / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _key(state_dir) -> bytes:
    return _ledger_value(state_dir, "SELECT value FROM keys WHERE name = 'link'")


def _actions_recorded(state_dir) -> int:
    return _ledger_value(state_dir, "SELECT count(*) FROM deadline_actions")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _of(posts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [p for p in posts if p["json"]["type"] == kind]


@pytest.fixture
def start(served, daemon_config, receiver, tmp_path):
    return lambda **kw: _start(served, daemon_config, receiver, tmp_path, **kw)


def _start(served, daemon_config, receiver, tmp_path, *, title: str = "Late report", timezone: str = "UTC",
           **extra: Any):
    """Start the daemon serving on a fixed free port with ALERTD_PUBLIC_URL pointing at it, then add a
    deadline due in 2 s that repeats every 2 s (a due timed from after the start, never before it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    s = served([just_passed("other")], env={"ALERTD_HTTP_ADDR": f"127.0.0.1:{port}", "ALERTD_PUBLIC_URL": url})
    due = datetime.now(UTC) + timedelta(seconds=2)
    daemon_config(receiver.url, [just_passed("other"), {"id": "late-report", "title": title, "due": iso(due),
                                                       "remind": ["0"], "repeat": "2s", "repeat_for": "1h",
                                                       "timezone": timezone, **extra}])
    s.daemon.reload()
    return s, due


def test_a_repeat_carries_links_a_get_changes_nothing_and_a_post_stops_the_repeats(start, receiver, tmp_path):
    s, _ = start()
    first = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    actions = {a["action"]: a for a in first["actions"]}
    assert [a["label"] for a in first["actions"]] == ["Acknowledge", "Snooze 1 h", "Done"]
    ack = actions["ack"]["url"]
    assert ack.startswith(f"{s.url}/a/") and ack.endswith("?do=ack")
    token = urlsplit(ack).path.removeprefix("/a/")
    assert f"Acknowledge: {ack}" in first["text"]
    reminder_other = _of(receiver.posts, "deadline.reminder")
    assert reminder_other and all(p["json"]["data"]["actions"] for p in reminder_other)

    with httpx.Client(base_url=s.url, timeout=30) as c:  # no API token: the link is the credential
        for _ in range(3):
            page = c.get(_path(ack))
            assert page.status_code == 200
        assert "Late report" in page.text and "overdue" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert _actions_recorded(tmp_path / "state") == 0  # a GET changes nothing
        n = len(_of(receiver.posts, "deadline.overdue"))
        wait_until(lambda: len(_of(receiver.posts, "deadline.overdue")) > n, 20, "repeats go on after the GETs")

        # as ntfy's button does it: a POST to the link, no browser headers, no body
        done = c.post(_path(ack))
        assert done.status_code == 200
        assert "Acknowledged by link." in done.text
    assert _actions_recorded(tmp_path / "state") == 1
    notice = wait_until(lambda: _of(receiver.posts, "deadline.acknowledged"), 20, "the ack notice")[0]["json"]
    assert notice["data"]["by"] == "link"
    assert "actions" not in notice["data"]  # a notice carries no links
    acked_at = time.time()
    count = len(_of(receiver.posts, "deadline.overdue"))
    wait_until(lambda: time.time() > acked_at + 4.5, 10, "two repeat periods to pass")
    assert len(_of(receiver.posts, "deadline.overdue")) <= count + 1  # at most one already in flight

    s.daemon.stop()
    log = s.daemon.log_path.read_text()
    assert token not in log  # the capability is never logged
    (used,) = s.daemon.events("link.used")
    assert (used["deadline"], used["act"], used["recorded"]) == ("late-report", "ack", True)


def _refusals(key: bytes, token: str, due: datetime) -> dict[str, str]:
    return {
        "tampered": token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"),
        "unknown_key": sign("late-report", due, key=bytes(32)),
        "other_deadline": sign("not-in-config", due, key=key),
        "other_due": sign("late-report", due + timedelta(hours=1), key=key),
        "expired": sign("late-report", datetime.now(UTC) - LIFETIME - timedelta(seconds=5), key=key),
        "malformed": "not-a-token",
    }


def test_bad_tokens_get_403_with_a_page_that_says_why_and_change_nothing(start, receiver, tmp_path):
    s, _ = start()
    first = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    token = urlsplit(first["actions"][0]["url"]).path.removeprefix("/a/")
    due = datetime.fromisoformat(first["deadline"]["due"].replace("Z", "+00:00"))
    words = {"tampered": "altered", "unknown_key": "another key", "other_deadline": "no longer in",
             "other_due": "due has changed", "expired": "expired", "malformed": "not an alertd action link"}
    with httpx.Client(base_url=s.url, timeout=30) as c:
        for reason, bad in _refusals(_key(tmp_path / 'state'), token, due).items():
            for method in ("GET", "POST"):
                answer = c.request(method, f"/a/{bad}?do=ack", data={"do": "ack", "token": bad})
                assert answer.status_code == 403, (reason, method)
                assert words[reason] in answer.text, reason
                assert f"403 · {reason}" in answer.text
                assert bad not in answer.text
    assert _actions_recorded(tmp_path / "state") == 0


@pytest.mark.parametrize(("headers", "form"), [
    pytest.param({"Origin": "https://evil.example"}, True, id="origin-of-another-site"),
    pytest.param({"Sec-Fetch-Site": "cross-site"}, True, id="sec-fetch-site-cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site"}, True, id="sec-fetch-site-same-site"),
    pytest.param({"Origin": "ORIGIN", "Sec-Fetch-Site": "same-origin"}, False, id="browser-form-without-its-token"),
    pytest.param({"Origin": "null"}, True, id="origin-null-without-sec-fetch-site"),
    pytest.param({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, True, id="both-say-cross-site"),
])
def test_cross_site_or_tokenless_browser_posts_are_refused(start, receiver, tmp_path, headers, form):
    s, _ = start()
    first = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    ack = first["actions"][0]["url"]
    token = urlsplit(ack).path.removeprefix("/a/")
    headers = {k: (s.url if v == "ORIGIN" else v) for k, v in headers.items()}
    with httpx.Client(base_url=s.url, timeout=30) as c:
        refused = c.post(_path(ack), headers=headers, data={"do": "ack", **({"token": token} if form else {})})
        assert refused.status_code == 403
        assert "from another site, or without its token" in refused.text
        assert _actions_recorded(tmp_path / "state") == 0
        # the page's own form, from the page itself, works
        ok = c.post(_path(ack), headers={"Origin": s.url, "Sec-Fetch-Site": "same-origin"},
                    data={"do": "snooze", "token": token, "name": "Alice"})
        assert ok.status_code == 200 and "Snoozed for 1 hour by Alice." in ok.text
    assert _actions_recorded(tmp_path / "state") == 1


def test_a_hostile_title_shows_as_text(start, receiver):
    title = "<script>alert(1)</script> \"quoted\" 'single' שלום עולם & <b>bold</b>"
    s, _ = start(title=title)
    first = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    with httpx.Client(base_url=s.url, timeout=30) as c:
        page = c.get(_path(first["actions"][0]["url"]))
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&#34;quoted&#34;" in page.text and "שלום עולם" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_without_a_public_url_no_message_carries_links(served, receiver):
    served([just_passed("report")])
    (post,) = receiver.wait_posts(1, timeout=30)
    assert "actions" not in post["json"]["data"] and "/a/" not in post["json"]["data"]["text"]


def test_a_post_without_an_action_asks_for_one_and_changes_nothing(start, receiver, tmp_path):
    start()
    first = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]
    page = first["actions"][0]["url"].partition("?")[0]
    with httpx.Client(timeout=30) as c:
        for do in ({}, {"do": "reopen"}, {"do": "delete"}):
            answer = c.post(page, data=do)
            assert answer.status_code == 400 and "Choose Acknowledge, Snooze 1 h or Done." in answer.text
    assert _actions_recorded(tmp_path / "state") == 0


def test_a_deadline_cancelled_in_its_config_shows_no_buttons_and_takes_no_action(
        start, receiver, daemon_config, tmp_path):
    s, due = start()
    ack = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]["actions"][0]
    daemon_config(receiver.url, [just_passed("other"), {"id": "late-report", "title": "Late report", "due": iso(due),
                                                       "remind": ["0"], "status": "cancelled"}])
    s.daemon.reload()
    with httpx.Client(timeout=30) as c:
        page = c.get(ack["url"])
        assert page.status_code == 200 and "cancelled" in page.text and "<button" not in page.text
        refused = c.post(ack["url"])
        assert refused.status_code == 409 and "This deadline is cancelled in its config" in refused.text
    assert _actions_recorded(tmp_path / "state") == 0


def test_a_link_keeps_working_after_a_restart_with_the_kept_key(start, served, receiver, tmp_path):
    s, due = start()
    ack = wait_until(lambda: _of(receiver.posts, "deadline.overdue"), 30, "a repeat")[0]["json"]["data"]["actions"][0]
    key = _key(tmp_path / "state")
    s.daemon.stop()
    port = urlsplit(ack["url"]).port
    late = {"id": "late-report", "title": "Late report", "due": iso(due), "remind": ["0"], "repeat": "2s",
            "repeat_for": "1h"}
    again = served([just_passed("other"), late], env={"ALERTD_HTTP_ADDR": f"127.0.0.1:{port}",
                                                      "ALERTD_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    assert again.daemon.events("links.enabled")[0]["key"] == "kept in the state store"
    assert _key(tmp_path / "state") == key
    with httpx.Client(timeout=30) as c:
        page = c.get(ack["url"])
    assert page.status_code == 200 and "Late report" in page.text


def test_a_given_secret_signs_the_links_and_is_never_stored_or_logged(served, receiver, tmp_path):
    secret = "link-secret-for-the-tests-" + "9f8e7d6c5b4a"
    s = served([just_passed("report")], env={"ALERTD_PUBLIC_URL": "https://alertd.example.org",
                                            "ALERTD_LINK_SECRET": secret})
    (post,) = receiver.wait_posts(1, timeout=30)
    url = post["json"]["data"]["actions"][0]["url"]
    assert url.startswith("https://alertd.example.org/a/")
    token = urlsplit(url).path.removeprefix("/a/")
    claim = verify(token, key=derive_key(secret), now=datetime.now(UTC))
    assert claim.deadline_id == "report"
    assert s.daemon.events("links.enabled")[0]["key"] == "given"
    with httpx.Client(base_url=s.url, timeout=30) as c:  # served here, whatever the public URL says
        assert c.get(f"/a/{token}").status_code == 200
    s.daemon.stop()
    assert secret not in s.daemon.log_path.read_text() and token not in s.daemon.log_path.read_text()
    state = tmp_path / "state"
    assert _ledger_value(state, "SELECT count(*) FROM keys") == 0  # nothing made, nothing kept
    assert all(secret.encode() not in f.read_bytes() for f in state.iterdir() if f.is_file())
