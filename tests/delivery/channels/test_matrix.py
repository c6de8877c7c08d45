"""Matrix end to end against a loopback homeserver answering as the client-server API specifies."""

from __future__ import annotations

import asyncio
import html
import json
from urllib.parse import unquote

import pytest

from alertd.delivery.channels.clip import MARK
from alertd.delivery.channels.matrix import send_url
from tests.peers import Answer, Receiver

from .kit import HOSTILE_TITLE, LONG_NOTES, SEED_DUES, attempt, channel, note

ROOM = "!OGEhHVWSdvArJzumhm:matrix.org"
ACCESS_TOKEN = "syt_YWxlcnRk_kZtQmVLbWxXbVNuQlBv_0u5gYQ"


def matrix(receiver: Receiver, **extra: object):
    return channel({"type": "matrix", "homeserver": receiver.url(""), "room": ROOM, "access_token": ACCESS_TOKEN,
                    **extra})


def test_it_puts_an_m_notice_with_the_delivery_key_as_transaction_id(receiver: Receiver) -> None:
    receiver.answer(Answer(200, json.dumps({"event_id": "$YUwRidLecu:example.com"})))
    n = note("1d")
    assert asyncio.run(attempt(matrix(receiver), n)) is None
    (seen,) = receiver.seen
    assert seen.method == "PUT"
    # httpx sends `!` and `:` as they are (both legal in a path); the homeserver reads the same room
    assert unquote(seen.path) == f"/_matrix/client/v3/rooms/{ROOM}/send/m.room.message/{n.key}"
    assert seen.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    notes = n.deadline.notes
    assert seen.json() == {
        "msgtype": "m.notice",
        "body": "\n".join(["Ten US diplomats must leave Russia — in 1 day", *SEED_DUES, "", notes, "",
                           "Tags: russia, usa, diplomacy"]),
        "format": "org.matrix.custom.html",
        "formatted_body": "<br>".join(["<strong>Ten US diplomats must leave Russia</strong> — <em>in 1 day</em>",
                                       *SEED_DUES, "", html.escape(notes), "", "Tags: russia, usa, diplomacy"]),
        "m.mentions": {},
    }


def test_a_retry_is_the_same_transaction(receiver: Receiver) -> None:
    """The homeserver dedupes on the txnId: a retry after a 502 puts to the very same path."""
    receiver.answer(Answer(502, "<html>Bad Gateway</html>"), Answer(200, json.dumps({"event_id": "$e"})))
    n = note("6h")
    first = asyncio.run(attempt(matrix(receiver), n))
    assert first is not None and not first.permanent
    assert asyncio.run(attempt(matrix(receiver), n)) is None
    assert receiver.seen[0].path == receiver.seen[1].path
    assert receiver.seen[0].body == receiver.seen[1].body


def test_config_text_is_escaped_in_the_html_body_and_mentions_nobody(receiver: Receiver) -> None:
    assert asyncio.run(attempt(matrix(receiver), note(title=HOSTILE_TITLE, notes=LONG_NOTES))) is None
    body = receiver.seen[0].json()
    assert body["m.mentions"] == {}
    assert body["body"].startswith(HOSTILE_TITLE + " — ")
    assert body["formatted_body"].startswith(f"<strong>{html.escape(HOSTILE_TITLE)}</strong>")
    assert "<b>" not in body["formatted_body"]
    assert MARK in body["body"] and len(receiver.seen[0].body) < 65_536 // 2


def test_m_limit_exceeded_waits_for_retry_after_ms(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests",
                                            "retry_after_ms": 2500})))
    error = asyncio.run(attempt(matrix(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 2.5)
    assert str(error) == "HTTP 429: M_LIMIT_EXCEEDED Too many requests"


def test_the_retry_after_header_wins_over_the_deprecated_field(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"errcode": "M_LIMIT_EXCEEDED", "error": "x", "retry_after_ms": 2500}),
                           {"Retry-After": "4"}))
    error = asyncio.run(attempt(matrix(receiver), note()))
    assert error is not None and error.retry_after == 4.0


@pytest.mark.parametrize(("status", "errcode", "permanent"), [
    (401, "M_UNKNOWN_TOKEN", True), (401, "M_MISSING_TOKEN", True), (403, "M_FORBIDDEN", True),
    (404, "M_NOT_FOUND", True), (400, "M_BAD_JSON", True), (403, "M_RESOURCE_LIMIT_EXCEEDED", False),
    (500, "M_UNKNOWN", False),
])
def test_the_verdict_by_error_code(receiver: Receiver, status: int, errcode: str, permanent: bool) -> None:
    receiver.answer(Answer(status, json.dumps({"errcode": errcode, "error": "no"})))
    error = asyncio.run(attempt(matrix(receiver), note(), secrets=(ACCESS_TOKEN,)))
    assert error is not None
    assert (str(error), error.permanent) == (f"HTTP {status}: {errcode} no", permanent)


def test_a_room_alias_is_refused_by_check() -> None:
    with pytest.raises(ValueError, match="room"):
        channel({"type": "matrix", "room": "#desk:matrix.org", "access_token": ACCESS_TOKEN})


def test_a_hanging_homeserver_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(matrix(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)


def test_the_room_and_transaction_id_are_quoted_as_path_segments() -> None:
    assert send_url("https://m.example.org", "!a/b?c:example.org", "alrt_1") == (
        "https://m.example.org/_matrix/client/v3/rooms/%21a%2Fb%3Fc%3Aexample.org/send/m.room.message/alrt_1")
