"""Telegram's Bot API end to end against a loopback server answering as the Bot API documents."""

from __future__ import annotations

import asyncio
import html
import json
import re

import pytest

from alertd.delivery.channels.clip import MARK, utf16_len
from alertd.delivery.channels.telegram import TEXT_MAX
from tests.peers import Answer, Receiver

from .kit import HOSTILE_TITLE, LONG_NOTES, SEED_DUES, attempt, channel, note

TOKEN = "7123456789:AAF3kq9ZxW2vB8nM4pL6tR1yU5iO0eD7cGh"
OK = json.dumps({"ok": True, "result": {"message_id": 42, "date": 1621544400, "chat": {"id": -1001, "type": "group"}}})


def telegram(receiver: Receiver, chat_id: str = "-1001234567890", **extra: object):
    return channel({"type": "telegram", "token": TOKEN, "chat_id": chat_id, "api_url": receiver.url(""), **extra})


def visible(text: str) -> str:
    """What Telegram shows: the tags parsed away, the entities decoded."""
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


def test_it_sends_the_message_in_html_parse_mode(receiver: Receiver) -> None:
    receiver.answer(Answer(200, OK))
    assert asyncio.run(attempt(telegram(receiver), note("1d"))) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {
        "chat_id": -1001234567890,
        "text": "\n".join(["<b>Ten US diplomats must leave Russia</b>", "<i>In 1 day</i>", *SEED_DUES, "",
                           html.escape(note().deadline.notes, quote=False), "", "Tags: russia, usa, diplomacy"]),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "disable_notification": False,
    }


def test_a_channel_username_is_sent_as_a_string(receiver: Receiver) -> None:
    assert asyncio.run(attempt(telegram(receiver, chat_id="@alertd_desk"), note())) is None
    assert receiver.seen[0].json()["chat_id"] == "@alertd_desk"


def test_markup_in_config_text_is_escaped_and_the_visible_text_fits_4096(receiver: Receiver) -> None:
    title = HOSTILE_TITLE + " <script>&lt;</script>"
    assert asyncio.run(attempt(telegram(receiver), note(title=title, notes=LONG_NOTES))) is None
    text = receiver.seen[0].json()["text"]
    tags = set(re.findall(r"</?([a-z]+)>", text))
    assert tags == {"b", "i"}, "only alertd's own tags"
    assert visible(text).startswith(title + "\n")  # shown exactly as written
    assert utf16_len(visible(text)) <= TEXT_MAX
    assert MARK in visible(text)
    assert visible(text).endswith("Tags: russia, usa, diplomacy")  # the notes gave way, not the rest


def test_a_notice_is_sent_silently(receiver: Receiver) -> None:
    assert asyncio.run(attempt(telegram(receiver), note("0", kind="deadline.done"))) is None
    assert receiver.seen[0].json()["disable_notification"] is True


def test_flood_control_waits_for_parameters_retry_after(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"ok": False, "error_code": 429,
                                            "description": "Too Many Requests: retry after 17",
                                            "parameters": {"retry_after": 17}})))
    error = asyncio.run(attempt(telegram(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 17.0)
    assert str(error) == "HTTP 429: Too Many Requests: retry after 17"


def test_a_migrated_group_is_permanent_and_names_the_new_chat_id(receiver: Receiver) -> None:
    receiver.answer(Answer(400, json.dumps({"ok": False, "error_code": 400,
                                            "description": "Bad Request: group chat was upgraded to a supergroup chat",
                                            "parameters": {"migrate_to_chat_id": -1009876543210}})))
    error = asyncio.run(attempt(telegram(receiver), note()))
    assert error is not None and error.permanent
    assert "set chat_id to -1009876543210" in str(error)


@pytest.mark.parametrize(("status", "description", "permanent"), [
    (400, "Bad Request: chat not found", True),
    (401, "Unauthorized", True),
    (403, "Forbidden: bot was blocked by the user", True),
    (404, "Not Found", True),
    (500, "Internal Server Error", False),
    (502, "Bad Gateway", False),
])
def test_the_verdict_by_status(receiver: Receiver, status: int, description: str, permanent: bool) -> None:
    receiver.answer(Answer(status, json.dumps({"ok": False, "error_code": status, "description": description})))
    error = asyncio.run(attempt(telegram(receiver), note(), secrets=(TOKEN,)))
    assert error is not None
    assert (str(error), error.permanent) == (f"HTTP {status}: {description}", permanent)


def test_a_hanging_api_is_a_retryable_timeout_that_never_shows_the_token(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(telegram(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)
