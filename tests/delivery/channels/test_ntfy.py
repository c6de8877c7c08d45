"""ntfy JSON publishing end to end against a loopback server answering as ntfy's server does."""

from __future__ import annotations

import asyncio
import json

import pytest

from alertd.core.message import render
from alertd.delivery.channels.clip import MARK
from alertd.delivery.channels.ntfy import MESSAGE_MAX_BYTES, publication
from tests.peers import Answer, Receiver
from tests.seed import utc

from .kit import HOSTILE_TITLE, LONG_NOTES, ON_TIME, SEED_DUES, attempt, channel, note

TOPIC = "alertd-desk-4f9c2a"
TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"


def ntfy(receiver: Receiver, **extra: object):
    return channel({"type": "ntfy", "server": receiver.url("/ntfy/"), "topic": TOPIC, **extra})


def test_it_publishes_json_to_the_root_url_with_the_bearer_token(receiver: Receiver) -> None:
    receiver.answer(Answer(200, json.dumps({"id": "hwQ2YpKdmg", "event": "message", "topic": TOPIC})))
    assert asyncio.run(attempt(ntfy(receiver, token=TOKEN), note("1d"))) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", "/ntfy/")  # the root URL, not the topic's
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {
        "topic": TOPIC,
        "title": "Ten US diplomats must leave Russia",
        "message": "\n".join(["In 1 day", *SEED_DUES, "", note().deadline.notes]),
        "priority": 3,
        "tags": ["alarm_clock", "russia", "usa", "diplomacy"],
    }


def test_without_a_token_there_is_no_authorization_header(receiver: Receiver) -> None:
    assert asyncio.run(attempt(ntfy(receiver), note())) is None
    assert "authorization" not in receiver.seen[0].headers


@pytest.mark.parametrize(("case", "priority", "tag"), [
    (("7d", None, utc(2021, 5, 14, 21)), 3, "alarm_clock"),
    (("6h", None, utc(2021, 5, 21, 15)), 4, "hourglass_flowing_sand"),
    (("1d", None, utc(2021, 5, 21, 3)), 4, "hourglass_flowing_sand"),  # a late 1d reminder: the due is near
    (("0", None, utc(2021, 5, 21, 21)), 5, "rotating_light"),
    (("0", "deadline.overdue", utc(2021, 5, 21, 22)), 5, "rotating_light"),
    (("0", "deadline.escalation", utc(2021, 5, 21, 22)), 5, "sos"),
    (("0", "deadline.acknowledged", utc(2021, 5, 21, 22)), 2, "white_check_mark"),
    (("0", "deadline.snoozed", utc(2021, 5, 21, 22)), 2, "white_check_mark"),
])
def test_priority_rises_as_the_due_nears(receiver: Receiver, case: tuple, priority: int, tag: str) -> None:
    lead, kind, now = case
    assert asyncio.run(attempt(ntfy(receiver), note(lead, kind=kind), now=now)) is None
    body = receiver.seen[0].json()
    assert (body["priority"], body["tags"][0]) == (priority, tag)


def test_links_give_the_click_target_and_buttons_and_action_links_come_first() -> None:
    links = ("https://example.org/a", "https://example.org/b", "https://example.org/c")
    msg = render(note(links=links), now=ON_TIME)
    out = publication(msg, topic=TOPIC, tone_="due", actions={"ack": "https://alertd.example/a/T1"})
    assert out["click"] == "https://example.org/a"
    assert out["actions"] == [
        {"action": "http", "label": "Acknowledge", "url": "https://alertd.example/a/T1", "method": "POST",
         "clear": True},
        {"action": "view", "label": "Link 1", "url": "https://example.org/a"},
        {"action": "view", "label": "Link 2", "url": "https://example.org/b"},
    ]  # "up to three user actions"


def test_the_message_is_cut_to_4096_bytes_and_the_title_kept_intact(receiver: Receiver) -> None:
    assert asyncio.run(attempt(ntfy(receiver), note(title=HOSTILE_TITLE, notes=LONG_NOTES))) is None
    body = receiver.seen[0].json()
    assert body["title"] == HOSTILE_TITLE
    assert len(body["message"].encode()) <= MESSAGE_MAX_BYTES  # longer would become an attachment
    assert body["message"].endswith(MARK)


def test_429_is_retried_after_the_documented_refill(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"code": 42901, "http": 429, "error": "limit reached: too many requests",
                                            "link": "https://ntfy.sh/docs/publish/#limitations"})))
    error = asyncio.run(attempt(ntfy(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 5.0)
    assert str(error) == "HTTP 429: limit reached: too many requests"


def test_a_retry_after_header_wins_over_the_refill(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"code": 42908, "http": 429}), {"Retry-After": "60"}))
    error = asyncio.run(attempt(ntfy(receiver), note()))
    assert error is not None and error.retry_after == 60.0


@pytest.mark.parametrize(("status", "code", "permanent"), [(403, 40301, True), (401, 40101, True),
                                                            (400, 40009, True), (413, 41303, True),
                                                            (500, 50001, False), (507, 50701, False)])
def test_the_verdict_by_status(receiver: Receiver, status: int, code: int, permanent: bool) -> None:
    receiver.answer(Answer(status, json.dumps({"code": code, "http": status, "error": "forbidden"})))
    error = asyncio.run(attempt(ntfy(receiver, token=TOKEN), note()))
    assert error is not None
    assert error.permanent is permanent


def test_a_hanging_server_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(ntfy(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)
